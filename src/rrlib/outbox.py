"""``make outbox``: what a trusted research environment's output checkers review, in ``<out>/outbox/``.

Contents:

``tables/<name>.csv`` + ``<name>.disclosure.json`` + ``<name>.provenance.json``
    every table of ``<out>/tables/`` that passes the re-check below, with the record of what
    disclosure control suppressed (``rrlib.disclosure``) and a trimmed provenance (chapter,
    notebook, parameters, data flag; no paths).
``figures/<name>.svg`` + ``<name>.png`` + ``<name>.disclosure.json``
    every figure of the run, as SVG and as PNG (ACRO refuses SVG; the PNG is rendered from the
    SVG with cairosvg and written without metadata, so the same SVG gives the same bytes), with a
    record of the checks run on the counts behind it (Kaplan-Meier curves; a figure's data file
    ``<name>.data.csv``, re-checked with ACRO like a table and released beside it) or saying that
    it is for manual review.
``acro/``
    an ACRO ``finalise`` bundle (``results.json``, the files, ``checksums/``, ``config.json``;
    SACRO's Python package ``acro``): every released table and figure registered, each table
    with its disclosure record and the outcome of the ACRO re-check as comments.
``README.md``, ``withheld.json``
    what is in the outbox and what was withheld, and why.

The re-check: the counts a chapter handed to ``publish`` (kept in ``<out>/private/counts/`` by
:mod:`rrlib.tre`) are tabulated again with ``acro.ACRO.crosstab`` (frequency table, ACRO's
default rules: minimum cell count ``safe_threshold`` 10, zeros flagged for review). A table is
withheld when a cell ACRO fails for being below the threshold (1-9) is shown in the published
table instead of suppressed, when its counts or disclosure record are missing, or when a
``dof_resid`` column shows fewer residual degrees of freedom than ACRO's ``safe_dof_threshold``.
The Kaplan-Meier curves of the self-harm chapter are recomputed from the processed tables with
the notebook's parameters and re-checked with ``acro.ACRO.surv_func`` (ACRO's survival rules);
a curve ACRO fails is withheld. ``results/*.json``, executed notebooks, the report and
``private/`` never go into the outbox, and nothing in it may contain an absolute path (checked
after writing; a hit stops the build).

Reference: Smith J, Preen RJ, Albashir M et al., SACRO: Semi-Automated Checking of Research
Outputs (ACRO, PyPI ``acro``; its ``default.yaml`` gives safe_threshold 10, safe_dof_threshold 10,
zeros_are_disclosive true, survival_safe_threshold 10).
"""
from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import re
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from . import manifest, paths
from .chapters import selfharm as S
from .data import load
from .figures import DATA_SUFFIX
from .io import atomic_write_text, write_json
from .tre import counts_dir

OUTBOX = "outbox"
#: When a table's counts are rebuilt as records for ACRO, a cell above ``CAP_FACTOR`` x ACRO's
#: safe_threshold is represented by that many records: ACRO's frequency-table checks (minimum
#: threshold, zeros, linked tables) ask only whether a cell is 0, below the threshold or not, so
#: the flags are the same as with every record, and national-scale counts stay cheap to check.
CAP_FACTOR = 10


class OutboxError(RuntimeError):
    """The outbox cannot be built (no ACRO, a path in an output, ...)."""


@dataclass
class Verdict:
    name: str
    release: bool
    reasons: list[str] = field(default_factory=list)
    acro: dict = field(default_factory=dict)


def _acro():
    try:
        import acro  # noqa: F401
    except ImportError as exc:  # pragma: no cover - acro is in the lock
        raise OutboxError(f"the ACRO package is not installed ({exc}); `make setup` installs it (PyPI acro)")
    for name in [n for n in logging.root.manager.loggerDict if n.startswith("acro")] + ["acro"]:
        logging.getLogger(name).setLevel(logging.WARNING)  # ACRO logs every step at INFO
    return acro


