"""Cut: DfE SFR35/2017 local-authority time series, Blackpool, North West and England (2006/07-2016/17)."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..calendar import year_label
from . import Cut

AREAS = ("Blackpool", "North West", "England")
SCHOOL_TYPES = ("Secondary", "Total")


def make(full: Path) -> pd.DataFrame:
    """The rows of ``clean_la_data.csv`` for Blackpool, the North West and England, school types
    Total and Secondary, every year, every column as text unchanged except ``year`` (``201617`` ->
    ``2016/17``); ordered by school type, area, year."""
    d = pd.read_csv(full, dtype=str, keep_default_na=False, na_filter=False)
    d = d[d["la_name"].isin(AREAS) & d["school_type"].isin(SCHOOL_TYPES)].copy()
    d["year"] = year_label(d["year"])
    return d.sort_values(["school_type", "la_name", "year"], kind="mergesort").reset_index(drop=True)


CUT = Cut(
    name="dfe_exclusions_blackpool_nw_england",
    source="dfe-exclusions-sfr35-2017/clean_la_data.csv",
    sha256="338260d3b24608e69e84fa1cce900c4f483263f6a220ce82f27c3825beb22048",
    citation=("Department for Education (2018). Permanent and fixed-period exclusions in England: 2016 to "
              "2017 (SFR35/2017), local-authority time series 2006/07 to 2016/17, as packaged in "
              "dfe-analytical-services/exclusion-statistics, data/clean_la_data.csv (commit 7e9dffa). "
              "Official statistics."),
    make=make,
    description="Blackpool, North West, England; Total and Secondary; 2006/07-2016/17; 66 rows.",
)
