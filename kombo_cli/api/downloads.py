"""Fetch a stored attachment's bytes from its `data_url` only to hash them.

Used to tell whether a file in a listing is the one this run sent: the bytes are streamed
through SHA-256 and never kept or logged. A file longer than the caller's limit is not
read to the end, since it cannot be the file being compared.

The API key goes only to the API's own origin (scheme, host and port of the base URL);
Kombo hosts stored files elsewhere (resources.kombo.dev), and a listing could point anywhere.
On a redirect to another origin, requests drops the Authorization header itself.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests

from kombo_cli.errors import NetworkError

# Read in pieces this big; small enough to stop soon after the limit is passed.
_PIECE_BYTES = 64 * 1024
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class FileDigest:
    sha256: str
    size: int


class DownloadFailed(NetworkError):
    """A stored file could not be fetched (not found, refused, or the connection failed)."""


def origin(url: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of an http(s) URL, with the default port filled in; None for
    anything else, and for a URL whose host different parsers could read differently (a
    backslash, user info, whitespace or control characters): such a URL never gets the key.
    """
    if any(character in url for character in "\\@") or any(c <= " " for c in url):
        return None
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    return scheme, parts.hostname.lower(), port or _DEFAULT_PORTS[scheme]


def digest_of(
    session: requests.Session,
    url: str,
    limit_bytes: int,
    *,
    auth: requests.auth.AuthBase | None,
    timeout: tuple[float, float],
) -> FileDigest | None:
    """The SHA-256 of the file at `url`, or None when it is longer than `limit_bytes`.

    `auth` is sent only as given: the caller decides whether this URL may see the key.
    Raises DownloadFailed.
    """
    if urlsplit(url).scheme.lower() not in _DEFAULT_PORTS:
        raise DownloadFailed("the stored file's address is not an http(s) URL", transient=False)
    try:
        with session.get(
            url, auth=auth, timeout=timeout, stream=True, headers={"Accept": "*/*"}
        ) as response:
            status = response.status_code
            if status != 200:
                # Worth asking again only when the host says it is busy or failing.
                raise DownloadFailed(
                    f"fetching the stored file answered HTTP {status}",
                    transient=status in (408, 429) or status >= 500,
                )
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > limit_bytes:
                return None
            digest = hashlib.sha256()
            size = 0
            # Raw bytes as stored: a Content-Encoding would be undone by the server for
            # any other client too, so decode it like one.
            for piece in response.iter_content(_PIECE_BYTES):
                size += len(piece)
                if size > limit_bytes:
                    return None
                digest.update(piece)
            return FileDigest(digest.hexdigest(), size)
    except requests.exceptions.RequestException as exc:
        raise DownloadFailed(f"fetching the stored file failed ({type(exc).__name__})") from None
