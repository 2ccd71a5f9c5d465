"""Kombo's candidate search by email (`GET /ats/candidates`): the pages asked for, and
whether Kombo applies the email filter at all for the integration's ATS.

Kombo answers a filter the ATS cannot apply with no candidates at all, unless told to
ignore it (`ignore_unsupported_filters=true`), when it answers with every candidate. So
the search itself always sends `false`, and `ignores_email_filter` asks with `true` only
to tell "no such candidate" from "no such filter"; what it returns is never a match.
"""

from __future__ import annotations

from typing import Any, Callable
from urllib.parse import urlsplit

from kombo_cli.api.client import KomboClient
from kombo_cli.errors import NetworkError

Candidate = dict[str, Any]
# Asked with what has been found so far, before each further page: True stops the paging.
Enough = Callable[[list[Candidate]], bool]

# An address belongs to a handful of candidates at most: a page of 50, and a few of them,
# is plenty (more pages than that means the filter is not doing its job anyway).
PAGE_SIZE = 50
MAX_PAGES = 5


class CandidateSearch:
    """Looks candidates up by email address through one client. Thread-safe."""

    def __init__(self, client: KomboClient) -> None:
        self._client = client
        self._host = urlsplit(client.base_url).netloc

    def find(self, email: str, enough: Enough | None = None) -> list[Candidate]:
        """Candidates whose email addresses include `email`, from Kombo's synced copy."""
        query = {"email": email, "page_size": str(PAGE_SIZE), "ignore_unsupported_filters": "false"}
        found: list[Candidate] = []
        cursor: str | None = None
        for _ in range(MAX_PAGES):
            results, cursor = self._page({**query, "cursor": cursor} if cursor else query)
            found.extend(results)
            if not cursor or (enough is not None and enough(found)):
                break
        return found

    def ignores_email_filter(self, email: str) -> bool:
        """Whether Kombo returns candidates for `email` once allowed to ignore a filter the
        ATS cannot apply, after `find` returned none at all.

        If the ATS can filter by email, the answer is the same empty one `find` had (a
        candidate synced in the moment between would be the only exception). If it cannot,
        the filter is ignored and anyone comes back: one is enough to tell."""
        results, _cursor = self._page(
            {"email": email, "page_size": "1", "ignore_unsupported_filters": "true"}
        )
        return bool(results)

    def _page(self, query: dict[str, str]) -> tuple[list[Candidate], str | None]:
        response = self._client.get_candidates(query)
        data = response.data if isinstance(response.data, dict) else {}
        results = data.get("results")
        if not isinstance(results, list):
            raise NetworkError(
                f"{self._host} answered the candidate search without a list of results."
            )
        cursor = data.get("next")
        return [item for item in results if isinstance(item, dict)], (
            cursor if isinstance(cursor, str) and cursor else None
        )
