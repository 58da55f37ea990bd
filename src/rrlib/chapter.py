"""The context of one chapter notebook: data, results, figures and tables, with provenance.

A chapter notebook's first code cells are::

    # parameters
    data_dir = None      # raw data folder (default: the shipped synthetic data, or RR_DATA_DIR)
    out_dir = None       # where to write (default: see rrlib.paths)

    from rrlib import chapter
    ch = chapter.setup("reach", data_dir=data_dir, out_dir=out_dir,
                       parameters=dict(data_dir=data_dir, out_dir=out_dir))
    ch.banner()

and its last is ``ch.finish()``. In between, the notebook calls rrlib for the work and uses
``ch.table``, ``ch.record``, ``ch.save_figure`` and ``ch.publish``.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from . import figures, manifest, paths, provenance
from .results import Results

NOTEBOOKS = {
    "reach": "01_reach.ipynb",
    "exclusions": "02_exclusions.ipynb",
    "wmf": "03_wmf_comparisons.ipynb",
    "selfharm": "04_self_harm_readmissions.ipynb",
    "targeted": "05_targeted_interventions.ipynb",
}


class ProcessedDataMissing(RuntimeError):
    pass


@dataclass
class Chapter:
    name: str
    layout: paths.Layout
    parameters: dict
    synthetic: bool | None
    manifest: dict
    results: Results
    started: float = field(default_factory=time.time)
    outputs: list = field(default_factory=list)

    @property
    def notebook(self) -> str | None:
        return NOTEBOOKS.get(self.name)

    # -- data -----------------------------------------------------------------
    def table(self, name: str) -> pd.DataFrame:
        """A processed table (``<processed_dir>/<name>.parquet``, made by ``rr prepare``)."""
        f = self.layout.processed_dir / f"{name}.parquet"
        if not f.exists():
            raise ProcessedDataMissing(
                f"{f} does not exist: run `make data` (or `rr prepare {self.layout.data_dir}`) first")
        return pd.read_parquet(f)

    def has_table(self, name: str) -> bool:
        return (self.layout.processed_dir / f"{name}.parquet").exists()

    # -- outputs --------------------------------------------------------------
    def record(self, key: str, value, **kw):
        """Record a headline number (see :meth:`rrlib.results.Results.record`)."""
        return self.results.record(key, value, **kw)

    def save_figure(self, fig, name: str, *, mark: bool = True, caption: str | None = None,
                    alt: str | None = None) -> Path:
        """Save ``fig`` as ``<figures_dir>/<name>.svg`` with its provenance sidecar.

        The sidecar's ``figure`` entry holds what the report shows with it: ``caption`` (default: the
        figure's title) and ``alt``, a text alternative (default: computed from the figure's panels,
        axes and series by :func:`rrlib.figures.describe`)."""
        described = figures.describe(fig)
        if mark:
            figures.mark_synthetic(fig, self.synthetic)
        path = figures.save(fig, self.layout.figures_dir / f"{name}.svg")
        info = {"caption": caption or described["title"], "alt": alt or described["alt"],
                "synthetic_mark": bool(mark and self.synthetic is not False)}
        self._sidecar(path, extra={"figure": info})
        return path

    def publish(self, df: pd.DataFrame, name: str, *, preset: str = "dfe", **kw) -> pd.DataFrame:
        """Publish a table through disclosure control to ``<out>/tables/<name>.csv`` (+ sidecar)."""
        from . import disclosure

        out = disclosure.publish(df, name, self.layout.tables_dir, preset=preset, **kw)
        published = out[0] if isinstance(out, tuple) else out
        self._sidecar(self.layout.tables_dir / f"{name}.csv",
                      extra={"disclosure": {"preset": preset}})
        return published

    def _sidecar(self, path: Path, extra: dict | None = None) -> None:
        provenance.sidecar(path, chapter=self.name, notebook=self.notebook,
                           parameters=self.parameters, data_dir=self.layout.data_dir,
                           extra=extra)
        self.outputs.append(path)

    def banner(self):
        """Markdown shown at the top of every chapter: which data, and whether it is synthetic."""
        from IPython.display import Markdown

        d = self.layout.data_dir
        if self.synthetic:
            head = ("**SYNTHETIC DATA.** This chapter was run on calibrated synthetic data "
                    f"(`{d.name}`, seed {self.manifest.get('seed')}, scale {self.manifest.get('scale')}). "
                    "Its numbers show that the pipeline works and reproduces the published figures it "
                    "was calibrated to; they are not evidence about young people in Blackpool.")
        elif self.synthetic is False:
            head = (f"**Real data** (`{d}`). Every published table passes through disclosure control.")
        else:
            head = (f"**Data of unknown status** (`{d}` has no MANIFEST): treated as real for "
                    "disclosure control; do not publish without checking.")
        return Markdown(head)

    def finish(self) -> Path:
        """Write ``<out>/results/<chapter>.json``; call as the notebook's last step."""
        return self.results.save()


def setup(name: str, data_dir=None, out_dir=None, parameters: dict | None = None) -> Chapter:
    """Start a chapter: resolve paths, read the data folder's MANIFEST, set the figure style."""
    lay = paths.layout(data_dir, out_dir)
    doc = manifest.read(lay.data_dir) if lay.data_dir.exists() else {}
    synthetic = bool(doc["synthetic"]) if "synthetic" in doc else None
    figures.style()
    res = Results(chapter=name, path=lay.result_file(name),
                  data={"folder": lay.data_dir.name, "synthetic": synthetic,
                        "seed": doc.get("seed"), "scale": doc.get("scale")})
    return Chapter(name=name, layout=lay, parameters=dict(parameters or {}), synthetic=synthetic,
                   manifest=doc, results=res)
