"""Kombo's OpenAPI document as a judge: does a request, or a reply, keep to its operation?

`Contract.check_request` takes a request as it went over the wire (method, raw target,
headers, body) and `Contract.check_response` a reply to one; both return `Violation`s,
empty when all is well. What is checked:

- the operation: the target's path, less the servers' base path (/v1), must match one of
  the document's path templates for that method;
- path parameters: correctly percent-encoded, and their decoded value valid;
- the query: only the operation's parameters, each once unless it is an exploded array,
  values percent-encoded where OpenAPI's default `allowReserved: false` says so, and each
  value valid against its schema once read as OpenAPI serialises it (`style: form`:
  integers and booleans as text, arrays repeated or comma-separated);
- headers: the security scheme (a bearer token in one Authorization header), every
  header parameter (X-Integration-Id where the operation has it), and no header parameter
  the document gives only to other operations;
- the body: present exactly when the operation takes one, sent with a media type it
  lists, standard JSON (UTF-8, no duplicate keys, no NaN) valid against its schema;
- a reply: its status is one the operation documents (a `4XX` range or `default`
  counts), it has the media type documented for that status, and its JSON body is valid.

Schemas are checked with jsonschema's Draft 2020-12 validator (OpenAPI 3.1's dialect)
with format assertions on, `$ref`s resolved in the document itself. Two readings are the
document's own rather than plain JSON Schema's, each in one place below: `pattern` is
ECMA-262 (see ecma_regex.py), and a nullable enum accepts null (see `_enum`).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jsonschema import Draft202012Validator, FormatChecker, ValidationError, validators
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from tests.contract import parameters
from tests.contract.ecma_regex import ecma_regex
from tests.contract.verdict import (
    Operation,
    Report,
    Violation,
    escape,
    header_values,
    json_path,
    pointer_of,
    strict_json,
)

DOCUMENT = Path(__file__).with_name("kombo-openapi.json")
# The document has no $id; this names it for the $refs the validators follow.
_BASE_URI = "urn:kombo:openapi"
_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_INT_RANGES = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}


def _enum(
    validator: Any, enums: Any, instance: Any, schema: dict[str, Any]
) -> Iterator[ValidationError]:
    """`enum`, except that null passes where the schema's `type` allows null.

    Kombo's document writes nullable enums as `type: [string, null]` with an enum of
    strings only (an OpenAPI 3.0 `nullable` carried over), and its own examples send null
    there: the "Minimal Error Response" has `"code": null`.
    """
    types = schema.get("type")
    if instance is None and isinstance(types, list) and "null" in types:
        return
    yield from Draft202012Validator.VALIDATORS["enum"](validator, enums, instance, schema)


def _pattern(
    validator: Any, pattern: str, instance: Any, schema: dict[str, Any]
) -> Iterator[ValidationError]:
    if isinstance(instance, str) and not ecma_regex(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


_Validator = validators.extend(Draft202012Validator, {"enum": _enum, "pattern": _pattern})


def _in_range(low: int, high: int) -> Callable[[object], bool]:
    def check(value: object) -> bool:
        return not isinstance(value, int) or low <= value <= high

    return check


def _format_checker() -> FormatChecker:
    checker = FormatChecker()
    # OpenAPI's own integer formats, which jsonschema does not know.
    for name, (low, high) in _INT_RANGES.items():
        checker.checks(name)(_in_range(low, high))
    return checker


class Contract:
    """One OpenAPI 3.1 document, with its compiled validators kept for reuse."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self._registry: Registry = Registry().with_resource(
            _BASE_URI, Resource.from_contents(document, default_specification=DRAFT202012)
        )
        self._format_checker = _format_checker()
        self._validators: dict[str, Any] = {}
        bases = {urlsplit(server["url"]).path.rstrip("/") for server in document["servers"]}
        if len(bases) != 1:
            raise ValueError(f"the servers disagree on the base path: {sorted(bases)}")
        self.base_path = bases.pop()
        self.operations = tuple(self._operations())
        # Header parameters of any operation: sending one to an operation without it is
        # a mistake the document lets us see (X-Integration-Id on a general endpoint).
        self.header_parameters = {
            parameter["name"].lower(): parameter["name"]
            for operation in self.operations
            for parameter in operation.parameters
            if parameter["in"] == "header"
        }

    # -- finding the operation -------------------------------------------------------------

    def _operations(self) -> Iterator[Operation]:
        global_security = self.document.get("security", [])
        for template, item in self.document["paths"].items():
            item_pointer = "/paths/" + escape(template)
            for method in _METHODS:
                if method not in item:
                    continue
                spec = item[method]
                by_key: dict[tuple[str, str], dict[str, Any]] = {}
                for parameter in [*item.get("parameters", []), *spec.get("parameters", [])]:
                    resolved = self.resolve(parameter)
                    by_key[(resolved["in"], resolved["name"])] = resolved
                yield Operation(
                    method=method,
                    template=template,
                    operation_id=spec.get("operationId", f"{method} {template}"),
                    pointer=f"{item_pointer}/{method}",
                    spec=spec,
                    parameters=tuple(by_key.values()),
                    security=tuple(spec.get("security", global_security)),
                )

    def find(self, method: str, target: str) -> tuple[Operation, dict[str, str]] | None:
        """The operation for a request target (raw, query allowed) and its raw path values."""
        path = target.partition("?")[0].partition("#")[0]
        if not (path == self.base_path or path.startswith(self.base_path + "/")):
            return None
        segments = path[len(self.base_path) :].split("/")
        best: tuple[int, Operation, dict[str, str]] | None = None
        for operation in self.operations:
            if operation.method != method.lower():
                continue
            template = operation.template.split("/")
            if len(template) != len(segments):
                continue
            values: dict[str, str] = {}
            literal = 0
            for expected, actual in zip(template, segments):
                if expected.startswith("{") and expected.endswith("}"):
                    if not actual:
                        break
                    values[expected[1:-1]] = actual
                elif expected == actual:
                    literal += 1
                else:
                    break
            else:
                # A concrete path wins over a templated one (OpenAPI's matching rule).
                if best is None or literal > best[0]:
                    best = (literal, operation, values)
        return None if best is None else (best[1], best[2])

    def resolve(self, node: dict[str, Any]) -> dict[str, Any]:
        """A Reference Object followed within the document (to any depth)."""
        seen = 0
        while "$ref" in node:
            ref = node["$ref"]
            if not ref.startswith("#/"):
                raise ValueError(f"only references inside the document are supported: {ref}")
            node = self.document
            for part in ref[2:].split("/"):
                node = node[part.replace("~1", "/").replace("~0", "~")]
            seen += 1
            if seen > 50:
                raise ValueError(f"a reference cycle at {ref}")
        return node

    # -- schemas ---------------------------------------------------------------------------

    def validator(self, pointer: str) -> Any:
        """The compiled validator for the schema at `pointer` (a JSON pointer), cached."""
        found = self._validators.get(pointer)
        if found is None:
            found = _Validator(
                {"$ref": f"{_BASE_URI}#{pointer}"},
                registry=self._registry,
                format_checker=self._format_checker,
            )
            self._validators[pointer] = found
        return found

    def schema_errors(self, pointer: str, instance: Any) -> list[tuple[str, str, str]]:
        """(path, rule, message) for each way `instance` breaks the schema at `pointer`."""
        found = []
        for error in self.validator(pointer).iter_errors(instance):
            found.append((json_path(error.absolute_path), str(error.validator), error.message))
        return found

    # -- requests --------------------------------------------------------------------------

    def check_request(
        self, method: str, target: str, headers: Sequence[tuple[str, str]], body: bytes
    ) -> list[Violation]:
        found = self.find(method, target)
        if found is None:
            path = target.partition("?")[0]
            return [
                Violation(
                    f"{method} {path}",
                    "operation",
                    "",
                    "operation",
                    "the document has no such operation",
                )
            ]
        operation, path_values = found
        report = Report(operation)
        parameters.check_path(self, operation, path_values, report)
        parameters.check_query(self, operation, target.partition("?")[2], "?" in target, report)
        parameters.check_security(self, operation, headers, report)
        parameters.check_headers(self, operation, headers, report)
        self._check_body(operation, headers, body, report)
        return report.violations

    def _check_body(
        self,
        operation: Operation,
        headers: Sequence[tuple[str, str]],
        body: bytes,
        report: Report,
    ) -> None:
        spec = operation.spec.get("requestBody")
        if spec is None:
            if body:
                report.add("body", "", "requestBody", "this operation takes no body")
            return
        request_body = self.resolve(spec)
        if not body:
            if request_body.get("required"):
                report.add("body", "", "required", "missing")
            return
        pointer = pointer_of(spec["$ref"]) if "$ref" in spec else f"{operation.pointer}/requestBody"
        content_types = header_values(headers, "Content-Type")
        media = self._media(request_body, content_types, "header Content-Type", report)
        if media is not None:
            self._check_json(f"{pointer}/content/{escape(media)}/schema", body, "body", report)

    # -- replies ---------------------------------------------------------------------------

    def check_response(
        self,
        method: str,
        target: str,
        status: int,
        headers: Sequence[tuple[str, str]],
        body: bytes,
    ) -> list[Violation]:
        """The reply's violations; none for a target the document has no operation for."""
        found = self.find(method, target)
        if found is None:
            return []
        operation = found[0]
        report = Report(operation, status)
        responses = operation.spec.get("responses", {})
        key = next(
            (key for key in (str(status), f"{status // 100}XX", "default") if key in responses),
            None,
        )
        if key is None:
            report.add("status", "", "status", f"{status} is not documented")
            return report.violations
        pointer = f"{operation.pointer}/responses/{escape(key)}"
        response = responses[key]
        if "$ref" in response:
            pointer = pointer_of(response["$ref"])
        response = self.resolve(response)
        if "content" not in response:
            if body:
                report.add("body", "", "content", "the document describes no body here")
            return report.violations
        media = self._media(
            response,
            header_values(headers, "Content-Type"),
            "header Content-Type",
            report,
        )
        if media is not None:
            self._check_json(f"{pointer}/content/{escape(media)}/schema", body, "body", report)
        return report.violations

    # -- shared ----------------------------------------------------------------------------

    def _media(
        self,
        described: dict[str, Any],
        content_types: list[str],
        where: str,
        report: Report,
    ) -> str | None:
        """The documented media type the Content-Type names, if it is JSON to check."""
        listed = list(described["content"])
        if len(content_types) != 1:
            report.add(where, "", "content", f"sent {len(content_types)} times, wanted once")
            return None
        essence, _, parameters = content_types[0].partition(";")
        essence = essence.strip().lower()
        matched = next(
            (
                media
                for media in listed
                if media.lower() == essence
                or (media.endswith("/*") and essence.startswith(media[:-1].lower()))
                or media == "*/*"
            ),
            None,
        )
        if matched is None:
            report.add(where, "", "content", f"{essence!r} is not one of {listed}")
            return None
        charset = re.search(r"charset\s*=\s*\"?([^\";]+)", parameters, re.IGNORECASE)
        if charset and charset.group(1).strip().lower() not in ("utf-8", "utf8"):
            report.add(where, "", "content", f"JSON must be UTF-8, not {charset.group(1)!r}")
        if essence != "application/json" and not essence.endswith("+json"):
            return None
        return matched

    def _check_json(self, pointer: str, body: bytes, where: str, report: Report) -> None:
        try:
            instance = strict_json(body)
        except ValueError as exc:
            report.add(where, "", "json", f"not standard JSON: {exc}")
            return
        for path, rule, message in self.schema_errors(pointer, instance):
            report.add(where, path, rule, message)


@functools.cache
def kombo_contract() -> Contract:
    """The project's copy of Kombo's document, loaded once per process."""
    return Contract(json.loads(DOCUMENT.read_bytes()))
