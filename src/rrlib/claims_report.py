"""The claims report: the outcome of the claims check (:mod:`rrlib.claims`) as a reader sees it.

``rr claims`` (:func:`main`) checks ``claims.yml`` against a run's results and writes
``<out>/claims.json`` (the rows), ``claims.md`` and ``claims.html``; the HTML report
(:mod:`rrlib.report`) shows the same summary, the section on official statistics and the claims
table on its index page and in its ``claims.html``. What a claim is, how it is compared and which
outcome each one should have live in :mod:`rrlib.claims`; this module only renders them.
"""
from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from . import claims, log, paths
from .io import atomic_write_text, dumps

UNIT_SUFFIX = {"percent": "%", "rate_per_100": " per 100", "rate_per_100000": " per 100,000",
               "points": " points"}


def fmt_value(v: Any, unit: str | None = None) -> str:
    """A value as a reader sees it: ``76,783``, ``93.27%``, ``true``; ``—`` when missing."""
    if v is None:
        return "—"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        s = f"{v:,}"
    elif isinstance(v, float):
        if v.is_integer() and abs(v) < 1e15:
            s = f"{int(v):,}"
        else:
            s = f"{v:,.4f}".rstrip("0").rstrip(".")
    else:
        return str(v)
    return s + UNIT_SUFFIX.get(unit or "", "")


def fmt_tolerance(tol: dict) -> str:
    if "exact" in tol:
        return "exact"
    if "relative" in tol:
        return f"±{fmt_value(tol['relative'] * 100)}% (relative)"
    return f"±{fmt_value(float(tol['absolute']))} (absolute)"


def _md_cell(s: str) -> str:
    return str(s).replace("|", "\\|").replace("\n", " ")


