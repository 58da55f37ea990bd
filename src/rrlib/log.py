"""Messages and run logs of the compendium, on the standard :mod:`logging` module.

* Every message of ``rr`` goes through the ``rrlib`` logger (``logging.getLogger("rrlib.<module>")``).
  :func:`setup` shows them on the console: information on standard output as ``[rr] message``,
  warnings and errors on standard error as ``[rr] warning: ...`` / ``[rr] error: ...``. ``rr -v``
  adds debug messages, ``rr -q`` keeps only warnings and errors. Inside a notebook, where
  :func:`setup` is not called, the library is silent except for warnings (Python's last resort).
* :func:`run_log` writes a run log into ``<out>/logs/``: the command, the data folder (its *name*
  and the sha256 of its ``MANIFEST``, never its path), the parameters, each step's time, and every
  message of the run with its time. A run inside a secure environment leaves a record of what ran,
  on which data and how long, without recording where the data lives: absolute paths in the log are
  written relative to the project, as ``<data>``/``<out>`` for the run's folders, or by their last
  component (:func:`scrub`).
* :func:`progress` is a progress bar (tqdm) on steps where a person waits, shown only on a terminal;
  in a log or under ``make`` the step's own lines tell the progress.
"""
from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import json
import logging
import os
import re
import sys
import time
from pathlib import Path

from . import __version__, paths

LOGGER = "rrlib"
#: console verbosity: -1 quiet (warnings and errors), 0 normal (information), 1 verbose (debug)
LEVELS = {-1: logging.WARNING, 0: logging.INFO, 1: logging.DEBUG}

_active_bar = None
_current_run = None


def get(name: str = "") -> logging.Logger:
    """The logger of ``rrlib.<name>`` (``rrlib`` itself when ``name`` is empty)."""
    if name and not name.startswith(LOGGER):
        name = f"{LOGGER}.{name}"
    return logging.getLogger(name or LOGGER)


class ConsoleFormatter(logging.Formatter):
    """``[rr] message``; ``[rr] warning: message`` and ``[rr] error: message`` above information.
    A message that already names its tool (``[bench] ...``) keeps its own prefix."""

    def format(self, record: logging.LogRecord) -> str:
        msg = record.getMessage()
        if record.exc_info:
            msg = f"{msg}\n{self.formatException(record.exc_info)}"
        level = "" if record.levelno == logging.INFO else f"{record.levelname.lower()}: "
        if msg.startswith("[") and not level:
            return msg
        return f"[rr] {level}{msg}"


class ConsoleHandler(logging.Handler):
    """Information and debug to the current ``sys.stdout``, warnings and errors to the current
    ``sys.stderr`` (looked up at each message, so that redirections and pytest's capture see them).
    While a progress bar is shown, messages are written above it (``tqdm.write``)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            stream = sys.stderr if record.levelno >= logging.WARNING else sys.stdout
            text = self.format(record)
            if _active_bar is not None:
                from tqdm import tqdm
                tqdm.write(text, file=stream)
            else:
                stream.write(text + "\n")
                stream.flush()
        except Exception:  # pragma: no cover - logging must never raise
            self.handleError(record)


def _console_handler(logger: logging.Logger) -> ConsoleHandler | None:
    return next((h for h in logger.handlers if isinstance(h, ConsoleHandler)), None)


def setup(verbosity: int | None = None) -> logging.Logger:
    """Show the ``rrlib`` messages on the console (once; later calls only change the verbosity).

    ``verbosity``: -1 quiet, 0 normal (the default), 1 or more verbose; ``None`` keeps the current
    one (``RR_VERBOSITY`` in the environment, else normal)."""
    logger = logging.getLogger(LOGGER)
    handler = _console_handler(logger)
    if handler is None:
        handler = ConsoleHandler()
        handler.setFormatter(ConsoleFormatter())
        logger.addHandler(handler)
        logger.propagate = False
        if verbosity is None:
            verbosity = int(os.environ.get("RR_VERBOSITY", "0") or 0)
    if verbosity is not None:
        level = LEVELS[max(-1, min(1, verbosity))]
        handler.setLevel(level)
        logger.setLevel(logging.DEBUG)
    return logger


# --------------------------------------------------------------------------- run logs

def manifest_sha256(data_dir: str | Path) -> str | None:
    """sha256 of the data folder's ``MANIFEST`` (what identifies the data without naming its place)."""
    f = Path(data_dir) / "MANIFEST"
    return hashlib.sha256(f.read_bytes()).hexdigest() if f.is_file() else None


