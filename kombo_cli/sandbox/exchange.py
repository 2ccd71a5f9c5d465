"""One HTTP exchange as the sandbox's layers pass it on: the request read, the reply to send.

The transport reads a `Request` off the connection and sends the `Reply` it is given; the
routes, the rehearsals and anything that extends `SandboxServer.respond` only ever see and
make these two, never a socket.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from email.message import Message

from kombo_cli.sandbox.request_body import UNDELIMITED, Framing, SpooledBody


@dataclass
class Request:
    method: str
    # The request target exactly as the client sent it, query included: routes are decided
    # on the raw path, so an encoded "/" inside an id can never reach a different route.
    target: str
    headers: Message
    body: SpooledBody
    framing: Framing
    # False when the client went away (or broke the chunking) before the body ended.
    complete: bool
    # Decided by the server once the body is read: whether the request got one of the
    # integration's action slots, and (limit, remaining) as the limiter saw it then.
    admitted: bool = True
    concurrency: tuple[int, int] | None = None

    @property
    def path(self) -> str:
        return self.target.partition("?")[0]

    @property
    def query(self) -> str:
        return self.target.partition("?")[2]

    @property
    def routable(self) -> bool:
        """The whole body arrived and its end was clear: only such a request is routed.

        Others are answered without looking at what they ask (or not at all), because the
        connection they came on can carry nothing more.
        """
        return self.complete and self.framing not in UNDELIMITED


@dataclass
class Reply:
    """What to send back. The transport adds Content-Length itself, from `body`."""

    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    # Send "Connection: close" and close the connection after the reply.
    close: bool = False
    # Wait this long before replying (a stop of the server cuts the wait short and closes).
    delay_s: float = 0.0
    # Close the connection without sending anything, as a failing proxy might.
    drop_connection: bool = False
    # Send the headers and half the body, then close: an answer cut off in transit.
    cut_off: bool = False
    # Handling the request stored an upload, whatever the reply says (a rehearsal may store
    # and then answer 500).
    stored: bool = False
