"""KomboClient: the only module that speaks HTTP.

It builds the URL and headers, sends, and turns every outcome into either an ApiResponse
or a KomboError (see `network_errors` for failures without an answer). It never prints;
what it has to say goes to the `kombo_cli.http` logger, which the command line shows with
-vv, with the Authorization header masked.
"""

from __future__ import annotations

import html
import logging
import re
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol
from urllib.parse import quote, urlencode, urlsplit

import requests
from requests.__version__ import __version__ as requests_version
from requests.auth import AuthBase

from kombo_cli.api.defaults import DEFAULT_CONNECT_TIMEOUT_S, DEFAULT_TIMEOUT_S
from kombo_cli.api.downloads import FileDigest, digest_of, origin
from kombo_cli.api.network_errors import network_error
from kombo_cli.api.retry import parse_retry_after
from kombo_cli.api.route_miss import base_url_hint, says_no_route
from kombo_cli.api.targets import Target
from kombo_cli.errors import KOMBO_CODE_HINTS, ApiError, NetworkError, WrongBaseUrl
from kombo_cli.redact import display_url, shorten_server_text
from kombo_cli.version import __version__

log = logging.getLogger("kombo_cli.http")

USER_AGENT = f"kombo-cli/{__version__} python-requests/{requests_version}"
# What an answer says is shown shortened, base64 elided (`shorten_server_text`): a server
# that echoes the request must not print the file. Bodies that are not Kombo's are summarised.
_CODE_LIMIT = 100
_SUMMARY_LIMIT = 160


class RequestBody(Protocol):
    """A JSON body sent as a stream of known length (see kombo_cli.upload.body)."""

    # The SHA-256 of the file inside, once the whole body has gone out.
    @property
    def sha256(self) -> str | None: ...

    def __len__(self) -> int: ...

    def __iter__(self) -> Iterator[bytes]: ...


@dataclass(frozen=True)
class ApiResponse:
    http_status: int
    data: Any
    # Kombo's own `warnings`; `notes` are what this client noticed about the answer.
    warnings: list[str] = field(default_factory=list)
    headers: Mapping[str, str] = field(default_factory=dict)
    elapsed_s: float = 0.0
    notes: list[str] = field(default_factory=list)


class _BearerAuth(AuthBase):
    """Sets the Authorization header.

    Passing an auth object (instead of a plain header) also stops requests from replacing
    the header with credentials from ~/.netrc.
    """

    def __init__(self, api_key: str) -> None:
        self._api_key = api_key

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._api_key}"
        return request


def request_headers(shown_key: str, integration_id: str | None) -> dict[str, str]:
    """The headers of a JSON request, for showing (`--dry-run`): `shown_key` stands where
    the key goes. Without `integration_id`, a request about no one integration."""
    headers = {"Authorization": f"Bearer {shown_key}"}
    if integration_id is not None:
        headers["X-Integration-Id"] = integration_id
    headers.update(
        {"Content-Type": "application/json", "Accept": "application/json", "User-Agent": USER_AGENT}
    )
    return headers


