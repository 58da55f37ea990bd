"""Every chapter notebook tells its story (issue 28): question, Data, Method, Results, Caveats, Checks,
each once and in that order; no markdown cell holding code; no cell repeated next to itself; every
results subsection explains itself, in prose or in sentences the chapter writes.

A merge that copies code cells over markdown cells (as 9f57049 did to the exclusions chapter) fails
here: `test_story_test_catches_the_damaged_exclusions_notebook` keeps that damaged version as a case.
"""
import ast
import copy
import json
import re

import pytest

from rrlib import paths

NOTEBOOKS = sorted(paths.NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))
SECTIONS = ["Data", "Method", "Results", "Caveats", "Checks"]
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*$")


def _source(cell) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def _headings(text: str) -> list[tuple[int, str]]:
    out, fenced = [], False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif not fenced and (m := HEADING.match(line)):
            out.append((len(m.group(1)), m.group(2)))
    return out


def _prose(text: str) -> bool:
    """A markdown cell explains something: a line that is neither a heading nor blank."""
    return any(ln.strip() and not HEADING.match(ln) for ln in text.splitlines())


def _is_code(text: str) -> bool:
    """Markdown that parses as Python with a statement doing something (a call, an assignment,
    a with/for/if block, an import) is code pasted into a markdown cell."""
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return False
    doing = (ast.Call, ast.Assign, ast.AugAssign, ast.With, ast.For, ast.If, ast.Import, ast.ImportFrom,
             ast.FunctionDef, ast.Return)
    return any(isinstance(node, doing) for node in ast.walk(tree))


def _writes_sentences(code: str) -> bool:
    """Code that writes the chapter's sentences: ch.show(<string>) or ch.show(<...>_text(...))."""
    try:
        tree = ast.parse("\n".join(ln for ln in code.splitlines() if not ln.lstrip().startswith(("%", "!"))))
    except SyntaxError:
        return False
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "show" \
                and node.args:
            arg = node.args[0]
            if isinstance(arg, (ast.JoinedStr, ast.Constant, ast.BinOp)):
                return True
            if isinstance(arg, ast.Call):
                name = arg.func.attr if isinstance(arg.func, ast.Attribute) else getattr(arg.func, "id", "")
                if name.endswith("_text") or name in ("sentence", "sentences", "say"):
                    return True
    return False


def story_problems(doc: dict) -> list[str]:
    """What is wrong with a notebook's story, one line per problem (empty when it reads well)."""
    cells = doc["cells"]
    problems = []
    first = _source(cells[0]) if cells else ""
    if not (cells and cells[0]["cell_type"] == "markdown" and first.lstrip().startswith("# ")
            and re.search(r"\*\*Questions?\.?\*\*", first)):
        problems.append("cell 0 is not the chapter's title with its **Question(s).**")
    # the standard sections, once each, in order
    found = [(i, title) for i, c in enumerate(cells) if c["cell_type"] == "markdown"
             for level, title in _headings(_source(c)) if level == 2]
    names = [t.split(".")[0].strip() for _, t in found]
    for s in SECTIONS:
        if names.count(s) != 1:
            problems.append(f"section '## {s}' appears {names.count(s)} times (need exactly once)")
    order = [n for n in names if n in SECTIONS]
    if order == sorted(order, key=SECTIONS.index) and len(order) == len(SECTIONS):
        pass
    elif all(names.count(s) == 1 for s in SECTIONS):
        problems.append(f"sections out of order: {order} (need {SECTIONS})")
    for i, c in enumerate(cells):
        if c["cell_type"] == "markdown" and _is_code(_source(c)):
            problems.append(f"markdown cell {i} holds code: {_source(c).splitlines()[0][:60]!r}")
        if i and _source(c).strip() and _source(c).strip() == _source(cells[i - 1]).strip():
            problems.append(f"cells {i - 1} and {i} have the same source")
    # every results subsection explains itself
    pos = {n: i for (i, _), n in zip(found, names)}
    if "Results" in pos and "Caveats" in pos:
        sub, explained, has_code = None, False, False
        for i in range(pos["Results"], pos["Caveats"]):
            c, text = cells[i], _source(cells[i])
            if c["cell_type"] == "markdown":
                heads = [t for level, t in _headings(text) if level >= 3]
                if heads:
                    if sub is not None and has_code and not explained:
                        problems.append(f"results subsection '{sub}' has no explanatory text")
                    sub, explained, has_code = heads[-1], False, False
                explained = explained or _prose(text.split("### " + sub, 1)[-1] if sub else text)
            else:
                has_code = True
                explained = explained or _writes_sentences(text)
        if sub is not None and has_code and not explained:
            problems.append(f"results subsection '{sub}' has no explanatory text")
    return problems


def load(nb):
    return json.loads(nb.read_text(encoding="utf-8"))


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_tells_its_story(nb):
    problems = story_problems(load(nb))
    assert not problems, f"{nb.name}:\n  " + "\n  ".join(problems)


def _damaged(doc: dict) -> dict:
    """The damage of merge 9f57049: each subsection's text replaced by a copy of the code cell below it,
    the Caveats heading replaced by a second '## Checks'."""
    bad = copy.deepcopy(doc)
    cells = bad["cells"]
    for i in range(len(cells) - 1):
        text = _source(cells[i])
        if cells[i]["cell_type"] == "markdown" and text.lstrip().startswith("### ") \
                and cells[i + 1]["cell_type"] == "code" and "ch.section(" in _source(cells[i + 1]):
            cells[i]["source"] = cells[i + 1]["source"]
    for c in cells:
        if c["cell_type"] == "markdown" and _source(c).lstrip().startswith("## Caveats"):
            c["source"] = ["## Checks"]
    return bad


def test_story_test_catches_the_damaged_exclusions_notebook():
    doc = load(paths.NOTEBOOKS_DIR / "02_exclusions.ipynb")
    assert story_problems(doc) == []
    problems = story_problems(_damaged(doc))
    assert any("holds code" in p for p in problems), problems
    assert any("same source" in p for p in problems), problems
    assert any("'## Caveats' appears 0 times" in p for p in problems), problems
    assert any("'## Checks' appears 2 times" in p for p in problems), problems


def test_story_rules_on_small_cases():
    md = lambda s: {"cell_type": "markdown", "source": s}  # noqa: E731
    code = lambda s: {"cell_type": "code", "source": s}  # noqa: E731
    good = [md("# T\n\n**Question.** Why?"), md("## Data\n\nx"), md("## Method\n\ny"),
            md("## Results\n\n### A\n\nWhat A shows."), code("with ch.section('a'):\n    f()"),
            md("### B"), code("ch.show(f'{n} young people')"), md("## Caveats\n\n* c"), md("## Checks"),
            code("ch.check()")]
    assert story_problems({"cells": good}) == []
    silent = good[:5] + [md("### B"), code("ch.show(table)")] + good[7:]
    assert story_problems({"cells": silent}) == ["results subsection 'B' has no explanatory text"]
    swapped = good[:1] + [good[2], good[1]] + good[3:]
    assert any("out of order" in p for p in story_problems({"cells": swapped}))
