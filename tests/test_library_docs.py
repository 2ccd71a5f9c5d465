"""docs/library.md's examples, run in order against the loopback Kombo, as a script would."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest

from kombo_cli.sandbox.sample_candidates import FRANK_DOE_ID
from tests.helpers import API_KEY, INTEGRATION_ID, make_pdf
from tests.recording_server import KomboServer

DOC = Path(__file__).resolve().parent.parent / "docs" / "library.md"


def examples() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)


def test_the_document_has_examples_for_each_section() -> None:
    assert len(examples()) >= 6


def test_the_examples_run_and_attach_what_they_say(
    kombo_server: KomboServer,
    monkeypatch: pytest.MonkeyPatch,
    isolated_environment: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("KOMBO_API_KEY", API_KEY)
    monkeypatch.setenv("KOMBO_INTEGRATION_ID", INTEGRATION_ID)
    monkeypatch.setenv("KOMBO_BASE_URL", kombo_server.base_url)
    files = {
        "cv.pdf": make_pdf(),
        "cover-letter.pdf": make_pdf() + b"%letter",
        "portfolio.pdf": make_pdf() + b"%portfolio",
        "notes": b"plain notes\n",
    }
    for name, data in files.items():
        (isolated_environment / name).write_bytes(data)

    namespace: dict[str, object] = {}
    for number, code in enumerate(examples(), start=1):
        exec(compile(code, f"docs/library.md example {number}", "exec"), namespace)

    uploads = [r for r in kombo_server.requests if r.method == "POST"]
    sent = {r.json()["attachment"]["name"]: r.json()["attachment"] for r in uploads}
    assert sorted(sent) == ["cover-letter.pdf", "cv.pdf", "notes", "portfolio.pdf"]
    for name, data in files.items():
        assert base64.b64decode(sent[name]["data"]) == data
    assert sent["cv.pdf"]["type"] == "CV"
    assert sent["cover-letter.pdf"]["type"] == "COVER_LETTER"
    assert sent["portfolio.pdf"]["type"] == "OTHER"
    assert sent["notes"]["content_type"] == "text/plain"
    assert all(r.path == f"/v1/ats/candidates/{FRANK_DOE_ID}/attachments" for r in uploads)

    out = capsys.readouterr().out
    assert API_KEY not in out
    assert "File not found: missing.pdf." in out
    assert "success cover-letter.pdf None" in out
    assert FRANK_DOE_ID in out
    assert "warning: the name 'notes' has no extension" in out
