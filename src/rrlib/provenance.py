"""Provenance sidecars: ``<output>.json`` beside every figure and published table.

A sidecar says which chapter notebook made the file, with which parameters, from which
commit (and whether the working tree was dirty), from which input data (sha256 of each raw
file, and whether it is synthetic), in which environment (hash of ``requirements.lock`` and
the versions of the packages that matter), and when.
"""
from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import json
import os
import platform
import re
import subprocess
import time
from pathlib import Path
from typing import Iterable

from . import manifest, paths
from .io import dumps, sha256_file, write_json

KEY_PACKAGES = ("rrlib", "numpy", "pandas", "scipy", "statsmodels", "lifelines", "matplotlib",
                "seaborn", "pandera", "pyarrow", "papermill")


def _git_dir(root: Path) -> Path | None:
    """The git folder of the checkout at ``root`` (``.git``, or the folder a ``.git`` file names)."""
    dot = root / ".git"
    if dot.is_dir():
        return dot
    if dot.is_file():  # a worktree or submodule: "gitdir: <path>"
        text = dot.read_text(encoding="utf-8", errors="replace").strip()
        if text.startswith("gitdir:"):
            g = Path(text.split(":", 1)[1].strip())
            return g if g.is_absolute() else (root / g).resolve()
    return None


def _read_ref(git_dir: Path, ref: str, depth: int = 0) -> str | None:
    """The commit a ref names, from the loose ref file or ``packed-refs`` (no git process)."""
    common = git_dir
    cfile = git_dir / "commondir"
    if cfile.is_file():
        c = Path(cfile.read_text(encoding="utf-8").strip())
        common = c if c.is_absolute() else (git_dir / c).resolve()
    for base in (git_dir, common):
        f = base / ref
        if f.is_file():
            text = f.read_text(encoding="utf-8", errors="replace").strip()
            if text.startswith("ref:") and depth < 5:
                return _read_ref(git_dir, text[4:].strip(), depth + 1)
            return text if _SHA.match(text) else None
    packed = common / "packed-refs"
    if packed.is_file():
        for line in packed.read_text(encoding="utf-8", errors="replace").splitlines():
            if line and line[0] not in "#^":
                sha, _, name = line.partition(" ")
                if name.strip() == ref and _SHA.match(sha):
                    return sha
    return None


_SHA = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")


def head_commit(root: Path | None = None) -> str | None:
    """The commit checked out at ``root`` (default: the compendium), read from ``.git/HEAD`` and
    the refs directly: no git process, no clean/smudge filter, microseconds whatever the load."""
    root = Path(root) if root is not None else paths.ROOT
    g = _git_dir(root)
    if g is None or not (g / "HEAD").is_file():
        return None
    head = (g / "HEAD").read_text(encoding="utf-8", errors="replace").strip()
    if head.startswith("ref:"):
        return _read_ref(g, head[4:].strip())
    return head if _SHA.match(head) else None


#: Seconds the dirty check may take before it gives up (the flag is then "unknown").
DIRTY_TIMEOUT = 5


