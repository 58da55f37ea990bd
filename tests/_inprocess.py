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

With ``memo=True`` (the variant runs, the imported folder's run) the chapter functions of :data:`MEMO`,
whose results depend on their arguments alone (the official-statistics sections: the same public tables on
every data folder), are computed once per test session for each distinct argument list (the arguments'
pickle is the key; the result's pickle is kept in :data:`MEMO_DIR`, which every xdist worker reads) and
replayed from that pickle (the first call, too, returns the pickle's copy, so that a later function given
that result as an argument sees the same bytes on every run): chapter 2's designs, sensitivity analyses
and funnels are about half of each of its variant runs. The figures of a replayed result are drawn from
the same pickle, so their SVG is the first drawing's bytes: it is written from those bytes rather than
drawn again (``figures.save``, about a third of a variant run of chapter 2). Everything else of the
chapter, its results recorded included, runs as usual.
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib
import io
import os
import pickle
import subprocess
import sys
from pathlib import Path

import nbformat

from rrlib import paths, runner


def _env(data_dir: Path, out_dir: Path) -> dict[str, str]:
    return {**runner.kernel_env(), paths.DATA_ENV: str(data_dir), paths.OUT_ENV: str(out_dir)}


#: chapter functions of the official statistics, whose results depend on their arguments alone
MEMO = {"rrlib.chapters.exclusions": ("primary_part", "synth_part", "sensitivity_part", "funnel_part",
                                      "selfharm_part", "timeseries_part")}
_memo: dict[tuple[str, str], bytes] = {}
#: the SVG of each figure of a memoised result, by (result key, figure name)
_svg: dict[tuple, bytes] = {}
_FIGURE_KEY = "_rr_memo_key"
#: a folder the test session's processes share (``tests/conftest.py`` sets it): a memoised result and its
#: figures' SVG are kept there too, so one process computes them for every process of the session
MEMO_DIR: Path | None = None


def _once(memory: dict, key, name: str, make) -> bytes:
    """The bytes of ``key``: from ``memory`` (this process), else from the session's file ``name`` under
    :data:`MEMO_DIR` (locked, so one process makes it), else ``make()`` now; kept in both."""
    if key in memory:
        return memory[key]
    if MEMO_DIR is None:
        memory[key] = make()
        return memory[key]
    from _shared import file_lock
    from rrlib.io import atomic_write_bytes

    file = MEMO_DIR / name
    with file_lock(MEMO_DIR / f".{name}.lock"):
        if file.exists():
            memory[key] = file.read_bytes()
        else:
            memory[key] = make()
            atomic_write_bytes(file, memory[key])
    return memory[key]


class _Unpicklable(Exception):
    """A memoised function's result that does not pickle (it is returned, not kept)."""

    def __init__(self, value):
        super().__init__()
        self.value = value


def _pickled(f, args, kw) -> bytes:
    value = f(*args, **kw)
    try:
        return pickle.dumps(value)
    except Exception:
        raise _Unpicklable(value) from None


def _cached(f):
    @functools.wraps(f)
    def wrapper(*args, **kw):
        try:
            key = (f.__qualname__, hashlib.sha256(pickle.dumps((args, sorted(kw.items())))).hexdigest())
        except Exception:  # an argument that does not pickle: computed every time
            return f(*args, **kw)
        try:
            pickled = _once(_memo, key, f"{key[0]}-{key[1]}.pickle", lambda: _pickled(f, args, kw))
        except _Unpicklable as exc:
            return exc.value
        value = pickle.loads(pickled)
        for name, fig in (getattr(value, "figures", None) or {}).items():
            setattr(fig, _FIGURE_KEY, (key, name))   # drawn from the pickle: the same SVG every time
        return value
    return wrapper


def _saving_once(save):
    """``rrlib.figures.save`` writing a memoised result's figure from the SVG its first drawing made."""
    import matplotlib.pyplot as plt

    from rrlib.io import atomic_write_bytes

    @functools.wraps(save)
    def wrapper(fig, path):
        key = getattr(fig, _FIGURE_KEY, None)
        if key is None:
            return save(fig, path)
        svg = _once(_svg, key, f"{key[0][0]}-{key[0][1]}-{key[1]}.svg", lambda: Path(save(fig, path)).read_bytes())
        plt.close(fig)
        return atomic_write_bytes(Path(path), svg)
    return wrapper


@contextlib.contextmanager
def _memoised():
    from rrlib import figures

    patched = []
    try:
        for module, names in MEMO.items():
            mod = importlib.import_module(module)
            for name in names:
                patched.append((mod, name, getattr(mod, name)))
                setattr(mod, name, _cached(getattr(mod, name)))
        patched.append((figures, "save", figures.save))
        figures.save = _saving_once(figures.save)
        yield
    finally:
        for mod, name, f in patched:
            setattr(mod, name, f)


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


def run_chapter_code(notebook: Path, data_dir: Path, out_dir: Path, memo: bool = False) -> None:
    """Run every code cell of ``notebook`` on ``data_dir``, writing into ``out_dir`` (no kernel); ``memo``:
    the functions of :data:`MEMO` computed once per distinct arguments in this process."""
    env = _env(Path(data_dir), Path(out_dir))
    if os.environ.get("PYTHONHASHSEED") == "0":
        with runner.environ(env), (_memoised() if memo else contextlib.nullcontext()):
            _run_cells(Path(notebook))
        return
    r = subprocess.run([sys.executable, __file__, str(notebook)], env={**os.environ, **env},
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{Path(notebook).name} on {data_dir} failed:\n{r.stderr[-4000:]}")


if __name__ == "__main__":
    _run_cells(Path(sys.argv[1]))
