"""Find a meaningful MIME type for an attachment: by extension, then by magic bytes.

Kombo requires `content_type` with base64 data, checks it against `^[\\w.-]+/[\\w.-]+$`
and asks for a real type, never `application/octet-stream`.
"""

from __future__ import annotations

import mimetypes
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from kombo_cli.errors import UsageError

KOMBO_CONTENT_TYPE_PATTERN = re.compile(r"[\w.-]+/[\w.-]+", re.ASCII)
GENERIC_CONTENT_TYPES = frozenset({"application/octet-stream", "binary/octet-stream"})

# The formats people attach to candidates. Our own table comes first so the result does not
# depend on the machine's /etc/mime.types.
_TYPES_BY_EXTENSION: dict[str, str] = {
    ".pdf": "application/pdf",
    ".doc": "application/msword",
    ".dot": "application/msword",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".dotx": "application/vnd.openxmlformats-officedocument.wordprocessingml.template",
    ".xls": "application/vnd.ms-excel",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".ppt": "application/vnd.ms-powerpoint",
    ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ".odt": "application/vnd.oasis.opendocument.text",
    ".ods": "application/vnd.oasis.opendocument.spreadsheet",
    ".odp": "application/vnd.oasis.opendocument.presentation",
    ".rtf": "application/rtf",
    ".txt": "text/plain",
    ".text": "text/plain",
    ".md": "text/markdown",
    ".markdown": "text/markdown",
    ".csv": "text/csv",
    ".html": "text/html",
    ".htm": "text/html",
    ".xml": "application/xml",
    ".json": "application/json",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".jpe": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".heic": "image/heic",
    ".heif": "image/heif",
    ".tif": "image/tiff",
    ".tiff": "image/tiff",
    ".bmp": "image/bmp",
    ".zip": "application/zip",
    ".pages": "application/vnd.apple.pages",
    ".msg": "application/vnd.ms-outlook",
    ".eml": "message/rfc822",
    ".mp4": "video/mp4",
    ".mov": "video/quicktime",
    ".mp3": "audio/mpeg",
}

# Python's built-in table only (no system files), as a second opinion for rarer extensions.
_STDLIB_TYPES = mimetypes.MimeTypes(filenames=())

_OLE_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_SIGNATURE = b"PK\x03\x04"
_MAGIC_PREFIXES: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"{\\rtf", "application/rtf"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
)
_HEIF_BRANDS = {b"heic": "image/heic", b"heix": "image/heic", b"mif1": "image/heif"}
# Office Open XML and OpenDocument files are ZIP archives; their members say which one.
_OOXML_BY_FOLDER = (
    ("word/", ".docx"),
    ("xl/", ".xlsx"),
    ("ppt/", ".pptx"),
)
# Bytes read from the start of a file for sniffing.
SNIFF_BYTES = 8192

# For a type Kombo's pattern refuses (image/svg+xml and every other "+" type), only these
# work: --content-type with that type is refused too, and another type would mislabel the
# file. With --url and no content type, Kombo takes the type from the download.
_WAYS_THROUGH = (
    "convert the file (e.g. to PDF or PNG), or upload it from storage with --url URL"
    " and no --content-type: Kombo then takes the type from the download"
)
_LEAVE_THE_TYPE_TO_THE_DOWNLOAD = (
    "leave the content type out: with --url, Kombo takes it from the download"
)


@dataclass(frozen=True)
class ContentTypeGuess:
    content_type: str
    # "option", "extension" or "content": said in verbose output and the dry-run plan.
    method: str
    # Set when the bytes look like another format than the extension says.
    warning: str | None = None


def validate_content_type(value: str, *, for_url: bool = False) -> str:
    """A `--content-type` value Kombo will accept, or a UsageError. `for_url`: the file is
    uploaded by URL, so leaving the type out is a way through."""
    content_type = value.strip()
    if not KOMBO_CONTENT_TYPE_PATTERN.fullmatch(content_type):
        hint = "use type/subtype made of letters, digits, '.', '_', '-', e.g. application/pdf"
        if _is_structured_type(content_type):
            hint = (
                _LEAVE_THE_TYPE_TO_THE_DOWNLOAD
                if for_url
                else f"no '+' type passes Kombo's rule: {_WAYS_THROUGH}"
            )
        raise UsageError(
            f"The content type {value!r} is not a plain MIME type Kombo accepts.", hint=hint
        )
    if content_type.lower() in GENERIC_CONTENT_TYPES:
        raise UsageError(
            f"The content type {content_type} is too generic; Kombo asks for the real type.",
            hint="pass the file's real type, e.g. --content-type application/pdf",
        )
    return content_type


