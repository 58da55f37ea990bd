"""``rr bench`` / ``make bench``: how fast the compendium reruns, and how rrlib scales.

Writes ``reports/bench.json`` and ``reports/bench.md`` with

* the Make pipeline: a full ``make all`` from a clean checkout (environment installed), a no-op
  ``make all``, and a one-chapter rebuild after touching one notebook (``make -W``). They run in a
  snapshot of the committed tree (``git archive HEAD`` in a temporary folder, sharing ``.venv``):
  several engineers edit the working tree while the benchmark runs, and the benchmark's
  ``make clean`` must not delete their outputs. Everything else below runs in that snapshot too;
* per chapter (from the executed notebooks' papermill metadata): wall time of the papermill run,
  kernel start-up (papermill start to the first cell), the set-up cell (imports of pandas,
  matplotlib, rrlib and ``chapter.setup``), the analysis cells (rrlib calls, plotting, figure and
  table writing), and what is left (papermill writing the notebook, kernel shutdown). Chapters run
  two at a time under ``make -j``, so on a 2-core machine these times include contention;
* rrlib's heavy steps at scale 1, 10 and 100, each in a fresh process with its peak resident
  memory and the growth ratio time(10x)/time(1x). The timed code is the code the pipeline runs:
  ``rrlib.data.validate`` (every table), every domain's ``prepare`` (cleaning and scoring), the
  WMF instrument scoring, the exclusions chapter's town rates / pupil-years / group rates, the
  self-harm chapter's DSRs and its cohort, re-presentations and Kaplan-Meier. Scale k is the
  shipped (scale 1) data replicated k times (:func:`replicate_tables`: identifiers renumbered per
  copy in their own format, population counts multiplied by k): the row counts a
  ``rr synth --scale k`` folder has, without spending the benchmark's time generating gigabytes
  of CSV. Inputs are built one table at a time where the step allows (validation reads CSV
  files written table by table; cleaning runs domain by domain, as ``rr prepare`` does). The
  peak memory is the process's peak resident memory while rrlib works (:class:`_Timed` resets
  the peak when the timed code starts): the step's input tables are in memory and counted, the
  temporaries of building them are not;
* the naive baseline a compendium usually has: every notebook executed in turn with
  ``jupyter nbconvert --execute`` (same parameters as the Make run, injected with papermill's
  ``parameterize_notebook``; same processed data), and the ratio of our full run to it. The
  baseline does not prepare the data, check claims or build the report; our full run does.

Steps are stopped (and reported as such) past :data:`STEP_TIMEOUT` seconds or when their resident
memory would pass what is free on the shared machine (at most :data:`MEMORY_CAP`).
"""
from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from .. import log, paths
from ..chapters import exclusions as X
from ..chapters import selfharm as S
from ..data import check, domain_modules, load, read_raw, tables
from ..data.prepare import domain_outputs
from ..data.validate import KeyColumns
from ..instruments import sdq, srs, swemwbs
from ..io import atomic_write_text, write_json
from ..runner import kernel_env

logger = log.get("bench")

STEPS = ("validate", "clean", "score_wmf", "exclusion_rates", "dsr", "kaplan_meier")
STEP_DOC = {
    "validate": "rrlib.data.validate: read, type and check every raw table (CSV) and the foreign keys",
    "clean": "every domain's prepare(): cleaning, derived tables, instrument scores",
    "score_wmf": "SDQ, SWEMWBS and SRS scoring of the WMF survey (rrlib.instruments)",
    "exclusion_rates": "exclusions chapter: town_rates, pupil_years, group_rates (rrlib.stats intervals)",
    "dsr": "self-harm chapter: selfharm_admissions, dsr_by_year (Dobson, repeat admissions)",
    "kaplan_meier": "self-harm chapter: support_cohort, representations, kaplan_meier (lifelines)",
}
#: Memory a step may use before the benchmark stops it (bytes): the issue's budget is the machine's
#: 24 GB; the machine is shared, so stop short of what is free.
MEMORY_HEADROOM = 1.5 * 2**30
#: Seconds a step may run before the benchmark stops it.
STEP_TIMEOUT = 600
#: Memory a step may use at most (bytes), whatever is free: other engineers share the machine.
MEMORY_CAP = 20 * 2**30

# ----------------------------------------------------------------------------- replication


