"""KomboClient: the only module that speaks HTTP.

It builds the URL and headers, sends, and turns every outcome into either an ApiResponse
or a KomboError. It never prints; what it has to say goes to the `kombo_cli.http` logger,
which the command line shows with -vv, with the Authorization header masked.
"""

from __future__ import annotations

import html
import logging
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

import requests
from requests.auth import AuthBase

from kombo_cli import __version__
from kombo_cli.body import RequestBody
from kombo_cli.errors import KOMBO_CODE_HINTS, ApiError, NetworkError
from kombo_cli.redact import mask_secret
from kombo_cli.retry import parse_retry_after
from kombo_cli.settings import DEFAULT_TIMEOUT_S
from kombo_cli.targets import Target

log = logging.getLogger("kombo_cli.http")

DEFAULT_READ_TIMEOUT_S = DEFAULT_TIMEOUT_S
# A connection that cannot even be opened in 10 s will not open at all.
DEFAULT_CONNECT_TIMEOUT_S = 10.0
USER_AGENT = f"kombo-cli/{__version__} python-requests/{requests.__version__}"
# Bodies that are not Kombo's are summarised, not shown; Kombo's own messages are kept whole.
_SUMMARY_LIMIT = 160
_MESSAGE_LIMIT = 2000


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


def request_headers(
    api_key: str | None, integration_id: str | None, *, masked: bool
) -> dict[str, str]:
    """The headers of an integration-scoped JSON request; `masked` for showing them."""
    if api_key is None:
        authorization = "Bearer <missing: set KOMBO_API_KEY>"
    else:
        authorization = f"Bearer {mask_secret(api_key) if masked else api_key}"
    return {
        "Authorization": authorization,
        "X-Integration-Id": integration_id or "<missing: set KOMBO_INTEGRATION_ID>",
        "Content-Type": "application/json",
        "Accept": "application/json",
        "User-Agent": USER_AGENT,
    }


