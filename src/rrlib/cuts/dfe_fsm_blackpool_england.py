"""Cut: pupils eligible for free school meals, Blackpool and England, January 2016 to January 2025."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from . import Cut

TYPES = {"Total": 0, "primary": 1, "secondary": 2, "special": 3}


def make(full: Path) -> pd.DataFrame:
    """The ``FSM`` rows of ``nat_la_pp_fsm_sen_eal.csv`` for Blackpool (E06000009) and England
    (area code ``E0`` in that file), every census year and school type (Total, primary, secondary, special):
    census year (``201516`` is the January 2016 census), area code and name, school type,
    FSM-eligible pupils, pupils on roll and the share as published (a fraction); values as
    text, unchanged; ordered by area code, census year and school type."""
    d = pd.read_csv(full, dtype=str, keep_default_na=False, na_filter=False, encoding="utf-8-sig")
    d = d[d["Pupil_group"].eq("FSM") & d["Area_code"].isin(["E06000009", "E0"])]
    d = d.rename(columns={"Area_code": "area_code", "Area": "area", "school_type_short": "school_type",
                          "x_value": "fsm_pupils", "n_value": "pupils", "x_percent": "fsm_share"})
    d = d.assign(_t=d["school_type"].map(TYPES).fillna(9))
    d = d.sort_values(["area_code", "academic_year", "_t"], kind="mergesort")
    return d[["academic_year", "exam_year", "area_code", "area", "school_type", "fsm_pupils", "pupils",
              "fsm_share"]].reset_index(drop=True)


CUT = Cut(
    name="dfe_fsm_blackpool_england",
    source="dfe-fsm-la-2016-2026/nat_la_pp_fsm_sen_eal.csv",
    sha256="287914e88bf173de364e237193ccae5a421c6ca7d8c7bb20c4e81f6f0481c5bb",
    citation=("Department for Education. Schools, pupils and their characteristics (January school census, "
              "pupils eligible for free school meals by local authority), January 2016 onwards, as reshaped "
              "by a third party in cadwalladered/rsic_resources, nat_la_pp_fsm_sen_eal.csv (commit ae6acca). "
              "Official statistics."),
    make=make,
    description="FSM-eligible pupils and pupils on roll, Blackpool and England, every census year, by school type.",
)
