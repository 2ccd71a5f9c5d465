"""A sandbox serving several integrations at once, as a batch across customers meets them:
each with its own candidates, uploads, concurrency limit and rehearsed setup failure.

The servers here are `KomboServer`s (the sandbox's own server, recording), so every reply is
judged against Kombo's OpenAPI document when the server stops.
"""

from __future__ import annotations

import base64
import http.client
import json
import re
import signal
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from kombo_cli.sandbox import sample_candidates as samples
from kombo_cli.sandbox.candidates_file import FixtureError, load_candidates_by_integration
from kombo_cli.sandbox.config import SandboxConfig
from kombo_cli.sandbox.contract import is_kombo_id
from kombo_cli.sandbox.sample_candidates import sample_candidates, sample_candidates_for
from kombo_cli.sandbox.server import SandboxServer
from tests.helpers import (
    API_KEY,
    KOMBO_EXECUTABLE,
    clean_env,
    make_pdf,
    read_banner,
    run_kombo,
    run_kombo_process,
)
from tests.recording_server import KomboServer

ACME = "acme:8d1hpPsbjxUkoCoa1veLZGe5"
GLOBEX = "globex:Hx7mK2pQ9rT4vW6yZ8bC3dF5"
INITECH = "initech:local"
# In Kombo's format and no candidate's: without --strict-ids it exists in every integration.
UNSEEDED = "GRKdd9dibYKKCrmGRSMJf3wu"
DOCS_SANDBOX = Path(__file__).resolve().parent.parent / "docs" / "sandbox.md"


def serving(*integration_ids: str, **config: Any) -> KomboServer:
    return KomboServer(
        integration_id=integration_ids[0], integration_ids=list(integration_ids), **config
    )


def call(
    server: SandboxServer, method: str, path: str, integration: str | None, body: Any = None
) -> tuple[int, http.client.HTTPResponse, Any]:
    headers = {"Authorization": f"Bearer {API_KEY}"}
    if integration is not None:
        headers["X-Integration-Id"] = integration
    raw = None
    if body is not None:
        raw = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        connection.request(method, path, body=raw, headers=headers)
        response = connection.getresponse()
        return response.status, response, json.loads(response.read())
    finally:
        connection.close()


def upload_body(data: bytes = b"%PDF-1.4 cv") -> dict[str, Any]:
    return {
        "attachment": {
            "name": "cv.pdf",
            "type": "CV",
            "content_type": "application/pdf",
            "data": base64.b64encode(data).decode(),
        }
    }


def candidate_ids(server: SandboxServer, integration: str, query: str = "") -> list[str]:
    status, _, payload = call(server, "GET", f"/v1/ats/candidates{query}", integration)
    assert status == 200, payload
    return [candidate["id"] for candidate in payload["data"]["results"]]


# -- candidates ---------------------------------------------------------------------------------


def test_each_integration_lists_only_its_own_candidates() -> None:
    with serving(ACME, GLOBEX) as server:
        acme = candidate_ids(server, ACME)
        globex = candidate_ids(server, GLOBEX)
        frank_at_acme = candidate_ids(server, ACME, "?email=frank.doe%40example.com")
        frank_at_globex = candidate_ids(server, GLOBEX, "?email=frank.doe%40example.com")

    # The default integration keeps the samples and their IDs; the other has the same people
    # under IDs of its own, in Kombo's format.
    assert acme == [candidate["id"] for candidate in sample_candidates()]
    assert frank_at_acme == [samples.FRANK_DOE_ID]
    assert globex == [candidate["id"] for candidate in sample_candidates_for(GLOBEX)]
    assert len(frank_at_globex) == 1 and frank_at_globex[0] in globex
    assert not set(acme) & set(globex)
    assert all(is_kombo_id(candidate_id) for candidate_id in globex)
    assert server.candidates_by_integration[GLOBEX] == sample_candidates_for(GLOBEX)
    assert server.candidates == sample_candidates()


def test_further_integrations_keep_their_ids_across_restarts_and_differ_from_each_other() -> None:
    first, again, other = (sample_candidates_for(x) for x in (GLOBEX, GLOBEX, INITECH))
    ids = [
        [
            c["id"],
            *(a["id"] for a in c["applications"]),
            *(a["job"]["id"] for a in c["applications"]),
        ]
        for c in first
    ]
    assert first == again
    assert not {i for row in ids for i in row} & {c["id"] for c in other}
    assert all(is_kombo_id(i) for row in ids for i in row)
    # The same person, with the same email address, in two customers' ATSs.
    assert [c["email_addresses"] for c in first] == [c["email_addresses"] for c in other]


