"""Shared fixtures: an isolated environment, a strict loopback Kombo, and the installed CLI."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import API_KEY, INTEGRATION_ID, SAMPLES
from tests.recording_server import KomboServer


@pytest.fixture(autouse=True)
def isolated_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """No KOMBO_* variable, colour setting or stray .env from the developer's shell leaks in."""
    for name in list(os.environ):
        if name.startswith("KOMBO_") or name in ("NO_COLOR", "FORCE_COLOR", "NETRC"):
            monkeypatch.delenv(name, raising=False)
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    workdir = tmp_path_factory.mktemp("cwd")
    monkeypatch.chdir(workdir)
    return workdir


@pytest.fixture
def kombo_server() -> Iterator[KomboServer]:
    with KomboServer(api_key=API_KEY, integration_id=INTEGRATION_ID) as server:
        yield server


@pytest.fixture
def server_env(kombo_server: KomboServer) -> dict[str, str]:
    """The variables that point the CLI at the loopback server."""
    return {
        "KOMBO_API_KEY": API_KEY,
        "KOMBO_INTEGRATION_ID": INTEGRATION_ID,
        "KOMBO_BASE_URL": kombo_server.base_url,
    }


@pytest.fixture
def sample_file(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Write a sample: sample_file("cv.pdf", "pdf") or sample_file("notes.txt", b"...")."""

    def write(name: str, content: object = "pdf") -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        data = SAMPLES[content]() if isinstance(content, str) else content
        assert isinstance(data, bytes)
        path.write_bytes(data)
        return path

    return write
