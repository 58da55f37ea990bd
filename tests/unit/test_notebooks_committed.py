"""Committed chapter notebooks are stripped and parameterised as the conventions say."""
import ast
import json

import pytest

from rrlib import paths

NOTEBOOKS = sorted(paths.NOTEBOOKS_DIR.glob("*.ipynb"))
if not NOTEBOOKS:
    pytest.skip("no chapter notebooks committed yet", allow_module_level=True)


def load(nb):
    return json.loads(nb.read_text(encoding="utf-8"))


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.name)
def test_stripped(nb):
    doc = load(nb)
    assert "papermill" not in doc.get("metadata", {}), f"{nb.name}: papermill metadata committed"
    for i, cell in enumerate(doc["cells"]):
        assert "papermill" not in cell.get("metadata", {}), f"{nb.name} cell {i}: papermill metadata"
        if cell["cell_type"] == "code":
            assert not cell.get("outputs"), f"{nb.name} cell {i}: outputs committed (run `make strip`)"
            assert cell.get("execution_count") is None, f"{nb.name} cell {i}: execution count committed"


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.name)
def test_exactly_one_parameters_cell_of_literals(nb):
    doc = load(nb)
    cells = [c for c in doc["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(cells) == 1, f"{nb.name}: {len(cells)} cells tagged 'parameters' (need exactly one)"
    assert cells[0]["cell_type"] == "code"
    tree = ast.parse("".join(cells[0]["source"]))
    names = []
    for node in tree.body:
        assert isinstance(node, ast.Assign) and len(node.targets) == 1 \
            and isinstance(node.targets[0], ast.Name), \
            f"{nb.name}: the parameters cell may hold only `name = literal` lines"
        ast.literal_eval(node.value)  # raises when not a literal
        names.append(node.targets[0].id)
    assert {"data_dir", "out_dir"} <= set(names), f"{nb.name}: parameters must include data_dir, out_dir"


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.name)
def test_kernel_metadata(nb):
    meta = load(nb)["metadata"]
    assert meta.get("kernelspec", {}).get("name") == "python3"
    assert meta.get("language_info", {}).get("name") == "python"


def _code_lines(nb) -> list[str]:
    return [ln for c in load(nb)["cells"] if c["cell_type"] == "code"
            for ln in "".join(c["source"]).splitlines() if ln.strip() and not ln.strip().startswith("#")]


def test_notebooks_are_thin():
    """The work is in rrlib: at most 600 lines of code in the five chapters' notebooks together (issue 18)."""
    chapters = [nb for nb in NOTEBOOKS if nb.name[:2] in ("01", "02", "03", "04", "05")]
    sizes = {nb.name: len(_code_lines(nb)) for nb in chapters}
    assert sum(sizes.values()) <= 600, f"{sum(sizes.values())} lines of code in the notebooks: {sizes}"


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.name)
def test_results_are_recorded_by_the_module_not_built_in_the_notebook(nb):
    """No loop that records results and no result key built in the notebook: the results-claims
    contract lives in the chapter's module (ch.record_frame of the frames it returns)."""
    tree = ast.parse("\n".join("".join(c["source"]) for c in load(nb)["cells"] if c["cell_type"] == "code"
                               and not "".join(c["source"]).lstrip().startswith(("%", "!"))))
    for node in ast.walk(tree):
        if isinstance(node, (ast.For, ast.While, ast.comprehension)):
            body = node if not isinstance(node, ast.comprehension) else node.iter
            for inner in ast.walk(body):
                if isinstance(inner, ast.Call) and isinstance(inner.func, ast.Attribute) \
                        and inner.func.attr in ("record", "record_frame"):
                    pytest.fail(f"{nb.name} line {inner.lineno}: results recorded in a loop")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "record" \
                and node.args and isinstance(node.args[0], ast.JoinedStr):
            pytest.fail(f"{nb.name} line {node.lineno}: a result key built with an f-string in the notebook")


def _sentences_built_here(source: str) -> list[str]:
    """Calls that show a sentence the notebook builds itself: ch.show(...) / display(Markdown(...)) of an
    f-string, a % format, a str.format or a concatenation with one."""
    tree = ast.parse(source)
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.args and (
                (isinstance(node.func, ast.Attribute) and node.func.attr == "show")
                or (isinstance(node.func, ast.Name) and node.func.id == "Markdown")):
            built = [n for n in ast.walk(node.args[0]) if isinstance(n, ast.JoinedStr)
                     or (isinstance(n, ast.BinOp) and isinstance(n.op, ast.Mod) and isinstance(n.left, ast.Constant))
                     or (isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "format")]
            if built:
                out.append(f"line {node.lineno}: {ast.unparse(node)[:80]}")
    return out


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.name)
def test_sentences_come_from_the_chapter_module(nb):
    """One way to build a chapter's sentences (issue 28): a sentence that quotes results is a ``*_text`` function
    of the chapter's module, tested on hand-made results, and the notebook shows it (``ch.show(K.part_text(...))``);
    the notebook builds no prose with f-strings."""
    source = "\n".join("".join(c["source"]) for c in load(nb)["cells"] if c["cell_type"] == "code"
                       and not "".join(c["source"]).lstrip().startswith(("%", "!")))
    built = _sentences_built_here(source)
    assert not built, f"{nb.name} builds sentences in the notebook (write a *_text function):\n" + "\n".join(built)


def test_the_sentence_rule_can_fail():
    assert _sentences_built_here('ch.show(f"**{n:,}** young people")')
    assert _sentences_built_here('ch.show("%d young people" % n)')
    assert _sentences_built_here('display(Markdown("{} young people".format(n)))')
    assert not _sentences_built_here('ch.show(K.people_text(res))\nch.show("Ranks by year:")')
    assert not _sentences_built_here('ch.show(NO_DATA if df is None else K.data_text(df))')
