"""The retry rules, branch by branch, through real HTTP on loopback.

`deliver` runs in-process against the strict loopback Kombo so every branch can be reached
quickly: only the pauses are recorded instead of slept. The end-to-end tests in
test_cli_reliability.py run the installed executable and really wait.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

import pytest

from kombo_cli.api.client import KomboClient
from kombo_cli.api.retry import (
    MAX_DELAY_S,
    Retryability,
    RetryNotice,
    RetryPolicy,
    call_idempotent,
    classify,
    parse_retry_after,
)
from kombo_cli.api.targets import Target
from kombo_cli.errors import ApiError, ExitCode, Interrupted, NetworkError, OutcomeUnknown
from kombo_cli.upload.delivery import deliver
from kombo_cli.upload.ledger import Ledger, Listing
from kombo_cli.upload.plan import AttachmentPlan, plan_attachment
from tests.helpers import API_KEY, CANDIDATE_ID, INTEGRATION_ID, make_pdf, unused_port
from tests.recording_server import KomboServer, ScriptedResponse, StoredAttachment, error_envelope
from tests.seeding import seed_file, tolerate_odd_dates

POST_PATH = f"/v1/ats/candidates/{CANDIDATE_ID}/attachments"
RATE_LIMITED = error_envelope("Rate limit exceeded.", code="PLATFORM.RATE_LIMIT_EXCEEDED")
HTML_503 = b"<html><head><title>503 Service Temporarily Unavailable</title></head></html>"


class Recorder:
    """Stands in for time.sleep and the retry notice callback; remembers both."""

    def __init__(self) -> None:
        self.sleeps: list[float] = []
        self.notices: list[RetryNotice] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)

    def notice(self, notice: RetryNotice) -> None:
        self.notices.append(notice)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def plan(tmp_path: Path) -> AttachmentPlan:
    path = tmp_path / "cv.pdf"
    path.write_bytes(make_pdf())
    return plan_attachment(Target.parse(CANDIDATE_ID, application=False), str(path))


def client_for(server: KomboServer, read_timeout_s: float = 30.0) -> KomboClient:
    return KomboClient(server.base_url, API_KEY, INTEGRATION_ID, read_timeout_s=read_timeout_s)


def policy(retries: int = 3) -> RetryPolicy:
    # No jitter, so the backoff schedule can be asserted exactly.
    return RetryPolicy(retries=retries, jitter=lambda: 0.0)


def run(server: KomboServer, plan: AttachmentPlan, recorder: Recorder, **kwargs):  # type: ignore[no-untyped-def]
    retries = kwargs.pop("retries", 3)
    client = kwargs.pop("client", None) or client_for(server)
    return deliver(
        client, plan, policy(retries), on_retry=recorder.notice, sleep=recorder.sleep, **kwargs
    )


def kombo_500() -> ScriptedResponse:
    """Kombo's own error answer: it has finished with the request, one look tells."""
    return ScriptedResponse(status=500, body=error_envelope("Oops.", code="PLATFORM.UNKNOWN_ERROR"))


def requests_made(server: KomboServer) -> list[tuple[str, str]]:
    return [(request.method, request.path) for request in server.requests]


def download_of(attachment: StoredAttachment) -> tuple[str, str]:
    """The request that fetches a stored file to compare its bytes."""
    return ("GET", f"/files/{attachment.id}")


