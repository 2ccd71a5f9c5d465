"""A request's parameters as they travel: the path's segments, the query in OpenAPI's
`style: form`, the headers, and the security scheme, each judged against the operation.

Query values are decoded as forms encode them ("+" is a space), integers and booleans are
read from their text before their schema judges them, and arrays are repeated names
(`explode: true`, the default) or one comma-separated value.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, unquote_plus

from tests.contract.verdict import Operation, Report, header_values, pointer_of

if TYPE_CHECKING:
    from tests.contract.openapi import Contract

# RFC 3986: what a path segment and a query may hold as they are.
_PCHAR = re.compile(r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@]|%[0-9A-Fa-f]{2})*")
_QUERY = re.compile(r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?]|%[0-9A-Fa-f]{2})*")
# Reserved characters a value must percent-encode under `allowReserved: false`. "+" is
# left out: in a query it is the form encoding of a space, which is how it is read here.
_RESERVED_IN_VALUE = set(":/?#[]@!$'()*,;=")
# RFC 6750's b64token: what may follow "Bearer ".
_B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")


def check_path(
    contract: Contract, operation: Operation, values: dict[str, str], report: Report
) -> None:
    for name, raw in values.items():
        where = f"path parameter {name}"
        parameter = operation.parameter("path", name)
        if parameter is None:
            report.add(where, "", "parameter", "the template's name is not a parameter")
            continue
        if not _PCHAR.fullmatch(raw):
            report.add(where, "", "encoding", f"{raw!r} is not correctly percent-encoded")
            continue
        try:
            value = unquote(raw, errors="strict")
        except UnicodeDecodeError:
            report.add(where, "", "encoding", f"{raw!r} does not decode to UTF-8")
            continue
        check_parameter(contract, operation, parameter, [value], where, report)


def check_query(
    contract: Contract, operation: Operation, query: str, has_query: bool, report: Report
) -> None:
    if has_query and not query:
        report.add("query", "", "query", "an empty query ('?' with nothing after it)")
    if not _QUERY.fullmatch(query):
        report.add("query", "", "encoding", f"{query!r} is not correctly percent-encoded")
        return
    raw_values: dict[str, list[str]] = {}
    for piece in query.split("&") if query else []:
        raw_name, equals, raw_value = piece.partition("=")
        if not raw_name:
            report.add("query", "", "query", f"a piece without a name: {piece!r}")
            continue
        try:
            name = unquote_plus(raw_name, errors="strict")
        except UnicodeDecodeError:
            report.add("query", "", "encoding", f"{raw_name!r} does not decode to UTF-8")
            continue
        if not equals:
            report.add(f"query {name}", "", "query", "a parameter without '='")
        raw_values.setdefault(name, []).append(raw_value)
    for name, raws in raw_values.items():
        where = f"query {name}"
        parameter = operation.parameter("query", name)
        if parameter is None:
            report.add(where, "", "parameter", "not a query parameter of this operation")
            continue
        values = query_values(contract, parameter, raws, where, report)
        if values is not None:
            check_parameter(contract, operation, parameter, values, where, report)
    for parameter in operation.parameters:
        if (
            parameter["in"] == "query"
            and parameter.get("required")
            and parameter["name"] not in raw_values
        ):
            report.add(f"query {parameter['name']}", "", "required", "missing")


def query_values(
    contract: Contract, parameter: dict[str, Any], raws: list[str], where: str, report: Report
) -> list[str] | None:
    """The decoded values as serialised by `style: form` (OpenAPI's query default)."""
    style = parameter.get("style", "form")
    if style != "form":
        raise NotImplementedError(f"query style {style!r} ({where})")
    is_array = "array" in _types(contract.resolve(parameter.get("schema", {})))
    explode = parameter.get("explode", True)
    if len(raws) > 1 and not (is_array and explode):
        report.add(where, "", "query", f"given {len(raws)} times")
        return None
    # With explode false an array's items are joined by commas, the only reserved
    # character such a value may hold as it is.
    may_hold = {","} if is_array and not explode else set()
    if not parameter.get("allowReserved", False):
        for raw in raws:
            reserved = sorted(set(raw) & (_RESERVED_IN_VALUE - may_hold))
            if reserved:
                report.add(
                    where,
                    "",
                    "encoding",
                    f"reserved character(s) {''.join(reserved)!r} not percent-encoded",
                )
                return None
    try:
        if is_array and not explode:
            return [unquote_plus(item, errors="strict") for item in raws[0].split(",")]
        return [unquote_plus(raw, errors="strict") for raw in raws]
    except UnicodeDecodeError:
        report.add(where, "", "encoding", "does not decode to UTF-8")
        return None


def check_parameter(
    contract: Contract,
    operation: Operation,
    parameter: dict[str, Any],
    values: list[str],
    where: str,
    report: Report,
) -> None:
    pointer = parameter_pointer(contract, operation, parameter)
    schema = contract.resolve(parameter.get("schema", {}))
    if "array" in _types(schema):
        item_schema = contract.resolve(schema.get("items", {}))
        instance: Any = [_from_text(value, item_schema) for value in values]
    else:
        instance = _from_text(values[0], schema)
    if (
        values == [""]
        and parameter["in"] == "query"
        and not parameter.get("allowEmptyValue", False)
    ):
        report.add(where, "", "allowEmptyValue", "an empty value")
    for path, rule, message in contract.schema_errors(pointer, instance):
        report.add(where, path, rule, message)


def parameter_pointer(contract: Contract, operation: Operation, parameter: dict[str, Any]) -> str:
    """Where the parameter's schema is, in the operation or at its path item."""
    item_pointer = operation.pointer.rpartition("/")[0]
    for pointer, item in (
        (operation.pointer, operation.spec),
        (item_pointer, contract.document["paths"][operation.template]),
    ):
        for index, candidate in enumerate(item.get("parameters", [])):
            if contract.resolve(candidate) is parameter:
                if "$ref" in candidate:
                    return pointer_of(candidate["$ref"]) + "/schema"
                return f"{pointer}/parameters/{index}/schema"
    raise LookupError(f"{parameter['name']} is not a parameter of {operation.name}")


def check_security(
    contract: Contract, operation: Operation, headers: Sequence[tuple[str, str]], report: Report
) -> None:
    if not operation.security or any(not requirement for requirement in operation.security):
        return
    problems: list[tuple[str, str]] = []
    for requirement in operation.security:
        failed = [
            problem for name in requirement for problem in scheme_problems(contract, name, headers)
        ]
        if not failed:
            return
        problems.extend(failed)
    for where, message in problems:
        report.add(where, "", "security", message)


def scheme_problems(
    contract: Contract, name: str, headers: Sequence[tuple[str, str]]
) -> list[tuple[str, str]]:
    scheme = contract.document["components"]["securitySchemes"][name]
    kind = scheme["type"]
    if kind == "http":
        values = header_values(headers, "Authorization")
        if len(values) != 1:
            return [("header Authorization", f"sent {len(values)} times, wanted once")]
        given, _, token = values[0].partition(" ")
        wanted = scheme["scheme"]
        if given.lower() != wanted.lower():
            return [("header Authorization", f"scheme {given!r}, wanted {wanted!r}")]
        if wanted.lower() == "bearer" and not _B64TOKEN.fullmatch(token):
            return [("header Authorization", "the bearer token is empty or malformed")]
        return []
    if kind == "apiKey" and scheme["in"] == "header":
        if len(header_values(headers, scheme["name"])) != 1:
            return [(f"header {scheme['name']}", "wanted exactly once")]
        return []
    raise NotImplementedError(f"security scheme {name!r} of type {kind!r}")


def check_headers(
    contract: Contract, operation: Operation, headers: Sequence[tuple[str, str]], report: Report
) -> None:
    for parameter in operation.parameters:
        if parameter["in"] != "header":
            continue
        name = parameter["name"]
        values = header_values(headers, name)
        where = f"header {name}"
        if not values:
            if parameter.get("required"):
                report.add(where, "", "required", "missing")
            continue
        if len(values) > 1:
            report.add(where, "", "header", f"sent {len(values)} times")
            continue
        check_parameter(contract, operation, parameter, values, where, report)
    sent = {name.lower() for name, _ in headers}
    for lowered, name in contract.header_parameters.items():
        if lowered in sent and operation.parameter("header", name) is None:
            report.add(f"header {name}", "", "header", "not a parameter of this operation")


def _from_text(value: str, schema: dict[str, Any]) -> Any:
    """A parameter's text as the value its schema describes, or the text if it is none."""
    kinds = _types(schema)
    if "string" in kinds or not kinds:
        return value
    if "integer" in kinds and re.fullmatch(r"-?[0-9]+", value):
        return int(value)
    if "number" in kinds and re.fullmatch(r"-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?", value):
        return float(value)
    if "boolean" in kinds and value in ("true", "false"):
        return value == "true"
    return value  # the schema's type check then says what is wrong


def _types(schema: dict[str, Any]) -> set[str]:
    kind = schema.get("type")
    if isinstance(kind, str):
        return {kind}
    return set(kind or ())
