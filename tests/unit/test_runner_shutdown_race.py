"""ipykernel's shutdown race is dropped from a chapter kernel's log, and nothing else is.

CI's quiet-run test failed once (2026-12-06) on a chapter kernel printing, after the chapter had
finished, "ERROR:tornado.general:Uncaught exception in ZMQStream callback" with a traceback ending in
``zmq.error.ZMQError: Socket operation on non-socket``. The chapter kernel's ``tornado.general`` logger
drops exactly that (:class:`rrlib.runner.ShutdownRaceFilter`, installed at the kernel's start-up).
"""
import logging

import nbformat
import pytest
import zmq
from nbclient import NotebookClient

from rrlib import paths, runner


def _record(exc: BaseException | None) -> logging.LogRecord:
    info = (type(exc), exc, None) if exc is not None else None
    return logging.LogRecord("tornado.general", logging.ERROR, __file__, 1,
                             "Uncaught exception in ZMQStream callback", None, info)


def test_the_race_is_dropped():
    assert not runner.ShutdownRaceFilter().filter(_record(zmq.ZMQError(zmq.ENOTSOCK)))


@pytest.mark.parametrize("exc", [zmq.ZMQError(zmq.EAGAIN), OSError(zmq.ENOTSOCK, "not a zmq error"),
                                 KeyError("k"), None])
def test_everything_else_is_kept(exc):
    assert runner.ShutdownRaceFilter().filter(_record(exc))


def test_a_chapter_kernel_has_the_filter_and_no_new_name():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import logging\n"
        "print([type(f).__name__ for f in logging.getLogger('tornado.general').filters])\n"
        "print(sorted(k for k in globals() if not k.startswith('_') and k not in "
        "('In', 'Out', 'get_ipython', 'exit', 'quit', 'open', 'logging')))")])
    nb.metadata["kernelspec"] = {"name": runner.KERNEL, "language": "python", "display_name": "Python 3"}
    client = NotebookClient(nb, kernel_name=runner.KERNEL, resources={"metadata": {"path": str(paths.ROOT)}},
                            kernel_manager_class=runner.kernel_manager_class(), timeout=120)
    client.execute()
    text = "".join(o.get("text", "") for o in nb.cells[0].outputs)
    assert text.splitlines() == ["['ShutdownRaceFilter']", "[]"], text
