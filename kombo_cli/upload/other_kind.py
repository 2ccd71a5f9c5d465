"""After a 404 for a candidate ID, whether it is an application's ID (or the other way round).

Passing an application's ID as a candidate's is an easy mistake, and Kombo's 404 cannot
say which option was left out. Of the paths kombo calls, none looks an application up by
its ID, so the check lists the other kind's attachments (GET /ats/applications/{id}/
attachments, or the candidates' one): an answer with a listing proves the ID is that
kind's. It runs only after such a 404, at most once per target and run, and never
changes the outcome: when the lookup fails in any way, the original 404 stands.
"""

from __future__ import annotations

import shlex
import threading
from concurrent.futures import Future
from typing import Callable

from kombo_cli.api.targets import APPLICATION, CANDIDATE, Target
from kombo_cli.errors import ApiError, KomboError, WrongBaseUrl
from kombo_cli.upload.request import AttachRequest

# A 404 with this code is about the integration, not the ID in the path.
_NOT_ABOUT_THE_ID = frozenset({"PLATFORM.INTEGRATION_NOT_FOUND"})


class OtherKindCheck:
    """Turns a 404 for a target into "that ID is the other kind's" when a lookup shows it.

    Thread-safe: uploads to one target that fail together share the one lookup."""

    def __init__(self, list_attachments: Callable[[Target], object]) -> None:
        self._list_attachments = list_attachments
        self._lock = threading.Lock()
        self._found: dict[Target, Future[bool]] = {}

    def explain(self, error: KomboError, entry: AttachRequest, target: Target | None) -> KomboError:
        """`error`, or an error naming the option to add or drop when the ID is the other
        kind's."""
        if target is None or not unknown_target(error):
            return error
        assert isinstance(error, ApiError)
        other = other_kind(target)
        if not self._exists(other):
            return error
        return mixed_up(error, target, other, _hint(entry, other))

    def _exists(self, target: Target) -> bool:
        with self._lock:
            found = self._found.get(target)
            owner = found is None
            if found is None:
                found = self._found[target] = Future()
        if owner:
            exists = False
            try:
                self._list_attachments(target)
                exists = True
            except KomboError:
                pass  # not found, or no answer: the original 404 stands
            finally:
                found.set_result(exists)
        return found.result()


def other_kind(target: Target) -> Target:
    """The same ID as the other kind's: an application's for a candidate's, and back."""
    return Target(APPLICATION if target.kind == CANDIDATE else CANDIDATE, target.id)


def mixed_up(error: ApiError, target: Target, other: Target, hint: str) -> ApiError:
    """Kombo's 404 for `target`, told as what it was: the ID is `other`'s kind."""
    explained = ApiError(
        f"{target.id} is {_an(other.kind)}'s ID, not {_an(target.kind)}'s.",
        http_status=error.http_status,
        code=error.code,
        title=error.title,
        log_url=error.log_url,
        hint=hint,
    )
    explained.attempts = error.attempts
    return explained


def unknown_target(error: KomboError) -> bool:
    """A 404 about the ID in the path (not the integration's, not a wrong base URL)."""
    return (
        isinstance(error, ApiError)
        and not isinstance(error, WrongBaseUrl)
        and error.http_status == 404
        and error.code not in _NOT_ABOUT_THE_ID
    )


def _an(kind: str) -> str:
    return f"an {kind}" if kind == APPLICATION else f"a {kind}"


def _hint(entry: AttachRequest, other: Target) -> str:
    if entry.line is not None:
        return f"put it in the manifest's {other.kind}_id column"
    option = "add --application" if other.kind == APPLICATION else "drop --application"
    # A URL may be signed: the hint names its place, not the URL.
    source = "--url URL" if entry.url is not None else shlex.quote(entry.source)
    return f"{option}: kombo attach {other.shell_argument} {source}"
