"""Binder: binder/ installs exactly requirements.lock and the package, and its post-build step
prepares the data. The post-build steps run here in a fresh virtual environment on a copy of the
repository's tracked files (pip's cache makes the install about a minute)."""
from __future__ import annotations

import os
import re
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


def _lock() -> dict[str, str]:
    out = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, version = line.split("==")
            out[re.sub(r"[-_.]+", "-", name).lower()] = version
    return out


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


@pytest.mark.slow
def test_binder_post_build_in_a_fresh_environment(tmp_path):
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs the git repository (copies its tracked files)")
    repo = tmp_path / "repo"
    _tracked_copy(repo)
    venv = tmp_path / "venv"
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RR_", "VIRTUAL_ENV", "PYTHONPATH"))}
    env["PATH"] = f"{venv / 'bin'}:{env.get('PATH', '')}"
    # what repo2docker does: pip install -r binder/requirements.txt from the repository's root
    r = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet",
                        "--disable-pip-version-check", "--no-compile", "-r", "binder/requirements.txt"],
                       cwd=repo, env=env, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    r = subprocess.run(["bash", "binder/postBuild"], cwd=repo, env=env, capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    seconds = time.perf_counter() - t0
    assert (repo / "data" / "processed" / ".prepared.json").exists(), "postBuild did not prepare the data"
    assert "checksums:" in r.stdout and "ok:" in r.stdout
    # exactly the lock, plus rrlib itself (and pip's own tools)
    freeze = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "list", "--format=freeze"],
                            env=env, capture_output=True, text=True, check=True).stdout
    got = {}
    for line in freeze.splitlines():
        if "==" in line:
            name, version = line.split("==", 1)
            got[re.sub(r"[-_.]+", "-", name).lower()] = version
    lock = _lock()
    assert {k: got.get(k) for k in lock} == lock
    extra = set(got) - set(lock) - {"rrlib", "pip", "setuptools", "wheel"}
    assert not extra, f"installed beyond the lock: {sorted(extra)}"
    r = subprocess.run([str(venv / "bin" / "python"), "-c", "import rrlib, sys; print(rrlib.__file__)"],
                       cwd=tmp_path, env=env, capture_output=True, text=True, check=True)
    assert str(repo / "src" / "rrlib") in r.stdout, "rrlib installed editable from the repository"
    print(f"binder post-build steps: {seconds:.0f} s")
