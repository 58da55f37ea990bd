"""Cut: local-authority codes of the DfE exclusions series (old LA code, ONS code, name, years)."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..calendar import year_label
from . import Cut


def make(full: Path) -> pd.DataFrame:
    """One row per (old LA code, ONS code, name) among the local-authority ``Total`` rows of
    ``exc_nat_region_la.csv``: ``old_la_code`` (the DfE's three-digit code, the key of the
    statistical-neighbour tables), ``new_la_code`` (ONS code; ``x`` for the two authorities
    abolished in 2009), ``la_name``, ``region_name`` (the DfE's region of the authority),
    ``first_year`` and ``last_year`` (school years the pair has
    rows for). An authority whose ONS code changed (Gateshead and Northumberland in 2013/14,
    Buckinghamshire in 2021/22) has one row per code. Ordered by old code, then first year."""
    d = pd.read_csv(full, dtype=str, keep_default_na=False, na_filter=False, encoding="utf-8-sig")
    d = d[d["geographic_level"].eq("Local authority") & d["school_type"].eq("Total")]
    g = (d.groupby(["old_la_code", "new_la_code", "la_name", "region_name"], sort=False)["time_period"]
         .agg(first_year="min", last_year="max").reset_index())
    g["first_year"], g["last_year"] = year_label(g["first_year"]), year_label(g["last_year"])
    g = g[["old_la_code", "new_la_code", "la_name", "first_year", "last_year", "region_name"]]
    g = g.assign(_c=g["old_la_code"].astype(int))
    return g.sort_values(["_c", "first_year"], kind="mergesort").drop(columns="_c").reset_index(drop=True)


CUT = Cut(
    name="dfe_la_codes",
    source="dfe-exclusions-la-2006-2023/exc_nat_region_la.csv",
    sha256="aaf64d45cd286af508e845586509cc8abfcd3b0ddb383ce498fbcd86c131a45a",
    citation=("Department for Education (2024). Suspensions and permanent exclusions in England, 2022/23 "
              "release, explore-education-statistics file exc_nat_region_la.csv: the codes of its "
              "local-authority rows. Official statistics."),
    make=make,
    description=("Old (three-digit) and ONS codes of every local authority in the DfE exclusions series, "
                 "with the school years each pair covers and the authority's region: joins statistical "
                 "neighbours to the series."),
)