@contextlib.contextmanager
def _quiet_in(path: Path):
    """Run ACRO inside ``path`` (so every file name it records is relative) without its chatter."""
    old = os.getcwd()
    os.chdir(path)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        os.chdir(old)


def _last(session) -> object:
    return list(session.results.results.values())[-1]


# --------------------------------------------------------------------------- the table re-check


def recheck_table(counts: pd.DataFrame, count_cols: list[str], published: pd.DataFrame) -> dict:
    """Re-check the counts behind a published table with ACRO's frequency-table rules.

    ``counts``: the table as handed to ``publish`` (one row per published row, same order);
    ``published``: the table as written. Returns ``{"status", "summary", "threshold_cells",
    "zero_cells", "shown_below_threshold", "not_frequencies", "capped"}`` where cells are
    ``{"row": i, "column": c}`` (positions, never values). Cells above ``CAP_FACTOR`` times the
    threshold are represented by that many records (same flags; see :data:`CAP_FACTOR`).
    """
    acro = _acro()
    if len(counts) != len(published):
        raise OutboxError("the kept counts and the published table have different numbers of rows")
    freq, not_freq = [], []
    for c in count_cols:
        v = pd.to_numeric(counts[c], errors="coerce")
        ok = v.dropna()
        (freq if ((ok >= 0) & (ok % 1 == 0)).all() else not_freq).append(c)
    out = {"status": "pass", "summary": "", "threshold_cells": [], "zero_cells": [],
           "shown_below_threshold": [], "not_frequencies": not_freq, "capped": False}
    if not freq:
        out["status"] = "review"
        out["summary"] = "no integer count columns: nothing for ACRO's frequency checks"
        return out
    vals = np.column_stack([pd.to_numeric(counts[c], errors="coerce").to_numpy(dtype=float) for c in freq])
    vals = np.nan_to_num(vals, nan=0.0).astype(np.int64)
    session = acro.ACRO(suppress=False)
    cap = CAP_FACTOR * int(session.config.get("safe_threshold", 10))
    out["capped"] = bool((vals > cap).any())
    vals = np.minimum(vals, cap)
    rows = np.repeat(np.arange(len(counts)), vals.sum(axis=1))
    cols = np.concatenate([np.repeat(np.arange(len(freq)), vals[i]) for i in range(len(counts))]) \
        if len(counts) else np.array([], dtype=int)
    row_lab = pd.Series(rows, name="row")
    col_lab = pd.Series(cols, name="column")
    with contextlib.redirect_stdout(io.StringIO()):
        table = session.crosstab(row_lab, col_lab)
    rec = _last(session)
    cells = (rec.sdc or {}).get("cells", {})
    present_rows = [int(r) for r in table.index]
    present_cols = [int(c) for c in table.columns]
    thr = session.config.get("safe_threshold", 10)
    for kind, key in (("MinimumThresholdCheck", "threshold_cells"), ("PresenceOfZeroCheck", "zero_cells")):
        for i, j in cells.get(kind, []) or []:
            r, c = present_rows[int(i)], present_cols[int(j)]
            n = int(vals[r, c])
            if key == "threshold_cells" and n == 0:
                continue  # zeros are ACRO's PresenceOfZeroCheck, reported there
            out[key].append({"row": r, "column": freq[c]})
            if key == "threshold_cells":
                shown = str(published.iloc[r][freq[c]]).strip()
                if shown != "c":
                    out["shown_below_threshold"].append({"row": r, "column": freq[c]})
    out["status"] = rec.status
    out["summary"] = rec.summary.strip()
    out["safe_threshold"] = thr
    return out


def _dof_problems(counts: pd.DataFrame, dof_threshold: int) -> list[str]:
    if "dof_resid" not in counts.columns:
        return []
    d = pd.to_numeric(counts["dof_resid"], errors="coerce")
    bad = d.notna() & (d < dof_threshold)
    return [f"{int(bad.sum())} model row(s) with residual degrees of freedom below {dof_threshold} "
            "(ACRO safe_dof_threshold)"] if bad.any() else []


