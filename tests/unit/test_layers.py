"""The library's layers show in its imports (issue 18): no import cycle, no private name imported
across modules, and the analysis core never imports the tools.

* **core**: what a chapter's numbers depend on: the data contract, the cuts of the official statistics
  and their loaders, instruments, statistics, disclosure control (with the TRE preset), the chapters and
  their context (paths, results, figures, provenance, the calendar...);
* **tools**: what builds, checks and ships around them: the synthetic generator, the benchmark,
  the claims check, the report, the command line, the codebook, the importers and the outbox.

The graph is read from the source with :mod:`ast` (rrlib.registry), every import counted: those inside
functions too (issue 28: a function-level import only hides a loop, it does not remove it), and importing
``rrlib.a.b`` counts as importing the package ``rrlib.a`` as well (its ``__init__`` runs first), except from
inside that package. Function-level imports are allowed only for the heavy optional dependencies listed in
pyproject.toml (``[tool.ruff.lint.flake8-tidy-imports] banned-module-level-imports``; ruff's PLC0415 and
TID253 enforce the list in ``make lint``, and :func:`test_function_level_imports_are_only_the_listed_ones`
here, so the count cannot drift).
"""
from __future__ import annotations

import ast
import tomllib

import pytest

from rrlib import registry

SRC = registry.SRC
TOOLS = ("rrlib.synth", "rrlib.devtools", "rrlib.commands", "rrlib.claims", "rrlib.claims_report", "rrlib.report",
         "rrlib.cli", "rrlib.__main__",
         "rrlib.codebook", "rrlib.importers", "rrlib.outbox", "rrlib.verify", "rrlib.codecheck",
         "rrlib.numbering", "rrlib.references", "rrlib.pseudonymise")


def _modules() -> dict[str, ast.Module]:
    return {registry._module_name(f): ast.parse(f.read_text(encoding="utf-8")) for f in sorted(SRC.rglob("*.py"))}


MODULES = _modules()


def _is_tool(name: str) -> bool:
    return any(name == t or name.startswith(t + ".") for t in TOOLS)


def _imports(name: str, tree: ast.Module, top_level_only: bool = False) -> set[str]:
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    pkg = (SRC / "/".join(name.split(".")[1:]) / "__init__.py").exists() if name != "rrlib" else True
    out = set()
    for node in nodes:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            out |= registry.imported_modules(ast.unparse(node), name, pkg)
    return {m for m in out if m in MODULES and m != name}


def _with_parents(name: str, imported: set[str]) -> set[str]:
    """``imported`` plus the packages whose ``__init__`` importing them runs, leaving out ``name``'s own
    packages (a submodule using its package's siblings while the package initialises is no loop)."""
    own = {".".join(name.split(".")[:i]) for i in range(1, len(name.split(".")) + 1)}
    parents = {".".join(m.split(".")[:i]) for m in imported for i in range(2, len(m.split(".")))}
    return {m for m in imported | parents if m in MODULES and m not in own}


#: Modules that import inside functions on purpose, besides the listed heavy dependencies.
#: rrlib.cli imports the module of the chosen command only, so that `rr run` (once per chapter under make)
#: does not load pandas, scipy and pandera for nothing.
FUNCTION_LEVEL_EXCEPTIONS = ("rrlib.cli",)


def _function_level_imports(tree: ast.Module):
    top = {id(n) for stmt in tree.body if not isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
           for n in ast.walk(stmt)}
    return [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom)) and id(n) not in top]


def _listed_heavy_modules() -> tuple[str, ...]:
    doc = tomllib.loads((registry.SRC.parents[1] / "pyproject.toml").read_text(encoding="utf-8"))
    return tuple(doc["tool"]["ruff"]["lint"]["flake8-tidy-imports"]["banned-module-level-imports"])


def test_function_level_imports_are_only_the_listed_ones():
    heavy = _listed_heavy_modules()
    bad = []
    for m, tree in MODULES.items():
        if m in FUNCTION_LEVEL_EXCEPTIONS:
            continue
        for node in _function_level_imports(tree):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [f"{node.module}.{a.name}" for a in node.names] if not node.level else [])
            if not names or not all(any(n == h or n.startswith(h + ".") for h in heavy) for n in names):
                bad.append(f"{m}:{node.lineno}: {ast.unparse(node)}")
    assert not bad, ("imports inside functions that are not a listed heavy optional dependency "
                     "(move them to the top of the module):\n" + "\n".join(bad))


def test_no_import_cycle():
    """No loop in the import graph, function-level imports and package initialisation included."""
    graph = {m: _with_parents(m, _imports(m, t)) for m, t in MODULES.items()}
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(m):
        state[m] = 1
        path.append(m)
        for n in sorted(graph[m]):
            if state.get(n) == 1:
                pytest.fail("import cycle: " + " -> ".join(path[path.index(n):] + [n]))
            if n not in state:
                visit(n)
        path.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m)


def test_the_core_never_imports_the_tools():
    bad = sorted(f"{m} imports {n}" for m, t in MODULES.items() if not _is_tool(m)
                 for n in _imports(m, t) if _is_tool(n))
    assert not bad, "the analysis core imports tools:\n" + "\n".join(bad)


def test_no_private_name_is_imported_across_modules():
    bad = []
    for m, tree in MODULES.items():
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith("rrlib")):
                bad += [f"{m}: from {'.' * node.level}{node.module or ''} import {a.name}"
                        for a in node.names if a.name.startswith("_") and not a.name.startswith("__")]
    assert not bad, "private names imported across modules:\n" + "\n".join(bad)


def test_the_rules_can_fail():
    """The graph reader sees what these rules look for (a check that cannot fail is no check)."""
    tree = ast.parse("from ..synth import DEFAULT_SEED\nfrom .validate import _bad\n")
    assert "rrlib.synth" in _imports("rrlib.data.x", tree)
    assert _is_tool("rrlib.synth.health") and not _is_tool("rrlib.stats")
    hidden = ast.parse("def f():\n    from .. import manifest\n    import matplotlib.pyplot as plt\n")
    assert "rrlib.manifest" in _imports("rrlib.data.window", hidden)
    assert [ast.unparse(n) for n in _function_level_imports(hidden)] == ["from .. import manifest",
                                                                         "import matplotlib.pyplot as plt"]
    assert "rrlib.data" in _with_parents("rrlib.manifest", {"rrlib.data.window"})
    assert "rrlib.data" not in _with_parents("rrlib.data.validate", {"rrlib.data.window"})


#: The longest a function in rrlib may be (lines, docstring included): a step of the analysis or of the
#: synthetic generator is a function of its own (issue 28: synth/programme.py's generate was 402 lines).
MAX_FUNCTION_LINES = 160


def test_no_function_is_a_room_of_its_own():
    long = [f"{m}.{n.name}: {n.end_lineno - n.lineno + 1} lines" for m, tree in MODULES.items()
            for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
            and n.end_lineno - n.lineno + 1 > MAX_FUNCTION_LINES]
    assert not long, f"functions longer than {MAX_FUNCTION_LINES} lines (split them into steps): {long}"