def to_markdown(rows: list[dict], *, folder: str | None, synthetic: bool | None) -> str:
    s = claims.summary(rows)
    flag = {True: "synthetic", False: "real", None: "unknown (no MANIFEST)"}[synthetic]
    lines = [
        "# Claims: published figures against this run", "",
        f"Data folder `{folder or '?'}` ({flag} data). {s['total']} claims: "
        + ", ".join(f"{n} {st}" for st, n in s["status"].items()) + ".", "",
        "`data` says what a claim was recomputed from: **real** public statistics (or a real data "
        "folder), or **synthetic** data calibrated to the published figure, which shows that the "
        "pipeline works, not that the finding holds.", "",
        *official_markdown(rows),
        "## Every claim", "",
        "| id | part | chapter | statement | published | computed | tolerance | status | data |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        status = r["status"].upper() if r["status"] != "reproduced" else r["status"]
        if r.get("expected") == "differs":
            status += " (expected)"
        lines.append("| " + " | ".join(_md_cell(x) for x in (
            r["id"], r["part"] or "", r["chapter"], r["statement"], fmt_value(r["published"], r["unit"]),
            fmt_value(r["computed"], r["unit"]), fmt_tolerance(r["tolerance"]), status, r["data"])) + " |")
    notes = [r for r in rows if r.get("reason") or r.get("note")]
    if notes:
        lines += ["", "## Notes", ""]
        for r in notes:
            ident = r["id"] + (f" ({r['part']})" if r["part"] else "")
            for text in (r.get("reason"), r.get("note")):
                if text:
                    lines.append(f"- {ident}: {text}")
    return "\n".join(lines) + "\n"


def _official_cells(r: dict) -> tuple[str, ...]:
    diff = r.get("difference")
    outcome = "not checkable" if r["status"] == "not computed" else r["status"]
    expected = claims.expected_status(r)
    verdict = outcome + ("" if r["status"] == expected else f" (UNEXPECTED: expected {expected})")
    why = r.get("note") if r["status"] != "reproduced" and r.get("note") else r.get("reason")
    return (r["id"] + (f" ({r['part']})" if r["part"] else ""), fmt_value(r["published"], r["unit"]),
            fmt_value(r["computed"], r["unit"]), r.get("official_source") or r["source"],
            "—" if diff is None else f"{diff:+.4g}", verdict, why or "")


OFFICIAL_HEAD = ("claim", "published", "official", "official source", "difference", "outcome", "likeliest reason")
OFFICIAL_INTRO = ("Each published figure that has an official counterpart (DfE, OHID Fingertips, ONS) is "
                  "recomputed from the official statistics shipped in `data/raw/public/`. *differs* means the "
                  "published figure is not what the official statistics say; the registry records the outcome "
                  "expected and the likeliest reason (a revision, another base, another year).")


def official_markdown(rows: list[dict]) -> list[str]:
    """The opening section of the claims report: published figures against official statistics."""
    off = claims.official_rows(rows)
    if not off:
        return []
    s = claims.official_summary(rows)
    lines = ["## Published figures against official statistics", "", OFFICIAL_INTRO, "",
             f"{len(off)} parts checked on official statistics: "
             + ", ".join(f"{n} {k}" for k, n in s.items()) + ".", "",
             "| " + " | ".join(OFFICIAL_HEAD) + " |", "|" + "---|" * len(OFFICIAL_HEAD)]
    lines += ["| " + " | ".join(_md_cell(x) for x in _official_cells(r)) + " |" for r in off]
    return lines + [""]


def official_html(rows: list[dict]) -> str:
    """The same section as an HTML fragment (claims.html and the report's index)."""
    off = claims.official_rows(rows)
    if not off:
        return ""
    e = html.escape
    s = claims.official_summary(rows)
    out = ['<section class="official"><h2>Published figures against official statistics</h2>',
           f"<p>{e(OFFICIAL_INTRO).replace('`data/raw/public/`', '<code>data/raw/public/</code>')}</p>",
           f'<p class="summary">{len(off)} parts checked on official statistics: '
           + ", ".join(f"{n} {e(k)}" for k, n in s.items()) + ".</p>",
           '<table class="claims official"><thead><tr>'
           + "".join(f"<th>{e(h)}</th>" for h in OFFICIAL_HEAD) + "</tr></thead><tbody>"]
    for r in off:
        cells = _official_cells(r)
        slug = r["status"].replace(" ", "-")
        out.append(f'<tr class="status-{slug}">' + "".join(
            f'<td{" class=num" if i in (1, 2, 4) else ""}>{e(c)}</td>' for i, c in enumerate(cells)) + "</tr>")
    out += ["</tbody></table></section>"]
    return "\n".join(out)


def claims_table_html(rows: list[dict], *, link_chapters: dict[str, str] | None = None,
                      evidence: dict | None = None) -> str:
    """The claims table as an HTML fragment (used by claims.html and the report's index).
    ``evidence``: ``{(id, part): (label, href)}``, the figure, table or text that computes each
    claim (:func:`rrlib.report.claim_evidence`); the id links there."""
    e = html.escape
    link_chapters = link_chapters or {}
    evidence = evidence or {}
    out = ['<table class="claims">', "<thead><tr><th>id</th><th>chapter</th><th>statement</th>"
           "<th>published</th><th>computed</th><th>tolerance</th><th>status</th><th>data</th>"
           "</tr></thead>", "<tbody>"]
    for r in rows:
        slug = r["status"].replace(" ", "-")
        ident = e(r["id"]) + (f'<br><span class="part">{e(r["part"])}</span>' if r["part"] else "")
        ev = evidence.get((r["id"], r["part"]))
        if ev:
            ident += f'<br><a class="evidence" href="{e(ev[1])}">evidence: {e(ev[0])}</a>'
        chap = e(r["chapter"])
        if r["chapter"] in link_chapters:
            chap = f'<a href="{e(link_chapters[r["chapter"]])}">{chap}</a>'
        ci = ""
        if r.get("lower") is not None and r.get("upper") is not None:
            ci = (f'<br><span class="ci">({e(fmt_value(r["lower"]))} to '
                  f'{e(fmt_value(r["upper"]))})</span>')
        detail = []
        for text in (r.get("reason"), r.get("note")):
            if text:
                detail.append(f'<div class="note">{e(text)}</div>')
        status = e(r["status"])
        if r.get("expected") == "differs":
            status += ' <span class="expected">(expected)</span>'
        out.append(
            f'<tr class="status-{slug}" data-status="{e(r["status"])}" data-data="{e(r["data"])}">'
            f"<td>{ident}</td><td>{chap}</td>"
            f'<td>{e(r["statement"])}<div class="src">{e(r["source"])} · <code>{e(r["key"])}</code></div>'
            f'{"".join(detail)}</td>'
            f'<td class="num">{e(fmt_value(r["published"], r["unit"]))}</td>'
            f'<td class="num">{e(fmt_value(r["computed"], r["unit"]))}{ci}</td>'
            f'<td>{e(fmt_tolerance(r["tolerance"]))}</td>'
            f'<td><span class="badge status {slug}">{status}</span></td>'
            f'<td><span class="badge data {e(r["data"])}">{e(r["data"])}</span></td></tr>')
    out += ["</tbody>", "</table>"]
    return "\n".join(out)


def summary_html(rows: list[dict]) -> str:
    s = claims.summary(rows)
    parts = [f'<span class="badge status {st.replace(" ", "-")}">{n} {st}</span>'
             for st, n in s["status"].items()]
    real = s["by_data"]["real"]
    syn = s["by_data"]["synthetic"]
    return (f'<p class="summary">{s["total"]} claims: {" ".join(parts)}</p>'
            f'<p class="summary">On <span class="badge data real">real</span> data: '
            f'{real["reproduced"]} of {sum(real.values())} reproduced. On '
            f'<span class="badge data synthetic">synthetic</span> data: {syn["reproduced"]} of '
            f'{sum(syn.values())} reproduced (the synthetic data is calibrated to these figures: '
            "this shows the pipeline works, not that the findings hold).</p>")


def css() -> str:
    return (Path(__file__).parent / "templates" / "report.css").read_text(encoding="utf-8")


def to_html(rows: list[dict], *, folder: str | None, synthetic: bool | None, evidence: dict | None = None,
            links: dict[str, str] | None = None) -> str:
    flag = {True: "synthetic", False: "real", None: "of unknown status (no MANIFEST)"}[synthetic]
    banner = ""
    if synthetic is not False:
        banner = ('<div class="banner synthetic">SYNTHETIC DATA: the computed values come from '
                  "calibrated synthetic data, except claims marked <em>real</em>.</div>")
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        "<title>Claims: published figures against this run</title>\n"
        f"<style>\n{css()}</style>\n</head>\n<body>\n<main>\n{banner}\n"
        "<nav><a href=\"index.html\">Report</a></nav>\n"
        "<h1>Claims: published figures against this run</h1>\n"
        f"<p>Data folder <code>{html.escape(folder or '?')}</code> ({flag} data).</p>\n"
        f"{summary_html(rows)}\n{official_html(rows)}\n<h2>Every claim</h2>\n"
        f'<div class="scroll">{claims_table_html(rows, link_chapters=links, evidence=evidence)}</div>\n'

        "</main>\n</body>\n</html>\n")


