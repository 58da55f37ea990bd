"""The claims registry (``claims.yml``) and the claims check of a run.

``claims.yml`` lists the published figures the chapters recompute, one entry per figure (or per
part of a multi-part figure). :func:`check` compares each entry with the run's results
(``<out>/results/*.json``, written by the chapters through :mod:`rrlib.results`); :func:`run_check`
does so for a run. This module computes and compares; :mod:`rrlib.claims_report` renders the outcome
(``rr claims`` writes ``<out>/claims.json``, ``claims.md`` and ``claims.html``; the HTML report shows it).

Entry format (see the team conventions)::

    - id: A01                 # id from the reference list of published figures (A01..A20, B01..B09, C)
      part: null              # multi-part figures: same id, distinct part
      chapter: reach
      statement: "76,783 opportunities for young people ..."
      published: 76783        # number or true/false
      unit: count             # count | percent | proportion | rate_per_100 | rate_per_100000 | ratio | boolean | points
      tolerance: {relative: 0.01}   # or {absolute: 0.5}; booleans: exact
      source: "Resilience Revolution evidence submission on health inequalities (2021)"
      key: reach.opportunities.young_people
      data: synthetic         # synthetic | real (recomputed from real public statistics)
      # optional:
      expected: differs       # the default data is *known* not to reproduce it (say why in note);
                              # `not computed` for a real-data part no shipped official file holds (not checkable)
      note: "..."             # for expected: differs, the likeliest reason (revision, another base, another year)
      official_source: "..."  # data: real parts: the official statistics checked (dataset, table, year)

Statuses: ``reproduced`` (computed within tolerance of the published value), ``differs``
(computed, outside the tolerance, or of another type), ``not computed`` (no such results key in the
run, or no value). A computed value only ever comes from the run's results files; the published
value is never copied into it.

The ``data`` of a checked claim says what it was recomputed from: ``real`` when the registry
entry is recomputed from real public statistics, or when the run's data folder says it is real
(``data.synthetic`` is false in the results file holding the key); ``synthetic`` otherwise (the
number was reproduced on data calibrated to it: that shows the pipeline works, not that the
finding holds). A run whose synthetic flag is unknown (no MANIFEST) is not taken to be real.
"""
from __future__ import annotations

import argparse
import json
import math
import re
import sys
from pathlib import Path
from typing import Any

import yaml

from . import manifest, paths, registry
from .io import atomic_write_text
from .results import load_skipped, skip_reason

#: Ids of the published figures, in the order of the reference document
#: (``published_figures.md``): sections A (programme), B (public figures elsewhere), C (DfE statistics).
REFERENCE_IDS = tuple([f"A{i:02d}" for i in range(1, 21)] + [f"B{i:02d}" for i in range(1, 10)] + ["C"])
UNITS = ("count", "percent", "proportion", "rate_per_100", "rate_per_100000", "ratio", "boolean",
         "points")
#: Chapter keys a claim may name: every registered chapter (rrlib.registry), and "context".
CHAPTERS = (*(c.key for c in registry.chapters()), "context")
DATA_KINDS = ("synthetic", "real")
STATUSES = ("reproduced", "differs", "not computed")
FIELDS = ("id", "part", "chapter", "statement", "published", "unit", "tolerance", "source", "key",
          "data")
OPTIONAL_FIELDS = ("expected", "note", "official_source")
KEY_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")
ID_RE = re.compile(r"^(A(0[1-9]|1[0-9]|20)|B0[1-9]|C(-[A-Za-z0-9_.:/-]+)?)$")
#: Relative slack on a tolerance, so that a value exactly on the boundary is not lost to float rounding.
_EPS = 1e-9


class ClaimsError(ValueError):
    """claims.yml (or a fragment) is not well formed; the message lists every problem."""


# --------------------------------------------------------------------------------------------
# registry: load and validate
# --------------------------------------------------------------------------------------------
def base_id(claim_id: str) -> str:
    """The reference id of a claim id (``C-2016/17-...`` -> ``C``)."""
    return "C" if str(claim_id).startswith("C") else str(claim_id)


