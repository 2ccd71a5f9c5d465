"""`--email`: what kombo asks Kombo's candidate search, when it stops, and what it says
when no candidate turns up.

Kombo's `GET /ats/candidates` answers an `email` filter the integration's ATS cannot
apply with no candidates at all (`ignore_unsupported_filters=false`), so "no candidate"
has two causes; the client tells them apart by asking once more with the filter allowed
to be ignored, and never takes a candidate from that answer.
"""

from __future__ import annotations

import copy
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from kombo_cli.sandbox import sample_candidates as samples
from kombo_cli.sandbox.contract import derived_id
from tests.helpers import API_KEY, INTEGRATION_ID, make_pdf, run_kombo, run_kombo_process
from tests.recording_server import KomboServer, RecordedRequest, ScriptedResponse, error_envelope

CANDIDATE_SEARCH = "/v1/ats/candidates"
NOBODY = "nobody@example.com"


def searches(server: KomboServer) -> list[dict[str, list[str]]]:
    """The query of each candidate search the server received, in order."""
    return [
        parse_qs(urlsplit(request.path).query)
        for request in server.requests
        if request.method == "GET" and request.path.partition("?")[0] == CANDIDATE_SEARCH
    ]


def uploads(server: KomboServer) -> list[RecordedRequest]:
    return [request for request in server.requests if request.method == "POST"]


def env_for(server: KomboServer) -> dict[str, str]:
    return {
        "KOMBO_API_KEY": API_KEY,
        "KOMBO_INTEGRATION_ID": INTEGRATION_ID,
        "KOMBO_BASE_URL": server.base_url,
    }


def cv(tmp_path: Path) -> str:
    path = tmp_path / "cv.pdf"
    path.write_bytes(make_pdf())
    return str(path)


def page(*candidates: dict[str, object], next_cursor: str | None = None) -> ScriptedResponse:
    return ScriptedResponse(
        200, {"status": "success", "data": {"next": next_cursor, "results": list(candidates)}}
    )


def maria() -> dict[str, object]:
    return next(c for c in samples.sample_candidates() if c["id"] == samples.MARIA_GARCIA_ID)


# -- no candidate: which of the two causes ------------------------------------------------------


def test_no_candidate_in_kombos_copy_says_so_after_checking_the_filter_works(
    kombo_server: KomboServer, tmp_path: Path
) -> None:
    result = run_kombo_process("attach", "--email", NOBODY, cv(tmp_path), env=env_for(kombo_server))

    assert result.returncode == 5, result.stderr
    assert f"Error: No candidate has the email address {NOBODY}." in result.stderr
    assert (
        "Hint: Kombo searches its synced copy of the ATS, and it has no candidate with this"
        " address: one added in the ATS since the last sync is not there yet; try again"
        " after the next sync, or pass the candidate ID" in result.stderr
    )
    strict, probe = searches(kombo_server)
    assert strict["email"] == [NOBODY] and strict["ignore_unsupported_filters"] == ["false"]
    # The second search only shows whether Kombo ignores the filter; one result is enough.
    assert probe == {
        "email": [NOBODY],
        "ignore_unsupported_filters": ["true"],
        "page_size": ["1"],
    }
    assert uploads(kombo_server) == []


def test_an_ats_that_cannot_filter_by_email_is_named_and_its_candidates_are_never_used(
    kombo_server: KomboServer, tmp_path: Path
) -> None:
    # As Kombo answers for such an ATS: nothing with the filter, everyone without it. The
    # one candidate it returns even has the address: still not a match kombo may use.
    someone = copy.deepcopy(maria())
    someone["email_addresses"] = [{"email_address": NOBODY, "type": "PERSONAL"}]
    kombo_server.queue(page(), page(someone, next_cursor="more"))

    result = run_kombo_process("attach", "--email", NOBODY, cv(tmp_path), env=env_for(kombo_server))

    assert result.returncode == 5, result.stderr
    assert (
        f"Error: No candidate can be looked up by the email address {NOBODY}: this"
        " integration does not support filtering candidates by email." in result.stderr
    )
    assert (
        "Hint: Kombo answers such a search with no candidates (and, told to ignore the"
        " filter, with all of them); pass the candidate ID instead" in result.stderr
    )
    assert len(searches(kombo_server)) == 2
    assert uploads(kombo_server) == []


def test_when_the_check_fails_the_hint_names_both_causes(
    kombo_server: KomboServer, tmp_path: Path
) -> None:
    kombo_server.queue(page(), ScriptedResponse(500, error_envelope("Something broke.")))

    result = run_kombo(
        "attach", "--email", NOBODY, cv(tmp_path), "--retries", "0", env=env_for(kombo_server)
    )

    assert result.returncode == 5, result.stderr
    assert f"Error: No candidate has the email address {NOBODY}." in result.stderr
    assert (
        "Hint: Kombo found none in its synced copy of the ATS: either the candidate was added"
        " in the ATS since the last sync, or this integration does not support filtering"
        " candidates by email (Kombo then finds no one); kombo could not check which"
        " (HTTP 500); pass the candidate ID, or run again to check" in result.stderr
    )
    assert uploads(kombo_server) == []


def test_an_ats_that_filters_loosely_is_not_asked_again(
    kombo_server: KomboServer, tmp_path: Path
) -> None:
    # Kombo returned candidates, none with the address: the filter is applied, loosely.
    kombo_server.queue(page(maria()))

    result = run_kombo("attach", "--email", NOBODY, cv(tmp_path), env=env_for(kombo_server))

    assert result.returncode == 5, result.stderr
    assert f"No candidate has the email address {NOBODY}." in result.stderr
    assert len(searches(kombo_server)) == 1


# -- two matches are enough ----------------------------------------------------------------


def test_paging_stops_once_two_candidates_have_the_address(tmp_path: Path) -> None:
    frank = next(c for c in samples.sample_candidates() if c["id"] == samples.FRANK_DOE_ID)
    twins = []
    for number in range(120):
        twin = copy.deepcopy(frank)
        twin["id"] = derived_id("candidate", f"frank-twin-{number}")
        twin["remote_id"] = f"twin-{number}"
        twin["applications"] = []
        twins.append(twin)
    candidates = [*samples.sample_candidates(), *twins]

    with KomboServer(
        api_key=API_KEY, integration_id=INTEGRATION_ID, candidates=candidates
    ) as server:
        result = run_kombo(
            "attach", "--email", samples.FRANK_DOE_EMAIL, cv(tmp_path), env=env_for(server)
        )

        assert result.returncode == 5, result.stderr
        # The first page already holds many matches: no further page was asked for.
        [search] = searches(server)
        assert "cursor" not in search
        assert uploads(server) == []
    assert f"At least 50 candidates have the email address {samples.FRANK_DOE_EMAIL}" in (
        result.stderr
    )
    assert samples.FRANK_DOE_ID in result.stderr


def test_a_candidate_listed_twice_is_one_match(kombo_server: KomboServer, tmp_path: Path) -> None:
    # Pages of a list that changes while it is read may repeat an entry.
    kombo_server.queue(page(maria(), next_cursor="next"), page(maria()))

    result = run_kombo(
        "attach", "--email", samples.MARIA_GARCIA_EMAIL, cv(tmp_path), env=env_for(kombo_server)
    )

    assert result.returncode == 0, result.stderr
    assert len(searches(kombo_server)) == 2
    [post] = uploads(kombo_server)
    assert samples.MARIA_GARCIA_ID in post.path