# -- safe to retry: refused before any work ----------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "expected_wait"),
    [
        ({"Retry-After": "2"}, 2.0),
        ({"retry-after-ms": "1500"}, 1.5),
        ({"Retry-After": "7", "retry-after-ms": "250"}, 0.25),
        ({"Retry-After": "3600"}, MAX_DELAY_S),
        ({}, 1.0),
    ],
    ids=["seconds", "milliseconds", "ms-wins", "capped", "none-backoff"],
)
def test_a_429_waits_as_asked_then_succeeds_once(
    kombo_server: KomboServer,
    plan: AttachmentPlan,
    recorder: Recorder,
    headers: dict[str, str],
    expected_wait: float,
) -> None:
    kombo_server.queue(ScriptedResponse(status=429, body=RATE_LIMITED, headers=headers))

    outcome = run(kombo_server, plan, recorder)

    assert recorder.sleeps == [pytest.approx(expected_wait)]
    assert outcome.attempts == 2
    assert outcome.confirmed_by_listing is False
    assert requests_made(kombo_server) == [("POST", POST_PATH), ("POST", POST_PATH)]
    assert [a.name for a in kombo_server.attachments] == ["cv.pdf"]
    assert recorder.notices[0].reason == "HTTP 429 (PLATFORM.RATE_LIMIT_EXCEEDED)"
    assert recorder.notices[0].next_step == f"retrying in {expected_wait:.1f} s"


def test_a_429_with_an_http_date_waits_until_then(
    kombo_server: KomboServer, plan: AttachmentPlan, recorder: Recorder
) -> None:
    when = datetime.now(timezone.utc) + timedelta(seconds=30)
    kombo_server.queue(
        ScriptedResponse(
            status=429, body=RATE_LIMITED, headers={"Retry-After": format_datetime(when, True)}
        )
    )

    run(kombo_server, plan, recorder)

    assert 27 <= recorder.sleeps[0] <= 30


def test_without_retry_after_the_backoff_doubles_and_gives_up_after_the_budget(
    kombo_server: KomboServer, plan: AttachmentPlan, recorder: Recorder
) -> None:
    for _ in range(4):
        kombo_server.queue(ScriptedResponse(status=429, body=RATE_LIMITED))

    with pytest.raises(ApiError) as caught:
        run(kombo_server, plan, recorder)

    assert recorder.sleeps == [1.0, 2.0, 4.0]
    assert caught.value.exit_code == ExitCode.NETWORK
    assert caught.value.attempts == 4
    assert caught.value.message.endswith("; gave up after 4 attempts.")
    assert requests_made(kombo_server) == [("POST", POST_PATH)] * 4
    assert kombo_server.attachments == []


def test_the_jitter_spreads_the_pause_up_to_half_again() -> None:
    assert RetryPolicy(jitter=lambda: 0.999).delay_s(1) == pytest.approx(1.4995)
    assert RetryPolicy(jitter=lambda: 0.5).delay_s(3) == pytest.approx(5.0)
    assert RetryPolicy(jitter=lambda: 0.999).delay_s(10) == MAX_DELAY_S


@pytest.mark.parametrize(
    "response",
    [
        ScriptedResponse(
            status=503,
            body=error_envelope("The ATS is down.", code="REMOTE.SERVICE_UNAVAILABLE"),
        ),
        ScriptedResponse(
            status=429,
            body=error_envelope("Too many.", code="PLATFORM.CONCURRENCY_LIMIT_EXCEEDED"),
            headers={"Retry-After": "1"},
        ),
    ],
    ids=["json-503", "concurrency-429"],
)
def test_refusals_before_any_work_are_retried_without_listing(
    kombo_server: KomboServer,
    plan: AttachmentPlan,
    recorder: Recorder,
    response: ScriptedResponse,
) -> None:
    kombo_server.queue(response)

    outcome = run(kombo_server, plan, recorder)

    assert outcome.attempts == 2
    assert requests_made(kombo_server) == [("POST", POST_PATH), ("POST", POST_PATH)]
    assert len(kombo_server.attachments) == 1


def test_a_refused_connection_is_retried_then_given_up(
    plan: AttachmentPlan, recorder: Recorder
) -> None:
    client = KomboClient(f"http://127.0.0.1:{unused_port()}/v1", API_KEY, INTEGRATION_ID)

    with pytest.raises(NetworkError) as caught:
        deliver(client, plan, policy(2), on_retry=recorder.notice, sleep=recorder.sleep)

    assert recorder.sleeps == [1.0, 2.0]
    assert caught.value.message.startswith("Could not connect to 127.0.0.1:")
    assert caught.value.message.endswith("gave up after 3 attempts.")
    assert "may have been stored" not in (caught.value.hint or "")