def test_an_id_of_another_integration_is_a_404() -> None:
    globex_frank = sample_candidates_for(GLOBEX)[0]
    globex_application = globex_frank["applications"][0]["id"]
    with serving(ACME, GLOBEX) as server:
        replies = [
            call(server, "GET", f"/v1/ats/candidates/{globex_frank['id']}/attachments", ACME),
            call(
                server,
                "POST",
                f"/v1/ats/applications/{globex_application}/attachments",
                ACME,
                upload_body(),
            ),
            call(server, "GET", f"/v1/ats/candidates/{samples.FRANK_DOE_ID}/attachments", GLOBEX),
            call(server, "GET", f"/v1/ats/candidates?ids={samples.FRANK_DOE_ID}", GLOBEX),
        ]
        own = call(server, "GET", f"/v1/ats/candidates/{globex_frank['id']}/attachments", GLOBEX)
        attachments = server.store.all()

    assert [status for status, _, _ in replies] == [404, 404, 404, 404]
    assert "could not be found" in replies[0][2]["error"]["message"]
    assert own[0] == 200
    assert attachments == []


def test_strict_ids_know_every_integrations_candidates_each_under_its_own() -> None:
    from kombo_cli.commands.sandbox import known_ids

    with serving(ACME, GLOBEX) as server:
        everyone = [c for served in server.candidates_by_integration.values() for c in served]
        server.config.known_ids = known_ids(everyone)
        globex_frank = server.candidates_by_integration[GLOBEX][0]["id"]
        statuses = [
            call(server, "GET", f"/v1/ats/candidates/{candidate}/attachments", integration)[0]
            for candidate, integration in [
                (samples.FRANK_DOE_ID, ACME),
                (globex_frank, GLOBEX),
                (globex_frank, ACME),
                (UNSEEDED, GLOBEX),
            ]
        ]
    assert statuses == [200, 200, 404, 404]


def test_uploads_are_stored_and_listed_per_integration() -> None:
    with serving(ACME, GLOBEX) as server:
        assert (
            call(
                server,
                "POST",
                f"/v1/ats/candidates/{UNSEEDED}/attachments",
                GLOBEX,
                upload_body(b"%PDF g"),
            )[0]
            == 200
        )
        assert (
            call(
                server,
                "POST",
                f"/v1/ats/candidates/{UNSEEDED}/attachments",
                ACME,
                upload_body(b"%PDF a"),
            )[0]
            == 200
        )
        _, _, at_acme = call(server, "GET", f"/v1/ats/candidates/{UNSEEDED}/attachments", ACME)
        _, _, at_globex = call(server, "GET", f"/v1/ats/candidates/{UNSEEDED}/attachments", GLOBEX)
        stored = {(a.integration_id, a.file): a.data for a in server.store.all()}

    assert len(at_acme["data"]["results"]) == len(at_globex["data"]["results"]) == 1
    assert at_acme["data"]["results"][0]["id"] != at_globex["data"]["results"][0]["id"]
    # The default integration's files stay where they always were; the others' are apart.
    assert stored == {
        (ACME, f"candidates/{UNSEEDED}/cv.pdf"): b"%PDF a",
        (
            GLOBEX,
            f"integrations/globex%3AHx7mK2pQ9rT4vW6yZ8bC3dF5/candidates/{UNSEEDED}/cv.pdf",
        ): b"%PDF g",
    }


def test_a_candidates_file_places_each_candidate_in_its_integration(tmp_path: Path) -> None:
    path = tmp_path / "candidates.json"
    path.write_text(
        json.dumps(
            [
                {"id": "cand-ada", "email_addresses": ["ada@example.com"]},
                {"id": "cand-bob", "integration_id": GLOBEX, "applications": [{"id": "app-bob"}]},
            ]
        )
    )
    by_integration = load_candidates_by_integration(path, [ACME, GLOBEX, INITECH])
    assert [[c["id"] for c in by_integration[key]] for key in (ACME, GLOBEX, INITECH)] == [
        ["cand-ada"],
        ["cand-bob"],
        [],
    ]
    assert "integration_id" not in by_integration[GLOBEX][0]

    with serving(ACME, GLOBEX, INITECH, candidates_by_integration=by_integration) as server:
        assert candidate_ids(server, GLOBEX) == ["cand-bob"]
        assert call(server, "GET", "/v1/ats/applications/app-bob/attachments", GLOBEX)[0] == 200
        assert call(server, "GET", "/v1/ats/applications/app-bob/attachments", ACME)[0] == 404

    with pytest.raises(FixtureError, match=r'belongs to the integration "globex:.*", which'):
        load_candidates_by_integration(path, [ACME])


