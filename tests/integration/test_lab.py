"""`make lab` (issue 28): JupyterLab on notebooks/ with the project's kernel and a scratch output.

A chapter run by hand in the lab (the committed notebook as it is, no papermill parameters) must write
its figures and results to the lab's scratch folder and leave the reference figures/ untouched. The
environment is the one `make lab` sets, read from `make -n lab`, and the notebook runs with Jupyter's
own executor (nbconvert --execute) and the kernel that environment finds, as the lab's "Run all" would.
"""
from __future__ import annotations

import hashlib
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from rrlib import paths

pytestmark = pytest.mark.slow

#: The chapter run by hand: the quickest one (5 s in `make all`; chapter 3 takes 9 s).
NOTEBOOK = "04_self_harm_readmissions.ipynb"


def _clean_env() -> dict:
    return {k: v for k, v in os.environ.items()
            if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "RR_DATA_DIR", "RR_OUT_DIR", "DATA_DIR", "OUT_DIR")}


def lab_environment(lab_out: Path) -> tuple[dict, list[str]]:
    """The variables and the command `make lab` would run (from `make -n lab`)."""
    r = subprocess.run(["make", "-n", "-o", ".venv/.installed", "lab", f"LAB_OUT={lab_out}"], cwd=paths.ROOT,
                       env=_clean_env(), capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    line = next(x for x in r.stdout.splitlines() if "jupyter lab" in x)
    words = shlex.split(line)
    env = dict(w.split("=", 1) for w in words if "=" in w and not w.startswith("-"))
    return env, [w for w in words if "=" not in w or w.startswith("-")]


def _digests(folder: Path) -> dict[str, tuple[str, int]]:
    """Every file's sha256 and modification time (a rewrite with the same bytes shows too)."""
    return {p.relative_to(folder).as_posix(): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_make_lab_sets_the_kernel_and_a_scratch_output(tmp_path):
    env, cmd = lab_environment(tmp_path / "lab")
    assert Path(env["RR_OUT_DIR"]) == tmp_path / "lab"
    assert Path(env["RR_DATA_DIR"]) == paths.DEFAULT_DATA_DIR
    assert Path(env["JUPYTER_PATH"]) == paths.ROOT / ".venv" / "share" / "jupyter"
    assert cmd[:2] == [".venv/bin/jupyter", "lab"] and "--notebook-dir=notebooks" in cmd
    # the .venv's python3 kernel (python = the interpreter that runs Jupyter, the .venv's)
    assert (paths.ROOT / ".venv" / "share" / "jupyter" / "kernels" / "python3" / "kernel.json").exists()


def test_a_hand_run_in_the_lab_leaves_the_reference_figures_untouched(tmp_path):
    lay = paths.layout(None, None)
    if not (lay.processed_dir / ".prepared.json").exists():
        pytest.fail("the default run's processed data is absent: `make test` runs `make all` first")
    lab_out = tmp_path / "lab"
    env, _ = lab_environment(lab_out)
    before = _digests(paths.ROOT / "figures")
    run_env = {**_clean_env(), **env}
    run_env["PATH"] = str(paths.ROOT / ".venv" / "bin") + os.pathsep + run_env.get("PATH", "")
    r = subprocess.run([sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute",
                        "--ExecutePreprocessor.timeout=600", "--output-dir", str(tmp_path / "executed"),
                        NOTEBOOK], cwd=paths.ROOT / "notebooks", env=run_env, capture_output=True, text=True,
                       timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    assert _digests(paths.ROOT / "figures") == before, "a hand run in the lab wrote into figures/"
    assert any((lab_out / "figures").glob("*.svg")), "the hand run's figures are not in the lab's output"
    assert (lab_out / "results" / "selfharm.json").exists()
