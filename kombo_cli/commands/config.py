"""`kombo config`: store settings in a profile, and show which value wins and why."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Callable

from kombo_cli.config_store import ConfigStore, config_dir, selected_profile
from kombo_cli.errors import ConfigError, ExitCode, UsageError
from kombo_cli.output import Output
from kombo_cli.redact import mask_secret
from kombo_cli.settings import (
    ENV_API_KEY,
    ENV_BASE_URL,
    ENV_INTEGRATION_ID,
    ENV_REGION,
    REGION_BASE_URLS,
    Resolved,
    SettingFlags,
    Settings,
    Source,
    is_header_safe,
    resolve_settings,
    validate_base_url,
)

# The names users type, and the variables they are stored as (the same as in the
# environment, so a profile file also works as a dotenv file).
SETTING_VARIABLES: dict[str, str] = {
    "api-key": ENV_API_KEY,
    "integration-id": ENV_INTEGRATION_ID,
    "region": ENV_REGION,
    "base-url": ENV_BASE_URL,
}


@dataclass(frozen=True)
class ShownSetting:
    name: str
    value: str | None
    source: str
    origin: str


def set_value(
    name: str,
    value: str | None,
    profile: str | None,
    output: Output,
    read_value: Callable[[str, bool], str],
) -> int:
    """`config set NAME [VALUE]`; without VALUE it is prompted for or read from stdin."""
    typed_on_command_line = value is not None
    if value is None:
        value = read_value(name, name == "api-key")
    cleaned = _validated(name, value)
    output.add_secret(cleaned if name == "api-key" else None)
    store, chosen = _store_and_profile(profile)
    path = store.set(chosen, SETTING_VARIABLES[name], cleaned)
    if name == "api-key" and typed_on_command_line:
        output.warning(
            "a key typed on the command line stays in the shell history; next time leave the"
            " value out to be prompted for it, or pipe it in"
        )
    shown = mask_secret(cleaned) if name == "api-key" else cleaned
    output.result_text(f"Saved {name} ({shown}) in profile {chosen}: {path}")
    return ExitCode.SUCCESS


def unset_value(name: str, profile: str | None, output: Output) -> int:
    store, chosen = _store_and_profile(profile)
    if store.unset(chosen, SETTING_VARIABLES[name]):
        output.result_text(f"Removed {name} from profile {chosen}: {store.profile_path(chosen)}")
    else:
        output.warning(f"{name} was not stored in profile {chosen}; nothing to remove")
    return ExitCode.SUCCESS


def get_value(name: str, reveal: bool, flags: SettingFlags, output: Output) -> int:
    """The value `kombo attach` would use; exit 3 when there is none."""
    # --reveal is the one place the key may be printed: do not mask it away.
    settings = _resolve(flags, output, protect_key=not reveal)
    shown = _shown_settings(settings, reveal)[name]
    if shown.value is None:
        raise ConfigError(
            f"{name} is not set in any source.",
            hint=f"set it with `kombo config set {name}` or {SETTING_VARIABLES[name]}",
        )
    output.result_text(shown.value)
    return ExitCode.SUCCESS


def show(flags: SettingFlags, output: Output) -> int:
    settings = _resolve(flags, output)
    output.config_show(
        settings.profile, settings.profile_path, list(_shown_settings(settings, False).values())
    )
    return ExitCode.SUCCESS


def show_path(profile: str | None, output: Output) -> int:
    store, chosen = _store_and_profile(profile)
    output.result_text(f"{store.directory}\n{store.profile_path(chosen)}")
    return ExitCode.SUCCESS


def list_profiles(profile: str | None, output: Output) -> int:
    store, chosen = _store_and_profile(profile)
    names = store.profiles()
    if not names:
        output.warning("no profiles yet; `kombo config set api-key` creates the default one")
    for name in names:
        output.result_text(f"{'*' if name == chosen else ' '} {name}")
    return ExitCode.SUCCESS


def read_value_interactively(name: str, secret: bool) -> str:
    """Prompt on a terminal (without echo for the key); read one line when piped."""
    if sys.stdin is not None and sys.stdin.isatty():
        import typer

        return str(typer.prompt(name, hide_input=secret))
    line = sys.stdin.readline() if sys.stdin is not None else ""
    if not line.strip():
        raise UsageError(
            f"No value for {name} was given.",
            hint=f"pipe it in: kombo config set {name} < file"
            if secret
            else f"pass it as an argument, or pipe it in: kombo config set {name} < file",
        )
    return line.rstrip("\r\n")


def _validated(name: str, raw: str) -> str:
    value = raw.strip()
    if name == "api-key" and value.lower().startswith("bearer "):
        value = value[len("bearer ") :].strip()
    if name in ("api-key", "integration-id"):
        if not is_header_safe(value):
            raise UsageError(
                f"The {name} contains spaces, quotes, '=' or characters that are not plain"
                " ASCII, or is empty.",
                hint=f"paste only the {name} itself, without quotes or a NAME= in front",
            )
        return value
    if name == "region":
        if value.lower() not in REGION_BASE_URLS:
            raise UsageError(
                f"Unknown region {value!r}.", hint=f"use one of {', '.join(REGION_BASE_URLS)}"
            )
        return value.lower()
    try:
        return validate_base_url(Resolved(value, Source.FLAG, "the value given"))
    except ConfigError as exc:
        raise UsageError(exc.message, hint=exc.hint) from None


def _store_and_profile(profile: str | None) -> tuple[ConfigStore, str]:
    import os

    return ConfigStore(config_dir()), selected_profile(profile, os.environ)


def _resolve(flags: SettingFlags, output: Output, protect_key: bool = True) -> Settings:
    settings = resolve_settings(flags)
    if protect_key:
        output.add_secret(settings.api_key.value)
    for warning in settings.warnings:
        output.warning(warning)
    return settings


def _shown_settings(settings: Settings, reveal: bool) -> dict[str, ShownSetting]:
    resolved = {
        "api-key": settings.api_key,
        "integration-id": settings.integration_id,
        "region": settings.region,
        "base-url": settings.base_url,
    }
    shown = {}
    for name, item in resolved.items():
        value = item.value
        if name == "api-key" and value is not None and not reveal:
            value = mask_secret(value)
        shown[name] = ShownSetting(name, value, item.source.value, item.origin)
    return shown