_ABS_PATH = re.compile(r"(?<![\w.~-])/(?:[^\s/'\"(),;:=\]\[]+/)*[^\s/'\"(),;:=\]\[]*")


def scrub(text: str, labels: dict[str, str] | None = None) -> str:
    """``text`` without absolute paths outside the project.

    ``labels`` maps folders to a label (``{"/secure/raw": "<data>"}``); paths under the project's
    root are written relative to it; any other absolute path is reduced to ``.../<last component>``.
    """

    root = str(paths.ROOT)
    subs = sorted(((str(k), v) for k, v in (labels or {}).items() if k), key=lambda kv: -len(kv[0]))

    def one(m: re.Match) -> str:
        p = m.group(0)
        for folder, label in subs:
            if p == folder or p.startswith(folder.rstrip("/") + "/"):
                return label + p[len(folder.rstrip("/")):]
        if p == root or p.startswith(root + "/"):
            return os.path.relpath(p, root)
        if p == "/":
            return p
        return ".../" + p.rstrip("/").rsplit("/", 1)[-1]
    return _ABS_PATH.sub(one, text)


class _FileFormatter(logging.Formatter):
    def __init__(self, labels):
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%Y-%m-%dT%H:%M:%S")
        self.labels = labels

    def format(self, record):
        return scrub(super().format(record), self.labels)


class RunLog:
    """One run's log (see :func:`run_log`): ``step(name)`` times a step; ``note(key, value)`` adds a fact."""

    def __init__(self, command: str, data_dir: Path | None, out_dir: Path, parameters: dict, name: str = ""):
        self.command = command
        self.data_dir = Path(data_dir) if data_dir else None
        self.out_dir = Path(out_dir)
        self.parameters = parameters
        self.steps: list[dict] = []
        self.facts: dict = {}
        self.labels = {}
        if self.data_dir is not None:
            self.labels[str(self.data_dir)] = f"<data:{self.data_dir.name}>"
        self.labels[str(self.out_dir)] = f"<out:{self.out_dir.name}>"
        stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", name or command.split()[1 if command.startswith("rr ") else 0])
        slug = slug.strip("-")[:60]
        self.path = self.out_dir / "logs" / f"{stamp}_{slug}_{os.getpid()}.log"
        self.t0 = time.perf_counter()
        self.started = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")

    def header(self) -> dict:
        data = None
        if self.data_dir is not None:
            data = {"name": self.data_dir.name, "manifest_sha256": manifest_sha256(self.data_dir)}
        return {"command": self.command, "rrlib_version": __version__, "started_utc": self.started,
                "data": data, "out": self.out_dir.name, "parameters": self.parameters}

    @contextlib.contextmanager
    def step(self, name: str):
        t = time.perf_counter()
        ok = False
        try:
            yield
            ok = True
        finally:
            secs = time.perf_counter() - t
            self.steps.append({"step": name, "seconds": round(secs, 3), "ok": ok})
            get("log").debug("step %s: %.2f s%s", name, secs, "" if ok else " (failed)")

    def record(self, name: str, seconds: float, **extra) -> None:
        """A step timed elsewhere (e.g. one table of ``rr prepare``)."""
        self.steps.append({"step": name, "seconds": round(float(seconds), 3), **extra})

    def note(self, key: str, value) -> None:
        self.facts[key] = value

    def summary(self, exit_code: int | None) -> dict:
        return {**self.header(), "steps": self.steps, **({"facts": self.facts} if self.facts else {}),
                "seconds": round(time.perf_counter() - self.t0, 3), "exit_code": exit_code}

    def dumps(self, doc: dict) -> str:
        return scrub(json.dumps(doc, indent=2, default=str, ensure_ascii=False), self.labels)


