"""The `kombo` entry point.

`kombo --version` is answered here without importing Typer, rich or requests, so scripts
that check the version pay almost nothing for it. Everything else goes to `app.run`, in
this process's environment.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args == ["--version"]:
        from kombo_cli.version import __version__

        try:
            sys.stdout.write(f"kombo {__version__}\n")
            sys.stdout.flush()
        except BrokenPipeError:
            # `kombo --version | head -c0`: nothing to report, and no noise at exit.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    try:
        from kombo_cli.app import run
        from kombo_cli.env import Environment

        return run(args, Environment.from_process())
    except KeyboardInterrupt:
        # Ctrl-C while starting up or after the work is done: still the documented code.
        sys.stderr.write("Error: Interrupted.\n")
        return 130
