"""Kombo's answers as replies: the success and error envelopes with their statuses and headers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kombo_cli.sandbox.contract import error_envelope, json_bytes
from kombo_cli.sandbox.exchange import Reply
from kombo_cli.sandbox.request_body import Framing

_JSON = ("Content-Type", "application/json")


def error_reply(
    status: int,
    code: str | None,
    title: str | None,
    message: str,
    headers: list[tuple[str, str]] | None = None,
) -> Reply:
    return Reply(
        status=status,
        # No log link: Kombo's points at its dashboard, which has no page for a local
        # sandbox's requests (Kombo's own minimal error example has null too).
        body=json_bytes(error_envelope(message, code, title, log_url_value=None)),
        headers=[_JSON, *(headers or [])],
    )


def input_invalid(message: str, status: int = 400) -> Reply:
    return error_reply(status, "PLATFORM.INPUT_INVALID", "Input invalid", message)


def route_not_found(method: str, path: str) -> Reply:
    return error_reply(404, None, "Not found", f"No route matches {method} {path}.")


def method_not_allowed(method: str, path: str, allow: str) -> Reply:
    return error_reply(
        405,
        "PLATFORM.INPUT_INVALID",
        "Method not allowed",
        f"Method {method} is not allowed on {path}; allowed: {allow}.",
        headers=[("Allow", allow)],
    )


def unknown_error(message: str) -> Reply:
    return error_reply(500, "PLATFORM.UNKNOWN_ERROR", "Unknown error", message)


def success_reply(data: Any, warnings: Sequence[str] | None = ()) -> Reply:
    """Kombo's success envelope; `warnings=None` leaves the key out, as Kombo's list
    endpoints and its general ones (/check-api-key, /integrations) do."""
    payload: dict[str, Any] = {"status": "success", "data": data}
    if warnings is not None:
        payload["warnings"] = [{"message": message} for message in warnings]
    return Reply(status=200, body=json_bytes(payload), headers=[_JSON])


def undelimited_body(framing: Framing) -> Reply:
    """The answer to a body whose end cannot be found: refused, and the connection closed."""
    reply = input_invalid(
        "Invalid Content-Length header."
        if framing == "bad-length"
        else "Unsupported Transfer-Encoding."
    )
    reply.close = True
    return reply
