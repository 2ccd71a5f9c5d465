"""The data `kombo sandbox` serves: its environment, its integration and its candidates.

Everything here has the exact shape of Kombo's responses, so that the official SDKs, which
validate each response against their models, accept what the sandbox sends. The functions
return the `data` object only; the server wraps it in `{"status": "success", "data": ...}`.

Candidates either come from the built-in samples, whose ids are fixed so that docs and tests
can name them, or from a user's JSON file, which may be terse: `load_candidates` fills in
every field Kombo always sends and rejects anything the SDK would choke on with a
`FixtureError` that says which file and which field is wrong.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, NoReturn

from kombo_cli.strict_json import json_kind

SANDBOX_TOOL_ID = "sandbox"
SANDBOX_TOOL_LABEL = "Kombo Sandbox"
SANDBOX_ORGANIZATION_NAME = "Sandbox Inc."
SANDBOX_CREATOR_EMAIL = "sandbox@example.com"

BASE58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
KOMBO_ID_PATTERN = re.compile(r"[1-9A-HJ-NP-Za-km-z]{24}")

ENVIRONMENT_ID = "B7bKmv3QyU8tPz2VgXd4WnHc"
SCOPE_CONFIG_ID = "s1D1J4staby4NB5twaeZtLJT"

# Sample ids are hard-coded, not derived, so that they stay stable even if the samples change.
FRANK_DOE_ID = "TBJyJtUvqZU7Gbs75yAipLxD"
FRANK_DOE_APPLICATION_ID = "Pa14znz2jiDh1YTAYKoCikBd"
MARIA_GARCIA_ID = "4Nn8UfMCvJZG7JepJUnPjDmR"
MARIA_GARCIA_APPLICATION_ID = "71mcxyJhnj4Vx6xFLgF398xf"
LI_WEI_ID = "nLkDxEnoEnjnCGe3fJdXAmve"
AMELIA_HARTMANN_ID = "sECi4xL8efEcvBBiiJWB6h4f"
AMELIA_HARTMANN_APPLICATION_ID = "HwJ5xnvQF4thQH11cNfaSbHJ"
AMELIA_HARTMANN_SECOND_APPLICATION_ID = "g3EREsoQw3T2zBs3xaF2STFb"

BACKEND_ENGINEER_JOB_ID = "z9XpZwpR8rvqDTPGYMpSDJcS"
PRODUCT_DESIGNER_JOB_ID = "B3VQwnY6mzrnf2N4RSPM9nMX"
DATA_ANALYST_JOB_ID = "rGkqTBWvHPWPJBYrWsaSGw2i"

SCREENING_STAGE_ID = "CFEiiFyvCK7m5Ng9MAcg2D2K"
INTERVIEW_STAGE_ID = "pSGT7nD29rdiQpj1seB3YCrC"
OFFER_STAGE_ID = "4srfifefDVUxoNDEvFWyJQtP"

REFERRAL_TAG_ID = "YNFUrxTW18c8zjRN7CkuaBAy"
SENIOR_TAG_ID = "5gG7SLvbA9wSj8Z8y5WfEGTu"

FRANK_DOE_EMAIL = "frank.doe@example.com"
# Mixed case on purpose: Kombo's `email` filter is case-insensitive, and clients must be too.
MARIA_GARCIA_EMAIL = "Maria.Garcia@Example.com"
MARIA_GARCIA_SECOND_EMAIL = "maria.g@example.org"
LI_WEI_EMAIL = "li.wei@example.com"
AMELIA_HARTMANN_EMAIL = "amelia.hartmann@example.org"

# User fixtures rarely carry timestamps; a fixed default keeps the sandbox's output reproducible.
DEFAULT_TIMESTAMP = "2025-11-03T09:00:00.000Z"

APPLICATION_OUTCOMES = ("PENDING", "HIRED", "DECLINED")

ATTACHMENT_WRITE_ACTION_IDS = ("ats_add_candidate_attachment", "ats_add_application_attachment")

# Kombo's order of candidate fields; every one of them is always present in its responses.
CANDIDATE_FIELDS = (
    "id",
    "remote_id",
    "first_name",
    "last_name",
    "company",
    "title",
    "confidential",
    "source",
    "phone_numbers",
    "email_addresses",
    "social_media",
    "location",
    "custom_fields",
    "integration_fields",
    "remote_url",
    "remote_created_at",
    "remote_updated_at",
    "remote_data",
    "changed_at",
    "remote_deleted_at",
    "applications",
    "tags",
)

APPLICATION_FIELDS = (
    "id",
    "remote_id",
    "outcome",
    "rejection_reason_name",
    "rejected_at",
    "remote_url",
    "changed_at",
    "remote_created_at",
    "remote_updated_at",
    "current_stage",
    "job",
)

LOCATION_FIELDS = ("city", "country", "raw", "state", "street_1", "street_2", "zip_code")

JSONObject = dict[str, Any]


class FixtureError(ValueError):
    """A candidates file that cannot be served; the message names the file and the problem."""


def environment_id() -> str:
    return ENVIRONMENT_ID


def check_api_key_data(environment_id: str) -> JSONObject:
    """The `data` of GET /check-api-key; the SDK models only `environment_id`."""
    return {"environment_id": environment_id}


def integration_details(integration_id: str, *, created_at: str) -> JSONObject:
    """The `data` of GET /integrations/{integration_id} for an active, fully set-up ATS."""
    return {
        "id": integration_id,
        "tool": {
            "id": SANDBOX_TOOL_ID,
            "label": SANDBOX_TOOL_LABEL,
            "internal_label": None,
            "logo_url": "https://example.com/kombo-sandbox/logo.svg",
            "icon_url": "https://example.com/kombo-sandbox/icon.svg",
        },
        "category": "ATS",
        "status": "ACTIVE",
        "setup_status": "COMPLETED",
        "end_user": {
            "organization_name": SANDBOX_ORGANIZATION_NAME,
            "creator_email": SANDBOX_CREATOR_EMAIL,
            "origin_id": "sandbox",
        },
        "scope_config": {"id": SCOPE_CONFIG_ID, "name": "Sandbox scope config"},
        "data_expired_at": None,
        "created_at": created_at,
        "beta": False,
        "read_models": [
            _read_model(
                "ats_candidates",
                "Candidates",
                ["first_name", "last_name", "email_addresses", "applications", "tags"],
            ),
            _read_model("ats_applications", "Applications", ["outcome", "current_stage", "job"]),
            _read_model("ats_jobs", "Jobs", ["name", "status", "stages"]),
        ],
        "write_actions": [
            _write_action("ats_add_candidate_attachment", "Add attachment to candidate"),
            _write_action("ats_add_application_attachment", "Add attachment to application"),
        ],
    }


def _read_model(model_id: str, label: str, field_ids: list[str]) -> JSONObject:
    return {
        "id": model_id,
        "label": label,
        "is_available": True,
        "coverage_status": "SUPPORTED",
        "scope_config_setting": "ENABLED",
        "opted_out_by_customer": False,
        "fields": [
            {
                "id": field_id,
                "is_available": True,
                "coverage_status": "SUPPORTED",
                "scope_config_setting": "ENABLED",
                "opted_out_by_customer": False,
            }
            for field_id in field_ids
        ],
    }


def _write_action(action_id: str, label: str) -> JSONObject:
    # Unlike read-model fields, action fields carry no scope setting: Kombo cannot configure them.
    field_ids = [
        "attachment.name",
        "attachment.type",
        "attachment.content_type",
        "attachment.data",
        "attachment.data_url",
    ]
    return {
        "id": action_id,
        "label": label,
        "is_available": True,
        "coverage_status": "SUPPORTED",
        "scope_config_setting": "ENABLED",
        "opted_out_by_customer": False,
        "fields": [
            {"id": field_id, "is_available": True, "coverage_status": "SUPPORTED"}
            for field_id in field_ids
        ],
    }


# --- Sample candidates -------------------------------------------------------------------

_BACKEND_ENGINEER = {"id": BACKEND_ENGINEER_JOB_ID, "name": "Backend Engineer", "remote_id": "301"}
_PRODUCT_DESIGNER = {"id": PRODUCT_DESIGNER_JOB_ID, "name": "Product Designer", "remote_id": "302"}
_DATA_ANALYST = {"id": DATA_ANALYST_JOB_ID, "name": "Data Analyst", "remote_id": "303"}

_SCREENING = {"id": SCREENING_STAGE_ID, "name": "Initial Screening", "remote_id": "401", "index": 0}
_INTERVIEW = {
    "id": INTERVIEW_STAGE_ID,
    "name": "Technical Interview",
    "remote_id": "402",
    "index": 1,
}
_OFFER = {"id": OFFER_STAGE_ID, "name": "Offer", "remote_id": "403", "index": 2}

_REFERRAL = {"id": REFERRAL_TAG_ID, "name": "Referral", "remote_id": "501"}
_SENIOR = {"id": SENIOR_TAG_ID, "name": "Senior", "remote_id": "502"}

_ATS_URL = "https://ats.example.com"


def _sample_specs() -> list[JSONObject]:
    return [
        {
            "id": FRANK_DOE_ID,
            "remote_id": "1001",
            "first_name": "Frank",
            "last_name": "Doe",
            "company": "Example Corp",
            "title": "Software Engineer",
            "confidential": False,
            "source": "LinkedIn",
            "phone_numbers": [{"phone_number": "+1 555 0100", "type": "MOBILE"}],
            "email_addresses": [{"email_address": FRANK_DOE_EMAIL, "type": "PERSONAL"}],
            "social_media": [
                {
                    "link": "https://www.linkedin.com/in/frank-doe-example",
                    "type": "LINKEDIN",
                    "username": None,
                }
            ],
            "location": {
                "city": "Austin",
                "country": "US",
                "raw": "Austin, TX, USA",
                "state": "TX",
            },
            "custom_fields": {"desired_salary": "95000 USD"},
            "remote_url": f"{_ATS_URL}/candidates/1001",
            "remote_created_at": "2025-10-01T08:30:00.000Z",
            "remote_updated_at": "2025-10-14T16:05:00.000Z",
            "changed_at": "2025-10-14T16:10:00.000Z",
            "applications": [
                {
                    "id": FRANK_DOE_APPLICATION_ID,
                    "remote_id": "2001",
                    "outcome": "PENDING",
                    "remote_url": f"{_ATS_URL}/applications/2001",
                    "changed_at": "2025-10-14T16:10:00.000Z",
                    "remote_created_at": "2025-10-01T08:30:00.000Z",
                    "remote_updated_at": "2025-10-14T16:05:00.000Z",
                    "current_stage": _SCREENING,
                    "job": _BACKEND_ENGINEER,
                }
            ],
            "tags": [_REFERRAL],
        },
        {
            "id": MARIA_GARCIA_ID,
            "remote_id": "1002",
            "first_name": "Maria",
            "last_name": "Garcia",
            "company": "Sample Studio",
            "title": "UX Designer",
            "confidential": False,
            "source": "Career site",
            "phone_numbers": [{"phone_number": "+34 600 000 000", "type": "MOBILE"}],
            "email_addresses": [
                {"email_address": MARIA_GARCIA_EMAIL, "type": "WORK"},
                {"email_address": MARIA_GARCIA_SECOND_EMAIL, "type": "PERSONAL"},
            ],
            "location": {"city": "Madrid", "country": "ES", "raw": "Madrid, Spain"},
            "remote_url": f"{_ATS_URL}/candidates/1002",
            "remote_created_at": "2025-09-12T10:00:00.000Z",
            "remote_updated_at": "2025-10-20T11:45:00.000Z",
            "changed_at": "2025-10-20T11:50:00.000Z",
            "applications": [
                {
                    "id": MARIA_GARCIA_APPLICATION_ID,
                    "remote_id": "2002",
                    "outcome": "PENDING",
                    "remote_url": f"{_ATS_URL}/applications/2002",
                    "changed_at": "2025-10-20T11:50:00.000Z",
                    "remote_created_at": "2025-09-12T10:00:00.000Z",
                    "remote_updated_at": "2025-10-20T11:45:00.000Z",
                    "current_stage": _OFFER,
                    "job": _PRODUCT_DESIGNER,
                }
            ],
            "tags": [],
        },
        {
            # No applications: only the candidate itself can receive attachments.
            "id": LI_WEI_ID,
            "remote_id": "1003",
            "first_name": "Li",
            "last_name": "Wei",
            "company": None,
            "title": "Data Scientist",
            "confidential": True,
            "source": "Referral",
            "email_addresses": [{"email_address": LI_WEI_EMAIL, "type": None}],
            "location": {"city": "Singapore", "country": "SG", "raw": "Singapore"},
            "remote_url": f"{_ATS_URL}/candidates/1003",
            "remote_created_at": "2025-10-28T07:15:00.000Z",
            "remote_updated_at": "2025-10-28T07:15:00.000Z",
            "changed_at": "2025-10-28T07:20:00.000Z",
            "applications": [],
            "tags": [],
        },
        {
            "id": AMELIA_HARTMANN_ID,
            "remote_id": "1004",
            "first_name": "Amelia",
            "last_name": "Hartmann",
            "company": "Beispiel GmbH",
            "title": "Senior Data Analyst",
            "confidential": False,
            "source": "Job board",
            "phone_numbers": [{"phone_number": "+49 30 000000", "type": "WORK"}],
            "email_addresses": [{"email_address": AMELIA_HARTMANN_EMAIL, "type": "PERSONAL"}],
            "location": {
                "city": "Munich",
                "country": "DE",
                "raw": "Beispielstrasse 1, 80331 Munich, Germany",
                "street_1": "Beispielstrasse 1",
                "zip_code": "80331",
            },
            "custom_fields": {"notice_period_weeks": 12},
            "remote_url": f"{_ATS_URL}/candidates/1004",
            "remote_created_at": "2025-08-04T13:00:00.000Z",
            "remote_updated_at": "2025-10-30T09:30:00.000Z",
            "changed_at": "2025-10-30T09:35:00.000Z",
            "applications": [
                {
                    "id": AMELIA_HARTMANN_APPLICATION_ID,
                    "remote_id": "2004",
                    "outcome": "PENDING",
                    "remote_url": f"{_ATS_URL}/applications/2004",
                    "changed_at": "2025-10-30T09:35:00.000Z",
                    "remote_created_at": "2025-10-02T12:00:00.000Z",
                    "remote_updated_at": "2025-10-30T09:30:00.000Z",
                    "current_stage": _INTERVIEW,
                    "job": _DATA_ANALYST,
                },
                {
                    "id": AMELIA_HARTMANN_SECOND_APPLICATION_ID,
                    "remote_id": "2005",
                    "outcome": "DECLINED",
                    "rejection_reason_name": "Position filled",
                    "rejected_at": "2025-09-01T15:00:00.000Z",
                    "remote_url": f"{_ATS_URL}/applications/2005",
                    "changed_at": "2025-09-01T15:05:00.000Z",
                    "remote_created_at": "2025-08-04T13:00:00.000Z",
                    "remote_updated_at": "2025-09-01T15:00:00.000Z",
                    "current_stage": _SCREENING,
                    "job": _BACKEND_ENGINEER,
                },
            ],
            "tags": [_SENIOR, _REFERRAL],
        },
    ]


def sample_candidates() -> list[JSONObject]:
    """The seeded candidates, as GET /ats/candidates returns them; a fresh copy on each call."""
    candidates: list[JSONObject] = []
    for index, spec in enumerate(_sample_specs()):
        try:
            candidates.append(_candidate(spec))
        except _Invalid as exc:  # pragma: no cover - the samples are checked by the tests
            raise AssertionError(
                f"sample candidate {index + 1}: {exc.field} {exc.problem}"
            ) from exc
    return candidates


# --- User candidates ---------------------------------------------------------------------


def load_candidates(path: Path) -> list[JSONObject]:
    """Read a user's candidates file (a JSON array of objects) into full Candidate objects.

    Each object needs an `id`; everything else is optional. `email_addresses` and
    `phone_numbers` may be plain strings, `tags` plain names, and an application may name its
    job with `job_name` instead of a `job` object.
    """
    data = _read_json(path)
    if not isinstance(data, list):
        raise FixtureError(
            f"Candidates file {path} must contain a JSON array of candidate objects, "
            f"not {json_kind(data)}."
        )

    candidates: list[JSONObject] = []
    candidate_items: dict[str, int] = {}
    application_items: dict[str, tuple[int, str]] = {}
    for index, item in enumerate(data):
        number = index + 1
        if not isinstance(item, dict):
            raise FixtureError(
                f"Candidates file {path}: item {number} is {json_kind(item)}, not a JSON object."
            )
        candidate_id = _item_id(path, number, item)
        if candidate_id in candidate_items:
            raise FixtureError(
                f"Candidates file {path}: items {candidate_items[candidate_id]} and {number} "
                f'have the same id "{candidate_id}".'
            )
        candidate_items[candidate_id] = number
        try:
            candidate = _candidate(item)
        except _Invalid as exc:
            raise FixtureError(
                f'Candidates file {path}: field "{exc.field}" of candidate "{candidate_id}" '
                f"(item {number}) {exc.problem}."
            ) from None

        # Attachments are addressed by application id alone, so it must be unique file-wide.
        for application in candidate["applications"]:
            application_id = application["id"]
            if application_id in application_items:
                other_number, other_id = application_items[application_id]
                raise FixtureError(
                    f'Candidates file {path}: application id "{application_id}" is used by '
                    f'candidate "{other_id}" (item {other_number}) and again by candidate '
                    f'"{candidate_id}" (item {number}).'
                )
            application_items[application_id] = (number, candidate_id)
        candidates.append(candidate)
    return candidates


class _DuplicateKey(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


class _NonStandardConstant(Exception):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def _read_json(path: Path) -> Any:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise FixtureError(f"Candidates file {path} does not exist.") from None
    except IsADirectoryError:
        raise FixtureError(f"Candidates file {path} is a directory, not a JSON file.") from None
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise FixtureError(f"Candidates file {path} cannot be read: {reason}.") from None

    try:
        # utf-8-sig: editors on Windows like to start UTF-8 files with a byte order mark.
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FixtureError(
            f"Candidates file {path} is not UTF-8 text (invalid byte at offset {exc.start})."
        ) from None

    try:
        return json.loads(
            text,
            object_pairs_hook=_unique_keys_object,
            parse_constant=_reject_constant,
        )
    except json.JSONDecodeError as exc:
        raise FixtureError(
            f"Candidates file {path} is not valid JSON: {exc.msg} at line {exc.lineno}, "
            f"column {exc.colno}."
        ) from None
    except _DuplicateKey as exc:
        # Python's json keeps the last of two equal keys; a fixture that repeats one is a typo.
        raise FixtureError(
            f'Candidates file {path} has a JSON object with the key "{exc.key}" twice.'
        ) from None
    except _NonStandardConstant as exc:
        raise FixtureError(
            f"Candidates file {path} is not valid JSON: {exc.name} is not a JSON value."
        ) from None
    except RecursionError:
        raise FixtureError(f"Candidates file {path} is nested too deeply to read.") from None
    except ValueError as exc:
        # E.g. integers longer than Python's digit limit.
        raise FixtureError(f"Candidates file {path} is not usable JSON: {exc}.") from None


def _unique_keys_object(pairs: list[tuple[str, Any]]) -> JSONObject:
    result: JSONObject = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result


def _reject_constant(name: str) -> NoReturn:
    raise _NonStandardConstant(name)


def _item_id(path: Path, number: int, item: JSONObject) -> str:
    if "id" not in item:
        raise FixtureError(f'Candidates file {path}: item {number} has no "id".')
    value = item["id"]
    if not isinstance(value, str):
        raise FixtureError(
            f'Candidates file {path}: item {number} has an "id" that is {json_kind(value)}, '
            "not a string."
        )
    if not value.strip():
        raise FixtureError(f'Candidates file {path}: item {number} has an empty "id".')
    return value


# --- Normalisation -----------------------------------------------------------------------


class _Invalid(Exception):
    """One field of a candidate is unusable; `problem` completes "field X of candidate Y ..."."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field} {problem}")
        self.field = field
        self.problem = problem


