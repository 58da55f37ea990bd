"""The simulation study's committed record, as the chapters' Caveats read it.

``rr simulate`` (:mod:`rrlib.devtools.simulation`; Morris, White & Crowther 2019, "Using
simulation studies to evaluate statistical methods", Statistics in Medicine 38:2074-2102) writes
``reports/simulation.json`` and this record, :data:`RECORD` (committed): per estimate the planted
truth, the mean over the draws, the bias and coverage with their Monte Carlo SEs, and whether the
estimate meets the bar. A chapter's Caveats name its estimates that miss the bar with the measured
bias (:func:`caveat`), read from the record, never typed in.
"""
from __future__ import annotations

import json
from pathlib import Path

#: The committed record, beside the module: the chapters that show it rerun when it changes
#: (:func:`rrlib.registry.dependencies`).
RECORD = Path(__file__).resolve().parent / "simulation.json"


def load(path: str | Path | None = None) -> dict:
    """The record (``{}`` when it has not been written)."""
    f = Path(path or RECORD)
    return json.loads(f.read_text(encoding="utf-8")) if f.exists() else {}


def for_chapter(chapter: str, path: str | Path | None = None) -> dict:
    """The record's estimates of one chapter: name -> performance measures."""
    return {n: s for n, s in load(path).items() if not n.startswith("_") and s.get("chapter") == chapter}


def caveat(chapter: str, path: str | Path | None = None) -> str:
    """The chapter's Caveats on the simulation study: what it measured, naming every miss with its
    measured bias and, where the study records one, the reason the estimator misses by design."""
    rec = load(path)
    est = {n: s for n, s in rec.items() if not n.startswith("_") and s.get("chapter") == chapter}
    if not est:
        return ("**Simulation study.** No simulation study of this chapter's estimates is recorded "
                "(`make simulation`).")
    draws = sorted({s.get("n_draws") for s in est.values() if s.get("n_draws")})
    k = " to ".join(str(x) for x in (draws[0], draws[-1]) if x) if len(draws) > 1 else \
        str(draws[0] if draws else rec.get("_meta", {}).get("n_draws", "?"))

    def one(n, s):
        return (f"`{n}` (truth {s['truth']:.3f}, bias {s['bias']:+.3f}, MCSE {s['bias_mcse']:.3f}; "
                f"coverage {s['coverage']:.3f}, MCSE {s['coverage_mcse']:.3f})")

    ok = [n for n, s in est.items() if s.get("meets_bar")]
    miss = [n for n, s in est.items() if not s.get("meets_bar")]
    text = (f"**Simulation study** ({k} synthetic draws, `make simulation`; Morris, White & Crowther 2019): "
            + "; ".join(one(n, est[n]) for n in est) + ". ")
    if miss:
        text += ("Missing the bar (|bias| within 2 Monte Carlo SE or under the tolerance, coverage 0.90 to 0.98): "
                 + ", ".join(f"`{n}`" for n in miss) + ". ")
    else:
        text += ("Every one meets the bar (|bias| within 2 Monte Carlo SE or under the tolerance, "
                 "coverage 0.90 to 0.98). ")
    if ok and miss:
        text += "The others meet it."
    if miss:  # one bullet per reason the study records (misses without one: a bullet each)
        groups: dict[str, list[str]] = {}
        for n in miss:
            groups.setdefault(est[n].get("reason") or f"\0{n}", []).append(n)
        bullets = []
        for reason, names in groups.items():
            b = "; ".join(_distance(n, est[n]) for n in names)
            bullets.append(f"* {b}." + ("" if reason.startswith("\0") else f" Why: {reason}."))
        text = text.strip() + "\n\n" + "\n".join(bullets)
    return text.strip()


def _distance(name: str, s: dict) -> str:
    """How far a missing estimate is from the bar, in Monte Carlo SEs (from the record)."""
    parts = []
    if not s.get("bias_ok", True):
        parts.append(f"bias {s['bias']:+.3f}, {abs(s['bias']) / s['bias_mcse']:.1f} Monte Carlo SE from 0")
    lo, hi = 0.90, 0.98
    if not s.get("coverage_ok", True):
        edge = lo if s["coverage"] < lo else hi
        parts.append(f"coverage {s['coverage']:.3f}, {abs(s['coverage'] - edge) / s['coverage_mcse']:.1f} Monte "
                     f"Carlo SE outside {lo:.2f} to {hi:.2f}")
    return f"`{name}` (" + ", ".join(parts or [f"bias {s['bias']:+.3f}"]) + ")"
