"""Reading `--manifest` files: CSV and JSON Lines rows, row problems, header errors, streaming."""

from __future__ import annotations

import json
import os
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from kombo_cli.errors import ExitCode, UsageError
from kombo_cli.upload import manifest_file
from kombo_cli.upload.manifest import open_manifest
from kombo_cli.upload.manifest_check import MAX_KEPT_PROBLEMS, ManifestCheck, validate_manifest
from kombo_cli.upload.manifest_file import MAX_ROW_CHARS
from kombo_cli.upload.manifest_rows import COLUMNS
from kombo_cli.upload.request import AttachRequest, Entry, RowProblem

CANDIDATE = "GRKdd9dibYKKCrmGRSMJf3wu"
APPLICATION = "B8xnDm6zpCHQ2b8ykN9hGF9v"
TARGET_MESSAGE = "give exactly one of candidate_id, application_id, email."
SOURCE_MESSAGE = "give exactly one of file, url."


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return path


def read_all(path: Path) -> list[Entry]:
    with open_manifest(path) as manifest:
        return list(manifest)


def only_row(path: Path) -> AttachRequest:
    entries = read_all(path)
    assert len(entries) == 1, entries
    assert isinstance(entries[0], AttachRequest), entries[0]
    return entries[0]


def problems_of(entries: list[Entry]) -> list[tuple[int, str]]:
    return [(entry.line, entry.message) for entry in entries if isinstance(entry, RowProblem)]


def usage_error(excinfo: pytest.ExceptionInfo[UsageError], path: Path | str) -> UsageError:
    """The error, after checking what every manifest UsageError promises."""
    error = excinfo.value
    assert error.exit_code == ExitCode.USAGE
    assert error.message == str(error)
    assert "\n" not in error.message and error.message.endswith(".")
    assert repr(str(path)) in error.message
    assert error.hint and "\n" not in error.hint
    return error


def csv_manifest(tmp_path: Path, header: str, *rows: str, name: str = "m.csv") -> Path:
    return write(tmp_path / name, "\n".join((header, *rows)) + "\n")


def jsonl_manifest(tmp_path: Path, *objects: Any, name: str = "m.jsonl") -> Path:
    lines = [item if isinstance(item, str) else json.dumps(item) for item in objects]
    return write(tmp_path / name, "\n".join(lines) + "\n")


# --- Happy paths ----------------------------------------------------------------------------


def test_csv_rows_with_every_column(tmp_path: Path) -> None:
    header = ",".join(COLUMNS)
    path = csv_manifest(
        tmp_path,
        header,
        f"{CANDIDATE},,,cv.pdf,,cv,Jane Doe CV.pdf,application/pdf,"
        '"{""greenhouse"": {""post_headers"": {""On-Behalf-Of"": ""123""}}}"',
        f",{APPLICATION},,,https://files.example.com/letter.docx,COVER_LETTER,,,",
        ",,jane@example.com,/abs/other.txt,,other,,text/plain,{}",
    )
    first, second, third = read_all(path)
    assert first == AttachRequest(
        line=2,
        target_kind="candidate",
        target_value=CANDIDATE,
        file=str(tmp_path / "cv.pdf"),
        url=None,
        type="CV",
        name="Jane Doe CV.pdf",
        content_type="application/pdf",
        remote_fields={"greenhouse": {"post_headers": {"On-Behalf-Of": "123"}}},
    )
    assert second == AttachRequest(
        line=3,
        target_kind="application",
        target_value=APPLICATION,
        file=None,
        url="https://files.example.com/letter.docx",
        type="COVER_LETTER",
        name=None,
        content_type=None,
        remote_fields=None,
    )
    assert third == AttachRequest(
        line=4,
        target_kind="email",
        target_value="jane@example.com",
        file="/abs/other.txt",
        url=None,
        type="OTHER",
        name=None,
        content_type="text/plain",
        remote_fields={},
    )
    with open_manifest(path) as manifest:
        assert manifest.format == "csv"
        assert manifest.path == path
        assert validate_manifest(path).rows == 3


def test_csv_header_may_list_columns_in_any_order_and_only_some(tmp_path: Path) -> None:
    path = csv_manifest(tmp_path, "url,email", "http://example.com/a.pdf,a@example.com")
    row = only_row(path)
    assert (row.target_kind, row.target_value, row.url) == (
        "email",
        "a@example.com",
        "http://example.com/a.pdf",
    )
    assert row.file is None and row.type is None and row.remote_fields is None


def test_jsonl_rows_with_every_key(tmp_path: Path) -> None:
    path = jsonl_manifest(
        tmp_path,
        {
            "candidate_id": CANDIDATE,
            "file": "cv.pdf",
            "type": "cv",
            "name": "Jane Doe CV.pdf",
            "content_type": "application/pdf",
            "remote_fields": {"workable": {"on_behalf_of_user_remote_id": "u-42"}},
        },
        {"application_id": APPLICATION, "url": "https://example.com/x.pdf", "type": "Cover-Letter"},
        {
            "email": "jane@example.com",
            "file": "/abs/other.txt",
            "candidate_id": None,
            "url": None,
            "type": None,
            "name": None,
            "content_type": None,
            "remote_fields": None,
        },
    )
    first, second, third = read_all(path)
    assert first == AttachRequest(
        line=1,
        target_kind="candidate",
        target_value=CANDIDATE,
        file=str(tmp_path / "cv.pdf"),
        url=None,
        type="CV",
        name="Jane Doe CV.pdf",
        content_type="application/pdf",
        remote_fields={"workable": {"on_behalf_of_user_remote_id": "u-42"}},
    )
    assert second == AttachRequest(
        line=2,
        target_kind="application",
        target_value=APPLICATION,
        file=None,
        url="https://example.com/x.pdf",
        type="COVER_LETTER",
        name=None,
        content_type=None,
        remote_fields=None,
    )
    assert third == AttachRequest(
        line=3,
        target_kind="email",
        target_value="jane@example.com",
        file="/abs/other.txt",
        url=None,
        type=None,
        name=None,
        content_type=None,
        remote_fields=None,
    )
    with open_manifest(path) as manifest:
        assert manifest.format == "jsonl"
        assert validate_manifest(path).rows == 3


