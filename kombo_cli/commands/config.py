"""`kombo config`: store settings in a profile, and show which value wins and why."""

from enum import Enum
from pathlib import Path
from typing import Any, Optional

import typer

from kombo_cli.commands.context import state_of
from kombo_cli.commands.help import KomboCommand, KomboGroup
from kombo_cli.commands.options import (
    completes,
    env_file_option,
    json_option,
    listed,
    one_of,
    profile_option,
)
from kombo_cli.config.settings import (
    SETTING_RULES,
    SETTING_VARIABLES,
    InvalidSetting,
    Resolved,
    SettingFlags,
    Settings,
)
from kombo_cli.config.store import ConfigStore, config_dir, selected_profile
from kombo_cli.env import Environment
from kombo_cli.errors import ConfigError, ExitCode, UsageError
from kombo_cli.redact import mask_secret

config_app = typer.Typer(
    cls=KomboGroup,
    help="Store settings in a profile, and see which value kombo uses and where it comes from.",
    no_args_is_help=True,
)


class SettingName(str, Enum):
    api_key = "api-key"
    integration_id = "integration-id"
    region = "region"
    base_url = "base-url"


NAMES = [name.value for name in SettingName]


def name_argument() -> Any:
    return typer.Argument(
        ...,
        metavar="NAME",
        callback=one_of(NAMES),
        autocompletion=completes(NAMES),
        help=f"The setting: {listed(NAMES)}.",
        show_default=False,
    )


@config_app.command("set", cls=KomboCommand)
def config_set(
    ctx: typer.Context,
    name: str = name_argument(),
    value: Optional[str] = typer.Argument(
        None,
        help="The value. Leave it out to be prompted (without echo for the key) or to read"
        " one line from standard input.",
        show_default=False,
    ),
    profile: Optional[str] = profile_option(),
) -> int:
    """Store a setting in the profile's file (created 0600 in a 0700 folder)."""
    state = state_of(ctx)
    console = state.open_console()
    typed_on_command_line = value is not None
    if value is None:
        value = _read_value(state.env, name, secret=name == SettingName.api_key.value)
    rule, _label = SETTING_RULES[name]
    try:
        cleaned = rule(value, name, "")
    except InvalidSetting as invalid:
        raise UsageError(invalid.message, hint=invalid.hint) from None
    is_key = name == SettingName.api_key.value
    console.add_secret(cleaned if is_key else None)
    store, chosen = _store_and_profile(state.env, profile)
    path = store.set(chosen, SETTING_VARIABLES[name], cleaned)
    if is_key and typed_on_command_line:
        console.warning(
            "a key typed on the command line stays in the shell history; next time leave the"
            " value out to be prompted for it, or pipe it in"
        )
    shown = mask_secret(cleaned) if is_key else cleaned
    console.out(f"Saved {name} ({shown}) in profile {chosen}: {path}")
    return ExitCode.SUCCESS


@config_app.command("get", cls=KomboCommand)
def config_get(
    ctx: typer.Context,
    name: str = name_argument(),
    reveal: bool = typer.Option(False, "--reveal", help="Print the API key unmasked."),
    profile: Optional[str] = profile_option(),
    env_file: Optional[Path] = env_file_option(),
) -> int:
    """Print the value kombo attach would use (exit 3 when it has none)."""
    state = state_of(ctx)
    console = state.open_console()
    # --reveal is the one place the key may be printed: do not mask it away.
    settings = state.settings(
        SettingFlags(profile=profile, env_file=env_file), protect_key=not reveal
    )
    shown = _shown_settings(settings, reveal)[name]
    if shown.value is None:
        raise ConfigError(
            f"{name} is not set in any source.",
            hint=f"set it with `kombo config set {name}` or {SETTING_VARIABLES[name]}",
        )
    console.out(shown.value)
    return ExitCode.SUCCESS


