"""Content-type detection: extension first, then magic bytes; always a type Kombo accepts."""

from __future__ import annotations

from pathlib import Path

import pytest

from kombo_cli.errors import UsageError
from kombo_cli.upload.content_types import (
    KOMBO_CONTENT_TYPE_PATTERN,
    guess_content_type,
    sniff_content_type,
    validate_content_type,
)
from tests.helpers import make_docx, make_gif, make_jpeg, make_odt, make_pdf, make_png


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("cv.pdf", "application/pdf"),
        ("CV.PDF", "application/pdf"),
        ("cv.doc", "application/msword"),
        ("cv.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        ("cv.odt", "application/vnd.oasis.opendocument.text"),
        ("cv.rtf", "application/rtf"),
        ("cv.txt", "text/plain"),
        ("cv.md", "text/markdown"),
        ("cv.html", "text/html"),
        ("me.png", "image/png"),
        ("me.jpg", "image/jpeg"),
        ("me.jpeg", "image/jpeg"),
        ("me.gif", "image/gif"),
        ("me.webp", "image/webp"),
        ("me.heic", "image/heic"),
        ("sheet.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ],
)
def test_extension_table(name: str, expected: str) -> None:
    guess = guess_content_type(name, b"")
    assert (guess.content_type, guess.method) == (expected, "extension")


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (make_pdf(), "application/pdf"),
        (make_png(), "image/png"),
        (make_jpeg(), "image/jpeg"),
        (make_gif(), "image/gif"),
        (b"{\\rtf1 hello}", "application/rtf"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00", "image/heic"),
        (make_odt(), "application/vnd.oasis.opendocument.text"),
        (b"  <!DOCTYPE html><html></html>", "text/html"),
        ("Lebenslauf: Jürgen Müller\n".encode(), "text/plain"),
    ],
)
def test_magic_bytes(head: bytes, expected: str) -> None:
    assert sniff_content_type(head) == expected


def test_zip_based_office_files_are_told_apart_by_their_members(tmp_path: Path) -> None:
    path = tmp_path / "upload"
    path.write_bytes(make_docx())
    guess = guess_content_type("upload", path.read_bytes()[:8192], path)
    assert guess.content_type == (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    )
    assert guess.method == "content"


def test_a_plain_zip_stays_a_zip(tmp_path: Path) -> None:
    import zipfile

    path = tmp_path / "bundle"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("a.txt", "a")
    assert guess_content_type("bundle", path.read_bytes(), path).content_type == "application/zip"


def test_text_cut_in_the_middle_of_a_character_is_still_text() -> None:
    head = ("é" * 10).encode()[:-1]
    assert sniff_content_type(head) == "text/plain"


@pytest.mark.parametrize("head", [bytes(range(256)), b"\x00\x01\x02binary", b""])
def test_unknown_content_without_extension_asks_for_content_type(head: bytes) -> None:
    with pytest.raises(UsageError) as caught:
        guess_content_type("blob", head)
    assert caught.value.hint is not None
    assert "--content-type" in caught.value.hint


def test_unknown_extension_falls_back_to_content() -> None:
    guess = guess_content_type("scan.xyz123", make_pdf())
    assert (guess.content_type, guess.method) == ("application/pdf", "content")


def test_an_extension_whose_type_kombo_refuses_stops_with_a_hint() -> None:
    # .svg is image/svg+xml, which does not match Kombo's pattern; calling it text/plain
    # would mislabel the file in the ATS.
    with pytest.raises(UsageError, match=r"image/svg\+xml") as caught:
        guess_content_type("logo.svg", b"<svg></svg>")
    # Only the ways through: --content-type image/svg+xml would be refused as well.
    assert caught.value.hint is not None
    assert "convert the file" in caught.value.hint
    assert "--url URL and no --content-type" in caught.value.hint


@pytest.mark.parametrize("name", ["app.js", "run.sh", "data.json", "feed.xml", "notes.csv"])
def test_text_files_with_application_types_draw_no_warning(name: str) -> None:
    assert guess_content_type(name, b"plain text\n").warning is None


def test_mismatch_between_extension_and_content_is_warned() -> None:
    guess = guess_content_type("cv.pdf", make_png())
    assert guess.content_type == "application/pdf"
    assert guess.warning is not None
    assert "image/png" in guess.warning


@pytest.mark.parametrize(
    ("name", "head"),
    [("cv.txt", b"hello"), ("cv.docx", make_docx()), ("cv.md", b"# hi"), ("x.heic", b"")],
)
def test_no_warning_when_content_agrees(name: str, head: bytes) -> None:
    assert guess_content_type(name, head).warning is None


def test_every_table_entry_matches_kombos_pattern() -> None:
    from kombo_cli.upload.content_types import _TYPES_BY_EXTENSION

    for content_type in _TYPES_BY_EXTENSION.values():
        assert KOMBO_CONTENT_TYPE_PATTERN.fullmatch(content_type), content_type


@pytest.mark.parametrize("value", ["application/pdf", " text/plain ", "application/x-pdf"])
def test_valid_content_type_options(value: str) -> None:
    assert validate_content_type(value) == value.strip()


@pytest.mark.parametrize(
    "value",
    ["application/octet-stream", "image/svg+xml", "text/plain; charset=utf-8", "pdf", "a/b/c", ""],
)
def test_invalid_content_type_options(value: str) -> None:
    with pytest.raises(UsageError):
        validate_content_type(value)
