"""The sandbox's Kombo environment and its integrations, as Kombo describes them.

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


# An integration set to fail (--integration-error ID=STATUS): the error every /ats/ request
# gets, as code, title and message ("{id}" is the integration's ID), and the `status` and
# `setup_status` its details show. 401: its credentials stopped working, so Kombo marks it
# INVALID; 403: it is set up and syncing, but the ATS user it connects as lacks a
# permission an action needs; 409: its setup is not finished.
INTEGRATION_ERRORS: dict[int, tuple[str, str, str]] = {
    # The customer's own ATS credentials: the integration's, not the API key's, which
    # Kombo reports as PLATFORM.AUTHENTICATION_INVALID for every integration alike.
    401: (
        "INTEGRATION.AUTHENTICATION_INVALID",
        "Integration authentication invalid",
        "The credentials of the integration '{id}' are invalid or have expired."
        " The customer has to reconnect the integration.",
    ),
    403: (
        "INTEGRATION.PERMISSION_MISSING",
        "Permission missing",
        "The integration '{id}' lacks a permission in the ATS that this request needs."
        " The customer has to grant it and reconnect the integration.",
    ),
    409: (
        "INTEGRATION.SETUP_INCOMPLETE",
        "Setup incomplete",
        "The setup of the integration '{id}' is not complete yet."
        " The customer has to finish it before its data can be used.",
    ),
}
_STATES: dict[int | None, tuple[str, str]] = {
    None: ("ACTIVE", "COMPLETED"),
    401: ("INVALID", "COMPLETED"),
    403: ("ACTIVE", "COMPLETED"),
    409: ("ACTIVE", "INCOMPLETE"),
}


def integration_error(integration_id: str, status: int) -> tuple[str, str, str]:
    """The code, title and message of the error an integration set to `status` answers."""
    code, title, message = INTEGRATION_ERRORS[status]
    return code, title, message.replace("{id}", integration_id)


def integration_details(
    integration_id: str, *, created_at: str, error_status: int | None = None
) -> JSONObject:
    """The `data` of GET /integrations/{integration_id}: an active, fully set-up ATS, or
    one in the state that makes it answer `error_status` (a key of INTEGRATION_ERRORS)."""
    status, setup_status = _STATES[error_status]
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
        "status": status,
        "setup_status": setup_status,
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