def order_key(claim_id: str) -> int:
    """Position of a claim's id in the reference document (unknown ids last)."""
    b = base_id(claim_id)
    return REFERENCE_IDS.index(b) if b in REFERENCE_IDS else len(REFERENCE_IDS)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def normalise_tolerance(tol: Any) -> dict:
    """``{relative: r}``, ``{absolute: a}`` or ``{exact: True}`` from the forms the registry allows
    (``exact``, ``{exact: true}``, null for exact). Raises ValueError on anything else."""
    if tol is None or tol == "exact":
        return {"exact": True}
    if not isinstance(tol, dict) or len(tol) != 1:
        raise ValueError("must be {relative: r}, {absolute: a} or exact")
    (kind, value), = tol.items()
    if kind == "exact":
        if value is not True:
            raise ValueError("{exact: ...} must be {exact: true}")
        return {"exact": True}
    if kind not in ("relative", "absolute"):
        raise ValueError(f"unknown tolerance kind {kind!r} (relative, absolute or exact)")
    if not _is_number(value) or value < 0:
        raise ValueError(f"{kind} tolerance must be a non-negative number, not {value!r}")
    return {kind: value}


def validate_entries(entries: Any, where: str = "claims.yml") -> list[dict]:
    """Check a list of registry entries; return them normalised (tolerance as a dict).

    Every problem is collected and raised together as :class:`ClaimsError`, each naming the
    file, the entry (position and id) and the rule it breaks.
    """
    if not isinstance(entries, list):
        raise ClaimsError(f"{where}: must be a YAML list of claims, not {type(entries).__name__}")
    problems: list[str] = []
    out: list[dict] = []
    seen: dict[tuple, int] = {}
    for i, e in enumerate(entries, 1):
        label = f"{where}: entry {i}"
        if not isinstance(e, dict):
            problems.append(f"{label}: not a mapping")
            continue
        label += f" (id {e.get('id')!r}, part {e.get('part')!r})"
        bad = []
        missing = [f for f in FIELDS if f not in e]
        if missing:
            bad.append(f"missing field(s) {', '.join(missing)}")
        unknown = sorted(set(e) - set(FIELDS) - set(OPTIONAL_FIELDS))
        if unknown:
            bad.append(f"unknown field(s) {', '.join(unknown)}")
        cid = e.get("id")
        if "id" in e and not (isinstance(cid, str) and ID_RE.match(cid)):
            bad.append(f"id {cid!r} is not a reference id (A01..A20, B01..B09, C or C-<detail>)")
        part = e.get("part")
        if part is not None and not (isinstance(part, str) and part.strip()):
            bad.append(f"part must be null or a non-empty string, not {part!r}")
        if "chapter" in e and e["chapter"] not in CHAPTERS:
            bad.append(f"chapter {e['chapter']!r} is not one of {', '.join(CHAPTERS)}")
        for f in ("statement", "source"):
            if f in e and not (isinstance(e[f], str) and e[f].strip()):
                bad.append(f"{f} must be a non-empty string")
        pub = e.get("published")
        if "published" in e and not (isinstance(pub, bool) or _is_number(pub)):
            bad.append(f"published must be a number or true/false, not {pub!r}")
        unit = e.get("unit")
        if "unit" in e and unit not in UNITS:
            bad.append(f"unit {unit!r} is not one of {', '.join(UNITS)}")
        if isinstance(pub, bool) and "unit" in e and unit != "boolean":
            bad.append(f"published is true/false but unit is {unit!r} (must be boolean)")
        if _is_number(pub) and unit == "boolean":
            bad.append("unit is boolean but published is a number")
        tol = None
        if "tolerance" in e:
            try:
                tol = normalise_tolerance(e["tolerance"])
            except ValueError as exc:
                bad.append(f"tolerance {e['tolerance']!r}: {exc}")
            else:
                if isinstance(pub, bool) and "exact" not in tol:
                    bad.append("a true/false claim must have an exact tolerance")
        key = e.get("key")
        if "key" in e:
            if not (isinstance(key, str) and KEY_RE.match(key)):
                bad.append(f"key {key!r} is not a dotted lower-case results key")
            elif key.split(".")[0] not in CHAPTERS:
                bad.append(f"key {key!r} must start with a chapter key ({', '.join(CHAPTERS)})")
        if e.get("official_source") is not None and e.get("data") != "real":
            bad.append("official_source is only for parts checked on real data (data: real)")
        if e.get("expected") == "differs" and not e.get("note"):
            bad.append("expected: differs needs a note giving the likeliest reason")
        if "data" in e and e["data"] not in DATA_KINDS:
            bad.append(f"data {e['data']!r} is not one of {', '.join(DATA_KINDS)}")
        if e.get("expected") not in (None, *STATUSES):
            bad.append(f"expected {e.get('expected')!r} must be one of {', '.join(STATUSES)}")
        if e.get("expected") == "not computed" and not (e.get("note") and e.get("data") == "real"):
            bad.append("expected: not computed is for a real-data part no shipped official file holds; "
                       "its note must say so")
        ident = (cid, part)
        if ident in seen:
            bad.append(f"duplicate id+part (first at entry {seen[ident]})")
        else:
            seen[ident] = i
        if bad:
            problems.extend(f"{label}: {b}" for b in bad)
            continue
        norm = {f: e[f] for f in FIELDS}
        norm["tolerance"] = tol
        for f in OPTIONAL_FIELDS:
            if e.get(f) is not None:
                norm[f] = e[f]
        out.append(norm)
    if problems:
        raise ClaimsError(f"{where}: {len(problems)} problem(s):\n  " + "\n  ".join(problems))
    return out


