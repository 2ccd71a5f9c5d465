"""Resolve settings: flag > environment variable > dotenv file > config profile > default.

Each resolved value remembers where it came from, so messages can say which source to
fix ("KOMBO_API_KEY in ./.env") without ever repeating a secret.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from urllib.parse import urlsplit

from kombo_cli.errors import ConfigError

REGION_BASE_URLS: dict[str, str] = {
    "eu": "https://api.kombo.dev/v1",
    "us": "https://api.us.kombo.dev/v1",
    "ca": "https://api.ca.kombo.dev/v1",
}
DEFAULT_REGION = "eu"

ENV_API_KEY = "KOMBO_API_KEY"
ENV_INTEGRATION_ID = "KOMBO_INTEGRATION_ID"
ENV_REGION = "KOMBO_REGION"

# Per request, as long as the official SDKs allow an attachment upload: Kombo forwards the
# file to the ATS before it answers, and some ATSs are slow.
DEFAULT_TIMEOUT_S = 300.0
ENV_BASE_URL = "KOMBO_BASE_URL"
ENV_DEBUG = "KOMBO_DEBUG"
DEFAULT_DOTENV_NAME = ".env"

# Keys and integration ids are printable ASCII without quotes or "=". Anything else (a
# space, a line break, a curly quote pasted from a document, a whole `KOMBO_API_KEY=...`
# line) would break the HTTP header, end up echoed by the HTTP library, or simply be wrong.
_CREDENTIAL = re.compile(r"[\x21-\x7e]+")
_NOT_IN_CREDENTIALS = re.compile("[\"'`=\\\\]")


def is_header_safe(value: str) -> bool:
    """Whether `value` can travel as a key or integration id: printable ASCII, no spaces."""
    return bool(_CREDENTIAL.fullmatch(value)) and not _NOT_IN_CREDENTIALS.search(value)


class Source(str, Enum):
    FLAG = "flag"
    ENV = "environment"
    DOTENV = "dotenv file"
    CONFIG = "config file"
    DEFAULT = "default"


@dataclass(frozen=True)
class Resolved:
    """One setting's value and where it came from (`origin` names the flag, variable or file)."""

    value: str | None
    source: Source
    origin: str

    @property
    def is_set(self) -> bool:
        return self.value is not None


@dataclass(frozen=True)
class SettingFlags:
    """Values given on the command line; None means "not given".

    There is deliberately no flag for the API key: a key on the command line ends up in
    shell history and in `ps` output.
    """

    integration_id: str | None = None
    region: str | None = None
    base_url: str | None = None
    env_file: Path | None = None
    profile: str | None = None


@dataclass(frozen=True)
class Settings:
    api_key: Resolved
    integration_id: Resolved
    region: Resolved
    base_url: Resolved
    dotenv_path: Path | None
    profile: str = "default"
    profile_path: Path | None = None
    # Things worth telling the user (a key file others can read); never secrets.
    warnings: tuple[str, ...] = ()

    def missing_credentials(self) -> list[str]:
        """Names of the environment variables that still need a value."""
        missing = []
        if not self.api_key.is_set:
            missing.append(ENV_API_KEY)
        if not self.integration_id.is_set:
            missing.append(ENV_INTEGRATION_ID)
        return missing

    def require_credentials(self) -> tuple[str, str]:
        """The API key and integration id, or a ConfigError that names what is missing."""
        missing = self.missing_credentials()
        if missing:
            what = (
                f"{missing[0]} is not set."
                if len(missing) == 1
                else f"Neither {missing[0]} nor {missing[1]} is set."
            )
            setting = "api-key" if missing[0] == ENV_API_KEY else "integration-id"
            raise ConfigError(
                what,
                hint=(
                    f"run `kombo config set {setting}`, export {missing[0]}=..., or put it in"
                    f" {self._dotenv_display()}"
                ),
            )
        assert self.api_key.value is not None and self.integration_id.value is not None
        return self.api_key.value, self.integration_id.value

    def _dotenv_display(self) -> str:
        return str(self.dotenv_path) if self.dotenv_path else f"./{DEFAULT_DOTENV_NAME}"