# -- never retried -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code", "exit_code"),
    [
        (400, "PLATFORM.INPUT_INVALID", ExitCode.REJECTED),
        (401, "PLATFORM.AUTHENTICATION_INVALID", ExitCode.AUTH),
        (403, "INTEGRATION.PERMISSION_MISSING", ExitCode.AUTH),
        (404, None, ExitCode.REJECTED),
        (409, "INTEGRATION.SETUP_SYNC_PENDING", ExitCode.REJECTED),
        (422, "REMOTE.INPUT_INVALID", ExitCode.REJECTED),
    ],
)
def test_rejections_are_never_retried(
    kombo_server: KomboServer,
    plan: AttachmentPlan,
    recorder: Recorder,
    status: int,
    code: str | None,
    exit_code: ExitCode,
) -> None:
    kombo_server.queue(ScriptedResponse(status=status, body=error_envelope("No.", code=code)))

    with pytest.raises(ApiError) as caught:
        run(kombo_server, plan, recorder)

    assert caught.value.exit_code == exit_code
    assert caught.value.message == "No."
    assert recorder.sleeps == []
    assert requests_made(kombo_server) == [("POST", POST_PATH)]


# -- ambiguous: look before sending again ------------------------------------------------------


@pytest.mark.parametrize(
    "response",
    [
        ScriptedResponse(status=500, body=error_envelope("Oops.", code="PLATFORM.UNKNOWN_ERROR")),
        ScriptedResponse(status=502, body=b"Bad gateway", headers={"Content-Type": "text/plain"}),
        ScriptedResponse(status=504, body=error_envelope("Slow.", code="PLATFORM.TASK_TIMED_OUT")),
        ScriptedResponse(drop_connection=True),
        ScriptedResponse(status=500, body=error_envelope("Oops."), cut_off=True),
        ScriptedResponse(status=503, body=HTML_503, headers={"Content-Type": "text/html"}),
        ScriptedResponse(
            status=520, body=b"error code: 520", headers={"Content-Type": "text/plain"}
        ),
        ScriptedResponse(
            status=524, body=b"error code: 524", headers={"Content-Type": "text/plain"}
        ),
    ],
    ids=["500", "502", "504", "dropped", "cut-off-500", "html-503", "520", "524"],
)
def test_an_ambiguous_failure_that_stored_the_file_is_confirmed_and_not_sent_again(
    kombo_server: KomboServer,
    plan: AttachmentPlan,
    recorder: Recorder,
    response: ScriptedResponse,
) -> None:
    response.store = True
    kombo_server.queue(response)

    outcome = run(kombo_server, plan, recorder)

    assert outcome.confirmed_by_listing is True
    # No listing from before the upload: the stored file's bytes are what proves it.
    assert outcome.confirmed_by == "content"
    assert outcome.http_status is None
    assert "so it was not sent again" in outcome.notes[0]
    assert "earlier" not in outcome.notes[0]
    assert recorder.sleeps == [3.0]  # the settle pause before listing
    [stored] = kombo_server.attachments
    assert requests_made(kombo_server) == [
        ("POST", POST_PATH),
        ("GET", POST_PATH),
        download_of(stored),
    ]
    assert stored.name == "cv.pdf"


