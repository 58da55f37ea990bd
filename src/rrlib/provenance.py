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
from .io import dumps, sha256_file, write_json

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


#: Fields of a sidecar that say when and from which commit a file was made: they change on every
#: run even when the file does not, so a rerun that makes the same bytes keeps the sidecar as is.
VOLATILE = ("created_utc", "git", "chapter_elapsed_s")


def portable(value):
    """``value`` with absolute paths inside the project, or in the ``shared`` folder beside it
    (``../shared``: the real DfE files), written relative to the project's root, so that sidecars
    do not depend on where it was cloned."""
    import os

    if isinstance(value, dict):
        return {k: portable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [portable(v) for v in value]
    if isinstance(value, (str, Path)) and os.path.isabs(str(value)):
        p = Path(value)
        root = paths.ROOT.resolve()
        shared = root.parent / "shared"
        if p == root or root in p.parents or p == shared or shared in p.parents:
            return os.path.relpath(p, root)
    return str(value) if isinstance(value, Path) else value


def sidecar(output: str | Path, *, chapter: str, notebook: str | None, parameters: dict,
            data_dir: str | Path, started: float | None = None, extra: dict | None = None) -> Path:
    """Write ``<output>.json`` (``figure.svg`` -> ``figure.json``) with the provenance of ``output``.

    Paths are written relative to the project (:func:`portable`). When the sidecar already
    describes the same bytes made the same way (everything equal but :data:`VOLATILE`), it is
    left as it is: it then says when and at which commit these bytes were first made, and a
    rerun leaves committed reference figures' sidecars untouched.
    """
    import json

    output = Path(output)
    doc = {
        "file": output.name,
        "sha256": sha256_file(output),
        "chapter": chapter,
        "notebook": notebook,
        "parameters": portable(parameters),
        "git": git_state(),
        "data": portable(data_state(str(data_dir))),
        "environment": environment(),
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    if started is not None:
        doc["chapter_elapsed_s"] = round(time.time() - started, 1)
    if extra:
        doc.update(extra)
    target = output.with_suffix(".json")
    try:
        old = json.loads(target.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        old = None
    if isinstance(old, dict) and {k: v for k, v in old.items() if k not in VOLATILE} == \
            json.loads(dumps({k: v for k, v in doc.items() if k not in VOLATILE})):
        return target
    return write_json(target, doc)
