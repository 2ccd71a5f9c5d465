"""The `kombo` entry point.

`kombo --version` is answered here without importing Typer, rich or requests, so scripts
that check the version pay almost nothing for it.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args == ["--version"]:
        from kombo_cli import __version__

        sys.stdout.write(f"kombo {__version__}\n")
        return 0
    try:
        from kombo_cli.cli import run
    except KeyboardInterrupt:
        sys.stderr.write("Error: Interrupted.\n")
        return 130
    return run(args)
