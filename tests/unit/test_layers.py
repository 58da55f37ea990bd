"""The library's layers show in its imports (issue 18): no import cycle, no private name imported
across modules, and the analysis core never imports the tools.

* **core**: what a chapter's numbers depend on: the data contract, the cuts of the official statistics
  and their loaders, instruments, statistics, disclosure control (with the TRE preset), the chapters and
  their context (paths, results, figures, provenance, the calendar...);
* **tools**: what builds, checks and ships around them: the synthetic generator, the benchmark,
  the claims check, the report, the command line, the codebook, the importers and the outbox.

The graph is read from the source with :mod:`ast` (rrlib.registry), imports inside functions
included for the layer rule, only module-level ones for cycles (a function-level import runs late).
"""
from __future__ import annotations

import ast

import pytest

from rrlib import registry

SRC = registry.SRC
TOOLS = ("rrlib.synth", "rrlib.bench", "rrlib.claims", "rrlib.report", "rrlib.cli", "rrlib.__main__",
         "rrlib.codebook", "rrlib.importers", "rrlib.outbox", "rrlib.verify", "rrlib.codecheck",
         "rrlib.numbering", "rrlib.references", "rrlib.pseudonymise")


def _modules() -> dict[str, ast.Module]:
    return {registry._module_name(f): ast.parse(f.read_text(encoding="utf-8")) for f in sorted(SRC.rglob("*.py"))}


MODULES = _modules()


def _is_tool(name: str) -> bool:
    return any(name == t or name.startswith(t + ".") for t in TOOLS)


def _imports(name: str, tree: ast.Module, top_level_only: bool) -> set[str]:
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    pkg = (SRC / "/".join(name.split(".")[1:]) / "__init__.py").exists() if name != "rrlib" else True
    out = set()
    for node in nodes:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            out |= registry.imported_modules(ast.unparse(node), name, pkg)
    return {m for m in out if m in MODULES and m != name}


def test_no_import_cycle():
    graph = {m: _imports(m, t, top_level_only=True) for m, t in MODULES.items()}
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
                 for n in _imports(m, t, top_level_only=False) if _is_tool(n))
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
    assert "rrlib.synth" in _imports("rrlib.data.x", tree, top_level_only=False)
    assert _is_tool("rrlib.synth.health") and not _is_tool("rrlib.stats")
