"""Chapters are found from their notebooks (rrlib.registry): a new chapter needs no edit elsewhere."""
import json
import subprocess
import sys

import pytest

from rrlib import chapter, claims, paths, registry, report


def _notebook(path, key, title="Chapter 9. Demo: a throwaway chapter", imports="from rrlib import chapter"):
    nb = {"cells": [
        {"cell_type": "markdown", "metadata": {}, "source": [f"# {title}\n", "\n", "Question."]},
        {"cell_type": "code", "metadata": {"tags": ["parameters"]}, "outputs": [], "execution_count": None,
         "source": ["data_dir = None\n", "out_dir = None"]},
        {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
         "source": [f"{imports}\n", f'ch = chapter.setup("{key}", data_dir=data_dir, out_dir=out_dir)']}],
        "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path.write_text(json.dumps(nb))


def test_the_shipped_chapters():
    keys = [c.key for c in registry.chapters()]
    assert keys == ["reach", "exclusions", "wmf", "selfharm", "targeted", "headstart_areas"]
    assert chapter.NOTEBOOKS == {c.key: c.notebook for c in registry.chapters()}
    assert set(keys) < set(claims.CHAPTERS)
    assert all(report.CHAPTER_TITLES[k] and not report.CHAPTER_TITLES[k].startswith("Chapter") for k in keys)
    for c in registry.chapters():
        assert c.module == f"rrlib.chapters.{c.key}"


def test_a_new_notebook_is_a_new_chapter(tmp_path):
    _notebook(tmp_path / "06_demo.ipynb", "demo", imports="from rrlib import chapter, stats")
    _notebook(tmp_path / "01_first.ipynb", "first", title="Chapter 1. First")
    chs = registry.chapters(tmp_path)
    assert [(c.key, c.notebook, c.title) for c in chs] == [
        ("first", "01_first.ipynb", "First"), ("demo", "06_demo.ipynb", "Demo: a throwaway chapter")]
    deps = {p.relative_to(registry.SRC).as_posix() for p in registry.dependencies(chs[1], tmp_path)}
    assert {"chapter.py", "results.py", "paths.py", "stats/__init__.py", "matplotlibrc"} <= deps
    tools = ("report.py", "cli.py", "commands.py", "devtools/bench.py")
    assert not any(d.startswith("chapters/") or d in tools for d in deps)


def test_dependencies_follow_imports():
    by = registry.by_key()
    reach = {p.relative_to(registry.SRC).as_posix() for p in registry.dependencies(by["reach"])}
    assert "chapters/reach.py" in reach and "calendar.py" in reach
    assert "chapters/selfharm.py" not in reach
    for tool in ("cli.py", "commands.py", "devtools/bench.py", "report.py", "claims.py", "claims_report.py",
                 "synth/__init__.py"):
        assert tool not in reach, f"{tool} should not rerun the reach chapter"


def test_bad_notebooks_are_named(tmp_path):
    _notebook(tmp_path / "01_a.ipynb", "same")
    _notebook(tmp_path / "02_b.ipynb", "same")
    with pytest.raises(registry.RegistryError, match="02_b.ipynb and 01_a.ipynb"):
        registry.chapters(tmp_path)
    (tmp_path / "02_b.ipynb").write_text(json.dumps({"cells": [], "metadata": {}, "nbformat": 4,
                                                     "nbformat_minor": 5}))
    with pytest.raises(registry.RegistryError, match="02_b.ipynb: no chapter.setup"):
        registry.chapters(tmp_path)


def test_start_order_is_longest_first(tmp_path):
    nbs, ex = tmp_path / "nb", tmp_path / "ex"
    nbs.mkdir(), ex.mkdir()
    for i, k in enumerate(["a", "b", "c"], 1):
        _notebook(nbs / f"0{i}_{k}.ipynb", k)
    for name, d in (("02_b.ipynb", 5.0), ("03_c.ipynb", 9.0)):
        (ex / name).write_text(json.dumps({"metadata": {"papermill": {"duration": d}}}))
    assert [c.key for c in registry.start_order(ex, nbs)] == ["c", "b", "a"]


def test_make_variables_without_the_environment():
    out = subprocess.run([sys.executable, "-S", "-m", "rrlib.registry", "make"], cwd=paths.ROOT,
                         env={"PYTHONPATH": str(paths.ROOT / "src")}, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "CHAPTER_KEY_04_self_harm_readmissions := selfharm" in out.stdout