def resolve_settings(
    flags: SettingFlags,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    config_directory: Path | None = None,
) -> Settings:
    """Apply the precedence order to every setting. Raises ConfigError for invalid values."""
    from kombo_cli.config_store import DEFAULT_PROFILE, ConfigStore, config_dir, selected_profile

    environ = os.environ if environ is None else environ
    profile = selected_profile(flags.profile, environ)
    store = ConfigStore(config_directory or config_dir(environ))
    profile_path = store.profile_path(profile)
    stored = store.read(profile)
    notes = [store.permission_warning(profile)]
    if profile != DEFAULT_PROFILE and not store.exists(profile):
        # Most often a typo in --profile or KOMBO_PROFILE; say so rather than run without it.
        notes.append(f"the profile {profile!r} has no stored settings ({profile_path} is missing)")
    warnings = tuple(note for note in notes if note)
    dotenv_path = flags.env_file or _local_dotenv(cwd)
    dotenv = None
    if dotenv_path is not None:
        dotenv = read_dotenv(dotenv_path, required=flags.env_file is not None)
    dotenv_origin = str(dotenv_path)
    used_dotenv = dotenv_path if dotenv is not None else None
    dotenv = dotenv or {}

    def pick(flag_value: str | None, flag_name: str, env_name: str) -> Resolved:
        if _has_value(flag_value):
            return Resolved(flag_value, Source.FLAG, flag_name)
        if _has_value(environ.get(env_name)):
            return Resolved(environ[env_name], Source.ENV, env_name)
        if _has_value(dotenv.get(env_name)):
            return Resolved(dotenv[env_name], Source.DOTENV, f"{env_name} in {dotenv_origin}")
        if _has_value(stored.get(env_name)):
            origin = f"{env_name} in profile {profile} ({profile_path})"
            return Resolved(stored[env_name], Source.CONFIG, origin)
        return Resolved(None, Source.DEFAULT, "default")

    api_key = _clean_credential(pick(None, "", ENV_API_KEY), "API key")
    integration_id = _clean_credential(
        pick(flags.integration_id, "--integration-id", ENV_INTEGRATION_ID), "integration id"
    )
    region = pick(flags.region, "--region", ENV_REGION)
    region = _validate_region(region)
    base_url = pick(flags.base_url, "--base-url", ENV_BASE_URL)
    if base_url.is_set:
        base_url = Resolved(validate_base_url(base_url), base_url.source, base_url.origin)
    else:
        assert region.value is not None
        origin = f"the {region.value} region ({region.origin})"
        base_url = Resolved(REGION_BASE_URLS[region.value], region.source, origin)
    return Settings(
        api_key, integration_id, region, base_url, used_dotenv, profile, profile_path, warnings
    )


def _local_dotenv(cwd: Path | None) -> Path | None:
    """./.env in the current directory, or None when there is no current directory."""
    try:
        return (cwd or Path.cwd()) / DEFAULT_DOTENV_NAME
    except OSError:  # the directory was deleted under the shell
        return None


def debug_requested(environ: Mapping[str, str] | None = None) -> bool:
    """KOMBO_DEBUG=1 turns on the HTTP debug log and tracebacks for internal errors."""
    environ = os.environ if environ is None else environ
    return environ.get(ENV_DEBUG, "").strip().lower() not in ("", "0", "false", "no")


def _has_value(value: str | None) -> bool:
    # An empty variable counts as unset: CI systems export empty strings for missing secrets.
    return value is not None and value.strip() != ""


def _clean_credential(resolved: Resolved, label: str) -> Resolved:
    if resolved.value is None:
        return resolved
    value = resolved.value.strip()
    if value.lower().startswith("bearer "):
        # Users paste the whole header value; the official SDKs accept it too.
        value = value[len("bearer ") :].strip()
    if not is_header_safe(value):
        raise ConfigError(
            f"The {label} from {resolved.origin} contains spaces, quotes, '=' or characters"
            " that are not plain ASCII.",
            hint=f"copy the {label} again, without quotes, line breaks or spaces",
        )
    return Resolved(value, resolved.source, resolved.origin)


