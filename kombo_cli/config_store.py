"""Stored settings: one dotenv file per profile under the config directory.

    ~/.config/kombo/                 (KOMBO_CONFIG_DIR, else the platform's config folder) 0700
        profiles/default.env         KOMBO_API_KEY='ks_prod_...'                           0600
        profiles/acme.env

The files use the same variable names as the environment, so one can also be passed to
`--env-file`. They are written whole to a temporary file and renamed over the old one, so a
crash never leaves half a key behind, and they are created 0600 because they hold a key.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
from collections.abc import Mapping
from pathlib import Path

from kombo_cli.errors import ConfigError, UsageError

ENV_CONFIG_DIR = "KOMBO_CONFIG_DIR"
ENV_PROFILE = "KOMBO_PROFILE"
DEFAULT_PROFILE = "default"
PROFILE_SUFFIX = ".env"
_PROFILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
# dotenv single quotes take everything literally except a single quote itself.
_NEEDS_NO_ESCAPE = re.compile(r"[^'\\\n\r]*")


def config_dir(environ: Mapping[str, str] | None = None) -> Path:
    environ = os.environ if environ is None else environ
    configured = environ.get(ENV_CONFIG_DIR, "").strip()
    if configured:
        return Path(configured).expanduser()
    import typer

    return Path(typer.get_app_dir("kombo"))


def selected_profile(flag: str | None, environ: Mapping[str, str]) -> str:
    """--profile, else KOMBO_PROFILE, else the default profile."""
    for candidate in (flag, environ.get(ENV_PROFILE)):
        if candidate is not None and candidate.strip():
            return check_profile_name(candidate.strip())
    return DEFAULT_PROFILE


def check_profile_name(name: str) -> str:
    if not _PROFILE_NAME.fullmatch(name):
        raise UsageError(
            f"{name!r} is not a valid profile name.",
            hint="use letters, digits, '.', '_' and '-', starting with a letter or digit",
        )
    return name


class ConfigStore:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    @property
    def profiles_dir(self) -> Path:
        return self.directory / "profiles"

    def profile_path(self, profile: str) -> Path:
        return self.profiles_dir / f"{check_profile_name(profile)}{PROFILE_SUFFIX}"

    def profiles(self) -> list[str]:
        if not self.profiles_dir.is_dir():
            return []
        return sorted(
            path.name[: -len(PROFILE_SUFFIX)]
            for path in self.profiles_dir.glob(f"*{PROFILE_SUFFIX}")
            if _PROFILE_NAME.fullmatch(path.name[: -len(PROFILE_SUFFIX)])
        )

    def read(self, profile: str) -> dict[str, str]:
        """The stored variables of a profile; empty when it has none."""
        from kombo_cli.settings import read_dotenv

        # Stored values are literal: a "$" in one must not be expanded on the way back.
        path = self.profile_path(profile)
        return read_dotenv(path, required=False, interpolate=False) or {}

    def permission_warning(self, profile: str) -> str | None:
        """A warning when the profile's file can be read by other users."""
        path = self.profile_path(profile)
        try:
            mode = path.stat().st_mode
        except OSError:
            return None
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            return f"{path} can be read by other users; run: chmod 600 {path}"
        return None

    def set(self, profile: str, variable: str, value: str) -> Path:
        values = self.read(profile)
        values[variable] = value
        return self._write(profile, values)

    def unset(self, profile: str, variable: str) -> bool:
        """Remove a variable; False when it was not stored."""
        values = self.read(profile)
        if variable not in values:
            return False
        del values[variable]
        self._write(profile, values)
        return True

    def _write(self, profile: str, values: Mapping[str, str]) -> Path:
        path = self.profile_path(profile)
        try:
            _make_private_dir(self.directory)
            _make_private_dir(self.profiles_dir)
            text = "".join(f"{name}={_quote(value)}\n" for name, value in sorted(values.items()))
            temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            # O_EXCL with 0600 from the start: the key is never readable by others, not even
            # for the moment between creating and chmod-ing the file.
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                    handle.write(text)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(temporary, path)
            finally:
                with contextlib.suppress(FileNotFoundError):
                    temporary.unlink()
        except OSError as exc:
            raise ConfigError(f"Cannot write {path}: {exc.strerror or exc}.") from None
        return path


def _make_private_dir(directory: Path) -> None:
    if not directory.exists():
        directory.mkdir(parents=True, mode=0o700)
        # mkdir's mode is filtered by the umask; say 0700 explicitly.
        directory.chmod(0o700)


def _quote(value: str) -> str:
    if _NEEDS_NO_ESCAPE.fullmatch(value):
        return f"'{value}'"
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'
