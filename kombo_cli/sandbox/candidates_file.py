"""Reading a user's candidates file (`kombo sandbox --candidates FILE.json`).

The file is a JSON array of candidate objects, as terse as `candidate_shape` allows. Any
problem, from an unreadable file to one wrong field, raises a `FixtureError` whose one-line
message names the file, the item and the field, so it can be shown to the user as it is.
"""

from __future__ import annotations

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
            candidate = full_candidate(item)
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
        candidates.append(candidate)
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