def replicate_tables(frames: dict[str, pd.DataFrame], k: int) -> dict[str, pd.DataFrame]:
    """Every table stacked ``k`` times, as if the town were ``k`` towns (all held at once; see
    :func:`iter_replicated` for one at a time).

    Identifiers (columns ``*_id`` holding ``<letters><digits>``) are renumbered per copy within
    their prefix's namespace, in the same format (same prefix; the digit width kept when the
    numbers fit, as the generator would at that scale): the same value maps to the same new
    value in every table, so foreign keys still hold and copies never share an identifier.
    Order within a copy is kept. ``population`` is not stacked: its counts are multiplied by
    ``k``. ``k == 1`` returns the frames unchanged. Vectorised: the distinct values of each
    column are mapped once, then one vocabulary of new identifiers is gathered with numpy.
    """
    return dict(iter_replicated(frames, k))


def iter_replicated(frames: dict[str, pd.DataFrame], k: int, only=None):
    """:func:`replicate_tables` one table at a time: yields ``(name, table at scale k)`` for the
    tables named in ``only`` (default: all), identifiers renumbered consistently across all of
    ``frames``; only the table being yielded is held at scale ``k``."""
    wanted = list(frames) if only is None else [n for n in frames if n in set(only)]
    if k == 1:
        yield from ((n, frames[n]) for n in wanted)
        return
    # identifier columns, each factorized once: (codes, prefix and digits of its distinct values)
    idcols: dict[str, list[str]] = {}
    split: dict[tuple[str, str], tuple[np.ndarray, pd.DataFrame]] = {}
    for name, df in frames.items():
        if name == "population":
            continue
        idcols[name] = []
        for c in df.columns:
            if not str(c).endswith("_id") or pd.api.types.is_numeric_dtype(df[c]):
                continue
            codes, uniq = pd.factorize(df[c], use_na_sentinel=True)
            sp = pd.Series(np.asarray(uniq, dtype=object)).astype(str).str.extract(r"^([A-Za-z]+)(\d+)$")
            if len(sp) and sp[0].notna().all():
                idcols[name].append(c)
                split[(name, c)] = (codes, sp)
    # namespaces: (prefix, digit width) -> its distinct values, ranked numerically; adults
    # "A000123" and admissions "A0000123" are two namespaces
    parts: dict[tuple[str, int], list[np.ndarray]] = {}
    for key in split:
        sp = split[key][1]
        sp[2] = sp[1].str.len()
        for (p, w), g in sp.groupby([0, 2]):
            parts.setdefault((p, int(w)), []).append(g[1].to_numpy(dtype=object))
    vocab_parts, index = [], {}
    offset = 0
    for p, w0 in sorted(parts):
        digits = pd.unique(np.concatenate(parts[(p, w0)]))
        order = np.argsort(np.array([int(d) for d in digits], dtype=np.int64), kind="stable")
        digits = digits[order]
        n_u = len(digits)
        width = max(w0, len(str(n_u * k - 1)))
        if width > w0 and (p, width) in parts:
            raise ValueError(f"replicate: {n_u * k} identifiers {p}... do not fit {w0} digits, and "
                             f"{width}-digit {p} identifiers exist already")
        vocab_parts.append(np.array([f"{p}{i:0{width}d}" for i in range(n_u * k)], dtype=object))
        index[(p, w0)] = (pd.Index([p + d for d in digits]), offset, n_u)
        offset += n_u * k
    vocab = np.concatenate(vocab_parts) if vocab_parts else np.array([], dtype=object)
    for name in wanted:
        df = frames[name]
        if name == "population":
            yield name, df.assign(population=df["population"] * k)
            continue
        n = len(df)
        rep = df.iloc[np.tile(np.arange(n), k)].reset_index(drop=True)
        copy = np.repeat(np.arange(k, dtype=np.int64), n)
        for c in idcols[name]:
            codes, sp = split[(name, c)]
            base = np.zeros(len(sp), dtype=np.int64)
            stride = np.zeros(len(sp), dtype=np.int64)
            for (p, w0), (lookup, off, n_u) in index.items():
                m = ((sp[0] == p) & (sp[2] == w0)).to_numpy()
                if m.any():
                    base[m] = off + lookup.get_indexer((sp[0][m] + sp[1][m]).to_numpy())
                    stride[m] = n_u
            codes_k = np.tile(codes, k)
            ok = codes_k >= 0
            pos = base[np.where(ok, codes_k, 0)] + copy * stride[np.where(ok, codes_k, 0)]
            col = np.take(vocab, pos)
            if not ok.all():
                col[~ok] = None
            rep[c] = pd.Series(col, dtype=df[c].dtype) if df[c].dtype != object else col
            del col, pos, codes_k, ok
        yield name, rep
        del rep