@pytest.mark.parametrize("suffix", [".jsonl", ".ndjson", ".JSONL"])
def test_jsonl_extensions(tmp_path: Path, suffix: str) -> None:
    path = jsonl_manifest(tmp_path, {"candidate_id": "a", "file": "f"}, name=f"m{suffix}")
    with open_manifest(path) as manifest:
        assert manifest.format == "jsonl"
        assert len(list(manifest)) == 1


def test_header_only_csv_and_empty_jsonl_have_no_rows(tmp_path: Path) -> None:
    assert read_all(csv_manifest(tmp_path, "candidate_id,file")) == []
    assert read_all(write(tmp_path / "m.jsonl", "")) == []
    assert read_all(write(tmp_path / "blank.jsonl", "\n  \n\t\n")) == []


def test_crlf_line_endings(tmp_path: Path) -> None:
    path = write(
        tmp_path / "m.csv",
        f'candidate_id,file,name\r\n{CANDIDATE},a.pdf,\r\nx/y,b.pdf,"two\r\nlines"\r\n'
        f"{CANDIDATE},c.pdf,C\r\n",
    )
    entries = read_all(path)
    assert [entry.line for entry in entries] == [2, 3, 5]
    assert isinstance(entries[2], AttachRequest) and entries[2].name == "C"
    jsonl = write(tmp_path / "m.jsonl", '{"email":"a@b.c","file":"x"}\r\n\r\n{"email":"d"}\r\n')
    assert [entry.line for entry in read_all(jsonl)] == [1, 3]


# --- BOM and sniffing -----------------------------------------------------------------------


def test_utf8_bom_is_ignored(tmp_path: Path) -> None:
    row = only_row(write(tmp_path / "m.csv", f"\ufeffcandidate_id,file\n{CANDIDATE},cv.pdf\n"))
    assert row.target_value == CANDIDATE
    row = only_row(write(tmp_path / "m.jsonl", '\ufeff{"email":"a@b.c","url":"http://h/x"}\n'))
    assert row.target_value == "a@b.c"
    with open_manifest(write(tmp_path / "sniffed", '\ufeff \n{"email":"a@b.c","file":"x"}')) as m:
        assert m.format == "jsonl"
        assert [entry.line for entry in m] == [2]


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("manifest", '{"email": "a@b.c", "file": "x"}\n', "jsonl"),
        ("manifest.txt", '\n\n  \t{"email": "a@b.c", "file": "x"}\n', "jsonl"),
        ("manifest.json", '{"email": "a@b.c", "file": "x"}\n', "jsonl"),
        ("manifest", "email,file\na@b.c,x\n", "csv"),
        ("manifest.txt", "\n\n email , file\na@b.c,x\n", "csv"),
        ("manifest.CSV", "email,file\na@b.c,x\n", "csv"),
    ],
)
def test_format_by_extension_or_first_character(
    tmp_path: Path, name: str, content: str, expected: str
) -> None:
    with open_manifest(write(tmp_path / name, content)) as manifest:
        assert manifest.format == expected
        entries = list(manifest)
    assert len(entries) == 1 and isinstance(entries[0], AttachRequest), entries
    assert entries[0].target_value == "a@b.c"


def test_sniffing_reads_past_long_leading_whitespace(tmp_path: Path) -> None:
    path = write(tmp_path / "m", " " * 20000 + "\n" * 3 + '{"email": "a@b.c", "file": "x"}\n')
    with open_manifest(path) as manifest:
        assert manifest.format == "jsonl"
        assert [entry.line for entry in manifest] == [4]


def test_extension_wins_over_content(tmp_path: Path) -> None:
    path = write(tmp_path / "m.csv", '{"email": "a@b.c", "file": "x"}\n')
    with pytest.raises(UsageError) as excinfo:
        open_manifest(path)
    assert "unknown column" in usage_error(excinfo, path).message


def test_a_json_array_without_extension_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path / "m.json", '[{"email": "a@b.c", "file": "x"}]\n')
    with pytest.raises(UsageError) as excinfo:
        open_manifest(path)
    error = usage_error(excinfo, path)
    assert "JSON array" in error.message
    assert "one JSON object per line" in (error.hint or "")


# --- Values: paths, empty cells, whitespace -------------------------------------------------


