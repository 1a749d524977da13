"""The shape of the code: no import circle, domains on top of the kernel, no domain-prefixed
file names, no domain outgrowing the others. Read from the source with `ast`, no import."""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "relais_platform"
# The kernel: what every domain may import — every top-level module but the composition root
# below, and these shared packages.
KERNEL_PACKAGES = {"api", "tabular", "data"}
# The user and relais directories: the tenancy layer filters them, so the kernel knows them.
KERNEL_MODULES = {"relais_platform.accounts.models", "relais_platform.tenants.models",
                  "relais_platform.tenants.geography"}
# The composition root: the app factory and what builds or runs the whole app.
ROOT_MODULES = {"relais_platform", "relais_platform.domains", "relais_platform.core", "relais_platform.demo",
                "relais_platform.models", "relais_platform.cli", "relais_platform.worker",
                "relais_platform.quickstart"}
ROLES = ("api", "views", "schemas", "models", "forms", "services", "jobs")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for path in PACKAGE.rglob("*.py")}


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """Every module `name` imports, at any depth of the file (function-level imports too)."""
    found = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                # `from pkg import mod` imports the module pkg.mod, not the package.
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base)
    return {module for module in found if module in known and module != name}


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    return {name: _imports(name, path, known) for name, path in modules.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

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
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return components


def _domain_of(module: str) -> str | None:
    parts = module.split(".")
    if len(parts) < 2 or module in ROOT_MODULES:
        return None
    top_level_module = (PACKAGE / f"{parts[1]}.py").is_file()
    if top_level_module or parts[1] in KERNEL_PACKAGES or module in KERNEL_MODULES:
        return "kernel"
    if parts[1] == "stock" and len(parts) > 2 and (PACKAGE / "stock" / parts[2]).is_dir():
        return f"stock.{parts[2]}"
    return parts[1]


def test_no_import_circle():
    assert _cycles(_graph()) == []


def test_the_cycle_finder_finds_a_circle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_kernel_imports_no_domain():
    graph = _graph()
    offending = {
        module: sorted(target for target in targets if _domain_of(target) not in ("kernel", None))
        for module, targets in graph.items() if _domain_of(module) == "kernel"
    }
    assert {module: targets for module, targets in offending.items() if targets} == {}


def test_stock_subpackages_depend_one_way():
    """catalogue ← warehouse ← orders ← distributions ← reports: never the other way."""
    order = ["stock.catalogue", "stock.warehouse", "stock.orders", "stock.distributions", "stock.reports"]
    rank = {name: position for position, name in enumerate(order)}
    backwards = []
    for module, targets in _graph().items():
        source = _domain_of(module)
        for target in targets:
            to = _domain_of(target)
            if source in rank and to in rank and rank[to] > rank[source]:
                backwards.append(f"{module} -> {target}")
    assert backwards == []


def test_no_file_name_carries_a_domain_role_as_prefix_or_suffix():
    pattern = re.compile(rf"^({'|'.join(ROLES)})_\w+\.py$|^\w+_({'|'.join(ROLES)})\.py$")
    named = [str(path.relative_to(PACKAGE)) for path in PACKAGE.rglob("*.py") if pattern.match(path.name)]
    assert named == []


def _lines_by_domain() -> dict[str, int]:
    lines: dict[str, int] = defaultdict(int)
    for module, path in _modules().items():
        domain = _domain_of(module)
        if domain is not None:
            lines[domain] += sum(1 for line in path.read_text().splitlines() if line.strip())
    return lines


def test_no_domain_holds_a_fifth_of_the_application():
    lines = _lines_by_domain()
    total = sum(lines.values())
    largest, count = max(lines.items(), key=lambda item: item[1])
    assert count / total < 0.2, f"{largest} holds {count / total:.0%} of {total} lines"


@pytest.mark.parametrize("role", ROLES)
def test_the_role_pattern_is_checked(role):
    pattern = re.compile(rf"^({'|'.join(ROLES)})_\w+\.py$|^\w+_({'|'.join(ROLES)})\.py$")
    assert pattern.match(f"{role}_orders.py") and pattern.match(f"orders_{role}.py")