def replicate(df: pd.DataFrame, k: int) -> pd.DataFrame:
    """One table replicated ``k`` times (see :func:`replicate_tables`)."""
    return replicate_tables({"table": df}, k)["table"]


def _shipped(names: list[str] | None = None) -> dict[str, pd.DataFrame]:
    """The shipped (scale 1) raw tables, typed (untimed)."""

    names = names or [n for n, t in tables().items()
                      if t.required or (paths.DEFAULT_DATA_DIR / f"{n}.csv.gz").exists()]
    return {n: read_raw(paths.DEFAULT_DATA_DIR, n) for n in names}


def _raw(k: int, names: list[str] | None = None) -> dict[str, pd.DataFrame]:
    """Validated raw tables of the shipped folder at scale ``k`` (untimed)."""
    return replicate_tables(_shipped(names), k)


def _processed(names: list[str], k: int) -> dict[str, pd.DataFrame]:
    """Processed tables (``data/processed``, made by ``rr prepare``) at scale ``k`` (untimed)."""

    d = paths.ROOT / "data" / "processed"
    return replicate_tables({n: load(n, d) for n in names}, k)


# ----------------------------------------------------------------------------- the steps
# Each prepares its input (untimed), then times the rrlib work and returns the seconds and rows.
# Inputs at scale k are made one table at a time where the step allows: the steps' memory is
# what rrlib needs, not what holding a whole scaled folder would.

def _write_csv(df: pd.DataFrame, path: Path) -> None:
    """A typed raw table back to the raw files' CSV form (dates as ISO text)."""

    out = pd.DataFrame({c: (df[c].dt.strftime("%Y-%m-%d") if str(df[c].dtype).startswith("datetime64")
                            else df[c]) for c in df.columns})
    pacsv.write_csv(pa.Table.from_pandas(out, preserve_index=False), str(path))


class _Timed:
    """Times the ``with`` blocks of a step (seconds added up) and their peak resident memory.

    The process's peak (``VmHWM``) is reset when a block starts (Linux ``clear_refs``), so the
    peak is that of rrlib's work with its inputs in memory, not of building the inputs. Where
    the reset is not possible the whole process's peak is reported (``peak_scope``).
    """

    seconds = 0.0
    peak = 0
    scope = "timed rrlib work (inputs in memory)"

    def __enter__(self):
        try:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")
        except OSError:
            _Timed.scope = "whole process"
        self._t0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        _Timed.seconds += time.perf_counter() - self._t0
        _Timed.peak = max(_Timed.peak, _hwm_bytes())
        return False


def _proc_kb(path: str, field: str) -> int | None:
    """A ``<field>: <n> kB`` line of a /proc file, in bytes (None when absent or unreadable)."""
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _hwm_bytes() -> int:
    """This process's peak resident memory in bytes (VmHWM; ru_maxrss where /proc is absent)."""
    hwm = _proc_kb("/proc/self/status", "VmHWM")
    if hwm is not None:
        return hwm

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def step_validate(k: int) -> int:
    """``rrlib.data.check`` (what ``rr validate`` runs) on a folder of CSV files at scale ``k``."""

    with tempfile.TemporaryDirectory(prefix="rr-bench-") as d:
        for name, df in iter_replicated(_shipped(), k):
            _write_csv(df, Path(d) / f"{name}.csv")
            del df
        with _Timed():
            rows = check(d)
        return sum(rows.values())


def step_clean(k: int) -> int:
    """Every domain's ``prepare`` at scale ``k``, one domain at a time as ``rr prepare`` runs
    them (each given its own tables and earlier domains' key columns); the seconds are the sum
    of the ``prepare`` calls."""

    shipped = _shipped()
    keys = KeyColumns(tables())
    rows = 0
    for mod in domain_modules():
        own = [t.name for t in mod.TABLES if t.name in shipped]
        raw = dict(iter_replicated(shipped, k, only=own))
        rows += sum(len(df) for df in raw.values())
        given = keys.frames(exclude=raw)
        with _Timed():
            out = domain_outputs(mod, {**given, **raw})
        del out, given
        for name in own:
            keys.add(name, raw[name])
        del raw
    return rows


def step_score_wmf(k: int) -> int:
    df = _raw(k, ["wmf_survey"])["wmf_survey"]
    with _Timed():
        sdq.score(df)
        swemwbs.score(df)
        srs.score(df)
    return len(df)


