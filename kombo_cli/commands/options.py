"""Options several commands share, defined once so each offers the same flags and help.

No `from __future__ import annotations` in command modules: Typer reads the annotations at
run time, and `Optional[...]` keeps them valid on Python 3.9. Each function returns a new
option object, as Typer expects one per command.
"""

from enum import Enum
from pathlib import Path
from typing import Any, Optional

import typer

from kombo_cli.api.defaults import DEFAULT_TIMEOUT_S
from kombo_cli.api.retry import DEFAULT_RETRIES
from kombo_cli.config.settings import ENV_BASE_URL, ENV_INTEGRATION_ID, ENV_REGION, SettingFlags

PROFILE_HELP = "Settings profile to use.  \\[env: KOMBO_PROFILE; default: default]"
ENV_FILE_HELP = "Read KOMBO_* settings from this dotenv file.  \\[default: ./.env if present]"


class RegionChoice(str, Enum):
    eu = "eu"
    us = "us"
    ca = "ca"


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


def profile_option() -> Any:
    return typer.Option(
        None,
        "--profile",
        metavar="NAME",
        help=PROFILE_HELP,
        show_default=False,
        autocompletion=_complete_profile,
    )


def env_file_option() -> Any:
    # readable=False: the settings code checks the file and reports it as exit 3.
    return typer.Option(
        None, "--env-file", metavar="PATH", readable=False, help=ENV_FILE_HELP, show_default=False
    )


def region_option() -> Any:
    return typer.Option(
        None,
        "--region",
        metavar="[eu|us|ca]",
        case_sensitive=False,
        help=f"Kombo region.  \\[env: {ENV_REGION}; default: eu]",
        show_default=False,
    )


def retries_option() -> Any:
    return typer.Option(
        DEFAULT_RETRIES,
        "--retries",
        metavar="N",
        min=0,
        help="Times a request may be sent again: after a refusal (429, Kombo's 503, a"
        " connection that never opened) or once an upload was found not stored (0: never).",
    )


def finite_seconds(value: float) -> float:
    """Refuses nan and infinity, which Click's range checks let through."""
    if value != value or value in (float("inf"), float("-inf")):
        raise typer.BadParameter("must be a number of seconds")
    return value


def timeout_option() -> Any:
    return typer.Option(
        DEFAULT_TIMEOUT_S,
        "--timeout",
        metavar="SECONDS",
        min=0.1,
        max=86400.0,
        callback=finite_seconds,
        help="How long a request may stall, sending or waiting for Kombo's answer.",
    )


def base_url_option() -> Any:
    return typer.Option(
        None,
        "--base-url",
        metavar="URL",
        help=f"API base URL including /v1; overrides --region.  \\[env: {ENV_BASE_URL}]",
        show_default=False,
    )


def integration_id_option() -> Any:
    return typer.Option(
        None,
        "--integration-id",
        metavar="ID",
        help=f"Kombo integration ID.  \\[env: {ENV_INTEGRATION_ID}]",
        show_default=False,
    )


def setting_flags(
    *,
    integration_id: Optional[str] = None,
    region: Optional[RegionChoice] = None,
    base_url: Optional[str] = None,
    env_file: Optional[Path] = None,
    profile: Optional[str] = None,
) -> SettingFlags:
    return SettingFlags(
        integration_id=integration_id,
        region=region.value if region else None,
        base_url=base_url,
        env_file=env_file,
        profile=profile,
    )