# --------------------------------------------------------------------------------------------
# rr claims
# --------------------------------------------------------------------------------------------
def write_outputs(rows: list[dict], out_dir: str | Path, *, folder: str | None,
                  synthetic: bool | None) -> list[Path]:
    out_dir = Path(out_dir)
    rows = claims.public_rows(rows)
    return [atomic_write_text(out_dir / "claims.json", dumps(rows)),
            atomic_write_text(out_dir / "claims.md", to_markdown(rows, folder=folder, synthetic=synthetic)),
            atomic_write_text(out_dir / "claims.html", to_html(rows, folder=folder, synthetic=synthetic))]


def main(data_dir=None, out_dir=None, strict: bool = False, registry: str | Path | None = None,
         write: bool = True) -> int:
    """``rr claims``: check claims.yml against the run's results and write the claims files (``write=False``:
    check only, as ``rr verify`` does, leaving the files ``make`` keeps up to date untouched)."""

    logger = log.get("claims")
    log.setup()
    lay = paths.layout(data_dir, out_dir)
    try:
        rows, synthetic = claims.run_check(lay, registry)
    except claims.ClaimsError as exc:
        logger.error(f"rr claims: {exc}")
        return 2
    s = claims.summary(rows)
    counts = (f"claims: {s['total']} checked on {lay.data_dir.name}: "
              + ", ".join(f"{n} {st}" for st, n in s["status"].items()))
    if write:
        written = write_outputs(rows, lay.out_dir, folder=lay.data_dir.name, synthetic=synthetic)
        logger.info(counts + f" -> {written[0]}, {written[1].name}, {written[2].name}")
    else:
        logger.info(counts)
    if strict:
        bad = claims.strict_failures(rows, default_data=claims.is_default_data(lay))
        if bad:
            lines = [f"rr claims: {len(bad)} claim(s) without their expected outcome:"]
            for r in bad:
                ident = r["id"] + (f" ({r['part']})" if r["part"] else "")
                lines.append(f"  {ident} [{r['key']}]: {r['status']} (expected {claims.expected_status(r)}): published "
                             f"{fmt_value(r['published'], r['unit'])}, computed {fmt_value(r['computed'], r['unit'])}"
                             + (f" ({r['reason']})" if r.get("reason") else ""))
            logger.error("\n".join(lines))
            return 1
    return 0
