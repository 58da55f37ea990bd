"""Test distribution over the cores (`make test` runs pytest-xdist with ``--dist loadgroup``).

Each test module runs on one worker, as ``--dist loadfile`` would, so a module's expensive fixture
(a pipeline run on a small data folder) is built once. Two exceptions:

* a module that shares its fixtures between workers itself (``XDIST_SHARED``: the variants test builds
  its folders once per session under a file lock): its cases are spread over every worker, so the
  longest module no longer sets the wall time of the whole suite;
* modules that read one session-scoped run (``GROUPS``: the shared small run of
  ``tests/integration/conftest.py``) go to one worker together, so that run is made once.

The grouping is done by the scheduler below (xdist's ``pytest_xdist_make_scheduler`` hook), not by
``xdist_group`` marks: pytest-xdist 3.8 writes a mark's group into ``item._nodeid``, which pytest 9
no longer reads (its node id lives in ``_id``), so under pytest 9 ``--dist loadgroup`` groups nothing
and every module's tests were spread over both workers, each building the module's expensive fixture
(the determinism test's two runs were made twice, the importers' whole import twice).
"""
from __future__ import annotations

import sys
from pathlib import PurePosixPath

import pytest

from _shared import SMALL_SCALE, file_lock, session_shared_dir
from rrlib.cli import SKIPPED_OPTIONAL_IMPORTS

# as in `rr`'s own processes (rrlib.cli): jsonschema's optional IRI checker, which nbformat's import pulls in,
# builds its grammar for a second in each of pytest's processes; nothing here checks that string format
for _name in SKIPPED_OPTIONAL_IMPORTS:
    sys.modules.setdefault(_name, None)

#: Modules whose fixtures are shared between xdist workers (file locks), so their tests may be spread.
XDIST_SHARED = {"test_variants"}
#: Modules that read one session-scoped run: one group, one worker, one run.
GROUPS = {"test_determinism": "small_run", "test_outbox_run": "small_run", "test_second_seed": "small_run",
          "test_quiet_run": "small_run"}


def scope_of(nodeid: str) -> str:
    """The unit of work a test belongs to: its module, its group, or itself (``XDIST_SHARED``)."""
    path = nodeid.split("::", 1)[0]
    module = PurePosixPath(path).stem
    if module in XDIST_SHARED:
        return nodeid
    return GROUPS.get(module, path)


def pytest_xdist_make_scheduler(config, log):
    if config.getvalue("dist") not in ("loadgroup", "loadscope", "loadfile"):
        return None
    from xdist.scheduler import LoadScopeScheduling

    class ModuleScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return scope_of(nodeid)

    return ModuleScheduling(config, log)


@pytest.fixture(scope="session", autouse=True)
def _inprocess_memo(tmp_path_factory):
    """The folder where the in-process chapter runs keep what they memoise, one for every worker
    (``tests/_inprocess.py``: chapter 2's official-statistics parts are computed once per session)."""
    import _inprocess

    _inprocess.MEMO_DIR = session_shared_dir(tmp_path_factory) / "inprocess-memo"
    _inprocess.MEMO_DIR.mkdir(parents=True, exist_ok=True)
    yield
    _inprocess.MEMO_DIR = None


@pytest.fixture(scope="session")
def shipped_small(tmp_path_factory):
    """The shipped seed's synthetic folder at scale 0.2, every domain: made once per session (under a file
    lock, by whichever worker needs it first) and shared, read-only, by the bad-input battery, the data
    contract, the importers' extracts and the variant folders (four generations of one folder before)."""
    from rrlib import synth

    shared = session_shared_dir(tmp_path_factory)
    folder = shared / f"synthetic-seed{synth.DEFAULT_SEED}-scale{SMALL_SCALE}"
    with file_lock(shared / f".{folder.name}.lock"):
        if not (folder / "MANIFEST").exists():
            synth.generate(folder, seed=synth.DEFAULT_SEED, scale=SMALL_SCALE)
    return folder
