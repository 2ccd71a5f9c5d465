"""`kombo attachments list` in a terminal window: one screen row per attachment, long names
and types shortened in the middle; piped and with --json, every value whole, as before."""

from __future__ import annotations

import json
import re

import pytest
from rich.cells import cell_len

from kombo_cli.commands.attachments import short_date
from kombo_cli.sandbox.store import StoredAttachment
from tests.helpers import API_KEY, INTEGRATION_ID, run_kombo_process
from tests.recording_server import KomboServer
from tests.terminal import run_in_terminal

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
# (name, type, content type, created, on the application): long names, a wide script, a
# long MIME type, and a file of one of the candidate's applications (its ID is listed).
FILES = [
    (
        "Frank Doe - Curriculum Vitae - Senior Backend Engineer - Berlin 2024 (final).pdf",
        "CV",
        "application/pdf",
        "2024-05-01T09:30:00Z",
        False,
    ),
    (
        "Anschreiben für die Position als Softwareentwicklerin im Team Plattform.docx",
        "COVER_LETTER",
        DOCX,
        "2024-05-02T10:00:00Z",
        False,
    ),
    ("portfolio.pdf", "OTHER", "application/pdf", "2024-05-03T11:15:00Z", False),
    (
        "履歴書_山田太郎_ソフトウェアエンジニア_最終版_二〇二四年.pdf",
        "CV",
        "application/pdf",
        "2024-05-04T12:45:00Z",
        False,
    ),
    (
        "Arbeitszeugnis der vorherigen Firma mit einem wirklich sehr langen Namen.pdf",
        "OTHER",
        "application/pdf",
        "2024-05-05T13:00:00Z",
        True,
    ),
]


@pytest.fixture
def listed(kombo_server: KomboServer, server_env: dict[str, str]) -> tuple[str, str]:
    """A sample candidate with the files above; its ID and the application's."""
    [candidate] = [c for c in kombo_server.candidates if c.get("applications")][:1]
    application_id = candidate["applications"][0]["id"]
    for name, kind, content_type, created, on_application in FILES:
        kombo_server.attachments.append(
            StoredAttachment(
                target_kind="application" if on_application else "candidate",
                target_id=application_id if on_application else candidate["id"],
                name=name,
                type=kind,
                content_type=content_type,
                created_at=created,
            )
        )
    return candidate["id"], application_id


def env_for(server: KomboServer) -> dict[str, str]:
    return {
        "KOMBO_API_KEY": API_KEY,
        "KOMBO_INTEGRATION_ID": INTEGRATION_ID,
        "KOMBO_BASE_URL": server.base_url,
    }


@pytest.mark.parametrize("columns", [80, 120])
def test_each_attachment_is_one_row_of_the_window(
    kombo_server: KomboServer, listed: tuple[str, str], columns: int
) -> None:
    candidate_id, application_id = listed
    shown = run_in_terminal(
        "attachments", "list", candidate_id, env=env_for(kombo_server), columns=columns
    )

    assert shown.returncode == 0, shown.raw
    # No line is wider than the window, so the terminal wrapped none.
    assert all(cell_len(line) <= columns for line in shown.lines), shown.lines
    header, *rows = shown.screen
    # The MIME type is left out when there is no room; IDs never are.
    assert header.split() == (
        ["NAME", "TYPE", "CONTENT", "TYPE", "CREATED", "APPLICATION"]
        if columns > 80
        else ["NAME", "TYPE", "CREATED", "APPLICATION"]
    )
    # One row per attachment, and no row that continues another.
    assert len(rows) == len(FILES)
    for row, (name, kind, _content_type, created, on_application) in zip(rows, FILES):
        assert row.startswith(name[:3]), row
        assert row.endswith(application_id[-5:] if on_application else " -"), row
        # Times to the minute, as a person reads them.
        assert f" {short_date(created)} " in row and short_date(created) != created, row
        assert re.search(rf"{re.escape(name.rpartition('.')[2])}\s+{kind}\s", row), row
    # Long values are shortened in the middle; what fits stays whole.
    assert rows[2].startswith("portfolio.pdf ")
    assert "…" in rows[0]
    assert DOCX not in shown.screen[2]
    assert any("application/pdf" in row for row in rows) == (columns > 80)
    # An ID is what a person copies: always whole.
    assert application_id in rows[4]