def _dirty(root: Path) -> bool | None:
    """Whether tracked files differ from the commit: ``git diff --quiet HEAD`` with the
    notebook filter switched off (``git status`` would run nbstripout over every notebook whose
    stat data changed: seconds of CPU, minutes under load). The filter's job is to strip outputs
    from notebooks that are committed stripped, so comparing bytes is the honest answer too.
    None when git is missing or does not answer within :data:`DIRTY_TIMEOUT` seconds."""
    try:
        r = subprocess.run(
            ["git", "--no-optional-locks", "-C", str(root),
             "-c", "filter.nbstripout.clean=", "-c", "filter.nbstripout.smudge=",
             "-c", "filter.nbstripout.process=", "-c", "filter.nbstripout.required=false",
             "-c", "core.fsmonitor=false",
             "diff", "--quiet", "--no-ext-diff", "--no-textconv", "HEAD", "--"],
            capture_output=True, timeout=DIRTY_TIMEOUT, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return None
    return {0: False, 1: True}.get(r.returncode)


@functools.lru_cache(maxsize=1)
def git_state() -> dict:
    """The commit of the compendium's checkout (read without running git, never None in a
    checkout) and whether its tracked files differ from it (None when that cannot be told
    quickly); ``{"commit": None, "dirty": None}`` outside git."""
    commit = head_commit(paths.ROOT)
    if commit is None:
        return {"commit": None, "dirty": None}
    return {"commit": commit, "dirty": _dirty(paths.ROOT)}


@functools.lru_cache(maxsize=4)
def commit_date(commit: str | None, root: Path | None = None) -> str | None:
    """The committer date of ``commit`` as ``YYYY-MM-DD HH:MM:SS`` UTC (what a colophon should date
    a build by: the same for every build of that commit, unlike ``SOURCE_DATE_EPOCH``'s fixed
    date or the clock); None outside git or when git is not installed."""
    if not commit:
        return None
    try:
        r = subprocess.run(["git", "-C", str(root or paths.ROOT), "show", "-s", "--format=%ct", commit],
                           capture_output=True, text=True, timeout=DIRTY_TIMEOUT, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return None
    out = r.stdout.strip()
    if r.returncode != 0 or not out.isdigit():
        return None
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(int(out)))


def now_utc() -> str:
    """The time a file is made, as ``YYYY-MM-DDTHH:MM:SSZ``: ``SOURCE_DATE_EPOCH`` when it is set
    (reproducible builds: same inputs, same bytes), else the clock."""
    sde = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    t = int(sde) if sde.isdigit() else int(time.time())
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


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


def folder_hash(files: dict) -> str:
    """One sha256 for a data folder: of its sorted ``name sha256`` lines (the content, not the path)."""
    text = "".join(f"{name} {sha}\n" for name, sha in sorted(files.items()))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@functools.lru_cache(maxsize=8)
def data_state(data_dir: str) -> dict:
    """A data folder by name and content: synthetic flag, sha256 of every raw input file (from
    the MANIFEST when it has one) and of them all; never its absolute path (on real data that
    path is inside the secure environment)."""
    d = Path(data_dir)
    doc = manifest.read(d)
    files = doc.get("files") or ({p.name: sha256_file(p) for p in manifest.data_files(d)}
                                 if d.exists() else {})
    return {"name": d.name, "sha256": folder_hash(files), "synthetic": doc.get("synthetic"),
            "files": dict(sorted(files.items()))}


def official_state(files: Iterable[str | Path]) -> dict:
    """The official statistics an output was drawn from, in the shape of :func:`data_state`: each public
    file by its portable path (:func:`portable`) and sha256, ``synthetic`` false and the name
    ``official statistics``. A figure or table made from official statistics records this, never the
    data folder of the run (which may be synthetic) that it did not read."""
    shas = {portable(str(Path(f).resolve())): sha256_file(Path(f)) for f in files}
    if not shas:
        raise ValueError("an output made from official statistics must name the public files it was drawn from")
    return {"name": "official statistics", "sha256": folder_hash(shas), "synthetic": False,
            "files": dict(sorted(shas.items()))}


#: Fields of a sidecar that say when and from which commit a file was made: they change on every
#: run even when the file does not, so a rerun that makes the same bytes keeps the sidecar as is.
VOLATILE = ("created_utc", "git", "chapter_elapsed_s", "sources")


@functools.lru_cache(maxsize=8)
def source_hashes(notebook: str | None = None) -> dict:
    """What made an output, when the commit alone cannot say (a dirty working tree): the sha256
    of the chapter's notebook as committed in ``notebooks/`` and one sha256 over the library's
    source (``src/rrlib``: every .py, .yml and the matplotlibrc, by relative path and content).
    Recorded with :data:`VOLATILE` fields, i.e. as of when the output's bytes were first made."""
    lib = paths.ROOT / "src" / "rrlib"
    h = hashlib.sha256()
    if lib.exists():
        for p in sorted(x for x in lib.rglob("*") if x.is_file() and (x.suffix in (".py", ".yml", ".yaml")
                                                                       or x.name == "matplotlibrc")):
            h.update(p.relative_to(lib).as_posix().encode() + b"\0" + p.read_bytes() + b"\0")
    nb = paths.NOTEBOOKS_DIR / notebook if notebook else None
    return {"rrlib_sha256": h.hexdigest(),
            "notebook_sha256": sha256_file(nb) if nb is not None and nb.exists() else None}


def portable(value):
    """``value`` with absolute paths made safe to publish: inside the project, or in the ``shared``
    folder beside it (``../shared``: the real DfE files), relative to the project's root; anywhere
    else (a secure environment's data or output folder) only the last component's name, so that
    outputs neither depend on where the project was cloned nor reveal where the data live."""
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
        return p.name
    return str(value) if isinstance(value, Path) else value


def sidecar(output: str | Path, *, chapter: str, notebook: str | None, parameters: dict,
            data_dir: str | Path, started: float | None = None, extra: dict | None = None,
            data: dict | None = None) -> Path:
    """Write ``<output>.json`` (``figure.svg`` -> ``figure.json``) with the provenance of ``output``.

    Paths are written relative to the project (:func:`portable`). When the sidecar already
    describes the same bytes made the same way (everything equal but :data:`VOLATILE`), it is
    left as it is: it then says when and at which commit these bytes were first made, and a
    rerun leaves committed reference figures' sidecars untouched. ``data`` replaces the data folder's
    state (:func:`data_state`) when the output was not drawn from it (:func:`official_state`).
    """

    output = Path(output)
    doc = {
        "file": output.name,
        "sha256": sha256_file(output),
        "chapter": chapter,
        "notebook": notebook,
        "parameters": portable(parameters),
        "git": git_state(),
        "sources": source_hashes(notebook),
        "data": data if data is not None else portable(data_state(str(data_dir))),
        "environment": environment(),
        "created_utc": now_utc(),
    }
    # ``started`` is accepted for compatibility; the elapsed time is not written (it differs on
    # every run: sidecars are outputs and must be the same bytes for the same inputs)
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