# --------------------------------------------------------------------------- Kaplan-Meier


def km_inputs(lay) -> tuple[dict[str, pd.DataFrame], dict] | None:
    """The self-harm chapter's re-presentation times by group, recomputed from the processed
    tables with the notebook's parameters (from its Kaplan-Meier figure's sidecar)."""
    side = sorted(lay.figures_dir.glob("selfharm_km*.json"))
    if not side:
        return None
    params = json.loads(side[0].read_text()).get("parameters") or {}

    kw = {k: params[k] for k in ("age_min", "age_max", "prior_days") if params.get(k) is not None}
    try:
        ed = load("ed_attendances", lay.processed_dir)
        sup = load("selfharm_support", lay.processed_dir)
    except (FileNotFoundError, OSError):
        return None
    cohort = S.support_cohort(ed, sup, **kw)
    reps = S.representations(cohort, ed)
    return {str(g): d for g, d in reps.groupby("group", sort=True)}, params


def recheck_km(groups: dict[str, pd.DataFrame]) -> dict:
    acro = _acro()
    session = acro.ACRO(suppress=False)
    out = {}
    for g, d in groups.items():
        with contextlib.redirect_stdout(io.StringIO()):
            session.surv_func(d["days"].reset_index(drop=True), d["event"].reset_index(drop=True), output="table")
        rec = _last(session)
        out[g] = {"status": rec.status, "summary": rec.summary.strip(), "n": int(len(d)),
                  "events": int(d["event"].sum())}
    return out


# --------------------------------------------------------------------------- paths and provenance

_ABS = re.compile(r"(?<![\w.~-])/(?:home|tmp|work|mnt|srv|secure|Users|var|opt|root|data|media|private)/[^\s\"',;)]*")


def _portable(obj):
    """Path-like strings reduced to their last part (a secure path never leaves)."""
    if isinstance(obj, dict):
        return {k: _portable(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_portable(v) for v in obj]
    if isinstance(obj, str) and (obj.startswith("/") or re.match(r"^[A-Za-z]:\\", obj)):
        return Path(obj).name
    return obj


def _provenance(sidecar: Path) -> dict:
    if not sidecar.exists():
        return {}
    doc = json.loads(sidecar.read_text())
    keep = {k: doc.get(k) for k in ("file", "sha256", "chapter", "notebook", "parameters", "disclosure")}
    data = doc.get("data") or {}
    keep["data"] = {"name": data.get("name"), "synthetic": data.get("synthetic")}
    return _portable(keep)


def scan_for_paths(folder: Path, extra: list[str] = ()) -> list[str]:
    """Every text file in ``folder`` containing an absolute path (or one of ``extra``)."""
    hits = []
    needles = [s for s in extra if s and len(s) > 1]
    for p in sorted(folder.rglob("*")):
        if not p.is_file() or p.suffix.lower() == ".png":
            continue
        text = p.read_bytes().decode("utf-8", errors="replace")
        m = _ABS.search(text)
        found = m.group(0) if m else next((n for n in needles if n in text), None)
        if found:
            hits.append(f"{p.relative_to(folder)}: {found[:80]}")
    return hits


def svg_to_png(svg: Path, png: Path, scale: float = 2.0) -> None:
    """PNG of an SVG figure (cairosvg), re-encoded without metadata (Pillow): deterministic."""
    try:
        import cairosvg
        from PIL import Image
    except (ImportError, OSError) as exc:
        raise OutboxError(f"cannot render PNG figures ({exc}): `make setup` installs cairosvg; it needs the "
                          "cairo library (Debian/Ubuntu: apt-get install libcairo2)") from None
    # with the file's url cairosvg caches each <use>d element (matplotlib's glyphs and markers) by id;
    # without one it searches the whole tree again for every <use>: same PNG bytes, half the time
    raw = cairosvg.svg2png(bytestring=svg.read_bytes(), url=str(svg), scale=scale)
    img = Image.open(io.BytesIO(raw))
    img.load()
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=False)  # no text chunks: no Software, no dates
    png.write_bytes(buf.getvalue())


