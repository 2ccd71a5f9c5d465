"""Reading a user's candidates file (`kombo sandbox --candidates FILE.json`).

The file is a JSON array of candidate objects, as terse as `candidate_shape` allows. Any
problem, from an unreadable file to one wrong field, raises a `FixtureError` whose one-line
message names the file, the item and the field, so it can be shown to the user as it is.

A sandbox serving several integrations takes each candidate's optional `integration_id`
as the integration it belongs to (without one: the first, the default integration).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from kombo_cli.sandbox.candidate_shape import full_candidate
from kombo_cli.sandbox.field_checks import InvalidField, JSONObject
from kombo_cli.strict_json import BadJSON, json_kind, parse_strict_json


class FixtureError(ValueError):
    """A candidates file that cannot be served; the message names the file and the problem."""


def load_candidates(path: Path) -> list[JSONObject]:
    """Read a user's candidates file (a JSON array of objects) into full Candidate objects.

    Each object needs an `id`; everything else is optional. `email_addresses` and
    `phone_numbers` may be plain strings, `tags` plain names, and an application may name its
    job with `job_name` instead of a `job` object. Every candidate is returned, whichever
    integration it names.
    """
    return [candidate for _, _, candidate in _load(path)]


def load_candidates_by_integration(
    path: Path, integration_ids: Sequence[str]
) -> dict[str, list[JSONObject]]:
    """Each served integration's candidates, in the file's order: those whose
    `integration_id` names it, and for the first (the default) those that name none."""
    by_integration: dict[str, list[JSONObject]] = {key: [] for key in integration_ids}
    for number, named, candidate in _load(path):
        if named is None:
            named = integration_ids[0]
        elif named not in by_integration:
            raise FixtureError(
                f'Candidates file {path}: candidate "{candidate["id"]}" (item {number}) '
                f'belongs to the integration "{named}", which the sandbox does not serve '
                f"(it serves {', '.join(integration_ids)})."
            )
        by_integration[named].append(candidate)
    return by_integration


def _load(path: Path) -> list[tuple[int, str | None, JSONObject]]:
    """Each item's number, the integration it names (None: none) and its full candidate."""
    data = _read_json(path)
    if not isinstance(data, list):
        raise FixtureError(
            f"Candidates file {path} must contain a JSON array of candidate objects, "
            f"not {json_kind(data)}."
        )

    candidates: list[tuple[int, str | None, JSONObject]] = []
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
        integration_id = _item_integration(path, number, item)
        try:
            candidate = full_candidate(
                {key: value for key, value in item.items() if key != "integration_id"}
            )
        except InvalidField as exc:
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
        candidates.append((number, integration_id, candidate))
    return candidates


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
        # Strict: a repeated key, NaN or a lone surrogate in a hand-written file is a typo
        # that Python's json would pass on silently (keeping the last of two equal keys).
        return parse_strict_json(text)
    except BadJSON as exc:
        raise FixtureError(f"Candidates file {path} is not valid JSON: {exc.detail}.") from None


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


def _item_integration(path: Path, number: int, item: JSONObject) -> str | None:
    if "integration_id" not in item:
        return None
    value = item["integration_id"]
    if not isinstance(value, str) or not value.strip():
        shown = "an empty string" if isinstance(value, str) else json_kind(value)
        raise FixtureError(
            f'Candidates file {path}: item {number} has an "integration_id" that is {shown}, '
            "not an integration ID."
        )
    return value
