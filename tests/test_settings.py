"""Settings: flag > environment > dotenv > default, each value knowing its source."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kombo_cli.config.settings import SettingFlags, Source, resolve_settings
from kombo_cli.errors import ConfigError

KEY = "ks_dev_abcdefghijklmnopqrstuv"


def resolve(tmp_path: Path, env: dict[str, str], dotenv: str | None = None, **flags: object):
    if dotenv is not None:
        (tmp_path / ".env").write_text(dotenv)
    return resolve_settings(SettingFlags(**flags), environ=env, cwd=tmp_path)  # type: ignore[arg-type]


def test_defaults_to_the_eu_region(tmp_path: Path) -> None:
    settings = resolve(tmp_path, {})
    assert settings.base_url.value == "https://api.kombo.dev/v1"
    assert settings.region.source is Source.DEFAULT
    assert settings.missing_credentials() == ["KOMBO_API_KEY", "KOMBO_INTEGRATION_ID"]


def test_environment_beats_dotenv_and_dotenv_beats_default(tmp_path: Path) -> None:
    settings = resolve(
        tmp_path,
        {"KOMBO_API_KEY": KEY},
        dotenv="KOMBO_API_KEY=ks_dev_other_other_other_other\nKOMBO_INTEGRATION_ID=join:1\n",
    )
    assert (settings.api_key.value, settings.api_key.source) == (KEY, Source.ENV)
    assert (settings.integration_id.value, settings.integration_id.source) == (
        "join:1",
        Source.DOTENV,
    )
    assert settings.integration_id.origin == f"KOMBO_INTEGRATION_ID in {tmp_path / '.env'}"


def test_flag_beats_environment(tmp_path: Path) -> None:
    settings = resolve(
        tmp_path,
        {"KOMBO_REGION": "us", "KOMBO_INTEGRATION_ID": "a:1"},
        region="ca",
        integration_id="b:2",
    )
    assert settings.base_url.value == "https://api.ca.kombo.dev/v1"
    assert settings.integration_id.value == "b:2"
    assert settings.integration_id.source is Source.FLAG


def test_base_url_beats_region_from_any_source(tmp_path: Path) -> None:
    settings = resolve(
        tmp_path, {"KOMBO_REGION": "us"}, dotenv="KOMBO_BASE_URL=https://proxy.example/v1/\n"
    )
    assert settings.base_url.value == "https://proxy.example/v1"


def test_empty_values_count_as_unset(tmp_path: Path) -> None:
    settings = resolve(tmp_path, {"KOMBO_API_KEY": ""}, dotenv=f"KOMBO_API_KEY={KEY}\n")
    assert settings.api_key.value == KEY


def test_key_is_trimmed_and_a_pasted_bearer_prefix_removed(tmp_path: Path) -> None:
    assert resolve(tmp_path, {"KOMBO_API_KEY": f" Bearer {KEY}\n"}).api_key.value == KEY


def test_key_with_inner_whitespace_is_refused_without_repeating_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        resolve(tmp_path, {"KOMBO_API_KEY": "ks_dev_abc def"})
    assert "KOMBO_API_KEY" in caught.value.message
    assert "abc" not in caught.value.message


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8787/v1", "http://localhost:1/v1", "http://[::1]:8/v1", "https://x.y/v1"],
)
def test_allowed_base_urls(tmp_path: Path, url: str) -> None:
    assert resolve(tmp_path, {"KOMBO_BASE_URL": url}).base_url.value == url


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://api.kombo.dev/v1", "plain http"),
        ("http://10.0.0.1/v1", "plain http"),
        ("ftp://api.kombo.dev/v1", "not an http(s) URL"),
        ("api.kombo.dev/v1", "not an http(s) URL"),
        ("https://user:pw@api.kombo.dev/v1", "user name or password"),
        ("https://api.kombo.dev/v1?x=1", "query string"),
    ],
)
def test_refused_base_urls(tmp_path: Path, url: str, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        resolve(tmp_path, {"KOMBO_BASE_URL": url})


def test_unknown_region_names_its_source(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"Unknown region 'mars' from KOMBO_REGION in .*\.env"):
        resolve(tmp_path, {}, dotenv="KOMBO_REGION=mars\n")


def test_region_is_case_insensitive(tmp_path: Path) -> None:
    assert resolve(tmp_path, {"KOMBO_REGION": "US"}).region.value == "us"


@pytest.mark.parametrize(
    ("content", "line"),
    [
        (b"KOMBO_API_KEY=x\nnot a setting\n", 2),
        (b"# comment\n\nKOMBO_API_KEY='unterminated\n", 3),
    ],
)
def test_unparseable_dotenv_line_is_an_error_naming_file_and_line(
    tmp_path: Path, content: bytes, line: int
) -> None:
    (tmp_path / ".env").write_bytes(content)
    with pytest.raises(ConfigError) as caught:
        resolve(tmp_path, {})
    assert str(tmp_path / ".env") in caught.value.message
    assert f"line {line}" in caught.value.message


@pytest.mark.parametrize(
    ("content", "line"), [(b"A=1\nB=\x00\n", 2), (b"A=1\nB=2\nC=\xff\xfe\n", 3)]
)
def test_binary_dotenv_is_an_error(tmp_path: Path, content: bytes, line: int) -> None:
    (tmp_path / ".env").write_bytes(content)
    with pytest.raises(ConfigError, match=f"line {line}"):
        resolve(tmp_path, {})


def test_dotenv_that_is_a_directory_is_an_error(tmp_path: Path) -> None:
    (tmp_path / ".env").mkdir()
    with pytest.raises(ConfigError, match="is a directory"):
        resolve(tmp_path, {})


def test_explicit_env_file_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        resolve(tmp_path, {}, env_file=tmp_path / "missing.env")


def test_explicit_env_file_replaces_the_local_one(tmp_path: Path) -> None:
    other = tmp_path / "ci.env"
    other.write_text("KOMBO_INTEGRATION_ID=ci:1\n")
    settings = resolve(tmp_path, {}, dotenv="KOMBO_INTEGRATION_ID=local:1\n", env_file=other)
    assert settings.integration_id.value == "ci:1"
