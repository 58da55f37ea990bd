"""Cut: DfE SFR35/2017 national tables, England by pupil characteristic (the chapter's England pattern)."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from . import Cut

#: ``characteristic_desc`` values the chapter reads (rrlib.chapters.exclusions.NATIONAL_GROUPS).
GROUPS = ("Total", "Gender", "FSM_Eligible", "SEN_provision", "SEN_primary_need", "Ethnicity", "Age")


def make(full: Path) -> pd.DataFrame:
    """The rows of ``SFR35_2017_National_characteristics.csv`` for all schools (``school_type``
    Total), one characteristic at a time (``characteristic_2`` Total), of the groups in
    :data:`GROUPS`, every year (2011/12-2015/16); every column as text, unchanged, in file order."""
    d = pd.read_csv(full, dtype=str, keep_default_na=False, na_filter=False)
    keep = (d["school_type"].eq("Total") & d["characteristic_2"].eq("Total")
            & d["characteristic_desc"].isin(GROUPS))
    return d[keep].reset_index(drop=True)


CUT = Cut(
    name="dfe_exclusions_national_characteristics",
    source="dfe-exclusions-sfr35-2017/SFR35_2017_National_characteristics.csv",
    sha256="9712cd7cf54f85a0be168ef936c9c23ebe60c97da497b54f33b16d33ef38fb5e",
    citation=("Department for Education (2017). Permanent and fixed-period exclusions in England: 2015 to "
              "2016 (SFR35/2017), national tables by pupil characteristic 2011/12 to 2015/16, as packaged in "
              "dfe-analytical-services/exclusion-statistics. Official statistics."),
    make=make,
    description="England, all schools, by sex, FSM, SEN provision and need, ethnicity and age; 2011/12-2015/16.",
)
