"""Shared fixtures: an isolated environment, a strict loopback Kombo, and the installed CLI."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from tests.recording_server import KomboServer

API_KEY = "ks_test_Zx9vQ2mN7pL4rT8wK3jH6fD1"
INTEGRATION_ID = "test:integration"
CANDIDATE_ID = "GRKdd9dibYKKCrmGRSMJf3wu"

# The installed console script, next to the interpreter running the tests.
KOMBO_EXECUTABLE = Path(sys.executable).parent / "kombo"


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


def unused_port() -> int:
    """A loopback port nothing listens on (the probe socket is closed again)."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def dead_server_env() -> dict[str, str]:
    """Valid-looking settings whose base URL points at a port nothing listens on."""
    return {
        "KOMBO_API_KEY": API_KEY,
        "KOMBO_INTEGRATION_ID": INTEGRATION_ID,
        "KOMBO_BASE_URL": f"http://127.0.0.1:{unused_port()}/v1",
    }


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """A minimal environment for the subprocess: nothing from the developer's shell."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ["HOME"],
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "PYTHONIOENCODING": "utf-8",
    }
    env.update(extra or {})
    return env


def run_kombo(
    *args: str,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 60,
    stdin: bytes | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run the installed `kombo` executable with piped stdout/stderr."""
    assert KOMBO_EXECUTABLE.exists(), f"install the project first: {KOMBO_EXECUTABLE} is missing"
    completed = subprocess.run(
        [str(KOMBO_EXECUTABLE), *args],
        input=stdin,
        capture_output=True,
        env=clean_env(env),
        cwd=str(cwd or Path.cwd()),
        timeout=timeout,
        check=False,
    )
    return subprocess.CompletedProcess(
        completed.args,
        completed.returncode,
        completed.stdout.decode("utf-8"),
        completed.stderr.decode("utf-8"),
    )


# -- small but real sample files, one per format people attach -----------------------------


def make_pdf() -> bytes:
    return (
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
        b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
    )


def make_png() -> bytes:
    return bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6300010000050001"
        "0d0a2db40000000049454e44ae426082"
    )


def make_jpeg() -> bytes:
    return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"


def make_gif() -> bytes:
    return (
        b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00"
        b"\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
    )


# A fixed timestamp: the same bytes on every call, so tests parametrized with these samples
# get the same IDs in every pytest-xdist worker (which collects them separately).
_ZIP_TIME = (2024, 1, 1, 0, 0, 0)


def _member(name: str, compress: int = zipfile.ZIP_STORED) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
    info.compress_type = compress
    return info


def make_docx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        deflated = zipfile.ZIP_DEFLATED
        archive.writestr(_member("[Content_Types].xml", deflated), "<Types/>")
        archive.writestr(_member("_rels/.rels", deflated), "<Relationships/>")
        archive.writestr(
            _member("word/document.xml", deflated), "<w:document>Frank Doe</w:document>"
        )
    return buffer.getvalue()


def make_odt() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        # OpenDocument requires the uncompressed "mimetype" member first.
        archive.writestr(_member("mimetype"), "application/vnd.oasis.opendocument.text")
        archive.writestr(_member("content.xml"), "<office:document-content/>")
    return buffer.getvalue()


SAMPLES = {
    "pdf": make_pdf,
    "png": make_png,
    "jpeg": make_jpeg,
    "gif": make_gif,
    "docx": make_docx,
    "odt": make_odt,
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
