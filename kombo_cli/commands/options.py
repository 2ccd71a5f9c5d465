"""Options several commands share, defined once so each offers the same flags and help.

No `from __future__ import annotations` in command modules: Typer reads the annotations at
run time, and `Optional[...]` keeps them valid on Python 3.9. Each function returns a new
option object, as Typer expects one per command.

Choices and bounds are checked by callbacks here rather than by Typer's enum and range
types: those print type labels (`[x>=0]`, `<str>`) in help and, depending on the release,
list choices in lower case. A callback accepts any case, returns the value in Kombo's own
case, and names the choices as Kombo writes them.
"""

from collections.abc import Sequence
from enum import Enum
from pathlib import Path
from typing import Any, Callable, Optional

import typer

from kombo_cli.api.defaults import DEFAULT_TIMEOUT_S
from kombo_cli.api.retry import DEFAULT_RETRIES
from kombo_cli.config.settings import ENV_BASE_URL, ENV_INTEGRATION_ID, ENV_REGION, SettingFlags

# Help panels, for commands with options enough to group; each command names its own,
# and the shared options below take the panel they are shown in.
TARGET = "Target"
FILE = "File"
REQUEST = "Request"
BATCH = "Batch"
CONNECTION = "Connection"
OUTPUT = "Output"

PROFILE_HELP = "Settings profile to use.  [env: KOMBO_PROFILE; default: default]"
ENV_FILE_HELP = "Read KOMBO_* settings from this dotenv file.  [default: ./.env if present]"


class RegionChoice(str, Enum):
    eu = "eu"
    us = "us"
    ca = "ca"


def listed(choices: Sequence[str]) -> str:
    """The choices as help and errors name them: `CV, COVER_LETTER, OTHER`."""
    return ", ".join(choices)


def one_of(choices: Sequence[str]) -> Callable[[Optional[str]], Optional[str]]:
    """A callback that accepts one of `choices` in any case and returns it as written."""
    by_key = {choice.casefold(): choice for choice in choices}

    def check(value: Optional[str]) -> Optional[str]:
        if value is None:
            return None
        chosen = by_key.get(value.casefold())
        if chosen is None:
            raise typer.BadParameter(f"{value!r} is not one of {listed(choices)}.")
        return chosen

    return check


def completes(choices: Sequence[str]) -> Callable[[str], list[str]]:
    """Shell completion for a choice: each as written, or in the case being typed (Typer
    keeps only completions that start with what was typed, letter for letter)."""

    def complete(incomplete: str) -> list[str]:
        found = []
        for choice in choices:
            for variant in (choice, choice.lower(), choice.upper()):
                if variant.startswith(incomplete):
                    found.append(variant)
                    break
        return found

    return complete


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def between(low: float, high: Optional[float] = None, *, unit: str = "") -> Callable[[Any], Any]:
    """A callback that refuses numbers outside [low, high], and nan and infinity."""
    if high is None:
        wanted = f"must be at least {_number(low)}{unit}"
    else:
        wanted = f"must be from {_number(low)} to {_number(high)}{unit}"

    def check(value: Any) -> Any:
        # Comparisons with nan are all false, so nan is refused with the rest.
        if value is not None and not (low <= value and (high is None or value <= high)):
            raise typer.BadParameter(f"{wanted}, not {value}.")
        return value

    return check


REGIONS = [choice.value for choice in RegionChoice]


def _complete_profile(ctx: typer.Context, incomplete: str) -> list[str]:
    """Shell completion for --profile: the profiles stored so far."""
    try:
        from kombo_cli.commands.context import state_of
        from kombo_cli.config.store import ConfigStore, config_dir

        environ = state_of(ctx).env.environ
        return [
            name
            for name in ConfigStore(config_dir(environ)).profiles()
            if name.startswith(incomplete)
        ]
    except Exception:  # completion must never print a traceback into the user's shell
        return []


def profile_option(panel: Optional[str] = None) -> Any:
    return typer.Option(
        None,
        "--profile",
        metavar="NAME",
        help=PROFILE_HELP,
        show_default=False,
        autocompletion=_complete_profile,
        rich_help_panel=panel,
    )


def env_file_option(panel: Optional[str] = None) -> Any:
    # readable=False: the settings code checks the file and reports it as exit 3.
    return typer.Option(
        None,
        "--env-file",
        metavar="FILE",
        readable=False,
        help=ENV_FILE_HELP,
        show_default=False,
        rich_help_panel=panel,
    )


def region_option(panel: Optional[str] = None) -> Any:
    return typer.Option(
        None,
        "--region",
        metavar="REGION",
        callback=one_of(REGIONS),
        autocompletion=completes(REGIONS),
        help=f"Kombo region: {listed(REGIONS)}.  [env: {ENV_REGION}; default: eu]",
        show_default=False,
        rich_help_panel=panel,
    )


UPLOAD_RETRIES_HELP = (
    "Times a request may be sent again: after a refusal (429, Kombo's 503, a connection"
    " that never opened) or once an upload was found not stored (0: never)."
)
READ_RETRIES_HELP = (
    "Times a read may be asked again after a failure worth another try (429, a 5xx, a"
    " timeout or a dropped connection; 0: never). Reads change nothing, so this is safe."
)


def retries_option(panel: Optional[str] = None, help: str = UPLOAD_RETRIES_HELP) -> Any:
    return typer.Option(
        DEFAULT_RETRIES,
        "--retries",
        metavar="N",
        callback=between(0),
        help=help,
        rich_help_panel=panel,
    )


def timeout_option(panel: Optional[str] = None) -> Any:
    return typer.Option(
        DEFAULT_TIMEOUT_S,
        "--timeout",
        metavar="SECONDS",
        callback=between(0.1, 86400.0, unit=" seconds"),
        help="How long a request may stall, sending or waiting for Kombo's answer.",
        rich_help_panel=panel,
    )


def base_url_option(panel: Optional[str] = None) -> Any:
    return typer.Option(
        None,
        "--base-url",
        metavar="URL",
        help=f"API base URL including /v1; overrides --region.  [env: {ENV_BASE_URL}]",
        show_default=False,
        rich_help_panel=panel,
    )


def integration_id_option(panel: Optional[str] = None) -> Any:
    return typer.Option(
        None,
        "--integration-id",
        metavar="ID",
        help=f"Kombo integration ID.  [env: {ENV_INTEGRATION_ID}]",
        show_default=False,
        rich_help_panel=panel,
    )


def json_option(help_text: str, panel: Optional[str] = None) -> Any:
    return typer.Option(False, "--json", help=help_text, rich_help_panel=panel)


def setting_flags(
    *,
    integration_id: Optional[str] = None,
    region: Optional[str] = None,
    base_url: Optional[str] = None,
    env_file: Optional[Path] = None,
    profile: Optional[str] = None,
) -> SettingFlags:
    return SettingFlags(
        integration_id=integration_id,
        region=region,
        base_url=base_url,
        env_file=env_file,
        profile=profile,
    )
