"""Read a dotenv file strictly: a line that cannot be parsed is an error, not a skipped line."""

from __future__ import annotations

import io
import os
from pathlib import Path

from kombo_cli.errors import ConfigError
from kombo_cli.safe_read import RefusedFile, read_small_file


def read_dotenv(
    path: Path,
    *,
    required: bool,
    interpolate: bool = True,
    optional_in_unsearchable_dir: bool = True,
    what: str = "env file",
) -> dict[str, str] | None:
    """The variables of a dotenv file; None when it is absent and not required.

    python-dotenv skips lines it cannot parse with only a logged warning; a half-read
    credentials file is worse than an error, so every line is checked first. Only a regular
    file is read, and only up to a cap: a pipe or /dev/zero named .env is an error at once.
    `what` names the file in messages ("env file", "profile file").
    """
    # Imported here: only commands that resolve settings pay for python-dotenv.
    from dotenv import dotenv_values
    from dotenv.parser import parse_stream

    try:
        raw = read_small_file(path)
    except RefusedFile as refused:
        raise ConfigError(
            f"The {what} {path} {refused.reason}.", hint="a dotenv file holds KEY=value lines"
        ) from None
    except FileNotFoundError:
        if required:
            raise ConfigError(f"The {what} {path} does not exist.") from None
        return None
    except PermissionError:
        if optional_in_unsearchable_dir and not required and not os.access(path.parent, os.X_OK):
            # A current directory we may not search cannot be told to hold a .env at all;
            # settings from the environment must still work there.
            return None
        raise ConfigError(f"The {what} {path} cannot be read: permission denied.") from None
    except IsADirectoryError:
        raise ConfigError(f"The {what} {path} is a directory, not a file.") from None
    except OSError as exc:
        raise ConfigError(f"The {what} {path} cannot be read: {exc.strerror}.") from None

    if b"\x00" in raw:
        line = raw[: raw.index(b"\x00")].count(b"\n") + 1
        raise ConfigError(
            f"The {what} {path} is not a text file (NUL byte on line {line}).",
            hint="a dotenv file holds KEY=value lines",
        )
    try:
        # utf-8-sig: editors on Windows start files with a byte-order mark, which older
        # python-dotenv releases read as part of the first variable's name.
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(
            f"The {what} {path} is not valid UTF-8 text (line {line}).",
            hint="a dotenv file holds KEY=value lines",
        ) from None

    for binding in parse_stream(io.StringIO(text)):
        # A line with a name but no "=" parses, but sets nothing: most often a pasted key
        # without its KOMBO_API_KEY= in front. Treat it like any other broken line.
        if binding.error or (binding.key is not None and binding.value is None):
            line = _first_statement_line(binding.original.string, binding.original.line)
            raise ConfigError(
                f"The {what} {path} has a line that cannot be parsed (line {line}).",
                hint="each line must be KEY=value, export KEY=value, or a # comment",
            )
    values = dotenv_values(stream=io.StringIO(text), interpolate=interpolate)
    return {key: value for key, value in values.items() if value is not None}


def _first_statement_line(text: str, first_line: int) -> int:
    """The line of the first real statement in a chunk python-dotenv reports as one unit.

    The parser counts blank lines before a statement as part of it, so its line number can
    point above the line that is actually wrong.
    """
    for offset, line in enumerate(text.split("\n")):
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            return first_line + offset
    return first_line
