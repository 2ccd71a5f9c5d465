"""What the tests share: the credentials they use, ways to run kombo, and small real samples.

Two ways to run kombo:
- `run_kombo` runs the program in this process, through `app.run` with an Environment of
  its own (its own streams, variables and working folder): quick, and what most tests need.
- `run_kombo_process` runs the installed `kombo` executable as a subprocess, for what only
  a real process shows: exit codes as a shell sees them, pipes, terminals, signals,
  encodings. `interrupt_kombo` presses Ctrl-C in one.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

API_KEY = "ks_test_Zx9vQ2mN7pL4rT8wK3jH6fD1"
INTEGRATION_ID = "test:integration"
CANDIDATE_ID = "GRKdd9dibYKKCrmGRSMJf3wu"

# The installed console script, next to the interpreter running the tests.
KOMBO_EXECUTABLE = Path(sys.executable).parent / "kombo"


@dataclass(frozen=True)
class Ran:
    """What a run of kombo left: its exit code and what it wrote."""

    returncode: int
    stdout: str
    stderr: str


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


def run_kombo_process(
    *args: str,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 60,
    stdin: bytes | None = None,
) -> Ran:
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
    return Ran(completed.returncode, completed.stdout.decode("utf-8"), completed.stderr.decode())


def run_kombo(
    *args: str,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    stdin: bytes | None = None,
    stdin_stream: io.TextIOWrapper | None = None,
) -> Ran:
    """Run kombo in this process, as `kombo ARGS` would run in a shell with only `env`
    (plus PATH, HOME and a UTF-8 locale) and `stdin` piped in."""
    from kombo_cli.app import run
    from kombo_cli.env import Environment

    environ = clean_env(env)
    folder = cwd or Path.cwd()
    stdout, stderr = io.StringIO(), io.StringIO()
    stream = stdin_stream or io.TextIOWrapper(io.BytesIO(stdin or b""), encoding="utf-8")
    # Libraries read the process's own variables (requests: proxies), and relative paths are
    # opened from the process's folder: both are set as a shell would have them.
    with mock.patch.dict(os.environ, environ, clear=True), _working_folder(folder):
        code = run(list(args), Environment(stream, stdout, stderr, environ, folder))
    return Ran(code, stdout.getvalue(), stderr.getvalue())


@contextlib.contextmanager
def _working_folder(folder: Path) -> Iterator[None]:
    previous = os.getcwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(previous)


def start_kombo(
    *args: str, env: Mapping[str, str], stdin: bytes | None = None
) -> subprocess.Popen[bytes]:
    """Start the installed kombo with piped output and `stdin` waiting in a real pipe
    (closed after it); without `stdin`, standard input is inherited."""
    read_end = None
    if stdin is not None:
        assert len(stdin) < 60_000, "larger inputs would block on the pipe buffer"
        read_end, write_end = os.pipe()
        try:
            os.write(write_end, stdin)
        finally:
            os.close(write_end)
    try:
        return subprocess.Popen(
            [str(KOMBO_EXECUTABLE), *args],
            stdin=read_end,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=clean_env(env),
        )
    finally:
        if read_end is not None:
            os.close(read_end)


def interrupt_kombo(
    *args: str,
    env: Mapping[str, str],
    when: Callable[[], object],
    settle_s: float = 0.2,
    stdin: bytes | None = None,
) -> Ran:
    """Start the installed kombo, wait until `when()` returns (a server saw the upload, say)
    and a moment more, then press Ctrl-C (SIGINT) and collect what it printed."""
    process = start_kombo(*args, env=env, stdin=stdin)
    try:
        when()
        time.sleep(settle_s)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=20)
    finally:
        process.kill()
    return Ran(process.returncode, stdout.decode("utf-8"), stderr.decode("utf-8"))


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


def read_banner(process: subprocess.Popen[bytes]) -> str:
    """What `kombo sandbox` prints up to "Press Ctrl-C to stop." (or until it exits)."""
    assert process.stdout is not None
    lines = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        line = process.stdout.readline().decode()
        if not line:
            break
        lines.append(line)
        if line.startswith("Press Ctrl-C to stop."):
            break
    return "".join(lines)
