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


def named_once(files: list[str], urls: list[str]) -> tuple[list[str], list[str], list[str]]:
    """The files and URLs with repeats left out, and the repeats to warn about.

    `scans/*.pdf scans/2026-*.pdf` names some files twice; each would become an attachment
    of its own, the same file twice in the ATS. A file is the same when its path leads to
    the same file (`./cv.pdf` and `cv.pdf`, a link and its target)."""
    kept_files: list[str] = []
    kept_urls: list[str] = []
    repeats: list[str] = []
    seen: set[object] = set()
    for file in files:
        key: object
        try:
            stat = Path(file).stat()
            key = ("file", stat.st_dev, stat.st_ino)
        except (OSError, ValueError):
            key = ("name", file)  # missing: reported as such later, once
        if key in seen:
            repeats.append(file)
        else:
            seen.add(key)
            kept_files.append(file)
    for url in urls:
        if ("url", url) in seen:
            repeats.append(url)
        else:
            seen.add(("url", url))
            kept_urls.append(url)
    return kept_files, kept_urls, repeats


# For a manifest whose rows need the run's own integration when none is set.
OWN_INTEGRATION_HINT = (
    "export KOMBO_INTEGRATION_ID=... for the rows without one, or give every row an integration_id"
)


def own_integration_missing(line: int | None, manifest: Path) -> str:
    """Why a manifest's run needs KOMBO_INTEGRATION_ID: a clause that follows "not set"."""
    return f"line {line} of {manifest} names no integration_id"