def _candidate(item: JSONObject) -> JSONObject:
    unknown = [key for key in item if key not in CANDIDATE_FIELDS]
    if unknown:
        raise _Invalid(unknown[0], "is not a Kombo candidate field")

    candidate_id = _required_id(item, "id", "id")
    changed_at = _timestamp(item, "changed_at", "changed_at", default=DEFAULT_TIMESTAMP)
    return {
        "id": candidate_id,
        "remote_id": _string(item, "remote_id", "remote_id", default=candidate_id),
        "first_name": _nullable_string(item, "first_name", "first_name"),
        "last_name": _nullable_string(item, "last_name", "last_name"),
        "company": _nullable_string(item, "company", "company"),
        "title": _nullable_string(item, "title", "title"),
        "confidential": _nullable_bool(item, "confidential", "confidential", default=False),
        "source": _nullable_string(item, "source", "source"),
        "phone_numbers": _list(item, "phone_numbers", "phone_numbers", _phone_number),
        "email_addresses": _list(item, "email_addresses", "email_addresses", _email_address),
        "social_media": _list(item, "social_media", "social_media", _social_media),
        "location": _location(item.get("location"), "location"),
        "custom_fields": _nullable_object(item, "custom_fields", "custom_fields", default={}),
        "integration_fields": _list(
            item, "integration_fields", "integration_fields", _integration_field
        ),
        "remote_url": _nullable_string(item, "remote_url", "remote_url"),
        "remote_created_at": _timestamp(
            item, "remote_created_at", "remote_created_at", default=changed_at
        ),
        "remote_updated_at": _timestamp(
            item, "remote_updated_at", "remote_updated_at", default=changed_at
        ),
        "remote_data": _nullable_object(item, "remote_data", "remote_data", default=None),
        "changed_at": changed_at,
        "remote_deleted_at": _timestamp(item, "remote_deleted_at", "remote_deleted_at"),
        "applications": _list(
            item,
            "applications",
            "applications",
            lambda value, where: _application(value, where, changed_at),
        ),
        "tags": _list(item, "tags", "tags", _tag),
    }


