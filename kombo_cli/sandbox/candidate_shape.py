"""Kombo's Candidate object, filled in from the terse form people write by hand.

A candidate in a fixture needs only an `id`; `full_candidate` adds every field Kombo always
sends, in Kombo's order, with the defaults Kombo would give, and accepts shorthand: plain
strings for email addresses, phone numbers and social media links, tag names for tags, and
`job_name` instead of a `job` object. Anything the official SDK would choke on raises
`InvalidField`, naming the field.
"""

from __future__ import annotations

import re
from typing import Any

from kombo_cli.sandbox.contract import derived_id
from kombo_cli.sandbox.field_checks import (
    InvalidField,
    JSONObject,
    expect_object,
    quoted,
    read_array,
    read_nullable_bool,
    read_nullable_object,
    read_nullable_string,
    read_required_id,
    read_string,
    read_timestamp,
)
from kombo_cli.strict_json import json_kind

# User fixtures rarely carry timestamps; a fixed default keeps the sandbox's output reproducible.
DEFAULT_TIMESTAMP = "2025-11-03T09:00:00.000Z"

APPLICATION_OUTCOMES = ("PENDING", "HIRED", "DECLINED")

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


def full_candidate(item: JSONObject) -> JSONObject:
    """Every field of Kombo's Candidate, in Kombo's order, from a terse hand-written one."""
    unknown = [key for key in item if key not in CANDIDATE_FIELDS]
    if unknown:
        raise InvalidField(unknown[0], "is not a Kombo candidate field")

    candidate_id = read_required_id(item, "id", "id")
    changed_at = read_timestamp(item, "changed_at", "changed_at", default=DEFAULT_TIMESTAMP)
    return {
        "id": candidate_id,
        "remote_id": read_string(item, "remote_id", "remote_id", default=candidate_id),
        "first_name": read_nullable_string(item, "first_name", "first_name"),
        "last_name": read_nullable_string(item, "last_name", "last_name"),
        "company": read_nullable_string(item, "company", "company"),
        "title": read_nullable_string(item, "title", "title"),
        "confidential": read_nullable_bool(item, "confidential", "confidential", default=False),
        "source": read_nullable_string(item, "source", "source"),
        "phone_numbers": read_array(item, "phone_numbers", "phone_numbers", _phone_number),
        "email_addresses": read_array(item, "email_addresses", "email_addresses", _email_address),
        "social_media": read_array(item, "social_media", "social_media", _social_media),
        "location": _location(item.get("location"), "location"),
        "custom_fields": read_nullable_object(item, "custom_fields", "custom_fields", default={}),
        "integration_fields": read_array(
            item, "integration_fields", "integration_fields", _integration_field
        ),
        "remote_url": read_nullable_string(item, "remote_url", "remote_url"),
        "remote_created_at": read_timestamp(
            item, "remote_created_at", "remote_created_at", default=changed_at
        ),
        "remote_updated_at": read_timestamp(
            item, "remote_updated_at", "remote_updated_at", default=changed_at
        ),
        "remote_data": read_nullable_object(item, "remote_data", "remote_data", default=None),
        "changed_at": changed_at,
        "remote_deleted_at": read_timestamp(item, "remote_deleted_at", "remote_deleted_at"),
        "applications": read_array(
            item,
            "applications",
            "applications",
            lambda value, where: _application(value, where, changed_at),
        ),
        "tags": read_array(item, "tags", "tags", _tag),
    }