@pytest.mark.parametrize(
    "response",
    [
        ScriptedResponse(status=500, body=error_envelope("Oops.", code="PLATFORM.UNKNOWN_ERROR")),
        ScriptedResponse(status=502, body=b"<html><title>502</title></html>"),
        ScriptedResponse(drop_connection=True),
    ],
    ids=["500", "502", "dropped"],
)
def test_an_ambiguous_failure_that_stored_nothing_is_sent_again_once(
    kombo_server: KomboServer,
    plan: AttachmentPlan,
    recorder: Recorder,
    response: ScriptedResponse,
) -> None:
    kombo_server.queue(response)

    outcome = run(kombo_server, plan, recorder)

    # Kombo's own error answer means it is done with the request: one look is enough. After a
    # proxy's 502 or a dropped connection Kombo may still be storing it: a second, later look.
    kombo_answered = response.status == 500
    looks = [("GET", POST_PATH)] * (1 if kombo_answered else 2)
    assert outcome.confirmed_by_listing is False
    assert outcome.attempts == 2
    assert requests_made(kombo_server) == [("POST", POST_PATH), *looks, ("POST", POST_PATH)]
    assert [a.name for a in kombo_server.attachments] == ["cv.pdf"]
    assert recorder.sleeps == ([3.0] if kombo_answered else [3.0, 9.0])
    assert recorder.notices[0].next_step == "checking the candidate's attachments in 3.0 s"
    assert recorder.notices[-1].next_step == "cv.pdf is not among the attachments; sending it again"


def test_a_success_cut_off_in_transit_is_never_sent_twice(
    kombo_server: KomboServer, plan: AttachmentPlan, recorder: Recorder
) -> None:
    kombo_server.queue(
        ScriptedResponse(
            status=200, body={"status": "success", "data": {}}, cut_off=True, store=True
        )
    )

    outcome = run(kombo_server, plan, recorder)

    # urllib3 2 notices the short body and kombo checks by listing; urllib3 1.26 reads it as
    # a 2xx without the usual JSON, which is a success too. Either way: one upload, stored.
    assert [r.method for r in kombo_server.requests].count("POST") == 1
    assert len(kombo_server.attachments) == 1
    assert outcome.attempts == 1


def test_a_read_timeout_after_storing_is_confirmed_by_listing(
    kombo_server: KomboServer, plan: AttachmentPlan, recorder: Recorder
) -> None:
    kombo_server.queue(ScriptedResponse(store=True, delay_s=3))

    outcome = run(kombo_server, plan, recorder, client=client_for(kombo_server, 0.5))

    assert outcome.confirmed_by_listing is True
    assert "did not answer within 0.5 s" in outcome.notes[0]
    assert len(kombo_server.attachments) == 1


def test_with_no_retries_left_an_unstored_upload_says_so(
    kombo_server: KomboServer, plan: AttachmentPlan, recorder: Recorder
) -> None:
    kombo_server.queue(kombo_500())

    with pytest.raises(ApiError) as caught:
        run(kombo_server, plan, recorder, retries=0)

    # Even with retries off, the listing turns "may have been stored" into a fact.
    assert caught.value.hint is not None
    assert caught.value.hint.startswith("it was not stored")
    assert requests_made(kombo_server) == [("POST", POST_PATH), ("GET", POST_PATH)]
    assert kombo_server.attachments == []


def test_when_the_listing_fails_the_outcome_is_unknown_and_nothing_is_resent(
    kombo_server: KomboServer, plan: AttachmentPlan, recorder: Recorder
) -> None:
    kombo_server.queue(
        ScriptedResponse(status=500, store=True),
        ScriptedResponse(
            status=403,
            body=error_envelope("Missing permission.", code="INTEGRATION.PERMISSION_MISSING"),
        ),
    )

    with pytest.raises(OutcomeUnknown) as caught:
        run(kombo_server, plan, recorder)

    error = caught.value
    assert error.exit_code == ExitCode.NETWORK
    assert error.message == (
        "cv.pdf may or may not have been stored: the upload failed (HTTP 500) and the"
        " candidate's attachments could not be listed to check (HTTP 403"
        " (INTEGRATION.PERMISSION_MISSING))."
    )
    assert error.hint is not None
    assert f"kombo attachments list {CANDIDATE_ID}" in error.hint
    assert requests_made(kombo_server) == [("POST", POST_PATH), ("GET", POST_PATH)]
    assert len(kombo_server.attachments) == 1