def _application(value: Any, where: str, default_timestamp: str) -> JSONObject:
    if not isinstance(value, dict):
        raise _Invalid(where, f"must be an object with at least an id, not {json_kind(value)}")
    allowed = (*APPLICATION_FIELDS, "job_name")
    unknown = [key for key in value if key not in allowed]
    if unknown:
        raise _Invalid(f"{where}.{unknown[0]}", "is not a Kombo application field")

    application_id = _required_id(value, "id", f"{where}.id")
    if "job" in value and "job_name" in value:
        raise _Invalid(f"{where}.job_name", 'cannot be given together with "job"')
    if "job_name" in value:
        job_name = _nullable_string(value, "job_name", f"{where}.job_name")
        job = None if job_name is None else _job_named(job_name)
    else:
        job = _job(value.get("job"), f"{where}.job")

    outcome = value.get("outcome", "PENDING")
    if outcome is not None and outcome not in APPLICATION_OUTCOMES:
        raise _Invalid(
            f"{where}.outcome",
            f"must be PENDING, HIRED, DECLINED or null, not {_show(outcome)}",
        )

    changed_at = _timestamp(value, "changed_at", f"{where}.changed_at", default=default_timestamp)
    return {
        "id": application_id,
        "remote_id": _nullable_string(
            value, "remote_id", f"{where}.remote_id", default=application_id
        ),
        "outcome": outcome,
        "rejection_reason_name": _nullable_string(
            value, "rejection_reason_name", f"{where}.rejection_reason_name"
        ),
        "rejected_at": _timestamp(value, "rejected_at", f"{where}.rejected_at"),
        "remote_url": _nullable_string(value, "remote_url", f"{where}.remote_url"),
        "changed_at": changed_at,
        "remote_created_at": _timestamp(
            value, "remote_created_at", f"{where}.remote_created_at", default=changed_at
        ),
        "remote_updated_at": _timestamp(
            value, "remote_updated_at", f"{where}.remote_updated_at", default=changed_at
        ),
        "current_stage": _stage(value.get("current_stage"), f"{where}.current_stage"),
        "job": job,
    }