def _application(value: Any, where: str, default_timestamp: str | None) -> JSONObject:
    if not isinstance(value, dict):
        raise InvalidField(where, f"must be an object with at least an id, not {json_kind(value)}")
    allowed = (*APPLICATION_FIELDS, "job_name")
    unknown = [key for key in value if key not in allowed]
    if unknown:
        raise InvalidField(f"{where}.{unknown[0]}", "is not a Kombo application field")

    application_id = read_required_id(value, "id", f"{where}.id")
    if "job" in value and "job_name" in value:
        raise InvalidField(f"{where}.job_name", 'cannot be given together with "job"')
    if "job_name" in value:
        job_name = read_nullable_string(value, "job_name", f"{where}.job_name")
        job = None if job_name is None else _job_named(job_name)
    else:
        job = _job(value.get("job"), f"{where}.job")

    outcome = value.get("outcome", "PENDING")
    if outcome is not None and outcome not in APPLICATION_OUTCOMES:
        raise InvalidField(
            f"{where}.outcome",
            f"must be PENDING, HIRED, DECLINED or null, not {quoted(outcome)}",
        )

    changed_at = read_timestamp(
        value, "changed_at", f"{where}.changed_at", default=default_timestamp
    )
    return {
        "id": application_id,
        "remote_id": read_nullable_string(
            value, "remote_id", f"{where}.remote_id", default=application_id
        ),
        "outcome": outcome,
        "rejection_reason_name": read_nullable_string(
            value, "rejection_reason_name", f"{where}.rejection_reason_name"
        ),
        "rejected_at": read_timestamp(value, "rejected_at", f"{where}.rejected_at"),
        "remote_url": read_nullable_string(value, "remote_url", f"{where}.remote_url"),
        "changed_at": changed_at,
        "remote_created_at": read_timestamp(
            value, "remote_created_at", f"{where}.remote_created_at", default=changed_at
        ),
        "remote_updated_at": read_timestamp(
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
    expect_object(value, where, "job", ("id", "name", "remote_id"))
    job_id = read_required_id(value, "id", f"{where}.id")
    return {
        "id": job_id,
        "name": read_nullable_string(value, "name", f"{where}.name"),
        "remote_id": read_string(value, "remote_id", f"{where}.remote_id", default=job_id),
    }


def _stage(value: Any, where: str) -> JSONObject | None:
    if value is None:
        return None
    expect_object(value, where, "stage", ("id", "name", "remote_id", "index"))
    index = value.get("index")
    if index is not None and (isinstance(index, bool) or not isinstance(index, int)):
        raise InvalidField(f"{where}.index", f"must be an integer or null, not {json_kind(index)}")
    return {
        "id": read_required_id(value, "id", f"{where}.id"),
        "name": read_nullable_string(value, "name", f"{where}.name"),
        "remote_id": read_nullable_string(value, "remote_id", f"{where}.remote_id"),
        "index": index,
    }


def _tag(value: Any, where: str) -> JSONObject:
    if isinstance(value, str):
        if not value.strip():
            raise InvalidField(where, "must not be an empty tag name")
        return {"id": derived_id("tag", value), "name": value, "remote_id": None}
    expect_object(value, where, "tag", ("id", "name", "remote_id"), "a tag name or an object")
    return {
        "id": read_required_id(value, "id", f"{where}.id"),
        "name": read_nullable_string(value, "name", f"{where}.name"),
        "remote_id": read_nullable_string(value, "remote_id", f"{where}.remote_id"),
    }


# The pattern Kombo's document gives every listed `email_address`; Kombo filters other
# addresses out of its answers. Its domain part is lower case only.
KOMBO_EMAIL_PATTERN = re.compile(
    r"^(?!\.)(?!.*\.\.)([\w'+-.]*)[\w+-]@([\da-z][\da-z-]*\.)+[a-z]{2,}$", re.ASCII
)


def _email_address(value: Any, where: str) -> JSONObject:
    if isinstance(value, str):
        address: Any = value
        kind = None
    else:
        expect_object(
            value,
            where,
            "email address",
            ("email_address", "type"),
            "an email address or an object",
        )
        address = value.get("email_address")
        kind = read_nullable_string(value, "type", f"{where}.type")
        where = f"{where}.email_address"
    if address is not None:
        if not isinstance(address, str):
            raise InvalidField(where, f"must be an email address, not {json_kind(address)}")
        # Kombo drops addresses its pattern refuses; in a fixture one is far more likely a
        # typo, or a domain in capitals, which Kombo's pattern does not take.
        if not KOMBO_EMAIL_PATTERN.fullmatch(address):
            raise InvalidField(
                where,
                f"is not an address Kombo would list: {quoted(address)} (Kombo's pattern"
                " needs a valid address with its domain in lower case)",
            )
    return {"email_address": address, "type": kind}


def _phone_number(value: Any, where: str) -> JSONObject:
    if isinstance(value, str):
        return {"phone_number": value, "type": None}
    expect_object(
        value, where, "phone number", ("phone_number", "type"), "a phone number or an object"
    )
    return {
        "phone_number": read_string(value, "phone_number", f"{where}.phone_number"),
        "type": read_nullable_string(value, "type", f"{where}.type"),
    }


def _social_media(value: Any, where: str) -> JSONObject:
    if isinstance(value, str):
        return {"link": value, "type": None, "username": None}
    expect_object(
        value, where, "social media account", ("link", "type", "username"), "a link or an object"
    )
    return {
        key: read_nullable_string(value, key, f"{where}.{key}")
        for key in ("link", "type", "username")
    }


def _location(value: Any, where: str) -> JSONObject | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = {"raw": value}
    expect_object(value, where, "location", LOCATION_FIELDS, "an address string, an object or null")
    return {key: read_nullable_string(value, key, f"{where}.{key}") for key in LOCATION_FIELDS}


def _integration_field(value: Any, where: str) -> JSONObject:
    if not isinstance(value, dict):
        raise InvalidField(where, f"must be an object, not {json_kind(value)}")
    return value