def step_exclusion_rates(k: int) -> int:
    t = _processed(["schools", "pupils", "exclusions"], k)
    with _Timed():
        X.town_rates(t["pupils"], t["exclusions"], schools=t["schools"])
        py = X.pupil_years(t["pupils"], t["exclusions"], schools=t["schools"])
        X.group_rates(py)
        X.rates_by_age(py)
    return len(t["pupils"]) + len(t["exclusions"])


def step_dsr(k: int) -> int:
    t = _processed(["admissions", "population"], k)
    with _Timed():
        adm = S.selfharm_admissions(t["admissions"])
        S.dsr_by_year(adm, t["population"], independent_events=False)
    return len(t["admissions"])


def step_kaplan_meier(k: int) -> int:
    t = _processed(["ed_attendances", "selfharm_support"], k)
    with _Timed():
        cohort = S.support_cohort(t["ed_attendances"], t["selfharm_support"])
        reps = S.representations(cohort, t["ed_attendances"])
        S.kaplan_meier(reps)
    return len(t["ed_attendances"])


def _rss_bytes(pid: int) -> int:
    return _proc_kb(f"/proc/{pid}/status", "VmRSS") or 0


def _available_bytes() -> int:
    free = _proc_kb("/proc/meminfo", "MemAvailable")
    return free if free is not None else os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def run_step(name: str, k: int, timeout: float = STEP_TIMEOUT, env: dict | None = None) -> dict:
    """Run one step at scale ``k`` in a fresh process: seconds, rows and peak resident memory.

    A watchdog stops the process when it would take more memory than is free (less
    :data:`MEMORY_HEADROOM`: the machine is shared) or runs past ``timeout``; the result then
    says so instead of a time.
    """
    code = (f"import json; from rrlib.devtools import bench; n = bench.step_{name}({k}); T = bench._Timed; "
            "print(json.dumps({'seconds': T.seconds, 'rows': n, 'peak_rss_mb': T.peak / 2**20, "
            "'peak_scope': T.scope}))")
    limit = min(_available_bytes() - MEMORY_HEADROOM, MEMORY_CAP)
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**(env or os.environ), "OMP_NUM_THREADS": "1",
                                            "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"})
    stopped = {}

    def watch():
        while proc.poll() is None:
            rss = _rss_bytes(proc.pid)
            if rss > limit:
                stopped["why"] = f"stopped: resident memory {rss / 2**30:.1f} GB passed the {limit / 2**30:.1f} GB free"
                proc.kill()
                return
            if time.perf_counter() - t0 > timeout:
                stopped["why"] = f"stopped after {timeout:.0f} s"
                proc.kill()
                return
            time.sleep(0.1)

    w = threading.Thread(target=watch, daemon=True)
    w.start()
    stdout, stderr = proc.communicate()
    w.join()
    wall = round(time.perf_counter() - t0, 2)
    if proc.returncode != 0 or stopped:
        err = stopped.get("why") or (stderr.strip().splitlines()[-1:] or ["failed"])[0]
        return {"step": name, "scale": k, "error": err[:500], "process_seconds": wall}
    out = json.loads(stdout.strip().splitlines()[-1])
    return {"step": name, "scale": k, "rows": int(out["rows"]), "seconds": round(out["seconds"], 3),
            "peak_rss_mb": round(out["peak_rss_mb"], 1), "peak_scope": out["peak_scope"],
            "process_seconds": wall}


def growth(step_rows: list[dict]) -> dict:
    """time(10x)/time(1x) and time(100x)/time(10x) per step (None when a time is missing)."""
    out = {}
    for s in dict.fromkeys(r["step"] for r in step_rows):
        t = {r["scale"]: r.get("seconds") for r in step_rows if r["step"] == s}
        g = {}
        if t.get(1) and t.get(10):
            g["10/1"] = round(t[10] / t[1], 2)
        if t.get(10) and t.get(100):
            g["100/10"] = round(t[100] / t[10], 2)
        out[s] = g
    return out


# ----------------------------------------------------------------------------- the pipeline

