"""``rr bench`` / ``make bench``: how fast the compendium reruns, and how rrlib scales.

Writes ``reports/bench.json`` and ``reports/bench.md`` with

* the Make pipeline: a full ``make all`` from a clean tree (environment installed), a no-op ``make all``,
  and a one-chapter rebuild after touching one notebook;
* per chapter: wall time of the papermill run, time spent executing cells (the work: rrlib calls and
  plotting), and the rest (kernel start-up and papermill overhead);
* rrlib's heavy steps (validation, cleaning, WMF scoring, exclusion rates, DSR, Kaplan-Meier) at
  scale 1, 10 and 100 of the synthetic data, each in a fresh process with its peak memory, and the
  growth ratio time(10x)/time(1x). Scale k is the shipped (scale 1) data replicated k times with
  distinct identifiers: the same rows a ``rr synth --scale k`` folder has in number, without spending
  the benchmark's time generating and writing gigabytes of CSV;
* the naive baseline a compendium usually has: every notebook executed in turn with
  ``jupyter nbconvert --execute``, and the ratio of our full run to it.
"""
from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from . import paths
from .io import dumps, write_json, atomic_write_text

STEPS = ("validate", "clean", "score_wmf", "exclusion_rates", "dsr", "kaplan_meier")
ID_COLUMNS = ("pupil_id", "exclusion_id", "person_id", "response_id", "respondent_id",
              "attendance_id", "admission_id", "episode_id", "assessment_id", "goal_id")


# ----------------------------------------------------------------------------- replication

def replicate(df: pd.DataFrame, k: int) -> pd.DataFrame:
    """``df`` stacked ``k`` times, identifiers made distinct per copy (``P0001`` -> ``P0001r3``)."""
    if k == 1:
        return df
    out = pd.concat([df] * k, ignore_index=True)
    copy = np.repeat(np.arange(k), len(df))
    suffix = pd.Series(np.char.add("r", copy.astype(str)), index=out.index)
    for c in ID_COLUMNS:
        if c in out.columns:
            s = out[c].astype("string")
            out[c] = (s + suffix).where(s.notna() & (copy > 0), s)
    return out


def _raw(tables: list[str], k: int) -> dict[str, pd.DataFrame]:
    from .data import read_raw

    return {t: replicate(read_raw(paths.DEFAULT_DATA_DIR, t), k) if t != "schools"
            else read_raw(paths.DEFAULT_DATA_DIR, t) for t in tables}


# ----------------------------------------------------------------------------- the steps
# Each prepares its input (untimed), then times the rrlib work.

def step_validate(k: int) -> float:
    from .data import validate

    raw = _raw(["schools", "pupils", "exclusions"], k)
    with tempfile.TemporaryDirectory(prefix="rr-bench-") as d:
        for name, df in raw.items():
            df.to_csv(Path(d) / f"{name}.csv", index=False)
        t0 = time.perf_counter()
        validate(d, only=list(raw))
        return time.perf_counter() - t0


def step_clean(k: int) -> float:
    from .data import education

    raw = _raw(["schools", "pupils", "exclusions", "school_attendance", "population"], k)
    t0 = time.perf_counter()
    education.prepare(raw)
    return time.perf_counter() - t0


def step_score_wmf(k: int) -> float:
    from .instruments import sdq, srs, swemwbs

    df = _raw(["wmf_survey"], k)["wmf_survey"]
    t0 = time.perf_counter()
    sdq.score(df)
    swemwbs.score(df)
    srs.score(df)
    return time.perf_counter() - t0


def step_exclusion_rates(k: int) -> float:
    """DfE rates by year and characteristic from the census and exclusions (rrlib.stats intervals)."""
    from .stats import proportion_ci, rate_ci

    raw = _raw(["pupils", "exclusions"], k)
    pupils, excl = raw["pupils"], raw["exclusions"]
    t0 = time.perf_counter()
    head = pupils.groupby(["academic_year", "sex", "fsm"]).size().rename("headcount")
    susp = excl[excl["category"] == "suspension"]
    keyed = susp.merge(pupils[["pupil_id", "academic_year", "sex", "fsm"]],
                       on=["pupil_id", "academic_year"], how="left")
    n_susp = keyed.groupby(["academic_year", "sex", "fsm"]).size().rename("suspensions")
    one_plus = keyed.drop_duplicates(["pupil_id", "academic_year"]).groupby(
        ["academic_year", "sex", "fsm"]).size().rename("one_plus")
    t = pd.concat([head, n_susp, one_plus], axis=1).fillna(0)
    proportion_ci(t["one_plus"].to_numpy(), t["headcount"].to_numpy(), multiplier=100)
    rate_ci(t["suspensions"].to_numpy(), t["headcount"].to_numpy(), multiplier=100)
    return time.perf_counter() - t0


