"""The package graph of storefront/: imports run one way, with no cycle.

Layers, bottom first: the foundation modules (config, extensions, models, database, mail, security,
paths), then ``auth``, then ``shop``, then ``account`` and ``admin``, then the JSON ``api`` (it
offers what the pages offer, so it calls the account package), then the app that wires them
(``storefront/__init__.py``, ``cli.py``, ``errors.py``). A module may import its own layer or one
below; outside ``auth``, the feature packages import only what ``storefront/auth/__init__.py``
exports.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent.parent / "storefront"
LAYERS = {"foundation": 0, "auth": 1, "shop": 2, "account": 3, "admin": 3, "api": 4, "app": 5}
APP_MODULES = {"storefront", "storefront.cli", "storefront.errors"}
FEATURE_PACKAGES = {"auth", "shop", "account", "admin", "api"}


def module_name(path: Path) -> str:
    parts = ["storefront", *path.relative_to(PACKAGE_DIR).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE_DIR.rglob("*.py"))}


def unit(module: str) -> str:
    """The unit of the layering a module belongs to: a feature package, the app, or the foundation."""
    if module in APP_MODULES:
        return "app"
    part = module.split(".")[1]
    return part if part in FEATURE_PACKAGES else "foundation"


def _nodes(tree: ast.AST, in_function: bool = False) -> Iterator[tuple[ast.AST, bool]]:
    for node in ast.iter_child_nodes(tree):
        yield node, in_function
        inside = in_function or isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        yield from _nodes(node, inside)


def imports(module: str) -> Iterator[tuple[str, int, bool]]:
    """Every storefront module ``module`` imports, with the line and whether the import runs when the
    module loads (not inside a function, as an ``init_app`` that imports its views)."""
    path = MODULES[module]
    is_package = path.name == "__init__.py"
    tree = ast.parse(path.read_text(), str(path))
    for node, in_function in _nodes(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("storefront"):
                    yield alias.name, node.lineno, not in_function
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                base = base if is_package else base[:-1]
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            if not target.startswith("storefront"):
                continue
            for alias in node.names:
                submodule = f"{target}.{alias.name}"
                yield (submodule if submodule in MODULES else target), node.lineno, not in_function


EDGES = [(source, target, line) for source in MODULES for target, line, _loading in imports(source)]
LOADING_EDGES = [
    (source, target) for source in MODULES for target, _line, loading in imports(source) if loading
]


def test_the_walk_sees_every_package() -> None:
    assert {unit(module) for module in MODULES} == set(LAYERS)
    assert ("storefront.shop.guests", "storefront.auth") in {(s, t) for s, t, _ in EDGES}


def test_no_import_runs_upwards() -> None:
    upward = [
        f"{source}:{line} imports {target}"
        for source, target, line in EDGES
        if LAYERS[unit(target)] > LAYERS[unit(source)]
    ]
    assert upward == []


def test_other_packages_use_only_the_face_of_auth() -> None:
    reaching_in = [
        f"{source}:{line} imports {target}"
        for source, target, line in EDGES
        if unit(source) in FEATURE_PACKAGES - {"auth"} and target.startswith("storefront.auth.")
    ]
    assert reaching_in == []


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle of ``graph`` if it has one (depth-first search)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_cycle_between_packages() -> None:
    graph: dict[str, set[str]] = {}
    for source, target, _line in EDGES:
        if unit(source) != unit(target):
            graph.setdefault(unit(source), set()).add(unit(target))
    assert _cycle(graph) is None


def test_no_cycle_between_modules_as_they_load() -> None:
    """A package's ``init_app`` may import the views that import the package's blueprint: that
    import runs when the app is made, after both modules have loaded."""
    graph: dict[str, set[str]] = {}
    for source, target in LOADING_EDGES:
        if source != target:
            graph.setdefault(source, set()).add(target)
    assert _cycle(graph) is None


def test_the_checks_catch_an_upward_import_and_a_cycle() -> None:
    assert LAYERS[unit("storefront.shop.cart")] > LAYERS[unit("storefront.auth.service")]
    assert _cycle({"auth": {"account"}, "account": {"auth"}}) == ["account", "auth", "account"]
