"""Resolve settings: flag > environment variable > dotenv file > config profile > default.

Each resolved value remembers where it came from, so messages can say which source to
fix ("KOMBO_API_KEY in ./.env") without ever repeating a secret. Each setting's rule (what
a key, an integration id, a region or a base URL may be) is written once, here, and holds
for values from every source and for `kombo config set` alike.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Callable
from urllib.parse import urlsplit

from kombo_cli.config.dotenv import read_dotenv
from kombo_cli.config.store import DEFAULT_PROFILE, ConfigStore, config_dir, selected_profile
from kombo_cli.credentials import INTEGRATION_ID_EXAMPLE, is_header_safe, names_a_path_segment
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
ENV_BASE_URL = "KOMBO_BASE_URL"
DEFAULT_DOTENV_NAME = ".env"

# The names users type (`kombo config set api-key`), and the variables they are stored as:
# the same as in the environment, so a profile file also works as a dotenv file.
SETTING_VARIABLES: dict[str, str] = {
    "api-key": ENV_API_KEY,
    "integration-id": ENV_INTEGRATION_ID,
    "region": ENV_REGION,
    "base-url": ENV_BASE_URL,
}


def is_loopback_host(host: str) -> bool:
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class InvalidSetting(Exception):
    """A value a setting's rule refuses; the caller decides the error class (exit code)."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


# -- the rules: each takes the raw value, how to name it, and where it came from -----------
# `where` is "" or " from KOMBO_REGION in ./.env"; each returns the value to use.


def normalize_credential(raw: str, label: str, where: str = "") -> str:
    value = raw.strip()
    if value.lower().startswith("bearer "):
        # Users paste the whole header value; the official SDKs accept it too.
        value = value[len("bearer ") :].strip()
    if not value:
        raise InvalidSetting(
            f"The {label}{where} is empty.", hint=f"paste the {label} itself after the name"
        )
    if not is_header_safe(value):
        raise InvalidSetting(
            f"The {label}{where} contains spaces, quotes, '=' or characters that are not"
            " plain ASCII.",
            hint=f"paste only the {label} itself, without quotes, line breaks, spaces or a"
            " NAME= in front",
        )
    return value


def normalize_integration_id(raw: str, label: str = "integration id", where: str = "") -> str:
    """A credential that also names a path segment: GET /integrations/{id}. `.` and `..`
    would climb out of it (`..` reaches GET /v1/), and Kombo's ids never hold a `/`."""
    value = normalize_credential(raw, label, where)
    if not names_a_path_segment(value):
        raise InvalidSetting(
            f"The {label}{where} is {value!r}; an integration id is never '.' or '..' and"
            " never contains '/'.",
            hint=f"copy the integration id from Kombo's dashboard, e.g. {INTEGRATION_ID_EXAMPLE}",
        )
    return value


def normalize_region(raw: str, label: str = "region", where: str = "") -> str:
    region = raw.strip().lower()
    if region not in REGION_BASE_URLS:
        raise InvalidSetting(
            f"Unknown region {raw!r}{where}.", hint=f"use one of {', '.join(REGION_BASE_URLS)}"
        )
    return region


def normalize_base_url(raw: str, label: str = "base URL", where: str = "") -> str:
    """A usable API base URL (including /v1), without a trailing slash."""
    value = raw.strip()
    example = "use a URL like https://api.kombo.dev/v1"
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        raise InvalidSetting(f"The {label}{where} is not a valid URL.", hint=example) from None
    problem = None
    if (
        parts.scheme not in ("https", "http")
        or not parts.hostname
        or any(ch.isspace() for ch in value)
    ):
        problem = "is not an http(s) URL"
    elif parts.username or parts.password:
        problem = "must not contain a user name or password"
    elif parts.query or parts.fragment:
        problem = "must not contain a query string or fragment"
    elif parts.scheme == "http" and not is_loopback_host(parts.hostname):
        raise InvalidSetting(
            f"The {label}{where} uses plain http to a remote host.",
            hint="https is required: plain http is only allowed for 127.0.0.1, ::1 and localhost",
        )
    if problem:
        raise InvalidSetting(f"The {label}{where} {problem}.", hint=example)
    return value.rstrip("/")


