"""The package's shape, as docs/architecture.md draws it: layers that import only downward,
no import cycle, and no module too long to read.

Every `import` statement of every module counts: at the top, inside functions, and under
`if TYPE_CHECKING:`.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "kombo_cli"
MAX_LINES = 400

# What each part may import besides itself. The ground imports nothing of kombo_cli but
# the ground; `ui` knows no command and never does HTTP; `api` never prints and knows no
# settings; `upload` reads no settings and prints nothing; the sandbox stands alone.
GROUND = {"credentials", "errors", "env", "redact", "safe_read", "strict_json", "version"}
MAY_IMPORT: dict[str, set[str]] = {
    "ground": {"ground"},
    "config": {"ground"},
    "api": {"ground"},
    "ui": {"ground"},
    "upload": {"ground", "api"},
    "sandbox": {"ground"},
    "library": {"ground", "config", "api", "upload"},
    "commands": {"ground", "config", "api", "upload", "ui", "sandbox", "library"},
    "entry": {"ground", "config", "api", "upload", "ui", "sandbox", "library", "commands"},
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def part_of(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1:  # the package itself: `from kombo_cli import Kombo`
        return "entry"
    if len(parts) == 2:
        if parts[1] in GROUND:
            return "ground"
        if parts[1] == "library":
            return "library"
        return "entry"  # main, app, __main__
    return parts[1]


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imports_of(module: str) -> set[str]:
    """Every kombo_cli module `module` imports, wherever the import statement stands."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # `from kombo_cli.upload import plan` imports the module kombo_cli.upload.plan.
            names = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
                for alias in node.names
            ]
        for name in names:
            while name and name not in MODULES and "." in name:
                name = name.rpartition(".")[0]
            if name in MODULES and name != module:
                found.add(name)
    return found


GRAPH = {module: imports_of(module) for module in MODULES}


def test_the_walk_sees_imports_inside_functions_and_type_checking_blocks() -> None:
    # kombo_cli/__init__.py imports the library only lazily and for type checkers.
    assert "kombo_cli.library" in GRAPH["kombo_cli"]
    assert "kombo_cli.app" in GRAPH["kombo_cli.main"]


def test_there_is_no_import_cycle() -> None:
    cycles = _cycles(GRAPH)
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_each_module_imports_only_its_own_part_and_those_below(module: str) -> None:
    part = part_of(module)
    allowed = MAY_IMPORT[part] | {part}
    wrong = sorted(m for m in GRAPH[module] if part_of(m) not in allowed)
    assert not wrong, f"{module} ({part}) must not import {wrong}"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_is_longer_than_400_lines(module: str) -> None:
    lines = len(MODULES[module].read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{MODULES[module]} has {lines} lines"


PROCESS_STATE = {("os", "environ"), ("os", "getenv"), ("sys", "stdin"), ("sys", "stdout")}
PROCESS_STATE |= {("sys", "stderr")}


def test_only_the_environment_reads_the_process_environment() -> None:
    readers = set()
    for module, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and (node.value.id, node.attr) in PROCESS_STATE
            ):
                readers.add(module)
    # main.py answers --version before any environment exists.
    assert sorted(readers) == ["kombo_cli.env", "kombo_cli.main"]


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_command_lines_choices_are_the_rules_own_lists() -> None:
    # Typer needs its choices as enums written out in the (light) command modules; the
    # rules live elsewhere. They must not drift apart.
    from kombo_cli.commands.attach import AttachmentTypeChoice
    from kombo_cli.commands.config import SettingName
    from kombo_cli.commands.options import RegionChoice
    from kombo_cli.config.settings import REGION_BASE_URLS, SETTING_RULES, SETTING_VARIABLES
    from kombo_cli.upload.plan import ATTACHMENT_TYPES

    assert [choice.value for choice in AttachmentTypeChoice] == list(ATTACHMENT_TYPES)
    assert [choice.value for choice in RegionChoice] == list(REGION_BASE_URLS)
    assert [choice.value for choice in SettingName] == list(SETTING_VARIABLES)
    assert list(SETTING_RULES) == list(SETTING_VARIABLES)
