"""Cut: DfE suspensions and permanent exclusions, every local authority, region and England, 2006/07-2022/23."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..calendar import year_label
from . import Cut

#: Columns kept (renamed to the compendium's names; values as text, unchanged).
COLUMNS = {"time_period": "year", "geographic_level": "level", "new_la_code": "area_code",
           "area": "area", "headcount": "headcount", "perm_excl": "perm_excl", "perm_excl_rate": "perm_excl_rate",
           "suspension": "suspension", "susp_rate": "susp_rate", "one_plus_susp": "one_plus_susp",
           "one_plus_susp_rate": "one_plus_susp_rate"}


def make(full: Path, school_type: str = "Total") -> pd.DataFrame:
    """The ``Total`` rows (state-funded primary, secondary and special schools; or those of
    ``school_type``, e.g. ``state-funded secondary``) of
    ``exc_nat_region_la.csv`` for every area and year: the area's name (``la_name``, else
    ``region_name``, else ``country_name``), its code (``new_la_code``, empty above LA level),
    headcount, the three counts and their published rates (as text, unchanged, 5 decimals);
    ``year`` as ``2016/17``; ordered by year, level (National, Regional, Local authority), area."""
    d = pd.read_csv(full, dtype=str, keep_default_na=False, na_filter=False, encoding="utf-8-sig")
    d = d[d["school_type"].eq(school_type)].copy()
    d["area"] = d["la_name"].where(d["la_name"] != "", d["region_name"].where(d["region_name"] != "",
                                                                               d["country_name"]))
    d["time_period"] = year_label(d["time_period"])
    d = d[list(COLUMNS)].rename(columns=COLUMNS)
    order = {"National": 0, "Regional": 1, "Local authority": 2}
    return (d.assign(_o=d["level"].map(order)).sort_values(["year", "_o", "area"], kind="mergesort")
            .drop(columns="_o").reset_index(drop=True))


CUT = Cut(
    name="dfe_exclusions_la_2006_2023",
    source="dfe-exclusions-la-2006-2023/exc_nat_region_la.csv",
    sha256="aaf64d45cd286af508e845586509cc8abfcd3b0ddb383ce498fbcd86c131a45a",
    citation=("Department for Education (2024). Suspensions and permanent exclusions in England, 2022/23 "
              "release, explore-education-statistics file exc_nat_region_la.csv (national, regional and "
              "local-authority time series 2006/07 to 2022/23). Official statistics."),
    make=make,
    description="Every area (England, regions, local authorities), all state-funded and special schools "
                "(Total), 2006/07-2022/23.",
)
