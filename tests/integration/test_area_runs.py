"""`make all AREA=<name or code>` (issue 24): the official-statistics sections of every chapter for another
authority, into its own folder with its own report; the pupil-level sections say there is no pupil-level
data for it; an unknown area stops with one line naming the closest names (exit 2).

Two runs, kept light: Kent (a HeadStart area; one of its neighbours, West Northamptonshire, has no complete
series) through Make, every chapter in a kernel, then claims and report; and the Isles of Scilly (a tiny
authority with no Fingertips row), the one chapter with its official statistics run without a kernel
(``tests/_inprocess.py``: its results are what is checked; the area's name in the report is Kent's check).
Each writes to a temporary OUT_DIR and reads the shipped data (never the reference outputs).
"""
from __future__ import annotations

import json
import os
import subprocess

import pytest

from _inprocess import run_chapter_code
from rrlib import paths

pytestmark = pytest.mark.slow


def _env() -> dict:
    return {k: v for k, v in os.environ.items()
            if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "RR_DATA_DIR", "RR_OUT_DIR", "DATA_DIR", "OUT_DIR",
                         "RR_AREA", "AREA")}


def _make(*args, timeout=900):
    # JOBS=1: pytest's workers already fill the cores (Makefile)
    return subprocess.run(["make", "-o", ".venv/.installed", "JOBS=1", *args], cwd=paths.ROOT, env=_env(),
                          capture_output=True, text=True, timeout=timeout)


def _results(out, chapter):
    return json.loads((out / "results" / f"{chapter}.json").read_text(encoding="utf-8"))


def test_unknown_area_one_line_exit_2():
    r = _make("-n", "all", "AREA=Blakpool")
    assert r.returncode == 2
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "unknown area 'Blakpool'" in lines[0] and "Blackpool" in lines[0]


def test_default_out_dir_is_output_area_slug():
    r = _make("-n", "help", "AREA=e06000058")
    assert r.returncode == 0, r.stderr
    assert "output/area-bournemouth-christchurch-and-poole" in r.stdout


@pytest.fixture(scope="module")
def kent(tmp_path_factory):
    out = tmp_path_factory.mktemp("area") / "kent"
    r = _make("all", "AREA=kent", f"OUT_DIR={out}")
    assert r.returncode == 0, (r.stdout[-2000:], r.stderr[-3000:])
    return out


def test_kent(kent):
    exc = _results(kent, "exclusions")
    p = "exclusions.its.suspension.statistical_neighbours.primary.la886."
    assert exc["results"][p + "n_neighbours"]["value"] == 9            # 941 has no complete series
    assert "exclusions.synth.suspension.la886.gap_post" in exc["results"]
    assert "exclusions.its.suspension.sensitivity.region.did" in exc["results"]      # Kent's region, South East
    assert "no pupil-level data for Kent" in exc["skipped"]["exclusions.who"]["reason"]
    assert "Blackpool" in exc["skipped"]["exclusions.a11.official"]["reason"]
    for ch in ("reach", "wmf", "selfharm", "targeted"):
        doc = _results(kent, ch)
        assert not doc["results"], ch                                     # nothing from Blackpool's data
        assert all(s["reason"] for s in doc["skipped"].values())
    six = _results(kent, "headstart_areas")["results"]
    assert "headstart_areas.886.suspension.did" in six
    report = (kent / "index.html").read_text(encoding="utf-8")
    assert "Area run for Kent (DfE 886, ONS E10000016)" in report


def test_isles_of_scilly(tmp_path, monkeypatch):
    out = tmp_path / "scilly"
    # the light half: the chapter with the area's official statistics, on the shipped folder
    monkeypatch.setenv("RR_AREA", "Isles of Scilly")
    run_chapter_code(paths.NOTEBOOKS_DIR / "02_exclusions.ipynb", paths.DEFAULT_DATA_DIR, out)
    exc = _results(out, "exclusions")
    assert "no rows in the shipped Fingertips cut" in exc["skipped"]["exclusions.selfharm_official"]["reason"]
    assert "exclusions.funnel.y2022_23.suspension.z_adjusted" in exc["results"]
    assert "no pupil-level data for Isles of Scilly" in exc["skipped"]["exclusions.who"]["reason"]


def test_an_area_run_never_writes_the_reference_outputs():
    env = {**_env(), "RR_AREA": "886"}
    r = subprocess.run([str(paths.ROOT / ".venv" / "bin" / "python"), "-m", "rrlib", "run",
                        "notebooks/06_headstart_areas.ipynb", "--out-dir", str(paths.ROOT / "reports")],
                       cwd=paths.ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode != 0 and "never written over the reference outputs" in (r.stdout + r.stderr)
