"""Binder: binder/ installs exactly requirements.lock and the package, and its post-build step
prepares the data.

What repo2docker does is ``pip install -r binder/requirements.txt`` (which is ``-r ../requirements.lock``),
then ``binder/postBuild``. The install is the one `make setup` makes, from the same lock (there in two
halves with ``--no-deps``, then ``pip check``); ``unit/test_environment.py`` shows the set-up environment is
exactly the lock and closed under its packages' requirements, so a resolving install of it installs exactly it.
The post-build steps then run in a new virtual environment on a copy of the
repository's tracked files, over those locked packages (a ``.pth`` naming the set-up environment's
site-packages: unpacking 150 wheels again took about 45 s of the suite's time and showed nothing more).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from rrlib import paths

ROOT = paths.ROOT
BINDER = ROOT / "binder"


def test_binder_installs_exactly_the_lock():
    lines = [ln.strip() for ln in (BINDER / "requirements.txt").read_text().splitlines()
             if ln.strip() and not ln.strip().startswith("#")]
    assert lines == ["-r ../requirements.lock"], "binder/requirements.txt must install the lock and nothing else"
    # repo2docker uses binder/ only: no environment.yml there (it would pin only direct dependencies)
    assert not (BINDER / "environment.yml").exists()
    runtime = (BINDER / "runtime.txt").read_text().strip()
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert f"python={runtime.removeprefix('python-')}" in env["dependencies"]


def test_post_build_installs_the_package_and_prepares_the_data():
    post = BINDER / "postBuild"
    assert os.access(post, os.X_OK), "binder/postBuild must be executable"
    text = post.read_text()
    assert text.startswith("#!/usr/bin/env bash") and "set -euo pipefail" in text
    assert "pip install --no-cache-dir --no-deps -e ." in text
    assert "python -m rrlib prepare" in text


def _tracked_copy(dest: Path) -> None:
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    for rel in filter(None, files.decode().split("\0")):
        src = ROOT / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)


def _own_rrlib(site_dirs: list[str]) -> dict[str, bytes]:
    """The set-up environment's record of its editable rrlib (its .pth files and dist-info RECORD)."""
    return {f.name: f.read_bytes() for d in site_dirs for f in sorted(Path(d).glob("*rrlib*")) if f.is_file()} | {
        f.parent.name: f.read_bytes() for d in site_dirs for f in sorted(Path(d).glob("rrlib-*.dist-info/RECORD"))}


@pytest.mark.slow
def test_binder_post_build_in_a_new_environment(tmp_path):
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs the git repository (copies its tracked files)")
    import site

    repo = tmp_path / "repo"
    _tracked_copy(repo)
    venv = tmp_path / "venv"
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    # the locked packages, as installed from binder/requirements.txt, by a path line (the set-up
    # environment's own .pth files, its editable rrlib among them, are not read)
    new_site = next((venv / "lib").glob("python3*/site-packages"))
    locked = [p for p in site.getsitepackages() if Path(p).is_dir()]
    (new_site / "locked-environment.pth").write_text("\n".join(locked) + "\n")
    before = _own_rrlib(locked)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RR_", "VIRTUAL_ENV", "PYTHONPATH"))}
    env["PATH"] = f"{venv / 'bin'}:{env.get('PATH', '')}"
    r = subprocess.run(["bash", "binder/postBuild"], cwd=repo, env=env, capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    seconds = time.perf_counter() - t0
    assert (repo / "data" / "processed" / ".prepared.json").exists(), "postBuild did not prepare the data"
    assert "checksums:" in r.stdout and "ok:" in r.stdout
    # rrlib went into the new environment, editable from the repository's copy
    r = subprocess.run([str(venv / "bin" / "python"), "-c", "import rrlib, sys; print(rrlib.__file__)"],
                       cwd=tmp_path, env=env, capture_output=True, text=True, check=True)
    assert str(repo / "src" / "rrlib") in r.stdout, "rrlib installed editable from the repository"
    assert _own_rrlib(locked) == before, "postBuild's install changed the set-up environment's rrlib"
    print(f"binder post-build steps: {seconds:.0f} s")