def _job_named(name: str) -> JSONObject:
    job_id = derived_id("job", name)
    return {"id": job_id, "name": name, "remote_id": job_id}


def _job(value: Any, where: str) -> JSONObject | None:
    if value is None:
        return None
    _expect_object(value, where, "job", ("id", "name", "remote_id"))
    job_id = _required_id(value, "id", f"{where}.id")
    return {
        "id": job_id,
        "name": _nullable_string(value, "name", f"{where}.name"),
        "remote_id": _string(value, "remote_id", f"{where}.remote_id", default=job_id),
    }


def _stage(value: Any, where: str) -> JSONObject | None:
    if value is None:
        return None
    _expect_object(value, where, "stage", ("id", "name", "remote_id", "index"))
    index = value.get("index")
    if index is not None and (isinstance(index, bool) or not isinstance(index, int)):
        raise _Invalid(f"{where}.index", f"must be an integer or null, not {json_kind(index)}")
    return {
        "id": _required_id(value, "id", f"{where}.id"),
        "name": _nullable_string(value, "name", f"{where}.name"),
        "remote_id": _nullable_string(value, "remote_id", f"{where}.remote_id"),
        "index": index,
    }


def _tag(value: Any, where: str) -> JSONObject:
    if isinstance(value, str):
        if not value.strip():
            raise _Invalid(where, "must not be an empty tag name")
        return {"id": derived_id("tag", value), "name": value, "remote_id": None}
    _expect_object(value, where, "tag", ("id", "name", "remote_id"), "a tag name or an object")
    return {
        "id": _required_id(value, "id", f"{where}.id"),
        "name": _nullable_string(value, "name", f"{where}.name"),
        "remote_id": _nullable_string(value, "remote_id", f"{where}.remote_id"),
    }


