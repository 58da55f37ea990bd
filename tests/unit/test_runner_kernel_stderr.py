"""The kernel's stderr is passed on less ipykernel's shutdown race, and nothing else is dropped.

CI printed this report once (issue 28's run, 2026-12-06) after a chapter had finished; the quiet-run
test failed on it. Here the same text is split by the runner's filter.
"""
from rrlib.runner import split_kernel_stderr

RACE = """ERROR:tornado.general:Uncaught exception in ZMQStream callback
Traceback (most recent call last):
  File "/x/.venv/lib/python3.11/site-packages/zmq/eventloop/zmqstream.py", line 585, in _log_error
    f.result()
  File "/x/.venv/lib/python3.11/site-packages/ipykernel/kernelbase.py", line 330, in dispatch_control
    await self.process_control(msg)
zmq.error.ZMQError: Socket operation on non-socket
"""

OTHER = """ERROR:tornado.general:Uncaught exception in ZMQStream callback
Traceback (most recent call last):
  File "/x/kernelbase.py", line 1, in dispatch_shell
    raise KeyError("k")
KeyError: 'k'
"""

CHAINED_RACE = """ERROR:tornado.general:Uncaught exception in ZMQStream callback
Traceback (most recent call last):
  File "/x/a.py", line 1, in f
    g()
ValueError: first

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File "/x/a.py", line 3, in h
    s.send()
zmq.error.ZMQError: Socket operation on non-socket
"""


def test_the_shutdown_race_is_dropped_and_counted():
    kept, dropped = split_kernel_stderr(RACE)
    assert (kept, dropped) == ("", 1)


def test_lines_around_it_are_kept_in_order():
    before, after = "[I 10:00] kernel started\n", "a line of the kernel after it\n"
    kept, dropped = split_kernel_stderr(before + RACE + after)
    assert (kept, dropped) == (before + after, 1)


def test_the_same_header_with_another_error_is_kept_whole():
    kept, dropped = split_kernel_stderr(OTHER + RACE)
    assert (kept, dropped) == (OTHER, 1)


def test_a_chained_report_is_judged_by_its_last_error():
    assert split_kernel_stderr(CHAINED_RACE) == ("", 1)
    chained_other = CHAINED_RACE.replace("zmq.error.ZMQError: Socket operation on non-socket", "OSError: disk")
    assert split_kernel_stderr(chained_other) == (chained_other, 0)


def test_a_truncated_report_is_kept():
    cut = "\n".join(RACE.splitlines()[:4]) + "\n"
    assert split_kernel_stderr(cut) == (cut, 0)


def test_stderr_without_the_header_is_untouched():
    text = ("WARNING: something else\nTraceback (most recent call last):\n"
            "zmq.error.ZMQError: Socket operation on non-socket\n")
    assert split_kernel_stderr(text) == (text, 0)
