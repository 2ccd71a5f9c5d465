"""Building `remote_fields` from --remote-fields and --remote-field: syntax, order, conflicts."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from kombo_cli.errors import ExitCode, UsageError
from kombo_cli.upload import remote_fields
from kombo_cli.upload.remote_fields import (
    MAX_REMOTE_FIELDS_FILE_BYTES,
    build_remote_fields,
    load_remote_fields_option,
    parse_remote_field,
)


def usage_error(excinfo: pytest.ExceptionInfo[UsageError]) -> UsageError:
    """The error, after checking what every UsageError from this module promises."""
    error = excinfo.value
    assert error.exit_code == ExitCode.USAGE
    assert error.message == str(error)
    assert error.message.strip() and "\n" not in error.message and "\r" not in error.message
    assert error.message.endswith(".")
    assert error.hint and "\n" not in error.hint
    return error


# --- parse_remote_field: text values ------------------------------------------------------


@pytest.mark.parametrize(
    ("argument", "path", "value"),
    [
        (
            "greenhouse.post_headers.On-Behalf-Of=123",
            ("greenhouse", "post_headers", "On-Behalf-Of"),
            "123",
        ),
        (
            "workable.on_behalf_of_user_remote_id=u-42",
            ("workable", "on_behalf_of_user_remote_id"),
            "u-42",
        ),
        ("a=", ("a",), ""),
        ("a=b=c", ("a",), "b=c"),
        ("a.b==", ("a", "b"), "="),
        ("a=1.5.x", ("a",), "1.5.x"),
        ("a=x:=y", ("a",), "x:=y"),
        ("a=true", ("a",), "true"),
        ("a=null", ("a",), "null"),
        ("a= padded ", ("a",), " padded "),
        ("a=line\nbreak", ("a",), "line\nbreak"),
        ("a=@file.json", ("a",), "@file.json"),
        ("name=Zoë 日本 🎉", ("name",), "Zoë 日本 🎉"),
        ("Zoë.日本=x", ("Zoë", "日本"), "x"),
        ("a:b=1", ("a:b",), "1"),
        ("a-b_c.D$1=v", ("a-b_c", "D$1"), "v"),
    ],
)
def test_text_values(argument: str, path: tuple[str, ...], value: str) -> None:
    assert parse_remote_field(argument) == (path, value)


def test_a_number_like_text_value_stays_a_string() -> None:
    _, value = parse_remote_field("greenhouse.post_headers.On-Behalf-Of=123")
    assert value == "123"
    assert isinstance(value, str)


# --- parse_remote_field: JSON values ------------------------------------------------------


@pytest.mark.parametrize(
    ("argument", "path", "value"),
    [
        (
            "oracle.multi_post_to_all_current_applications:=true",
            ("oracle", "multi_post_to_all_current_applications"),
            True,
        ),
        ("a:=false", ("a",), False),
        (
            "greenhouse.post_headers.On-Behalf-Of:=null",
            ("greenhouse", "post_headers", "On-Behalf-Of"),
            None,
        ),
        ("x.y:=" + '{"a":1}', ("x", "y"), {"a": 1}),
        ("a:=123", ("a",), 123),
        ("a:=-1.5e3", ("a",), -1500.0),
        ("a:=0", ("a",), 0),
        ("a:=" + "9" * 40, ("a",), int("9" * 40)),
        ("a:=-" + "9" * 4300, ("a",), -int("9" * 4300)),
        ('a:=[1, "two", null, [true]]', ("a",), [1, "two", None, [True]]),
        ("a:=[]", ("a",), []),
        ("a:={}", ("a",), {}),
        ('a:="text"', ("a",), "text"),
        ('a:=""', ("a",), ""),
        ('a:="Zoë \\u65e5 🎉"', ("a",), "Zoë 日 🎉"),
        ('a:= {"b" : [1] }\n', ("a",), {"b": [1]}),
        ('a:={"k=v": "x.y", "": 1}', ("a",), {"k=v": "x.y", "": 1}),
        ('a:="=:="', ("a",), "=:="),
        ("a::=1", ("a:",), 1),
    ],
)
def test_json_values(argument: str, path: tuple[str, ...], value: Any) -> None:
    parsed_path, parsed = parse_remote_field(argument)
    assert parsed_path == path
    assert parsed == value
    assert type(parsed) is type(value)


def test_only_the_first_equals_sign_separates() -> None:
    # The first '=' is not preceded by ':', so this is a text value.
    assert parse_remote_field("a=:=1") == (("a",), ":=1")
    # The first '=' is preceded by ':', so everything after it is JSON.
    assert parse_remote_field('a:="b=c"') == (("a",), "b=c")


def test_a_path_cannot_contain_an_equals_sign() -> None:
    # "a=b.c=1" is the path "a" with the text "b.c=1", never the path "a=b.c".
    assert parse_remote_field("a=b.c=1") == (("a",), "b.c=1")


# --- parse_remote_field: malformed arguments ----------------------------------------------


@pytest.mark.parametrize(
    "argument",
    [
        "",
        "a",
        "a.b",
        "a:1",
        "a:b:c",
        "=1",
        ":=1",
        "=",
        ":=",
        ".=1",
        "a.=1",
        ".a=1",
        "a..b=1",
        "a..b:=1",
        "..=1",
        "a b=1",
        " a=1",
        "a =1",
        "a.\tb=1",
        "a\n=1",
        "a\x00=1",
        "a\x1b[31m=1",
        "a\u200b=1",
        "a\u202eb=1",
        "a\u00a0=1",
    ],
)
def test_malformed_paths_are_usage_errors(argument: str) -> None:
    with pytest.raises(UsageError) as excinfo:
        parse_remote_field(argument)
    error = usage_error(excinfo)
    assert repr(argument) in error.message
    assert "PATH=VALUE" in (error.hint or "")
    assert "PATH:=JSON" in (error.hint or "")
    assert "greenhouse.post_headers.On-Behalf-Of=123" in (error.hint or "")


@pytest.mark.parametrize(
    ("argument", "detail"),
    [
        ("a:=", "a value is missing at line 1 column 1"),
        ("a:=tru", "a value is missing"),
        ("a:=text", "a value is missing"),
        ("a:='x'", "a value is missing"),
        ("a:={a:1}", "a key in double quotes is missing"),
        ('a:={"b":1,}', "line 1 column"),
        ("a:=[1,]", "a trailing comma before ']'"),
        ("a:=1 2", "more text follows the JSON value"),
        ('a:={"b":1}}', "more text follows the JSON value"),
        ('a:={\n"b":\n}', "line 3 column 1"),
        ("a:=NaN", "NaN is not standard JSON"),
        ("a:=Infinity", "Infinity is not standard JSON"),
        ("a:=-Infinity", "-Infinity is not standard JSON"),
        ("a:=[1, NaN]", "NaN is not standard JSON"),
        ('a:={"b": Infinity}', "Infinity is not standard JSON"),
        ("a:=1e400", "too large"),
        ("a:=-1e400", "too large"),
        ("a:=" + "1" * 4301, "too many digits"),
        ("a:=-" + "1" * 4301, "too many digits"),
        ('a:={"b":1,"b":2}', "appears twice"),
        ('a:="\\ud800"', "lone surrogate"),
        ('a:={"\\udfff":1}', "lone surrogate"),
        ("a:=" + "[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ],
)
def test_invalid_json_after_colon_equals_is_a_usage_error(argument: str, detail: str) -> None:
    with pytest.raises(UsageError) as excinfo:
        parse_remote_field(argument)
    error = usage_error(excinfo)
    assert "invalid JSON after ':='" in error.message
    assert detail in error.message
    assert ":=" in (error.hint or "") and "PATH=VALUE" in (error.hint or "")


def test_a_long_argument_is_shortened_in_the_message() -> None:
    argument = "a:=" + "x" * 1000
    with pytest.raises(UsageError) as excinfo:
        parse_remote_field(argument)
    error = usage_error(excinfo)
    assert "x" * 1000 not in error.message
    assert "'a:=xxx" in error.message
    assert len(error.message) < 200


def test_a_text_value_that_is_not_utf8_is_a_usage_error() -> None:
    # What Python makes of the argv bytes b"a=\xff".
    argument = os.fsdecode(b"a=\xff") if os.name == "posix" else "a=\udcff"
    with pytest.raises(UsageError) as excinfo:
        parse_remote_field(argument)
    assert "not valid UTF-8" in usage_error(excinfo).message


def test_a_path_that_is_not_utf8_is_a_usage_error() -> None:
    with pytest.raises(UsageError) as excinfo:
        parse_remote_field("a\udcff=1")
    usage_error(excinfo)


# --- load_remote_fields_option -----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{}", {}),
        (" { } \n", {}),
        (
            '{"greenhouse":{"post_headers":{"On-Behalf-Of":"123"}}}',
            {"greenhouse": {"post_headers": {"On-Behalf-Of": "123"}}},
        ),
        (
            '{"workable":{"on_behalf_of_user_remote_id":"u-42"},"oracle":'
            '{"multi_post_to_all_current_applications":true}}',
            {
                "workable": {"on_behalf_of_user_remote_id": "u-42"},
                "oracle": {"multi_post_to_all_current_applications": True},
            },
        ),
        (
            '{"a b": [1, 2.5, null], "": "", "名": "Zoë"}',
            {"a b": [1, 2.5, None], "": "", "名": "Zoë"},
        ),
    ],
)
def test_inline_json_objects(text: str, expected: dict[str, Any]) -> None:
    assert load_remote_fields_option(text) == expected


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        ("", "is empty"),
        ("   ", "is empty"),
        ("[]", "must be a JSON object, not an array"),
        ("[{}]", "must be a JSON object, not an array"),
        ('"x"', "must be a JSON object, not a string"),
        ("1", "must be a JSON object, not a number"),
        ("true", "must be a JSON object, not a boolean"),
        ("null", "must be a JSON object, not null"),
        ("{", "is not valid JSON"),
        ("{'a': 1}", "a key in double quotes is missing at line 1 column 2"),
        ('{"a": NaN}', "NaN is not standard JSON"),
        ('{"a": 1, "a": 2}', "appears twice"),
        ("greenhouse.post_headers.On-Behalf-Of=123", "is not valid JSON"),
    ],
)
def test_bad_inline_json_is_a_usage_error(text: str, detail: str) -> None:
    with pytest.raises(UsageError) as excinfo:
        load_remote_fields_option(text)
    error = usage_error(excinfo)
    assert error.message.startswith("--remote-fields ")
    assert detail in error.message
    assert "JSON object" in (error.hint or "")


def test_an_object_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "remote fields.json"
    document = {"greenhouse": {"post_headers": {"On-Behalf-Of": "Zoë 🎉"}}}
    path.write_text(json.dumps(document, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    assert load_remote_fields_option(f"@{path}") == document


def test_a_file_with_a_byte_order_mark(tmp_path: Path) -> None:
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + b'{"a": "\xc3\xa9"}')
    assert load_remote_fields_option(f"@{path}") == {"a": "é"}


def test_a_relative_file_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "rf.json").write_text('{"a": 1}', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert load_remote_fields_option("@rf.json") == {"a": 1}


def test_a_missing_file(tmp_path: Path) -> None:
    name = str(tmp_path / "missing.json")
    with pytest.raises(UsageError) as excinfo:
        load_remote_fields_option(f"@{name}")
    error = usage_error(excinfo)
    assert repr(name) in error.message
    assert "does not exist" in error.message
    assert "@" in (error.hint or "")


def test_an_at_sign_without_a_file_name() -> None:
    with pytest.raises(UsageError) as excinfo:
        load_remote_fields_option("@")
    assert "names no file" in usage_error(excinfo).message


def test_a_directory(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as excinfo:
        load_remote_fields_option(f"@{tmp_path}")
    assert "is a directory" in usage_error(excinfo).message


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads anything")
def test_an_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "secret.json"
    path.write_text("{}", encoding="utf-8")
    path.chmod(0)
    try:
        with pytest.raises(UsageError) as excinfo:
            load_remote_fields_option(f"@{path}")
    finally:
        path.chmod(0o600)
    assert "permission denied" in usage_error(excinfo).message


def test_a_permission_error_even_as_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(remote_fields, "read_small_file", refuse)
    with pytest.raises(UsageError) as excinfo:
        load_remote_fields_option(f"@{tmp_path / 'rf.json'}")
    assert "permission denied" in usage_error(excinfo).message


def test_a_path_through_a_file_is_a_usage_error(tmp_path: Path) -> None:
    path = tmp_path / "plain.json"
    path.write_text("{}", encoding="utf-8")
    with pytest.raises(UsageError) as excinfo:
        load_remote_fields_option(f"@{path}/nested.json")
    assert "Cannot read --remote-fields file" in usage_error(excinfo).message


@pytest.mark.parametrize(
    ("content", "detail"),
    [
        (b"", "is empty"),
        (b"\xef\xbb\xbf \n", "is empty"),
        (b"[1, 2]", "must be a JSON object, not an array"),
        (b'{\n  "a": 1,\n}\n', "at line 3 column 1"),
        (b'{"a": "\xff"}', "is not UTF-8 text (bad byte at offset 7)"),
        (b"\xff\xfe{\x00}\x00", "is not UTF-8 text"),
        (b'{"a": Infinity}', "Infinity is not standard JSON"),
    ],
)
def test_bad_file_content_is_a_usage_error(tmp_path: Path, content: bytes, detail: str) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(UsageError) as excinfo:
        load_remote_fields_option(f"@{path}")
    error = usage_error(excinfo)
    assert error.message.startswith(f"--remote-fields file {str(path)!r} ")
    assert detail in error.message


def test_a_huge_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "huge.json"
    path.write_bytes(b'{"a": "' + b"x" * MAX_REMOTE_FIELDS_FILE_BYTES + b'"}')
    with pytest.raises(UsageError) as excinfo:
        load_remote_fields_option(f"@{path}")
    assert "larger than" in usage_error(excinfo).message


def test_a_file_name_with_a_newline_stays_on_one_line(tmp_path: Path) -> None:
    name = str(tmp_path / "two\nlines.json")
    with pytest.raises(UsageError) as excinfo:
        load_remote_fields_option(f"@{name}")
    assert "two\\nlines" in usage_error(excinfo).message


def test_a_long_file_name_is_shown_in_full(tmp_path: Path) -> None:
    name = str(tmp_path / ("d" * 100) / "missing.json")
    with pytest.raises(UsageError) as excinfo:
        load_remote_fields_option(f"@{name}")
    assert repr(name) in usage_error(excinfo).message


# --- build_remote_fields -----------------------------------------------------------------


def test_nothing_given_means_no_remote_fields() -> None:
    assert build_remote_fields(None, []) is None
    assert build_remote_fields(None, ()) is None


def test_an_empty_object_stays_an_empty_object() -> None:
    assert build_remote_fields("{}", []) == {}


def test_fields_alone_build_nested_objects() -> None:
    result = build_remote_fields(
        None,
        [
            "greenhouse.post_headers.On-Behalf-Of=123",
            "workable.on_behalf_of_user_remote_id=u-42",
            "oracle.multi_post_to_all_current_applications:=true",
            "greenhouse.post_headers.X-Other:=null",
        ],
    )
    assert result == {
        "greenhouse": {"post_headers": {"On-Behalf-Of": "123", "X-Other": None}},
        "workable": {"on_behalf_of_user_remote_id": "u-42"},
        "oracle": {"multi_post_to_all_current_applications": True},
    }
    # The result is what the request body will carry.
    assert json.loads(json.dumps(result)) == result


def test_the_object_alone() -> None:
    assert build_remote_fields('{"a": {"b": [1]}}', []) == {"a": {"b": [1]}}


def test_fields_are_set_on_top_of_the_object(tmp_path: Path) -> None:
    path = tmp_path / "rf.json"
    path.write_text(
        json.dumps(
            {
                "greenhouse": {"post_headers": {"On-Behalf-Of": "1", "Keep": "k"}},
                "workable": {"on_behalf_of_user_remote_id": "u-1"},
            }
        ),
        encoding="utf-8",
    )
    result = build_remote_fields(
        f"@{path}",
        [
            "greenhouse.post_headers.On-Behalf-Of=2",
            "workable.on_behalf_of_user_remote_id:=null",
            "oracle.multi_post_to_all_current_applications:=false",
        ],
    )
    assert result == {
        "greenhouse": {"post_headers": {"On-Behalf-Of": "2", "Keep": "k"}},
        "workable": {"on_behalf_of_user_remote_id": None},
        "oracle": {"multi_post_to_all_current_applications": False},
    }


def test_a_field_may_replace_an_object_from_the_option() -> None:
    result = build_remote_fields('{"a": {"b": 1, "c": 2}, "d": 3}', ["a:={}"])
    assert result == {"a": {}, "d": 3}
    result = build_remote_fields('{"a": {"b": 1}}', ["a=flat"])
    assert result == {"a": "flat"}


def test_a_field_may_replace_a_leaf_with_an_object() -> None:
    assert build_remote_fields('{"a": 1}', ['a:={"b": 2}']) == {"a": {"b": 2}}


def test_a_replaced_key_keeps_its_place() -> None:
    result = build_remote_fields('{"a": 1, "b": 2, "c": 3}', ["b=x", "d=y"])
    assert result is not None
    assert list(result) == ["a", "b", "c", "d"]


def test_siblings_share_their_parent_object() -> None:
    result = build_remote_fields(None, ["a.b.c=1", "a.b.d=2", "a.e=3"])
    assert result == {"a": {"b": {"c": "1", "d": "2"}, "e": "3"}}


def test_paths_that_only_share_a_prefix_of_characters_do_not_conflict() -> None:
    assert build_remote_fields(None, ["a.b=1", "a.bc=2", "ab=3"]) == {
        "a": {"b": "1", "bc": "2"},
        "ab": "3",
    }


def test_the_same_path_twice_is_an_error() -> None:
    with pytest.raises(UsageError) as excinfo:
        build_remote_fields(None, ["a.b=1", "c=0", "a.b:=2"])
    error = usage_error(excinfo)
    assert "'a.b:=2'" in error.message
    assert "'a.b=1'" in error.message
    assert "'a.b'" in error.message
    assert "once" in (error.hint or "")


def test_the_same_path_twice_is_an_error_even_with_the_same_value() -> None:
    with pytest.raises(UsageError) as excinfo:
        build_remote_fields(None, ["a=1", "a=1"])
    usage_error(excinfo)


@pytest.mark.parametrize(
    ("first", "second", "outer", "inner"),
    [
        ("a=1", "a.b=2", "'a'", "'a.b'"),
        ("a.b=1", "a=2", "'a'", "'a.b'"),
        ("a.b.c=1", "a:=null", "'a'", "'a.b.c'"),
        ("a:={}", "a.b=1", "'a'", "'a.b'"),
        ('a:={"b":1}', "a.c=2", "'a'", "'a.c'"),
        ("a.b=1", 'a:={"c":2}', "'a'", "'a.b'"),
        ("x.y=1", "x.y.z:=[]", "'x.y'", "'x.y.z'"),
    ],
)
def test_one_field_inside_another_is_an_error_in_either_order(
    first: str, second: str, outer: str, inner: str
) -> None:
    with pytest.raises(UsageError) as excinfo:
        build_remote_fields(None, [first, second])
    error = usage_error(excinfo)
    assert repr(first) in error.message
    assert repr(second) in error.message
    assert f"the path {inner} lies inside {outer}" in error.message


@pytest.mark.parametrize(
    ("option", "field", "blocking", "kind"),
    [
        ('{"a": 1}', "a.b=2", "'a'", "a number"),
        ('{"a": "x"}', "a.b.c=2", "'a'", "a string"),
        ('{"a": {"b": null}}', "a.b.c=2", "'a.b'", "null"),
        ('{"a": {"b": [1]}}', "a.b.c:=true", "'a.b'", "an array"),
        ('{"a": false}', "a.b=2", "'a'", "a boolean"),
    ],
)
def test_a_field_through_a_non_object_from_the_option_is_an_error(
    option: str, field: str, blocking: str, kind: str
) -> None:
    with pytest.raises(UsageError) as excinfo:
        build_remote_fields(option, [field])
    error = usage_error(excinfo)
    assert repr(field) in error.message
    assert repr(field.split("=")[0].rstrip(":")) in error.message
    assert f"{blocking} in --remote-fields is {kind}, not an object" in error.message


def test_errors_from_the_option_come_before_the_fields() -> None:
    with pytest.raises(UsageError) as excinfo:
        build_remote_fields("[]", ["a"])
    assert "--remote-fields" in usage_error(excinfo).message


def test_a_malformed_field_is_reported_by_build() -> None:
    with pytest.raises(UsageError) as excinfo:
        build_remote_fields('{"a": 1}', ["b=1", "c..d=2"])
    assert "'c..d=2'" in usage_error(excinfo).message


def test_json_values_are_not_shared_between_calls() -> None:
    first = build_remote_fields(None, ["a:={}"])
    assert first is not None
    first["a"]["b"] = 1
    assert build_remote_fields(None, ["a:={}"]) == {"a": {}}


def test_a_tuple_of_arguments_is_accepted() -> None:
    assert build_remote_fields(None, ("a=1",)) == {"a": "1"}