def step_dsr(k: int) -> float:
    """Self-harm admissions 10-24 by financial year and ESP2013 band -> Dobson DSRs."""
    from .stats import dsr

    raw = _raw(["admissions", "population"], k)
    adm, pop = raw["admissions"], raw["population"]
    t0 = time.perf_counter()
    adm = adm[adm["self_harm"].astype(bool) & adm["age"].between(10, 24)]
    band = pd.cut(adm["age"], [9, 14, 19, 24], labels=["10-14", "15-19", "20-24"])
    fy_col = "financial_year" if "financial_year" in adm.columns else adm.columns[0]
    x = adm.groupby([adm[fy_col], band], observed=False).size().unstack(fill_value=0)
    p = pop[pop["age"].between(10, 24)]
    pband = pd.cut(p["age"], [9, 14, 19, 24], labels=["10-14", "15-19", "20-24"])
    n = p.groupby(pband, observed=False)["population"].sum() * k
    for fy, row in x.iterrows():
        dsr(row.to_numpy(), n.to_numpy(), np.array([5500, 5500, 6000]))
    return time.perf_counter() - t0


def step_kaplan_meier(k: int) -> float:
    """Time from each self-harm A&E attendance to the person's next one (censored at end of data)."""
    from lifelines import KaplanMeierFitter

    ed = _raw(["ed_attendances"], k)["ed_attendances"]
    t0 = time.perf_counter()
    ed = ed[ed["self_harm"].astype(bool)].copy()
    ed["t"] = pd.to_datetime(ed["arrival_datetime"])
    ed = ed.sort_values(["person_id", "t"])
    nxt = ed.groupby("person_id")["t"].shift(-1)
    end = ed["t"].max()
    event = nxt.notna()
    days = ((nxt.where(event, end) - ed["t"]).dt.total_seconds() / 86400).clip(lower=0.01)
    KaplanMeierFitter().fit(days.to_numpy(), event.to_numpy())
    return time.perf_counter() - t0


def run_step(name: str, k: int) -> dict:
    """Run one step at scale ``k`` in a fresh process: seconds and peak resident memory."""
    code = (f"import json, resource; from rrlib import bench; s = bench.step_{name}({k}); "
            "print(json.dumps({'seconds': s, 'peak_rss_mb': "
            "resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))")
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    if proc.returncode != 0:
        return {"step": name, "scale": k, "error": proc.stderr.strip().splitlines()[-1:] or ["failed"],
                "process_seconds": round(time.perf_counter() - t0, 2)}
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    return {"step": name, "scale": k, "seconds": round(out["seconds"], 3),
            "peak_rss_mb": round(out["peak_rss_mb"], 1),
            "process_seconds": round(time.perf_counter() - t0, 2)}


# ----------------------------------------------------------------------------- the pipeline

def _timed(cmd: list[str], **kw) -> tuple[float, subprocess.CompletedProcess]:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=paths.ROOT, **kw)
    return time.perf_counter() - t0, proc


def make_timings(chapter_to_touch: str = "01_reach.ipynb") -> dict:
    out = {}
    make = ["make", "-s"]
    subprocess.run(make + ["clean"], cwd=paths.ROOT, check=True, capture_output=True)
    for label, prep in (("full", None), ("noop", None), ("one_chapter", chapter_to_touch)):
        if prep:
            os.utime(paths.NOTEBOOKS_DIR / prep)
        secs, proc = _timed(make + ["all"])
        out[label] = {"seconds": round(secs, 2), "exit": proc.returncode}
        print(f"[bench] make all ({label}): {secs:.1f} s (exit {proc.returncode})", flush=True)
        if proc.returncode != 0:
            out[label]["stderr_tail"] = proc.stderr[-2000:]
    return out


def chapter_timings(executed_dir: Path) -> list[dict]:
    """From the executed notebooks' papermill metadata: wall, cell time, overhead."""
    rows = []
    for nb in sorted(executed_dir.glob("[0-9][0-9]_*.ipynb")):
        doc = json.loads(nb.read_text(encoding="utf-8"))
        wall = doc.get("metadata", {}).get("papermill", {}).get("duration")
        cells = sum((c.get("metadata", {}).get("papermill", {}).get("duration") or 0)
                    for c in doc["cells"])
        if wall is None:
            continue
        rows.append({"notebook": nb.name, "wall_seconds": round(wall, 2),
                     "cells_seconds": round(cells, 2),
                     "kernel_and_papermill_seconds": round(wall - cells, 2)})
    return rows


