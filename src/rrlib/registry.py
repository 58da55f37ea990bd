"""The chapters, found from their notebooks: a chapter is registered once, by existing.

A chapter is a notebook ``notebooks/NN_<name>.ipynb`` whose code calls
``chapter.setup("<key>", ...)``, usually with a module ``src/rrlib/chapters/<key>.py``. Everything
else reads this module, never a hand-kept list:

* the chapter's **key** is the first argument of ``chapter.setup`` in its notebook;
* its **title** is the notebook's first Markdown heading (``# Chapter 2. Exclusions: ...``), without
  the "Chapter N." prefix;
* its **dependencies** (for ``make``) are the notebook and the files of every rrlib module that the
  notebook imports, followed through the imports of those modules (parsed with :mod:`ast`, nothing
  imported), so editing a module reruns only the chapters that use it;
* its **start order** under ``make -j`` is longest first, from the durations of the last executed
  copies (papermill records them), then in number order.

Standard library only: the Makefile calls ``python -m rrlib.registry make`` before the environment
is set up.
"""
from __future__ import annotations

import ast
import json
import re
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

SRC = Path(__file__).resolve().parent          # src/rrlib
ROOT = SRC.parents[1]
NOTEBOOKS_DIR = ROOT / "notebooks"
NOTEBOOK_GLOB = "[0-9][0-9]_*.ipynb"
_SETUP_RE = re.compile(r"chapter\.(?:setup|start)\(\s*[\"']([a-z][a-z0-9_]*)[\"']")
_TITLE_RE = re.compile(r"^#\s+(?:Chapter\s+\d+\.\s*)?(.+?)\s*$", re.M)


class RegistryError(ValueError):
    """A notebook cannot be registered as a chapter; the message names it and the rule."""


@dataclass(frozen=True)
class Chapter:
    key: str
    notebook: str           # file name, e.g. "02_exclusions.ipynb"
    title: str
    module: str | None      # "rrlib.chapters.exclusions" when the file exists

    @property
    def stem(self) -> str:
        return Path(self.notebook).stem


def _cells(nb_path: Path) -> list[dict]:
    try:
        return json.loads(nb_path.read_text(encoding="utf-8"))["cells"]
    except (OSError, ValueError, KeyError) as exc:
        raise RegistryError(f"{nb_path.name}: not a readable notebook ({exc})") from None


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def read_chapter(nb_path: Path) -> Chapter:
    """The chapter a notebook declares (see the module docstring)."""
    cells = _cells(nb_path)
    code = "\n".join(_source(c) for c in cells if c.get("cell_type") == "code")
    m = _SETUP_RE.search(code)
    if not m:
        raise RegistryError(f"{nb_path.name}: no chapter.setup(\"<key>\", ...) call in its code cells")
    key = m.group(1)
    title = key
    for c in cells:
        if c.get("cell_type") == "markdown":
            t = _TITLE_RE.search(_source(c))
            if t:
                title = t.group(1)
                break
    module = (f"rrlib.chapters.{key}" if (SRC / "chapters" / f"{key}.py").exists()
              or (SRC / "chapters" / key / "__init__.py").exists() else None)
    return Chapter(key=key, notebook=nb_path.name, title=title, module=module)


def chapters(notebooks_dir: Path | None = None) -> list[Chapter]:
    """Every chapter, in notebook order. Two notebooks with the same key are an error."""
    found = [read_chapter(p) for p in sorted(Path(notebooks_dir or NOTEBOOKS_DIR).glob(NOTEBOOK_GLOB))]
    seen: dict[str, str] = {}
    for c in found:
        if c.key in seen:
            raise RegistryError(f"{c.notebook} and {seen[c.key]} both call chapter.setup({c.key!r})")
        seen[c.key] = c.notebook
    return found


def by_key(notebooks_dir: Path | None = None) -> dict[str, Chapter]:
    return {c.key: c for c in chapters(notebooks_dir)}


def declared_parameters(nb_path: Path) -> dict:
    """``{name: default}`` of the notebook's cell tagged ``parameters`` (literals only, in order)."""
    for c in _cells(nb_path):
        if "parameters" in (c.get("metadata", {}).get("tags") or []):
            out = {}
            for node in ast.parse(_source(c)).body:
                if not (isinstance(node, ast.Assign) and len(node.targets) == 1
                        and isinstance(node.targets[0], ast.Name)):
                    raise RegistryError(f"{nb_path.name}: the parameters cell may hold only `name = literal` lines")
                try:
                    out[node.targets[0].id] = ast.literal_eval(node.value)
                except ValueError:
                    raise RegistryError(f"{nb_path.name}: parameter {node.targets[0].id} is not a literal") from None
            return out
    raise RegistryError(f"{nb_path.name}: no cell tagged 'parameters'")