class KomboClient:
    def __init__(
        self,
        base_url: str,
        api_key: str,
        integration_id: str | None,
        *,
        read_timeout_s: float = DEFAULT_TIMEOUT_S,
        connect_timeout_s: float | None = None,
        session: requests.Session | None = None,
        pool_size: int | None = None,
    ) -> None:
        """`integration_id` None: a client for Kombo's general endpoints only (the key, an
        integration's details), which take no X-Integration-Id. `pool_size`: connections
        kept open for reuse, one per concurrent request."""
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self.integration_id = integration_id
        self.read_timeout_s = read_timeout_s
        # A short --timeout shortens connecting too.
        self.connect_timeout_s = (
            connect_timeout_s
            if connect_timeout_s is not None
            else min(DEFAULT_CONNECT_TIMEOUT_S, read_timeout_s)
        )
        self.session = session or pooled_session(pool_size, read_timeout_s)
        self._host = urlsplit(self.base_url).netloc

    def __repr__(self) -> str:
        # Never let the key reach a log line or a traceback through repr().
        return f"KomboClient(base_url={self.base_url!r}, integration_id={self.integration_id!r})"

    def url_for(self, path: str) -> str:
        return self.base_url + path

    def add_attachment(self, target: Target, body: RequestBody) -> ApiResponse:
        """POST the attachment. Returns Kombo's answer; raises ApiError or NetworkError."""
        return self._send("POST", target.attachments_path, body=body)

    def check_api_key(self) -> ApiResponse:
        """GET /check-api-key: whether Kombo accepts the key; `data` holds environment_id."""
        return self._send("GET", "/check-api-key", integration_scoped=False)

    def integration_details(self, integration_id: str) -> ApiResponse:
        """GET /integrations/{id}: the tool, its status and which write actions it allows.
        The ID is in the path: no X-Integration-Id is sent."""
        path = f"/integrations/{quote(integration_id, safe=':')}"
        return self._send("GET", path, integration_scoped=False)

    def get_candidates(self, query: Mapping[str, str]) -> ApiResponse:
        """GET /ats/candidates with Kombo's filters and paging (see `candidates.py`)."""
        return self._send("GET", f"/ats/candidates?{urlencode(query)}")

    def list_attachments(
        self,
        target: Target,
        on_answer: Callable[[Mapping[str, str]], None] | None = None,
    ) -> list[dict[str, Any]]:
        """The target's attachments as Kombo lists them (a live call to the ATS);
        `on_answer` hears the headers of a successful answer (its Concurrency-*)."""
        response = self._send("GET", target.attachments_path)
        if on_answer is not None:
            on_answer(response.headers)
        results = response.data.get("results") if isinstance(response.data, dict) else None
        if not isinstance(results, list):
            raise NetworkError(
                f"{self._host} answered the attachment listing without a list of results."
            )
        return [item for item in results if isinstance(item, dict)]

    def stored_file_digest(self, url: str, limit_bytes: int) -> FileDigest | None:
        """The SHA-256 of a listed attachment's bytes, from its `data_url`; None when it is
        longer than `limit_bytes`. The key goes along only when the URL is on the API's own
        origin. Raises DownloadFailed."""
        own = origin(self.base_url)
        same_origin = own is not None and origin(url) == own
        if log.isEnabledFor(logging.DEBUG):
            # The address may be signed: its query is not shown.
            key = "with the key" if same_origin else "without the key"
            log.debug("> GET %s (a listed file, to compare its SHA-256; %s)", display_url(url), key)
        return digest_of(
            self.session,
            url,
            limit_bytes,
            auth=_BearerAuth(self._api_key) if same_origin else None,
            timeout=(self.connect_timeout_s, self.read_timeout_s),
        )

    def _send(
        self,
        method: str,
        path: str,
        body: RequestBody | None = None,
        integration_scoped: bool = True,
    ) -> ApiResponse:
        url = self.url_for(path)
        if integration_scoped and self.integration_id is None:
            raise ValueError(f"{method} {path} needs a client with an integration ID")
        # Kombo's general endpoints take no integration; the SDKs never send it there.
        headers = request_headers("", self.integration_id if integration_scoped else None)
        del headers["Authorization"]  # set by _BearerAuth
        if body is None:
            del headers["Content-Type"]
        if log.isEnabledFor(logging.DEBUG):
            # Fully masked: a debug log gets pasted into tickets and chats.
            shown = {"Authorization": "Bearer ********", **headers}
            log.debug("> %s %s", method, url)
            for name, value in shown.items():
                log.debug("> %s: %s", name, value)
            if body is not None:
                log.debug("> (body: %d bytes of JSON, file content not logged)", len(body))
        started = time.monotonic()
        try:
            response = self.session.request(
                method,
                url,
                data=body,
                headers=headers,
                auth=_BearerAuth(self._api_key),
                timeout=(self.connect_timeout_s, self.read_timeout_s),
                # A redirect would replay a streamed body we cannot rewind, and could carry
                # the key to another host; Kombo does not redirect API calls.
                allow_redirects=False,
            )
        except requests.exceptions.RequestException as exc:
            raise network_error(
                exc,
                self._host,
                connect_timeout_s=self.connect_timeout_s,
                read_timeout_s=self.read_timeout_s,
            ) from None
        elapsed = time.monotonic() - started
        if log.isEnabledFor(logging.DEBUG):
            log.debug("< %s %s in %.3f s", response.status_code, response.reason, elapsed)
            for name in (
                "Content-Type",
                "Content-Length",
                "Concurrency-Limit",
                "Concurrency-Remaining",
                "Retry-After",
                "retry-after-ms",
            ):
                if name in response.headers:
                    log.debug("< %s: %s", name, response.headers[name])
            if body is not None and body.sha256:
                log.debug("  sent file sha256 %s", body.sha256)
        if 200 <= response.status_code < 300:
            return self._success(response, elapsed)
        # Whether a failed upload may have been stored is delivery's question (it lists the
        # attachments to find out); the client only reports what happened.
        raise self._api_error(response)

    def _success(self, response: requests.Response, elapsed: float) -> ApiResponse:
        warnings: list[str] = []
        notes: list[str] = []
        try:
            payload = response.json()
        except ValueError:
            # A 2xx means Kombo took the request. Reporting a failure here would invite a
            # retry, and a retried upload is a duplicate in the customer's ATS.
            payload = None
            notes.append(
                f"Kombo answered HTTP {response.status_code} without the usual JSON reply;"
                " the upload was most likely stored"
            )
        data = payload.get("data") if isinstance(payload, dict) else None
        if isinstance(payload, dict) and isinstance(payload.get("warnings"), list):
            for item in payload["warnings"]:
                message = item.get("message") if isinstance(item, dict) else item
                if isinstance(message, str) and message.strip():
                    warnings.append(shorten_server_text(message))
        # requests' headers look names up case-insensitively, as HTTP requires.
        return ApiResponse(response.status_code, data, warnings, response.headers, elapsed, notes)

    def _api_error(self, response: requests.Response) -> ApiError:
        status = response.status_code
        envelope = _error_envelope(response)
        if envelope is not None:
            code = _optional_str(envelope.get("code"))
            title = _optional_str(envelope.get("title"))
            message = _optional_str(envelope.get("message")) or title or f"HTTP {status}"
            log_url = _optional_str(envelope.get("log_url"))
            if status == 404 and says_no_route(message):
                # The path is unknown, not the ID in it: said in our words, since a server's
                # echo of the path may be shortened past recognition.
                return WrongBaseUrl(
                    f"{self._host} has no API route for {_method_and_path(response)}.",
                    http_status=status,
                    code=shorten_server_text(code, _CODE_LIMIT) if code else None,
                    title=shorten_server_text(title) if title else None,
                    log_url=shorten_server_text(log_url) if log_url else None,
                    hint=base_url_hint(self.base_url),
                )
            return ApiError(
                shorten_server_text(message),
                http_status=status,
                code=shorten_server_text(code, _CODE_LIMIT) if code else None,
                title=shorten_server_text(title) if title else None,
                log_url=shorten_server_text(log_url) if log_url else None,
                hint=KOMBO_CODE_HINTS.get(code or ""),
                retry_after_s=parse_retry_after(response.headers),
            )
        if 300 <= status < 400:
            location = response.headers.get("Location", "another address")
            return ApiError(
                f"{self._host} answered HTTP {status}, a redirect to"
                f" {shorten_server_text(location)}.",
                http_status=status,
                hint="check the base URL (KOMBO_BASE_URL / --region)",
            )
        reason = shorten_server_text(response.reason or "")
        message = (
            f"{self._host} answered HTTP {status} {reason}".rstrip()
            + f"{_describe_foreign_body(response)}."
        )
        if status == 404:
            # Kombo says 404 in its own envelope; a page without one is another server's.
            return WrongBaseUrl(message, http_status=status, hint=base_url_hint(self.base_url))
        return ApiError(
            message,
            http_status=status,
            hint=_hint_for_status(status),
            retry_after_s=parse_retry_after(response.headers),
        )


