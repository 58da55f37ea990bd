"""Run a chapter notebook with papermill, strictly.

* Parameters are checked against the notebook's ``parameters`` cell
  (:func:`papermill.inspect_notebook`): papermill itself only *warns* on an unknown one; we refuse it.
* The kernel is this environment's own (``-k python3 -l python``), started with the compendium's
  root as working directory and a deterministic environment (``SOURCE_DATE_EPOCH``,
  ``PYTHONHASHSEED``, the Agg backend).
* The executed copy is written to ``<out>/notebooks/<name>.ipynb`` only when every cell ran: a
  failed run leaves ``<name>.failed.ipynb`` beside it and the failing cell's error on stderr,
  so ``make`` never mistakes a failed chapter for a finished one.
* The kernel talks to us over IPC (Unix sockets in a private temporary folder), not TCP: ipykernel
  warns that TCP is unencrypted, and a local run has no reason to open ports. At shutdown the kernel,
  idle, is asked to stop without being interrupted first (jupyter_client's ``shutdown_kernel`` sends
  SIGINT before the shutdown request; when it lands while the kernel handles a message, ipykernel
  logs "ERROR | KeyboardInterrupt caught in kernel", which is not an error of the chapter).
  :class:`ChapterKernelManager` does both, and starts the kernel with :class:`ShutdownRaceFilter` on its
  tornado logger (ipykernel's own shutdown race, ENOTSOCK); a normal run prints no WARNING or ERROR line.
"""
from __future__ import annotations

import ast
import contextlib
import datetime as dt
import errno
import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import time
from pathlib import Path

import yaml

from . import areas, log, paths
from .io import atomic_write_text
from .provenance import portable

logger = log.get("runner")

KERNEL = "python3"
LANGUAGE = "python"
CELL_TIMEOUT = 900
#: 2016-09-01, the start of the Resilience Revolution's first school year.
SOURCE_DATE_EPOCH = "1472688000"


ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class NotebookParameterError(ValueError):
    pass


class ChapterFailed(RuntimeError):
    pass


def declared_parameters(notebook: str | Path) -> dict:
    """The parameters a notebook declares in its ``parameters`` cell: ``{name: default source}``."""
    import papermill

    info = papermill.inspect_notebook(str(notebook))
    return {name: p.get("default") for name, p in info.items()}


def check_parameters(notebook: str | Path, parameters: dict) -> None:
    """Refuse any parameter the notebook does not declare (papermill only warns), and any value
    whose type is not the type of the notebook's declared default (:func:`check_parameter_type`)."""
    import papermill

    info = papermill.inspect_notebook(str(notebook))
    declared = {name: p.get("default") for name, p in info.items()}
    if not declared:
        raise NotebookParameterError(f"{notebook}: has no cell tagged 'parameters'")
    unknown = sorted(set(parameters) - set(declared))
    if unknown:
        raise NotebookParameterError(
            f"{Path(notebook).name}: unknown parameter(s) {', '.join(unknown)}; "
            f"the notebook declares: {', '.join(sorted(declared))}")
    for name, value in parameters.items():
        problem = check_parameter_type(name, value, declared[name],
                                       info[name].get("inferred_type_name"))
        if problem:
            raise NotebookParameterError(f"{Path(notebook).name}: {problem}")


# --------------------------------------------------------------------------- parameter types
# A parameter's expected type is the type of the notebook's declared default (a literal of the
# `parameters` cell), or its annotation (``x: str = None``) when it has one. A default of None
# ("from the data") with no annotation accepts any literal but a date: notebooks take literals
# only, so a YAML date (an unquoted 2017-04-01) is never what a notebook declares.

_KIND_WORDS = {str: "text", int: "a whole number", float: "a number", bool: "true or false",
               list: "a list", dict: "a mapping", tuple: "a list"}
_ANNOTATIONS = {"str": str, "int": int, "float": float, "bool": bool, "list": list, "dict": dict,
                "tuple": tuple}


def _describe(value) -> str:
    if isinstance(value, dt.datetime):
        return f"a date-time {value.isoformat(sep=' ')}"
    if isinstance(value, dt.date):
        return f"a date {value.isoformat()}"
    if value is None:
        return "nothing (null)"
    kind = type(value)
    if kind is bool:
        return f"the boolean {str(value).lower()}"
    word = _KIND_WORDS.get(kind, kind.__name__)
    return f"{word} {value!r}" if kind is not str else f"text {value!r}"