def test_relative_files_resolve_against_the_manifest_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "batch"
    path = csv_manifest(
        folder,
        "candidate_id,file",
        f"{CANDIDATE},cv.pdf",
        f"{CANDIDATE},docs/letter.pdf",
        f"{CANDIDATE},./dot.pdf",
        f"{CANDIDATE},../up.pdf",
        f"{CANDIDATE},/abs/file.pdf",
        f"{CANDIDATE},~/home.pdf",
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    rows = read_all(path)
    assert [row.file for row in rows if isinstance(row, AttachRequest)] == [
        str(folder / "cv.pdf"),
        str(folder / "docs" / "letter.pdf"),
        str(folder / "dot.pdf"),
        str(folder) + "/../up.pdf",
        "/abs/file.pdf",
        str(folder / "~" / "home.pdf"),
    ]


def test_a_relative_manifest_path_still_gives_absolute_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    csv_manifest(tmp_path / "batch", "candidate_id,file", f"{CANDIDATE},cv.pdf")
    monkeypatch.chdir(tmp_path)
    row = only_row(Path("batch/m.csv"))
    assert row.file == str(tmp_path / "batch" / "cv.pdf")
    jsonl_manifest(tmp_path, {"candidate_id": CANDIDATE, "file": "cv.pdf"})
    assert only_row(Path("m.jsonl")).file == str(tmp_path / "cv.pdf")


def test_empty_cells_and_missing_trailing_cells_are_absent(tmp_path: Path) -> None:
    path = csv_manifest(
        tmp_path,
        "candidate_id,application_id,email,file,url,type,name,content_type,remote_fields",
        f"{CANDIDATE},,,cv.pdf,,,,,",
        f",{APPLICATION},  ,,https://example.com/a.pdf, , ,\t,  ",
        f"{CANDIDATE},,,cv.pdf",
    )
    rows = read_all(path)
    assert len(rows) == 3 and all(isinstance(row, AttachRequest) for row in rows), rows
    for row in rows:
        assert isinstance(row, AttachRequest)
        assert row.type is None and row.name is None
        assert row.content_type is None and row.remote_fields is None
    assert isinstance(rows[1], AttachRequest) and rows[1].target_kind == "application"


def test_empty_json_strings_are_absent(tmp_path: Path) -> None:
    path = jsonl_manifest(
        tmp_path,
        {"candidate_id": "", "email": "a@b.c", "file": " ", "url": "http://h/x", "type": ""},
    )
    row = only_row(path)
    assert (row.target_kind, row.file, row.url, row.type) == ("email", None, "http://h/x", None)


def test_rows_with_only_empty_cells_and_blank_lines_are_skipped(tmp_path: Path) -> None:
    path = write(
        tmp_path / "m.csv",
        f"\n\ncandidate_id,file\n\n,\n  ,  \n{CANDIDATE},cv.pdf\n\n,,,\n",
    )
    entries = read_all(path)
    assert [entry.line for entry in entries] == [7]
    assert isinstance(entries[0], AttachRequest)


def test_whitespace_around_values_is_stripped_but_not_inside(tmp_path: Path) -> None:
    path = csv_manifest(
        tmp_path,
        " candidate_id , file ,\ttype , name , content_type , remote_fields ",
        f"  {CANDIDATE}  ,  my cv.pdf  , cover_letter ,  Jane   Doe  CV.pdf  , application/pdf ,"
        '  {"a": " b "}  ',
    )
    row = only_row(path)
    assert row.target_value == CANDIDATE
    assert row.file == str(tmp_path / "my cv.pdf")
    assert row.type == "COVER_LETTER"
    assert row.name == "Jane   Doe  CV.pdf"
    assert row.content_type == "application/pdf"
    assert row.remote_fields == {"a": " b "}
    json_row = only_row(
        jsonl_manifest(
            tmp_path,
            {"email": " a@b.c\t", "url": " http://h/x ", "name": "  A  B  ", "type": " Other "},
        )
    )
    assert (json_row.target_value, json_row.url, json_row.name, json_row.type) == (
        "a@b.c",
        "http://h/x",
        "A  B",
        "OTHER",
    )


def test_non_ascii_values(tmp_path: Path) -> None:
    row = only_row(
        csv_manifest(tmp_path, "email,file,name", "jürgen@exämple.de,Lebenslauf Jürgen.pdf,Ç V.pdf")
    )
    assert row.target_value == "jürgen@exämple.de"
    assert row.file == str(tmp_path / "Lebenslauf Jürgen.pdf")
    assert row.name == "Ç V.pdf"


# --- Row problems ---------------------------------------------------------------------------

CSV_HEADER = "candidate_id,application_id,email,file,url,type,name,content_type,remote_fields"


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (",,,cv.pdf,,,,,", TARGET_MESSAGE),
        (
            f"{CANDIDATE},,a@b.c,cv.pdf,,,,,",
            "give exactly one of candidate_id, application_id, email "
            "(the row has candidate_id and email).",
        ),
        (
            f"{CANDIDATE},{APPLICATION},a@b.c,cv.pdf",
            "give exactly one of candidate_id, application_id, email "
            "(the row has candidate_id and application_id and email).",
        ),
        (f"{CANDIDATE},,,,,CV", SOURCE_MESSAGE),
        (
            f"{CANDIDATE},,,cv.pdf,https://example.com/cv.pdf",
            "give exactly one of file, url (the row has file and url).",
        ),
        (f"{CANDIDATE},,,cv.pdf,,resume", "type 'resume' is not one of CV, COVER_LETTER, OTHER."),
        (
            f"{CANDIDATE},,,cv.pdf,,,,pdf",
            "the content type 'pdf' is not a plain MIME type Kombo accepts.",
        ),
        (
            f"{CANDIDATE},,,cv.pdf,,,,application/octet-stream",
            "the content type application/octet-stream is too generic; "
            "Kombo asks for the real type.",
        ),
        (f"{CANDIDATE},,,cv.pdf,,,,image/svg+xml", None),
        (",,jane.example.com,cv.pdf", "email 'jane.example.com' is not an email address."),
        (",,a@b@c,cv.pdf", "email 'a@b@c' is not an email address."),
        (",,@example.com,cv.pdf", "email '@example.com' is not an email address."),
        (",,jane@,cv.pdf", "email 'jane@' is not an email address."),
        (",,jane doe@example.com,cv.pdf", "email 'jane doe@example.com' is not an email address."),
        (
            f"{CANDIDATE},,,,ftp://example.com/cv.pdf",
            "url 'ftp://example.com/cv.pdf' is not an http or https URL with a host.",
        ),
        (f"{CANDIDATE},,,,https://", "url 'https://' is not an http or https URL with a host."),
        (
            f"{CANDIDATE},,,,example.com/cv.pdf",
            "url 'example.com/cv.pdf' is not an http or https URL with a host.",
        ),
        (
            f"{CANDIDATE},,,,https:///cv.pdf",
            "url 'https:///cv.pdf' is not an http or https URL with a host.",
        ),
        (
            f"{CANDIDATE},,,,http://exa mple.com/cv.pdf",
            "url 'http://exa mple.com/cv.pdf' is not an http or https URL with a host.",
        ),
        (
            f"{CANDIDATE},,,,http://example.com:99999/cv.pdf",
            "url 'http://example.com:99999/cv.pdf' is not an http or https URL with a host.",
        ),
        (
            f"{CANDIDATE},,,,http://[::1/cv.pdf",
            "url 'http://[::1/cv.pdf' is not an http or https URL with a host.",
        ),
        (
            f"{CANDIDATE},,,,https://frank:secret@files.example/cv.pdf",
            "url 'https://files.example/cv.pdf' has a user name or password in it.",
        ),
        (
            f"{CANDIDATE},,,,https://☃.example/cv.pdf?sig=x",
            "url 'https://☃.example/cv.pdf?…' has a host name that IDNA cannot encode"
            " (Codepoint U+2603 at position 1 of '☃' not allowed).",
        ),
        ("GRK/../x,,,cv.pdf", "'GRK/../x' is not a valid candidate ID."),
        (",abc?x=1,,cv.pdf", "'abc?x=1' is not a valid application ID."),
        ("..,,,cv.pdf", "'..' is not a valid candidate ID."),
        (
            f'{CANDIDATE},,,cv.pdf,,,,,"[1, 2]"',
            "remote_fields must be a JSON object, not an array.",
        ),
        (f"{CANDIDATE},,,cv.pdf,,,,,not json", None),
        (
            f'{CANDIDATE},,,cv.pdf,,,,,"{{""a"": NaN}}"',
            "remote_fields is not valid JSON: NaN is not standard JSON.",
        ),
        (
            f'{CANDIDATE},,,cv.pdf,,,,,"{{""a"": 1, ""a"": 2}}"',
            "remote_fields is not valid JSON: the key 'a' appears twice in one object.",
        ),
        (
            f"{CANDIDATE},,,cv.pdf,,,,,,extra",
            "the row has 10 cells but the header has 9 columns.",
        ),
        (f"{CANDIDATE},,,cv.pdf,,,,,,", "the row has 10 cells but the header has 9 columns."),
        (f'{CANDIDATE},,,cv.pdf,,,"tab\there"', "name contains control characters."),
        (f'{CANDIDATE},,,cv.pdf,,,"a"b', None),
    ],
)
def test_csv_row_problems(tmp_path: Path, row: str, message: str | None) -> None:
    good = f"{CANDIDATE},,,ok.pdf"
    path = csv_manifest(tmp_path, CSV_HEADER, good, row, good)
    entries = read_all(path)
    assert [entry.line for entry in entries] == [2, 3, 4]
    assert isinstance(entries[0], AttachRequest) and isinstance(entries[2], AttachRequest)
    problem = entries[1]
    assert isinstance(problem, RowProblem), problem
    assert problem.message.endswith(".") and "\n" not in problem.message
    assert problem.message[0].islower() or problem.message[0] == "'"
    assert str(problem) == f"line 3: {problem.message}"
    if message is not None:
        assert problem.message == message