def test_a_listing_refused_with_429_is_retried(
    kombo_server: KomboServer, plan: AttachmentPlan, recorder: Recorder
) -> None:
    kombo_server.queue(
        ScriptedResponse(status=500, store=True),
        ScriptedResponse(status=429, body=RATE_LIMITED, headers={"Retry-After": "1"}),
    )

    outcome = run(kombo_server, plan, recorder)

    assert outcome.confirmed_by_listing is True
    assert recorder.sleeps == [3.0, 1.0]
    assert requests_made(kombo_server) == [
        ("POST", POST_PATH),
        ("GET", POST_PATH),
        ("GET", POST_PATH),
        download_of(kombo_server.attachments[0]),
    ]


@pytest.mark.parametrize(
    ("response", "timeout"),
    [
        (ScriptedResponse(status=504), 30.0),
        (
            ScriptedResponse(
                status=500, body=error_envelope("Too slow.", code="PLATFORM.TASK_TIMED_OUT")
            ),
            30.0,
        ),
        (ScriptedResponse(delay_s=3), 0.5),
    ],
    ids=["504", "task-timed-out", "read-timeout"],
)
def test_after_a_timeout_a_file_not_listed_yet_is_not_sent_again(
    kombo_server: KomboServer,
    plan: AttachmentPlan,
    recorder: Recorder,
    response: ScriptedResponse,
    timeout: float,
) -> None:
    # Kombo may still be storing it; a second upload now could make two.
    kombo_server.queue(response)

    with pytest.raises(OutcomeUnknown) as caught:
        run(kombo_server, plan, recorder, client=client_for(kombo_server, timeout))

    assert "Kombo may still be working on it" in caught.value.message
    assert caught.value.hint is not None
    assert "in a few minutes" in caught.value.hint
    # Kombo's own answer means it is done with the request: one look. A gateway's 504 or
    # the client's timeout: a second, later look first.
    looks = 1 if response.status == 500 else 2
    assert [r.method for r in kombo_server.requests] == ["POST"] + ["GET"] * looks


def _earlier(created_at: str | None) -> StoredAttachment:
    attachment = StoredAttachment(
        target_kind="candidate",
        target_id=CANDIDATE_ID,
        name="cv.pdf",
        type="CV",
        content_type="application/pdf",
    )
    attachment.created_at = created_at  # type: ignore[assignment]
    return attachment


def test_an_older_file_of_the_same_name_is_not_taken_for_this_upload(
    kombo_server: KomboServer, plan: AttachmentPlan, recorder: Recorder
) -> None:
    earlier = seed_file(kombo_server, CANDIDATE_ID, "cv.pdf", b"an older CV")
    kombo_server.queue(kombo_500())

    outcome = run(kombo_server, plan, recorder)

    # Not stored by the lost attempt, so it was sent again: the old file plus this one.
    assert outcome.confirmed_by_listing is False
    assert requests_made(kombo_server) == [
        ("POST", POST_PATH),
        ("GET", POST_PATH),
        download_of(earlier),
        ("POST", POST_PATH),
    ]
    assert len(kombo_server.attachments) == 2


@pytest.mark.parametrize("created_at", [None, "not a date", "0001-01-01T00:00:00+01:00"])
def test_an_undated_file_of_the_same_name_that_cannot_be_compared_makes_the_outcome_unknown(
    kombo_server: KomboServer, plan: AttachmentPlan, recorder: Recorder, created_at: str | None
) -> None:
    # Listed without bytes the client can fetch: neither its date nor its name can decide.
    kombo_server.attachments.append(_earlier(created_at))
    tolerate_odd_dates(kombo_server)
    kombo_server.queue(ScriptedResponse(status=502))

    with pytest.raises(OutcomeUnknown) as caught:
        run(kombo_server, plan, recorder)

    assert "could not be compared" in caught.value.message
    assert kombo_server.attachments[0].id in caught.value.message
    assert [r.method for r in kombo_server.requests if r.path == POST_PATH] == ["POST", "GET"]
    assert len(kombo_server.attachments) == 1


