"""The sandbox's Kombo environment and its one integration, as Kombo describes them.

Everything here has the exact shape of Kombo's responses, so that the official SDKs, which
validate each response against their models, accept what the sandbox sends. The functions
return the `data` object only; the routes wrap it in `{"status": "success", "data": ...}`.
"""

from __future__ import annotations

from typing import Any

JSONObject = dict[str, Any]

SANDBOX_TOOL_ID = "sandbox"
SANDBOX_TOOL_LABEL = "Kombo Sandbox"
SANDBOX_ORGANIZATION_NAME = "Sandbox Inc."
SANDBOX_CREATOR_EMAIL = "sandbox@example.com"

ENVIRONMENT_ID = "B7bKmv3QyU8tPz2VgXd4WnHc"
SCOPE_CONFIG_ID = "s1D1J4staby4NB5twaeZtLJT"


def environment_id() -> str:
    return ENVIRONMENT_ID


def check_api_key_data(environment_id: str) -> JSONObject:
    """The `data` of GET /check-api-key.

    Kombo's document still requires `customer_id`, deprecated as the old name of
    `environment_id` and the same value; newer SDKs model only `environment_id` and ignore it.
    """
    return {"environment_id": environment_id, "customer_id": environment_id}


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
