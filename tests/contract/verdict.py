"""What the judge says: one `Violation` per broken rule, and the small tools that find them."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

# A schema error quotes the value: a whole base64 file would bury the point.
MESSAGE_LIMIT = 240


@dataclass(frozen=True)
class Violation:
    """One way an exchange breaks the document.

    `where` names the part ("query email", "header Authorization", "body", "status");
    `path` the place inside a JSON body ("data.results[0].id", "" for the whole); `rule`
    the schema keyword or check that failed.
    """

    operation: str
    where: str
    path: str
    rule: str
    message: str
    status: int | None = None
    operation_id: str = ""

    @property
    def rule_path(self) -> str:
        """`path` with array indexes as [*]: the same rule broken in any item."""
        return re.sub(r"\[\d+\]", "[*]", self.path)

    def __str__(self) -> str:
        place = self.where if not self.path else f"{self.where} at {self.path}"
        return f"{self.operation}: {place}: {self.message} [{self.rule}]"


@dataclass(frozen=True)
class Operation:
    method: str
    template: str
    operation_id: str
    pointer: str
    spec: dict[str, Any]
    parameters: tuple[dict[str, Any], ...]
    security: tuple[dict[str, Any], ...]

    @property
    def name(self) -> str:
        return f"{self.method.upper()} {self.template} ({self.operation_id})"

    def parameter(self, location: str, name: str) -> dict[str, Any] | None:
        for parameter in self.parameters:
            if parameter["in"] != location:
                continue
            named = parameter["name"]
            if named == name or (location == "header" and named.lower() == name.lower()):
                return parameter
        return None


class Report:
    """Collects the violations of one exchange, all naming its operation (and status)."""

    def __init__(self, operation: Operation, status: int | None = None) -> None:
        self.operation = operation
        self.status = status
        self.violations: list[Violation] = []

    def add(self, where: str, path: str, rule: str, message: str) -> None:
        if len(message) > MESSAGE_LIMIT:
            half = MESSAGE_LIMIT // 2
            message = f"{message[:half]}…{message[-half:]}"
        self.violations.append(
            Violation(
                self.operation.name,
                where,
                path,
                rule,
                message,
                self.status,
                self.operation.operation_id,
            )
        )


def strict_json(body: bytes) -> Any:
    """JSON as RFC 8259 has it: UTF-8, no NaN or Infinity, no key given twice."""

    def no_constants(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")

    def unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for key, value in pairs:
            if key in found:
                raise ValueError(f"the key {key!r} is given twice")
            found[key] = value
        return found

    text = body.decode("utf-8")  # UnicodeDecodeError is a ValueError
    return json.loads(text, parse_constant=no_constants, object_pairs_hook=unique_keys)


def header_values(headers: Iterable[tuple[str, str]], name: str) -> list[str]:
    wanted = name.lower()
    return [value for key, value in headers if key.lower() == wanted]


def escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def pointer_of(ref: str) -> str:
    return ref.partition("#")[2]


def json_path(parts: Iterable[Any]) -> str:
    path = ""
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path
