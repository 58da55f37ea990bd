"""Cut: Fingertips indicator 90813 (hospital admissions for self-harm, 10-24), North West, 2017/18."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from . import Cut

#: Fingertips column -> column of the cut.
COLUMNS = {"AreaCode": "area_code", "AreaName": "area_name", "AreaType": "area_type",
           "ParentName": "parent_name", "Sex": "sex", "Age": "age", "Timeperiod": "period",
           "Value": "value", "Lower_CI_95.0_limit": "lower_95", "Upper_CI_95.0_limit": "upper_95",
           "Lower_CI_99.8_limit": "lower_998", "Upper_CI_99.8_limit": "upper_998",
           "Count": "count", "Denominator": "denominator",
           "Compared_to_England_value_or_percentiles": "compared_to_england"}


def make(full: Path) -> pd.DataFrame:
    """The rows of indicator 90813 (England, the North West region and the 23 North West
    upper-tier authorities, persons 10-24, 2017/18) of the Fingertips bulk download, the columns
    of :data:`COLUMNS` renamed, every value as text exactly as in the file, in the file's order."""
    d = pd.read_csv(full, dtype=str, keep_default_na=False, na_filter=False, encoding="utf-8-sig")
    d = d[d["IndicatorID"].eq("90813")]
    return d[list(COLUMNS)].rename(columns=COLUMNS).reset_index(drop=True)


CUT = Cut(
    name="fingertips_selfharm_10_24_nw_2017_18",
    source="fingertips-cyp-mental-health-nw-2019/indicators-CountyUA.data north west.csv",
    sha256="062f3c55236b6b1a787dd7b4d854cfaf3302622b103369a2f12cb7955118188a",
    citation=("Public Health England, Fingertips 'Children and young people's mental health and wellbeing' "
              "profile, indicator 90813 'Hospital admissions as a result of self-harm (10-24 years)', "
              "North West upper-tier authorities, 2017/18 (bulk download of June 2019, as kept in "
              "Jezzaay/Mental-Health-Analysis at commit bfd4486a498f208e8b334fb6c754366c4ed576f9). "
              "Official statistics."),
    make=make,
    description=("Self-harm admissions 10-24, 2017/18: directly standardised rate per 100,000 with 95% and "
                 "99.8% limits, count and denominator, England, North West and its 23 upper-tier authorities."),
)