def _fits(value, kind: type, example=None) -> bool:
    if kind is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind in (list, tuple):
        if not isinstance(value, (list, tuple)):
            return False
        items = [type(x) for x in (example or []) if x is not None]
        if items and all(t is items[0] for t in items):  # every item of the default has one type
            return all(_fits(v, items[0]) for v in value)
        return True
    return isinstance(value, kind)


def check_parameter_type(name: str, value, default_source: str | None,
                         annotation: str | None = None) -> str | None:
    """Why ``value`` does not fit the parameter ``name`` declared with ``default_source`` (the
    literal's source text, as papermill reports it) and an optional annotation; None if it fits.

    The message is one line naming the parameter, what it expects (with the declared default as
    an example) and what it got; for a YAML date it says how to pass it as text.
    """

    try:
        default = ast.literal_eval(default_source) if default_source not in (None, "") else None
    except (ValueError, SyntaxError):
        return None  # not a literal (an expression): nothing to compare with
    kind = None
    ann = (annotation or "").replace("Optional[", "").replace("]", "").replace(" ", "")
    ann_types = [_ANNOTATIONS[a.split("[")[0]] for a in ann.split("|") if a.split("[")[0] in _ANNOTATIONS]
    if ann_types:
        kind = ann_types[0]
    elif default is not None:
        kind = type(default)
    is_date = isinstance(value, (dt.date, dt.datetime))
    quote = (f" (YAML reads an unquoted date as a date: quote it, -p '{name}=\"{value}\"')"
             if is_date else "")
    if kind is None:  # default None and no annotation: any literal but a date
        if isinstance(value, (list, tuple)) and any(isinstance(v, (dt.date, dt.datetime)) for v in value):
            return (f"parameter {name}: expected a list of text or numbers, got {_describe(value)} "
                    "(YAML reads an unquoted date as a date: quote each one, e.g. [\"2016-09-01\"])")
        if is_date:
            return f"parameter {name}: expected text or a number, got {_describe(value)}{quote}"
        return None
    if value is None and (default is None or "None" in ann):
        return None
    if _fits(value, kind, default if isinstance(default, (list, tuple)) else None):
        return None
    expected = _KIND_WORDS.get(kind, kind.__name__)
    if kind in (list, tuple) and isinstance(default, (list, tuple)) and default:
        item = type(default[0])
        expected = f"a list of {_KIND_WORDS.get(item, item.__name__)}"
        if item is str and any(isinstance(v, (dt.date, dt.datetime)) for v in (value or [])
                               if isinstance(value, (list, tuple))):
            quote = " (YAML reads an unquoted date as a date: quote each one, e.g. [\"2016-09-01\"])"
    example = f" like {default_source}" if default is not None else ""
    return f"parameter {name}: expected {expected}{example}, got {_describe(value)}{quote}"


def _is_input(name: str) -> bool:
    """Parameters that name input files or folders (``data_dir``, ``dfe_la_file``) choose data;
    the others are the chapter's options."""
    return name in ("data_dir", "out_dir") or name.endswith(("_file", "_dir", "_path"))


def changed_options(notebook: str | Path, parameters: dict) -> dict:
    """The options in ``parameters`` whose values differ from the notebook's defaults."""

    declared = declared_parameters(notebook)
    out = {}
    for name, value in parameters.items():
        if _is_input(name):
            continue
        try:
            default = ast.literal_eval(str(declared.get(name)))
        except (ValueError, SyntaxError):
            default = declared.get(name)
        if value != default:
            out[name] = value
    return out


def params_folder(data_name: str, changed: dict) -> str:
    """The output folder of a run with non-default options: ``<data>-<slug>-<hash>``, e.g.
    ``synthetic-financial_year-2018-19-1a2b3c``; the hash is of the options' canonical JSON."""

    text = json.dumps(changed, sort_keys=True, default=str)
    slug = "-".join(f"{k}-{v}" for k, v in sorted(changed.items()))
    slug = re.sub(r"[^A-Za-z0-9_.]+", "-", slug).strip("-")[:48]
    return f"{data_name}-{slug}-{hashlib.sha256(text.encode()).hexdigest()[:6]}"


def parse_assignments(items: list[str]) -> dict:
    """``["name=value", ...]`` from the command line; values are YAML literals (``5``, ``true``, ``[a, b]``)."""

    out = {}
    for item in items:
        if "=" not in item:
            raise NotebookParameterError(f"parameter {item!r} is not of the form name=value")
        name, value = item.split("=", 1)
        out[name.strip()] = yaml.safe_load(value) if value != "" else None
    return out


