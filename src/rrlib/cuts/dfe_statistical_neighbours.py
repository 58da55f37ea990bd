"""Cut: the DfE's children's services statistical neighbours, April 2021 and May 2025 models."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from . import Cut

#: Columns of the cut (those of the full file, unchanged).
COLUMNS = ["version", "la_code", "la_name", "region", "rank", "neighbour_code", "closeness", "neighbour_name"]


def make(full: Path) -> pd.DataFrame:
    """Every row of ``statistical_neighbours_long.csv`` (both models, every authority, its ten
    neighbours SN1-SN10 with their closeness band): the columns of :data:`COLUMNS`, values as text
    exactly as in the file; ordered by version, authority code (DfE old LA code) and rank."""
    d = pd.read_csv(full, dtype=str, keep_default_na=False, na_filter=False, encoding="utf-8-sig")
    d = d[COLUMNS]
    order = d.assign(_c=d["la_code"].astype(int), _r=d["rank"].astype(int))
    return (order.sort_values(["version", "_c", "_r"], kind="mergesort")
            .drop(columns=["_c", "_r"]).reset_index(drop=True))


CUT = Cut(
    name="dfe_statistical_neighbours",
    source="dfe-statistical-neighbours/statistical_neighbours_long.csv",
    sha256="47d505e46808e471ace0fcb3c7fd81446e93e01047df3c256b6380c1005097fe",
    citation=("Department for Education. Children's services statistical neighbour benchmarking tool, "
              "April 2021 and May 2025 models (sheet 'LA SN Groups' of sn_april_2021.xlsx, sha256 "
              "e9594202bbf624f3328bd042ae0cf18d0df747d4320146449804dfe3133aa219, and sn_may_2025.xlsx, sha256 "
              "8741494be7bbced69706589b7064b57d33737fc42ebbb3e778770f6bb78b1739), as shipped with the DfE's "
              "Local Authority Interactive Tool in dfe-analytical-services/local-authority-interactive-tool "
              "(commit 2e30e39, 01_data/02_prod/), reshaped to one row per (version, authority, rank)."),
    make=make,
    description=("Each English local authority's ten statistical neighbours (DfE old LA codes, rank 1-10, "
                 "closeness band), April 2021 model (156 authorities) and May 2025 model (158)."),
)