# --------------------------------------------------------------------------- build


def _acro_bundle(acro, tmp: Path, verdicts: list[Verdict]) -> None:
    """ACRO's finalised bundle in ``tmp``: every released table and figure (and a figure's data) with its
    disclosure record and the ACRO re-check as comments."""
    session = acro.ACRO(suppress=False)
    with _quiet_in(tmp):
        for v in verdicts:
            if not v.release:
                continue
            if v.name.startswith("tables/"):
                rec = json.loads(Path(v.name[:-4] + ".disclosure.json").read_text())
                session.custom_output(v.name, comment=f"published table ({rec['rules']['preset']} preset)")
                uid = f"output_{session.results.output_id - 1}"
                session.add_comments(uid, "disclosure record: "
                                     + json.dumps(rec, sort_keys=True, separators=(",", ":")))
                a = v.acro
                session.add_comments(uid, f"ACRO re-check of the counts behind the table: status {a.get('status')}; "
                                          f"cells below threshold {len(a.get('threshold_cells', []))}, all suppressed "
                                          f"in the table; zero cells {len(a.get('zero_cells', []))} (for review). "
                                          + a.get("summary", "").replace("\n", " "))
            else:
                png = v.name[:-4] + ".png"
                session.custom_output(png, comment="figure (PNG of the SVG in figures/)")
                uid = f"output_{session.results.output_id - 1}"
                rec = json.loads(Path(v.name[:-4] + ".disclosure.json").read_text())
                session.add_comments(uid, "disclosure record: "
                                     + json.dumps(rec, sort_keys=True, separators=(",", ":")))
                if rec.get("data"):  # the data the figure draws, re-checked like a table
                    session.rename_output(uid, v.name.replace("/", "_"))
                    data = f"figures/{rec['data']}"
                    session.custom_output(data, comment="the data the figure draws (disclosure-controlled)")
                    uid = f"output_{session.results.output_id - 1}"
                    a = rec.get("acro_data_check") or {}
                    session.add_comments(uid, f"ACRO re-check of the counts behind the figure's data: status "
                                              f"{a.get('status')}. " + a.get("summary", "").replace("\n", " "))
                    session.rename_output(uid, data.replace("/", "_"))
                    continue
            session.rename_output(uid, v.name.replace("/", "_"))
        if not any(v.release for v in verdicts):
            raise OutboxError("nothing to release: no table or figure passed the checks")
        session.finalise("acro", "json")