# --------------------------------------------------------------------------- import graph
def _module_file(name: str) -> Path | None:
    """The source file of an rrlib module name (``rrlib.stats`` -> ``src/rrlib/stats/__init__.py``)."""
    if name != "rrlib" and not name.startswith("rrlib."):
        return None
    rel = Path(*name.split(".")[1:]) if name != "rrlib" else Path()
    for cand in (SRC / rel.with_suffix(".py") if rel.parts else None, SRC / rel / "__init__.py"):
        if cand is not None and cand.exists():
            return cand
    return None


def _module_name(path: Path) -> str:
    rel = path.relative_to(SRC).with_suffix("")
    parts = ["rrlib", *rel.parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(source: str, current: str | None = None, is_package: bool = False) -> set[str]:
    """rrlib module names imported by ``source`` (absolute and relative imports, ``from x import mod``)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                if current is None:
                    continue
                base = current.split(".")
                base = base if is_package else base[:-1]
                base = base[:len(base) - (node.level - 1)] if node.level > 1 else base
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            out.add(mod)
            out.update(f"{mod}.{a.name}" for a in node.names)   # `from rrlib import stats`
    return {m for m in out if _module_file(m) is not None}


@lru_cache(maxsize=None)
def _imports_of_file(path: Path) -> frozenset[str]:
    name = _module_name(path)
    mods = imported_modules(path.read_text(encoding="utf-8"), name, path.name == "__init__.py")
    # importing rrlib.a.b runs rrlib/a/__init__.py first
    parents = {".".join(m.split(".")[:i]) for m in mods for i in range(2, len(m.split(".")))}
    return frozenset(mods | parents)


def module_closure(modules: set[str]) -> list[Path]:
    """The files of ``modules`` and of every rrlib module they import, transitively, sorted."""
    seen: set[Path] = set()
    todo = [f for f in (_module_file(m) for m in modules) if f is not None]
    while todo:
        f = todo.pop()
        if f in seen:
            continue
        seen.add(f)
        todo.extend(g for g in (_module_file(m) for m in _imports_of_file(f)) if g is not None and g not in seen)
    return sorted(seen)


def dependencies(ch: Chapter, notebooks_dir: Path | None = None) -> list[Path]:
    """Library files a chapter's run depends on: what its notebook imports, followed through imports.

    Data files the library reads at run time (``matplotlibrc``, templates) are added for the modules
    that read them.
    """
    nb = Path(notebooks_dir or NOTEBOOKS_DIR) / ch.notebook
    code = "\n".join(_source(c) for c in _cells(nb) if c.get("cell_type") == "code")
    mods = imported_modules(code) | {"rrlib.chapter", "rrlib.runner"}
    if ch.module:
        mods.add(ch.module)
    files = module_closure(mods)
    if SRC / "figures.py" in files:
        files.append(SRC / "matplotlibrc")
    if SRC / "simstudy.py" in files and (SRC / "simulation.json").exists():
        files.append(SRC / "simulation.json")  # the simulation study's record (rrlib.simstudy.RECORD)
    return sorted(set(files))


# --------------------------------------------------------------------------- start order
def start_order(executed_dir: Path | None, notebooks_dir: Path | None = None) -> list[Chapter]:
    """Chapters longest first by the last executed copies' papermill durations, then in number order."""
    chs = chapters(notebooks_dir)

    def duration(c: Chapter) -> float:
        if executed_dir is None:
            return 0.0
        f = Path(executed_dir) / c.notebook
        try:
            return float(json.loads(f.read_text(encoding="utf-8"))["metadata"]["papermill"]["duration"] or 0)
        except (OSError, ValueError, KeyError, TypeError):
            return 0.0

    return sorted(chs, key=lambda c: -duration(c))   # stable: number order among equals


def _rel(p: Path) -> str:
    try:
        return str(p.relative_to(ROOT))
    except ValueError:
        return str(p)


def make_variables(executed_dir: Path | None = None) -> str:
    """The Makefile's view of the chapters, as make variable assignments."""
    order = start_order(executed_dir)
    lines = ["CHAPTER_NOTEBOOKS := " + " ".join(f"notebooks/{c.notebook}" for c in order)]
    for c in order:
        lines.append(f"CHAPTER_KEY_{c.stem} := {c.key}")
        lines.append(f"CHAPTER_DEPS_{c.stem} := " + " ".join(_rel(p) for p in dependencies(c)))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["make"]:
        print(make_variables(Path(argv[1]) if len(argv) > 1 else None))
        return 0
    for c in chapters():
        print(f"{c.key:12s} {c.notebook:40s} {c.title}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
