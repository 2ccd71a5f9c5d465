"""A URL as people write it, turned into the URI Kombo's `data_url` asks for (`format: uri`).

What is pasted from a browser or a storage console is often an IRI: a Unicode host name,
accented or spaced file names. Kombo gets a URI instead: the host in IDNA (punycode), the
path and query percent-encoded as UTF-8. Everything already legal stays exactly as it is
(escapes, reserved characters, case), because a signed URL's signature covers those bytes.
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
from urllib.parse import urlsplit

import idna

from kombo_cli.redact import display_url, url_secrets

_UNRESERVED = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
_SUB_DELIMS = "!$&'()*+,;="
# RFC 3986: what a path may hold as it is (besides escapes), and a query in addition "?".
_PATH_SAFE = frozenset(_UNRESERVED + _SUB_DELIMS + ":@/")
_QUERY_SAFE = _PATH_SAFE | {"?"}
_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")
# Host names as DNS and storage services spell them; S3 bucket hosts may hold "_".
_ASCII_HOST = re.compile(r"[A-Za-z0-9._~-]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

NOT_A_DOWNLOAD_URL = "is not an http or https URL with a host"
DOWNLOAD_URL_HINT = (
    "give an http:// or https:// URL that works without a login, e.g. a signed storage URL"
)


class UnusableUrl(ValueError):
    """A URL that cannot be sent as a `data_url`.

    `problem` follows the URL in a sentence ("https://… has a user name or password");
    `shown` is the URL fit to print (no query, no password)."""

    def __init__(self, url: str, problem: str, hint: str = DOWNLOAD_URL_HINT) -> None:
        super().__init__(problem)
        self.shown = display_url(url)
        self.problem = problem
        self.hint = hint


def download_uri(url: str) -> str:
    """`url` as the URI Kombo downloads from; raises UnusableUrl.

    The fragment is dropped: a client never sends it, so the download is the same, while
    sending it encoded would change the path or query. A user name or password is refused:
    Kombo downloads without a login.
    """
    text = url.strip(" ")
    if not text or _CONTROL.search(text):
        # Python's urlsplit quietly drops tabs and line breaks; a URL holding them is
        # more likely two things pasted together than one address.
        raise UnusableUrl(url, NOT_A_DOWNLOAD_URL)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        # Bytes from a command line that were not UTF-8: no way to know what they meant.
        raise UnusableUrl(url, "is not valid UTF-8 text") from None
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise UnusableUrl(url, NOT_A_DOWNLOAD_URL) from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise UnusableUrl(url, NOT_A_DOWNLOAD_URL)
    if "@" in parts.netloc:
        raise UnusableUrl(
            url,
            "has a user name or password in it",
            hint="Kombo downloads without a login: give a URL that works without one,"
            " e.g. a signed storage URL",
        )
    host = _uri_host(url, parts.netloc)
    authority = host if port is None else f"{host}:{port}"
    before_fragment = text.partition("#")[0]
    query = f"?{_encoded(parts.query, _QUERY_SAFE)}" if "?" in before_fragment else ""
    return f"{parts.scheme}://{authority}{_encoded(parts.path, _PATH_SAFE)}{query}"


def secrets_in(url: str) -> list[str]:
    """What of `url` may grant access (its query, a password), as given and as sent: an
    answer that echoes the `data_url` shows the encoded form."""
    found = url_secrets(url)
    with contextlib.suppress(UnusableUrl):
        found += [secret for secret in url_secrets(download_uri(url)) if secret not in found]
    return found


def _uri_host(url: str, netloc: str) -> str:
    """The host of `netloc` as a URI writes it: ASCII as it is, Unicode in IDNA."""
    if netloc.startswith("["):
        literal = netloc[1:].partition("]")[0]
        try:
            # A zone ("%eth0") names an interface of this machine, not one Kombo can reach.
            ipaddress.IPv6Address(literal)
            if "%" in literal:
                raise ValueError(literal)
        except ValueError:
            raise UnusableUrl(url, NOT_A_DOWNLOAD_URL) from None
        return f"[{literal}]"
    host = netloc.rpartition(":")[0] if ":" in netloc else netloc
    if host.isascii():
        if not _ASCII_HOST.fullmatch(host):
            raise UnusableUrl(url, NOT_A_DOWNLOAD_URL)
        return host
    try:
        # UTS 46 first, as browsers and requests do: case, full-width letters and dots.
        mapped = idna.uts46_remap(host, std3_rules=False, transitional=False)
        labels = [
            label if label.isascii() else idna.alabel(label).decode("ascii")
            for label in mapped.split(".")
        ]
        if "" in labels[:-1]:
            raise idna.IDNAError("Empty Label")
    except (idna.IDNAError, UnicodeError) as error:
        raise UnusableUrl(
            url,
            f"has a host name that IDNA cannot encode ({error})",
            hint="check the host name for a typo, or give the URL with the host in"
            " punycode (xn--…) as your storage shows it",
        ) from None
    if any(not _ASCII_HOST.fullmatch(label) for label in labels if label):
        raise UnusableUrl(url, NOT_A_DOWNLOAD_URL)
    return ".".join(labels)


def _encoded(text: str, safe: frozenset[str]) -> str:
    """`text` with every character a URI may not hold there percent-encoded as UTF-8.

    An escape already there (%C3%A4) stays as it is; a "%" that starts none is a literal
    per cent sign and becomes %25, so nothing is encoded twice."""
    out: list[str] = []
    index = 0
    while index < len(text):
        character = text[index]
        if character == "%" and _ESCAPE.match(text, index):
            out.append(text[index : index + 3])
            index += 3
            continue
        if character in safe:
            out.append(character)
        else:
            out.append("".join(f"%{byte:02X}" for byte in character.encode("utf-8")))
        index += 1
    return "".join(out)
