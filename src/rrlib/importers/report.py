"""The import report (``<DATA_DIR>/IMPORT_REPORT.md`` and ``IMPORT_REPORT.json``): where every row
of every extract file went, per source.

For each file: rows read = rows written + rows folded into a written row (e.g. the later episodes
of a HES spell) + rows left out, by reason. :func:`file_accounts` computes that from the tables an
importer made (each row carries ``_file``, the file it came from) and its
:class:`~rrlib.importers.base.Dropped` ledger, and stops the import when a file does not balance:
a row lost without a reason is a bug, never a result. The report names files by their base name
only (no paths) and holds counts, never identifiers.
"""
from __future__ import annotations

import pandas as pd

from .base import Dropped, ImportFieldError

REPORT_MD = "IMPORT_REPORT.md"
REPORT_JSON = "IMPORT_REPORT.json"


def file_accounts(file_info: list[dict], made: dict[str, pd.DataFrame], dropped: Dropped) -> dict[str, dict]:
    """Per file: ``rows_read``, ``rows_written``, ``rows_combined`` and ``rows_left_out`` (by
    reason), ``balanced``. Raises :class:`ImportFieldError` when rows read != written +
    combined + left out for any file (nothing is written then)."""
    written: dict[str, int] = {}
    for df in made.values():
        for f, n in df["_file"].value_counts(sort=False).items():
            written[str(f)] = written.get(str(f), 0) + int(n)
    out, bad = {}, []
    for fi in file_info:
        name = fi["name"]
        led = dropped.per_file.get(name, {"left_out": {}, "combined": {}})
        left = dict(sorted(led["left_out"].items()))
        comb = dict(sorted(led["combined"].items()))
        w = written.get(name, 0)
        total = w + sum(left.values()) + sum(comb.values())
        out[name] = {"rows_read": int(fi["rows"]), "rows_written": w, "rows_combined": comb, "rows_left_out": left,
                     "balanced": total == fi["rows"]}
        if total != fi["rows"]:
            bad.append(f"{name}: {fi['rows']} read, {total} accounted")
    unknown = (set(written) | set(dropped.per_file)) - {fi["name"] for fi in file_info}
    if unknown or bad:
        raise ImportFieldError("import report does not balance (a bug in the importer; nothing written): "
                               + "; ".join(bad + [f"rows of unknown file {u}" for u in sorted(unknown)]))
    return out


def _md_counts(d: dict, indent: str = "  ") -> list[str]:
    return [f"{indent}- {k}: {v:,}" if isinstance(v, int) else f"{indent}- {k}: {v}" for k, v in d.items()]


def render_report(report: dict) -> str:
    """The Markdown text of the report (from its JSON document)."""
    out = ["# Import report", "",
           "Made by `rr import` (rrlib.importers): for every extract file, where each of its rows went. "
           "Rows read = rows written + rows folded into a written row + rows left out (by reason); "
           "the import stops, writing nothing, if a file does not add up. Counts only: no identifiers, "
           "no paths. The rules named here are in the mapping files and in data/raw/IMPORTERS.md.", ""]
    for source, s in report["sources"].items():
        out += [f"## `{source}`", "",
                "Tables written: " + ", ".join(f"`{t}` ({n:,} rows)" for t, n in s["tables"].items()) + ".",
                f"Mapping: `{s['mapping']['file']}` (sha256 {s['mapping']['sha256'][:12]}...).", "",
                "| file | rows read | rows written | folded into a written row | left out | balanced |",
                "|---|---:|---:|---:|---:|---|"]
        for name, a in s["files"].items():
            out.append(f"| `{name}` | {a['rows_read']:,} | {a['rows_written']:,} | "
                       f"{sum(a['rows_combined'].values()):,} | {sum(a['rows_left_out'].values()):,} | "
                       f"{'yes' if a['balanced'] else 'NO'} |")
        out.append("")
        for name, a in s["files"].items():
            if a["rows_combined"] or a["rows_left_out"]:
                out.append(f"`{name}`:")
                if a["rows_combined"]:
                    out += ["- folded into a written row:", *_md_counts(a["rows_combined"])]
                if a["rows_left_out"]:
                    out += ["- left out:", *_md_counts(a["rows_left_out"])]
                out.append("")
        det = s.get("details") or {}
        if det:
            out += ["What the import found:", ""]
            for k, v in det.items():
                label = k.replace("_", " ")
                if isinstance(v, dict):
                    out += [f"- {label}:", *_md_counts(v)] if v else [f"- {label}: none"]
                else:
                    out.append(f"- {label}: {v:,}" if isinstance(v, int) else f"- {label}: {v}")
            out.append("")
        fields = s.get("fields") or {}
        lines = []
        for name, f in fields.items():
            if f.get("same_meaning_not_used"):
                for canon, cols in f["same_meaning_not_used"].items():
                    lines.append(f"- `{name}`: {canon} taken from `{f['used'].get(canon, canon)}` "
                                 f"(mapping's preference); not used: {', '.join(f'`{c}`' for c in cols)}")
            if f.get("ignored_unknown"):
                lines.append(f"- `{name}`: not in the mapping, left out: "
                             + ", ".join(f"`{c}`" for c in f["ignored_unknown"]))
            if f.get("ignored_known"):
                lines.append(f"- `{name}`: known to the mapping, not needed: "
                             + ", ".join(f"`{c}`" for c in f["ignored_known"]))
        if lines:
            out += ["Fields:", "", *lines, ""]
        if s.get("rules"):
            out += ["Rules applied (from the mapping):", ""]
            out += [f"- **{r.get('id')}**: {' '.join(str(r.get('rule', '')).split())}" for r in s["rules"]]
            out.append("")
    return "\n".join(out).rstrip() + "\n"
