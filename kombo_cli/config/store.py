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
import sys
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

from kombo_cli.config.dotenv import read_dotenv
from kombo_cli.errors import ConfigError, UsageError

ENV_CONFIG_DIR = "KOMBO_CONFIG_DIR"
ENV_PROFILE = "KOMBO_PROFILE"
DEFAULT_PROFILE = "default"
PROFILE_SUFFIX = ".env"
_PROFILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
# dotenv single quotes take everything literally except a single quote itself.
_NEEDS_NO_ESCAPE = re.compile(r"[^'\\\n\r]*")


def config_dir(environ: Mapping[str, str]) -> Path:
    """KOMBO_CONFIG_DIR, else the platform's folder for kombo's settings (as Click names it)."""
    configured = environ.get(ENV_CONFIG_DIR, "").strip()
    if configured:
        return Path(configured).expanduser()
    home = Path(environ["HOME"]) if environ.get("HOME") else Path.home()
    if sys.platform.startswith("win"):
        return Path(environ.get("APPDATA") or home) / "kombo"
    if sys.platform == "darwin":
        return home / "Library" / "Application Support" / "kombo"
    return Path(environ.get("XDG_CONFIG_HOME") or home / ".config") / "kombo"


def selected_profile(flag: str | None, environ: Mapping[str, str]) -> str:
    """--profile, else KOMBO_PROFILE, else the default profile."""
    if flag is not None:
        return check_profile_name(flag.strip())
    from_environment = environ.get(ENV_PROFILE, "").strip()
    return check_profile_name(from_environment) if from_environment else DEFAULT_PROFILE


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
        # Stored values are literal: a "$" in one must not be expanded on the way back. And
        # a profiles folder we may not read is an error, not "no settings".
        path = self.profile_path(profile)
        values = read_dotenv(
            path,
            required=False,
            interpolate=False,
            optional_in_unsearchable_dir=False,
            what="profile file",
        )
        return values or {}

    def exists(self, profile: str) -> bool:
        return self.profile_path(profile).is_file()

    def permission_warning(self, profile: str) -> str | None:
        """A warning when other users can read the profile's file or change its folders."""
        path = self.profile_path(profile)
        for item, private_mode in (
            (path, "600"),
            (self.profiles_dir, "700"),
            (self.directory, "700"),
        ):
            try:
                mode = item.stat().st_mode
            except OSError:
                continue
            if mode & (stat.S_IRWXG | stat.S_IRWXO):
                return f"other users can access {item}; run: chmod {private_mode} {item}"
        return None

    def set(self, profile: str, variable: str, value: str) -> Path:
        with self._locked():
            values = self.read(profile)
            values[variable] = value
            return self._write(profile, values)

    def unset(self, profile: str, variable: str) -> bool:
        """Remove a variable; False when it was not stored."""
        with self._locked():
            values = self.read(profile)
            if variable not in values:
                return False
            del values[variable]
            self._write(profile, values)
            return True

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """One read-change-write at a time, so two `config set` runs never lose a value."""
        try:
            _make_private_dir(self.directory)
            _make_private_dir(self.profiles_dir)
            lock = _open_lock(self.profiles_dir / ".lock")
        except OSError as exc:
            raise ConfigError(
                f"Cannot write to {self.profiles_dir}: {exc.strerror or exc}."
            ) from None
        try:
            with contextlib.suppress(ImportError):  # no fcntl on Windows: best effort there
                import fcntl

                fcntl.flock(lock, fcntl.LOCK_EX)
            yield
        finally:
            os.close(lock)

    def _write(self, profile: str, values: Mapping[str, str]) -> Path:
        path = self.profile_path(profile)
        # A symlinked profile (kept in a dotfiles repository, say) is updated where it lives.
        target = path.resolve() if path.is_symlink() else path
        text = "".join(f"{name}={_quote(value)}\n" for name, value in sorted(values.items()))
        try:
            # mkstemp creates the file 0600 with a name no other process can predict or
            # hold: the key is never readable by others, and a crash cannot block a rerun.
            descriptor, temporary = tempfile.mkstemp(
                dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"
            )
            try:
                # The umask may have taken even the owner's bits (0277, 0777): the key stays
                # private, but the next `kombo` run must be able to read it back.
                if hasattr(os, "fchmod"):  # not on Windows before Python 3.13
                    os.fchmod(descriptor, 0o600)
                with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                    handle.write(text)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(temporary, target)
                _sync_folder(target.parent)
            finally:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(temporary)
        except IsADirectoryError:
            raise ConfigError(f"The profile file {path} is a directory.") from None
        except OSError as exc:
            raise ConfigError(
                f"Cannot write the profile file {path}: {exc.strerror or exc}."
            ) from None
        return path


def _make_private_dir(directory: Path) -> None:
    """Create the folder and any missing parents 0700, whatever the umask.

    A folder that already exists keeps its mode: it may be shared on purpose (a sticky,
    world-writable KOMBO_CONFIG_DIR such as /tmp), and `permission_warning` says when
    others can reach the key.
    """
    missing = []
    for folder in (directory, *directory.parents):
        if folder.exists():
            break
        missing.append(folder)
    # Parents too: mkdir(parents=True) would create them with the umask's mode.
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=0o700)
        except FileExistsError:  # another kombo got there first: its folder, not ours
            continue
        # mkdir's mode passes through the umask; 0277 would leave a folder we cannot write.
        folder.chmod(0o700)


def _open_lock(path: Path) -> int:
    """The lock file's descriptor, created 0600 when missing. Non-blocking, so a pipe put in
    its place is an error rather than a wait for a reader that never comes."""
    flags = os.O_WRONLY | os.O_APPEND | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        descriptor = os.open(path, flags | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return os.open(path, flags)
    with contextlib.suppress(OSError, AttributeError):
        os.fchmod(descriptor, 0o600)  # the umask may have left it 0000
    return descriptor


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable, where the platform lets a folder be synced."""
    with contextlib.suppress(OSError, AttributeError):
        descriptor = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def _quote(value: str) -> str:
    if _NEEDS_NO_ESCAPE.fullmatch(value):
        return f"'{value}'"
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'