@pytest.mark.parametrize("created_at", [None, "not a date", "0001-01-01T00:00:00+01:00"])
def test_an_undated_file_of_the_same_name_with_other_bytes_is_not_this_upload(
    kombo_server: KomboServer, plan: AttachmentPlan, recorder: Recorder, created_at: str | None
) -> None:
    earlier = seed_file(kombo_server, CANDIDATE_ID, "cv.pdf", b"another CV", created_at=created_at)
    tolerate_odd_dates(kombo_server)
    kombo_server.queue(ScriptedResponse(status=502))

    outcome = run(kombo_server, plan, recorder)

    # Two looks (a proxy's 502), both showing only the other file: sent again, once.
    assert outcome.confirmed_by_listing is False
    assert outcome.attempts == 2
    assert [r.method for r in kombo_server.requests if r.path == POST_PATH] == [
        "POST",
        "GET",
        "GET",
        "POST",
    ]
    assert sorted(a.data or b"" for a in kombo_server.attachments) == sorted(
        [b"another CV", plan.local_file.path.read_bytes()]  # type: ignore[union-attr]
    )
    assert earlier.id in {a.id for a in kombo_server.attachments}


def test_an_undated_listing_with_a_baseline_is_decided_by_counting(
    kombo_server: KomboServer, plan: AttachmentPlan, recorder: Recorder
) -> None:
    kombo_server.attachments.append(_earlier(None))
    before = Listing(client_for(kombo_server).list_attachments(plan.target))
    kombo_server.queue(ScriptedResponse(status=502, store=True))

    outcome = run(kombo_server, plan, recorder, listed_before=before)

    assert outcome.confirmed_by == "id"
    assert "1 new attachment since they were listed before the upload" in outcome.notes[0]
    assert len(kombo_server.attachments) == 2


def test_with_a_baseline_an_unchanged_count_means_not_stored(
    kombo_server: KomboServer, plan: AttachmentPlan, recorder: Recorder
) -> None:
    kombo_server.attachments.append(_earlier(None))
    before = Listing(client_for(kombo_server).list_attachments(plan.target))
    kombo_server.queue(kombo_500())

    outcome = run(kombo_server, plan, recorder, listed_before=before)

    assert outcome.confirmed_by_listing is False
    assert [r.method for r in kombo_server.requests] == ["GET", "POST", "GET", "POST"]
    assert len(kombo_server.attachments) == 2


def test_a_file_this_run_just_stored_under_the_same_name_is_not_taken_for_a_lost_one(
    kombo_server: KomboServer, tmp_path: Path, recorder: Recorder
) -> None:
    # Two different files, both named cv.pdf, to one candidate in one run. The first is
    # stored; the second's reply is lost and it was not stored. It must be sent again.
    target = Target.parse(CANDIDATE_ID, application=False)
    plans = []
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        path = tmp_path / folder / "cv.pdf"
        path.write_bytes(make_pdf() + folder.encode())
        plans.append(plan_attachment(target, str(path)))
    ledger = Ledger()

    run(kombo_server, plans[0], recorder, ledger=ledger)
    kombo_server.queue(ScriptedResponse(status=502))
    second = run(kombo_server, plans[1], recorder, ledger=ledger)

    assert second.confirmed_by_listing is False
    assert sorted(a.data for a in kombo_server.attachments) == sorted(
        [make_pdf() + b"a", make_pdf() + b"b"]
    )


# -- Ctrl-C and progress ---------------------------------------------------------------------