def naive_baseline(out_dir: Path) -> dict:
    """Each notebook executed in turn with ``jupyter nbconvert --execute`` (no Make, no parallelism)."""
    times = {}
    env = {**os.environ, "RR_OUT_DIR": str(out_dir)}
    jupyter = str(Path(sys.executable).with_name("jupyter"))
    for nb in sorted(paths.NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb")):
        secs, proc = _timed([jupyter, "nbconvert", "--to", "notebook", "--execute",
                             "--ExecutePreprocessor.timeout=1800", "--output-dir", str(out_dir), str(nb)],
                            env=env)
        times[nb.name] = {"seconds": round(secs, 2), "exit": proc.returncode}
        print(f"[bench] naive {nb.name}: {secs:.1f} s", flush=True)
    return {"per_notebook": times, "total_seconds": round(sum(t["seconds"] for t in times.values()), 2)}


def markdown(doc: dict) -> str:
    lines = ["# Benchmark of the compendium", "",
             f"Machine: {doc['machine']['cores']} cores, {doc['machine']['memory_gb']} GB; "
             f"Python {doc['machine']['python']}.", ""]
    if doc.get("make"):
        lines += ["| make all | seconds |", "|---|---|"]
        lines += [f"| {k} | {v['seconds']} |" for k, v in doc["make"].items()]
        lines += [""]
    if doc.get("naive"):
        lines += [f"Naive serial baseline (nbconvert --execute, every notebook in turn): "
                  f"{doc['naive']['total_seconds']} s; full make all / naive = "
                  f"{doc.get('full_over_naive')}", ""]
    if doc.get("chapters"):
        lines += ["| notebook | wall s | cells s | kernel + papermill s |", "|---|---|---|---|"]
        lines += [f"| {r['notebook']} | {r['wall_seconds']} | {r['cells_seconds']} | "
                  f"{r['kernel_and_papermill_seconds']} |" for r in doc["chapters"]]
        lines += [""]
    if doc.get("steps"):
        lines += ["| step | scale | seconds | peak RSS MB |", "|---|---|---|---|"]
        for r in doc["steps"]:
            lines.append(f"| {r['step']} | {r['scale']} | {r.get('seconds', 'error')} | "
                         f"{r.get('peak_rss_mb', '')} |")
        lines += ["", "| step | time(10x)/time(1x) | time(100x)/time(10x) |", "|---|---|---|"]
        for s, g in doc.get("growth", {}).items():
            lines.append(f"| {s} | {g.get('10/1')} | {g.get('100/10')} |")
    return "\n".join(lines) + "\n"


def main(scales=(1, 10, 100), steps=STEPS, pipeline: bool = True, naive: bool = True) -> int:
    doc: dict = {"machine": {"cores": os.cpu_count(),
                             "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
                             "python": sys.version.split()[0]}}
    if pipeline:
        doc["make"] = make_timings()
        doc["chapters"] = chapter_timings(paths.layout().executed_dir)
    if naive:
        with tempfile.TemporaryDirectory(prefix="rr-naive-") as d:
            doc["naive"] = naive_baseline(Path(d))
        if pipeline:
            doc["full_over_naive"] = round(doc["make"]["full"]["seconds"] / doc["naive"]["total_seconds"], 3)
    doc["steps"] = []
    for s in steps:
        for k in scales:
            r = run_step(s, k)
            print(f"[bench] {s} x{k}: {r.get('seconds', r.get('error'))} s, "
                  f"{r.get('peak_rss_mb', '?')} MB", flush=True)
            doc["steps"].append(r)
    growth = {}
    for s in steps:
        t = {r["scale"]: r.get("seconds") for r in doc["steps"] if r["step"] == s}
        g = {}
        if t.get(1) and t.get(10):
            g["10/1"] = round(t[10] / t[1], 2)
        if t.get(10) and t.get(100):
            g["100/10"] = round(t[100] / t[10], 2)
        growth[s] = g
    doc["growth"] = growth
    out = paths.ROOT / "reports"
    write_json(out / "bench.json", doc)
    atomic_write_text(out / "bench.md", markdown(doc))
    print(markdown(doc))
    return 0
