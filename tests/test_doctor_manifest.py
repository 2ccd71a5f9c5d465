"""`kombo doctor --manifest FILE`: every integration a manifest's rows go to, checked before
the run, over real HTTP against the loopback Kombo serving several integrations, by the
installed `kombo`."""

from __future__ import annotations

import json
import re
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kombo_cli.sandbox.exchange import Reply, Request
from kombo_cli.sandbox.sample_candidates import FRANK_DOE_ID
from tests.helpers import API_KEY, INTEGRATION_ID, Ran, run_kombo_process
from tests.recording_server import KomboServer

ACME = "workday:acme"
GLOBEX = "lever:globex"
INITECH = "greenhouse:initech"
INTEGRATION_LINE = re.compile(r"^(?:ok  |FAIL|warn|skip)  Integration (?!ID:)(\S+): ")


def write_manifest(folder: Path, integrations: list[str | None], name: str = "uploads.csv") -> Path:
    """A CSV manifest with a row per entry of `integrations` (None: a row naming none)."""
    (folder / "cv.pdf").write_bytes(b"%PDF-1.4\n%%EOF\n")
    lines = ["candidate_id,file,integration_id"]
    lines += [f"{FRANK_DOE_ID},cv.pdf,{integration or ''}" for integration in integrations]
    path = folder / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def doctor(server: KomboServer, folder: Path, *args: str, integration_id: str | None = None) -> Ran:
    env = {"KOMBO_API_KEY": API_KEY, "KOMBO_BASE_URL": server.base_url}
    if integration_id is not None:
        env["KOMBO_INTEGRATION_ID"] = integration_id
    return run_kombo_process("doctor", *args, env=env, cwd=folder)


def checked_in_order(result: Ran) -> list[str]:
    """The integrations the checklist has an `Integration <id>` line for, in its order."""
    found = (INTEGRATION_LINE.match(line) for line in result.stdout.splitlines())
    return [match.group(1) for match in found if match]


def lookups(server: KomboServer) -> Counter[str]:
    """How often each integration was looked up (GET /integrations/{id})."""
    prefix = "/v1/integrations/"
    return Counter(r.path[len(prefix) :] for r in server.requests if r.path.startswith(prefix))


@pytest.fixture
def server() -> Iterator[KomboServer]:
    # test:integration (the run's own in these tests) first, then three customers.
    with KomboServer(
        api_key=API_KEY, integration_id=INTEGRATION_ID, integration_ids=[ACME, GLOBEX, INITECH]
    ) as server:
        yield server


def test_every_integration_is_checked_once_the_runs_own_first(
    server: KomboServer, tmp_path: Path
) -> None:
    manifest = write_manifest(tmp_path, [ACME, None, GLOBEX, ACME, INTEGRATION_ID, INITECH])

    result = doctor(server, tmp_path, "--manifest", str(manifest), integration_id=INTEGRATION_ID)

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr == ""
    order = [INTEGRATION_ID, ACME, GLOBEX, INITECH]
    assert f"ok    Manifest: {manifest}: 6 rows for 4 integrations" in result.stdout
    assert checked_in_order(result) == order
    for integration in order:
        assert f"ok    {integration}: Attach to candidates: available" in result.stdout
        assert f"ok    {integration}: Attach to applications: available" in result.stdout
    # The key once, each integration once; none of them takes an X-Integration-Id.
    assert [r.path for r in server.requests].count("/v1/check-api-key") == 1
    assert lookups(server) == Counter(order)
    assert len(server.requests) == 1 + len(order)
    assert all(r.header("X-Integration-Id") is None for r in server.requests)
    assert API_KEY not in result.stdout + result.stderr


@pytest.mark.parametrize("error_status", [409, 401], ids=["setup-incomplete", "invalid"])
def test_an_integration_that_cannot_take_uploads_fails_and_the_others_are_still_checked(
    tmp_path: Path, error_status: int
) -> None:
    with KomboServer(
        api_key=API_KEY,
        integration_id=INTEGRATION_ID,
        integration_ids=[ACME, GLOBEX, INITECH],
        integration_errors={GLOBEX: error_status},
    ) as server:
        manifest = write_manifest(tmp_path, [ACME, GLOBEX, INITECH])
        result = doctor(server, tmp_path, "--manifest", str(manifest))
        # The same integration alone, as plain doctor checks it: the same exit code.
        alone = doctor(server, tmp_path, integration_id=GLOBEX)

    assert result.returncode == alone.returncode == 5, result.stdout + alone.stdout
    assert f"FAIL  Integration {GLOBEX}: Kombo Sandbox, status " in result.stdout
    assert "    Hint: the customer has to finish setting up or reconnect" in result.stdout
    for fine in (ACME, INITECH):
        assert f"ok    Integration {fine}: Kombo Sandbox, status ACTIVE, setup COMPLETED" in (
            result.stdout
        )
        assert f"ok    {fine}: Attach to candidates: available" in result.stdout
    assert result.stderr == f"Error: 1 check failed: Integration {GLOBEX}.\n"


