"""Run a chapter notebook's code without a Jupyter kernel, for tests whose evidence is what the
chapter computes and records (its results JSON, its skipped sections), not its executed notebook.

A kernel adds start-up, a fresh import of the library and the rendering of every table and figure
for display: about half of a small chapter run. The chapters are run through kernels
(:func:`rrlib.runner.run_chapter`) by ``make all`` before the suite and by the shared small runs
(``tests/integration/test_shared_run.py``); the variant runs and the imported folder's run check
that every chapter *completes* on other data and names its skips, which the code alone shows.

The cells run as the kernel would run them: the same environment (:func:`rrlib.runner.kernel_env`,
``RR_DATA_DIR``/``RR_OUT_DIR``), one namespace per run, cells in order, stdout discarded. A kernel
runs with ``PYTHONHASHSEED=0``; so does ``make test``'s pytest, and then the cells run in the test's
own process. Under any other hash seed (pytest run by hand) they run in a child Python started with
``PYTHONHASHSEED=0``, so that a result never depends on how the suite was started.
"""
from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from pathlib import Path

import nbformat

from rrlib import paths, runner


def _env(data_dir: Path, out_dir: Path) -> dict[str, str]:
    return {**runner.kernel_env(), paths.DATA_ENV: str(data_dir), paths.OUT_ENV: str(out_dir)}


def _run_cells(notebook: Path) -> None:
    import matplotlib
    matplotlib.use("agg")
    import matplotlib.pyplot as plt
    from IPython.display import display  # a kernel's built-in

    nb = nbformat.read(notebook, as_version=4)
    namespace: dict = {"__name__": "__main__", "display": display}
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            for i, cell in enumerate(nb.cells):
                if cell.cell_type == "code":
                    exec(compile(cell.source, f"{notebook.name}[cell {i}]", "exec"), namespace)  # noqa: S102
    finally:
        plt.close("all")


def run_chapter_code(notebook: Path, data_dir: Path, out_dir: Path) -> None:
    """Run every code cell of ``notebook`` on ``data_dir``, writing into ``out_dir`` (no kernel)."""
    env = _env(Path(data_dir), Path(out_dir))
    if os.environ.get("PYTHONHASHSEED") == "0":
        with runner.environ(env):
            _run_cells(Path(notebook))
        return
    r = subprocess.run([sys.executable, __file__, str(notebook)], env={**os.environ, **env},
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{Path(notebook).name} on {data_dir} failed:\n{r.stderr[-4000:]}")


if __name__ == "__main__":
    _run_cells(Path(sys.argv[1]))
