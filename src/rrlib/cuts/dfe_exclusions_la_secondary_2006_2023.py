"""Cut: DfE suspensions and permanent exclusions, state-funded secondary schools, every area, 2006/07-2022/23."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from . import Cut
from . import dfe_exclusions_la_2006_2023 as _total


def make(full: Path) -> pd.DataFrame:
    """The ``state-funded secondary`` rows of ``exc_nat_region_la.csv``, cut exactly as the
    ``Total`` rows are (:func:`rrlib.cuts.dfe_exclusions_la_2006_2023.make`): same columns,
    values as text, same order."""
    return _total.make(full, school_type="state-funded secondary")


CUT = Cut(
    name="dfe_exclusions_la_secondary_2006_2023",
    source=_total.CUT.source,
    sha256=_total.CUT.sha256,
    citation=_total.CUT.citation.replace("(national,", "state-funded secondary schools (national,"),
    make=make,
    description="Every area (England, regions, local authorities), state-funded secondary schools, 2006/07-2022/23.",
)
