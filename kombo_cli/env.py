"""The process around kombo: its streams, whether they are terminals, its variables, its folder.

Nothing else in kombo reads `os.environ` or `sys.std*`: commands get an `Environment`, so a
test can run the whole program in-process with its own streams and variables, and a script
that imports kombo can hand it a made-up environment.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

ENV_DEBUG = "KOMBO_DEBUG"


@dataclass(frozen=True)
class Environment:
    stdin: TextIO | None
    stdout: TextIO
    stderr: TextIO
    environ: Mapping[str, str]
    # Where ./.env is looked for; None when the process's folder was deleted under it.
    cwd: Path | None

    @classmethod
    def from_process(cls) -> Environment:
        """This process's own streams, variables and working folder."""
        try:
            cwd: Path | None = Path.cwd()
        except OSError:
            cwd = None
        return cls(sys.stdin, sys.stdout, sys.stderr, os.environ, cwd)

    def is_terminal(self, stream: TextIO | None) -> bool:
        """A real terminal that can take cursor control (progress bars); TERM=dumb cannot."""
        if stream is None or self.environ.get("TERM") == "dumb":
            return False
        try:
            return stream.isatty()
        except (AttributeError, ValueError):
            return False

    def columns(self, stream: TextIO | None) -> int:
        """How many columns lines for `stream` may take: COLUMNS when set, else the width of
        the terminal `stream` is on, else 80."""
        value = self.environ.get("COLUMNS", "").strip()
        if value.isdigit() and int(value) > 0:
            return int(value)
        if stream is None:
            return 80
        try:
            width = os.get_terminal_size(stream.fileno()).columns
        except (AttributeError, OSError, ValueError):
            return 80
        return width if width > 0 else 80

    def wants_color(self, stream: TextIO) -> bool:
        """Colour only for a terminal, and never with NO_COLOR (https://no-color.org)."""
        return not self.environ.get("NO_COLOR") and self.is_terminal(stream)

    @property
    def temp_folder(self) -> str | None:
        """Where temporary files go: TMPDIR (TEMP, TMP) when it names a folder, else the
        system's default."""
        for name in ("TMPDIR", "TEMP", "TMP"):
            folder = self.environ.get(name)
            if folder and os.path.isdir(folder):
                return folder
        return None

    @property
    def debug(self) -> bool:
        """KOMBO_DEBUG=1 turns on the HTTP debug log and tracebacks for internal errors."""
        return self.environ.get(ENV_DEBUG, "").strip().lower() not in ("", "0", "false", "no")
