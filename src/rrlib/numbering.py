"""Figure and table numbers per chapter, and the notebook cell that made each output.

A chapter's figures are numbered in the order its notebook saves them (``ch.save_figure(fig,
"name")``), its tables in the order it publishes them (``ch.publish(df, "name", ...)``): Figure 2.3
is the third figure of the second chapter (:data:`rrlib.chapter.NOTEBOOKS` order). The calls are
read from the notebook's code with :mod:`ast`; a name written as an f-string
(``f"exclusions_funnel_{m}_{year}"``) matches every output it can make, numbered in name order.
Outputs no call accounts for come last, in name order. The notebook's own cell ids (stable ids
such as ``exclusions-09``) tie each output to the cell that made it; the heading above the cell
gives its section.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

CALLS = {"save_figure": "figure", "publish": "table"}
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$", re.M)
#: A markdown heading line (its text in group 1).
HEADING = _HEADING


def _name_pattern(node: ast.AST) -> re.Pattern | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return re.compile(re.escape(node.value.removesuffix(".svg").removesuffix(".csv")))
    if isinstance(node, ast.JoinedStr):
        parts = []
        for v in node.values:
            if isinstance(v, ast.Constant):
                parts.append(re.escape(str(v.value)))
            else:
                parts.append(r"[^/]+?")
        return re.compile("".join(parts))
    return None


def _calls(source: str) -> list[tuple[str, re.Pattern]]:
    """``[(kind, name pattern)]`` of the save_figure/publish calls in ``source``, in source order."""
    try:
        tree = ast.parse(source)
    except SyntaxError:   # cell magics, shell escapes: fall back to the literal names
        out = []
        for m in re.finditer(r"""\.(save_figure|publish)\((?:[^()]|\([^()]*\))*?,\s*f?["']([^"']+)["']""", source):
            pat = re.escape(m.group(2))
            out.append((CALLS[m.group(1)], re.compile(re.sub(r"\\\{[^}]*\\\}", "[^/]+?", pat))))
        return out
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in CALLS:
            arg = node.args[1] if len(node.args) > 1 else next(
                (k.value for k in node.keywords if k.arg == "name"), None)
            pat = _name_pattern(arg) if arg is not None else None
            if pat is not None:
                found.append((node.lineno, node.col_offset, CALLS[node.func.attr], pat))
            elif arg is not None:
                # a name held in a variable (publish(df, name) in a loop over a dict of tables): the
                # cell's string constants that look like output names are the candidates
                names = sorted({c.value for c in ast.walk(tree) if isinstance(c, ast.Constant)
                                and isinstance(c.value, str) and re.fullmatch(r"[a-z][a-z0-9_]{3,}", c.value)})
                if names:
                    found.append((node.lineno, node.col_offset, CALLS[node.func.attr],
                                  re.compile("|".join(re.escape(n) for n in names))))
    return [(k, p) for _, _, k, p in sorted(found, key=lambda t: (t[0], t[1]))]


def calls_of_notebook(nb) -> list[dict]:
    """Every save_figure/publish call of a notebook: kind, name pattern, cell id and index, section."""
    out, section = [], None
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            heads = _HEADING.findall(cell.source)
            if heads:
                section = heads[-1].strip()
            continue
        if cell.cell_type != "code":
            continue
        for kind, pat in _calls(cell.source):
            out.append({"kind": kind, "pattern": pat, "cell_id": cell.get("id"), "cell_index": i,
                        "section": section})
    return out


def number_chapter(chapter_no: int, nb, figures: list[str], tables: list[str]) -> dict[tuple[str, str], dict]:
    """``{(kind, name): {"number": "2.3", "label": "Figure 2.3", "cell_id", "section"}}`` for the
    chapter's ``figures`` and ``tables`` (names without extension)."""
    names = {"figure": sorted(set(figures)), "table": sorted(set(tables))}
    done: dict[tuple[str, str], dict] = {}
    seq = {"figure": 0, "table": 0}
    calls = calls_of_notebook(nb) if nb is not None else []
    for c in calls:
        for name in names[c["kind"]]:
            if (c["kind"], name) not in done and c["pattern"].fullmatch(name):
                seq[c["kind"]] += 1
                done[(c["kind"], name)] = {"cell_id": c["cell_id"], "section": c["section"],
                                           "number": f"{chapter_no}.{seq[c['kind']]}"}
    for kind in ("figure", "table"):
        for name in names[kind]:
            if (kind, name) not in done:
                seq[kind] += 1
                done[(kind, name)] = {"cell_id": None, "section": None, "number": f"{chapter_no}.{seq[kind]}"}
    for (kind, _), d in done.items():
        d["label"] = f"{kind.capitalize()} {d['number']}"
    return done


def read_notebook(path: str | Path):
    import nbformat

    return nbformat.read(str(path), as_version=4)


def humanise(name: str, chapter: str | None = None) -> str:
    """``exclusions_town_rates`` -> ``Town rates`` (the chapter's prefix dropped)."""
    if chapter and name.startswith(chapter + "_"):
        name = name[len(chapter) + 1:]
    text = re.sub(r"(\d{4})_(\d{2})", r"\1/\2", name).replace("_", " ").strip()
    return text[:1].upper() + text[1:]