def guess_content_type(name: str, head: bytes, path: Path | None = None) -> ContentTypeGuess:
    """Pick the content type for a file called `name` whose first bytes are `head`.

    `path`, when given, lets ZIP-based formats be told apart by their members.
    """
    by_extension = _type_from_extension(name)
    if by_extension and not _acceptable(by_extension):
        # e.g. .svg is image/svg+xml, which Kombo's pattern refuses; guessing another
        # type from the bytes would mislabel the file in the ATS.
        raise UsageError(
            f"{name} is {by_extension}, a type Kombo's content-type rule does not accept.",
            hint=_WAYS_THROUGH,
        )
    by_content = sniff_content_type(head, path)
    if by_extension:
        warning = None
        if by_content and not _compatible(by_extension, by_content):
            warning = (
                f"{name} looks like {by_content} but its extension says {by_extension};"
                f" sending {by_extension} (use --content-type to change it)"
            )
        return ContentTypeGuess(by_extension, "extension", warning)
    if by_content:
        return ContentTypeGuess(by_content, "content")
    raise UsageError(
        f"Cannot tell the content type of {name}.",
        hint="pass it with --content-type, e.g. --content-type application/pdf",
    )


def content_type_from_url_name(name: str) -> ContentTypeGuess | None:
    """The type a URL's file name says by its extension, as for a file; None when it says
    none Kombo accepts: Kombo then takes the type the download is served with, which is
    the one way through for a "+" type (image/svg+xml)."""
    by_extension = _type_from_extension(name)
    if by_extension is None or not _acceptable(by_extension):
        return None
    return ContentTypeGuess(by_extension, "extension")


def _type_from_extension(name: str) -> str | None:
    suffix = Path(name).suffix.lower()
    if not suffix:
        return None
    if suffix in _TYPES_BY_EXTENSION:
        return _TYPES_BY_EXTENSION[suffix]
    guessed, _encoding = _STDLIB_TYPES.guess_type("file" + suffix, strict=False)
    if guessed in GENERIC_CONTENT_TYPES:
        return None
    return guessed


def _is_structured_type(content_type: str) -> bool:
    """type/name+suffix (RFC 6839), e.g. image/svg+xml: a real type, refused only for the '+'."""
    return KOMBO_CONTENT_TYPE_PATTERN.fullmatch(content_type.replace("+", ".")) is not None


def _acceptable(content_type: str) -> bool:
    return bool(KOMBO_CONTENT_TYPE_PATTERN.fullmatch(content_type)) and (
        content_type not in GENERIC_CONTENT_TYPES
    )


def sniff_content_type(head: bytes, path: Path | None = None) -> str | None:
    """The type the first bytes of a file reveal, or None when they reveal nothing."""
    for prefix, content_type in _MAGIC_PREFIXES:
        if head.startswith(prefix):
            return content_type
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS:
        return _HEIF_BRANDS[head[8:12]]
    if head.startswith(_ZIP_SIGNATURE):
        return _sniff_zip(head, path)
    if head.startswith(_OLE_SIGNATURE):
        # The legacy Office container; only Word files are common enough to name with
        # confidence, and their directory names the "WordDocument" stream early on.
        if "WordDocument".encode("utf-16-le") in head:
            return "application/msword"
        return None
    return _sniff_text(head)


def _sniff_zip(head: bytes, path: Path | None) -> str:
    # OpenDocument stores its MIME type uncompressed as the first member, "mimetype".
    if head[30:38] == b"mimetype":
        start = 38
        end = start + 80
        declared = head[start:end].split(b"PK", 1)[0].decode("ascii", "ignore").strip()
        if declared.startswith("application/vnd.oasis.opendocument.") and _acceptable(declared):
            return declared
    if path is not None:
        try:
            with zipfile.ZipFile(path) as archive:
                names = archive.namelist()
        except (zipfile.BadZipFile, OSError):
            names = []
        if "[Content_Types].xml" in names:
            for folder, extension in _OOXML_BY_FOLDER:
                if any(member.startswith(folder) for member in names):
                    return _TYPES_BY_EXTENSION[extension]
    return "application/zip"


def _sniff_text(head: bytes) -> str | None:
    if not head or b"\x00" in head:
        return None
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # The sniffed window may cut a multi-byte character in half at its end.
        if exc.start < len(head) - 3:
            return None
        text = head[: exc.start].decode("utf-8")
    if any(ord(char) < 32 and char not in "\t\n\r\f" for char in text):
        return None
    start = text.lstrip("\ufeff \t\r\n").lower()
    if start.startswith("<!doctype html") or start.startswith("<html"):
        return "text/html"
    return "text/plain"


_BINARY_FORMATS = frozenset(
    {content_type for _prefix, content_type in _MAGIC_PREFIXES}
    | {"application/zip", "application/msword", "application/vnd.ms-excel"}
    | {"application/vnd.ms-powerpoint", "application/vnd.apple.pages"}
)


def _has_binary_signature(content_type: str) -> bool:
    return (
        content_type in _BINARY_FORMATS
        or content_type.startswith(("image/", "audio/", "video/"))
        or "officedocument" in content_type
        or "opendocument" in content_type
    ) and content_type != "image/svg+xml"


def _compatible(by_extension: str, by_content: str) -> bool:
    """Whether a sniffed type agrees well enough with the extension's type not to warn."""
    if by_extension == by_content:
        return True
    # Sniffing text only proves "no binary signature": it disagrees only with formats that
    # always have one (.js, .sh, .json and other text files are fine).
    if by_content.startswith("text/"):
        return not _has_binary_signature(by_extension)
    # Every Office/ODF file is a ZIP, and a .zip may hold a document.
    if by_content == "application/zip" or by_extension == "application/zip":
        return True
    return bool(by_content == "image/heif" and by_extension == "image/heic")