def test_row_problem_messages_for_invalid_json_and_csv(tmp_path: Path) -> None:
    path = csv_manifest(
        tmp_path,
        CSV_HEADER,
        f"{CANDIDATE},,,cv.pdf,,,,,not json",
        f'{CANDIDATE},,,cv.pdf,,,"a"b',
        f"{CANDIDATE},,,cv.pdf,,,,image/svg+xml",
    )
    first, second, third = problems_of(read_all(path))
    assert first[1].startswith("remote_fields is not valid JSON: a value is missing")
    assert second[1].startswith("the row is not valid CSV: ")
    assert third[1].startswith("the content type 'image/svg+xml' is not")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ({"file": "cv.pdf"}, TARGET_MESSAGE),
        (
            {"candidate_id": CANDIDATE, "application_id": APPLICATION, "file": "cv.pdf"},
            "give exactly one of candidate_id, application_id, email "
            "(the row has candidate_id and application_id).",
        ),
        ({"candidate_id": CANDIDATE}, SOURCE_MESSAGE),
        (
            {"candidate_id": CANDIDATE, "file": "a", "url": "http://h/x"},
            "give exactly one of file, url (the row has file and url).",
        ),
        (
            {"candidate_id": CANDIDATE, "file": "a", "type": "RESUME"},
            "type 'RESUME' is not one of CV, COVER_LETTER, OTHER.",
        ),
        (
            {"candidate_id": CANDIDATE, "file": "a", "content_type": "application/x y"},
            "the content type 'application/x y' is not a plain MIME type Kombo accepts.",
        ),
        ({"email": "nobody", "file": "a"}, "email 'nobody' is not an email address."),
        ({"email": "a\x00@b.c", "file": "a"}, "email 'a\\x00@b.c' is not an email address."),
        (
            {"email": "a@b.c", "url": "javascript:alert(1)"},
            "url 'javascript:alert(1)' is not an http or https URL with a host.",
        ),
        (
            {"application_id": "a/b", "file": "a"},
            "'a/b' is not a valid application ID.",
        ),
        ({"candidate_id": "a\\b", "file": "a"}, "'a\\\\b' is not a valid candidate ID."),
        (
            {"candidate_id": CANDIDATE, "file": "a", "remote_fields": "{}"},
            "remote_fields must be an object, not a string.",
        ),
        (
            {"candidate_id": CANDIDATE, "file": "a", "remote_fields": []},
            "remote_fields must be an object, not an array.",
        ),
        ({"candidate_id": 12345, "file": "a"}, "candidate_id must be a string, not a number."),
        ({"candidate_id": CANDIDATE, "file": True}, "file must be a string, not a boolean."),
        (
            {"candidate_id": CANDIDATE, "file": "a", "name": {"x": 1}},
            "name must be a string, not an object.",
        ),
        (
            {"candidate_id": CANDIDATE, "file": "a", "type": ["CV"]},
            "type must be a string, not an array.",
        ),
        (
            {"candidate_id": CANDIDATE, "file": "a", "filename": "x"},
            "unknown key 'filename'; the accepted columns are candidate_id, application_id, "
            "email, file, url, type, name, content_type, remote_fields, integration_id.",
        ),
        ({"candidate_id": CANDIDATE, "file": "a\x00b"}, "file contains a NUL character."),
        (
            {"candidate_id": CANDIDATE, "file": "a", "name": "x\u0007y"},
            "name contains control characters.",
        ),
        (
            '{"candidate_id": "x", "file": }',
            "the line is not valid JSON: a value is missing at column 31.",
        ),
        ('{"candidate_id": "x"', None),
        (
            '{"a": 1, "a": 2}',
            "the line is not valid JSON: the key 'a' appears twice in one object.",
        ),
        ('{"candidate_id": "x", "file": "a", "remote_fields": {"n": Infinity}}', None),
        ('{"candidate_id": "x", "file": "\\ud800"}', None),
        ("[1, 2]", "the line must be a JSON object, not an array."),
        ('"text"', "the line must be a JSON object, not a string."),
        ("42", "the line must be a JSON object, not a number."),
        ("null", "the line must be a JSON object, not null."),
        ("candidate_id,file", None),
    ],
)
def test_jsonl_row_problems(tmp_path: Path, line: Any, message: str | None) -> None:
    good = {"candidate_id": CANDIDATE, "file": "ok.pdf"}
    path = jsonl_manifest(tmp_path, good, "", line, "   ", good)
    entries = read_all(path)
    assert [entry.line for entry in entries] == [1, 3, 5]
    assert isinstance(entries[0], AttachRequest) and isinstance(entries[2], AttachRequest)
    problem = entries[1]
    assert isinstance(problem, RowProblem), problem
    assert problem.message.endswith(".") and "\n" not in problem.message
    assert str(problem) == f"line 3: {problem.message}"
    if message is not None:
        assert problem.message == message
    else:
        assert problem.message.startswith("the line is not valid JSON: ")