_EMAIL_PATTERN = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")


def _email_address(value: Any, where: str) -> JSONObject:
    if isinstance(value, str):
        address: Any = value
        kind = None
    else:
        _expect_object(
            value,
            where,
            "email address",
            ("email_address", "type"),
            "an email address or an object",
        )
        address = value.get("email_address")
        kind = _nullable_string(value, "type", f"{where}.type")
        where = f"{where}.email_address"
    if address is not None:
        if not isinstance(address, str):
            raise _Invalid(where, f"must be an email address, not {json_kind(address)}")
        # Kombo drops invalid addresses; in a fixture one is far more likely a typo.
        if not _EMAIL_PATTERN.fullmatch(address):
            raise _Invalid(where, f"is not a valid email address: {_show(address)}")
    return {"email_address": address, "type": kind}


def _phone_number(value: Any, where: str) -> JSONObject:
    if isinstance(value, str):
        return {"phone_number": value, "type": None}
    _expect_object(
        value, where, "phone number", ("phone_number", "type"), "a phone number or an object"
    )
    return {
        "phone_number": _string(value, "phone_number", f"{where}.phone_number"),
        "type": _nullable_string(value, "type", f"{where}.type"),
    }


def _social_media(value: Any, where: str) -> JSONObject:
    if isinstance(value, str):
        return {"link": value, "type": None, "username": None}
    _expect_object(
        value, where, "social media account", ("link", "type", "username"), "a link or an object"
    )
    return {
        key: _nullable_string(value, key, f"{where}.{key}") for key in ("link", "type", "username")
    }


