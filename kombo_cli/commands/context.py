"""What every command gets from `app.run`: the process's environment, and the console the
command sets up, which `app.run` uses to report a failure the way the command would."""

from __future__ import annotations

from dataclasses import dataclass

import typer

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


def state_of(ctx: typer.Context) -> AppState:
    state = ctx.find_object(AppState)
    assert state is not None, "commands run through kombo_cli.app.run"
    return state