def load_registry(path: str | Path | None = None) -> list[dict]:
    """Read and validate ``claims.yml`` (default: the compendium's)."""
    path = Path(path) if path else paths.CLAIMS_FILE
    if not path.exists():
        raise ClaimsError(f"{path}: the claims registry does not exist")
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ClaimsError(f"{path}: not valid YAML: {exc}") from None
    return validate_entries(doc if doc is not None else [], where=str(path))


# --------------------------------------------------------------------------------------------
# comparison
# --------------------------------------------------------------------------------------------
def compare_value(published: Any, computed: Any, tolerance: dict) -> tuple[str, str | None]:
    """``(status, reason)`` for one published value against one computed value."""
    if computed is None or (isinstance(computed, float) and not math.isfinite(computed)):
        return "not computed", "the results key has no value"
    if isinstance(published, bool):
        if not isinstance(computed, bool):
            return "differs", f"computed {type(computed).__name__} where true/false was published"
        return ("reproduced", None) if computed == published else ("differs", None)
    if not _is_number(computed):
        return "differs", f"computed value {computed!r} is not a number"
    diff = abs(computed - published)
    if "exact" in tolerance:
        ok = computed == published
    elif "absolute" in tolerance:
        ok = diff <= tolerance["absolute"] * (1 + _EPS) + 1e-12
    else:
        ok = diff <= tolerance["relative"] * abs(published) * (1 + _EPS) + 1e-12
    return ("reproduced", None) if ok else ("differs", None)


def read_results(results_dir: str | Path) -> tuple[dict[str, dict], dict[str, dict]]:
    """``({key: entry}, {key: the results file's data block})`` for a run."""
    entries: dict[str, dict] = {}
    data: dict[str, dict] = {}
    for f in sorted(Path(results_dir).glob("*.json")):
        doc = json.loads(f.read_text(encoding="utf-8"))
        block = dict(doc.get("data") or {})
        block["_chapter"] = doc.get("chapter") or f.stem
        for k, v in (doc.get("results") or {}).items():
            entries[k] = v
            data[k] = block
    return entries, data


def run_synthetic_flag(data_blocks: list[dict]) -> bool | None:
    """The run's synthetic flag from its results files: True/False if they agree, else None."""
    flags = {b.get("synthetic") for b in data_blocks}
    return flags.pop() if len(flags) == 1 else None


def claim_data(registry_data: str, synthetic: bool | None) -> str:
    """``real`` or ``synthetic`` for one checked claim (see the module docstring)."""
    if registry_data == "real" or synthetic is False:
        return "real"
    return "synthetic"


def check(registry: list[dict], results: dict[str, dict],
          data_blocks: dict[str, dict] | None = None, skipped: dict[str, dict] | None = None) -> list[dict]:
    """Compare every registry entry with the run's ``results`` (``{key: entry}``).

    ``data_blocks`` maps a results key to the ``data`` block of the file that holds it
    (:func:`read_results`); claims whose key is missing take the run's flag from the other files.
    ``skipped`` (:func:`rrlib.results.load_skipped`) gives the reason a chapter section was not
    computed; a claim under it is *not computed* with that reason.
    """
    data_blocks = data_blocks or {}
    by_chapter: dict[str, dict] = {}
    for b in data_blocks.values():
        by_chapter.setdefault(b.get("_chapter"), b)
    run_flag = run_synthetic_flag(list(by_chapter.values())) if by_chapter else None
    out = []
    for c in registry:
        entry = results.get(c["key"])
        computed = entry.get("value") if isinstance(entry, dict) else None
        if isinstance(computed, float) and not math.isfinite(computed):
            computed = None
        if entry is None:
            why = skip_reason(c["key"], skipped or {})
            status, reason = "not computed", (f"section not computed ({why})" if why
                                              else f"no results key {c['key']} in this run")
        else:
            status, reason = compare_value(c["published"], computed, c["tolerance"])
        block = data_blocks.get(c["key"]) or by_chapter.get(c["key"].split(".")[0])
        synthetic = block.get("synthetic") if block else run_flag
        row = {
            "id": c["id"], "part": c["part"], "chapter": c["chapter"], "statement": c["statement"],
            "published": c["published"], "computed": computed, "unit": c["unit"],
            "tolerance": c["tolerance"], "status": status,
            "data": claim_data(c["data"], synthetic), "key": c["key"], "source": c["source"],
        }
        if isinstance(entry, dict):
            for f in ("lower", "upper", "method", "n"):
                if entry.get(f) is not None:
                    row[f] = entry[f]
        if status != "not computed" and _is_number(computed) and _is_number(c["published"]):
            row["difference"] = computed - c["published"]
        if reason:
            row["reason"] = reason
        if c.get("expected"):
            row["expected"] = c["expected"]
        if c.get("note"):
            row["note"] = c["note"]
        if c.get("official_source"):
            row["official_source"] = c["official_source"]
        row["_registry_data"] = c["data"]
        out.append(row)
    return out