def test_valid_ids_emails_and_urls(tmp_path: Path) -> None:
    path = jsonl_manifest(
        tmp_path,
        {"candidate_id": "sandbox-candidate_1", "file": "a"},
        {"application_id": "7sXoSVCSQ3vY8WV8zbqUDzYz", "file": "a"},
        {"email": "first.last+tag@sub.example.co.uk", "file": "a"},
        {"email": "a@b", "url": "HTTPS://Example.com:8443/path/cv.pdf?sig=a%20b#frag"},
        {"email": "a@b", "url": "http://[::1]:8080/x"},
        {"email": "a@b", "url": "https://bücher.example/lebenslauf ä.pdf?x=ü"},
    )
    entries = read_all(path)
    assert all(isinstance(entry, AttachRequest) for entry in entries), problems_of(entries)
    assert [entry.target_kind for entry in entries if isinstance(entry, AttachRequest)] == [
        "candidate",
        "application",
        "email",
        "email",
        "email",
        "email",
    ]


def test_line_numbers_after_quoted_multi_line_cells(tmp_path: Path) -> None:
    path = write(
        tmp_path / "m.csv",
        "candidate_id,file,remote_fields\n"  # line 1
        f'{CANDIDATE},a.pdf,"{{\n""a"": 1,\n""b"": 2\n}}"\n'  # lines 2-5: one good row
        ",b.pdf,\n"  # line 6: no target
        f'{CANDIDATE},"c\n.pdf","[\n]"\n'  # lines 7-9: a problem reported at its start
        "\n"  # line 10: blank
        f"{CANDIDATE},,\n"  # line 11: no source
        f"{CANDIDATE},d.pdf,\n",  # line 12: good
    )
    entries = read_all(path)
    assert [entry.line for entry in entries] == [2, 6, 7, 11, 12]
    first = entries[0]
    assert isinstance(first, AttachRequest) and first.remote_fields == {"a": 1, "b": 2}
    assert problems_of(entries) == [
        (6, TARGET_MESSAGE),
        (7, "remote_fields must be a JSON object, not an array."),
        (11, SOURCE_MESSAGE),
    ]
    last = entries[-1]
    assert isinstance(last, AttachRequest) and Path(last.file or "").name == "d.pdf"


