"""`kombo attach` command lines that are almost right: which part is out of place."""

from __future__ import annotations

import shlex
from pathlib import Path

from kombo_cli.api.targets import APPLICATION, CANDIDATE
from kombo_cli.errors import UsageError


def file_where_the_id_goes(target_kind: str, argument: str) -> UsageError | None:
    """`kombo attach cv.pdf`: the one argument is an existing file, so the ID was left out,
    not the file; saying "Missing FILE" would send the user looking for the wrong thing."""
    if target_kind not in (CANDIDATE, APPLICATION) or not argument:
        return None
    try:
        is_file = Path(argument).is_file()
    except (OSError, ValueError):
        # A name the system cannot even look up is no file.
        return None
    if not is_file:
        return None
    file = shlex.quote(argument)
    right_order = (
        f"kombo attach --application APPLICATION_ID {file}"
        if target_kind == APPLICATION
        else f"kombo attach CANDIDATE_ID {file}, or kombo attach --email ADDRESS {file}"
    )
    return UsageError(
        f"{argument} looks like a file; the {target_kind} ID comes first.", hint=right_order
    )
