"""What one `kombo attach` run attaches: items from the command line or from a manifest.

An item names a target (a candidate or application ID, or an email address to look up)
and a source (a local file or a URL), plus optional overrides. Building items reads no file
and sends nothing; problems found in a manifest row travel as items too, so they are
reported in order with everything else.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

from kombo_cli.manifest import ManifestRow, RowProblem, open_manifest
from kombo_cli.redact import display_url
from kombo_cli.targets import APPLICATION, CANDIDATE, Target

# The third kind of target an item may name: a candidate still to be found by address.
EMAIL = "email"

__all__ = ["APPLICATION", "CANDIDATE", "EMAIL", "AttachItem", "BadRow", "Entry"]


@dataclass(frozen=True)
class AttachItem:
    target_kind: str  # CANDIDATE, APPLICATION or EMAIL
    target_value: str
    file: str | None = None
    url: str | None = None
    type: str | None = None
    name: str | None = None
    content_type: str | None = None
    remote_fields: dict[str, Any] | None = None
    # The manifest line the item came from.
    line: int | None = None

    @property
    def source(self) -> str:
        """The file or URL, fit to show (a signed URL's query is hidden)."""
        if self.url is not None:
            return display_url(self.url)
        # A manifest's relative path is shown resolved, as it is opened and uploaded.
        return self.file or ""

    @property
    def label(self) -> str:
        """How messages name this item: the manifest line and the file or URL."""
        return f"line {self.line} ({self.source})" if self.line is not None else self.source

    @property
    def list_argument(self) -> str:
        """What `kombo attachments list` needs to show this item's target."""
        if self.target_kind == EMAIL:
            return "CANDIDATE_ID"
        return Target(self.target_kind, self.target_value).shell_argument

    def label_for(self, message: str) -> str:
        """The label, without the file or URL when `message` names it already."""
        if self.source and self.source in message:
            return f"line {self.line}" if self.line is not None else ""
        return self.label


@dataclass(frozen=True)
class BadRow:
    """A manifest row that could not be read; reported as a failed item."""

    line: int
    message: str

    @property
    def label(self) -> str:
        return f"line {self.line}"

    def label_for(self, message: str) -> str:
        return self.label


Entry = Union[AttachItem, BadRow]


def command_line_items(
    target_kind: str,
    target_value: str,
    files: list[str],
    urls: list[str],
    *,
    type: str | None,
    name: str | None,
    content_type: str | None,
    remote_fields: dict[str, Any] | None,
) -> list[AttachItem]:
    shared = {
        "type": type,
        "name": name,
        "content_type": content_type,
        "remote_fields": remote_fields,
    }
    items = [AttachItem(target_kind, target_value, file=file, **shared) for file in files]
    items += [AttachItem(target_kind, target_value, url=url, **shared) for url in urls]
    return items


def manifest_items(
    path: Path, *, remote_fields: dict[str, Any] | None, content_type: str | None
) -> Iterator[Entry]:
    """The manifest's rows as items, read lazily. Command-line values fill in what a row
    leaves out (except the name, which is per file)."""
    with open_manifest(path) as manifest:
        for entry in manifest:
            if isinstance(entry, RowProblem):
                yield BadRow(entry.line, entry.message)
                continue
            yield _item_from_row(entry, remote_fields, content_type)


def _item_from_row(
    row: ManifestRow, remote_fields: dict[str, Any] | None, content_type: str | None
) -> AttachItem:
    return AttachItem(
        target_kind=row.target_kind,
        target_value=row.target_value,
        file=row.file,
        url=row.url,
        type=row.type,
        name=row.name,
        content_type=row.content_type or content_type,
        remote_fields=row.remote_fields if row.remote_fields is not None else remote_fields,
        line=row.line,
    )
