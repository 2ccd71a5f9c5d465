"""`kombo sandbox`'s integrations as the command line gives them: which are served, each
one's concurrency limit, and which answer with a rehearsed error.

    --integration-id ID          repeatable; the first is the default integration
    --concurrency-limit N        every integration's limit
    --concurrency-limit ID=N     one integration's (repeatable)
    --integration-error ID=STATUS   every /ats/ request of ID answered 401, 403 or 409

A value that cannot be read is refused by the option's callback, as Click refuses any bad
value; one that names an integration not served is a UsageError once all are known. A
later value for the same integration (or a later plain N) wins, as with any other option.
"""

# No `from __future__ import annotations`: Typer reads the callbacks' annotations at run time.
from typing import Optional

import typer

from kombo_cli.credentials import integration_id_problem, is_header_safe
from kombo_cli.errors import UsageError
from kombo_cli.sandbox.config import (
    DEFAULT_CONCURRENCY_LIMIT,
    DEFAULT_INTEGRATION_ID,
    INTEGRATION_ERROR_STATUSES,
)


def check_credential(value: str, option: str) -> None:
    # Clients send these in HTTP headers, under the same rule kombo applies to its own.
    if not is_header_safe(value):
        raise UsageError(f"{option} must be printable ASCII without spaces, and not empty.")


def served_integrations(values: Optional[list[str]]) -> list[str]:
    """The integration IDs to serve, the default first; a UsageError for a bad one."""
    served: list[str] = []
    for value in values or [DEFAULT_INTEGRATION_ID]:
        check_credential(value, "--integration-id")
        # The rule kombo holds KOMBO_INTEGRATION_ID to: the banner must not suggest one
        # that kombo then refuses.
        problem = integration_id_problem(value)
        if problem is not None:
            raise UsageError(f"--integration-id {value} {problem}.")
        if value in served:
            raise UsageError(f"--integration-id {value} is given twice.")
        served.append(value)
    return served


def _split(value: str) -> tuple[Optional[str], str]:
    """("ID", "rest") for "ID=rest", (None, value) without "="; IDs may hold "=", values not."""
    target, equals, rest = value.rpartition("=")
    return (target if equals else None), rest


def _limit(value: str) -> tuple[Optional[str], int]:
    target, number = _split(value)
    if target == "":
        raise typer.BadParameter(f"{value!r} names no integration before '='; use ID=N.")
    text = number.strip()
    if not text.isdigit():
        raise typer.BadParameter(
            f"must be a whole number N, or ID=N for one integration, not {value!r}."
        )
    if int(text) < 1:
        raise typer.BadParameter(f"must be at least 1, not {int(text)}.")
    return target, int(text)


def _error(value: str) -> tuple[str, int]:
    target, status = _split(value)
    if not target:
        raise typer.BadParameter(f"must be ID=STATUS, like acme:1=409, not {value!r}.")
    *first, last = INTEGRATION_ERROR_STATUSES
    wanted = ", ".join(str(s) for s in first) + f" or {last}"
    if not status.strip().isdigit() or int(status) not in INTEGRATION_ERROR_STATUSES:
        raise typer.BadParameter(f"STATUS must be {wanted}, not {status!r}.")
    return target, int(status)


def check_limits(values: Optional[list[str]]) -> list[str]:
    """--concurrency-limit's callback: every value reads as N or ID=N. Returns a list even
    for none given: older Typer releases fail on a repeatable option's callback returning
    None."""
    for value in values or []:
        _limit(value)
    return list(values or [])


def check_errors(values: Optional[list[str]]) -> list[str]:
    """--integration-error's callback: every value reads as ID=STATUS (a list, as above)."""
    for value in values or []:
        _error(value)
    return list(values or [])


def concurrency_limits(
    values: Optional[list[str]], served: list[str]
) -> tuple[int, dict[str, int]]:
    """The limit for every integration, and those of integrations given their own."""
    every = DEFAULT_CONCURRENCY_LIMIT
    own: dict[str, int] = {}
    for value in values or []:
        target, limit = _limit(value)
        if target is None:
            every = limit
        else:
            _check_served(target, served, f"--concurrency-limit {value}")
            own[target] = limit
    return every, own


def integration_errors(values: Optional[list[str]], served: list[str]) -> dict[str, int]:
    """The rehearsed error status of each integration given one."""
    errors: dict[str, int] = {}
    for value in values or []:
        target, status = _error(value)
        _check_served(target, served, f"--integration-error {value}")
        errors[target] = status
    return errors


def _check_served(target: str, served: list[str], given: str) -> None:
    if target not in served:
        raise UsageError(
            f"{given} names the integration {target}, which the sandbox does not serve"
            f" (it serves {', '.join(served)}).",
            hint=f"serve it too with --integration-id {target}",
        )
