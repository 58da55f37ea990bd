"""Provenance sidecars: ``<output>.json`` beside every figure and published table.

A sidecar says which chapter notebook made the file, with which parameters, from which
commit (and whether the working tree was dirty), from which input data (sha256 of each raw
file, and whether it is synthetic), in which environment (hash of ``requirements.lock`` and
the versions of the packages that matter), and when.
"""
from __future__ import annotations

import functools
import importlib.metadata
import platform
import subprocess
import time
from pathlib import Path

from . import manifest, paths
from .io import sha256_file, write_json

KEY_PACKAGES = ("rrlib", "numpy", "pandas", "scipy", "statsmodels", "lifelines", "matplotlib",
                "seaborn", "pandera", "pyarrow", "papermill")


@functools.lru_cache(maxsize=1)
def git_state() -> dict:
    """The commit of the compendium's checkout and whether its tree is dirty (None outside git)."""
    def run(*args):
        return subprocess.run(["git", "-C", str(paths.ROOT), *args], capture_output=True,
                              text=True, timeout=20)
    try:
        head = run("rev-parse", "HEAD")
        if head.returncode != 0:
            return {"commit": None, "dirty": None}
        status = run("status", "--porcelain", "--untracked-files=no")
        return {"commit": head.stdout.strip(), "dirty": bool(status.stdout.strip())}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}


@functools.lru_cache(maxsize=1)
def environment() -> dict:
    versions = {}
    for name in KEY_PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    lock = paths.LOCK_FILE
    return {"python": platform.python_version(),
            "lock_sha256": sha256_file(lock) if lock.exists() else None,
            "packages": versions}


@functools.lru_cache(maxsize=8)
def data_state(data_dir: str) -> dict:
    """Synthetic flag and sha256 of every raw input file (from the MANIFEST when it has one)."""
    d = Path(data_dir)
    doc = manifest.read(d)
    files = doc.get("files") or ({p.name: sha256_file(p) for p in manifest.data_files(d)}
                                 if d.exists() else {})
    return {"folder": str(d), "name": d.name, "synthetic": doc.get("synthetic"),
            "files": dict(sorted(files.items()))}


def sidecar(output: str | Path, *, chapter: str, notebook: str | None, parameters: dict,
            data_dir: str | Path, started: float | None = None, extra: dict | None = None) -> Path:
    """Write ``<output>.json`` (``figure.svg`` -> ``figure.json``) with the provenance of ``output``."""
    output = Path(output)
    doc = {
        "file": output.name,
        "sha256": sha256_file(output),
        "chapter": chapter,
        "notebook": notebook,
        "parameters": parameters,
        "git": git_state(),
        "data": data_state(str(data_dir)),
        "environment": environment(),
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    if started is not None:
        doc["chapter_elapsed_s"] = round(time.time() - started, 1)
    if extra:
        doc.update(extra)
    return write_json(output.with_suffix(".json"), doc)
