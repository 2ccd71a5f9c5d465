"""Every failure a user can meet, each with its exit code and an optional hint.

This module holds the one table of exit codes. Code elsewhere raises one of these
exceptions; `app.run` is the only place that turns them into a message and an exit code.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any


class ExitCode(IntEnum):
    """Exit codes, documented in the README and in `kombo --help`. Scripts rely on them."""

    SUCCESS = 0
    INTERNAL = 1
    USAGE = 2
    CONFIG = 3
    AUTH = 4
    REJECTED = 5
    NETWORK = 6
    PARTIAL = 7
    INTERRUPTED = 130


# Short labels for `kombo --help`; the README's exit-code table gives the details.
EXIT_CODE_LABELS: dict[ExitCode, str] = {
    ExitCode.SUCCESS: "success",
    ExitCode.INTERNAL: "internal error",
    ExitCode.USAGE: "usage error or unusable file",
    ExitCode.CONFIG: "configuration missing or invalid",
    ExitCode.AUTH: "key or permission rejected",
    ExitCode.REJECTED: "request rejected by Kombo",
    ExitCode.NETWORK: "network failure, timeout or Kombo unavailable",
    ExitCode.PARTIAL: "some files failed",
    ExitCode.INTERRUPTED: "interrupted",
}


class KomboError(Exception):
    """Base of every expected failure. `message` is one sentence; `hint` says what to do."""

    exit_code: ExitCode = ExitCode.INTERNAL
    # A stable identifier for `--json` output when Kombo itself gave no error code.
    local_code: str = "CLI.ERROR"

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        # How many times the request was sent before giving up (set by the retry loop).
        self.attempts = 1

    def __str__(self) -> str:
        # The message may be completed after the fact ("...; gave up after 3 attempts.").
        return self.message


class InternalError(KomboError):
    """A bug in kombo itself."""

    exit_code = ExitCode.INTERNAL
    local_code = "CLI.INTERNAL"


class UsageError(KomboError):
    """The command line or a local file is unusable; nothing was sent."""

    exit_code = ExitCode.USAGE
    local_code = "CLI.USAGE"


class ConfigError(KomboError):
    """A credential or setting is missing or invalid; nothing was sent."""

    exit_code = ExitCode.CONFIG
    local_code = "CLI.CONFIG"


class NetworkError(KomboError):
    """Kombo could not be reached or did not answer in time.

    The flags tell the retry policy what is known about the request: whether any of it
    may have reached Kombo, whether it timed out, and whether trying again can help at all
    (a certificate problem will not go away by itself).
    """

    exit_code = ExitCode.NETWORK
    local_code = "CLI.NETWORK"

    def __init__(
        self,
        message: str,
        hint: str | None = None,
        *,
        may_have_arrived: bool = False,
        timed_out: bool = False,
        transient: bool = True,
        unreachable: bool = False,
    ) -> None:
        super().__init__(message, hint)
        self.may_have_arrived = may_have_arrived
        self.timed_out = timed_out
        self.transient = transient
        # No connection to the server could be made at all (refused, a name that does not
        # resolve, a connect timeout, a proxy or certificate failure): nothing of the
        # request left this machine, and no other request would fare differently.
        self.unreachable = unreachable


class OutcomeUnknown(NetworkError):
    """An upload may or may not have been stored, and the evidence cannot tell."""

    local_code = "CLI.OUTCOME_UNKNOWN"
    # True when the client stopped waiting while Kombo may still be storing the file.
    kombo_may_be_working = False


class VerifyMismatch(KomboError):
    """Kombo accepted the upload, but the file the ATS lists has other bytes (--verify).

    The upload is stored (it is not sent again); what is stored is not what was sent."""

    exit_code = ExitCode.REJECTED
    local_code = "CLI.VERIFY_MISMATCH"

    def __init__(self, message: str, hint: str | None = None, *, delivered: Any = None) -> None:
        super().__init__(message, hint)
        # How it was stored (a Delivered), for the journal and the result.
        self.delivered = delivered


class Interrupted(KomboError):
    """The user pressed Ctrl-C.

    `details` are lines shown under the message (every upload it speaks of, one a line);
    `listed` goes into the JSON error object whole: `may_have_been_stored` (what each
    upload was: target, file or URL, manifest line), `stored_not_reported` and
    `stored_perhaps_not_shown` (each stored upload's result object, as `--json` prints
    it)."""

    exit_code = ExitCode.INTERRUPTED
    local_code = "CLI.INTERRUPTED"

    def __init__(
        self,
        message: str,
        hint: str | None = None,
        *,
        details: list[str] | None = None,
        listed: dict[str, list[dict[str, Any]]] | None = None,
    ) -> None:
        super().__init__(message, hint)
        self.details = details or []
        self.listed = listed or {
            "may_have_been_stored": [],
            "stored_not_reported": [],
            "stored_perhaps_not_shown": [],
        }


class LookupFailed(KomboError):
    """An email address matched no candidate, or more than one."""

    exit_code = ExitCode.REJECTED

    def __init__(self, message: str, hint: str | None = None, *, local_code: str) -> None:
        super().__init__(message, hint)
        self.local_code = local_code


class ApiError(KomboError):
    """Kombo answered with an error. Carries Kombo's envelope so it can be shown verbatim."""

    local_code = "CLI.HTTP_ERROR"

    def __init__(
        self,
        message: str,
        *,
        http_status: int,
        code: str | None = None,
        title: str | None = None,
        log_url: str | None = None,
        hint: str | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(message, hint)
        self.http_status = http_status
        # How long Kombo asked to wait before trying again (Retry-After), if it said.
        self.retry_after_s = retry_after_s
        self.code = code
        self.title = title
        self.log_url = log_url
        self.exit_code = exit_code_for_api_error(code, http_status)


class IntegrationStopped(KomboError):
    """Not sent: the row's integration refused an earlier request of the run in a way no
    other request to it can get past (the customer's setup), and the other integrations of
    the run go on; or (`whole_run`) Kombo refused the key, or could not be reached at all,
    and no row of the run is sent any more."""

    local_code = "CLI.INTEGRATION_STOPPED"

    def __init__(
        self,
        integration_id: str | None,
        cause: KomboError,
        cause_label: str,
        *,
        whole_run: bool = False,
    ) -> None:
        what = _answer_words(cause)
        customer = f"integration {integration_id}" if integration_id else "the integration"
        if isinstance(cause, NetworkError):
            # The server itself could not be reached, for every integration alike (why is
            # said with the row that found it).
            message = (
                f"Not attempted: no connection to Kombo could be made for {cause_label}, so"
                " nothing more was tried."
            )
        elif isinstance(cause, WrongBaseUrl):
            message = (
                f"Not attempted: the base URL has no API route for {cause_label}, so nothing"
                " more was tried."
            )
        elif whole_run:
            # The key (or this machine's address) is refused: no integration can be used.
            message = (
                f"Not sent: Kombo answered {cause_label} with {what}, which no row can get"
                " past, so no more rows were sent."
            )
        else:
            message = (
                f"Not sent: {customer} answered {cause_label} with {what}, so its other rows"
                " were not sent."
            )
        super().__init__(message, hint=cause.hint)
        if whole_run:
            self.local_code = "CLI.RUN_STOPPED"
        self.integration_id = integration_id
        self.cause = cause
        self.exit_code = cause.exit_code
        self.attempts = 0  # nothing was sent for the row


def _answer_words(error: KomboError) -> str:
    if isinstance(error, ApiError):
        code = f" {error.code}" if error.code else ""
        return f"HTTP {error.http_status}{code}"
    return error.local_code


class WrongBaseUrl(ApiError):
    """The server said the path is no route of its, or something other than Kombo's API
    answered 404: the base URL is wrong (most often without /v1). No request of this run
    can succeed until the setting changes, so it is a configuration failure, not a refusal."""

    local_code = "CLI.BASE_URL"

    def __init__(
        self,
        message: str,
        *,
        http_status: int,
        hint: str,
        code: str | None = None,
        title: str | None = None,
        log_url: str | None = None,
    ) -> None:
        super().__init__(
            message, http_status=http_status, code=code, title=title, log_url=log_url, hint=hint
        )
        self.exit_code = ExitCode.CONFIG


# The exit-code table is defined by HTTP status (401/403 -> 4, 429 and 5xx -> 6, other
# 4xx -> 5). Kombo asks clients to branch on `error.code`, so the code decides only where
# the status alone would mislead: a rejected key or a retryable condition reported with
# an unusual status. The list of codes grows over time; unknown codes fall back to status.
_AUTH_CODES = frozenset(
    {
        "PLATFORM.AUTHENTICATION_INVALID",
        "PLATFORM.IP_NOT_WHITELISTED",
        "INTEGRATION.PERMISSION_MISSING",
    }
)
_UNAVAILABLE_CODES = frozenset(
    {
        "PLATFORM.RATE_LIMIT_EXCEEDED",
        "PLATFORM.CONCURRENCY_LIMIT_EXCEEDED",
        "PLATFORM.UNKNOWN_ERROR",
        "PLATFORM.TASK_TIMED_OUT",
        "REMOTE.SERVICE_UNAVAILABLE",
        "REMOTE.RATE_LIMIT_EXCEEDED",
    }
)


def exit_code_for_api_error(code: str | None, http_status: int) -> ExitCode:
    """The exit code for an error answer from Kombo."""
    if http_status in (401, 403) or code in _AUTH_CODES:
        return ExitCode.AUTH
    if http_status == 429 or http_status >= 500 or code in _UNAVAILABLE_CODES:
        return ExitCode.NETWORK
    if 400 <= http_status < 500:
        return ExitCode.REJECTED
    # 1xx/3xx: not an answer Kombo gives; most likely a proxy or a wrong base URL.
    return ExitCode.NETWORK


# Hints for the Kombo codes where the next step is not obvious from Kombo's message.
KOMBO_CODE_HINTS: dict[str, str] = {
    "PLATFORM.AUTHENTICATION_INVALID": (
        "check KOMBO_API_KEY: it must be a current key of this Kombo environment and region"
    ),
    "PLATFORM.IP_NOT_WHITELISTED": "add this machine's IP address to the environment's allowlist",
    "PLATFORM.INTEGRATION_NOT_FOUND": (
        "check KOMBO_INTEGRATION_ID (for example workday:HWUTwvyx2wLoSUHphiWVrp28)"
    ),
    "INTEGRATION.PERMISSION_MISSING": (
        "the customer's ATS user lacks a permission; ask them to grant it and reconnect"
    ),
    "INTEGRATION.AUTHENTICATION_INVALID": "the customer has to reconnect the integration",
    "INTEGRATION.SETUP_SYNC_PENDING": "the first sync is still running; try again later",
    "INTEGRATION.SETUP_INCOMPLETE": "the customer has to finish setting up the integration",
    "INTEGRATION.ACTION_NOT_AVAILABLE": (
        "this ATS does not support adding attachments here; try --application"
    ),
    "INTEGRATION.ACTION_DISABLED": 'enable "Add attachments" in the integration\'s scope config',
    "PLATFORM.RATE_LIMIT_EXCEEDED": "wait a moment and run the command again",
    "PLATFORM.CONCURRENCY_LIMIT_EXCEEDED": "too many uploads in flight; run fewer at once",
}


def error_json(err: KomboError) -> dict[str, Any]:
    """The `error` object of kombo's JSON output: Kombo's own envelope where it sent one."""
    api = err if isinstance(err, ApiError) else None
    payload: dict[str, Any] = {
        "code": api.code if api else err.local_code,
        "title": api.title if api else None,
        "message": err.message,
        "log_url": api.log_url if api else None,
        "http_status": api.http_status if api else None,
        "hint": err.hint,
        "exit_code": int(err.exit_code),
        "attempts": err.attempts,
    }
    if isinstance(err, Interrupted):
        payload.update(err.listed)
    return payload
