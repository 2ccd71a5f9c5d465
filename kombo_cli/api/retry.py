"""When a failed request may be sent again, and how long to wait first.

Kombo has no idempotency key and the attachment POST returns no id, so a blind retry can
attach the same CV twice. Failures therefore fall into three kinds:

- SAFE: Kombo refused the request before doing any work (429, a 503 in Kombo's own JSON
  envelope, or the connection could not even be opened). Sending it again after a pause
  cannot create a duplicate.
- CHECK_FIRST: the request may have arrived and been stored (any other 5xx, including a
  proxy's 502, 520, 524 or HTML 503; a timeout; a connection that broke after the first
  byte went out). The caller must look before sending again; see
  `kombo_cli.upload.delivery`.
- NEVER: Kombo rejected the request itself (400, 401, 403, 404, 409...). Sending it again
  gives the same answer.

No HTTP and no printing here: the client reports failures as exceptions carrying the
facts this module needs, and the caller decides what to tell the user.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Callable, TypeVar

from kombo_cli.errors import ApiError, KomboError, NetworkError

DEFAULT_RETRIES = 3
# The first pause; Kombo's concurrency guide asks for exponential backoff from about 1 s.
BASE_DELAY_S = 1.0
# No single pause is longer than this, whatever Retry-After asks for: a nightly job should
# not sleep for an hour on one header.
MAX_DELAY_S = 60.0
# After an ambiguous failure, give Kombo a moment to finish what it may still be doing
# before listing the attachments, or the listing could miss a file about to appear.
SETTLE_DELAY_S = 3.0

# Codes that mean "refused before any work", whatever status a proxy puts around them.
_REFUSED_BEFORE_WORK_CODES = frozenset(
    {"PLATFORM.RATE_LIMIT_EXCEEDED", "PLATFORM.CONCURRENCY_LIMIT_EXCEEDED"}
)


class Retryability(Enum):
    SAFE = "safe"
    CHECK_FIRST = "check_first"
    NEVER = "never"


def classify(error: KomboError, *, idempotent: bool) -> Retryability:
    """How a failed request may be retried. `idempotent` is True for GETs."""
    if isinstance(error, ApiError):
        if error.http_status == 429 or error.code in _REFUSED_BEFORE_WORK_CODES:
            return Retryability.SAFE
        if error.http_status == 503 and error.code is not None:
            # Kombo's own 503 (its JSON envelope) is documented as refused before any work;
            # a proxy's HTML 503 may come after the request was forwarded.
            return Retryability.SAFE
        if error.http_status >= 500:
            return Retryability.SAFE if idempotent else Retryability.CHECK_FIRST
        return Retryability.NEVER
    if isinstance(error, NetworkError) and error.transient:
        if not error.may_have_arrived:
            return Retryability.SAFE
        if idempotent:
            # A server too slow to answer once will be as slow the next time; sending the
            # same GET again only multiplies the wait.
            return Retryability.NEVER if error.timed_out else Retryability.SAFE
        return Retryability.CHECK_FIRST
    return Retryability.NEVER


def parse_retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds to wait as the server asks, from `retry-after-ms` or `Retry-After`.

    `headers` must look names up case-insensitively (requests' headers do). Retry-After
    is either delay-seconds or an HTTP-date (RFC 9110 §10.2.3); anything else is ignored.
    """
    milliseconds = _non_negative_number(headers.get("retry-after-ms"))
    if milliseconds is not None:
        return milliseconds / 1000
    value = headers.get("Retry-After")
    if value is None:
        return None
    seconds = _non_negative_number(value)
    if seconds is not None:
        return seconds
    # Imported here: the command line imports this module for its defaults, and email.utils
    # is slow to import for something rarely needed.
    from email.utils import parsedate_to_datetime

    try:
        moment = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    if moment is None or moment.tzinfo is None:
        return None
    current = time.time() if now is None else now
    return max(0.0, moment.timestamp() - current)


def _random_fraction() -> float:
    import random

    return random.random()


def _non_negative_number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value.strip())
    except ValueError:
        return None
    # float() accepts "nan" and "inf"; neither is a delay.
    if number != number or number < 0 or number == float("inf"):
        return None
    return number


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry. `retries` counts sends after the first."""

    retries: int = DEFAULT_RETRIES
    base_delay_s: float = BASE_DELAY_S
    max_delay_s: float = MAX_DELAY_S
    settle_delay_s: float = SETTLE_DELAY_S
    # A number in [0, 1); replaced in tests to make the jitter predictable.
    jitter: Callable[[], float] = field(default_factory=lambda: _random_fraction)

    def delay_s(self, retry_number: int, retry_after_s: float | None = None) -> float:
        """The pause before retry number `retry_number` (1 for the first retry)."""
        if retry_after_s is not None:
            return min(retry_after_s, self.max_delay_s)
        exponential = self.base_delay_s * 2.0 ** max(0, retry_number - 1)
        # Up to half again at random, so many clients refused together do not come back
        # together.
        return min(self.max_delay_s, exponential * (1 + self.jitter() / 2))


@dataclass(frozen=True)
class RetryNotice:
    """One retry, for the user: what went wrong, and what happens next (and when)."""

    reason: str
    next_step: str


OnRetry = Callable[[RetryNotice], None]
Sleep = Callable[[float], None]
T = TypeVar("T")


def describe_failure(error: KomboError) -> str:
    """A short reason, to be shown mid-sentence: "HTTP 429 (PLATFORM.RATE_LIMIT_EXCEEDED)",
    or a network error's message starting in lower case ("could not connect to ...")."""
    if isinstance(error, ApiError):
        code = f" ({error.code})" if error.code else ""
        return f"HTTP {error.http_status}{code}"
    message = error.message.rstrip(".")
    # The client's network messages start "The ..." or "Could not ..."; anything else (a
    # host name) keeps its case.
    if message.startswith(("The ", "Could ")):
        message = message[0].lower() + message[1:]
    return message


def gave_up(error: KomboError) -> KomboError:
    """`error`, saying that the retries were used up when there were any."""
    if error.attempts > 1:
        error.message = f"{error.message.rstrip('.')}; gave up after {error.attempts} attempts."
    return error


def call_idempotent(
    request: Callable[[], T],
    policy: RetryPolicy,
    *,
    what: str,
    on_retry: OnRetry | None = None,
    sleep: Sleep = time.sleep,
) -> T:
    """Run a read-only request, retrying what is worth retrying. Raises the last error."""
    attempt = 0
    while True:
        attempt += 1
        try:
            return request()
        except KomboError as error:
            error.attempts = attempt
            if classify(error, idempotent=True) is Retryability.NEVER:
                raise
            if attempt > policy.retries:
                raise gave_up(error) from None
            wait = policy.delay_s(attempt, getattr(error, "retry_after_s", None))
            if on_retry is not None:
                on_retry(
                    RetryNotice(
                        reason=f"{what} failed: {describe_failure(error)}",
                        next_step=f"retrying in {wait:.1f} s",
                    )
                )
            sleep(wait)