def kernel_manager_class():
    """The kernel manager of chapter runs: IPC transport in a private folder, no interrupt at shutdown."""
    from jupyter_client.manager import AsyncKernelManager

    class ChapterKernelManager(AsyncKernelManager):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            # Unix sockets need a short path (about 100 bytes): a fresh folder under the system's tmp.
            self._ipc_dir = tempfile.mkdtemp(prefix="rr-kernel-")
            self.transport = "ipc"
            self.ip = os.path.join(self._ipc_dir, "kernel")

        async def _async_launch_kernel(self, kernel_cmd, **kw):
            # before the notebook's first cell: the kernel's tornado logger drops ipykernel's shutdown race
            kernel_cmd = [*kernel_cmd, f"--IPKernelApp.exec_lines={QUIET_SHUTDOWN_RACE}"]
            await super()._async_launch_kernel(kernel_cmd, **kw)

        async def _async_interrupt_kernel(self):
            if self.shutting_down:   # the notebook has finished: nothing to interrupt
                return
            await super()._async_interrupt_kernel()

        async def _async_cleanup_resources(self, restart: bool = False):
            await super()._async_cleanup_resources(restart=restart)
            if not restart:
                shutil.rmtree(self._ipc_dir, ignore_errors=True)

    return ChapterKernelManager


class ShutdownRaceFilter(logging.Filter):
    """Drops ipykernel's shutdown race from the kernel's ``tornado.general`` log, and nothing else.

    At shutdown ipykernel can still answer on a socket its own shutdown has just closed; tornado then
    logs "Uncaught exception in ZMQStream callback" with ``zmq.error.ZMQError: Socket operation on
    non-socket`` (ENOTSOCK). ipykernel 7.4 fixed one such path (ipython/ipykernel#1518), not every one;
    CI's quiet-run test failed on another. It says nothing about the chapter. A record is dropped only
    when the exception it carries is a ZMQError with errno ENOTSOCK.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        race = (exc is not None and type(exc).__module__.startswith("zmq")
                and type(exc).__name__ == "ZMQError" and getattr(exc, "errno", None) == errno.ENOTSOCK)
        return not race


def quiet_shutdown_race() -> None:
    """Run in the chapter's kernel at start-up (:data:`QUIET_SHUTDOWN_RACE`)."""
    tornado_log = logging.getLogger("tornado.general")
    if not any(isinstance(f, ShutdownRaceFilter) for f in tornado_log.filters):
        tornado_log.addFilter(ShutdownRaceFilter())


#: the kernel's start-up line (IPython's ``exec_lines``): binds no name in the notebook's namespace
QUIET_SHUTDOWN_RACE = "__import__('rrlib.runner', fromlist=['runner']).quiet_shutdown_race()"


@contextlib.contextmanager
def environ(extra: dict[str, str]):
    """``extra`` set in ``os.environ`` for the block; what was there before is put back after it."""
    saved = {k: os.environ.get(k) for k in extra}
    os.environ.update(extra)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def kernel_env() -> dict:
    return {"SOURCE_DATE_EPOCH": SOURCE_DATE_EPOCH, "PYTHONHASHSEED": "0", "MPLBACKEND": "agg",
            "MATPLOTLIBRC": str(paths.MATPLOTLIBRC), "PYDEVD_DISABLE_FILE_VALIDATION": "1"}


def run_chapter(notebook: str | Path, *, data_dir=None, out_dir=None, parameters: dict | None = None,
                timeout: int = CELL_TIMEOUT, quiet: bool = False) -> Path:
    """Execute ``notebook`` into the run's ``notebooks/`` folder; returns the executed copy's path."""

    notebook = Path(notebook)
    if not notebook.is_absolute():
        notebook = (paths.NOTEBOOKS_DIR / notebook) if not notebook.exists() else notebook.resolve()
    if not notebook.exists():
        raise FileNotFoundError(f"no chapter notebook {notebook}")
    check_parameters(notebook, {"data_dir": None, "out_dir": None, **(parameters or {})})
    changed = changed_options(notebook, parameters or {})
    lay = paths.layout(data_dir, out_dir)
    if changed and lay.default:
        if out_dir is not None or os.environ.get(paths.OUT_ENV):
            raise NotebookParameterError(
                f"{notebook.name}: non-default parameters ({', '.join(sorted(changed))}) are never "
                "written over the reference outputs (figures/, reports/); give another --out-dir "
                "(make: OUT_DIR=...) or none (then output/<data>-<parameters>/)")
        lay = paths.layout(data_dir, paths.ROOT / "output" / params_folder(lay.data_dir.name, changed))
    area = areas.from_env()
    if not area.is_default and lay.default:
        if out_dir is not None or os.environ.get(paths.OUT_ENV):
            raise NotebookParameterError(
                f"{notebook.name}: an area run ({area.name}) is never written over the reference outputs "
                "(figures/, reports/); give another --out-dir (make: OUT_DIR=...) or none "
                f"(then output/area-{area.slug}/)")
        lay = paths.layout(data_dir, paths.ROOT / "output" / f"area-{area.slug}")
    # the folders reach the kernel through RR_DATA_DIR / RR_OUT_DIR, not as injected parameters:
    # the executed notebook (an output) then holds no absolute path (on real data, a path inside
    # the secure environment)
    params = dict(parameters or {})

    target = lay.executed_dir / notebook.name
    tmp = target.with_name(f".{notebook.stem}.running.ipynb")
    failed = target.with_name(f"{notebook.stem}.failed.ipynb")
    target.parent.mkdir(parents=True, exist_ok=True)
    for stale in (tmp, failed):
        stale.unlink(missing_ok=True)

    os.environ.update(kernel_env())
    with environ({paths.DATA_ENV: str(lay.data_dir), paths.OUT_ENV: str(lay.out_dir)}):
        return _execute(notebook, tmp, target, failed, lay, params, timeout, quiet)


