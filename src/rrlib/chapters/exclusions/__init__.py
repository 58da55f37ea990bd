"""Chapter 2, Exclusions: are young people in Blackpool excluded from school more than elsewhere,
which young people, and what happened to exclusions among those who got targeted support?

A package of three rooms, re-exported here so that the notebook and the registry use
``from rrlib.chapters import exclusions as X``:

* :mod:`.official`: part A on official statistics (DfE rates, checks, ranks, funnel plots, England's
  pattern by pupil characteristic);
* :mod:`.design`: the pre-specified evaluation on official statistics (``notebooks/plans/exclusions.md``):
  Blackpool (or any authority, by DfE LA code) against its statistical neighbours, placebo inference,
  synthetic control, sensitivity analyses, the overdispersed funnel, self-harm on Fingertips;
* :mod:`.pupils`: part B on pupil records (synthetic by default): the town's rates, who is excluded,
  targeted support.

The methods live in :mod:`rrlib.stats` (rounding, funnels, designs, synthetic control, matching).
"""
from __future__ import annotations

from .design import *  # noqa: F403
from .design import __all__ as _design_all
from .official import *  # noqa: F403
from .official import __all__ as _official_all
from .pupils import *  # noqa: F403
from .pupils import __all__ as _pupils_all

__all__ = [*_official_all, *_design_all, *_pupils_all]
