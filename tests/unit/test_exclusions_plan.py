"""The exclusions analysis plan (notebooks/plans/exclusions.md) is the one the code follows."""
import re

import yaml

from rrlib import paths
from rrlib.chapters import exclusions as X


def _plan():
    text = (paths.ROOT / "notebooks" / "plans" / "exclusions.md").read_text(encoding="utf-8")
    block = re.search(r"## Machine-readable part\s+```yaml\n(.*?)```", text, re.S)
    assert block, "the plan has no machine-readable part"
    return yaml.safe_load(block.group(1))


def test_plan_is_the_code():
    plan = _plan()
    for k, v in plan.items():
        got = X.PLAN[k]
        assert (list(got) if isinstance(got, tuple) else got) == v, f"plan {k}: {v!r} but code {got!r}"
    w = X.PRIMARY_WINDOW
    assert (w.first, w.start - 1) == tuple(plan["before"]) and (w.start, w.end) == tuple(plan["after"])
    assert list(w.exclude) == plan["excluded_years"]
    assert list(X.design.SENSITIVITY_LABELS)[1:] == plan["sensitivity"]