# -- concurrency --------------------------------------------------------------------------------


def test_each_integration_has_its_own_concurrency_limit_under_load() -> None:
    limits = {ACME: 2, GLOBEX: 5}
    with serving(ACME, GLOBEX, concurrency_limits=limits, latency_s=0.6) as server:
        start = threading.Barrier(16)
        seen: dict[str, list[tuple[int, str | None, str | None]]] = {ACME: [], GLOBEX: []}

        def listing(integration: str) -> None:
            start.wait()
            status, response, _ = call(
                server, "GET", f"/v1/ats/candidates/{UNSEEDED}/attachments", integration
            )
            seen[integration].append(
                (
                    status,
                    response.getheader("Concurrency-Limit"),
                    response.getheader("Concurrency-Remaining"),
                )
            )

        threads = [
            threading.Thread(target=listing, args=(integration,))
            for integration in [ACME] * 8 + [GLOBEX] * 8
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        peaks = server.peak_in_flight_by_integration
        refusals = server.concurrency_refusals_by_integration

    assert peaks == limits  # each reached its own limit, and never went above it
    for integration, limit in limits.items():
        answers = seen[integration]
        assert [status for status, _, _ in answers].count(200) >= limit
        assert refusals[integration] == [status for status, _, _ in answers].count(429) > 0
        assert {header for _, header, _ in answers} == {str(limit)}
        assert {remaining for status, _, remaining in answers if status == 429} == {"0"}
    assert server.concurrency_refusals == sum(refusals.values())
    assert max(limits.values()) < server.peak_in_flight <= sum(limits.values())


def test_the_limit_for_every_integration_still_changes_on_a_running_server() -> None:
    with serving(ACME, GLOBEX, concurrency_limits={GLOBEX: 3}) as server:
        server.config.concurrency_limit = 7
        _, response, _ = call(server, "GET", f"/v1/ats/candidates/{UNSEEDED}/attachments", ACME)
        assert response.getheader("Concurrency-Limit") == "7"
        assert server.concurrency_limits == {ACME: 7, GLOBEX: 3}


# -- integrations that cannot be used ---------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code", "state"),
    [
        (401, "INTEGRATION.AUTHENTICATION_INVALID", ("INVALID", "COMPLETED")),
        (403, "INTEGRATION.PERMISSION_MISSING", ("ACTIVE", "COMPLETED")),
        (409, "INTEGRATION.SETUP_INCOMPLETE", ("ACTIVE", "INCOMPLETE")),
    ],
)
def test_an_integration_set_to_fail_answers_every_ats_request_with_its_error(
    status: int, code: str, state: tuple[str, str]
) -> None:
    with serving(ACME, GLOBEX, integration_errors={GLOBEX: status}) as server:
        replies = [
            call(server, "GET", "/v1/ats/candidates?email=frank.doe%40example.com", GLOBEX),
            call(server, "GET", f"/v1/ats/candidates/{UNSEEDED}/attachments", GLOBEX),
            call(
                server,
                "POST",
                f"/v1/ats/applications/{UNSEEDED}/attachments",
                GLOBEX,
                upload_body(),
            ),
        ]
        details = call(server, "GET", f"/v1/integrations/{GLOBEX}", None)
        healthy = call(server, "GET", f"/v1/ats/candidates/{UNSEEDED}/attachments", ACME)
        assert server.store.all() == []
        peaks = server.peak_in_flight_by_integration

    for got, _, payload in replies:
        assert got == status
        assert payload["error"]["code"] == code
        assert GLOBEX in payload["error"]["message"]
    assert details[0] == 200
    assert (details[2]["data"]["status"], details[2]["data"]["setup_status"]) == state
    assert healthy[0] == 200
    # Refused before any work: the failing integration's requests take no slot.
    assert peaks == {ACME: 1, GLOBEX: 0}