def build(data_dir=None, out_dir=None) -> tuple[Path, list[Verdict]]:
    """Build ``<out>/outbox/`` for the run of ``data_dir`` / ``out_dir``; returns (folder, verdicts)."""
    acro = _acro()
    lay = paths.layout(data_dir, out_dir)
    tables_dir, figs_dir = lay.tables_dir, lay.figures_dir
    box = lay.out_dir / OUTBOX
    tmp = lay.out_dir / f".{OUTBOX}.tmp"
    if tmp.exists():
        shutil.rmtree(tmp)
    (tmp / "tables").mkdir(parents=True)
    (tmp / "figures").mkdir()
    doc = manifest.read(lay.data_dir) if lay.data_dir.exists() else {}
    synthetic = doc.get("synthetic")
    verdicts: list[Verdict] = []
    dof_threshold = int(acro.ACRO(suppress=False).config.get("safe_dof_threshold", 10))

    # ---- tables
    for csv in sorted(tables_dir.glob("*.csv")) if tables_dir.exists() else []:
        name = csv.stem
        v = Verdict(name=f"tables/{name}.csv", release=True)
        rec_path = tables_dir / f"{name}.disclosure.json"
        kept = counts_dir(lay.out_dir) / f"{name}.csv"
        kept_spec = counts_dir(lay.out_dir) / f"{name}.json"
        if not rec_path.exists():
            v.release, v.reasons = False, ["no disclosure record (the table did not go through rrlib.disclosure)"]
        elif not kept.exists() or not kept_spec.exists():
            v.release, v.reasons = False, ["no kept counts to re-check (rerun the chapter: `make all`)"]
        else:
            record = json.loads(rec_path.read_text())
            counts = pd.read_csv(kept)
            published = pd.read_csv(csv, dtype=str, keep_default_na=False)
            count_cols = [c for c in record.get("counts", []) if c in counts.columns]
            try:
                chk = recheck_table(counts, count_cols, published)
            except OutboxError as exc:
                chk = {"status": "fail", "summary": str(exc), "shown_below_threshold": []}
                v.reasons.append(str(exc))
            v.acro = chk
            if chk.get("shown_below_threshold"):
                cells = ", ".join(f"row {c['row']} {c['column']}" for c in chk["shown_below_threshold"][:8])
                v.reasons.append(f"ACRO MinimumThresholdCheck: {len(chk['shown_below_threshold'])} cell(s) below "
                                 f"{chk.get('safe_threshold', 10)} shown unsuppressed ({cells}); rerun with "
                                 "DISCLOSURE=tre")
            v.reasons += _dof_problems(counts, dof_threshold)
            v.release = not v.reasons
            if v.release:
                shutil.copy2(csv, tmp / "tables" / csv.name)
                write_json(tmp / "tables" / f"{name}.disclosure.json", _portable(record))
                write_json(tmp / "tables" / f"{name}.provenance.json",
                           _provenance(tables_dir / f"{name}.json"))
        verdicts.append(v)

    # ---- Kaplan-Meier re-check
    km = km_inputs(lay) if figs_dir.exists() else None
    km_check = recheck_km(km[0]) if km else None

    # ---- figures
    for svg in sorted(figs_dir.glob("*.svg")) if figs_dir.exists() else []:
        name = svg.stem
        v = Verdict(name=f"figures/{name}.svg", release=True)
        record = {"figure": svg.name, "png": f"{name}.png", "synthetic": synthetic,
                  "provenance": _provenance(figs_dir / f"{name}.json")}
        if name.startswith("selfharm_km"):
            if km_check is None:
                v.release, v.reasons = False, ["the counts behind the Kaplan-Meier curves could not be recomputed"]
            else:
                record["acro_survival_check"] = km_check
                failed = [g for g, r in km_check.items() if r["status"] == "fail"]
                if failed:
                    v.release = False
                    why = "; ".join(sorted({" ".join(km_check[g]["summary"].split()) for g in failed}))
                    v.reasons.append(f"ACRO survival check fails for group(s) {', '.join(failed)} ({why})")
            v.acro = record.get("acro_survival_check", {})
        elif (figs_dir / f"{name}{DATA_SUFFIX}.csv").exists():
            # the data the figure draws (rrlib.chapter.Chapter.figure_data): re-checked with ACRO like a table
            data = figs_dir / f"{name}{DATA_SUFFIX}.csv"
            rec_path = figs_dir / f"{name}{DATA_SUFFIX}.disclosure.json"
            kept = counts_dir(lay.out_dir) / f"{name}{DATA_SUFFIX}.csv"
            if not rec_path.exists() or not kept.exists():
                v.release = False
                v.reasons.append("the figure's data has no disclosure record or kept counts to re-check")
            else:
                drec = json.loads(rec_path.read_text())
                counts = pd.read_csv(kept)
                published = pd.read_csv(data, dtype=str, keep_default_na=False)
                try:
                    chk = recheck_table(counts, [c for c in drec.get("counts", []) if c in counts.columns], published)
                except OutboxError as exc:
                    chk = {"status": "fail", "summary": str(exc), "shown_below_threshold": []}
                    v.reasons.append(str(exc))
                v.acro = chk
                record["data"] = data.name
                record["acro_data_check"] = chk
                if chk.get("shown_below_threshold"):
                    v.reasons.append(f"ACRO MinimumThresholdCheck on the figure's data: "
                                     f"{len(chk['shown_below_threshold'])} cell(s) below "
                                     f"{chk.get('safe_threshold', 10)} shown; rerun with DISCLOSURE=tre")
                v.release = not v.reasons
                if v.release:
                    shutil.copy2(data, tmp / "figures" / data.name)
                    write_json(tmp / "figures" / f"{name}{DATA_SUFFIX}.disclosure.json", _portable(drec))
        else:
            record["checks"] = ("no automated check of the counts behind this figure: for the output "
                                "checker's review (the tables it draws on are in tables/)")
        if v.release:
            shutil.copy2(svg, tmp / "figures" / svg.name)
            svg_to_png(svg, tmp / "figures" / f"{name}.png")
            write_json(tmp / "figures" / f"{name}.disclosure.json", record)
        verdicts.append(v)

    _acro_bundle(acro, tmp, verdicts)  # ACRO finalise bundle: every released table and figure

    withheld = [{"output": v.name, "reasons": v.reasons} for v in verdicts if not v.release]
    write_json(tmp / "withheld.json", {"withheld": withheld})
    released = [v.name for v in verdicts if v.release]
    atomic_write_text(tmp / "README.md", _readme(released, withheld, synthetic))
    hits = scan_for_paths(tmp, extra=[str(lay.data_dir), str(lay.out_dir), str(paths.ROOT)])
    if hits:
        shutil.rmtree(tmp)
        raise OutboxError("an absolute path would leave in the outbox (nothing written):\n  " + "\n  ".join(hits))
    if box.exists():
        shutil.rmtree(box)
    tmp.rename(box)
    return box, verdicts


