"""Cut: pupils eligible for free school meals by local authority, January 2016 (comparator choice)."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from . import Cut


def make(full: Path) -> pd.DataFrame:
    """The ``FSM``, ``Total`` rows of academic year 2015/16 (January 2016 census) of
    ``nat_la_pp_fsm_sen_eal.csv``, every local authority and England: code, name, FSM-eligible
    pupils, pupils, and the share as published (a fraction); values as text, ordered by code."""
    d = pd.read_csv(full, dtype=str, keep_default_na=False, na_filter=False, encoding="utf-8-sig")
    d = d[d["academic_year"].eq("201516") & d["Pupil_group"].eq("FSM") & d["school_type_short"].eq("Total")]
    d = d.rename(columns={"Area_code": "area_code", "Area": "area", "x_value": "fsm_pupils",
                          "n_value": "pupils", "x_percent": "fsm_share"})
    d = d.assign(census="January 2016")
    return (d[["census", "area_code", "area", "fsm_pupils", "pupils", "fsm_share"]]
            .sort_values("area_code", kind="mergesort").reset_index(drop=True))


CUT = Cut(
    name="dfe_fsm_la_2016",
    source="dfe-fsm-la-2016-2026/nat_la_pp_fsm_sen_eal.csv",
    sha256="287914e88bf173de364e237193ccae5a421c6ca7d8c7bb20c4e81f6f0481c5bb",
    citation=("Department for Education. Schools, pupils and their characteristics: January 2016 "
              "(pupils eligible for free school meals, by local authority), as reshaped in "
              "cadwalladered/rsic_resources, nat_la_pp_fsm_sen_eal.csv (commit ae6acca). Official statistics."),
    make=make,
    description="FSM-eligible pupils and pupils on roll, every local authority and England, January 2016.",
)