def test_ctrl_c_while_waiting_to_retry_says_nothing_was_stored(
    kombo_server: KomboServer, plan: AttachmentPlan
) -> None:
    kombo_server.queue(ScriptedResponse(status=429, body=RATE_LIMITED))

    def interrupted_sleep(_seconds: float) -> None:
        raise KeyboardInterrupt

    with pytest.raises(Interrupted) as caught:
        deliver(client_for(kombo_server), plan, policy(), sleep=interrupted_sleep)

    assert caught.value.message == "Interrupted while waiting to retry cv.pdf; it was not stored."
    assert caught.value.exit_code == ExitCode.INTERRUPTED


def test_ctrl_c_while_about_to_check_says_to_look(
    kombo_server: KomboServer, plan: AttachmentPlan
) -> None:
    kombo_server.queue(ScriptedResponse(status=500, store=True))

    def interrupted_sleep(_seconds: float) -> None:
        raise KeyboardInterrupt

    with pytest.raises(Interrupted) as caught:
        deliver(client_for(kombo_server), plan, policy(), sleep=interrupted_sleep)

    assert caught.value.message == "Interrupted while checking whether cv.pdf was stored."
    assert caught.value.hint is not None
    assert "kombo attachments list" in caught.value.hint


def test_the_progress_display_starts_over_on_a_retry(
    kombo_server: KomboServer, plan: AttachmentPlan, recorder: Recorder
) -> None:
    kombo_server.queue(
        ScriptedResponse(status=503, body=error_envelope("Busy.", code="PLATFORM.UNAVAILABLE"))
    )
    shown: list[int] = []

    run(kombo_server, plan, recorder, on_progress=shown.append)

    size = plan.local_file.size
    assert shown == [size, -size, size]


# -- the rules themselves ---------------------------------------------------------------------


def test_classification_table() -> None:
    def api(status: int, code: str | None = None) -> ApiError:
        return ApiError("x", http_status=status, code=code)

    post = {
        "429": classify(api(429), idempotent=False),
        "503": classify(api(503), idempotent=False),
        "503 kombo": classify(api(503, "REMOTE.SERVICE_UNAVAILABLE"), idempotent=False),
        "500": classify(api(500), idempotent=False),
        "502": classify(api(502), idempotent=False),
        "504": classify(api(504), idempotent=False),
        "501": classify(api(501), idempotent=False),
        "409": classify(api(409), idempotent=False),
        "400 rate code": classify(api(400, "PLATFORM.RATE_LIMIT_EXCEEDED"), idempotent=False),
        "refused": classify(NetworkError("x"), idempotent=False),
        "lost": classify(NetworkError("x", may_have_arrived=True), idempotent=False),
        "tls": classify(NetworkError("x", transient=False), idempotent=False),
    }
    safe, check, never = Retryability.SAFE, Retryability.CHECK_FIRST, Retryability.NEVER
    assert post == {
        "429": safe,
        "503": check,
        "503 kombo": safe,
        "500": check,
        "502": check,
        "504": check,
        "501": check,
        "409": never,
        "400 rate code": safe,
        "refused": safe,
        "lost": check,
        "tls": never,
    }
    # A GET cannot create anything: lost replies are simply asked again, timeouts are not.
    assert classify(api(502), idempotent=True) is safe
    assert classify(NetworkError("x", may_have_arrived=True), idempotent=True) is safe
    timed_out = NetworkError("x", may_have_arrived=True, timed_out=True)
    assert classify(timed_out, idempotent=True) is never


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "5"}, 5.0),
        ({"Retry-After": " 2.5 "}, 2.5),
        ({"Retry-After": "-1"}, None),
        ({"Retry-After": "nan"}, None),
        ({"Retry-After": "inf"}, None),
        ({"Retry-After": "soon"}, None),
        ({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, 0.0),
        ({"retry-after-ms": "20"}, 0.02),
        ({"retry-after-ms": "x", "Retry-After": "3"}, 3.0),
        ({}, None),
    ],
)
def test_parse_retry_after(headers: dict[str, str], expected: float | None) -> None:
    import requests.structures

    assert parse_retry_after(requests.structures.CaseInsensitiveDict(headers)) == expected