@contextlib.contextmanager
def run_log(command: str, *, data_dir=None, out_dir, parameters: dict | None = None, name: str = ""):
    """Record the run of ``command`` in ``<out_dir>/logs/<UTC time>_<command>_<pid>.log``.

    ``name`` (default: the sub-command) goes into the file's name. The file starts with a JSON
    header (command, data folder name and MANIFEST sha256, parameters), then every ``rrlib``
    message of the run with its time (debug included), and ends with a JSON summary (each step's
    time, the total, the exit code). Yields a :class:`RunLog`; the body may set ``run.exit_code``.
    Writing the log never stops the run: an unwritable folder is a warning.
    """
    global _current_run
    run = RunLog(command, data_dir, out_dir, dict(parameters or {}), name=name)
    run.exit_code = None
    logger = logging.getLogger(LOGGER)
    handler = None
    try:
        run.path.parent.mkdir(parents=True, exist_ok=True)
        with open(run.path, "w", encoding="utf-8") as fh:
            fh.write("# rr run log\n" + run.dumps(run.header()) + "\n# messages\n")
        handler = logging.FileHandler(run.path, mode="a", encoding="utf-8")
        handler.setFormatter(_FileFormatter(run.labels))
        handler.setLevel(logging.DEBUG)
        logger.addHandler(handler)
        if logger.level == logging.NOTSET or logger.level > logging.DEBUG:
            logger.setLevel(logging.DEBUG)
    except OSError as exc:
        get("log").warning("no run log written (%s)", exc)
        handler = None
    previous, _current_run = _current_run, run
    try:
        yield run
    except BaseException:
        run.exit_code = run.exit_code if run.exit_code is not None else "exception"
        raise
    finally:
        _current_run = previous
        if handler is not None:
            logger.removeHandler(handler)
            handler.close()
            with open(run.path, "a", encoding="utf-8") as fh:
                fh.write("# summary\n" + run.dumps(run.summary(run.exit_code)) + "\n")


def record_step(name: str, seconds: float, **extra) -> None:
    """Add a step timed elsewhere to the current run log, if a run is being logged."""
    if _current_run is not None:
        _current_run.record(name, seconds, **extra)


def read_run_log(path: str | Path) -> dict:
    """The header and the summary of a run log (for tests and reviewers' scripts)."""
    text = Path(path).read_text(encoding="utf-8")
    head = text.split("# rr run log\n", 1)[1].split("\n# messages\n", 1)[0]
    out = {"header": json.loads(head), "messages": text.split("\n# messages\n", 1)[1].split("# summary\n", 1)[0]}
    if "# summary\n" in text:
        out["summary"] = json.loads(text.rsplit("# summary\n", 1)[1])
    return out


# --------------------------------------------------------------------------- progress

@contextlib.contextmanager
def progress(total: int | None, desc: str, unit: str = "it"):
    """A progress bar on standard error while the body runs, only when it is a terminal (tqdm's
    ``disable=None``) and the console is not quiet. Yields ``advance(n=1, what=None)``."""
    global _active_bar
    from tqdm import tqdm

    handler = _console_handler(logging.getLogger(LOGGER))
    quiet = handler is not None and handler.level > logging.INFO
    bar = tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, leave=False,
               disable=True if quiet else None, dynamic_ncols=True)
    previous, _active_bar = _active_bar, (bar if not bar.disable else None)
    try:
        def advance(n: int = 1, what: str | None = None):
            if what:
                bar.set_postfix_str(what, refresh=False)
            bar.update(n)
        yield advance
    finally:
        bar.close()
        _active_bar = previous
