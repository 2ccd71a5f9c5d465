"""Every failure a user can meet, each with its exit code and an optional hint.

This module holds the one table of exit codes. Code elsewhere raises one of these
exceptions; `cli.run` is the only place that turns them into a message and an exit code.
"""

from __future__ import annotations

from enum import IntEnum


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


class UsageError(KomboError):
    """The command line or a local file is unusable; nothing was sent."""

    exit_code = ExitCode.USAGE
    local_code = "CLI.USAGE"


class ConfigError(KomboError):
    """A credential or setting is missing or invalid; nothing was sent."""

    exit_code = ExitCode.CONFIG
    local_code = "CLI.CONFIG"


class NetworkError(KomboError):
    """Kombo could not be reached or did not answer in time."""

    exit_code = ExitCode.NETWORK
    local_code = "CLI.NETWORK"


class Interrupted(KomboError):
    """The user pressed Ctrl-C."""

    exit_code = ExitCode.INTERRUPTED
    local_code = "CLI.INTERRUPTED"


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
    ) -> None:
        super().__init__(message, hint)
        self.http_status = http_status
        self.code = code
        self.title = title
        self.log_url = log_url
        self.exit_code = exit_code_for_api_error(code, http_status)


# Kombo asks clients to branch on `error.code` and fall back to the HTTP status only when
# the code is absent or unknown (the code list grows over time).
_EXIT_CODE_BY_KOMBO_CODE: dict[str, ExitCode] = {
    "PLATFORM.AUTHENTICATION_INVALID": ExitCode.AUTH,
    "PLATFORM.IP_NOT_WHITELISTED": ExitCode.AUTH,
    "INTEGRATION.PERMISSION_MISSING": ExitCode.AUTH,
    "PLATFORM.RATE_LIMIT_EXCEEDED": ExitCode.NETWORK,
    "PLATFORM.CONCURRENCY_LIMIT_EXCEEDED": ExitCode.NETWORK,
    "PLATFORM.UNKNOWN_ERROR": ExitCode.NETWORK,
    "PLATFORM.TASK_TIMED_OUT": ExitCode.NETWORK,
    "REMOTE.SERVICE_UNAVAILABLE": ExitCode.NETWORK,
    "REMOTE.RATE_LIMIT_EXCEEDED": ExitCode.NETWORK,
    "PLATFORM.INTEGRATION_NOT_FOUND": ExitCode.REJECTED,
    "PLATFORM.INPUT_INVALID": ExitCode.REJECTED,
    "INTEGRATION.AUTHENTICATION_INVALID": ExitCode.REJECTED,
    "INTEGRATION.SETUP_SYNC_PENDING": ExitCode.REJECTED,
    "INTEGRATION.SETUP_INCOMPLETE": ExitCode.REJECTED,
    "INTEGRATION.QA_FAILED": ExitCode.REJECTED,
    "INTEGRATION.INACTIVE": ExitCode.REJECTED,
    "INTEGRATION.ACTION_NOT_AVAILABLE": ExitCode.REJECTED,
    "INTEGRATION.ACTION_DISABLED": ExitCode.REJECTED,
    "REMOTE.INPUT_INVALID": ExitCode.REJECTED,
}


def exit_code_for_api_error(code: str | None, http_status: int) -> ExitCode:
    """The exit code for a Kombo error: by Kombo's code when known, else by HTTP status."""
    if code in _EXIT_CODE_BY_KOMBO_CODE:
        return _EXIT_CODE_BY_KOMBO_CODE[code]  # type: ignore[index]
    if http_status in (401, 403):
        return ExitCode.AUTH
    if http_status == 429 or http_status >= 500:
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