def test_parse_retry_after_http_date_in_the_future() -> None:
    import requests.structures

    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=timezone.utc)
    headers = requests.structures.CaseInsensitiveDict({"Retry-After": format_datetime(now, True)})
    later = (now - timedelta(seconds=10)).timestamp()
    assert parse_retry_after(headers, now=later) == 10.0


def test_idempotent_calls_retry_until_the_budget_then_raise(recorder: Recorder) -> None:
    calls = []

    def failing() -> None:
        calls.append(1)
        raise ApiError("busy", http_status=503)

    with pytest.raises(ApiError):
        call_idempotent(failing, policy(2), what="listing", sleep=recorder.sleep)
    assert len(calls) == 3
    assert recorder.sleeps == [1.0, 2.0]


def test_only_certificate_failures_are_permanent_tls_errors() -> None:
    import ssl

    import requests

    from kombo_cli.api.network_errors import is_certificate_problem

    def wrapped(inner: BaseException) -> requests.exceptions.SSLError:
        # How requests reports it: SSLError(MaxRetryError(reason=SSLError(inner))).
        import urllib3.exceptions

        reason = urllib3.exceptions.SSLError(inner)
        return requests.exceptions.SSLError(
            urllib3.exceptions.MaxRetryError(None, "/", reason)  # type: ignore[arg-type]
        )

    verify = ssl.SSLCertVerificationError(1, "certificate verify failed")
    assert is_certificate_problem(wrapped(verify)) is True
    eof = ssl.SSLEOFError(8, "EOF occurred in violation of protocol")
    assert is_certificate_problem(wrapped(eof)) is False
    assert is_certificate_problem(wrapped(ConnectionResetError(104, "reset"))) is False


def test_a_file_of_the_same_name_on_one_of_the_candidates_applications_is_not_this_upload(
    kombo_server: KomboServer, tmp_path: Path, recorder: Recorder
) -> None:
    from kombo_cli.sandbox.sample_candidates import FRANK_DOE_APPLICATION_ID, FRANK_DOE_ID

    # Kombo lists a candidate's files together with their applications' files.
    kombo_server.attachments.append(
        StoredAttachment(
            target_kind="application",
            target_id=FRANK_DOE_APPLICATION_ID,
            name="cv.pdf",
            type="CV",
            content_type="application/pdf",
        )
    )
    path = tmp_path / "cv.pdf"
    path.write_bytes(make_pdf())
    plan = plan_attachment(Target.parse(FRANK_DOE_ID, application=False), str(path))
    kombo_server.queue(kombo_500())

    outcome = run(kombo_server, plan, recorder)

    assert outcome.confirmed_by_listing is False
    assert [r.method for r in kombo_server.requests] == ["POST", "GET", "POST"]
    assert sorted(a.target_kind for a in kombo_server.attachments) == ["application", "candidate"]


def test_after_a_dropped_connection_a_file_that_appears_at_the_second_look_is_not_resent(
    kombo_server: KomboServer, plan: AttachmentPlan, recorder: Recorder
) -> None:
    # Kombo was still storing the upload when the connection dropped: the first listing
    # misses it, and it is there by the second.
    kombo_server.queue(ScriptedResponse(drop_connection=True))

    def sleep(seconds: float) -> None:
        recorder.sleep(seconds)
        if len(recorder.sleeps) == 2:
            seed_file(
                kombo_server,
                CANDIDATE_ID,
                "cv.pdf",
                plan.local_file.path.read_bytes(),  # type: ignore[union-attr]
            )

    outcome = deliver(
        client_for(kombo_server), plan, policy(), on_retry=recorder.notice, sleep=sleep
    )

    assert outcome.confirmed_by_listing is True
    assert recorder.sleeps == [3.0, 9.0]
    assert [r.method for r in kombo_server.requests] == ["POST", "GET", "GET", "GET"]
    assert kombo_server.requests[-1].path == f"/files/{kombo_server.attachments[0].id}"
    assert len(kombo_server.attachments) == 1