def _portable_metadata(path: Path, lay) -> None:
    """papermill records the notebook's absolute input and output paths: made portable
    (:func:`rrlib.provenance.portable`) so that the executed notebook names no folder outside
    the project."""

    text = path.read_text(encoding="utf-8")
    # the run's folders in cell outputs (a returned Path, a printed message): project-relative,
    # or the folder's name when it is outside the project (a secure environment's path)
    for folder in sorted({str(lay.out_dir), str(lay.data_dir), str(lay.processed_dir),
                          str(lay.figures_dir)}, key=len, reverse=True):
        text = text.replace(json.dumps(folder)[1:-1], json.dumps(str(portable(folder)))[1:-1])
    root = json.dumps(str(paths.ROOT) + "/")[1:-1]
    text = text.replace(root, "")
    nb = json.loads(text)
    meta = nb.get("metadata", {}).get("papermill")
    if not isinstance(meta, dict):
        atomic_write_text(path, json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
        return
    for key in ("input_path", "output_path", "cwd"):
        if meta.get(key):
            meta[key] = portable(meta[key])
    if isinstance(meta.get("parameters"), dict):
        meta["parameters"] = portable(meta["parameters"])
    atomic_write_text(path, json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n")


def _execute(notebook, tmp, target, failed, lay, params, timeout, quiet) -> Path:
    import papermill
    from papermill.exceptions import PapermillExecutionError

    t0 = time.time()
    if not quiet:
        logger.info(f"running {notebook.name} on {lay.data_dir} -> {lay.out_dir}")
    logger.debug("parameters: %s", params)
    try:
        papermill.execute_notebook(
            str(notebook), str(tmp), parameters=params, kernel_name=KERNEL, language=LANGUAGE,
            cwd=str(paths.ROOT), execution_timeout=timeout, progress_bar=False,
            request_save_on_cell_execute=False, kernel_manager_class=kernel_manager_class())
    except PapermillExecutionError as exc:
        if tmp.exists():
            os.replace(tmp, failed)
        if exc.ename == "ParameterError":  # rrlib.chapter.ParameterError: the parameter's own message
            raise NotebookParameterError(f"{notebook.name}: {ANSI.sub('', str(exc.evalue))}") from None
        raise ChapterFailed(
            f"{notebook.name} failed in cell {exc.exec_count} ({exc.ename}: {exc.evalue}).\n"
            f"The executed notebook with the error is at {failed}.\n"
            + ANSI.sub("", "\n".join(exc.traceback[-8:] if exc.traceback else []))) from None
    except BaseException:
        if tmp.exists():
            os.replace(tmp, failed)
        raise
    _portable_metadata(tmp, lay)
    os.replace(tmp, target)
    log.record_step(f"execute {notebook.name}", time.time() - t0)
    if not quiet:
        logger.info(f"{notebook.name} done in {time.time() - t0:.1f} s -> {target}")
    return target


def main_run(notebook: str, *, data_dir=None, out_dir=None, assignments=(), timeout=CELL_TIMEOUT) -> int:
    try:
        run_chapter(notebook, data_dir=data_dir, out_dir=out_dir,
                    parameters=parse_assignments(list(assignments)), timeout=timeout)
    except (NotebookParameterError, ChapterFailed, FileNotFoundError) as exc:
        logger.error(f"rr run: {exc}")
        return 2 if isinstance(exc, NotebookParameterError) else 1
    return 0
