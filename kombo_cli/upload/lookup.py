"""Find the candidate an email address belongs to (`--email`, and `email` in a manifest)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from kombo_cli.api.candidates import CandidateSearch
from kombo_cli.api.client import KomboClient
from kombo_cli.api.retry import OnRetry, RetryPolicy, call_idempotent, describe_failure
from kombo_cli.api.targets import Target
from kombo_cli.errors import KomboError, LookupFailed

# Addresses looked up in one run; a migration touches many, each once or twice in a row.
_CACHE_SIZE = 1024


class CandidateLookup:
    """Resolves addresses to candidate IDs, once per address per run. Thread-safe."""

    def __init__(
        self,
        client: KomboClient,
        policy: RetryPolicy,
    ) -> None:
        self._search = CandidateSearch(client)
        # Once Kombo was seen ignoring the email filter, the answer holds for the run.
        self._filter_ignored = False
        self._policy = policy
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, Target | KomboError] = OrderedDict()
        self._pending: dict[str, threading.Lock] = {}

    def candidate(self, email: str, on_retry: OnRetry | None) -> Target:
        """The one candidate with this address. Raises LookupFailed (exit 5) or a KomboError.
        `on_retry` is told of retries (the asking row's: it names the row's integration)."""
        key = email.strip().casefold()
        with self._lock:
            pending = self._pending.setdefault(key, threading.Lock())
        # One request per address even when several rows name it at the same moment.
        with pending:
            with self._lock:
                cached = self._cache.get(key)
            if cached is None:
                cached = self._resolve(email.strip(), on_retry)
                with self._lock:
                    # An answer is kept (a found candidate, or none, or several); a network
                    # failure is not, so the next row with this address asks again.
                    if not isinstance(cached, KomboError) or isinstance(cached, LookupFailed):
                        self._cache[key] = cached
                        while len(self._cache) > _CACHE_SIZE:
                            self._cache.popitem(last=False)
                    self._pending.pop(key, None)
        if isinstance(cached, LookupFailed):
            # A fresh copy per raise: one exception object must not travel between threads.
            raise LookupFailed(cached.message, cached.hint, local_code=cached.local_code)
        if isinstance(cached, KomboError):
            raise cached
        return cached

    def _resolve(self, email: str, on_retry: OnRetry | None) -> Target | KomboError:
        wanted = email.casefold()
        stopped_early = False

        def enough(found: list[dict[str, Any]]) -> bool:
            # Two candidates with the address already make it ambiguous: no more pages.
            nonlocal stopped_early
            stopped_early = len(_matching(found, wanted)) >= 2
            return stopped_early

        try:
            candidates = call_idempotent(
                lambda: self._search.find(email, enough),
                self._policy,
                what=f"looking up {email}",
                on_retry=on_retry,
            )
        except KomboError as error:
            return error
        # Kombo filters case-insensitively already; checking again guards against an ATS
        # whose filter matches more loosely (or not at all).
        matches = _matching(candidates, wanted)
        if len(matches) == 1:
            return Target.parse(matches[0]["id"], application=False)
        if not matches:
            # Candidates that do not match show the filter is applied, however loosely.
            return self._not_found(email, on_retry) if not candidates else _not_synced(email)
        shown = ", ".join(_describe(candidate) for candidate in matches[:5])
        more = f" and {len(matches) - 5} more" if len(matches) > 5 else ""
        count = f"At least {len(matches)}" if stopped_early else str(len(matches))
        return LookupFailed(
            f"{count} candidates have the email address {email}: {shown}{more}.",
            hint="pass the ID of the right candidate instead of --email",
            local_code="CLI.CANDIDATE_AMBIGUOUS",
        )

    def _not_found(self, email: str, on_retry: OnRetry | None) -> LookupFailed:
        """Kombo returned no one: no such candidate, or no such filter for this ATS."""
        if not self._filter_ignored:
            try:
                self._filter_ignored = call_idempotent(
                    lambda: self._search.ignores_email_filter(email),
                    self._policy,
                    what=f"checking the email filter for {email}",
                    on_retry=on_retry,
                )
            except KomboError as error:
                return LookupFailed(
                    f"No candidate has the email address {email}.",
                    hint="Kombo found none in its synced copy of the ATS: either the candidate"
                    " was added in the ATS since the last sync, or this integration does not"
                    " support filtering candidates by email (Kombo then finds no one); kombo"
                    f" could not check which ({describe_failure(error)}); pass the candidate"
                    " ID, or run again to check",
                    local_code="CLI.CANDIDATE_NOT_FOUND",
                )
        if self._filter_ignored:
            return LookupFailed(
                f"No candidate can be looked up by the email address {email}: this"
                " integration does not support filtering candidates by email.",
                hint="Kombo answers such a search with no candidates (and, told to ignore the"
                " filter, with all of them); pass the candidate ID instead",
                local_code="CLI.CANDIDATE_NOT_FOUND",
            )
        return _not_synced(email)


def _not_synced(email: str) -> LookupFailed:
    return LookupFailed(
        f"No candidate has the email address {email}.",
        hint="Kombo searches its synced copy of the ATS, and it has no candidate with this"
        " address: one added in the ATS since the last sync is not there yet; try again"
        " after the next sync, or pass the candidate ID",
        local_code="CLI.CANDIDATE_NOT_FOUND",
    )


def _matching(candidates: list[dict[str, Any]], wanted: str) -> list[dict[str, Any]]:
    """The candidates with the address, each once: pages of a list that changes while it
    is read may repeat one."""
    seen: dict[str, dict[str, Any]] = {}
    for candidate in candidates:
        identifier = candidate.get("id")
        if isinstance(identifier, str) and wanted in _addresses(candidate):
            seen.setdefault(identifier, candidate)
    return list(seen.values())


def _addresses(candidate: dict[str, Any]) -> set[str]:
    found = set()
    for entry in candidate.get("email_addresses") or []:
        address = entry.get("email_address") if isinstance(entry, dict) else None
        if isinstance(address, str):
            found.add(address.strip().casefold())
    return found


def _describe(candidate: dict[str, Any]) -> str:
    names = [candidate.get("first_name"), candidate.get("last_name")]
    name = " ".join(part for part in names if isinstance(part, str) and part)
    identifier = candidate.get("id") if isinstance(candidate.get("id"), str) else "?"
    return f"{identifier} ({name})" if name else str(identifier)