class KomboClient:
    def __init__(
        self,
        base_url: str,
        api_key: str,
        integration_id: str,
        *,
        read_timeout_s: float = DEFAULT_READ_TIMEOUT_S,
        connect_timeout_s: float | None = None,
        session: requests.Session | None = None,
        pool_size: int | None = None,
    ) -> None:
        """`pool_size`: connections kept open for reuse, one per concurrent request."""
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
        self.session = session or _pooled_session(pool_size)
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

    def integration_details(self) -> ApiResponse:
        """GET /integrations/{id}: the tool, its status and which write actions it allows."""
        path = f"/integrations/{quote(self.integration_id, safe=':')}"
        return self._send("GET", path, integration_scoped=False)

    def find_candidates(self, email: str) -> list[dict[str, Any]]:
        """Candidates whose email addresses include `email`, from Kombo's synced copy.

        Never sends ignore_unsupported_filters=true: for an ATS that cannot filter by
        email, Kombo would then ignore the filter and return every candidate.
        """
        from urllib.parse import urlencode

        found: list[dict[str, Any]] = []
        cursor: str | None = None
        # An address belongs to a handful of candidates at most; a few pages is plenty.
        for _ in range(5):
            query = {"email": email, "page_size": "50", "ignore_unsupported_filters": "false"}
            if cursor:
                query["cursor"] = cursor
            response = self._send("GET", f"/ats/candidates?{urlencode(query)}")
            data = response.data if isinstance(response.data, dict) else {}
            results = data.get("results")
            if not isinstance(results, list):
                raise NetworkError(
                    f"{self._host} answered the candidate search without a list of results."
                )
            found.extend(item for item in results if isinstance(item, dict))
            cursor = data.get("next") if isinstance(data.get("next"), str) else None
            if not cursor:
                break
        return found

    def list_attachments(self, target: Target) -> list[dict[str, Any]]:
        """The target's attachments as Kombo lists them (a live call to the ATS)."""
        response = self._send("GET", target.attachments_path)
        results = response.data.get("results") if isinstance(response.data, dict) else None
        if not isinstance(results, list):
            raise NetworkError(
                f"{self._host} answered the attachment listing without a list of results."
            )
        return [item for item in results if isinstance(item, dict)]

    def _send(
        self,
        method: str,
        path: str,
        body: RequestBody | None = None,
        integration_scoped: bool = True,
    ) -> ApiResponse:
        url = self.url_for(path)
        headers = request_headers(self._api_key, self.integration_id, masked=False)
        del headers["Authorization"]  # set by _BearerAuth
        if body is None:
            del headers["Content-Type"]
        if not integration_scoped:
            # Kombo's general endpoints take no integration; the SDKs never send it there.
            del headers["X-Integration-Id"]
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
            raise self._network_error(exc) from None
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
                    warnings.append(_one_line(message))
        # requests' headers look names up case-insensitively, as HTTP requires.
        return ApiResponse(response.status_code, data, warnings, response.headers, elapsed, notes)

    def _api_error(self, response: requests.Response) -> ApiError:
        status = response.status_code
        envelope = _error_envelope(response)
        if envelope is not None:
            code = _optional_str(envelope.get("code"))
            title = _optional_str(envelope.get("title"))
            message = _optional_str(envelope.get("message")) or title or f"HTTP {status}"
            return ApiError(
                _one_line(message, _MESSAGE_LIMIT),
                http_status=status,
                code=code,
                title=title,
                log_url=_optional_str(envelope.get("log_url")),
                hint=KOMBO_CODE_HINTS.get(code or ""),
                retry_after_s=parse_retry_after(response.headers),
            )
        if 300 <= status < 400:
            location = response.headers.get("Location", "another address")
            return ApiError(
                f"{self._host} answered HTTP {status}, a redirect to {_one_line(location)}.",
                http_status=status,
                hint="check the base URL (KOMBO_BASE_URL / --region)",
            )
        return ApiError(
            f"{self._host} answered HTTP {status} {response.reason or ''}".rstrip()
            + f"{_describe_foreign_body(response)}.",
            http_status=status,
            hint=_hint_for_status(status),
            retry_after_s=parse_retry_after(response.headers),
        )

    def _network_error(self, exc: requests.exceptions.RequestException) -> NetworkError:
        host = self._host
        if isinstance(exc, requests.exceptions.ConnectTimeout):
            return NetworkError(
                f"Could not connect to {host} within {self.connect_timeout_s:g} s.",
                hint="check your network connection and the base URL",
                timed_out=True,
            )
        if isinstance(exc, requests.exceptions.ReadTimeout):
            return NetworkError(
                f"{host} did not answer within {self.read_timeout_s:g} s.",
                may_have_arrived=True,
                timed_out=True,
            )
        if isinstance(exc, requests.exceptions.ProxyError):
            # Raised before anything reached Kombo: nothing can have been stored.
            return NetworkError(
                f"Could not connect to {host} through the configured proxy: {_root_cause(exc)}.",
                hint="check HTTPS_PROXY / HTTP_PROXY / NO_PROXY",
            )
        if isinstance(exc, requests.exceptions.SSLError) and _is_certificate_problem(exc):
            return NetworkError(
                f"The TLS connection to {host} failed: {_root_cause(exc)}.",
                hint="check the system's CA certificates or a proxy that intercepts TLS",
                transient=False,
            )
        if isinstance(
            exc,
            (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError),
        ):
            # The request went out and an answer began, then broke off: Kombo saw it.
            return NetworkError(
                f"The answer from {host} was cut off: {_root_cause(exc)}.",
                may_have_arrived=True,
            )
        if isinstance(exc, requests.exceptions.ConnectionError):
            cause = _root_cause(exc)
            if _never_connected(exc):
                return NetworkError(
                    f"Could not connect to {host}: {cause}.",
                    hint="check your network connection and the base URL",
                )
            return NetworkError(
                f"The connection to {host} broke before Kombo answered: {cause}.",
                may_have_arrived=True,
            )
        # Anything else (an invalid URL, a body that cannot be sent): retrying cannot help.
        return NetworkError(f"The request to {host} failed: {_root_cause(exc)}.", transient=False)


def _pooled_session(pool_size: int | None) -> requests.Session:
    session = requests.Session()
    if pool_size is not None:
        from requests.adapters import HTTPAdapter

        # One host, and one connection per worker, reused from upload to upload.
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=pool_size)
        session.mount("https://", adapter)
        session.mount("http://", adapter)
    return session