def _clean_env(**extra) -> dict:
    """The environment for a sub-make: without the parent make's job server and flags (a sub-make
    that inherits MAKEFLAGS without the job-server pipes falls back to one job at a time)."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "RR_DATA_DIR", "RR_OUT_DIR")}
    env.update({k: str(v) for k, v in extra.items()})
    return env


def _timed(cmd: list[str], cwd: Path, **kw) -> tuple[float, subprocess.CompletedProcess]:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, **kw)
    return time.perf_counter() - t0, proc


def snapshot(where: Path) -> Path:
    """A clean checkout of the committed tree (``git archive HEAD``) in ``where/tree``, sharing the
    installed environment (``.venv`` linked; ``PYTHONPATH`` makes its rrlib the snapshot's). The
    working tree is shared by engineers who edit notebooks and modules while the benchmark runs: a
    snapshot keeps the measured pipeline fixed, and the benchmark's ``make clean`` away from
    everyone's outputs."""
    tree = where / "tree"
    tree.mkdir(parents=True)
    arch = subprocess.run(["git", "-C", str(paths.ROOT), "archive", "--format=tar", "HEAD"],
                          capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(tree)], input=arch, check=True)
    (tree / ".venv").symlink_to(paths.ROOT / ".venv")
    return tree


def _make_cmd(tree: Path) -> list[str]:
    # -o: the shared environment is installed; never rerun its set-up from the snapshot
    return ["make", "-s", "-C", str(tree), "-o", ".venv/.installed"]


def make_timings(tree: Path, env: dict, chapter_to_touch: str = "01_reach.ipynb") -> dict:
    """``make all`` from clean, again (nothing to do), and after touching one notebook (``make -W``,
    as if just edited). Also records whether ``make -n all`` has nothing left to do afterwards."""
    out = {}
    make = _make_cmd(tree)
    proc = subprocess.run(make + ["clean"], capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"make clean failed: {proc.stderr[-1000:]}")
    for label, touch in (("full", None), ("noop", None), ("one_chapter", chapter_to_touch)):
        what = (["-W", f"notebooks/{touch}"] if touch else []) + ["all"]
        start = time.time()
        secs, proc = _timed(make + what, cwd=tree, env=env)
        out[label] = {"seconds": round(secs, 2), "exit": proc.returncode}
        if label == "full" and proc.returncode == 0:
            out[label]["phases"] = phases(start, tree / "data" / "processed", tree / "reports")
            # the full run's chapters, read before the one-chapter rebuild overwrites one of them
            out[label]["chapters"] = chapter_timings(tree / "reports" / "notebooks")
        if label != "full":
            dry = subprocess.run(make + ["-n", "all"], capture_output=True, text=True, env=env)
            out[label]["nothing_left_to_do"] = dry.stdout.strip() == ""
        logger.info(f"[bench] make all ({label}): {secs:.1f} s (exit {proc.returncode})")
        if proc.returncode != 0:
            out[label]["stderr_tail"] = proc.stderr[-2000:]
    return out


def phases(start: float, processed_dir: Path, out_dir: Path) -> dict:
    """Phases of a full run from its outputs' modification times (each phase waits for the one
    before): prepare (verify-data and prepare, to the processed stamp), chapters (to the last
    executed notebook), claims, report."""
    def mtime(p: Path):
        return p.stat().st_mtime if p.exists() else None

    stamp = mtime(processed_dir / ".prepared.json")
    nbs = [mtime(p) for p in (out_dir / "notebooks").glob("[0-9][0-9]_*.ipynb")]
    last_nb = max(nbs) if nbs else None
    claims = mtime(out_dir / "claims.json")
    report = mtime(out_dir / "index.html")
    marks = [("prepare", start, stamp), ("chapters", stamp, last_nb), ("claims", last_nb, claims),
             ("report", claims, report)]
    return {k: (round(b - a, 2) if a is not None and b is not None else None) for k, a, b in marks}


def ratio_bound(phases_: dict, naive_seconds: float, cores: int) -> float | None:
    """The smallest full-run / naive ratio this machine allows while each chapter costs what the
    baseline's run of its notebook costs: the run's serial phases (prepare, claims, report, which
    the baseline does not do) plus the baseline's notebook time shared perfectly between the
    cores, over the baseline's time. None when a phase is missing."""
    serial = [phases_.get(k) for k in ("prepare", "claims", "report")]
    if any(v is None for v in serial) or not naive_seconds or not cores:
        return None
    return round(sum(serial) / naive_seconds + 1 / cores, 3)


def _seconds(a: str | None, b: str | None) -> float | None:
    if not a or not b:
        return None
    return (pd.Timestamp(b) - pd.Timestamp(a)).total_seconds()


