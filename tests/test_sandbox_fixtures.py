"""The sandbox's data, checked with the official Kombo SDK exactly as it parses responses."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Any

import pytest

from kombo_cli.sandbox import candidate_shape, integration
from kombo_cli.sandbox import sample_candidates as samples
from kombo_cli.sandbox.candidates_file import FixtureError, load_candidates
from kombo_cli.sandbox.sample_candidates import sample_candidates

KOMBO_ID = re.compile(r"[1-9A-HJ-NP-Za-km-z]{24}")
KOMBO_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
INTEGRATION_ID = "sandbox:B7bKmv3QyU8tPz2VgXd4WnHc"
CREATED_AT = "2025-10-01T12:00:00.000Z"


def sdk_parse(model_name: str, envelope: dict[str, Any]) -> Any:
    """Parse a response body the way the SDK does: `unmarshal_json` on the raw JSON text."""
    pytest.importorskip("kombo")
    from kombo import models
    from kombo.utils import unmarshal_json

    return unmarshal_json(json.dumps(envelope), getattr(models, model_name))


def candidates_envelope(candidates: list[dict[str, Any]]) -> dict[str, Any]:
    return {"status": "success", "data": {"next": None, "results": candidates}}


def parse_candidates(candidates: list[dict[str, Any]]) -> Any:
    return sdk_parse("GetAtsCandidatesPositiveResponse", candidates_envelope(candidates))


def write(tmp_path: Path, content: str | bytes, name: str = "candidates.json") -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def write_json(tmp_path: Path, value: Any) -> Path:
    return write(tmp_path, json.dumps(value, indent=2))


# --- Environment and integration ---------------------------------------------------------


def test_environment_id_is_a_fixed_kombo_id() -> None:
    assert integration.environment_id() == integration.environment_id()
    assert KOMBO_ID.fullmatch(integration.environment_id())


def test_check_api_key_data_is_accepted_by_the_sdk() -> None:
    data = integration.check_api_key_data(integration.environment_id())
    parsed = sdk_parse("GetCheckAPIKeyPositiveResponse", {"status": "success", "data": data})
    assert parsed.data.environment_id == integration.ENVIRONMENT_ID


def test_integration_details_are_accepted_by_the_sdk() -> None:
    data = integration.integration_details(INTEGRATION_ID, created_at=CREATED_AT)
    parsed = sdk_parse(
        "GetIntegrationsIntegrationIDPositiveResponse", {"status": "success", "data": data}
    )
    assert parsed.data.id == INTEGRATION_ID
    assert parsed.data.tool.id == integration.SANDBOX_TOOL_ID == "sandbox"
    assert parsed.data.tool.label == "Kombo Sandbox"
    assert parsed.data.category == "ATS"
    assert parsed.data.status == "ACTIVE"
    assert parsed.data.setup_status == "COMPLETED"
    assert parsed.data.end_user.organization_name == "Sandbox Inc."
    assert parsed.data.end_user.creator_email == "sandbox@example.com"
    assert parsed.data.data_expired_at is None
    assert parsed.data.beta is False
    assert data["created_at"] == CREATED_AT
    assert {model.id for model in parsed.data.read_models} >= {"ats_candidates", "ats_applications"}


def test_integration_offers_both_attachment_actions() -> None:
    data = integration.integration_details(INTEGRATION_ID, created_at=CREATED_AT)
    actions = {action["id"]: action for action in data["write_actions"]}
    for action_id in ("ats_add_candidate_attachment", "ats_add_application_attachment"):
        action = actions[action_id]
        assert action["is_available"] is True
        assert action["coverage_status"] == "SUPPORTED"
        assert action["scope_config_setting"] == "ENABLED"
        assert action["opted_out_by_customer"] is False


# --- Sample candidates -------------------------------------------------------------------


def test_sample_candidates_are_accepted_by_the_sdk() -> None:
    parsed = parse_candidates(sample_candidates())
    assert [(c.first_name, c.last_name) for c in parsed.data.results] == [
        ("Frank", "Doe"),
        ("Maria", "Garcia"),
        ("Li", "Wei"),
        ("Amelia", "Hartmann"),
    ]
    assert parsed.data.next is None


def test_sample_candidates_match_their_constants() -> None:
    by_id = {candidate["id"]: candidate for candidate in sample_candidates()}

    frank = by_id[samples.FRANK_DOE_ID]
    assert [e["email_address"] for e in frank["email_addresses"]] == [samples.FRANK_DOE_EMAIL]
    assert [a["id"] for a in frank["applications"]] == [samples.FRANK_DOE_APPLICATION_ID]
    assert frank["applications"][0]["job"]["id"] == samples.BACKEND_ENGINEER_JOB_ID

    maria = by_id[samples.MARIA_GARCIA_ID]
    emails = [e["email_address"] for e in maria["email_addresses"]]
    assert emails == [samples.MARIA_GARCIA_EMAIL, samples.MARIA_GARCIA_SECOND_EMAIL]
    assert any(email != email.lower() for email in emails)
    assert any(email == email.lower() for email in emails)
    assert [a["id"] for a in maria["applications"]] == [samples.MARIA_GARCIA_APPLICATION_ID]

    li = by_id[samples.LI_WEI_ID]
    assert [e["email_address"] for e in li["email_addresses"]] == [samples.LI_WEI_EMAIL]
    assert li["applications"] == []

    amelia = by_id[samples.AMELIA_HARTMANN_ID]
    assert [a["id"] for a in amelia["applications"]] == [
        samples.AMELIA_HARTMANN_APPLICATION_ID,
        samples.AMELIA_HARTMANN_SECOND_APPLICATION_ID,
    ]
    assert [a["outcome"] for a in amelia["applications"]] == ["PENDING", "DECLINED"]
    assert {t["id"] for t in amelia["tags"]} == {samples.SENIOR_TAG_ID, samples.REFERRAL_TAG_ID}


def test_sample_emails_are_fictional() -> None:
    for candidate in sample_candidates():
        for email in candidate["email_addresses"]:
            domain = email["email_address"].rsplit("@", 1)[1].lower()
            assert domain in ("example.com", "example.org")


def test_sample_candidates_have_every_field_with_kombo_timestamps() -> None:
    for candidate in sample_candidates():
        assert tuple(candidate) == candidate_shape.CANDIDATE_FIELDS
        assert candidate["remote_deleted_at"] is None
        assert KOMBO_TIMESTAMP.fullmatch(candidate["changed_at"])
        for application in candidate["applications"]:
            assert tuple(application) == candidate_shape.APPLICATION_FIELDS
            assert KOMBO_TIMESTAMP.fullmatch(application["changed_at"])


def test_sample_ids_are_unique_kombo_ids() -> None:
    constants = {
        name: value
        for name, value in {**vars(integration), **vars(samples)}.items()
        if name.endswith("_ID") and name.isupper() and isinstance(value, str)
    }
    constants.pop("SANDBOX_TOOL_ID")
    assert len(constants) >= 15
    for name, value in constants.items():
        assert KOMBO_ID.fullmatch(value), name
    assert len(set(constants.values())) == len(constants)

    # Jobs, stages and tags are shared between candidates; each id must name one object.
    objects: dict[str, Any] = {}
    for candidate in sample_candidates():
        found = [candidate["id"]]
        objects[candidate["id"]] = candidate
        for application in candidate["applications"]:
            found.append(application["id"])
            objects[application["id"]] = application
            for nested in (application["job"], application["current_stage"]):
                assert objects.setdefault(nested["id"], nested) == nested
                found.append(nested["id"])
        for tag in candidate["tags"]:
            assert objects.setdefault(tag["id"], tag) == tag
            found.append(tag["id"])
        for object_id in found:
            assert KOMBO_ID.fullmatch(object_id)
            assert object_id in constants.values()


def test_sample_candidates_are_a_fresh_copy_each_time() -> None:
    first = sample_candidates()
    first[0]["email_addresses"].clear()
    first[0]["applications"][0]["job"]["name"] = "changed"
    second = sample_candidates()
    assert second[0]["email_addresses"]
    assert second[0]["applications"][0]["job"]["name"] == "Backend Engineer"


def test_sample_candidates_load_back_unchanged(tmp_path: Path) -> None:
    """A GET /ats/candidates result can be saved and served again as a fixture."""
    assert load_candidates(write_json(tmp_path, sample_candidates())) == sample_candidates()


def test_candidate_fields_cover_the_sdk_model() -> None:
    pytest.importorskip("kombo")
    from kombo.models import (
        GetAtsCandidatesPositiveResponseApplication,
        GetAtsCandidatesPositiveResponseResult,
    )

    assert set(GetAtsCandidatesPositiveResponseResult.model_fields) <= set(
        candidate_shape.CANDIDATE_FIELDS
    )
    assert set(GetAtsCandidatesPositiveResponseApplication.model_fields) == set(
        candidate_shape.APPLICATION_FIELDS
    )


# --- The SDK client end to end -----------------------------------------------------------


def test_sdk_client_accepts_the_sandbox_data() -> None:
    pytest.importorskip("kombo")
    httpx = pytest.importorskip("httpx")
    from kombo import Kombo

    def respond(request: Any) -> Any:
        path = request.url.path
        if path == "/v1/check-api-key":
            data: Any = integration.check_api_key_data(integration.environment_id())
        elif path == f"/v1/integrations/{INTEGRATION_ID}":
            data = integration.integration_details(INTEGRATION_ID, created_at=CREATED_AT)
        elif path == "/v1/ats/candidates":
            data = {"next": None, "results": sample_candidates()}
        else:
            return httpx.Response(404)
        return httpx.Response(200, json={"status": "success", "data": data})

    client = httpx.Client(transport=httpx.MockTransport(respond))
    sdk = Kombo(
        api_key="ks_dev_sandbox",
        integration_id=INTEGRATION_ID,
        server_url="http://127.0.0.1:9/v1",
        client=client,
    )
    assert sdk.general.check_api_key().data.environment_id == integration.ENVIRONMENT_ID
    details = sdk.general.get_integration_details(integration_id=INTEGRATION_ID)
    assert details.data.tool.id == "sandbox"
    page = sdk.ats.get_candidates(email=samples.FRANK_DOE_EMAIL)
    assert page is not None
    assert len(page.result.data.results) == 4
    assert page.next() is None


def test_sdk_requires_next_in_candidate_pages() -> None:
    pydantic = pytest.importorskip("pydantic")

    with pytest.raises(pydantic.ValidationError, match="next"):
        sdk_parse(
            "GetAtsCandidatesPositiveResponse",
            {"status": "success", "data": {"results": sample_candidates()}},
        )


# --- load_candidates: happy paths --------------------------------------------------------


def test_minimal_file_gives_sdk_valid_candidates(tmp_path: Path) -> None:
    path = write_json(
        tmp_path,
        [
            {"id": "cand-1"},
            {
                "id": "cand-2",
                "first_name": "Ada",
                "last_name": "Example",
                "email_addresses": ["ada@example.com", "Ada.Work@example.org"],
                "applications": [{"id": "app-1", "job_name": "Platform Engineer"}, {"id": "app-2"}],
            },
        ],
    )
    candidates = load_candidates(path)
    parsed = parse_candidates(candidates)
    assert [c.id for c in parsed.data.results] == ["cand-1", "cand-2"]

    bare, ada = candidates
    assert tuple(bare) == candidate_shape.CANDIDATE_FIELDS
    assert bare["remote_id"] == "cand-1"
    assert bare["first_name"] is None
    assert bare["email_addresses"] == []
    assert bare["applications"] == []
    assert bare["tags"] == []
    assert bare["remote_deleted_at"] is None
    assert bare["changed_at"] == candidate_shape.DEFAULT_TIMESTAMP

    assert ada["email_addresses"] == [
        {"email_address": "ada@example.com", "type": None},
        {"email_address": "Ada.Work@example.org", "type": None},
    ]
    with_job, without_job = ada["applications"]
    assert tuple(with_job) == candidate_shape.APPLICATION_FIELDS
    assert with_job["id"] == "app-1"
    assert with_job["outcome"] == "PENDING"
    assert with_job["job"]["name"] == "Platform Engineer"
    assert KOMBO_ID.fullmatch(with_job["job"]["id"])
    assert without_job["job"] is None


def test_same_job_name_gives_the_same_job_id(tmp_path: Path) -> None:
    path = write_json(
        tmp_path,
        [
            {"id": "a", "applications": [{"id": "a1", "job_name": "Chef"}]},
            {"id": "b", "applications": [{"id": "b1", "job_name": "Chef"}]},
        ],
    )
    first, second = load_candidates(path)
    assert first["applications"][0]["job"] == second["applications"][0]["job"]


def test_full_fields_are_kept_and_shorthands_expanded(tmp_path: Path) -> None:
    path = write_json(
        tmp_path,
        [
            {
                "id": "cand-9",
                "remote_id": "ats-9",
                "company": "Example Ltd",
                "title": None,
                "confidential": True,
                "source": "Referral",
                "custom_fields": {"shoe_size": 44, "nested": {"a": [1, 2]}},
                "remote_url": "https://ats.example.com/c/9",
                "remote_created_at": "2024-02-29T23:30:00+02:00",
                "changed_at": "2024-03-01",
                "phone_numbers": ["+44 20 7946 0000", {"phone_number": "+1 555 0199"}],
                "email_addresses": [{"email_address": "x@example.com", "type": "WORK"}],
                "social_media": ["https://social.example.com/x"],
                "location": "1 Example Road, London",
                "tags": ["VIP", {"id": "tag-1", "name": "Silver"}],
                "applications": [
                    {
                        "id": "app-9",
                        "outcome": "DECLINED",
                        "rejection_reason_name": "Withdrew",
                        "rejected_at": "2024-03-02T10:00:00.5Z",
                        "current_stage": {"id": "stage-1", "name": "Screen", "index": 0},
                        "job": {"id": "job-1", "name": "Chef", "remote_id": "77"},
                    }
                ],
            }
        ],
    )
    [candidate] = load_candidates(path)
    parse_candidates([candidate])
    assert candidate["remote_id"] == "ats-9"
    assert candidate["confidential"] is True
    assert candidate["custom_fields"] == {"shoe_size": 44, "nested": {"a": [1, 2]}}
    assert candidate["remote_created_at"] == "2024-02-29T21:30:00.000Z"
    assert candidate["changed_at"] == "2024-03-01T00:00:00.000Z"
    assert candidate["phone_numbers"] == [
        {"phone_number": "+44 20 7946 0000", "type": None},
        {"phone_number": "+1 555 0199", "type": None},
    ]
    assert candidate["social_media"][0]["link"] == "https://social.example.com/x"
    assert candidate["location"]["raw"] == "1 Example Road, London"
    assert candidate["location"]["city"] is None
    assert candidate["tags"][0]["name"] == "VIP"
    assert KOMBO_ID.fullmatch(candidate["tags"][0]["id"])
    assert candidate["tags"][1] == {"id": "tag-1", "name": "Silver", "remote_id": None}
    [application] = candidate["applications"]
    assert application["rejected_at"] == "2024-03-02T10:00:00.500Z"
    assert application["current_stage"] == {
        "id": "stage-1",
        "name": "Screen",
        "remote_id": None,
        "index": 0,
    }
    assert application["job"] == {"id": "job-1", "name": "Chef", "remote_id": "77"}


def test_empty_array_and_byte_order_mark_are_fine(tmp_path: Path) -> None:
    assert load_candidates(write(tmp_path, b"\xef\xbb\xbf[]")) == []


# --- load_candidates: errors -------------------------------------------------------------


def assert_fixture_error(path: Path, *fragments: str) -> str:
    with pytest.raises(FixtureError) as info:
        load_candidates(path)
    message = str(info.value)
    assert str(path) in message
    assert "\n" not in message
    assert message.endswith(".")
    for fragment in fragments:
        assert fragment in message
    return message


def test_missing_file(tmp_path: Path) -> None:
    assert_fixture_error(tmp_path / "nope.json", "does not exist")


def test_directory(tmp_path: Path) -> None:
    assert_fixture_error(tmp_path, "directory")


def test_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "[]")

    def refuse(self: Path) -> bytes:
        raise PermissionError(13, "Permission denied", str(self))

    # Root ignores file modes, so the refusal is simulated.
    monkeypatch.setattr(Path, "read_bytes", refuse)
    assert_fixture_error(path, "cannot be read", "Permission denied")


def test_not_utf8(tmp_path: Path) -> None:
    assert_fixture_error(write(tmp_path, b'[{"id": "caf\xe9"}]'), "not UTF-8", "offset 12")


def test_not_json_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, '[\n  {"id": "a"},\n  {"id": "b",}\n]\n')
    assert_fixture_error(path, "not valid JSON", "line 3")


def test_nan_is_not_json(tmp_path: Path) -> None:
    assert_fixture_error(write(tmp_path, '[{"id": "a", "custom_fields": {"x": NaN}}]'), "NaN")


def test_duplicate_key(tmp_path: Path) -> None:
    path = write(tmp_path, '[{"id": "a", "first_name": "A", "first_name": "B"}]')
    assert_fixture_error(path, "'first_name' appears twice")


@pytest.mark.parametrize(
    ("value", "kind"),
    [({"id": "a"}, "an object"), ("x", "a string"), (None, "null"), (3, "a number")],
)
def test_not_an_array(tmp_path: Path, value: Any, kind: str) -> None:
    assert_fixture_error(write_json(tmp_path, value), "JSON array", kind)


@pytest.mark.parametrize("item", [["a"], "a", 1, None, True])
def test_item_not_an_object(tmp_path: Path, item: Any) -> None:
    assert_fixture_error(write_json(tmp_path, [{"id": "a"}, item]), "item 2", "not a JSON object")


@pytest.mark.parametrize(
    ("item", "fragment"),
    [
        ({"first_name": "A"}, 'has no "id"'),
        ({"id": ""}, 'empty "id"'),
        ({"id": "   "}, 'empty "id"'),
        ({"id": 7}, "a number, not a string"),
        ({"id": None}, "null, not a string"),
    ],
)
def test_bad_id(tmp_path: Path, item: dict[str, Any], fragment: str) -> None:
    assert_fixture_error(write_json(tmp_path, [item]), "item 1", fragment)


def test_duplicate_id(tmp_path: Path) -> None:
    path = write_json(tmp_path, [{"id": "a"}, {"id": "b"}, {"id": "a"}])
    assert_fixture_error(path, "items 1 and 3", '"a"')


def test_duplicate_application_id(tmp_path: Path) -> None:
    path = write_json(
        tmp_path,
        [{"id": "a", "applications": [{"id": "x"}]}, {"id": "b", "applications": [{"id": "x"}]}],
    )
    assert_fixture_error(path, 'application id "x"', '"a"', '"b"')


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("emails", ["a@example.com"], '"emails"'),
        ("first_name", 5, "first_name"),
        ("confidential", "yes", "true, false or null"),
        ("email_addresses", "a@example.com", "must be an array"),
        ("email_addresses", [5], "email_addresses[0]"),
        ("email_addresses", ["not-an-email"], "not an address Kombo would list"),
        # Kombo's pattern for listed addresses takes a lower-case domain only.
        ("email_addresses", ["ada@Example.org"], "domain in lower case"),
        ("email_addresses", [{"email_address": "a@example.com", "kind": "x"}], "kind"),
        ("applications", [{"job_name": "Chef"}], "applications[0].id"),
        ("applications", ["app-1"], "applications[0]"),
        ("applications", [{"id": "x", "outcome": "REJECTED"}], "PENDING, HIRED, DECLINED"),
        ("applications", [{"id": "x", "job_name": "A", "job": None}], "job_name"),
        ("applications", [{"id": "x", "current_stage": {"id": "s", "index": "1"}}], "index"),
        ("applications", [{"id": "x", "job": {"name": "Chef"}}], "applications[0].job.id"),
        ("changed_at", "yesterday", "ISO 8601"),
        ("remote_created_at", "2024-02-30T00:00:00Z", "ISO 8601"),
        ("custom_fields", [1], "object or null"),
        ("tags", [""], "empty tag name"),
        ("tags", [{"name": "x"}], "tags[0].id"),
        ("location", 5, "location"),
        ("remote_id", None, "remote_id"),
    ],
)
def test_bad_field(tmp_path: Path, field: str, value: Any, fragment: str) -> None:
    path = write_json(tmp_path, [{"id": "cand-1", field: value}])
    assert_fixture_error(path, 'candidate "cand-1"', "item 1", fragment)


def test_random_input_gives_valid_candidates_or_fixture_error(tmp_path: Path) -> None:
    """Whatever a user writes, the result is SDK-valid or a FixtureError, never a crash."""
    pytest.importorskip("kombo")
    rng = random.Random(20251103)
    scalars: list[Any] = [None, True, 0, -1.5, "", "x", "a@example.com", "2024-01-01T00:00:00Z"]
    keys = [
        *candidate_shape.CANDIDATE_FIELDS,
        *candidate_shape.APPLICATION_FIELDS,
        "job_name",
        "index",
        "type",
    ]

    def value(depth: int) -> Any:
        roll = rng.random()
        if depth > 3 or roll < 0.5:
            return rng.choice(scalars)
        if roll < 0.75:
            return [value(depth + 1) for _ in range(rng.randint(0, 3))]
        return {rng.choice(keys): value(depth + 1) for _ in range(rng.randint(0, 4))}

    outcomes = {"valid": 0, "error": 0}
    for _ in range(300):
        items = []
        for index in range(rng.randint(0, 3)):
            item = {"id": f"c{index}"}
            for _ in range(rng.randint(0, 3)):
                item[rng.choice(candidate_shape.CANDIDATE_FIELDS[1:])] = value(1)
            items.append(item)
        path = write_json(tmp_path, items)
        try:
            candidates = load_candidates(path)
        except FixtureError:
            outcomes["error"] += 1
            continue
        parse_candidates(candidates)
        outcomes["valid"] += 1
    assert outcomes["valid"] and outcomes["error"]
