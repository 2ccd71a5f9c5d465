"""What a key or an integration ID may look like, wherever one comes from.

Settings, manifest rows and the library all take integration IDs; one rule for all of them
lives here, in a module that imports nothing, so each layer can use it.
"""

from __future__ import annotations

import re

# Keys and integration ids are printable ASCII without quotes or "=". Anything else (a
# space, a line break, a curly quote pasted from a document, a whole `KOMBO_API_KEY=...`
# line) would break the HTTP header, end up echoed by the HTTP library, or simply be wrong.
_CREDENTIAL = re.compile(r"[\x21-\x7e]+")
_NOT_IN_CREDENTIALS = re.compile("[\"'`=\\\\]")

INTEGRATION_ID_EXAMPLE = "workday:HWUTwvyx2wLoSUHphiWVrp28"


def is_header_safe(value: str) -> bool:
    """Whether `value` can travel as a key or integration id: printable ASCII, no spaces."""
    return bool(_CREDENTIAL.fullmatch(value)) and not _NOT_IN_CREDENTIALS.search(value)


def names_a_path_segment(value: str) -> bool:
    """Whether an integration id can stand in GET /integrations/{id}. `.` and `..` would
    climb out of it (`..` reaches GET /v1/), and Kombo's ids never hold a `/`."""
    return value not in (".", "..") and "/" not in value


def integration_id_problem(value: str) -> str | None:
    """Why `value` (stripped) cannot be an integration id, as words that follow "it", or
    None when it can."""
    if not value:
        return "is empty"
    if not is_header_safe(value):
        return "contains spaces, quotes, '=' or characters that are not plain ASCII"
    if not names_a_path_segment(value):
        return "is '.' or '..' or contains '/', which no integration id does"
    return None
