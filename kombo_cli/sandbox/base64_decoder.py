"""Strict RFC 4648 base64 of an upload's attachment.data, decoded in bounded chunks.

`upload_body.parse_body` only checks that the data is a valid JSON string and returns where
it lies in the body; this decodes that span straight into a file, so that a 100 MB upload
never sits in memory, and refuses anything Kombo's own decoder might read differently.
"""

from __future__ import annotations

import binascii
import mmap
from typing import BinaryIO

from kombo_cli.sandbox.body_scanner import SCAN_CHUNK, BodyView
from kombo_cli.sandbox.upload_body import BodyError

_BACKSLASH = ord("\\")
_EQUALS = ord("=")
_BASE64_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_BASE64_VALUE = {byte: value for value, byte in enumerate(_BASE64_ALPHABET)}


def _unexpected(byte: int, offset: int) -> BodyError:
    if byte == _BACKSLASH:
        what = "a JSON escape sequence"
    elif byte == _EQUALS:
        what = "padding '=' before the end"
    elif byte in b"-_":
        what = f"the URL-safe character '{chr(byte)}'"
    elif byte == 0x20:
        what = "a space"
    elif 0x20 < byte < 0x7F:
        what = f"the character '{chr(byte)}'"
    else:
        what = f"the byte 0x{byte:02X}"
    return BodyError(f"The attachment data is not valid base64 ({what} at offset {offset}).")


def _check_alphabet(piece: bytes, offset: int, alphabet: bytes) -> None:
    strays = piece.translate(None, alphabet)
    if strays:
        first = min(piece.find(bytes((byte,))) for byte in set(strays))
        raise _unexpected(piece[first], offset + first)


def decode_base64_span(
    buffer: bytes | bytearray | memoryview | mmap.mmap,
    span: tuple[int, int],
    sink: BinaryIO,
    chunk_chars: int = 4 * 256 * 1024,
) -> int:
    """Decode strict RFC 4648 base64 from buffer[span] into `sink`; return the bytes written.

    Raises BodyError on the first problem. Chunks before it have already been written, so
    discard the sink's content on error.
    """
    if chunk_chars <= 0 or chunk_chars % 4:
        raise ValueError("chunk_chars must be a positive multiple of 4")
    view = BodyView(buffer)
    start, end = span
    if not 0 <= start <= end <= view.size:
        raise ValueError(f"span {span!r} is outside a buffer of {view.size} bytes")
    length = end - start
    if length == 0:
        raise BodyError("The attachment data is empty.")
    if length % 4:
        # A stray character explains more than the length does, and costs no decoding.
        for chunk_start in range(start, end, SCAN_CHUNK):
            piece = view.get(chunk_start, min(chunk_start + SCAN_CHUNK, end))
            _check_alphabet(piece, chunk_start - start, _BASE64_ALPHABET + b"=")
        raise BodyError(
            f"The attachment data is not valid base64 (its length, {length} characters, "
            "is not a multiple of 4)."
        )
    written = 0
    for chunk_start in range(start, end, chunk_chars):
        chunk_end = min(chunk_start + chunk_chars, end)
        chunk = view.get(chunk_start, chunk_end)
        offset = chunk_start - start
        padding = len(chunk) - len(chunk.rstrip(b"=")) if chunk_end == end else 0
        if padding > 2:
            raise BodyError(
                "The attachment data is not valid base64 (more than two padding characters "
                f"at offset {length - padding})."
            )
        body = chunk[: len(chunk) - padding] if padding else chunk
        _check_alphabet(body, offset, _BASE64_ALPHABET)
        if padding:
            # The bits the padding leaves unused must be zero: "QR==" is not a canonical
            # encoding of any byte string, and Kombo's decoder may not accept it.
            unused_bits = 0x0F if padding == 2 else 0x03
            if _BASE64_VALUE[body[-1]] & unused_bits:
                raise BodyError(
                    "The attachment data is not valid base64 (non-zero padding bits at "
                    f"offset {offset + len(body) - 1})."
                )
        # Already validated, so the lenient decoder gives exactly the strict result.
        decoded = binascii.a2b_base64(chunk)
        sink.write(decoded)
        written += len(decoded)
    return written