def _location(value: Any, where: str) -> JSONObject | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = {"raw": value}
    _expect_object(
        value, where, "location", LOCATION_FIELDS, "an address string, an object or null"
    )
    return {key: _nullable_string(value, key, f"{where}.{key}") for key in LOCATION_FIELDS}


def _integration_field(value: Any, where: str) -> JSONObject:
    if not isinstance(value, dict):
        raise _Invalid(where, f"must be an object, not {json_kind(value)}")
    return value


def _expect_object(
    value: Any, where: str, noun: str, fields: tuple[str, ...], expected: str = "an object"
) -> None:
    if not isinstance(value, dict):
        raise _Invalid(where, f"must be {expected}, not {json_kind(value)}")
    for key in value:
        if key not in fields:
            raise _Invalid(f"{where}.{key}", f"is not a field of a Kombo {noun}")


def _list(
    item: JSONObject, key: str, where: str, convert: Callable[[Any, str], JSONObject]
) -> list[JSONObject]:
    # Kombo may send null for some of these lists; an empty list is equally valid and simpler.
    value = item.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise _Invalid(where, f"must be an array, not {json_kind(value)}")
    return [convert(element, f"{where}[{index}]") for index, element in enumerate(value)]


def _required_id(item: JSONObject, key: str, where: str) -> str:
    if key not in item:
        raise _Invalid(where, "is missing")
    value = item[key]
    if not isinstance(value, str):
        raise _Invalid(where, f"must be a string, not {json_kind(value)}")
    if not value.strip():
        raise _Invalid(where, "must not be empty")
    return value