def _readme(released: list[str], withheld: list[dict], synthetic) -> str:
    lines = ["# Outbox for the output checkers", ""]
    if synthetic:
        lines += ["**Made from SYNTHETIC data** (the compendium's calibrated synthetic set): nothing here is "
                  "about real people.", ""]
    lines += ["Everything in this folder is proposed for release; nothing else of the run is "
              "(results/*.json, executed notebooks, the report and private/ stay in the environment).", "",
              "* `tables/`: each table with `.disclosure.json` (what rrlib.disclosure suppressed) and "
              "`.provenance.json`.",
              "* `figures/`: each figure as SVG and PNG with `.disclosure.json`.",
              "* `acro/`: the ACRO finalise bundle (`results.json`); tables carry their disclosure record "
              "and the ACRO re-check of their counts as comments.",
              "* `withheld.json`: outputs kept back and why.", "",
              f"Released: {len(released)} outputs. Withheld: {len(withheld)}.", ""]
    for w in withheld:
        lines.append(f"* withheld `{w['output']}`: {'; '.join(w['reasons'])}")
    return "\n".join(lines) + "\n"


def main(data_dir=None, out_dir=None) -> int:
    """``rr outbox``: build the outbox and print a summary; 1 on error."""
    try:
        box, verdicts = build(data_dir, out_dir)
    except OutboxError as exc:
        print(f"rr outbox: error: {exc}", file=sys.stderr, flush=True)
        return 1
    rel = sum(v.release for v in verdicts)
    print(f"[rr outbox] {box.name}/: {rel} outputs released, {len(verdicts) - rel} withheld "
          f"(see {box.name}/withheld.json); ACRO bundle in {box.name}/acro/", flush=True)
    for v in verdicts:
        if not v.release:
            print(f"[rr outbox]   withheld {v.name}: {'; '.join(v.reasons)}", flush=True)
    return 0