def expected_status(row: dict) -> str:
    """The outcome the registry expects for a claim: ``reproduced`` unless it says ``differs``."""
    return row.get("expected") or "reproduced"


def strict_failures(rows: list[dict], *, default_data: bool) -> list[dict]:
    """Claims whose outcome is not the expected one: they make ``rr claims --strict`` fail.

    Every claim has an expected outcome: ``reproduced``, or ``differs`` where the registry says so
    (a published figure known to differ from the official statistic, with the likeliest reason).
    Parts checked on real public statistics must have their expected outcome on any data folder
    (the shipped cuts are the same); parts reproduced on synthetic data only on the default data.
    A claim expected to differ that is reproduced is also a failure: the registry is then wrong.
    """
    bad = []
    for r in rows:
        if r["status"] == expected_status(r):
            continue
        if default_data or r.get("_registry_data", r["data"]) == "real":
            bad.append(r)
    return bad


def official_rows(rows: list[dict]) -> list[dict]:
    """The claim parts checked against official statistics (``data: real`` in the registry)."""
    return [r for r in rows if r.get("_registry_data", r.get("registry_data", r["data"])) == "real"]


def official_summary(rows: list[dict]) -> dict:
    """Outcomes of the parts checked on official statistics: reproduced / differs / not checkable."""
    out = {"reproduced": 0, "differs": 0, "not checkable": 0}
    for r in official_rows(rows):
        out["not checkable" if r["status"] == "not computed" else r["status"]] += 1
    return out


def summary(rows: list[dict]) -> dict:
    """How many claims have each status, overall and by what they were recomputed from (``data``)."""
    counts = {s: 0 for s in STATUSES}
    by_data = {d: {s: 0 for s in STATUSES} for d in DATA_KINDS}
    for r in rows:
        counts[r["status"]] += 1
        by_data[r["data"]][r["status"]] += 1
    return {"total": len(rows), "status": counts, "by_data": by_data}


# --------------------------------------------------------------------------------------------
# a run's claims
# --------------------------------------------------------------------------------------------
def run_check(lay: paths.Layout, registry_file: str | Path | None = None) -> tuple[list[dict], bool | None]:
    """Check the registry against a run's results: ``(rows, run synthetic flag)``."""
    registry = load_registry(registry_file)
    results, blocks = read_results(lay.results_dir)
    rows = check(registry, results, blocks, load_skipped(lay.results_dir))
    synthetic = run_synthetic_flag(list({b["_chapter"]: b for b in blocks.values()}.values())) \
        if blocks else None
    if not blocks:
        synthetic = manifest.is_synthetic(lay.data_dir) if lay.data_dir.exists() else None
    return rows, synthetic


def public_rows(rows: list[dict]) -> list[dict]:
    """The rows as written to ``claims.json`` and shown in the report: internal fields dropped, the
    registry's ``data`` kept as ``registry_data``."""
    out = []
    for r in rows:
        p = {k: v for k, v in r.items() if not k.startswith("_")}
        if "_registry_data" in r:
            p["registry_data"] = r["_registry_data"]
        out.append(p)
    return out


def is_default_data(lay: paths.Layout) -> bool:
    """Whether a run reads the shipped data folder (wherever it writes)."""
    return lay.data_dir == paths.DEFAULT_DATA_DIR.resolve()