def _validate_region(resolved: Resolved) -> Resolved:
    if resolved.value is None:
        return Resolved(DEFAULT_REGION, Source.DEFAULT, "default")
    region = resolved.value.strip().lower()
    if region not in REGION_BASE_URLS:
        raise ConfigError(
            f"Unknown region {resolved.value!r} from {resolved.origin}.",
            hint=f"use one of {', '.join(REGION_BASE_URLS)}",
        )
    return Resolved(region, resolved.source, resolved.origin)


def validate_base_url(resolved: Resolved) -> str:
    """A usable API base URL (including /v1), or a ConfigError saying why not."""
    assert resolved.value is not None
    raw = resolved.value.strip()
    try:
        parts = urlsplit(raw)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        raise ConfigError(
            f"The base URL from {resolved.origin} is not a valid URL.",
            hint="use a URL like https://api.kombo.dev/v1",
        ) from None
    problem = None
    if (
        parts.scheme not in ("https", "http")
        or not parts.hostname
        or any(ch.isspace() for ch in raw)
    ):
        problem = "is not an http(s) URL"
    elif parts.username or parts.password:
        problem = "must not contain a user name or password"
    elif parts.query or parts.fragment:
        problem = "must not contain a query string or fragment"
    elif parts.scheme == "http" and not is_loopback_host(parts.hostname):
        raise ConfigError(
            f"The base URL from {resolved.origin} uses plain http to a remote host.",
            hint="https is required: plain http is only allowed for 127.0.0.1, ::1 and localhost",
        )
    if problem:
        raise ConfigError(
            f"The base URL from {resolved.origin} {problem}.",
            hint="use a URL like https://api.kombo.dev/v1",
        )
    return raw.rstrip("/")


def is_loopback_host(host: str) -> bool:
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def read_dotenv(
    path: Path,
    *,
    required: bool,
    interpolate: bool = True,
    optional_in_unsearchable_dir: bool = True,
) -> dict[str, str] | None:
    """The variables of a dotenv file; None when it is absent and not required.

    python-dotenv skips lines it cannot parse with only a logged warning; a half-read
    credentials file is worse than an error, so every line is checked first.
    """
    # Imported here: only commands that resolve settings pay for python-dotenv.
    from dotenv import dotenv_values
    from dotenv.parser import parse_stream

    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        if required:
            raise ConfigError(f"The env file {path} does not exist.") from None
        return None
    except PermissionError:
        if optional_in_unsearchable_dir and not required and not os.access(path.parent, os.X_OK):
            # A current directory we may not search cannot be told to hold a .env at all;
            # settings from the environment must still work there.
            return None
        raise ConfigError(f"The env file {path} cannot be read: permission denied.") from None
    except IsADirectoryError:
        raise ConfigError(f"The env file {path} is a directory, not a file.") from None
    except OSError as exc:
        raise ConfigError(f"The env file {path} cannot be read: {exc.strerror}.") from None

    if b"\x00" in raw:
        line = raw[: raw.index(b"\x00")].count(b"\n") + 1
        raise ConfigError(
            f"The env file {path} is not a text file (NUL byte on line {line}).",
            hint="a dotenv file holds KEY=value lines",
        )
    try:
        # utf-8-sig: editors on Windows start files with a byte-order mark, which older
        # python-dotenv releases read as part of the first variable's name.
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(
            f"The env file {path} is not valid UTF-8 text (line {line}).",
            hint="a dotenv file holds KEY=value lines",
        ) from None

    import io

    for binding in parse_stream(io.StringIO(text)):
        # A line with a name but no "=" parses, but sets nothing: most often a pasted key
        # without its KOMBO_API_KEY= in front. Treat it like any other broken line.
        if binding.error or (binding.key is not None and binding.value is None):
            line = _first_statement_line(binding.original.string, binding.original.line)
            raise ConfigError(
                f"The env file {path} has a line that cannot be parsed (line {line}).",
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
