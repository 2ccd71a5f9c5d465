"""Kombo's paths: who may call, which path answers, and what each one says.

Every request needs `Authorization: Bearer <key>`; paths under /v1/ats also need the
X-Integration-Id of an integration the sandbox serves, and answer from that integration's
candidates and uploads alone (or with its rehearsed error). The paths are GET
/v1/check-api-key, GET /v1/integrations/{id}, GET /v1/ats/candidates, and GET and POST
/v1/ats/{candidates|applications}/{id}/attachments, the actions that count against the
integration's concurrency limit. Any other method on these paths is a 405 naming the
allowed ones in `Allow`, any other path a 404; both in Kombo's error envelope.

Outside the API, GET /files/{attachment id} downloads a stored file, the `data_url` the
listings give. Like Kombo's own signed download URLs it needs no key (one sent is ignored).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import parse_qs, unquote

from kombo_cli.sandbox.attachment_rules import ignored_field_warning
from kombo_cli.sandbox.attachments import (
    DOWNLOAD_PREFIX,
    ListingStyle,
    download,
    list_attachments,
    store_upload,
)
from kombo_cli.sandbox.candidate_queries import query_candidates
from kombo_cli.sandbox.config import SandboxConfig
from kombo_cli.sandbox.contract import Invalid, is_kombo_id
from kombo_cli.sandbox.exchange import Reply, Request
from kombo_cli.sandbox.faults import FaultInjector
from kombo_cli.sandbox.integration import (
    check_api_key_data,
    integration_details,
    integration_error,
)
from kombo_cli.sandbox.replies import (
    error_reply,
    input_invalid,
    method_not_allowed,
    route_not_found,
    success_reply,
    unknown_error,
)
from kombo_cli.sandbox.served import ServedIntegration, ServedIntegrations
from kombo_cli.sandbox.store import AttachmentStore

# Matched against the RAW path (query split off), so an encoded "/" inside an id can never
# turn one path segment into several and reach a different route.
_ATTACHMENT_ROUTE = re.compile(r"^/v1/ats/(candidates|applications)/([^/?#]+)/attachments$")
_INTEGRATION_ROUTE = re.compile(r"^/v1/integrations/(.+)$")
# RFC 3986 pchar: a client that forgets to percent-encode an id is caught here.
_PCHAR_SEGMENT = re.compile(r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@]|%[0-9A-Fa-f]{2})+")
# A Host header fit to be put in a URL: a name or IPv4 address, or a bracketed IPv6 one,
# with an optional port. Anything else is not echoed back into a data_url.
_HOST = re.compile(
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9.\-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?"
)


def is_action(path: str) -> bool:
    """Whether a request to this raw path is an action that needs a concurrency slot."""
    return _ATTACHMENT_ROUTE.match(path) is not None


class KomboRoutes:
    """Answers routable requests; `answer` may raise only on a bug in the sandbox itself."""

    def __init__(
        self,
        config: SandboxConfig,
        store: AttachmentStore,
        integrations: ServedIntegrations,
        environment_id: str,
        created_at: str,
        faults: FaultInjector,
        own_origin: Callable[[], str],
    ) -> None:
        """`own_origin` gives "http://host:port" for a request without a usable Host header."""
        self._config = config
        self._own_origin = own_origin
        self._store = store
        self._integrations = integrations
        self._environment_id = environment_id
        self._created_at = created_at
        self._faults = faults

    def answer(self, request: Request) -> Reply:
        path, method, headers = request.path, request.method, request.headers
        if path.startswith(DOWNLOAD_PREFIX):
            return self._answer_download(request, path[len(DOWNLOAD_PREFIX) :])
        authorizations = headers.get_all("Authorization") or []
        if not authorizations:
            return error_reply(
                401,
                "PLATFORM.AUTHENTICATION_INVALID",
                "Authentication invalid",
                "No API key was provided. Send it as 'Authorization: Bearer <API key>'.",
            )
        scheme, _, presented = authorizations[0].partition(" ")
        # The scheme is case-insensitive (RFC 7235); the key itself is not.
        if (
            len(authorizations) != 1
            or scheme.lower() != "bearer"
            or presented != self._config.api_key
        ):
            return error_reply(
                401,
                "PLATFORM.AUTHENTICATION_INVALID",
                "Authentication invalid",
                "The provided API key is invalid or has expired.",
            )

        # The route, path and method, is settled before anything the route itself asks for
        # (its headers, parameters and body), as a router in front of handlers settles it.
        allowed = _allowed_methods(path)
        if allowed is None:
            return route_not_found(method, path)
        if method not in allowed:
            return method_not_allowed(method, path, ", ".join(allowed))

        integration = self._integrations.default
        if path.startswith("/v1/ats/"):
            integration_ids = headers.get_all("X-Integration-Id") or []
            # The document marks the header required: leaving it out is an input error, like
            # any other missing required parameter. Only an ID that names no integration is
            # INTEGRATION_NOT_FOUND.
            if len(integration_ids) != 1:
                return input_invalid(
                    "The X-Integration-Id header is missing."
                    if not integration_ids
                    else "Send exactly one X-Integration-Id header."
                )
            named = self._integrations.get(integration_ids[0])
            if named is None:
                return error_reply(
                    404,
                    "PLATFORM.INTEGRATION_NOT_FOUND",
                    "Integration not found",
                    f"No integration with ID '{integration_ids[0]}' exists here.",
                )
            integration = named
            failing = self._config.integration_errors.get(integration.id)
            if failing is not None:
                # Kombo refuses every request of an integration it cannot use, before any
                # parameter or body is looked at.
                return error_reply(failing, *integration_error(integration.id, failing))

        if path == "/v1/check-api-key":
            if request.query:
                return input_invalid("This endpoint does not accept query parameters.")
            return success_reply(check_api_key_data(self._environment_id), warnings=None)

        asked = _INTEGRATION_ROUTE.match(path)
        if asked is not None:
            return self._answer_integration(unquote(asked.group(1)))

        if path == "/v1/ats/candidates":
            return self._answer_candidates(request, integration)

        match = _ATTACHMENT_ROUTE.match(path)
        if match is None:  # not reached: the last route _allowed_methods knows
            return route_not_found(method, path)
        reply = self._answer_attachments(request, integration, match.group(1), match.group(2))
        if request.concurrency is not None:
            limit, remaining = request.concurrency
            reply.headers += [
                ("Concurrency-Limit", str(limit)),
                ("Concurrency-Remaining", str(remaining)),
            ]
        return reply

    def _answer_integration(self, integration_id: str) -> Reply:
        if self._integrations.get(integration_id) is None:
            return error_reply(
                404,
                "PLATFORM.INTEGRATION_NOT_FOUND",
                "Integration not found",
                f"No integration with ID '{integration_id}' exists in this environment.",
            )
        data = integration_details(
            integration_id,
            created_at=self._created_at,
            error_status=self._config.integration_errors.get(integration_id),
        )
        return success_reply(data, warnings=None)

    def _answer_candidates(self, request: Request, integration: ServedIntegration) -> Reply:
        try:
            query = parse_qs(request.query, keep_blank_values=True, strict_parsing=False)
            page = query_candidates(integration.candidates, query)
        except Invalid as exc:
            return input_invalid(exc.message, exc.status)
        return success_reply(page, warnings=None)

    def _answer_attachments(
        self, request: Request, integration: ServedIntegration, collection: str, raw_id: str
    ) -> Reply:
        method = request.method
        if not _PCHAR_SEGMENT.fullmatch(raw_id):
            return input_invalid(f"The path segment {raw_id!r} is not correctly percent-encoded.")
        try:
            target_id = unquote(raw_id, errors="strict")
        except UnicodeDecodeError:
            return input_invalid(f"The path segment {raw_id!r} does not decode to UTF-8.")
        kind = "candidate" if collection == "candidates" else "application"

        known_ids = self._config.known_ids
        if self._integrations.belongs_elsewhere(integration, target_id):
            # Another integration's object: Kombo's IDs name one object of one integration.
            exists = False
        elif known_ids is not None:
            exists = target_id in known_ids.get(kind, set())
        else:
            # Without --strict-ids any ID Kombo could have given out exists; one of another
            # shape (an email, an ATS's own ID) never names anything in Kombo, and echoing it
            # as a listing's `candidate_id` would break the 24-character rule.
            exists = is_kombo_id(target_id) or target_id in integration.served_ids[kind]
        if not exists:
            return error_reply(
                404, None, "Not found", f"The {kind} with ID '{target_id}' could not be found."
            )
        if not request.admitted:
            limit = (request.concurrency or (integration.limiter.limit, 0))[0]
            return error_reply(
                429,
                "PLATFORM.CONCURRENCY_LIMIT_EXCEEDED",
                "Concurrency limit exceeded",
                f"Too many concurrent actions for this integration (limit {limit}).",
            )
        if request.query:
            return input_invalid("This endpoint does not accept query parameters.")

        if method == "GET":
            if request.body.size:
                return input_invalid("GET requests must not have a body.")
            style = ListingStyle(
                origin=self._origin(request),
                undated=self._config.undated,
                rename_as=self._config.rename_as,
            )
            listing = list_attachments(
                self._store, integration.candidates, kind, target_id, style, integration.id
            )
            return success_reply({"results": listing})
        return self._answer_upload(request, integration.id, kind, target_id)

    def _answer_download(self, request: Request, raw_id: str) -> Reply:
        if request.method not in ("GET", "HEAD"):
            return method_not_allowed(request.method, request.path, "GET, HEAD")
        try:
            found = download(self._store, unquote(raw_id, errors="strict"))
        except UnicodeDecodeError:
            found = None
        except OSError as exc:
            return unknown_error(f"The sandbox could not read the file: {exc.strerror or exc}.")
        if found is None:
            return error_reply(
                404, None, "Not found", f"No stored file has the ID {unquote(raw_id)!r}."
            )
        data, content_type = found
        return Reply(200, data, [("Content-Type", content_type)])

    def _origin(self, request: Request) -> str:
        """The origin the client reached the sandbox at, so a proxy that keeps Host gets its own."""
        hosts = request.headers.get_all("Host") or []
        if len(hosts) == 1 and _HOST.fullmatch(hosts[0].strip()):
            return f"http://{hosts[0].strip()}"
        return self._own_origin()

    def _answer_upload(
        self, request: Request, integration_id: str, kind: str, target_id: str
    ) -> Reply:
        # The body's schema requires `attachment`, so no body is a body without it, whatever
        # its (absent) media type: a 400 like any other missing field, not a 415.
        if request.framing == "length" and request.body.size == 0:
            return input_invalid(
                "The request has no body; send a JSON object with 'attachment' "
                "(Content-Type: application/json)."
            )
        if not _is_json_media_type(request.headers.get("Content-Type")):
            return input_invalid(
                "The request body must be sent with Content-Type: application/json.", status=415
            )
        # Kombo itself may accept chunked uploads; the sandbox refuses them on purpose so
        # clients are held to sending a Content-Length (proxies in front of Kombo are not
        # guaranteed to pass chunked bodies on).
        if request.framing != "length":
            reply = error_reply(
                411,
                "PLATFORM.INPUT_INVALID",
                "Length required",
                "The request must carry a Content-Length header; "
                "chunked transfer encoding is not accepted.",
            )
            reply.close = request.framing == "chunked"
            return reply
        refusal = self._faults.refusal_before_storing()
        if refusal is not None:
            return refusal
        try:
            if request.body.spool_error is not None:
                raise request.body.spool_error
            _, ignored = store_upload(
                self._store, kind, target_id, request.body.view(), integration_id
            )
        except Invalid as exc:
            return input_invalid(exc.message, status=exc.status)
        except OSError as exc:
            # The sandbox's own disk, not the client, is at fault: say so plainly.
            return unknown_error(
                f"The sandbox could not store the upload in {self._config.data_dir}:"
                f" {exc.strerror or exc}."
            )
        reply = self._faults.answer_after_storing(_ignored_warnings(ignored))
        reply.stored = True
        return reply


# A generated body can carry thousands of stray keys; a few name the problem well enough.
_MAX_IGNORED_WARNINGS = 10


def _ignored_warnings(ignored: tuple[str, ...]) -> list[str]:
    warnings = [ignored_field_warning(path) for path in ignored[:_MAX_IGNORED_WARNINGS]]
    if len(ignored) > _MAX_IGNORED_WARNINGS:
        warnings.append(f"{len(ignored) - _MAX_IGNORED_WARNINGS} more fields were ignored.")
    return warnings


def _allowed_methods(path: str) -> tuple[str, ...] | None:
    """The methods of the route at this raw path, or None when it is no route."""
    if path in ("/v1/check-api-key", "/v1/ats/candidates") or _INTEGRATION_ROUTE.match(path):
        return ("GET",)
    attachments = _ATTACHMENT_ROUTE.match(path)
    if attachments is None:
        return None
    # Real servers resolve dot segments (some also after decoding "%2e"), so "." and ".."
    # never name a candidate; this also keeps "/candidates/../attachments" a 404.
    if unquote(attachments.group(2)) in (".", ".."):
        return None
    return ("GET", "POST")


def _is_json_media_type(value: str | None) -> bool:
    if value is None:
        return False
    return value.split(";", 1)[0].strip().lower() == "application/json"