def _string(item: JSONObject, key: str, where: str, default: str | None = None) -> str:
    value = item.get(key, default)
    if value is None:
        raise _Invalid(where, "is missing" if key not in item else "must be a string, not null")
    if not isinstance(value, str):
        raise _Invalid(where, f"must be a string, not {json_kind(value)}")
    return value


def _nullable_string(
    item: JSONObject, key: str, where: str, default: str | None = None
) -> str | None:
    value = item.get(key, default)
    if value is not None and not isinstance(value, str):
        raise _Invalid(where, f"must be a string or null, not {json_kind(value)}")
    return value


def _nullable_bool(
    item: JSONObject, key: str, where: str, default: bool | None = None
) -> bool | None:
    value = item.get(key, default)
    if value is not None and not isinstance(value, bool):
        raise _Invalid(where, f"must be true, false or null, not {json_kind(value)}")
    return value


def _nullable_object(
    item: JSONObject, key: str, where: str, default: JSONObject | None
) -> JSONObject | None:
    value = item.get(key, default)
    if value is not None and not isinstance(value, dict):
        raise _Invalid(where, f"must be an object or null, not {json_kind(value)}")
    return value


_TIMESTAMP_PATTERN = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)"
    r"(?:[T ](\d\d):(\d\d)(?::(\d\d)(?:\.(\d+))?)?(Z|z|[+-]\d\d:?\d\d)?)?"
)