def test_every_integration_served_has_its_details_and_others_are_404() -> None:
    with serving(ACME, GLOBEX, INITECH) as server:
        found = [
            call(server, "GET", f"/v1/integrations/{x}", None) for x in (ACME, GLOBEX, INITECH)
        ]
        missing = call(server, "GET", "/v1/integrations/workday:other", None)
        unknown_header = call(server, "GET", "/v1/ats/candidates", "workday:other")

    assert [(s, p["data"]["id"], p["data"]["setup_status"]) for s, _, p in found] == [
        (200, ACME, "COMPLETED"),
        (200, GLOBEX, "COMPLETED"),
        (200, INITECH, "COMPLETED"),
    ]
    assert missing[0] == unknown_header[0] == 404
    assert missing[2]["error"]["code"] == "PLATFORM.INTEGRATION_NOT_FOUND"


def test_the_config_puts_the_default_integration_first_and_refuses_strangers(
    tmp_path: Path,
) -> None:
    config = SandboxConfig(data_dir=tmp_path, integration_id=GLOBEX, integration_ids=[ACME, GLOBEX])
    assert (config.integration_id, config.integration_ids) == (GLOBEX, [GLOBEX, ACME])
    assert SandboxConfig(data_dir=tmp_path, integration_ids=[ACME]).integration_id == ACME
    assert SandboxConfig(data_dir=tmp_path).integration_ids == ["sandbox:local"]
    with pytest.raises(ValueError, match="not served"):
        SandboxConfig(data_dir=tmp_path, concurrency_limits={ACME: 2})
    with pytest.raises(ValueError, match="401, 403, 409"):
        SandboxConfig(data_dir=tmp_path, integration_errors={"sandbox:local": 500})


# -- kombo against several integrations ------------------------------------------------------


@pytest.mark.parametrize(("status", "exit_code"), [(401, 4), (403, 4), (409, 5)])
def test_kombo_attach_meets_each_integration_as_its_customer(
    tmp_path: Path, status: int, exit_code: int
) -> None:
    cv = tmp_path / "cv.pdf"
    cv.write_bytes(make_pdf())
    with serving(ACME, GLOBEX, INITECH, integration_errors={INITECH: status}) as server:
        env = {"KOMBO_API_KEY": API_KEY, "KOMBO_BASE_URL": server.base_url}
        globex_frank = server.candidates_by_integration[GLOBEX][0]["id"]
        at_globex = run_kombo(
            "attach", globex_frank, str(cv), env={**env, "KOMBO_INTEGRATION_ID": GLOBEX}
        )
        wrong = run_kombo(
            "attach", globex_frank, str(cv), env={**env, "KOMBO_INTEGRATION_ID": ACME}
        )
        failing = run_kombo(
            "attach", UNSEEDED, str(cv), env={**env, "KOMBO_INTEGRATION_ID": INITECH}
        )
        stored = [(a.integration_id, a.target_id) for a in server.store.all()]

    assert at_globex.returncode == 0, at_globex.stderr
    assert wrong.returncode == 5, wrong.stderr
    assert failing.returncode == exit_code, failing.stderr
    assert INITECH in failing.stderr
    assert stored == [(GLOBEX, globex_frank)]


# -- the command line ---------------------------------------------------------------------------


