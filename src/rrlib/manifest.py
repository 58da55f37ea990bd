"""The ``MANIFEST`` of a raw data folder: sha256 of every file and whether the data is synthetic.

Format (YAML)::

    synthetic: true              # false for a real extract
    description: ...             # free text
    generator: rrlib.synth 0.1.0 # synthetic only: generator, seed, scale, parameter file hash
    seed: 20160901
    scale: 1
    window: {start: 2016-09-01, end: 2022-08-31}   # the study window (rrlib.data.window); optional
    files:
      pupils.csv.gz: 3b1f...     # sha256 of the file's bytes

A folder without a MANIFEST is treated as *not known to be synthetic*: the pipeline
still runs, says so, and applies disclosure control as for real data.
"""
from __future__ import annotations

from pathlib import Path

import yaml

from .io import atomic_write_text, sha256_file

MANIFEST_NAME = "MANIFEST"


class ManifestError(RuntimeError):
    """A data folder's files do not match its MANIFEST."""


def read(data_dir: str | Path) -> dict:
    """The MANIFEST of ``data_dir`` as a dict (``{}`` when there is none)."""
    f = Path(data_dir) / MANIFEST_NAME
    if not f.exists():
        return {}
    doc = yaml.safe_load(f.read_text(encoding="utf-8")) or {}
    if not isinstance(doc, dict):
        raise ManifestError(f"{f}: not a mapping of keys to values")
    return doc


def is_synthetic(data_dir: str | Path) -> bool | None:
    """True / False as the MANIFEST says; None when the folder has no MANIFEST."""
    doc = read(data_dir)
    return bool(doc["synthetic"]) if "synthetic" in doc else None


def data_files(data_dir: str | Path) -> list[Path]:
    """The data files of a folder (everything but the MANIFEST and hidden files), sorted."""
    d = Path(data_dir)
    return sorted(p for p in d.iterdir()
                  if p.is_file() and p.name != MANIFEST_NAME and not p.name.startswith("."))


def write(data_dir: str | Path, *, synthetic: bool, **fields) -> Path:
    """(Re)write the MANIFEST of ``data_dir`` with the sha256 of every data file."""
    d = Path(data_dir)
    doc = {"synthetic": bool(synthetic), **fields,
           "files": {p.name: sha256_file(p) for p in data_files(d)}}
    text = yaml.safe_dump(doc, sort_keys=False, default_flow_style=False)
    return atomic_write_text(d / MANIFEST_NAME, text)


def verify(data_dir: str | Path) -> dict:
    """Check every file listed in the MANIFEST against its sha256; raise :class:`ManifestError`.

    Returns the manifest. Files listed but missing, files present but not listed,
    and files whose sums differ are all reported in one message.
    """
    d = Path(data_dir)
    doc = read(d)
    if not doc:
        raise ManifestError(f"{d / MANIFEST_NAME}: no MANIFEST in the data folder")
    listed = doc.get("files") or {}
    problems = []
    for name, expected in sorted(listed.items()):
        p = d / name
        if not p.exists():
            problems.append(f"  {name}: listed in MANIFEST but missing")
        elif (got := sha256_file(p)) != expected:
            problems.append(f"  {name}: sha256 {got[:12]}... does not match MANIFEST {str(expected)[:12]}...")
    for p in data_files(d):
        if p.name not in listed:
            problems.append(f"  {p.name}: present but not listed in MANIFEST")
    if problems:
        raise ManifestError(
            f"{d / MANIFEST_NAME}: the data folder does not match its checksums "
            "(raw data must not be edited; regenerate it with `rr synth` or restore it with git):\n"
            + "\n".join(problems))
    return doc


def refresh(data_dir: str | Path, *, window: tuple[str, str] | None = None,
            synthetic: bool | None = None) -> Path:
    """Rewrite the MANIFEST of a folder edited on purpose: the sha256 of every file as it is now,
    every other field kept; ``window`` (start, end) replaces the study window, ``synthetic`` the
    flag (a folder without a MANIFEST needs it)."""
    doc = read(data_dir)
    doc.pop("files", None)
    flag = doc.pop("synthetic", None) if synthetic is None else bool(synthetic)
    doc.pop("synthetic", None)
    if flag is None:
        raise ManifestError(f"{Path(data_dir) / MANIFEST_NAME}: no MANIFEST; say whether the data are "
                            "synthetic (--synthetic / --real)")
    if window is not None:
        doc["window"] = {"start": str(window[0]), "end": str(window[1])}
    return write(data_dir, synthetic=flag, **doc)
