"""Every path of the compendium, from one place.

Paths are resolved from the location of this package (``src/rrlib`` inside the
compendium's root), never from the current working directory, so notebooks run
by papermill, tests, and the Makefile agree wherever they are started from.

Two variables choose what a run reads and where it writes:

``RR_DATA_DIR`` (``make all DATA_DIR=...``)
    The raw data folder, laid out like ``data/raw/synthetic/``. Default: the
    shipped synthetic folder.
``RR_OUT_DIR`` (``make all OUT_DIR=...``)
    Where a run writes. The default run (shipped data, no ``RR_OUT_DIR``)
    writes processed tables to ``data/processed/``, figures to ``figures/``
    (the committed reference figures) and everything else under ``reports/``.
    Any other data folder writes under ``output/<name of the data folder>/``
    (processed tables, figures, reports alike), never over the reference figures.
    With ``RR_OUT_DIR`` set, figures and reports go there; the shipped data's processed
    tables stay in ``data/processed/`` (they depend on the data only).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

#: The compendium's root folder (holds ``pyproject.toml``).
ROOT = Path(__file__).resolve().parents[2]
#: The shipped synthetic data folder: the default input.
DEFAULT_DATA_DIR = ROOT / "data" / "raw" / "synthetic"
#: Real published aggregates (DfE, OHID) shipped with the compendium.
PUBLIC_DIR = ROOT / "data" / "raw" / "public"
NOTEBOOKS_DIR = ROOT / "notebooks"
CLAIMS_FILE = ROOT / "claims.yml"
LOCK_FILE = ROOT / "requirements.lock"
#: Real DfE statistics beside the project (tests use it; never copied in).
SHARED_DATA_DIR = ROOT.parent / "shared" / "data"
MATPLOTLIBRC = Path(__file__).resolve().parent / "matplotlibrc"

DATA_ENV = "RR_DATA_DIR"
OUT_ENV = "RR_OUT_DIR"


@dataclass(frozen=True)
class Layout:
    """Where one run reads and writes. Build it with :func:`layout`."""

    data_dir: Path
    out_dir: Path
    processed_dir: Path
    figures_dir: Path
    default: bool

    @property
    def results_dir(self) -> Path:
        return self.out_dir / "results"

    @property
    def tables_dir(self) -> Path:
        return self.out_dir / "tables"

    @property
    def executed_dir(self) -> Path:
        """Executed copies of the chapter notebooks."""
        return self.out_dir / "notebooks"

    @property
    def claims_json(self) -> Path:
        return self.out_dir / "claims.json"

    @property
    def report_html(self) -> Path:
        return self.out_dir / "index.html"

    def result_file(self, chapter: str) -> Path:
        return self.results_dir / f"{chapter}.json"


def _resolve(p: str | os.PathLike) -> Path:
    p = Path(p).expanduser()
    return (p if p.is_absolute() else (Path(os.environ.get("PWD", os.getcwd())) / p)).resolve()


def layout(data_dir: str | os.PathLike | None = None, out_dir: str | os.PathLike | None = None) -> Layout:
    """Resolve the layout of a run.

    ``data_dir`` and ``out_dir`` (arguments, else ``RR_DATA_DIR`` / ``RR_OUT_DIR``,
    else the defaults above). Relative paths given by the user are taken
    relative to where the user typed them; everything else is anchored at
    :data:`ROOT`.
    """
    data = data_dir or os.environ.get(DATA_ENV) or None
    out = out_dir or os.environ.get(OUT_ENV) or None
    data_path = _resolve(data) if data else DEFAULT_DATA_DIR
    is_default_data = data_path == DEFAULT_DATA_DIR.resolve()
    out_path = _resolve(out) if out else None
    if is_default_data and (out_path is None or out_path == (ROOT / "reports").resolve()):
        return Layout(
            data_dir=data_path,
            out_dir=ROOT / "reports",
            processed_dir=ROOT / "data" / "processed",
            figures_dir=ROOT / "figures",
            default=True,
        )
    out_path = out_path or ROOT / "output" / data_path.name
    return Layout(
        data_dir=data_path,
        out_dir=out_path,
        # processed tables depend on the data only: the shipped data's live in data/processed
        processed_dir=ROOT / "data" / "processed" if is_default_data else out_path / "processed",
        figures_dir=out_path / "figures",
        default=False,
    )


def _make_variables(lay: Layout) -> str:
    """The layout as Make variable assignments (used by the Makefile; stdlib only)."""
    return "\n".join([
        f"RR_DATA := {lay.data_dir}",
        f"RR_OUT := {lay.out_dir}",
        f"RR_PROCESSED := {lay.processed_dir}",
        f"RR_FIGURES := {lay.figures_dir}",
        f"RR_DEFAULT := {'1' if lay.default else ''}",
    ])


if __name__ == "__main__":  # python -m rrlib.paths [DATA_DIR [OUT_DIR]]
    import sys

    args = [a or None for a in sys.argv[1:3]] + [None, None]
    print(_make_variables(layout(args[0], args[1])))