def test_line_numbers_after_blank_jsonl_lines(tmp_path: Path) -> None:
    path = write(
        tmp_path / "m.jsonl",
        "\n"
        '{"candidate_id": "a", "file": "x"}\n'
        "\n \n\t\n"
        '{"candidate_id": "a"}\n'
        "\n"
        "{oops}\n"
        '{"email": "a@b.c", "url": "http://h/x"}',
    )
    entries = read_all(path)
    assert [entry.line for entry in entries] == [2, 6, 8, 9]
    assert problems_of(entries) == [
        (6, SOURCE_MESSAGE),
        (
            8,
            "the line is not valid JSON: a key in double quotes is missing at column 2.",
        ),
    ]


def test_an_unclosed_quote_is_reported_at_its_row(tmp_path: Path) -> None:
    path = csv_manifest(
        tmp_path,
        "candidate_id,file,name",
        f"{CANDIDATE},a.pdf,",
        f'{CANDIDATE},b.pdf,"open',
        "x,y,z",
    )
    assert problems_of(read_all(path)) == [
        (3, "the row is not valid CSV: a quoted cell is not closed before the end of the file."),
    ]


def test_a_csv_parse_error_does_not_stop_the_rows_after_it(tmp_path: Path) -> None:
    path = csv_manifest(
        tmp_path,
        "candidate_id,file",
        f'{CANDIDATE},"a.pdf"x',
        f"{CANDIDATE},b.pdf",
    )
    entries = read_all(path)
    assert [entry.line for entry in entries] == [2, 3]
    assert isinstance(entries[0], RowProblem)
    assert isinstance(entries[1], AttachRequest) and Path(entries[1].file or "").name == "b.pdf"


def test_invalid_utf8_in_a_row_is_a_row_problem(tmp_path: Path) -> None:
    path = write(
        tmp_path / "m.csv",
        b"candidate_id,file,name\n"
        + CANDIDATE.encode()
        + b",a.pdf,caf\xe9\n"
        + CANDIDATE.encode()
        + b',b.pdf,"multi\nline \xff"\n'
        + CANDIDATE.encode()
        + b",c.pdf,ok\n",
    )
    entries = read_all(path)
    assert problems_of(entries) == [
        (2, "the row is not valid UTF-8 text; save the manifest as UTF-8."),
        (3, "line 4 of the row is not valid UTF-8 text; save the manifest as UTF-8."),
    ]
    assert isinstance(entries[-1], AttachRequest) and entries[-1].line == 5
    jsonl = write(
        tmp_path / "m.jsonl",
        b'{"email": "a@b.c", "file": "\xc3"}\n{"email": "a@b.c", "file": "\xc3\xa9"}\n',
    )
    entries = read_all(jsonl)
    assert problems_of(entries) == [
        (1, "the row is not valid UTF-8 text; save the manifest as UTF-8."),
    ]
    assert isinstance(entries[1], AttachRequest) and Path(entries[1].file or "").name == "é"


def test_a_row_longer_than_the_limit_is_a_problem_and_reading_goes_on(tmp_path: Path) -> None:
    long_name = "n" * (MAX_ROW_CHARS + 10)
    path = write(
        tmp_path / "m.jsonl",
        '{"email": "a@b.c", "file": "x"}\n'
        f'{{"email": "a@b.c", "file": "x", "name": "{long_name}"}}\n'
        '{"email": "a@b.c", "file": "y"}\n',
    )
    entries = read_all(path)
    assert [entry.line for entry in entries] == [1, 2, 3]
    assert problems_of(entries) == [(2, f"the line is longer than {MAX_ROW_CHARS} characters.")]
    path = write(
        tmp_path / "m.csv",
        f"email,file,name\na@b.c,x,{long_name}\r\na@b.c,y,\r\n",
    )
    entries = read_all(path)
    assert [entry.line for entry in entries] == [2, 3]
    assert problems_of(entries) == [(2, f"the row is longer than {MAX_ROW_CHARS} characters.")]


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
@pytest.mark.parametrize("extra", [-2, -1, 0, 1, 2, 3])
def test_line_count_stays_right_around_the_row_limit(
    tmp_path: Path, newline: str, extra: int
) -> None:
    # Lines whose length lands right at the read limit, where "\r\n" may be cut in two.
    filler = "x" * (MAX_ROW_CHARS + extra - len('{"email":"a@b.c","file":""}') - len(newline))
    path = write(
        tmp_path / "m.jsonl",
        newline.join(
            [
                f'{{"email":"a@b.c","file":"{filler}"}}',
                '{"email":"a@b.c","file":"next"}',
                "",
                '{"email":"a@b.c","file":"last"}',
            ]
        )
        + newline,
    )
    entries = read_all(path)
    assert [entry.line for entry in entries] == [1, 2, 4]
    assert isinstance(entries[1], AttachRequest) and Path(entries[1].file or "").name == "next"
    assert isinstance(entries[2], AttachRequest) and Path(entries[2].file or "").name == "last"
    assert isinstance(entries[0], AttachRequest) == (extra <= 0)