def pooled_session(pool_size: int | None, stall_timeout_s: float) -> requests.Session:
    """A session on which `stall_timeout_s` (--timeout) bounds a stall while sending too,
    not only while waiting for the answer (see `transport`)."""
    from kombo_cli.api.transport import StallBoundedAdapter

    session = requests.Session()
    if pool_size is not None:
        # One host, and one connection per worker, reused from upload to upload.
        adapter = StallBoundedAdapter(stall_timeout_s, pool_connections=1, pool_maxsize=pool_size)
    else:
        adapter = StallBoundedAdapter(stall_timeout_s)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def _error_envelope(response: requests.Response) -> dict[str, Any] | None:
    if "json" not in response.headers.get("Content-Type", "").lower():
        return None
    try:
        payload = response.json()
    except ValueError:
        return None
    error = payload.get("error") if isinstance(payload, dict) else None
    return error if isinstance(error, dict) else None


def _describe_foreign_body(response: requests.Response) -> str:
    """A short note about a non-Kombo error body (an HTML page from a load balancer...)."""
    text = response.text[:4096] if response.content else ""
    if not text.strip():
        return ""
    match = re.search(r"<title[^>]*>(.*?)</title>", text, re.IGNORECASE | re.DOTALL)
    if match:
        title = shorten_server_text(html.unescape(match.group(1)), _SUMMARY_LIMIT)
        return f' (an HTML page titled "{title}")'
    if "<html" in text.lower() or "<!doctype" in text.lower():
        return " (an HTML page)"
    return f': "{shorten_server_text(text, _SUMMARY_LIMIT)}"'


def _method_and_path(response: requests.Response) -> str:
    """The request's method and path, without its query (an address searched for)."""
    sent = response.request
    return f"{sent.method} {urlsplit(sent.url or '').path or '/'}"


def _hint_for_status(status: int) -> str | None:
    if status in (401, 403):
        return "check KOMBO_API_KEY and the region"
    if status == 429 or status >= 500:
        return "Kombo or a proxy in front of it is unavailable; try again in a moment"
    return None


def _optional_str(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None