def test_a_wide_window_shows_long_values_whole(
    kombo_server: KomboServer, listed: tuple[str, str]
) -> None:
    shown = run_in_terminal(
        "attachments", "list", listed[0], env=env_for(kombo_server), columns=250
    )

    assert shown.returncode == 0
    assert "…" not in shown.raw.decode()
    for name, *_ in FILES:
        assert len(shown.rows_with(name)) == 1


def test_piped_and_json_output_show_every_value_whole(
    kombo_server: KomboServer, listed: tuple[str, str]
) -> None:
    candidate_id, application_id = listed
    env = env_for(kombo_server)
    piped = run_kombo_process("attachments", "list", candidate_id, env=env)

    assert piped.returncode == 0, piped.stderr
    assert "…" not in piped.stdout
    lines = piped.stdout.splitlines()
    assert len(lines) == 1 + len(FILES)
    for line, (name, kind, content_type, created, on_application) in zip(lines[1:], FILES):
        assert re.split(r"\s{2,}", line) == [
            name,
            kind,
            content_type,
            created,
            application_id if on_application else "-",
        ]
    # COLUMNS is a terminal's business: a pipe gets the same whatever it says.
    narrow = run_kombo_process("attachments", "list", candidate_id, env={**env, "COLUMNS": "40"})
    assert narrow.stdout == piped.stdout

    as_json = run_in_terminal("attachments", "list", candidate_id, "--json", env=env, columns=80)
    assert as_json.returncode == 0
    payload = json.loads(as_json.raw.decode().replace("\r\n", "\n"))
    assert [item["file_name"] for item in payload["attachments"]] == [f[0] for f in FILES]


@pytest.mark.parametrize(
    ("text", "width", "expected"),
    [
        ("Frank Doe CV.pdf", 16, "Frank Doe CV.pdf"),
        ("Frank Doe CV.pdf", 12, "Frank …V.pdf"),
        ("Frank Doe Curriculum Vitae.docx", 10, "Fran….docx"),
        ("履歴書_山田太郎.pdf", 12, "履歴書….pdf"),
        ("COVER_LETTER", 8, "COVE…TER"),
        ("abc", 1, "…"),
        ("abc", 0, ""),
    ],
)
def test_values_are_shortened_in_the_middle_keeping_the_extension(
    text: str, width: int, expected: str
) -> None:
    from kombo_cli.ui.text import shorten

    shown = shorten(text, width, keep_extension=True)
    assert shown == expected
    assert cell_len(shown) <= width


def test_a_very_narrow_window_still_gets_one_line_per_row() -> None:
    from kombo_cli.commands.attachments import fit_to_width

    rows = [["NAME", "TYPE", "CONTENT TYPE", "CREATED"], *(list(f[:4]) for f in FILES)]
    for width in (30, 20):
        fitted = fit_to_width(rows, width)
        # Columns left out leave no gap behind.
        assert all(sum(map(cell_len, row)) + 2 * (len(row) - 1) <= width for row in fitted)


@pytest.mark.parametrize("columns", [50])
def test_ids_stay_whole_in_the_narrowest_window(
    kombo_server: KomboServer, listed: tuple[str, str], columns: int
) -> None:
    candidate_id, application_id = listed
    shown = run_in_terminal(
        "attachments", "list", candidate_id, env=env_for(kombo_server), columns=columns
    )

    assert shown.returncode == 0, shown.raw
    assert all(cell_len(line) <= columns for line in shown.lines), shown.lines
    header, *rows = shown.screen
    assert header.split() == ["NAME", "TYPE", "CREATED", "APPLICATION"]
    assert len(rows) == len(FILES)
    assert rows[4].endswith(f" {application_id}")
    # The day stays, whatever else gives way.
    assert all(re.search(r" 2024-05-0\d ", row) for row in rows), rows


def test_below_fifty_columns_the_date_gives_way_before_the_id() -> None:
    from kombo_cli.commands.attachments import fit_to_width

    rows = [["NAME", "TYPE", "CREATED", "APPLICATION"]]
    rows += [[f[0], f[1], short_date(f[3]), "Pa14znz2jiDh1YTAYKoCikBd"] for f in FILES]
    fitted = fit_to_width(rows, 40)
    assert all(row[-1] in ("APPLICATION", "Pa14znz2jiDh1YTAYKoCikBd") for row in fitted)
    assert all(sum(map(cell_len, row)) + 2 * (len(row) - 1) <= 40 for row in fitted)