def test_a_problem_in_one_row_is_reported_once(tmp_path: Path) -> None:
    path = csv_manifest(tmp_path, CSV_HEADER, ",,,,,bad,\x01,pdf,[")
    assert problems_of(read_all(path)) == [(2, TARGET_MESSAGE)]


def test_messages_quote_hostile_values_on_one_short_line(tmp_path: Path) -> None:
    path = jsonl_manifest(
        tmp_path,
        {"email": "\x1b[31mred\u202e" + "x" * 500, "file": "a"},
        {"email": "a@b.c", "file": "a", "type": "\r\nCV\x1b"},
    )
    for _line, message in problems_of(read_all(path)):
        assert "\x1b" not in message and "\r" not in message and "\n" not in message
        assert "\u202e" not in message
        assert len(message) < 200


# --- Whole-manifest problems ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("candidate_id,file,filename\n", "has an unknown column 'filename' in its header row"),
        ("Candidate_ID,file\n", "has an unknown column 'Candidate_ID' in its header row"),
        ("candidate_id;file\n", "has an unknown column 'candidate_id;file' in its header row"),
        (f"{CANDIDATE},cv.pdf\n", f"has an unknown column '{CANDIDATE}' in its header row"),
        ("candidate_id,file,file\n", "has the column 'file' twice"),
        ("candidate_id, file ,file\n", "has the column 'file' twice"),
        ("file,type,name\n", "has no candidate_id, application_id or email column"),
        ("candidate_id,email,type\n", "has no file or url column"),
        ("candidate_id,,file\n", "Column 2 of manifest"),
        ("candidate_id,file,\n", "Column 3 of manifest"),
        ("", "is empty; it needs a header row"),
        ("\n  \n,,\n", "is empty; it needs a header row"),
        ('"candidate_id"x,file\n', "is not valid CSV"),
        ('"candidate_id,file\n', "is not valid CSV: a quoted cell is not closed"),
    ],
)
def test_header_problems_raise_usage_error(tmp_path: Path, content: str, expected: str) -> None:
    path = write(tmp_path / "m.csv", content + f"{CANDIDATE},cv.pdf\n" * 3)
    if not content.strip(" \n,"):
        path = write(tmp_path / "m.csv", content)
    with pytest.raises(UsageError) as excinfo:
        open_manifest(path)
    error = usage_error(excinfo, path)
    assert expected in error.message
    if "column" in expected:
        assert all(column in (error.hint or "") for column in COLUMNS)
    with pytest.raises(UsageError):
        validate_manifest(path)


def test_header_not_utf8(tmp_path: Path) -> None:
    path = write(tmp_path / "m.csv", b"candidate_id,fil\xe9\n")
    with pytest.raises(UsageError) as excinfo:
        open_manifest(path)
    error = usage_error(excinfo, path)
    assert "is not UTF-8 text (line 1)" in error.message
    assert "UTF-8" in (error.hint or "")


@pytest.mark.parametrize("name", ["m.csv", "m.jsonl", "m"])
def test_utf16_is_refused(tmp_path: Path, name: str) -> None:
    path = write(tmp_path / name, "candidate_id,file\nabc,cv.pdf\n".encode("utf-16"))
    with pytest.raises(UsageError) as excinfo:
        open_manifest(path)
    assert "is UTF-16 text, not UTF-8" in usage_error(excinfo, path).message


def test_missing_file_directory_and_special_files(tmp_path: Path) -> None:
    missing = tmp_path / "nope.csv"
    with pytest.raises(UsageError) as excinfo:
        open_manifest(missing)
    assert "does not exist" in usage_error(excinfo, missing).message
    inside_file = write(tmp_path / "file.csv", "x") / "m.csv"
    with pytest.raises(UsageError) as excinfo:
        open_manifest(inside_file)
    assert "does not exist" in usage_error(excinfo, inside_file).message
    with pytest.raises(UsageError) as excinfo:
        open_manifest(tmp_path)
    assert "is a directory" in usage_error(excinfo, tmp_path).message
    fifo = tmp_path / "fifo.csv"
    os.mkfifo(fifo)
    with pytest.raises(UsageError) as excinfo:
        open_manifest(fifo)
    assert "is not a regular file" in usage_error(excinfo, fifo).message
    with pytest.raises(UsageError) as excinfo:
        open_manifest(Path("/dev/null"))
    assert "is not a regular file" in usage_error(excinfo, "/dev/null").message


def test_standard_input_is_not_a_manifest() -> None:
    with pytest.raises(UsageError) as excinfo:
        open_manifest(Path("-"))
    assert "standard input" in excinfo.value.message
    with pytest.raises(UsageError):
        validate_manifest("-")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file(tmp_path: Path) -> None:
    path = write(tmp_path / "m.csv", "candidate_id,file\n")
    path.chmod(0)
    with pytest.raises(UsageError) as excinfo:
        open_manifest(path)
    assert "permission denied" in usage_error(excinfo, path).message