def _is_certificate_problem(exc: requests.exceptions.SSLError) -> bool:
    """A certificate that does not verify will not verify on a retry either.

    Other TLS failures (an EOF in the middle of an upload, a reset) are how a proxy or load
    balancer dropping the connection looks on HTTPS: they are handled like a broken
    connection.
    """
    import ssl

    seen: BaseException | None = exc
    for _ in range(10):
        if seen is None:
            break
        if isinstance(seen, ssl.SSLCertVerificationError):
            return True
        if isinstance(seen, (ssl.SSLEOFError, ssl.SSLZeroReturnError, ConnectionError)):
            return False
        inner = getattr(seen, "reason", None)
        if not isinstance(inner, BaseException):
            inner = seen.args[0] if seen.args and isinstance(seen.args[0], BaseException) else None
        seen = inner or seen.__context__
    text = str(exc).lower()
    return "certificate" in text or "handshake" in text or "wrong version" in text


def _never_connected(exc: requests.exceptions.ConnectionError) -> bool:
    """True when the failure happened before any byte of the request left this machine."""
    # urllib3 raises NewConnectionError (inside MaxRetryError) when connecting fails, and
    # urllib3 2 a NameResolutionError for DNS failures (absent from urllib3 1.26).
    import urllib3.exceptions

    before_sending = (
        urllib3.exceptions.NewConnectionError,
        getattr(urllib3.exceptions, "NameResolutionError", urllib3.exceptions.NewConnectionError),
    )
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, before_sending):
            return True
        if isinstance(seen, urllib3.exceptions.MaxRetryError) and isinstance(
            seen.reason, before_sending
        ):
            return True
        seen = seen.args[0] if seen.args and isinstance(seen.args[0], BaseException) else None
    return False


def _root_cause(exc: BaseException) -> str:
    """A short, human description of what went wrong at the bottom of an exception chain."""
    import errno

    from urllib3.exceptions import MaxRetryError

    seen: BaseException = exc
    for _ in range(10):
        inner: BaseException | None = None
        if isinstance(seen, MaxRetryError) and seen.reason is not None:
            inner = seen.reason
        elif seen.args and isinstance(seen.args[-1], BaseException):
            inner = seen.args[-1]
        elif seen.__context__ is not None:
            inner = seen.__context__
        if inner is None:
            break
        seen = inner
    if isinstance(seen, OSError) and seen.errno is not None:
        return (seen.strerror or errno.errorcode.get(seen.errno, "error")).lower()
    if isinstance(seen, ConnectionError) or type(seen).__name__ == "RemoteDisconnected":
        return "the server closed the connection"
    text = str(seen)
    # urllib3 messages look like "<...HTTPConnection object at 0x..>: Failed to ...".
    text = re.sub(r"<[^>]*>:\s*", "", text)
    return _one_line(text) or type(seen).__name__


def _error_envelope(response: requests.Response) -> dict[str, Any] | None:
    if "json" not in response.headers.get("Content-Type", "").lower():
        return None
    try:
        payload = response.json()
    except ValueError:
        return None
    if isinstance(payload, dict) and isinstance(payload.get("error"), dict):
        return payload["error"]
    return None


def _describe_foreign_body(response: requests.Response) -> str:
    """A short note about a non-Kombo error body (an HTML page from a load balancer...)."""
    text = response.text[:4096] if response.content else ""
    if not text.strip():
        return ""
    match = re.search(r"<title[^>]*>(.*?)</title>", text, re.IGNORECASE | re.DOTALL)
    if match:
        return f' (an HTML page titled "{_one_line(html.unescape(match.group(1)))}")'
    if "<html" in text.lower() or "<!doctype" in text.lower():
        return " (an HTML page)"
    return f': "{_one_line(text)}"'


def _hint_for_status(status: int) -> str | None:
    if status in (401, 403):
        return "check KOMBO_API_KEY and the region"
    if status == 429 or status >= 500:
        return "Kombo or a proxy in front of it is unavailable; try again in a moment"
    return None


def _one_line(text: str, limit: int = _SUMMARY_LIMIT) -> str:
    """Collapse whitespace and control characters so one message stays one line."""
    collapsed = re.sub(r"[\s\x00-\x1f\x7f]+", " ", text).strip()
    if len(collapsed) > limit:
        collapsed = collapsed[: limit - 1].rstrip() + "…"
    return collapsed


def _optional_str(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None
