"""Reference figures and their checksums: ``figures/MANIFEST`` and ``rr verify``.

``figures/`` holds the reference figures of the default run (committed, each with its
provenance sidecar); ``figures/MANIFEST`` holds their sha256 sums, one ``<sha256>  <name>``
line per SVG, sorted by name (the format of ``sha256sum``, so ``cd figures && sha256sum -c
MANIFEST`` works too).

``rr verify`` (``make verify``) compares the figures of a run with the MANIFEST and says, per
figure, ``identical``, ``changed`` (with the path of the new file, so a reviewer can look at
what a change of code or environment did), ``missing`` (in the MANIFEST, not made by the run)
or ``new`` (made by the run, not in the MANIFEST); then it runs the strict claims check. The
exit code is non-zero when anything differs.
"""
from __future__ import annotations

import re
from pathlib import Path

from . import claims_report, log, paths
from .io import atomic_write_text, sha256_file

logger = log.get("verify")

FIGURES_DIR = paths.ROOT / "figures"
MANIFEST_FILE = FIGURES_DIR / "MANIFEST"
FIGURE_GLOB = "*.svg"
_LINE = re.compile(r"^([0-9a-f]{64})\s+\*?(\S.*)$")

FIGURE_STATUSES = ("identical", "changed", "missing", "new")


class FiguresManifestError(ValueError):
    pass


def figure_files(figures_dir: str | Path) -> list[Path]:
    d = Path(figures_dir)
    return sorted(d.glob(FIGURE_GLOB)) if d.exists() else []


def manifest_text(figures_dir: str | Path) -> str:
    return "".join(f"{sha256_file(p)}  {p.name}\n" for p in figure_files(figures_dir))


def write_figures_manifest(figures_dir: str | Path | None = None) -> int:
    """Write ``<figures_dir>/MANIFEST`` (default: the committed reference figures)."""
    log.setup()
    d = Path(figures_dir) if figures_dir else FIGURES_DIR
    files = figure_files(d)
    if not files:
        logger.error(f"rr figures-manifest: no figures ({FIGURE_GLOB}) in {d}: run `make all` first")
        return 1
    atomic_write_text(d / "MANIFEST", manifest_text(d))
    logger.info(f"wrote {d / 'MANIFEST'}: {len(files)} figures")
    return 0


def read_manifest(path: str | Path | None = None) -> dict[str, str]:
    """``{figure name: sha256}`` from a figures MANIFEST."""
    path = Path(path) if path else MANIFEST_FILE
    if not path.exists():
        raise FiguresManifestError(
            f"{path} does not exist: make the reference figures (`make all`) and `rr figures-manifest`")
    out: dict[str, str] = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        m = _LINE.match(line.strip())
        if not m:
            raise FiguresManifestError(f"{path}, line {n}: expected '<sha256>  <file name>', got {line!r}")
        out[m.group(2)] = m.group(1)
    return out


def compare_figures(figures_dir: str | Path, manifest: dict[str, str]) -> list[dict]:
    """Per figure: ``{name, status, sha256, expected, path}``, sorted by name."""
    d = Path(figures_dir)
    have = {p.name: p for p in figure_files(d)}
    rows = []
    for name in sorted(set(have) | set(manifest)):
        p = have.get(name)
        got = sha256_file(p) if p else None
        want = manifest.get(name)
        if p is None:
            status = "missing"
        elif want is None:
            status = "new"
        else:
            status = "identical" if got == want else "changed"
        rows.append({"name": name, "status": status, "sha256": got, "expected": want,
                     "path": str(p) if p else None})
    return rows


def main(data_dir=None, out_dir=None) -> int:
    """``rr verify``: the run's figures against figures/MANIFEST, then the strict claims check."""

    log.setup()
    lay = paths.layout(data_dir, out_dir)
    code = 0
    try:
        manifest = read_manifest()
    except FiguresManifestError as exc:
        logger.error(f"rr verify: {exc}")
        manifest = None
        code = 1
    if manifest is not None:
        rows = compare_figures(lay.figures_dir, manifest)
        counts = {s: sum(r["status"] == s for r in rows) for s in FIGURE_STATUSES}
        where = "the reference figures" if lay.figures_dir == FIGURES_DIR else str(lay.figures_dir)
        logger.info(f"verify: {len(rows)} figures of {where} against {MANIFEST_FILE}: "
              + ", ".join(f"{n} {s}" for s, n in counts.items()))
        for r in rows:
            if r["status"] == "identical":
                logger.info(f"  identical  {r['name']}")
            elif r["status"] == "changed":
                logger.info(f"  CHANGED    {r['name']}: new file {r['path']} (sha256 {r['sha256'][:12]}..., "
                            f"MANIFEST {r['expected'][:12]}...)")
            elif r["status"] == "missing":
                logger.info(f"  MISSING    {r['name']}: in the MANIFEST, not made by this run")
            else:
                logger.info(f"  NEW        {r['name']}: {r['path']} is not in the MANIFEST")
        if not rows:
            logger.error("rr verify: no figures to compare")
            code = 1
        if any(r["status"] != "identical" for r in rows):
            code = 1
    # checked, not written again: the claims files stay as `make` left them, so the run stays up to date
    claims_code = claims_report.main(data_dir=data_dir, out_dir=out_dir, strict=True, write=False)
    if claims_code:
        code = 1
    logger.info("verify: " + ("OK: figures identical and every claim has its expected outcome" if code == 0
                              else "DIFFERENCES found (see above)"))
    return code
