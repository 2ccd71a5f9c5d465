"""What to attach where: one request type for the command line, manifest rows and scripts.

A request names a target (a candidate or application ID, or an email address to look
up) and a source (a local file or a URL), plus optional overrides. Building one reads no
file and sends nothing; `plan.py` checks it when it is about to be sent. A manifest row
that cannot be read becomes a `RowProblem`, which travels with the requests so it is
reported in order with everything else.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Union

from kombo_cli.api.targets import APPLICATION, CANDIDATE, Target
from kombo_cli.credentials import integration_id_problem
from kombo_cli.redact import display_url

# The third kind of target a request may name: a candidate still to be found by address.
EMAIL = "email"
TARGET_KINDS = (CANDIDATE, APPLICATION, EMAIL)


@dataclass(frozen=True)
class AttachRequest:
    """One file or URL to attach. Fields left as None take the run's defaults; a request
    naming an `integration_id` goes to that integration (customer) instead of the run's.
    Raises ValueError for an integration ID that cannot be one.

    `file` may be given as a path object; it is kept as text. Raises ValueError for a
    request that names no source or two, or a kind of target kombo does not know.
    """

    target_kind: str  # CANDIDATE, APPLICATION or EMAIL
    target_value: str  # the Kombo ID, or the email address
    file: str | os.PathLike[str] | None = None
    url: str | None = None
    type: str | None = None
    name: str | None = None
    content_type: str | None = None
    remote_fields: dict[str, Any] | None = None
    # The manifest line the request came from.
    line: int | None = None
    # The integration (customer) the row is for; None: the run's own.
    integration_id: str | None = None

    def __post_init__(self) -> None:
        if self.target_kind not in TARGET_KINDS:
            raise ValueError(f"target_kind must be one of {', '.join(TARGET_KINDS)}")
        if (self.file is None) == (self.url is None):
            raise ValueError("give exactly one of file and url")
        if self.file is not None and not isinstance(self.file, str):
            object.__setattr__(self, "file", os.fspath(self.file))
        if self.integration_id is not None:
            # The same rule as for a manifest's column and KOMBO_INTEGRATION_ID.
            integration = self.integration_id.strip()
            problem = integration_id_problem(integration)
            if problem is not None:
                raise ValueError(f"integration_id {integration!r} {problem}")
            object.__setattr__(self, "integration_id", integration)

    @property
    def path(self) -> str | None:
        """The file, as text (None for a URL)."""
        return None if self.file is None else os.fspath(self.file)

    @classmethod
    def for_candidate(
        cls,
        candidate_id: str,
        *,
        file: str | os.PathLike[str] | None = None,
        url: str | None = None,
        type: str | None = None,
        name: str | None = None,
        content_type: str | None = None,
        remote_fields: dict[str, Any] | None = None,
        integration_id: str | None = None,
    ) -> AttachRequest:
        """A file or URL for the candidate with this Kombo ID."""
        return cls(
            CANDIDATE,
            candidate_id,
            file,
            url,
            type,
            name,
            content_type,
            remote_fields,
            integration_id=integration_id,
        )

    @classmethod
    def for_application(
        cls,
        application_id: str,
        *,
        file: str | os.PathLike[str] | None = None,
        url: str | None = None,
        type: str | None = None,
        name: str | None = None,
        content_type: str | None = None,
        remote_fields: dict[str, Any] | None = None,
        integration_id: str | None = None,
    ) -> AttachRequest:
        """A file or URL for the application with this Kombo ID."""
        return cls(
            APPLICATION,
            application_id,
            file,
            url,
            type,
            name,
            content_type,
            remote_fields,
            integration_id=integration_id,
        )

    @classmethod
    def for_email(
        cls,
        email: str,
        *,
        file: str | os.PathLike[str] | None = None,
        url: str | None = None,
        type: str | None = None,
        name: str | None = None,
        content_type: str | None = None,
        remote_fields: dict[str, Any] | None = None,
        integration_id: str | None = None,
    ) -> AttachRequest:
        """A file or URL for the one candidate with this email address (looked up first)."""
        return cls(
            EMAIL,
            email,
            file,
            url,
            type,
            name,
            content_type,
            remote_fields,
            integration_id=integration_id,
        )

    @property
    def source(self) -> str:
        """The file or URL, fit to show (a signed URL's query is hidden)."""
        if self.url is not None:
            return display_url(self.url)
        # A manifest's relative path is shown resolved, as it is opened and uploaded.
        return self.path or ""

    @property
    def label(self) -> str:
        """How messages name this request: the manifest line and the file or URL."""
        return f"line {self.line} ({self.source})" if self.line is not None else self.source

    @property
    def list_argument(self) -> str:
        """What `kombo attachments list` needs to show this request's target."""
        if self.target_kind == EMAIL:
            # The address is not what the command takes: the candidate's ID goes there.
            return Target(CANDIDATE, "CANDIDATE_ID", self.integration_id).shell_argument
        target = Target(self.target_kind, self.target_value, self.integration_id)
        return target.shell_argument

    def label_for(self, message: str) -> str:
        """The label, without the file or URL when `message` names it already."""
        if self.source and self.source in message:
            return f"line {self.line}" if self.line is not None else ""
        return self.label

    def target_json(self) -> dict[str, str]:
        """The target as given, for a result whose target was never resolved."""
        if self.target_kind == EMAIL:
            return {"kind": EMAIL, "email": self.target_value}
        return {"kind": self.target_kind, "id": self.target_value}

    def source_json(self) -> dict[str, str]:
        return {"url" if self.url is not None else "file": self.source}


@dataclass(frozen=True)
class RowProblem:
    """A manifest row that cannot be used.

    `message` is one sentence without the line number, starting in lower case, e.g.
    "give exactly one of candidate_id, application_id, email."; `str()` adds the line.
    """

    # The 1-based physical line the row starts on.
    line: int
    message: str
    # The row's integration, when it names a valid one; None: the run's own.
    integration_id: str | None = None
    # The row names an integration that cannot be one: counted under no integration.
    unreadable_integration: bool = False

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"

    @property
    def label(self) -> str:
        return f"line {self.line}"

    def label_for(self, message: str) -> str:
        return self.label


# What a run works through: requests, and manifest rows that could not be read.
Entry = Union[AttachRequest, RowProblem]


def command_line_requests(
    target_kind: str, target_value: str, files: list[str], urls: list[str], name: str | None
) -> list[AttachRequest]:
    """The requests of `kombo attach TARGET FILE... [--url URL...]`, files first."""
    requests = [AttachRequest(target_kind, target_value, file=file, name=name) for file in files]
    requests += [AttachRequest(target_kind, target_value, url=url, name=name) for url in urls]
    return requests


class TargetCounter:
    """Notes the targets requests name, to find those named more than once."""

    def __init__(self) -> None:
        self._seen: set[tuple[str, str]] = set()
        self.repeated: set[tuple[str, str]] = set()

    def add(self, entry: Entry) -> None:
        if isinstance(entry, AttachRequest):
            key = (entry.target_kind, entry.target_value)
            if key in self._seen:
                self.repeated.add(key)
            self._seen.add(key)


def repeated_targets(entries: Iterable[Entry]) -> frozenset[tuple[str, str]]:
    """The (kind, value) targets more than one of `entries` names."""
    counter = TargetCounter()
    for entry in entries:
        counter.add(entry)
    return frozenset(counter.repeated)
