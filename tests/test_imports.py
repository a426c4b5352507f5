"""The directions imports may take between namx's parts, read from the source with ast.

- The core (namx/*.py, namx/arch/, namx/bundled/) imports no backend: not namx.converters,
  namx.runtimes or namx.conformance. namx/cli.py and namx/__main__.py are the app layer, which
  dispatches to every part, so they are not core; namx.torch is a backend.
- Converters do not import runtimes.
- No import cycles among namx's modules.

How imports are counted: every `import` statement runs at some point, so a function-local (lazy)
import counts like a module-level one, in every rule; a lazy import that breaks a cycle at import
time still leaves the modules depending on each other. Imports under `if TYPE_CHECKING:` never run
and are not counted. `from package import name` counts as importing the submodule `package.name`
when there is one, else `package`. Importing a submodule also runs its package's __init__; that
implied edge is not counted (a package importing its own submodules is not a cycle).
"""
from __future__ import annotations

import ast
import tomllib
from pathlib import Path


ROOT = Path(__file__).resolve().parents[1]
BACKENDS = ("namx.converters", "namx.runtimes", "namx.conformance")
NOT_CORE = (*BACKENDS, "namx.torch", "namx.spec", "namx.cli", "namx.__main__")


def _package_dirs(root: Path) -> dict[str, str]:
    """pyproject's package-dir: the folder each installed package comes from."""
    config = tomllib.loads((root / "pyproject.toml").read_text())
    return config["tool"]["setuptools"]["package-dir"]


def modules(root: Path) -> dict[str, tuple[Path, bool]]:
    """Every module of the installed namx namespace: name -> (file, is a package's __init__)."""
    out = {}
    for package, folder in _package_dirs(root).items():
        for path in sorted((root / folder).rglob("*.py")):
            parts = path.relative_to(root / folder).with_suffix("").parts
            name = ".".join((package, *parts[:-1]) if parts[-1] == "__init__" else (package, *parts))
            if name not in out:  # (namx's own folder also holds namx/torch etc.; a subpackage's folder wins)
                out[name] = (path, parts[-1] == "__init__")
    return out


def imports(root: Path) -> set[tuple[str, str]]:
    """(importer, imported) for every import between namx modules, lazy ones included."""
    mods = modules(root)
    edges = set()
    for name, (path, is_package) in mods.items():
        package = name if is_package else name.rpartition(".")[0]
        for node in _statements(ast.parse(path.read_text(), str(path)).body):
            for target in _targets(node, package, mods):
                if target in mods and target != name:
                    edges.add((name, target))
    return edges


def _statements(body):
    """The import statements of a body, at any depth, except under `if TYPE_CHECKING:`."""
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            yield from _statements(node.orelse)
        else:
            for child in ast.iter_child_nodes(node):
                yield from _statements([child])


def _targets(node, package: str, mods) -> list[str]:
    """The modules an import statement runs (`from m import x`: the submodule m.x if there is one)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = package
    for _ in range(node.level - 1):
        base = base.rpartition(".")[0]
    module = node.module if not node.level else ".".join(p for p in (base, node.module) if p)
    return [f"{module}.{alias.name}" if f"{module}.{alias.name}" in mods else module for alias in node.names]


def find_cycle(edges: set[tuple[str, str]]) -> list[str] | None:
    """One cycle (a list of modules, the first repeated at the end), or None."""
    graph: dict[str, list[str]] = {}
    for a, b in sorted(edges):
        graph.setdefault(a, []).append(b)
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    for start in sorted(graph):
        if state.get(start):
            continue
        path, stack = [start], [iter(graph.get(start, ()))]
        state[start] = 1
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            elif not state.get(nxt):
                state[nxt] = 1
                path.append(nxt)
                stack.append(iter(graph.get(nxt, ())))
    return None


def _within(name: str, prefixes) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _core_imports_of_backends(edges):
    return sorted((a, b) for a, b in edges if a.startswith("namx.") and not _within(a, NOT_CORE)
                  and _within(b, BACKENDS))


def _converters_importing_runtimes(edges):
    return sorted((a, b) for a, b in edges if _within(a, ("namx.converters",)) and _within(b, ("namx.runtimes",)))


EDGES = imports(ROOT)


def test_the_walk_sees_the_imports_it_judges():
    """(So the rules below cannot pass by seeing nothing.)"""
    assert ("namx.writer", "namx.loader") in EDGES
    assert ("namx.loader", "namx.arch") in EDGES  # `from .arch import ...`
    assert ("namx.model", "namx.arch.wavenet") in EDGES
    assert ("namx.cli", "namx.converters") in EDGES  # the app layer's dispatch (module level)
    assert ("namx.cli", "namx.converters.pytorch") in EDGES  # a lazy import, counted
    assert {"namx.loader", "namx.arch.wavenet", "namx.bundled"} <= {a for a, _ in EDGES if not _within(a, NOT_CORE)}


def test_detects_a_cycle_hidden_by_a_lazy_import(tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (tmp_path / "pyproject.toml").write_text('[tool.setuptools]\npackage-dir = { "namx" = "pkg" }\n')
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from .b import f\n")
    (pkg / "b.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from . import c\n"
                              "def f():\n    from .a import g\n")
    (pkg / "c.py").write_text("from . import b\n")
    edges = imports(tmp_path)
    assert edges == {("namx.a", "namx.b"), ("namx.b", "namx.a"), ("namx.c", "namx.b")}
    assert find_cycle(edges) == ["namx.a", "namx.b", "namx.a"]
    assert find_cycle(edges - {("namx.b", "namx.a")}) is None


def test_core_imports_no_converter_runtime_or_conformance():
    assert _core_imports_of_backends(EDGES) == []


def test_no_import_cycles_among_namx_modules():
    assert find_cycle(EDGES) is None


def test_converters_import_no_runtime():
    assert _converters_importing_runtimes(EDGES) == []