# The rule and the name used in messages, per typed setting name.
SETTING_RULES: dict[str, tuple[Callable[[str, str, str], str], str]] = {
    "api-key": (normalize_credential, "API key"),
    "integration-id": (normalize_integration_id, "integration id"),
    "region": (normalize_region, "region"),
    "base-url": (normalize_base_url, "base URL"),
}


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
    profile: str = DEFAULT_PROFILE
    profile_path: Path | None = None
    # Things worth telling the user (a key file others can read); never secrets.
    warnings: tuple[str, ...] = ()

    @property
    def base_url_value(self) -> str:
        # Always set: the region's URL is the default.
        assert self.base_url.value is not None
        return self.base_url.value

    def missing_credentials(self, integration: bool = True) -> list[str]:
        """Names of the environment variables that still need a value; the integration id
        only with `integration` (a manifest whose rows all name theirs needs none)."""
        missing = []
        if not self.api_key.is_set:
            missing.append(ENV_API_KEY)
        if integration and not self.integration_id.is_set:
            missing.append(ENV_INTEGRATION_ID)
        return missing

    def require_credentials(self, integration: bool = True) -> None:
        """A ConfigError that names what is missing: the API key, and the integration id
        unless `integration` is False."""
        missing = self.missing_credentials(integration)
        if missing:
            what = (
                f"{missing[0]} is not set."
                if len(missing) == 1
                else f"Neither {missing[0]} nor {missing[1]} is set."
            )
            setting = "api-key" if missing[0] == ENV_API_KEY else "integration-id"
            shown_dotenv = self.dotenv_path or f"./{DEFAULT_DOTENV_NAME}"
            raise ConfigError(
                what,
                hint=f"run `kombo config set {setting}`, export {missing[0]}=..., or put it in"
                f" {shown_dotenv}",
            )


def resolve_settings(
    flags: SettingFlags,
    environ: Mapping[str, str],
    cwd: Path | None,
    config_directory: Path | None = None,
) -> Settings:
    """Apply the precedence order to every setting. Raises ConfigError for invalid values."""
    profile = selected_profile(flags.profile, environ)
    store = ConfigStore(config_directory or config_dir(environ))
    profile_path = store.profile_path(profile)
    stored = store.read(profile)
    notes = [store.permission_warning(profile)]
    if profile != DEFAULT_PROFILE and not store.exists(profile):
        # Most often a typo in --profile or KOMBO_PROFILE; say so rather than run without it.
        notes.append(f"the profile {profile!r} has no stored settings ({profile_path} is missing)")
    warnings = tuple(note for note in notes if note)
    dotenv_path = flags.env_file or (cwd / DEFAULT_DOTENV_NAME if cwd is not None else None)
    dotenv = None
    if dotenv_path is not None:
        dotenv = read_dotenv(dotenv_path, required=flags.env_file is not None)
    dotenv_origin = str(dotenv_path)
    used_dotenv = dotenv_path if dotenv is not None else None
    dotenv = dotenv or {}

    def pick(flag_value: str | None, flag_name: str, name: str) -> Resolved:
        env_name = SETTING_VARIABLES[name]
        found = None
        if _has_value(flag_value):
            found = Resolved(flag_value, Source.FLAG, flag_name)
        elif _has_value(environ.get(env_name)):
            found = Resolved(environ[env_name], Source.ENV, env_name)
        elif _has_value(dotenv.get(env_name)):
            found = Resolved(dotenv[env_name], Source.DOTENV, f"{env_name} in {dotenv_origin}")
        elif _has_value(stored.get(env_name)):
            origin = f"{env_name} in profile {profile} ({profile_path})"
            found = Resolved(stored[env_name], Source.CONFIG, origin)
        if found is None or found.value is None:
            return Resolved(None, Source.DEFAULT, "default")
        rule, label = SETTING_RULES[name]
        try:
            value = rule(found.value, label, f" from {found.origin}")
        except InvalidSetting as invalid:
            raise ConfigError(invalid.message, hint=invalid.hint) from None
        return Resolved(value, found.source, found.origin)

    api_key = pick(None, "", "api-key")
    integration_id = pick(flags.integration_id, "--integration-id", "integration-id")
    region = pick(flags.region, "--region", "region")
    if region.value is None:
        region = Resolved(DEFAULT_REGION, Source.DEFAULT, "default")
    base_url = pick(flags.base_url, "--base-url", "base-url")
    if not base_url.is_set:
        assert region.value is not None
        origin = f"the {region.value} region ({region.origin})"
        base_url = Resolved(REGION_BASE_URLS[region.value], region.source, origin)
    return Settings(
        api_key, integration_id, region, base_url, used_dotenv, profile, profile_path, warnings
    )


def _has_value(value: str | None) -> bool:
    # An empty variable counts as unset: CI systems export empty strings for missing secrets.
    return value is not None and value.strip() != ""
