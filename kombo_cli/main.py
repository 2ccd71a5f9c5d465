"""The `kombo` entry point.

`kombo --version` is answered here without importing Typer, rich or requests, so scripts
that check the version pay almost nothing for it.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args == ["--version"]:
        from kombo_cli import __version__

        try:
            sys.stdout.write(f"kombo {__version__}\n")
            sys.stdout.flush()
        except BrokenPipeError:
            # `kombo --version | head -c0`: nothing to report, and no noise at exit.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    try:
        from kombo_cli.cli import run

        return run(args)
    except KeyboardInterrupt:
        # Ctrl-C while starting up or after the work is done: still the documented code.
        sys.stderr.write("Error: Interrupted.\n")
        return 130