def _timestamp(item: JSONObject, key: str, where: str, default: str | None = None) -> str | None:
    value = item.get(key, default)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _Invalid(
            where, f"must be an ISO 8601 timestamp string or null, not {json_kind(value)}"
        )
    parsed = parse_timestamp(value)
    if parsed is None:
        raise _Invalid(
            where,
            f"must be an ISO 8601 timestamp like 2025-11-03T09:00:00.000Z, not {_show(value)}",
        )
    return format_timestamp(parsed)


def parse_timestamp(value: str) -> datetime | None:
    """Parse the ISO 8601 forms people write by hand; naive times count as UTC."""
    match = _TIMESTAMP_PATTERN.fullmatch(value.strip())
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    microsecond = int((fraction or "0")[:6].ljust(6, "0"))
    tz = timezone.utc
    if offset and offset not in ("Z", "z"):
        sign = -1 if offset[0] == "-" else 1
        digits = offset[1:].replace(":", "")
        hours, minutes = int(digits[:2]), int(digits[2:])
        if hours > 23 or minutes > 59:
            return None
        delta = timedelta(hours=hours, minutes=minutes)
        tz = timezone(sign * delta)
    try:
        return datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            microsecond,
            tzinfo=tz,
        )
    except ValueError:
        return None


def format_timestamp(moment: datetime) -> str:
    """Kombo's timestamp format, `YYYY-MM-DDTHH:mm:ss.sssZ` in UTC, which sorts as text."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    utc = moment.astimezone(timezone.utc)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def derived_id(kind: str, key: str) -> str:
    """A stable 24-char base58 id for an object a fixture names but gives no id, e.g. a job."""
    number = int.from_bytes(hashlib.sha256(f"{kind}\0{key}".encode()).digest(), "big")
    digits = []
    while number:
        number, remainder = divmod(number, 58)
        digits.append(BASE58_ALPHABET[remainder])
    return "".join(digits)[:24].ljust(24, BASE58_ALPHABET[0])


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."