@config_app.command("unset", cls=KomboCommand)
def config_unset(
    ctx: typer.Context,
    name: str = name_argument(),
    profile: Optional[str] = profile_option(),
) -> int:
    """Remove a setting from the profile's file."""
    state = state_of(ctx)
    console = state.open_console()
    store, chosen = _store_and_profile(state.env, profile)
    if store.unset(chosen, SETTING_VARIABLES[name]):
        console.out(f"Removed {name} from profile {chosen}: {store.profile_path(chosen)}")
    else:
        console.warning(f"{name} was not stored in profile {chosen}; nothing to remove")
    return ExitCode.SUCCESS


@config_app.command("show", cls=KomboCommand)
def config_show(
    ctx: typer.Context,
    profile: Optional[str] = profile_option(),
    env_file: Optional[Path] = env_file_option(),
    json_output: bool = json_option("Print the settings as JSON."),
) -> int:
    """Every setting: its value (the key masked), its source and where that is."""
    state = state_of(ctx)
    console = state.open_console(json_mode=json_output)
    settings = state.settings(SettingFlags(profile=profile, env_file=env_file))
    shown = _shown_settings(settings, reveal=False)
    if console.json_mode:
        console.json(
            {
                "profile": settings.profile,
                "config_file": str(settings.profile_path) if settings.profile_path else None,
                "settings": {
                    name: {"value": item.value, "source": item.source.value, "origin": item.origin}
                    for name, item in shown.items()
                },
            }
        )
        return ExitCode.SUCCESS
    lines = [f"Profile {settings.profile} ({settings.profile_path})", ""]
    for name, item in shown.items():
        value = item.value if item.value is not None else "(not set)"
        lines.append(f"{name:<15} {value:<34} {item.source.value:<12} {item.origin}")
    console.out("\n".join(lines))
    return ExitCode.SUCCESS


@config_app.command("path", cls=KomboCommand)
def config_path(ctx: typer.Context, profile: Optional[str] = profile_option()) -> int:
    """Print the config folder and the profile's file."""
    state = state_of(ctx)
    console = state.open_console()
    store, chosen = _store_and_profile(state.env, profile)
    console.out(f"{store.directory}\n{store.profile_path(chosen)}")
    return ExitCode.SUCCESS


@config_app.command("profiles", cls=KomboCommand)
def config_profiles(ctx: typer.Context, profile: Optional[str] = profile_option()) -> int:
    """List the stored profiles; * marks the one in use."""
    state = state_of(ctx)
    console = state.open_console()
    store, chosen = _store_and_profile(state.env, profile)
    names = store.profiles()
    if not names:
        console.warning("no profiles yet; `kombo config set api-key` creates the default one")
    for name in names:
        console.out(f"{'*' if name == chosen else ' '} {name}")
    return ExitCode.SUCCESS


def _read_value(env: Environment, name: str, *, secret: bool) -> str:
    """Prompt on a terminal (without echo for the key); read one line when piped."""
    stdin = env.stdin
    if stdin is not None and stdin.isatty():
        return str(typer.prompt(name, hide_input=secret))
    line = stdin.readline() if stdin is not None else ""
    if not line.strip():
        raise UsageError(
            f"No value for {name} was given.",
            hint=f"pipe it in: kombo config set {name} < file"
            if secret
            else f"pass it as an argument, or pipe it in: kombo config set {name} < file",
        )
    return line.rstrip("\r\n")


def _store_and_profile(env: Environment, profile: Optional[str]) -> tuple[ConfigStore, str]:
    return ConfigStore(config_dir(env.environ)), selected_profile(profile, env.environ)


def _shown_settings(settings: Settings, reveal: bool) -> dict[str, Resolved]:
    """Each setting as shown: the key masked unless revealed."""
    shown = {
        "api-key": settings.api_key,
        "integration-id": settings.integration_id,
        "region": settings.region,
        "base-url": settings.base_url,
    }
    key = settings.api_key
    if key.value is not None and not reveal:
        shown["api-key"] = Resolved(mask_secret(key.value), key.source, key.origin)
    return shown