def chapter_timings(executed_dir: Path) -> list[dict]:
    """From the executed notebooks' papermill metadata.

    wall: papermill's duration (kernel start to the end of the last cell);
    kernel_start: papermill start to the first cell's start (kernel launch and connect);
    setup_cell: the cell calling ``chapter.setup`` (imports of pandas/matplotlib/rrlib, data paths);
    analysis_cells: every other cell (rrlib calls, models, plotting, writing figures and tables);
    other: the rest of wall (between cells, papermill bookkeeping, kernel shutdown).
    """
    rows = []
    for nb in sorted(executed_dir.glob("[0-9][0-9]_*.ipynb")):
        if nb.name.endswith(".failed.ipynb"):
            continue
        doc = json.loads(nb.read_text(encoding="utf-8"))
        pm = doc.get("metadata", {}).get("papermill", {})
        wall = pm.get("duration")
        if wall is None:
            continue
        code = [c for c in doc["cells"] if c.get("cell_type") == "code"]
        durs = [(c.get("metadata", {}).get("papermill", {}).get("duration") or 0) for c in code]
        setup = sum(d for c, d in zip(code, durs) if "chapter.setup(" in "".join(c.get("source", "")))
        starts = [c.get("metadata", {}).get("papermill", {}).get("start_time") for c in code]
        first = next((s for s in starts if s), None)
        kernel = _seconds(pm.get("start_time"), first)
        cells = sum(durs)
        rows.append({"notebook": nb.name, "wall_seconds": round(wall, 2),
                     "kernel_start_seconds": round(kernel, 2) if kernel is not None else None,
                     "setup_cell_seconds": round(setup, 2),
                     "analysis_cells_seconds": round(cells - setup, 2),
                     "other_seconds": round(wall - cells - (kernel or 0), 2)})
    return rows


