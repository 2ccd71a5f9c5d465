"""One manifest row's values checked and turned into an AttachRequest, or into a RowProblem.

A row names exactly one target (`candidate_id`, `application_id` or `email`) and exactly
one source (`file` or `url`), and may give `type`, `name`, `content_type`,
`remote_fields` and `integration_id` (the customer's integration, when not the run's
own). The rules are the ones a command line is held to (IDs, URLs, types and content
types are checked by the same functions); only the wording is a row's: one sentence in
lower case that follows "line N: "."""

from __future__ import annotations

import os
import re
from typing import Any

from kombo_cli.api.targets import APPLICATION, CANDIDATE, Target
from kombo_cli.credentials import integration_id_problem
from kombo_cli.errors import UsageError
from kombo_cli.strict_json import BadJSON, json_kind, parse_strict_json, shown
from kombo_cli.upload.content_types import validate_content_type
from kombo_cli.upload.plan import (
    ATTACHMENT_TYPES,
    has_control_characters,
    normalize_attachment_type,
)
from kombo_cli.upload.request import EMAIL, AttachRequest, Entry, RowProblem
from kombo_cli.upload.urls import UnusableUrl, download_uri

TARGET_KINDS = {"candidate_id": CANDIDATE, "application_id": APPLICATION, "email": EMAIL}
TARGET_COLUMNS = tuple(TARGET_KINDS)
SOURCE_COLUMNS = ("file", "url")
OPTIONAL_COLUMNS = ("type", "name", "content_type", "remote_fields", "integration_id")
COLUMNS = TARGET_COLUMNS + SOURCE_COLUMNS + OPTIONAL_COLUMNS
COLUMNS_HINT = f"the accepted columns are {', '.join(COLUMNS)}"

_JSON_POSITION = re.compile(r" at line 1 column (\d+)$")


class RowRefused(Exception):
    """A row problem found while checking a row; becomes a RowProblem."""


def entry_from_values(line: int, values: dict[str, Any], folder: str) -> Entry:
    """The row's request, or the problem that keeps it from being one. `values` holds the
    present values only, strings stripped; relative files are joined to `folder`."""
    integration_id: str | None = values.get("integration_id")
    if integration_id is not None:
        problem = integration_id_problem(integration_id)
        if problem is not None:
            message = f"integration_id {shown(integration_id)} {problem}."
            return RowProblem(line, message, unreadable_integration=True)
    try:
        return _request(line, values, folder, integration_id)
    except RowRefused as refused:
        # Counted under its integration: the row is that customer's, even unreadable.
        return RowProblem(line, str(refused), integration_id)


def _request(
    line: int, values: dict[str, Any], folder: str, integration_id: str | None
) -> AttachRequest:
    targets = [column for column in TARGET_COLUMNS if column in values]
    if len(targets) != 1:
        raise RowRefused(_exactly_one(TARGET_COLUMNS, targets))
    sources = [column for column in SOURCE_COLUMNS if column in values]
    if len(sources) != 1:
        raise RowRefused(_exactly_one(SOURCE_COLUMNS, sources))

    target_column = targets[0]
    target_kind = TARGET_KINDS[target_column]
    target_value = values[target_column]
    if target_kind == EMAIL:
        _check_email(target_value)
    else:
        try:
            Target.parse(target_value, application=target_kind == APPLICATION)
        except UsageError as exc:
            raise RowRefused(_lower_first(exc.message)) from None

    file_text = values.get("file")
    file = None
    if file_text is not None:
        if "\x00" in file_text:
            raise RowRefused("file contains a NUL character.")
        file = _resolve(folder, file_text)
    url = values.get("url")
    if url is not None:
        try:
            download_uri(url)
        except UnusableUrl as problem:
            raise RowRefused(f"url {shown(problem.shown)} {problem.problem}.") from None

    attachment_type = values.get("type")
    if attachment_type is not None:
        try:
            attachment_type = normalize_attachment_type(attachment_type)
        except UsageError:
            raise RowRefused(
                f"type {shown(attachment_type)} is not one of {', '.join(ATTACHMENT_TYPES)}."
            ) from None
    name = values.get("name")
    if name is not None and has_control_characters(name):
        raise RowRefused("name contains control characters.")
    content_type = values.get("content_type")
    if content_type is not None:
        try:
            content_type = validate_content_type(content_type)
        except UsageError as exc:
            raise RowRefused(_lower_first(exc.message)) from None
    remote_fields = values.get("remote_fields")
    if isinstance(remote_fields, str):
        remote_fields = _remote_fields_from_text(remote_fields)

    return AttachRequest(
        target_kind=target_kind,
        target_value=target_value,
        file=file,
        url=url,
        type=attachment_type,
        name=name,
        content_type=content_type,
        remote_fields=remote_fields,
        line=line,
        integration_id=integration_id,
    )


def jsonl_values(line: str) -> dict[str, Any]:
    """The present values of one JSON Lines row (strings stripped); raise RowRefused."""
    try:
        document = parse_strict_json(line)
    except BadJSON as exc:
        detail = _JSON_POSITION.sub(r" at column \1", exc.detail)
        raise RowRefused(f"the line is not valid JSON: {detail}.") from None
    if not isinstance(document, dict):
        raise RowRefused(f"the line must be a JSON object, not {json_kind(document)}.")
    values: dict[str, Any] = {}
    for key, value in document.items():
        if key not in COLUMNS:
            raise RowRefused(f"unknown key {shown(key)}; {COLUMNS_HINT}.")
        if value is None:
            continue
        if key == "remote_fields":
            if not isinstance(value, dict):
                raise RowRefused(f"remote_fields must be an object, not {json_kind(value)}.")
            values[key] = value
            continue
        if not isinstance(value, str):
            raise RowRefused(f"{key} must be a string, not {json_kind(value)}.")
        value = value.strip()
        if value:
            values[key] = value
    return values


def _remote_fields_from_text(text: str) -> dict[str, Any]:
    try:
        document = parse_strict_json(text)
    except BadJSON as exc:
        raise RowRefused(f"remote_fields is not valid JSON: {exc.detail}.") from None
    if not isinstance(document, dict):
        raise RowRefused(f"remote_fields must be a JSON object, not {json_kind(document)}.")
    return document


def _resolve(folder: str, file_text: str) -> str:
    """`file_text` joined to the manifest's folder unless absolute, without a leading "./".

    os.path rather than pathlib: pathlib interns every part of every path it parses.
    """
    if os.path.isabs(file_text):
        return file_text
    while file_text.startswith("./"):
        file_text = file_text[2:].lstrip("/")
    return os.path.join(folder, file_text)


def _exactly_one(columns: tuple[str, ...], present: list[str]) -> str:
    wanted = f"give exactly one of {', '.join(columns)}"
    if not present:
        return f"{wanted}."
    return f"{wanted} (the row has {' and '.join(present)})."


def _check_email(value: str) -> None:
    local, at, domain = value.partition("@")
    if (
        not at
        or not local
        or not domain
        or "@" in domain
        or any(character.isspace() for character in value)
        or has_control_characters(value)
    ):
        raise RowRefused(f"email {shown(value)} is not an email address.")


def _lower_first(message: str) -> str:
    """A message from elsewhere made fit to follow "line N: " ("The x" -> "the x")."""
    if len(message) > 1 and message[0].isupper() and not message[1].isupper():
        return message[0].lower() + message[1:]
    return message
