"""Find the candidate an email address belongs to (`--email`, and `email` in a manifest)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Callable

from kombo_cli.api.retry import OnRetry, RetryPolicy, call_idempotent
from kombo_cli.api.targets import Target
from kombo_cli.errors import KomboError, LookupFailed

# Addresses looked up in one run; a migration touches many, each once or twice in a row.
_CACHE_SIZE = 1024


class CandidateLookup:
    """Resolves addresses to candidate IDs, once per address per run. Thread-safe."""

    def __init__(
        self,
        find_candidates: Callable[[str], list[dict[str, Any]]],
        policy: RetryPolicy,
        on_retry: OnRetry | None = None,
    ) -> None:
        self._find = find_candidates
        self._policy = policy
        self._on_retry = on_retry
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, Target | KomboError] = OrderedDict()
        self._pending: dict[str, threading.Lock] = {}

    def candidate(self, email: str) -> Target:
        """The one candidate with this address. Raises LookupFailed (exit 5) or a KomboError."""
        key = email.strip().casefold()
        with self._lock:
            pending = self._pending.setdefault(key, threading.Lock())
        # One request per address even when several rows name it at the same moment.
        with pending:
            with self._lock:
                cached = self._cache.get(key)
            if cached is None:
                cached = self._resolve(email.strip())
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

    def _resolve(self, email: str) -> Target | KomboError:
        try:
            candidates = call_idempotent(
                lambda: self._find(email),
                self._policy,
                what=f"looking up {email}",
                on_retry=self._on_retry,
            )
        except KomboError as error:
            return error
        wanted = email.casefold()
        # Kombo filters case-insensitively already; checking again guards against an ATS
        # whose filter matches more loosely (or not at all).
        matches = [c for c in candidates if wanted in _addresses(c)]
        if len(matches) == 1 and isinstance(matches[0].get("id"), str):
            return Target.parse(matches[0]["id"], application=False)
        if not matches:
            return LookupFailed(
                f"No candidate has the email address {email}.",
                hint="Kombo searches its synced copy of the ATS: a candidate added in the last"
                " minutes may not be there yet; or pass the candidate ID",
                local_code="CLI.CANDIDATE_NOT_FOUND",
            )
        shown = ", ".join(_describe(candidate) for candidate in matches[:5])
        more = f" and {len(matches) - 5} more" if len(matches) > 5 else ""
        return LookupFailed(
            f"{len(matches)} candidates have the email address {email}: {shown}{more}.",
            hint="pass the ID of the right candidate instead of --email",
            local_code="CLI.CANDIDATE_AMBIGUOUS",
        )


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