def naive_baseline(tree: Path, env: dict, work: Path, parameters: dict[str, dict] | None = None) -> dict:
    """Each notebook executed in turn with ``jupyter nbconvert --execute`` (no Make, no parallelism).

    Each notebook gets the parameters the Make run gives it (data and output folders, and
    ``parameters[name]``), injected with papermill's ``parameterize_notebook`` into a copy first
    (untimed), so both do the same work on the same processed data.
    """
    import nbformat
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    times = {}
    env = {**env, **kernel_env(), "MATPLOTLIBRC": str(tree / "src" / "rrlib" / "matplotlibrc")}
    jupyter = str(Path(sys.executable).with_name("jupyter"))
    src_dir, out_dir = work / "naive-in", work / "naive-out"
    src_dir.mkdir(parents=True, exist_ok=True)
    for nb in sorted((tree / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        doc = load_notebook_node(str(nb))
        params = {"data_dir": str(tree / "data" / "raw" / "synthetic"), "out_dir": str(tree / "reports"),
                  **((parameters or {}).get(nb.stem, {}))}
        doc = parameterize_notebook(doc, params, report_mode=False)
        nbformat.write(doc, str(src_dir / nb.name))
        secs, proc = _timed([jupyter, "nbconvert", "--to", "notebook", "--execute",
                             "--ExecutePreprocessor.timeout=1800", "--output-dir", str(out_dir),
                             str(src_dir / nb.name)], cwd=tree, env=env)
        times[nb.name] = {"seconds": round(secs, 2), "exit": proc.returncode}
        if proc.returncode != 0:
            times[nb.name]["stderr_tail"] = proc.stderr[-1500:]
        logger.info(f"[bench] naive {nb.name}: {secs:.1f} s (exit {proc.returncode})")
    return {"per_notebook": times, "total_seconds": round(sum(t["seconds"] for t in times.values()), 2),
            "all_ok": all(t["exit"] == 0 for t in times.values())}


def _make_parameters() -> dict[str, dict]:
    """The extra parameters the Makefile passes to a chapter: none (chapters read the shipped cuts)."""
    return {}


# ----------------------------------------------------------------------------- the report

def _fmt(v, nd=2):
    return "" if v is None else (f"{v:.{nd}f}" if isinstance(v, float) else str(v))


def markdown(doc: dict) -> str:
    m = doc["machine"]
    lines = ["# Benchmark of the compendium", "",
             f"Machine: {m['cores']} cores, {m['memory_gb']} GB memory; Python {m['python']}; "
             f"measured {doc.get('when', '')}. The machine is shared: timings carry noise from other work.", ""]
    if doc.get("make"):
        lines += ["## Make", "",
                  f"`make all` in a clean checkout of commit {doc.get('commit', '?')[:10]} (git archive, "
                  f"sharing the installed .venv), default data and layout, `make -j{m['cores']}`.", "",
                  "| make all | seconds | exit |", "|---|---|---|"]
        label = {"full": "full, from clean (prepare, 5 chapters, claims, report)", "noop": "no-op (nothing changed)",
                 "one_chapter": "one chapter (make -W notebooks/01_reach.ipynb: as if just edited)"}
        lines += [f"| {label.get(k, k)} | {v['seconds']} | {v['exit']} |" for k, v in doc["make"].items()]
        if len(doc["make"].get("full", {}).get("rounds") or []) > 1:
            lines += ["", "Full runs, every round (the median is shown above): "
                      + ", ".join(f"{x} s" for x in doc["make"]["full"]["rounds"]) + "."]
        ph = doc["make"].get("full", {}).get("phases")
        if ph:
            lines += ["", "Phases of the full run (from the outputs' times): "
                      + ", ".join(f"{k} {_fmt(v, 1)} s" for k, v in ph.items()) + "."]
        lines += [""]
    if doc.get("naive"):
        n = doc["naive"]
        lines += ["## Naive serial baseline", "",
                  "Every notebook in turn with `jupyter nbconvert --execute` (same parameters and processed data; "
                  "no data preparation, claims or report).", "",
                  "| notebook | seconds |", "|---|---|"]
        lines += [f"| {k} | {v['seconds']} |" for k, v in n["per_notebook"].items()]
        lines += [f"| **total** | **{n['total_seconds']}** |", ""]
        if len(n.get("rounds") or []) > 1:
            lines += ["Baseline totals, every round (the median round is shown above): "
                      + ", ".join(f"{x} s" for x in n["rounds"]) + "; full / naive per round: "
                      + ", ".join(str(x) for x in doc.get("full_over_naive_rounds") or []) + ".", ""]
        lines += [
                  f"Full `make all` / naive baseline (medians) = **{doc.get('full_over_naive')}** "
                  f"(target at most 0.5).", ""]
        if doc.get("full_over_naive_bound") is not None:
            lines += [f"What {doc['machine']['cores']} cores allow when the chapters cost what the baseline's "
                      "notebooks cost: the full run's prepare, claims and report phases (which the baseline does not "
                      "do) plus the baseline's notebook time split perfectly between the cores = "
                      f"**{doc['full_over_naive_bound']}** (below it only by making each chapter cheaper than the "
                      "baseline's run of the same notebook).", ""]
    if doc.get("chapters"):
        lines += ["## Chapters (papermill metadata of the full run)", "",
                  "kernel = kernel start-up; set-up cell = imports and `chapter.setup`; analysis = the other "
                  "cells (rrlib, models, plots, writing files); other = papermill bookkeeping and shutdown. "
                  "Two chapters run at once, so times include contention for the cores.", "",
                  "| notebook | wall s | kernel s | set-up cell s | analysis cells s | other s |",
                  "|---|---|---|---|---|---|"]
        lines += [f"| {r['notebook']} | {r['wall_seconds']} | {_fmt(r['kernel_start_seconds'])} | "
                  f"{r['setup_cell_seconds']} | {r['analysis_cells_seconds']} | {r['other_seconds']} |"
                  for r in doc["chapters"]]
        lines += [""]
    if doc.get("steps"):
        src = doc.get("steps_source")
        lines += ["## rrlib steps by scale", ""]
        if src:
            lines += [f"Steps measured by the earlier run of {src.get('when')} (commit "
                      f"{str(src.get('commit'))[:10]}), taken from `{Path(str(src.get('file'))).name}`.", ""]
        lines += [
                  "Scale k = the shipped data replicated k times (identifiers renumbered per copy); each run in a "
                  "fresh process; seconds = the timed rrlib calls only; peak RSS = the process's peak "
                  "resident memory while rrlib works (its input tables in memory included; the peak is "
                  "reset when the timed code starts, so building the scaled inputs is not counted).", "",
                  "| step | scale | rows in | seconds | peak RSS MB |", "|---|---|---|---|---|"]
        for r in doc["steps"]:
            lines.append(f"| {r['step']} | {r['scale']} | {r.get('rows', '')} | "
                         f"{r.get('seconds', r.get('error', 'error'))} | {r.get('peak_rss_mb', '')} |")
        lines += ["", "| step | what | time(10x)/time(1x) | time(100x)/time(10x) |", "|---|---|---|---|"]
        for s, g in doc.get("growth", {}).items():
            lines.append(f"| {s} | {STEP_DOC.get(s, '')} | {_fmt(g.get('10/1'))} | {_fmt(g.get('100/10'))} |")
        lines += [""]
    return "\n".join(lines)


def machine() -> dict:
    return {"cores": os.cpu_count(),
            "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
            "python": sys.version.split()[0]}


def _median_round(values: list[float]) -> int:
    """Index of the median of ``values`` (the lower one of an even count)."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    return order[(len(order) - 1) // 2]


def main(scales=(1, 10, 100), steps=STEPS, pipeline: bool = True, naive: bool = True,
         rounds: int = 3, steps_from: str | None = None) -> int:
    """Measure and write ``reports/bench.json`` and ``bench.md``.

    The full ``make all`` and the naive baseline are measured ``rounds`` times, alternated (so
    that slow spells of a shared machine fall on both); the round with the median time is
    reported, with every round's time, and the ratio is of the two medians. ``steps_from`` takes
    the rrlib steps from an earlier ``bench.json`` (its commit and time are recorded) instead of
    measuring them again.
    """
    log.setup()
    doc: dict = {"machine": machine(), "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    unknown = [s for s in steps if s not in STEPS]
    if unknown:
        logger.error(f"rr bench: unknown steps {unknown}; known: {', '.join(STEPS)}")
        return 2
    earlier = json.loads(Path(steps_from).read_text(encoding="utf-8")) if steps_from else None
    work = Path(tempfile.mkdtemp(prefix="rr-bench-"))
    try:
        tree = snapshot(work)
        doc["commit"] = subprocess.run(["git", "-C", str(paths.ROOT), "rev-parse", "HEAD"],
                                       capture_output=True, text=True).stdout.strip()
        env = _clean_env(PYTHONPATH=str(tree / "src"))
        step_env = env  # the steps import the snapshot's rrlib and read its data too
        makes, naives = [], []
        n_rounds = max(1, rounds) if (pipeline or naive) else 0
        n_steps = 0 if earlier is not None else len(steps or ()) * len(scales)
        bar = log.progress(n_rounds + n_steps, "bench", unit="part")
        advance = bar.__enter__()
        for r in range(n_rounds):
            if pipeline:
                m = make_timings(tree, env)
                m["chapters"] = m["full"].pop("chapters", [])
                makes.append(m)
            if naive:
                if not (tree / "data" / "processed" / ".prepared.json").exists():
                    subprocess.run(_make_cmd(tree) + ["data"], check=True, capture_output=True, env=env)
                naives.append(naive_baseline(tree, env, work, _make_parameters()))
            logger.info(f"[bench] round {r + 1} of {rounds} done")
            advance(1, f"round {r + 1}")
        if makes:
            full = [m["full"]["seconds"] for m in makes]
            pick = makes[_median_round(full)]
            doc["chapters"] = pick.pop("chapters")
            doc["make"] = pick
            doc["make"]["full"]["rounds"] = full
        if naives:
            tot = [n["total_seconds"] for n in naives]
            doc["naive"] = {**naives[_median_round(tot)], "rounds": tot}
        if makes and naives:
            doc["full_over_naive"] = round(doc["make"]["full"]["seconds"] / doc["naive"]["total_seconds"], 3)
            doc["full_over_naive_rounds"] = [round(a / b, 3) for a, b in zip(full, tot)]
            doc["full_over_naive_bound"] = ratio_bound(doc["make"]["full"].get("phases") or {},
                                                       doc["naive"]["total_seconds"], doc["machine"]["cores"])
        doc["steps"] = []
        if earlier is not None:
            doc["steps"] = earlier.get("steps", [])
            doc["steps_source"] = {"file": str(steps_from), "commit": earlier.get("commit"),
                                   "when": earlier.get("when")}
        else:
            if set(steps) & {"exclusion_rates", "dsr", "kaplan_meier"} and \
                    not (tree / "data" / "processed" / ".prepared.json").exists():
                subprocess.run(_make_cmd(tree) + ["data"], check=True, capture_output=True, env=env)
            for s in steps or ():
                for k in scales:
                    r = run_step(s, k, env=step_env)
                    logger.info(f"[bench] {s} x{k}: {r.get('seconds', r.get('error'))} s, "
                                f"{r.get('peak_rss_mb', '?')} MB")
                    advance(1, f"{s} x{k}")
                    doc["steps"].append(r)
    finally:
        if "bar" in locals():
            bar.__exit__(None, None, None)
        if os.environ.get("RR_BENCH_KEEP"):
            logger.info(f"[bench] kept {work} (RR_BENCH_KEEP)")
        else:
            shutil.rmtree(work, ignore_errors=True)
    doc["growth"] = growth(doc["steps"])
    out_dir = paths.ROOT / "reports"
    write_json(out_dir / "bench.json", doc)
    atomic_write_text(out_dir / "bench.md", markdown(doc))
    print(markdown(doc))
    return 0
