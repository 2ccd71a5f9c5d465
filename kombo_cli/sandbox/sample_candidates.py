"""The built-in sample candidates, with fixed ids that docs and tests can name.

`kombo sandbox` serves these unless it is given a candidates file. They are written in the
same terse form a user's file may use and filled in by `candidate_shape.full_candidate`.
Each further integration a sandbox serves has its own copies of them: the same people,
whom two customers' ATSs may well both know, under IDs of that integration's own.
"""

from __future__ import annotations

from typing import Any

from kombo_cli.sandbox.candidate_shape import full_candidate
from kombo_cli.sandbox.contract import derived_id
from kombo_cli.sandbox.field_checks import InvalidField, JSONObject

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
# A mixed-case name on purpose: Kombo's `email` filter is case-insensitive, and clients must
# be too. The domain stays lower case, as Kombo's pattern for listed addresses requires.
MARIA_GARCIA_EMAIL = "Maria.Garcia@example.com"
MARIA_GARCIA_SECOND_EMAIL = "maria.g@example.org"
LI_WEI_EMAIL = "li.wei@example.com"
AMELIA_HARTMANN_EMAIL = "amelia.hartmann@example.org"


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
            candidates.append(full_candidate(spec))
        except InvalidField as exc:  # pragma: no cover - the samples are checked by the tests
            raise AssertionError(
                f"sample candidate {index + 1}: {exc.field} {exc.problem}"
            ) from exc
    return candidates


def sample_candidates_for(integration_id: str) -> list[JSONObject]:
    """A further integration's own copies of the samples: every ID (candidate, application,
    job, stage, tag) derived from the sample's and the integration's, so that it is the
    same on every start and no other integration has it."""
    return [_with_ids_of(integration_id, candidate) for candidate in sample_candidates()]


def _with_ids_of(integration_id: str, value: Any) -> Any:
    if isinstance(value, list):
        return [_with_ids_of(integration_id, item) for item in value]
    if not isinstance(value, dict):
        return value
    return {
        key: derived_id("sample", f"{integration_id}\0{item}")
        if key == "id" and isinstance(item, str)
        else _with_ids_of(integration_id, item)
        for key, item in value.items()
    }
