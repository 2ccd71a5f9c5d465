"""Cut Kombo's full OpenAPI document down to what kombo calls: kombo-openapi.json.

    python tests/contract/refresh.py https://api.kombo.dev/openapi.json --copied 2026-05-02
    python tests/contract/refresh.py ~/Downloads/openapi.json --copied 2026-05-02

The result keeps, in the input's order, the operations kombo sends (OPERATIONS), the
components they reference (transitively, following every `$ref`) and the security schemes
they name; the top level keeps the document's own openapi, info, servers and security,
and `info` says what the copy is. It is written as compact JSON with ASCII escapes, so the
same input and date give the same bytes, and cutting the cut document gives it back.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import urllib.request
from pathlib import Path
from typing import Any

# Each path kombo calls, with the methods it uses on it.
OPERATIONS: dict[str, tuple[str, ...]] = {
    "/ats/candidates": ("get",),
    "/ats/candidates/{candidate_id}/attachments": ("get", "post"),
    "/ats/applications/{application_id}/attachments": ("get", "post"),
    "/check-api-key": ("get",),
    "/integrations/{integration_id}": ("get",),
}
_TOP_LEVEL = ("openapi", "info", "servers", "security", "paths", "components")
_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
DEFAULT_OUTPUT = Path(__file__).with_name("kombo-openapi.json")


def subset_note(version: str, copied: str) -> str:
    return (
        f"Kombo's public OpenAPI document (openapi.json, info.version {version}, copy of "
        f"{copied}): only the five paths kombo calls, with the components they reference"
    )


def cut(document: dict[str, Any], copied: str) -> dict[str, Any]:
    """The part of `document` kombo's calls use; `copied` (YYYY-MM-DD) dates the copy."""
    missing = [
        f"{method.upper()} {path}"
        for path, methods in OPERATIONS.items()
        for method in methods
        if method not in document.get("paths", {}).get(path, {})
    ]
    if missing:
        raise ValueError(f"the document lacks {', '.join(missing)}")
    paths: dict[str, Any] = {}
    for path, item in document["paths"].items():
        if path in OPERATIONS:
            # Keep what the path item says besides its operations (shared parameters).
            paths[path] = {
                key: value
                for key, value in item.items()
                if key not in _METHODS or key in OPERATIONS[path]
            }
    kept = {key: document[key] for key in _TOP_LEVEL if key in document and key != "paths"}
    kept["info"] = {
        **document["info"],
        "x-subset-of": subset_note(document["info"]["version"], copied),
    }
    result: dict[str, Any] = {}
    for key in _TOP_LEVEL:
        if key == "paths":
            result["paths"] = paths
        elif key == "components":
            components = _components(document, paths)
            if components:
                result["components"] = components
        elif key in kept:
            result[key] = kept[key]
    return result


def _components(document: dict[str, Any], paths: dict[str, Any]) -> dict[str, Any]:
    all_components: dict[str, dict[str, Any]] = document.get("components", {})
    wanted: set[tuple[str, str]] = set()
    pending = list(_references(paths))
    while pending:
        section, name = pending.pop()
        if (section, name) in wanted:
            continue
        try:
            target = all_components[section][name]
        except KeyError:
            raise ValueError(
                f"a $ref to #/components/{section}/{name}, which is not there"
            ) from None
        wanted.add((section, name))
        pending.extend(_references(target))
    # Security schemes are named by requirements, not referenced.
    requirements = [*document.get("security", [])]
    for item in paths.values():
        for key, operation in item.items():
            if key in _METHODS:
                requirements.extend(operation.get("security", []))
    wanted.update(("securitySchemes", name) for requirement in requirements for name in requirement)

    result: dict[str, Any] = {}
    for section, entries in all_components.items():
        chosen = {name: value for name, value in entries.items() if (section, name) in wanted}
        if chosen:
            result[section] = chosen
    return result


def _references(node: Any) -> list[tuple[str, str]]:
    """(section, name) of every component `node` refers to, at any depth."""
    found: list[tuple[str, str]] = []
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            ref = item.get("$ref")
            if isinstance(ref, str):
                if not ref.startswith("#/components/"):
                    raise ValueError(f"only references inside the document are supported: {ref}")
                section, name = ref[len("#/components/") :].split("/")[:2]
                found.append((section, name.replace("~1", "/").replace("~0", "~")))
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def dumps(document: dict[str, Any]) -> bytes:
    """The file's bytes: compact, ASCII-escaped, no final newline (as Kombo serves it)."""
    return json.dumps(document, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def _read(source: str) -> bytes:
    if source.startswith(("https://", "http://")):
        with urllib.request.urlopen(source, timeout=60) as response:
            return bytes(response.read())
    return Path(source).expanduser().read_bytes()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", help="Kombo's openapi.json: a path or an http(s) URL")
    parser.add_argument(
        "--copied",
        required=True,
        type=lambda text: datetime.date.fromisoformat(text).isoformat(),
        help="the day the source was fetched, YYYY-MM-DD",
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    document = json.loads(_read(args.source))
    args.output.write_bytes(dumps(cut(document, args.copied)))
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
