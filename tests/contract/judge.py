"""What a test server saw, judged against Kombo's document once the server stops.

`KomboServer` notes each exchange here as it answers it and calls `assert_kept` when it
stops, so the test whose run broke the document fails, naming every violation:

- a request kombo sent (its User-Agent is the client's) must keep to its operation. Other
  requests are tests' own, often wrong on purpose to see the sandbox refuse them; a server
  made with `contract=False` judges no request at all;
- a reply the sandbox made itself must keep to the operation's response for its status,
  errors included, unless `differences.py` lists the deviation. Replies a test scripted
  are what the test wants, right or wrong, and are not judged. Neither is a rule a test
  names with `tolerate`, having seeded data that breaks it on purpose (a date some ATS
  lists without a time zone).

Only targets under the document's base path (/v1) are API calls; the sandbox's /files/
downloads, and calls on a base URL a test set wrong on purpose, are not judged. Judging
waits for `assert_kept`, so it never slows a reply a test is timing.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from kombo_cli.api.client import USER_AGENT
from tests.contract.differences import allowed
from tests.contract.openapi import DOCUMENT, kombo_contract
from tests.contract.verdict import Violation

# "kombo-cli/": the product token of every request the client makes.
CLIENT_PRODUCT = USER_AGENT.split(" ", 1)[0].split("/", 1)[0] + "/"


@dataclass(frozen=True)
class Exchange:
    method: str
    target: str
    headers: Sequence[tuple[str, str]]
    body: bytes
    # None when the reply was scripted by the test, or there was none.
    status: int | None
    reply_headers: Sequence[tuple[str, str]]
    reply_body: bytes


class ContractJudge:
    def __init__(self, check_requests: bool = True) -> None:
        self.check_requests = check_requests
        self._exchanges: list[Exchange] = []
        self._tolerated: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def tolerate(self, rule: str, *paths: str) -> None:
        """Let the sandbox's replies break `rule` (a schema keyword) at these places in the
        body (as `Violation.rule_path` has them: "data.results[*].remote_created_at")."""
        self._tolerated.update((rule, path) for path in paths)

    def note(self, exchange: Exchange) -> None:
        with self._lock:
            self._exchanges.append(exchange)

    def violations(self, allowing: bool = True) -> list[Violation]:
        """Every violation so far, less those tolerated and (with `allowing`) the sandbox
        deviations `differences.py` allows."""
        contract = kombo_contract()
        with self._lock:
            exchanges = list(self._exchanges)
        found: list[Violation] = []
        for exchange in exchanges:
            path = exchange.target.partition("?")[0]
            if not path.startswith(contract.base_path + "/"):
                continue
            if self.check_requests and is_from_client(exchange.headers):
                found += contract.check_request(
                    exchange.method, exchange.target, exchange.headers, exchange.body
                )
            if exchange.status is not None:
                found += [
                    violation
                    for violation in contract.check_response(
                        exchange.method,
                        exchange.target,
                        exchange.status,
                        exchange.reply_headers,
                        exchange.reply_body,
                    )
                    if not (allowing and allowed(violation))
                    and (violation.rule, violation.rule_path) not in self._tolerated
                ]
        return found

    def assert_kept(self) -> None:
        """Raise AssertionError listing the violations, once; forget what was judged."""
        found = self.violations()
        with self._lock:
            self._exchanges.clear()
        if not found:
            return
        counted = Counter(str(violation) for violation in found)
        lines = [f"  {text}" + (f" (x{n})" if n > 1 else "") for text, n in counted.items()]
        raise AssertionError(
            f"{len(found)} violation(s) of Kombo's OpenAPI document ({DOCUMENT.name}):\n"
            + "\n".join(lines)
        )


def is_from_client(headers: Sequence[tuple[str, str]]) -> bool:
    agents = [value for name, value in headers if name.lower() == "user-agent"]
    return len(agents) == 1 and agents[0].startswith(CLIENT_PRODUCT)