def test_an_integration_kombo_does_not_know_points_at_the_manifest(
    server: KomboServer, tmp_path: Path
) -> None:
    manifest = write_manifest(tmp_path, ["bamboohr:gone", ACME])

    result = doctor(server, tmp_path, "--manifest", str(manifest))

    assert result.returncode == 5
    assert "FAIL  Integration bamboohr:gone: " in result.stdout
    assert "PLATFORM.INTEGRATION_NOT_FOUND" in result.stdout
    assert f"    Hint: check the integration_id of the rows of {manifest} that name it" in (
        result.stdout
    )
    assert "skip  bamboohr:gone: Attach to candidates: not checked" in result.stdout
    assert f"ok    Integration {ACME}: " in result.stdout


def test_rows_that_all_name_their_integration_need_no_integration_id(
    server: KomboServer, tmp_path: Path
) -> None:
    manifest = write_manifest(tmp_path, [ACME, GLOBEX])

    result = doctor(server, tmp_path, "--manifest", str(manifest))

    assert result.returncode == 0, result.stdout + result.stderr
    assert (
        f"ok    Integration ID: not needed: every row of {manifest} names its integration"
        in result.stdout
    )
    assert lookups(server) == Counter([ACME, GLOBEX])


def test_rows_without_integration_need_the_integration_id(
    server: KomboServer, tmp_path: Path
) -> None:
    manifest = write_manifest(tmp_path, [ACME, None, GLOBEX])

    result = doctor(server, tmp_path, "--manifest", str(manifest))

    assert result.returncode == 3
    assert (
        f"FAIL  Integration ID: not set, and line 3 of {manifest} names no integration_id"
        in result.stdout
    )
    assert "    Hint: export KOMBO_INTEGRATION_ID=... for the rows without one" in result.stdout
    # What can be checked still is: the key, and the integrations the rows name.
    assert "ok    API key accepted: " in result.stdout
    assert lookups(server) == Counter([ACME, GLOBEX])
    assert result.stderr == "Error: 1 check failed: Integration ID.\n"


def test_the_first_failure_decides_the_exit_code(tmp_path: Path) -> None:
    with KomboServer(
        api_key=API_KEY, integration_ids=[ACME], integration_errors={ACME: 409}
    ) as server:
        manifest = write_manifest(tmp_path, [None, ACME])
        result = doctor(server, tmp_path, "--manifest", str(manifest))

    # The missing integration ID (3) comes before the integration not set up (5).
    assert result.returncode == 3
    assert f"FAIL  Integration {ACME}: " in result.stdout
    assert result.stderr == f"Error: 2 checks failed: Integration ID, Integration {ACME}.\n"


@pytest.mark.parametrize("kind", ["missing", "folder", "utf-16"])
def test_an_unreadable_manifest_is_a_usage_error_as_for_attach(
    server: KomboServer, tmp_path: Path, kind: str
) -> None:
    manifest = tmp_path / "uploads.csv"
    if kind == "folder":
        manifest.mkdir()
    elif kind == "utf-16":
        manifest.write_text("candidate_id,file\n", encoding="utf-16")
    env = {
        "KOMBO_API_KEY": API_KEY,
        "KOMBO_INTEGRATION_ID": INTEGRATION_ID,
        "KOMBO_BASE_URL": server.base_url,
    }

    result = run_kombo_process("doctor", "--manifest", str(manifest), env=env, cwd=tmp_path)
    attach = run_kombo_process("attach", "--manifest", str(manifest), env=env, cwd=tmp_path)

    assert result.returncode == attach.returncode == 2
    assert result.stdout == ""
    first, *rest = result.stderr.splitlines()
    assert first.startswith("Error: Manifest ") and first.count(". ") == 0
    assert [line for line in rest if not line.startswith("  Hint: ")] == []
    assert result.stderr == attach.stderr
    assert server.requests == []


def test_malformed_rows_are_a_warning_with_the_command_that_shows_them(
    server: KomboServer, tmp_path: Path
) -> None:
    manifest = write_manifest(tmp_path, [ACME])
    with manifest.open("a", encoding="utf-8") as rows:
        rows.write(",cv.pdf,\n")
        rows.write(f"{FRANK_DOE_ID},,{GLOBEX}\n")

    result = doctor(server, tmp_path, "--manifest", "uploads.csv")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "warn  Manifest rows: 2 malformed rows (the first: line 3: " in result.stdout
    assert (
        "    Hint: run `kombo attach --manifest uploads.csv --dry-run` to see each" in result.stdout
    )


