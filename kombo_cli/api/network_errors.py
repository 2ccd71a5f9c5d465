"""What a failed connection means: whether the request may have reached Kombo, whether it
timed out, and whether trying again can help. Read off the exceptions requests and urllib3
raise, and worded for a person."""

from __future__ import annotations

import re

import requests

from kombo_cli.errors import NetworkError

_SUMMARY_LIMIT = 160

# Where the base URL is set is named: a typo there looks just like a network outage.
_CHECK_CONNECTION = "check your network connection and the base URL (KOMBO_BASE_URL or --base-url)"


def one_line(text: str, limit: int = _SUMMARY_LIMIT) -> str:
    """Collapse whitespace and control characters so one message stays one line."""
    collapsed = re.sub(r"[\s\x00-\x1f\x7f]+", " ", text).strip()
    if len(collapsed) > limit:
        collapsed = collapsed[: limit - 1].rstrip() + "…"
    return collapsed


def network_error(
    exc: requests.exceptions.RequestException,
    host: str,
    *,
    connect_timeout_s: float,
    read_timeout_s: float,
) -> NetworkError:
    """The NetworkError for a request that got no answer, with what retries need to know."""
    if _send_stalled(exc):
        # Checked first: urllib3 reports a stall found while waiting for the answer as a
        # read timeout, and urllib3 1.26 any failure through a proxy as "Cannot connect to
        # proxy", even one after part of the body went out.
        return NetworkError(
            f"{host} stopped taking the request: nothing could be sent for {read_timeout_s:g} s.",
            hint="the connection stalled; --timeout sets how long a stall may last",
            may_have_arrived=True,
            timed_out=True,
        )
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return NetworkError(
            f"Could not connect to {host} within {connect_timeout_s:g} s.",
            hint=_CHECK_CONNECTION,
            timed_out=True,
            unreachable=True,
        )
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return NetworkError(
            f"{host} did not answer within {read_timeout_s:g} s.",
            may_have_arrived=True,
            timed_out=True,
        )
    if isinstance(exc, requests.exceptions.ProxyError):
        # Raised before anything reached Kombo: nothing can have been stored.
        return NetworkError(
            f"Could not connect to {host} through the configured proxy: {_root_cause(exc)}.",
            hint="check HTTPS_PROXY / HTTP_PROXY / NO_PROXY",
            unreachable=True,
        )
    if isinstance(exc, requests.exceptions.SSLError) and is_certificate_problem(exc):
        return NetworkError(
            f"The TLS connection to {host} failed: {_root_cause(exc)}.",
            hint="check the system's CA certificates or a proxy that intercepts TLS",
            transient=False,
            unreachable=True,
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
                hint=_CHECK_CONNECTION,
                unreachable=True,
            )
        return NetworkError(
            f"The connection to {host} broke before Kombo answered: {cause}.",
            may_have_arrived=True,
        )
    # Anything else (an invalid URL, a body that cannot be sent): retrying cannot help.
    return NetworkError(f"The request to {host} failed: {_root_cause(exc)}.", transient=False)


def is_certificate_problem(exc: requests.exceptions.SSLError) -> bool:
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


def _send_stalled(exc: BaseException) -> bool:
    """True when sending the request made no progress for the stall timeout (see
    `transport`): bytes may have gone out, so like a read timeout it may have arrived."""
    from kombo_cli.api.transport import SendStalled

    pending: list[BaseException] = [exc]
    seen: set[int] = set()
    while pending and len(seen) < 20:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, SendStalled):
            return True
        # requests and urllib3 wrap the cause in args (ProtocolError("Connection aborted.",
        # cause)) or in `reason` (MaxRetryError).
        inner = [arg for arg in current.args if isinstance(arg, BaseException)]
        reason = getattr(current, "reason", None)
        if isinstance(reason, BaseException):
            inner.append(reason)
        pending.extend([*inner, *filter(None, (current.__cause__, current.__context__))])
    return False


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
    return one_line(text) or type(seen).__name__