def test_the_file_is_closed_after_a_header_error_and_after_use(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    handles: list[Any] = []

    def tracking_open(*args: Any, **kwargs: Any) -> Any:
        handle = open(*args, **kwargs)  # noqa: SIM115
        handles.append(handle)
        return handle

    monkeypatch.setattr(manifest_file, "open", tracking_open, raising=False)
    bad = write(tmp_path / "bad.csv", "candidate_id,nope\n")
    with pytest.raises(UsageError):
        open_manifest(bad)
    array = write(tmp_path / "array", "[]")
    with pytest.raises(UsageError):
        open_manifest(array)
    good = csv_manifest(tmp_path, "candidate_id,file", f"{CANDIDATE},a")
    with open_manifest(good) as manifest:
        next(iter(manifest))
    validate_manifest(good)
    assert len(handles) == 4
    assert all(handle.closed for handle in handles)


def test_a_read_error_while_iterating_is_a_usage_error(tmp_path: Path) -> None:
    path = csv_manifest(tmp_path, "candidate_id,file", f"{CANDIDATE},a", f"{CANDIDATE},b")

    class FailingHandle:
        def __init__(self, handle: Any) -> None:
            self.handle = handle

        def readline(self, size: int = -1) -> str:
            raise OSError(5, "Input/output error")

        def close(self) -> None:
            self.handle.close()

    with open_manifest(path) as manifest:
        manifest._source._handle = FailingHandle(manifest._handle)  # type: ignore[assignment]
        with pytest.raises(UsageError) as excinfo:
            list(manifest)
    error = usage_error(excinfo, path)
    assert error.message == f"Cannot read manifest {str(path)!r}: Input/output error."


# --- validate_manifest ----------------------------------------------------------------------


def test_validate_manifest_keeps_the_first_problems_and_counts_all(tmp_path: Path) -> None:
    rows = []
    for number in range(50):
        rows.append(f"{CANDIDATE},ok{number}.pdf" if number % 10 == 0 else f",bad{number}.pdf")
    path = csv_manifest(tmp_path, "candidate_id,file", *rows)
    check = validate_manifest(path)
    assert isinstance(check, ManifestCheck)
    assert (check.rows, check.problem_count) == (5, 45)
    assert len(check.problems) == MAX_KEPT_PROBLEMS == 20
    expected_lines = [n + 2 for n in range(50) if n % 10 != 0][:20]
    assert [problem.line for problem in check.problems] == expected_lines
    assert all(problem.message == TARGET_MESSAGE for problem in check.problems)
    assert not check.ok
    assert validate_manifest(path, max_problems=3).problems == check.problems[:3]


def test_validate_manifest_of_a_clean_manifest(tmp_path: Path) -> None:
    path = jsonl_manifest(tmp_path, *({"email": "a@b.c", "file": f"{n}.pdf"} for n in range(5)))
    check = validate_manifest(str(path))
    assert check == ManifestCheck(
        rows=5,
        problems=(),
        problem_count=0,
        repeated_targets=frozenset({("email", "a@b.c")}),
        manifest_rows=5,
        first_line_without_integration=1,
    )
    assert check.ok


# --- Streaming ------------------------------------------------------------------------------

# Enough rows that holding them all would cost well over the limit below (about 500 bytes each).
ROWS = 20_000


def _peak_memory_while(action: Any) -> tuple[Any, int]:
    tracemalloc.start()
    try:
        result = action()
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak


def _count_rows(path: Path) -> tuple[int, int]:
    rows = problems = 0
    with open_manifest(path) as manifest:
        for entry in manifest:
            if isinstance(entry, AttachRequest):
                rows += 1
            else:
                problems += 1
    return rows, problems


@pytest.mark.parametrize("manifest_format", ["csv", "jsonl"])
def test_iterating_a_large_manifest_uses_constant_memory(
    tmp_path: Path, manifest_format: str
) -> None:
    path = tmp_path / f"big.{manifest_format}"
    with open(path, "w", encoding="utf-8") as handle:
        if manifest_format == "csv":
            handle.write("candidate_id,file,type,remote_fields\n")
            for number in range(ROWS):
                handle.write(f'{CANDIDATE},files/cv-{number}.pdf,CV,"{{""n"": {number}}}"\n')
        else:
            for number in range(ROWS):
                handle.write(
                    json.dumps(
                        {
                            "candidate_id": CANDIDATE,
                            "file": f"files/cv-{number}.pdf",
                            "type": "CV",
                        }
                    )
                    + "\n"
                )
    assert path.stat().st_size > 1_000_000
    counts, peak = _peak_memory_while(lambda: _count_rows(path))
    assert counts == (ROWS, 0)
    assert peak < 2_000_000, f"peak {peak} bytes"


def test_validate_manifest_of_many_bad_rows_uses_constant_memory(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("candidate_id,email,file\n")
        for number in range(ROWS):
            handle.write(f"{CANDIDATE},person{number}@example.com,cv-{number}.pdf\n")
    check, peak = _peak_memory_while(lambda: validate_manifest(path))
    assert (check.rows, check.problem_count, len(check.problems)) == (0, ROWS, 20)
    assert check.problems[-1].line == 21
    assert peak < 2_000_000, f"peak {peak} bytes"


def test_rows_are_read_lazily(tmp_path: Path) -> None:
    path = csv_manifest(tmp_path, "candidate_id,file", f"{CANDIDATE},a.pdf", f"{CANDIDATE},b.pdf")
    with open_manifest(path) as manifest:
        entries = iter(manifest)
        assert not isinstance(entries, (list, tuple))
        first = next(entries)
        assert isinstance(first, AttachRequest) and Path(first.file or "").name == "a.pdf"
        # The rest of the file is read only as iteration goes on.
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(f"{CANDIDATE},c.pdf\n")
        assert [entry.line for entry in entries] == [3, 4]
