"""The sandbox's streaming parser and base64 decoder for attachment upload bodies."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import mmap
import random
import re
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from kombo_cli.sandbox.base64_decoder import decode_base64_span
from kombo_cli.sandbox.upload_body import (
    DATA_PLACEHOLDER,
    BodyError,
    ParsedBody,
    parse_body,
)


def body_with(data: str, name: str = "cv.pdf", **extra: Any) -> bytes:
    document = {
        "attachment": {"name": name, "type": "CV", "content_type": "application/pdf", "data": data},
        **extra,
    }
    return json.dumps(document, ensure_ascii=False).encode()


def decode_all(buffer: Any, span: tuple[int, int], chunk_chars: int = 8) -> bytes:
    sink = io.BytesIO()
    written = decode_base64_span(buffer, span, sink, chunk_chars=chunk_chars)
    assert written == len(sink.getvalue())
    return sink.getvalue()


def strict_loads(body: bytes) -> Any:
    """What a strict JSON parser makes of a whole body; raises ValueError when invalid."""

    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [key for key, _ in pairs]
        if len(keys) != len(set(keys)):
            raise ValueError("duplicate key")
        return dict(pairs)

    def no_constant(name: str) -> Any:
        raise ValueError(name)

    document = json.loads(
        body.decode("utf-8"), object_pairs_hook=no_duplicates, parse_constant=no_constant
    )
    if not isinstance(document, dict):
        raise ValueError("not an object")
    return document


def restored(parsed: ParsedBody, buffer: bytes) -> Any:
    """The parsed document with the data string put back, to compare with json.loads."""
    if parsed.data_span is None:
        return parsed.document
    start, end = parsed.data_span
    document = json.loads(json.dumps(parsed.document))
    assert document["attachment"]["data"] == DATA_PLACEHOLDER
    document["attachment"]["data"] = json.loads(buffer[start - 1 : end + 1].decode())
    return document


# Round trips


@pytest.mark.parametrize("size", [*range(1, 21), 767, 1000, 4096, 65537])
@pytest.mark.parametrize("chunk_chars", [4, 8, 1024])
def test_round_trip_across_chunk_boundaries(size: int, chunk_chars: int) -> None:
    raw = random.Random(size).randbytes(size)
    body = body_with(base64.b64encode(raw).decode())
    parsed = parse_body(body)
    assert parsed.document["attachment"]["data"] == DATA_PLACEHOLDER
    assert parsed.data_span is not None
    start, end = parsed.data_span
    assert body[start - 1 : start] == b'"' and body[end : end + 1] == b'"'
    assert decode_all(body, parsed.data_span, chunk_chars) == raw


def test_accepts_every_buffer_type(tmp_path: Path) -> None:
    raw = b"%PDF-1.7 tiny"
    body = body_with(base64.b64encode(raw).decode())
    path = tmp_path / "body.json"
    path.write_bytes(body)
    with path.open("rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        for buffer in (body, bytearray(body), memoryview(body), mm):
            parsed = parse_body(buffer)
            assert parsed.document == parse_body(body).document
            assert parsed.data_span is not None
            assert decode_all(buffer, parsed.data_span) == raw


def test_rejects_other_buffer_types() -> None:
    with pytest.raises(TypeError):
        parse_body('{"attachment":{}}')  # type: ignore[arg-type]


# The document outside the data string


def test_other_fields_survive_intact() -> None:
    name = 'Jürgen "JJ" \\ Müller.pdf'
    remote_fields = {"greenhouse": {"visibility": ["public", {"x": None}], "n": -1.5e3}}
    body = body_with("QUJD", name=name, remote_fields=remote_fields)
    parsed = parse_body(body)
    assert parsed.document == {
        "attachment": {
            "name": name,
            "type": "CV",
            "content_type": "application/pdf",
            "data": DATA_PLACEHOLDER,
        },
        "remote_fields": remote_fields,
    }


def test_data_before_name_pretty_printed_with_escaped_keys() -> None:
    body = (
        b'\r\n {\n\t"remote_fields" : { "a" : [ 1 , "}{][" , true ] } ,\n'
        b'  "\\u0061ttachment" :\t{\n    "d\\u0061ta" : "QUJD" ,\n'
        b'    "name" : "x\\\\"\n  }\n}\n '
    )
    parsed = parse_body(body)
    assert parsed.document == {
        "remote_fields": {"a": [1, "}{][", True]},
        "attachment": {"data": DATA_PLACEHOLDER, "name": "x\\"},
    }
    assert parsed.data_span is not None
    assert decode_all(body, parsed.data_span) == b"ABC"


def test_escaped_quotes_in_a_name_do_not_look_like_data() -> None:
    body = (
        b'{"attachment":{"name":"a \\"data\\":\\"AAAA\\" b","data":"QUJD"},'
        b'"remote_fields":{"note":"\\"attachment\\":{\\"data\\":\\"AAAA\\"}"}}'
    )
    parsed = parse_body(body)
    assert parsed.document["attachment"]["name"] == 'a "data":"AAAA" b'
    assert parsed.data_span is not None
    assert decode_all(body, parsed.data_span) == b"ABC"


@pytest.mark.parametrize("backslashes", [1, 2, 3, 64, 65, 1000, 100_001])
def test_backslash_runs_before_a_quote_are_counted(backslashes: int) -> None:
    name = "\\" * backslashes + '"' * (backslashes % 2)
    long_key = "k" * 100
    body = json.dumps(
        {long_key: {"d\\": name}, "attachment": {"name": name, "data": "QUJD"}, "n": name}
    ).encode()
    parsed = parse_body(body)
    assert parsed.document["attachment"]["name"] == name
    assert parsed.document[long_key] == {"d\\": name}
    assert parsed.data_span is not None
    assert decode_all(body, parsed.data_span) == b"ABC"


def test_moderate_nesting_before_the_data_is_fine() -> None:
    body = b'{"r":' + b"[" * 500 + b"{}" + b"]" * 500 + b',"attachment":{"data":"QUJD"}}'
    parsed = parse_body(body)
    assert parsed.data_span is not None
    assert restored(parsed, body) == json.loads(body)


def test_data_nested_elsewhere_is_not_the_attachment_data() -> None:
    body = b'{"remote_fields":{"attachment":{"data":"QUJD"}},"attachment":{"name":"x"}}'
    parsed = parse_body(body)
    assert parsed == ParsedBody(json.loads(body), None)


@pytest.mark.parametrize(
    "body",
    [
        b'{"attachment":{"name":"cv.pdf"}}',
        b'{"attachment":{"name":"cv.pdf","data":null}}',
        b'{"attachment":{"data":12.5e3}}',
        b'{"attachment":{"data":["QUJD"]}}',
        b'{"attachment":{"data":{"x":"QUJD"}}}',
        b'{"attachment":{}}',
        b'{"attachment":"QUJD"}',
        b'{"attachment":null,"data":"QUJD"}',
        b'{"attachment":["QUJD"]}',
        b"{}",
        b' { "remote_fields" : { } } ',
    ],
)
def test_no_data_string_means_no_span(body: bytes) -> None:
    assert parse_body(body) == ParsedBody(json.loads(body), None)


# Invalid JSON


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "The request body is empty."),
        (b" \n ", "The request body is empty."),
        (b'["QUJD"]', "must be a JSON object"),
        (b'"QUJD"', "must be a JSON object"),
        (b'{"attachment":{"data":"QUJD"', "a ',' or a closing bracket is missing"),
        (b'{"attachment":{"data":"QUJD', "a string is not closed at line 1, column 23"),
        (b'{"attachment":{"data":"QUJD\\"}}', "a string is not closed"),
        (b'{"attachment":{"data":"QUJD\\', "a string is not closed"),
        (b'{"attachment":{"name":"x","data":"QUJD",}}', "a trailing comma before '}'"),
        (b'{"attachment":{"data":"QUJD"},}', "a trailing comma before '}'"),
        (
            b'{"attachment":{"data":"QUJD"}} x',
            "more text follows the JSON value at line 1, column 32",
        ),
        (b'{"attachment":{"data":"QUJD"}}{}', "more text follows the JSON value"),
        (b'{"attachment":{"data":"QUJD","size":NaN}}', "NaN is not a JSON value"),
        (b'{"attachment":{"data":"QUJD"},"n":-Infinity}', "-Infinity is not a JSON value"),
        (b'{"attachment":{"data":"QUJD","data":"QUJD"}}', 'duplicate key "data"'),
        (b'{"attachment":{"data":"QUJD","name":"a","name":"b"}}', 'duplicate key "name"'),
        (b'{"attachment":{"data":"QUJD"},"attachment":{}}', 'duplicate key "attachment"'),
        (b'{"attachment":{},"attachment":{"data":"QUJD"}}', 'duplicate key "attachment"'),
        (b'{"attachment":{"data":1,"data":"QUJD"}}', 'duplicate key "data"'),
        (b'{"attachment":{"name":"\xff","data":"QUJD"}}', "not valid UTF-8"),
        (b'{"attachment":{"data":"QU\xc3JD"}}', "not valid UTF-8"),
        (b'{"attachment":{"data":"QU\nJD"}}', "invalid character or escape in attachment.data"),
        (b'{"attachment":{"data":"QU\\xJD"}}', "invalid character or escape in attachment.data"),
        (b'{"attachment":{"data":"QU\\u12JD"}}', "invalid character or escape"),
        (b'{"attachment":{"name" "x","data":"QUJD"}}', "a ':' is missing after a key"),
        (b'{"attachment":{"name":x,"data":"QUJD"}}', "a value is missing"),
        (b'{"attachment" {"data":"QUJD"}}', "a ':' is missing after a key"),
        (b'{"r":[1,}],"attachment":{"data":"QUJD"}}', "a trailing comma before '}'"),
        (b'{"attachment":{"data":"QUJD"} "x":1}', "a ',' or a closing bracket is missing"),
        (b'{"a":' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nested too deeply"),
    ],
)
def test_invalid_json_is_rejected(body: bytes, message: str) -> None:
    with pytest.raises(BodyError, match=re.escape(message)) as caught:
        parse_body(body)
    assert str(caught.value).endswith(".") and str(caught.value).count(". ") == 0


def test_error_columns_after_the_data_refer_to_the_original_body() -> None:
    body = b'{"attachment":{"data":"' + b"QUJD" * 50 + b'"} ?}'
    with pytest.raises(json.JSONDecodeError) as expected:
        json.loads(body)
    with pytest.raises(BodyError, match=f"line 1, column {expected.value.colno}\\)\\.$"):
        parse_body(body)


def test_mutated_bodies_are_judged_exactly_like_strict_json() -> None:
    """No truncation or one-byte change of a body may look valid unless it is valid."""
    seed = (
        b'{"remote_fields":{"a":[1,"x\\"y"]},"attachment":'
        b'{"name":"J\\u00fc \\\\","data":"QUJDRA==","type":"CV"}}'
    )
    variants = {seed[:cut] for cut in range(len(seed))}
    for pos in range(len(seed)):
        for replacement in b'"\\{}[],: x1\x01\xff=':
            variants.add(seed[:pos] + bytes((replacement,)) + seed[pos + 1 :])
        variants.add(seed[:pos] + seed[pos + 1 :])
    for body in sorted(variants):
        try:
            expected = strict_loads(body)
        except (ValueError, RecursionError):
            expected = BodyError
        try:
            parsed = parse_body(body)
        except BodyError:
            assert expected is BodyError, body
            continue
        assert expected is not BodyError, body
        assert restored(parsed, body) == expected, body
        attachment = expected.get("attachment")
        has_data_string = isinstance(attachment, dict) and isinstance(attachment.get("data"), str)
        assert (parsed.data_span is not None) == has_data_string, body


# Invalid base64


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("", "The attachment data is empty."),
        ("QUJD QQ==", "a space at offset 4"),
        ("QUJD\nQQ==", "a JSON escape sequence at offset 4"),
        ("QUJD\\QQ==", "a JSON escape sequence at offset 4"),
        ("QUJD-A==", "URL-safe character '-' at offset 4"),
        ("QUJD_A==", "URL-safe character '_' at offset 4"),
        ("QUJD*A==", "the character '*' at offset 4"),
        ("QUJDé===", "the byte 0xC3 at offset 4"),
        ("QQ", "its length, 2 characters, is not a multiple of 4"),
        ("QUJDQ", "its length, 5 characters"),
        ("QQ===", "its length, 5 characters"),
        ("Q=Q=", "padding '=' before the end at offset 1"),
        ("QQ==QUJD", "padding '=' before the end at offset 2"),
        ("QUJDQQ==QUJD", "padding '=' before the end at offset 6"),
        ("QUJDA===", "more than two padding characters at offset 5"),
        ("====", "more than two padding characters at offset 0"),
        ("QR==", "non-zero padding bits at offset 1"),
        ("QUJ=", "non-zero padding bits at offset 2"),
    ],
)
def test_invalid_base64_is_rejected(data: str, message: str) -> None:
    body = body_with(data)
    parsed = parse_body(body)
    assert parsed.data_span is not None
    with pytest.raises(BodyError, match=re.escape(message)) as caught:
        decode_all(body, parsed.data_span)
    assert str(caught.value).startswith("The attachment data is ")
    assert str(caught.value).endswith(".")


def test_json_escapes_in_the_data_are_not_base64() -> None:
    body = b'{"attachment":{"data":"QQ\\u003d\\u003d"}}'
    parsed = parse_body(body)
    assert parsed.document["attachment"]["data"] == DATA_PLACEHOLDER
    assert parsed.data_span is not None
    with pytest.raises(BodyError, match="a JSON escape sequence at offset 2"):
        decode_all(body, parsed.data_span)


def test_raw_bytes_outside_json_are_refused_too() -> None:
    with pytest.raises(BodyError, match=r"the byte 0x0A at offset 4\)\."):
        decode_all(b"QUJD\nQQ==", (0, 9), chunk_chars=4)


def test_a_placeholder_sent_by_a_client_cannot_decode() -> None:
    body = json.dumps({"attachment": {"data": DATA_PLACEHOLDER}}).encode()
    parsed = parse_body(body)
    assert parsed.data_span is not None
    with pytest.raises(BodyError):
        decode_all(body, parsed.data_span)


def test_strictness_matches_a_reference_decoder() -> None:
    canonical = re.compile(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")
    rng = random.Random(7)
    for _ in range(3000):
        data = "".join(rng.choice("AQRgw+/=-_ ") for _ in range(rng.randrange(1, 13))).encode()
        valid = bool(canonical.fullmatch(data.decode())) and (
            base64.b64encode(base64.b64decode(data)) == data
        )
        for chunk_chars in (4, 8):
            try:
                decoded = decode_all(data, (0, len(data)), chunk_chars)
            except BodyError:
                assert not valid, data
            else:
                assert valid, data
                assert decoded == base64.b64decode(data, validate=True)


def test_chunk_size_must_be_a_multiple_of_four() -> None:
    for chunk_chars in (0, -4, 6):
        with pytest.raises(ValueError, match="multiple of 4"):
            decode_base64_span(b"QUJD", (0, 4), io.BytesIO(), chunk_chars=chunk_chars)
    with pytest.raises(ValueError, match="outside"):
        decode_base64_span(b"QUJD", (0, 5), io.BytesIO())


def test_strings_full_of_escaped_quotes_are_scanned_quickly() -> None:
    body = b'{"attachment":{"name":"' + b'\\"' * 500_000 + b'\\\\","data":"QUJD"}}'
    parsed = parse_body(body)
    assert parsed.document["attachment"]["name"] == '"' * 500_000 + "\\"
    assert parsed.data_span is not None
    assert decode_all(body, parsed.data_span) == b"ABC"


# Memory


def test_a_40_mb_body_is_handled_in_bounded_memory(tmp_path: Path) -> None:
    piece = random.Random(40).randbytes(3 * 256 * 1024)
    encoded_piece = base64.b64encode(piece)
    pieces = 40
    expected = hashlib.sha256()
    path = tmp_path / "body.json"
    with path.open("wb") as out:
        out.write(b'{"attachment":{"name":"big.pdf","data":"')
        for _ in range(pieces):
            out.write(encoded_piece)
            expected.update(piece)
        out.write(b'","type":"CV"},"remote_fields":{}}')
    decoded_path = tmp_path / "decoded.bin"
    with path.open("rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        tracemalloc.start()
        try:
            parsed = parse_body(mm)
            assert parsed.data_span is not None
            with decoded_path.open("wb") as sink:
                written = decode_base64_span(mm, parsed.data_span, sink)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert peak < 8 * 1024 * 1024, f"peak Python allocations {peak} bytes"
    assert written == pieces * len(piece) == decoded_path.stat().st_size
    actual = hashlib.sha256()
    with decoded_path.open("rb") as decoded:
        for block in iter(lambda: decoded.read(1 << 20), b""):
            actual.update(block)
    assert actual.hexdigest() == expected.hexdigest()
    assert parsed.document == {
        "attachment": {"name": "big.pdf", "data": DATA_PLACEHOLDER, "type": "CV"},
        "remote_fields": {},
    }


@pytest.mark.parametrize(
    ("head", "tail", "message"),
    [
        (b'{"attachment":{"name" "x","data":"', b'"}}', "a ':' is missing after a key"),
        (b'{"attachment":{"data":"', b"", "a string is not closed"),
        (b'{"attachment":{"data":"', b"\\", "a string is not closed"),
    ],
)
def test_malformed_bodies_are_rejected_without_loading_the_data(
    head: bytes, tail: bytes, message: str
) -> None:
    body = head + b"QUJD" * (4 * 1024 * 1024) + tail
    tracemalloc.start()
    try:
        with pytest.raises(BodyError, match=message):
            parse_body(body)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * 1024 * 1024, f"peak Python allocations {peak} bytes"
