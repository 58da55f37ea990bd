"""Cut: Fingertips indicator 90813 (self-harm admissions, 10-24), every upper-tier authority, 2011/12-2017/18."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from . import Cut

#: Area codes kept: England (E92), unitary authorities (E06), metropolitan districts (E08),
#: London boroughs (E09) and counties (E10). The file's combined authority (E47, Greater
#: Manchester) is not an upper-tier authority and is left out.
UPPER_TIER = ("E92", "E06", "E08", "E09", "E10")


def make(full: Path) -> pd.DataFrame:
    """Rows of England and every upper-tier authority (:data:`UPPER_TIER`), 2011/12 to 2017/18:
    area_code, area_name, period, value (directly standardised rate per 100,000; empty where
    Fingertips gives none, ``NA`` in the file) and significance (compared with England, as
    published); values as text exactly as in the file; ordered by period, then area code."""
    d = pd.read_csv(full, dtype=str, keep_default_na=False, na_filter=False, encoding="utf-8-sig")
    d = d[d["area_code"].str[:3].isin(UPPER_TIER)]
    d = d.assign(value=d["value"].where(d["value"] != "NA", ""))
    return (d[["area_code", "area_name", "period", "value", "significance"]]
            .sort_values(["period", "area_code"], kind="mergesort").reset_index(drop=True))


CUT = Cut(
    name="fingertips_selfharm_10_24_utla_2011_2018",
    source="fingertips-selfharm-10-24-all-la/admissions_self_harm_young_people.csv",
    sha256="752bdc484ad09a99f976ff58a2ee45a86b9ad9ccd59a861909ab7fa417c3d03c",
    citation=("Public Health England, Fingertips indicator 90813 'Hospital admissions as a result of self-harm "
              "(10-24 years)', every upper-tier local authority and England, 2011/12 to 2017/18, as published "
              "in 2019 and kept in traffordDataLab/dashboard (commit 83e9bc0, "
              "data/children/admissions_self_harm_young_people.csv). Official statistics."),
    make=make,
    description=("Self-harm admissions 10-24: directly standardised rate per 100,000, England and every upper-tier "
                 "authority, 2011/12-2017/18 (rates only: no counts, denominators or limits)."),
)
