"""The `remote_fields` object of an attachment request, built from command-line options.

Some ATSs need extra, ATS-specific data to add an attachment (Greenhouse wants an
`On-Behalf-Of` header, Workable the user acting, Oracle whether to post to every current
application). Kombo takes these in the body's `remote_fields` object. Writing that object
as one JSON argument is awkward in a shell, so two options build it:

- `--remote-fields JSON` or `--remote-fields @file.json` gives the whole object;
- `--remote-field PATH=VALUE` (a text value) or `--remote-field PATH:=JSON` (a raw JSON
  value, as in HTTPie) sets one dotted path, e.g. `greenhouse.post_headers.On-Behalf-Of=123`.

Each `--remote-field` is applied on top of `--remote-fields`, so a script can keep the
usual object in a file and change one value per run. Two `--remote-field` arguments never
silently overwrite each other: the same path twice, or one path inside another, is an error
whatever their order.

Only syntax and structure are checked, never the keys: Kombo adds ATS-specific fields over
time and rejects unknown ones itself. Values must be standard JSON (no NaN or Infinity, no
lone surrogates) because they end up in a JSON request body. Problems become UsageError
(exit 2); nothing here prints.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from kombo_cli.errors import UsageError
from kombo_cli.safe_read import MAX_SETTINGS_FILE_BYTES, RefusedFile, read_small_file
from kombo_cli.strict_json import BadJSON, json_kind, parse_strict_json, shown

# remote_fields is a handful of small values; a bigger file is almost certainly the wrong one
# (and reading /dev/zero must not exhaust memory).
MAX_REMOTE_FIELDS_FILE_BYTES = MAX_SETTINGS_FILE_BYTES

FIELD_HINT = (
    "use PATH=VALUE for a text value or PATH:=JSON for a JSON value, "
    "e.g. greenhouse.post_headers.On-Behalf-Of=123"
)
JSON_VALUE_HINT = (
    'after := give standard JSON such as true, null, 42, "text" or {"a":1} '
    "(quote it for the shell), or use PATH=VALUE for a text value"
)
OBJECT_HINT = (
    "give a JSON object, e.g. --remote-fields "
    '\'{"workable":{"on_behalf_of_user_remote_id":"u-42"}}\', or @FILE to read it from a file'
)
FILE_HINT = "give the path of a UTF-8 JSON file after @, e.g. --remote-fields @remote-fields.json"

# Unicode categories rejected in path segments besides whitespace: control, format
# (invisible characters such as zero-width space or bidi overrides) and surrogates.
_BAD_CATEGORIES = frozenset({"Cc", "Cf", "Cs"})


def _path_text(path: Sequence[str]) -> str:
    return repr(".".join(path))


def _check_segments(path: tuple[str, ...], argument: str) -> None:
    for segment in path:
        if not segment:
            raise UsageError(
                f"--remote-field {shown(argument)} has an empty part in its path "
                f"{_path_text(path)}.",
                hint=FIELD_HINT,
            )
        for character in segment:
            if character.isspace() or unicodedata.category(character) in _BAD_CATEGORIES:
                raise UsageError(
                    f"--remote-field {shown(argument)} has whitespace or a control or invisible "
                    f"character in its path {_path_text(path)}.",
                    hint=FIELD_HINT,
                )


def parse_remote_field(argument: str) -> tuple[tuple[str, ...], Any]:
    """Split one `--remote-field` argument into its path and its value.

    `PATH=VALUE` gives the text VALUE (possibly empty, may contain '=' and '.');
    `PATH:=JSON` gives the parsed JSON value. The separator is the first '=', so a path
    cannot contain '='. Raise UsageError for anything malformed.
    """
    separator = argument.find("=")
    if separator < 0:
        raise UsageError(
            f"--remote-field {shown(argument)} has no '=' between path and value.",
            hint=FIELD_HINT,
        )
    is_json = separator > 0 and argument[separator - 1] == ":"
    path_text = argument[: separator - 1] if is_json else argument[:separator]
    raw_value = argument[separator + 1 :]
    operator = ":=" if is_json else "="
    if not path_text:
        raise UsageError(
            f"--remote-field {shown(argument)} has no path before {operator!r}.",
            hint=FIELD_HINT,
        )
    path = tuple(path_text.split("."))
    _check_segments(path, argument)

    if not is_json:
        try:
            raw_value.encode("utf-8")
        except UnicodeEncodeError:
            # Bytes in argv that are not UTF-8 arrive as lone surrogates.
            raise UsageError(
                f"--remote-field {shown(argument)} has a value that is not valid UTF-8 text.",
                hint="check the encoding of the terminal or script that runs kombo",
            ) from None
        return path, raw_value
    try:
        value = parse_strict_json(raw_value)
    except BadJSON as exc:
        raise UsageError(
            f"--remote-field {shown(argument)} has invalid JSON after ':=': {exc.detail}.",
            hint=JSON_VALUE_HINT,
        ) from None
    return path, value


def _read_file(name: str) -> str:
    # File names are shown in full: a shortened path would not say which file is meant.
    shown = repr(name)
    if not name:
        raise UsageError("--remote-fields '@' names no file.", hint=FILE_HINT)
    try:
        # A regular file only: a pipe or /dev/zero after @ is refused at once, never read.
        data = read_small_file(Path(name), MAX_REMOTE_FIELDS_FILE_BYTES)
    except RefusedFile as refused:
        too_large = refused.reason.startswith("is larger")
        raise UsageError(
            f"--remote-fields file {shown} {refused.reason}.",
            hint="remote_fields is a small JSON object; check that this is the right file"
            if too_large
            else FILE_HINT,
        ) from None
    except FileNotFoundError:
        raise UsageError(f"--remote-fields file {shown} does not exist.", hint=FILE_HINT) from None
    except IsADirectoryError:
        raise UsageError(
            f"--remote-fields file {shown} is a directory, not a file.", hint=FILE_HINT
        ) from None
    except PermissionError:
        raise UsageError(
            f"Cannot read --remote-fields file {shown}: permission denied.",
            hint="check the file's permissions",
        ) from None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise UsageError(
            f"Cannot read --remote-fields file {shown}: {reason}.", hint=FILE_HINT
        ) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"--remote-fields file {shown} is not UTF-8 text (bad byte at offset {exc.start}).",
            hint="save the file as UTF-8",
        ) from None


def load_remote_fields_option(value: str) -> dict[str, Any]:
    """The object given by `--remote-fields`: JSON text, or `@FILE` to read a UTF-8 file.

    Raise UsageError when the file cannot be read, the JSON is invalid or not standard,
    or it is not an object.
    """
    if value.startswith("@"):
        name = value[1:]
        text = _read_file(name)
        source = f"--remote-fields file {name!r}"
    else:
        text = value
        source = f"--remote-fields {shown(value)}"
    if not text.strip():
        raise UsageError(f"{source} is empty.", hint=OBJECT_HINT)
    try:
        document = parse_strict_json(text)
    except BadJSON as exc:
        raise UsageError(f"{source} is not valid JSON: {exc.detail}.", hint=OBJECT_HINT) from None
    if not isinstance(document, dict):
        raise UsageError(
            f"{source} must be a JSON object, not {json_kind(document)}.", hint=OBJECT_HINT
        )
    return document


def _is_prefix(shorter: tuple[str, ...], longer: tuple[str, ...]) -> bool:
    return len(shorter) < len(longer) and longer[: len(shorter)] == shorter


def build_remote_fields(
    remote_fields_option: str | None, field_arguments: Sequence[str]
) -> dict[str, Any] | None:
    """The `remote_fields` object to send, or None when neither option was given.

    Start from `--remote-fields` (if given) and set each `--remote-field` on top, creating
    intermediate objects. A `--remote-field` may replace a value from `--remote-fields`;
    two `--remote-field` arguments with the same path, or with one path inside the other,
    are an error, as is setting a path through a value that is not an object.
    """
    if remote_fields_option is None and not field_arguments:
        return None
    result: dict[str, Any] = (
        {} if remote_fields_option is None else load_remote_fields_option(remote_fields_option)
    )
    # Paths already set by --remote-field, with the argument that set each one.
    set_by: dict[tuple[str, ...], str] = {}
    for argument in field_arguments:
        path, value = parse_remote_field(argument)
        if path in set_by:
            raise UsageError(
                f"--remote-field {shown(argument)} sets the path {_path_text(path)} again "
                f"(already set by {shown(set_by[path])}).",
                hint="give each path once",
            )
        for earlier_path, earlier in set_by.items():
            if _is_prefix(earlier_path, path) or _is_prefix(path, earlier_path):
                outer, inner = sorted((earlier_path, path), key=len)
                raise UsageError(
                    f"--remote-field {shown(argument)} conflicts with {shown(earlier)}: "
                    f"the path {_path_text(inner)} lies inside {_path_text(outer)}.",
                    hint=(
                        f"either set {_path_text(outer)} as a whole with :=JSON "
                        "or set the paths inside it, not both"
                    ),
                )
        target = result
        for depth, key in enumerate(path[:-1], start=1):
            if key not in target:
                target[key] = {}
            child = target[key]
            if not isinstance(child, dict):
                # Not from a --remote-field: those would have been a prefix conflict above.
                raise UsageError(
                    f"--remote-field {shown(argument)} cannot set the path "
                    f"{_path_text(path)}: {_path_text(path[:depth])} in --remote-fields is "
                    f"{json_kind(child)}, not an object.",
                    hint="change --remote-fields or set a path that does not go through it",
                )
            target = child
        target[path[-1]] = value
        set_by[path] = argument
    return result


def checked_remote_fields(value: Any) -> dict[str, Any] | None:
    """`remote_fields` as a script gave it: None, or an object of standard JSON values
    (what the options above produce already). Raise UsageError otherwise."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise UsageError(
            f"remote_fields must be a JSON object, not {type(value).__name__}.", hint=OBJECT_HINT
        )
    try:
        parse_strict_json(json.dumps(value, ensure_ascii=False, allow_nan=False))
    except (TypeError, ValueError, BadJSON) as exc:
        raise UsageError(
            f"remote_fields holds a value that is not standard JSON ({exc}).", hint=OBJECT_HINT
        ) from None
    return value