# --------------------------------------------------------------------------------------------
# merging the chapter engineers' fragments into claims.yml
# --------------------------------------------------------------------------------------------
REGISTRY_HEADER = """\
# The registry of published figures this compendium recomputes (rr claims checks it).
# One entry per published figure (multi-part figures: same id, distinct part), in the order of
# the reference list of published figures (A: programme documents, B: public figures found
# elsewhere, C: DfE exclusion statistics). Fields: see rrlib/claims.py.
#   published: the published value (number or true/false), in `unit`
#   key:       the results key (<out>/results/<chapter>.json) it is checked against
#   data:      real (recomputed from real public statistics) | synthetic (reproduced on data calibrated to it)
#   expected:  optional; `differs` when the default data is known not to reproduce it (note says why)
"""


def dump_registry(entries: list[dict]) -> str:
    """The registry as YAML: one block per claim, fields in the conventional order, a blank line
    between claims, tolerances in flow style (``{relative: 0.01}``, ``exact``)."""
    blocks = []
    for e in entries:
        e = dict(e)
        tol = e.get("tolerance")
        if isinstance(tol, dict) and "exact" in tol:
            e["tolerance"] = "exact"
        lines = []
        for k in [*FIELDS, *OPTIONAL_FIELDS]:
            if k not in e or (k in OPTIONAL_FIELDS and e[k] is None):
                continue
            if isinstance(e[k], dict):
                text = f"{k}: " + yaml.safe_dump(e[k], default_flow_style=True, width=1000).strip() + "\n"
            else:
                text = yaml.safe_dump({k: e[k]}, sort_keys=False, allow_unicode=True, width=100,
                                      default_flow_style=False)
            lines += text.rstrip("\n").split("\n")
        blocks.append("\n".join(("- " if i == 0 else "  ") + ln for i, ln in enumerate(lines)))
    return REGISTRY_HEADER + "\n" + "\n\n".join(blocks) + "\n"


def merge_fragments(fragments_dir: str | Path, registry_file: str | Path | None = None, *,
                    keep_unclaimed: bool = True) -> tuple[list[dict], list[str]]:
    """Merge ``<fragments_dir>/*.yml`` into the registry; return ``(entries, messages)``.

    A fragment's entries replace every registry entry with the same reference id (A01, ..., and
    every ``C-...`` for C): the chapter engineer's keys and parts win. Ids no fragment mentions are kept
    (``keep_unclaimed``) or dropped.
    Invalid fragments are reported and skipped whole. Entries come out in reference order.
    """
    registry_file = Path(registry_file) if registry_file else paths.CLAIMS_FILE
    msgs: list[str] = []
    current = load_registry(registry_file) if registry_file.exists() else []
    frag_entries: list[dict] = []
    for f in sorted(Path(fragments_dir).glob("*.yml")):
        try:
            doc = yaml.safe_load(f.read_text(encoding="utf-8"))
            entries = validate_entries(doc or [], where=str(f))
        except (ClaimsError, yaml.YAMLError) as exc:
            msgs.append(f"SKIPPED {exc}")
            continue
        msgs.append(f"{f.name}: {len(entries)} entries ({', '.join(sorted({e['id'] for e in entries}))})")
        frag_entries.extend(entries)
    claimed = {base_id(e["id"]) for e in frag_entries}
    kept = [e for e in current if base_id(e["id"]) not in claimed] if keep_unclaimed else []
    merged = kept + frag_entries
    merged = [e for _, e in sorted(enumerate(merged), key=lambda t: (order_key(t[1]["id"]),
                                                                       t[1]["id"], t[0]))]
    validate_entries(merged, where="merged registry")
    return merged, msgs


def _cli(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m rrlib.claims")
    sub = p.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("merge", help="merge claims fragments (<dir>/*.yml) into claims.yml")
    m.add_argument("fragments_dir")
    m.add_argument("--registry", default=None)
    m.add_argument("--drop-unclaimed", action="store_true",
                   help="drop registry entries whose id no fragment mentions")
    m.add_argument("--dry-run", action="store_true")
    v = sub.add_parser("validate", help="validate claims.yml")
    v.add_argument("--registry", default=None)
    args = p.parse_args(argv)
    try:
        if args.cmd == "validate":
            entries = load_registry(args.registry)
            print(f"{args.registry or paths.CLAIMS_FILE}: {len(entries)} claims, valid")
            return 0
        merged, msgs = merge_fragments(args.fragments_dir, args.registry,
                                       keep_unclaimed=not args.drop_unclaimed)
    except ClaimsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print("\n".join(msgs))
    target = Path(args.registry) if args.registry else paths.CLAIMS_FILE
    if args.dry_run:
        print(dump_registry(merged))
    else:
        atomic_write_text(target, dump_registry(merged))
        print(f"wrote {target}: {len(merged)} claims")
    return 0


if __name__ == "__main__":
    sys.exit(_cli())