@contextmanager
def running_sandbox(*args: str) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    process = subprocess.Popen(
        [str(KOMBO_EXECUTABLE), "sandbox", "--port", "0", "-q", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=clean_env(),
    )
    try:
        banner = read_banner(process)
        assert process.stderr is not None
        assert "Press Ctrl-C to stop." in banner, banner + process.stderr.read().decode()
        yield process, banner
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.communicate(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.communicate()


def test_the_banner_lists_every_integration_with_its_limit(tmp_path: Path) -> None:
    with running_sandbox(
        "--data-dir",
        str(tmp_path / "d"),
        "--integration-id",
        ACME,
        "--integration-id",
        GLOBEX,
        "--integration-id",
        INITECH,
        "--concurrency-limit",
        "8",
        "--concurrency-limit",
        f"{GLOBEX}=3",
        "--integration-error",
        f"{INITECH}=409",
    ) as (process, banner):
        pass
    globex_frank = sample_candidates_for(GLOBEX)[0]
    width = len(GLOBEX)
    assert f"  export KOMBO_INTEGRATION_ID={ACME}\n" in banner
    assert f"  kombo attach {samples.FRANK_DOE_ID} cv.pdf --type CV\n" in banner
    assert (
        "Integrations (X-Integration-Id; the first is the default):\n"
        f"  {ACME:<{width}}  concurrency limit 8\n"
        f"  {GLOBEX}  concurrency limit 3\n"
        f"  {INITECH:<{width}}  concurrency limit 8,"
        " answers 409 INTEGRATION.SETUP_INCOMPLETE\n"
    ) in banner
    for integration in (ACME, GLOBEX, INITECH):
        assert f"Candidates of {integration} (GET /ats/candidates?email=...):\n" in banner
    assert f"  {globex_frank['id']}  Frank Doe  frank.doe@example.com\n" in banner
    assert process.returncode == 0


def test_with_one_integration_the_banner_is_the_documented_one(tmp_path: Path) -> None:
    documented = re.search(
        r"```\n(Kombo sandbox listening on .*?Press Ctrl-C to stop\.\n)```",
        DOCS_SANDBOX.read_text(encoding="utf-8"),
        re.DOTALL,
    )
    assert documented is not None
    data_dir = tmp_path / "sandbox-data"
    with running_sandbox("--data-dir", str(data_dir)) as (_, banner):
        base_url = re.search(r"listening on (\S+)", banner)
    assert base_url is not None
    expected = (
        documented.group(1)
        .replace("http://127.0.0.1:8787/v1", base_url.group(1))
        .replace("stored in sandbox-data", f"stored in {data_dir}")
    )
    assert banner == expected


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--concurrency-limit", "nope=3"],
            "Error: --concurrency-limit nope=3 names the integration nope, which the sandbox"
            " does not serve (it serves sandbox:local).",
        ),
        (
            ["--integration-id", "a:1", "--integration-error", "b:2=409"],
            "Error: --integration-error b:2=409 names the integration b:2, which the sandbox"
            " does not serve (it serves a:1).",
        ),
        (
            ["--integration-error", "sandbox:local=500"],
            "Error: Invalid value for '--integration-error': STATUS must be 401, 403 or 409,"
            " not '500'.",
        ),
        (
            ["--integration-error", "sandbox:local"],
            "Error: Invalid value for '--integration-error': must be ID=STATUS",
        ),
        (
            ["--concurrency-limit", "many"],
            "Error: Invalid value for '--concurrency-limit': must be a whole number N, or ID=N",
        ),
        (
            ["--concurrency-limit", "sandbox:local=0"],
            "Error: Invalid value for '--concurrency-limit': must be at least 1, not 0.",
        ),
        (
            ["--integration-id", "a:1", "--integration-id", "a:1"],
            "Error: --integration-id a:1 is given twice.",
        ),
        (["--integration-id", "a b"], "Error: --integration-id must be printable ASCII"),
        (["--integration-id", "a/b"], "Error: --integration-id a/b is '.' or '..' or contains '/'"),
    ],
)
def test_options_that_name_no_integration_or_no_status_are_usage_errors(
    tmp_path: Path, args: list[str], message: str
) -> None:
    result = run_kombo_process(
        "sandbox", "--port", "0", *args, env={"TMPDIR": str(tmp_path)}, timeout=20
    )
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert [line for line in result.stderr.splitlines() if line.startswith("Error:")] == [
        next(line for line in result.stderr.splitlines() if line.startswith("Error:"))
    ]
    assert list(tmp_path.iterdir()) == []


def test_a_candidates_file_naming_an_integration_not_served_stops_the_start(tmp_path: Path) -> None:
    path = tmp_path / "candidates.json"
    path.write_text(json.dumps([{"id": "cand-1", "integration_id": "acme:1"}]))
    result = run_kombo_process("sandbox", "--port", "0", "--candidates", str(path), timeout=20)
    assert result.returncode == 2
    assert 'belongs to the integration "acme:1", which the sandbox does not serve' in result.stderr
    assert "Traceback" not in result.stderr


def test_a_candidates_file_gives_each_integration_its_candidates(tmp_path: Path) -> None:
    path = tmp_path / "candidates.json"
    path.write_text(
        json.dumps(
            [
                {"id": "cand-ada", "first_name": "Ada"},
                {"id": "cand-bob", "first_name": "Bob", "integration_id": GLOBEX},
            ]
        )
    )
    args = ["--candidates", str(path), "--integration-id", ACME, "--integration-id", GLOBEX]
    with running_sandbox("--data-dir", str(tmp_path / "d"), "--strict-ids", *args) as (_, banner):
        pass
    assert f"Candidates of {ACME} (GET /ats/candidates?email=...):\n  cand-ada  Ada\n" in banner
    assert f"Candidates of {GLOBEX} (GET /ats/candidates?email=...):\n  cand-bob  Bob\n" in banner