def test_json_keeps_its_shape_and_names_each_checks_integration(
    server: KomboServer, tmp_path: Path
) -> None:
    manifest = write_manifest(tmp_path, [ACME, GLOBEX])

    result = doctor(server, tmp_path, "--manifest", str(manifest), "--json")
    plain = doctor(server, tmp_path, "--json", integration_id=INTEGRATION_ID)

    assert result.returncode == plain.returncode == 0, result.stdout + result.stderr
    report, plain_report = json.loads(result.stdout), json.loads(plain.stdout)
    assert set(report) == set(plain_report) == {"status", "exit_code", "checks"}
    assert (report["status"], report["exit_code"]) == ("ok", 0)
    keys = {"name", "status", "detail", "hint", "integration_id"}
    assert all(set(check) == keys for check in report["checks"] + plain_report["checks"])
    about = {check["name"]: check["integration_id"] for check in report["checks"]}
    assert about == {
        "API key": None,
        "Integration ID": None,
        "Kombo API": None,
        "Manifest": None,
        "API key accepted": None,
        f"Integration {ACME}": ACME,
        f"{ACME}: Attach to candidates": ACME,
        f"{ACME}: Attach to applications": ACME,
        f"Integration {GLOBEX}": GLOBEX,
        f"{GLOBEX}: Attach to candidates": GLOBEX,
        f"{GLOBEX}: Attach to applications": GLOBEX,
    }
    # Plain doctor names its checks as before, and says which integration they are about.
    plain_about = {check["name"]: check["integration_id"] for check in plain_report["checks"]}
    assert plain_about["Integration"] == INTEGRATION_ID
    assert plain_about["Attach to candidates"] == INTEGRATION_ID
    assert plain_about["API key accepted"] is None


def test_many_integrations_are_all_checked_and_summed_up(tmp_path: Path) -> None:
    customers = [f"workday:customer{number:03d}" for number in range(60)]
    broken = [customers[5], customers[40]]
    with KomboServer(
        api_key=API_KEY,
        integration_ids=customers,
        integration_errors={customer: 409 for customer in broken},
    ) as server:
        manifest = write_manifest(tmp_path, [*customers, *customers])
        result = doctor(server, tmp_path, "--manifest", str(manifest))
        as_json = doctor(server, tmp_path, "--manifest", str(manifest), "--json")
        assert lookups(server) == Counter(customers * 2)

    assert result.returncode == as_json.returncode == 5
    lines = result.stdout.splitlines()
    assert len(lines) < 20, result.stdout
    assert "ok    Integration: Kombo Sandbox, status ACTIVE, setup COMPLETED (58 integrations)" in (
        lines
    )
    assert "ok    Attach to candidates: available (60 integrations)" in lines
    assert "FAIL  Integration: Kombo Sandbox, status ACTIVE, setup INCOMPLETE (2 integrations)" in (
        lines
    )
    assert f"    Integrations: {broken[0]}, {broken[1]}" in lines
    assert result.stderr == "Error: 2 checks failed: Integration (2).\n"
    # --json lists every check of every integration.
    checks = json.loads(as_json.stdout)["checks"]
    assert Counter(c["integration_id"] for c in checks if c["integration_id"]) == Counter(
        {customer: 3 for customer in customers}
    )


class SlowLookups(KomboServer):
    """Answers GET /integrations/{id} after a pause, counting the lookups in flight."""

    def __init__(self, **config: Any) -> None:
        super().__init__(**config)
        self.in_flight = 0
        self.peak = 0
        self._counting = threading.Lock()

    def respond(self, request: Request) -> Reply | None:
        if not request.path.startswith("/v1/integrations/"):
            return super().respond(request)
        with self._counting:
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
        try:
            time.sleep(0.2)
            return super().respond(request)
        finally:
            with self._counting:
                self.in_flight -= 1


def test_integrations_are_looked_up_a_few_at_a_time(tmp_path: Path) -> None:
    customers = [f"lever:customer{number}" for number in range(12)]
    with SlowLookups(api_key=API_KEY, integration_ids=customers) as server:
        manifest = write_manifest(tmp_path, customers)
        result = doctor(server, tmp_path, "--manifest", str(manifest))

    assert result.returncode == 0, result.stdout + result.stderr
    assert 1 < server.peak <= 4
    # Printed in the manifest's order, whichever answer came first.
    assert checked_in_order(result) == customers


def test_the_library_asks_without_a_default_integration(
    server: KomboServer, tmp_path: Path
) -> None:
    from kombo_cli.config.settings import SettingFlags, resolve_settings
    from kombo_cli.errors import ConfigError
    from kombo_cli.library import Kombo

    environ = {"KOMBO_API_KEY": API_KEY, "KOMBO_BASE_URL": server.base_url}
    settings = resolve_settings(SettingFlags(), environ, tmp_path, tmp_path / "config")
    with Kombo.from_settings(settings, require_credentials=False) as kombo:
        assert kombo.integration_id is None
        assert kombo.check_api_key()["environment_id"]
        assert kombo.integration_details(ACME)["id"] == ACME
        with pytest.raises(ConfigError, match="KOMBO_INTEGRATION_ID is not set"):
            kombo.integration_details()

    assert [r.path for r in server.requests] == ["/v1/check-api-key", f"/v1/integrations/{ACME}"]
    assert all(r.header("X-Integration-Id") is None for r in server.requests)
