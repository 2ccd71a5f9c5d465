"""What every command gets from `app.run`: the process's environment, and the console the
command sets up, which `app.run` uses to report a failure the way the command would."""

from __future__ import annotations

from dataclasses import dataclass

import typer

from kombo_cli.config.settings import SettingFlags, Settings, resolve_settings
from kombo_cli.env import Environment
from kombo_cli.ui.console import Console


@dataclass
class AppState:
    env: Environment
    console: Console | None = None

    def open_console(
        self, *, json_mode: bool = False, quiet: bool = False, verbosity: int = 0
    ) -> Console:
        self.console = Console(self.env, json_mode=json_mode, quiet=quiet, verbosity=verbosity)
        return self.console

    def settings(self, flags: SettingFlags, *, protect_key: bool = True) -> Settings:
        """The settings in this environment. The key is masked in all output from here on
        (unless `protect_key` is off: `config get --reveal`), and the settings' warnings
        are shown. Raises ConfigError."""
        settings = resolve_settings(flags, self.env.environ, self.env.cwd)
        console = self.console or self.open_console()
        if protect_key:
            console.add_secret(settings.api_key.value)
        for warning in settings.warnings:
            console.warning(warning)
        return settings


def state_of(ctx: typer.Context) -> AppState:
    state = ctx.find_object(AppState)
    assert state is not None, "commands run through kombo_cli.app.run"
    return state
