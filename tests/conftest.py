"""Test distribution over the cores (`make test` runs pytest-xdist with ``--dist loadgroup``).

Each test module runs on one worker, as ``--dist loadfile`` would, so a module's expensive fixture
(a pipeline run on a small data folder) is built once. The exception is a module that shares its
fixtures between workers itself (``XDIST_SHARED``: the variants test builds its folders once per
session under a file lock): its cases are spread over every worker, so the longest module no longer
sets the wall time of the whole suite.
"""
from __future__ import annotations

import pytest

#: Modules whose fixtures are shared between xdist workers (file locks), so their tests may be spread.
XDIST_SHARED = {"test_variants"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        module = item.module.__name__.rsplit(".", 1)[-1] if item.module is not None else item.nodeid
        if module not in XDIST_SHARED:
            item.add_marker(pytest.mark.xdist_group(module))
