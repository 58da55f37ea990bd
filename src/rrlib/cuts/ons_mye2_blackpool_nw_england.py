"""Cut: ONS mid-year population estimates (MYE2), Blackpool, North West and England, mid-2015 to mid-2020."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from . import Cut

SEX_ORDER = {"Persons": 0, "Males": 1, "Females": 2}


def make(full: Path) -> pd.DataFrame:
    """Every row of the tidy MYE2 file (6 mid-years x Persons/Males/Females x Blackpool E06000009,
    North West E12000002, England E92000001), every column (``all_ages``, ``age_0`` ... ``age_89``,
    ``age_90plus``) unchanged as text; ordered by mid-year, sex (Persons, Males, Females) and area code."""
    d = pd.read_csv(full, dtype=str, keep_default_na=False, na_filter=False, encoding="utf-8-sig")
    d = d[d["code"].isin(["E06000009", "E12000002", "E92000001"])]
    key = d["mid_year"].astype(int) * 10 + d["sex"].map(SEX_ORDER).fillna(9).astype(int)
    return (d.assign(_k=key).sort_values(["_k", "code"], kind="mergesort").drop(columns="_k")
            .reset_index(drop=True))


CUT = Cut(
    name="ons_mye2_blackpool_nw_england",
    source="ons-mye2-2015-2020/mye2_blackpool_nw_england_2015_2020.csv",
    sha256="38763101dee53efa16aff19eb798eb709729473ed45c592ce95015fde992eec3",
    citation=("Office for National Statistics. Population estimates for the UK, England and Wales, Scotland "
              "and Northern Ireland: mid-2015 to mid-2020 (MYE2, population by single year of age and sex, "
              "local authorities), editions as first published (not the back series rebased after Census "
              "2021); tidy cut of the six workbooks in ericyang-almaeconomics/social_care_datahub (commit "
              "c481891). Official statistics."),
    make=make,
    description="Mid-year population by single year of age and sex, Blackpool, North West, England, 2015-2020.",
)
