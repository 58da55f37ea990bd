"""WMF domain: the HeadStart Wellbeing Measurement Framework (WMF) secondary school survey.

Raw table ``wmf_survey``: one row per questionnaire returned, for the HeadStart areas of the
extract (any set; the shipped data have the six partnerships Blackpool, Cornwall, Hull, Kent,
Newham, Wolverhampton) and its waves (any academic years; shipped: 2016/17 to 2020/21). Two
samples: a *cohort* of pupils in Year 7 in 2016/17 followed each year to Year 11 (the
``respondent_id`` links a pupil's waves), and a *snapshot* of Year 9 pupils each wave. In
2018/19 the cohort is itself in Year 9 and there is no separate snapshot sample; the chapter's
"Year 9 series" is every Year 9 respondent of a wave. School ids are the survey's own
(``W-BLA-003``), not census school ids: the WMF extract is not linked to the school census.

Items, answered as the questionnaire records them (before any reverse scoring):
Short Warwick-Edinburgh Mental Wellbeing Scale ``swemwbs_1..7`` (1-5); Strengths and
Difficulties Questionnaire, self-report ``sdq_1..sdq_25`` (0-2, official item order) and its
impact supplement ``sdq_ebddiff`` and ``sdq_distres``, ``sdq_imphome``, ``sdq_impfrie``,
``sdq_impclas``, ``sdq_impleis`` (0-3; the impact questions are skipped when ``sdq_ebddiff`` is
0, "no difficulties"); Student Resilience Survey ``srs_<subscale>_<k>`` (1-5) with the
subscales and item counts of :data:`rrlib.instruments.srs.SUBSCALES`.

Processed table ``wmf_scores`` (:func:`prepare`): ids and demographics, ``wave_index``, the
SWEMWBS raw and metric scores, SDQ scales, composites, impact and their four bands, the ten
SRS subscale means, and counts of missing items per instrument.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pandera.pandas as pa

from ..instruments import sdq, srs, swemwbs
from .table import Table, academic_year_check, id_pattern, matches_check

#: The six HeadStart partnerships and five waves of the shipped data. Not rules: a folder may hold
#: any set of areas and any waves (academic years); the chapter's focus area is a parameter.
AREAS = ("Blackpool", "Cornwall", "Hull", "Kent", "Newham", "Wolverhampton")
WAVES = ("2016/17", "2017/18", "2018/19", "2019/20", "2020/21")
SAMPLES = ("cohort", "snapshot")
SEXES = ("F", "M")
#: First calendar year of the shipped data's first wave (the origin of ``wave_index`` there).
FIRST_WAVE_START = 2016
COHORT_START_YEAR_GROUP = 7
SNAPSHOT_YEAR_GROUP = 9

SWEMWBS_ITEMS = list(swemwbs.ITEMS)
SDQ_ITEMS = list(sdq.ITEMS)
SDQ_IMPACT = [sdq.EBDDIFF, *sdq.IMPACT_ITEMS]
SRS_ITEMS = [c for s in srs.SUBSCALES for c in srs.items(s)]
ITEMS = SWEMWBS_ITEMS + SDQ_ITEMS + SDQ_IMPACT + SRS_ITEMS
ID_COLUMNS = ["response_id", "respondent_id", "area", "school_id", "wave", "sample", "year_group",
              "sex", "fsm"]


def _wave_start(wave: pd.Series) -> pd.Series:
    """First calendar year of each wave ("2016/17" -> 2016; NaN when not an academic year)."""
    codes, uniq = pd.factorize(wave, use_na_sentinel=True)
    u = pd.Series(uniq, dtype=object).astype(str)
    years = pd.to_numeric(u.str.slice(0, 4).where(u.str.fullmatch(r"\d{4}/\d{2}")),
                          errors="coerce").to_numpy(dtype=float)
    out = np.full(len(codes), np.nan)
    out[codes >= 0] = years[codes[codes >= 0]]
    return pd.Series(out, index=wave.index, name=wave.name)


def wave_index(wave: pd.Series, first: int | None = None) -> pd.Series:
    """Years since the first wave of the data (``first``: its first calendar year; default the
    earliest wave in ``wave``): with waves 2016/17..2020/21, "2016/17" -> 0 ... "2020/21" -> 4."""
    start = _wave_start(wave)
    origin = int(start.min()) if first is None else int(first)
    return (start - origin).astype("Int64").rename(wave.name)


def _item(lo: int, hi: int) -> pa.Column:
    # Int8: answers are 0-5, so one byte per answer (+ one for the missing mask) instead of eight
    return pa.Column("Int8", pa.Check.isin(list(range(lo, hi + 1))), nullable=True)


def _cohort_year_group(df: pd.DataFrame) -> pd.Series:
    """The cohort is in Year 7 in its first wave (the earliest wave with cohort respondents) and
    one year group higher each later wave."""
    start = _wave_start(df["wave"])
    cohort = (df["sample"] == "cohort").to_numpy()
    if not cohort.any() or start[cohort].isna().all():
        return pd.Series(True, index=df.index)
    expected = COHORT_START_YEAR_GROUP + (start - start[cohort].min())
    return start.isna() | ~pd.Series(cohort, index=df.index) | (df["year_group"] == expected)


def _snapshot_year_group(df: pd.DataFrame) -> pd.Series:
    return (df["sample"] != "snapshot") | (df["year_group"] == SNAPSHOT_YEAR_GROUP)


def _once_per_wave(df: pd.DataFrame) -> pd.Series:
    return ~df.duplicated(["respondent_id", "wave"], keep=False)


def _one_area(df: pd.DataFrame) -> pd.Series:
    n = df.groupby("respondent_id")["area"].transform("nunique")
    return n == 1


def _impact_skip(df: pd.DataFrame) -> pd.Series:
    answered = df[sdq.IMPACT_ITEMS].notna().any(axis=1)
    return ~(answered & (df[sdq.EBDDIFF] == 0).fillna(False))


SCHEMA = pa.DataFrameSchema(
    {
        "response_id": pa.Column(str, matches_check(id_pattern("WMF", 7)), unique=True),
        "respondent_id": pa.Column(str, matches_check(id_pattern("WR", 7))),
        "area": pa.Column(str, pa.Check.str_length(1, 60)),
        "school_id": pa.Column(str, matches_check(r"^W-[A-Z]{3}-\d{3}$")),
        "wave": pa.Column(str, academic_year_check()),
        "sample": pa.Column(str, pa.Check.isin(SAMPLES)),
        "year_group": pa.Column(int, pa.Check.in_range(7, 11)),
        "sex": pa.Column(str, pa.Check.isin(SEXES), nullable=True),
        "fsm": pa.Column("boolean", nullable=True),
        **{c: _item(1, 5) for c in SWEMWBS_ITEMS},
        **{c: _item(0, 2) for c in SDQ_ITEMS},
        **{c: _item(0, 3) for c in SDQ_IMPACT},
        **{c: _item(1, 5) for c in SRS_ITEMS},
    },
    checks=[
        pa.Check(_cohort_year_group, name="cohort year_group is 7 in the cohort's first wave, +1 each wave"),
        pa.Check(_snapshot_year_group, name="snapshot respondents are in Year 9"),
        pa.Check(_once_per_wave, name="a respondent answers at most once per wave"),
        pa.Check(_one_area, name="a respondent belongs to one area"),
        pa.Check(_impact_skip, name="SDQ impact questions empty when sdq_ebddiff is 0 (skipped)"),
    ],
    strict=True, coerce=False,
)

_COLUMNS = {
    "response_id": "Questionnaire identifier (WMF + 7 digits); unique.",
    "respondent_id": ("Pseudonymised pupil (WR + 7 digits); links a cohort member's waves. Snapshot "
                      "respondents appear once."),
    "area": ("HeadStart partnership area (any set of areas; the shipped data have " + ", ".join(AREAS)
             + "; the chapter compares a focus area, Blackpool by default, with the others)."),
    "school_id": ("Survey school (W-<area code>-<3 digits>, e.g. W-BLA-003): the WMF's own school "
                  "identifier, not the census school_id."),
    "wave": ("Survey wave, academic year (any waves; the shipped data have 2016/17 ... 2020/21, the 2016/17 "
             "wave being the 'first survey (2017)')."),
    "sample": "cohort (Year 7 in its first wave, 2016/17 in the shipped data, followed to Year 11) or snapshot (Year 9 of the wave).",
    "year_group": "National curriculum year group at the time of the survey (7-11).",
    "sex": "Gender as answered: F (girl), M (boy); empty for other, prefer not to say or not answered.",
    "fsm": "Eligible for free school meals (school records); empty when not matched.",
}
for c in SWEMWBS_ITEMS:
    _COLUMNS[c] = (f"SWEMWBS item {c.rsplit('_', 1)[1]} (Stewart-Brown et al. 2009): 1 none of the time "
                   "... 5 all of the time.")
for i, c in enumerate(SDQ_ITEMS, start=1):
    rev = " Reverse scored." if i in sdq.REVERSED else ""
    _COLUMNS[c] = (f"SDQ self-report item {i} (official order): 0 not true, 1 somewhat true, "
                   f"2 certainly true; raw answer.{rev}")
_COLUMNS["sdq_ebddiff"] = ("SDQ 'Overall, do you think you have difficulties...': 0 no, 1 minor, "
                           "2 definite, 3 severe.")
for c, what in zip(sdq.IMPACT_ITEMS, ["upset or distress", "interference: home life",
                                      "interference: friendships", "interference: classroom learning",
                                      "interference: leisure activities"]):
    _COLUMNS[c] = (f"SDQ impact, {what}: 0 not at all, 1 only a little, 2 quite a lot, 3 a great deal; "
                   "skipped (empty) when sdq_ebddiff is 0.")
for s, n in srs.SUBSCALES.items():
    for k in range(1, n + 1):
        _COLUMNS[f"srs_{s}_{k}"] = (f"Student Resilience Survey, {s.replace('_', ' ')}, item {k} of {n} "
                                    "(Lereya et al. 2016): 1 never ... 5 always.")

TABLES = [
    Table(
        name="wmf_survey",
        required=False,  # optional: sections that need it say so when it is absent
               schema=SCHEMA,
        description=("HeadStart Wellbeing Measurement Framework secondary survey, HeadStart areas and "
                     "waves of the extract: one row per questionnaire (Year 7 cohort followed to Year 11, "
                     "Year 9 snapshots)."),
        source=("HeadStart Learning Team (Anna Freud Centre / UCL) WMF survey extract, as deposited "
                "with the UK Data Service (SN 9150, secure access)."),
        counterpart="UK Data Service SN 9150: HeadStart Wellbeing Measurement Framework survey",
        columns=_COLUMNS,
        key=("response_id",),
        codes={"sample": {"cohort": "Year 7 in 2016/17, followed each year to Year 11",
                          "snapshot": "Year 9 pupils surveyed in the wave (none in 2018/19: the cohort is Year 9)"},
               "area": {a: "HeadStart partnership (shipped data; any area name is accepted)" for a in AREAS}},
        notes=(
            "Items are raw answers: SDQ items 7, 11, 14, 21, 25 are reverse scored by rrlib.instruments.sdq.",
            "Scoring (rr prepare -> wmf_scores): SWEMWBS missing if any item is; SDQ scales need 3 of 5 "
            "items; SRS subscales need half their items (rounded up).",
            "Synthetic version: 114 schools and 31,050 pupils in the first wave (B04), SDQ prevalences "
            "calibrated to B04, Blackpool's school connection trend planted (A20; see params/wmf.yml).",
        ),
    ),
]


def _band_text(values: np.ndarray, scale: str) -> np.ndarray:
    """SDQ band labels of scores as text (object array; None where the score is missing)."""
    code, labels = sdq.band_codes(values, scale)
    return np.array([*labels, None], dtype=object)[code]  # code -1 -> the trailing None


def prepare(raw: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """``wmf_scores``: every respondent scored with :mod:`rrlib.instruments`.

    Columns: the id and demographic columns of ``wmf_survey``; ``wave_index`` (years since the first wave of the data: 0 = 2016/17 in the shipped data);
    ``swemwbs_raw``, ``swemwbs_metric`` (Stewart-Brown et al. 2009); ``sdq_emotion``,
    ``sdq_conduct``, ``sdq_hyper``, ``sdq_peer``, ``sdq_prosoc``, ``sdq_total``,
    ``sdq_internal``, ``sdq_external``, ``sdq_impact`` and the bands ``sdq_<scale>_band``
    (sdqinfo.org four-band self-report cut-offs, as text); ``srs_<subscale>`` (Lereya et al.
    2016); item-missingness counts ``swemwbs_items_missing`` (of 7), ``sdq_items_missing`` (of
    25), ``sdq_impact_missing`` (ebddiff missing, 0/1), ``srs_items_missing`` (of all SRS items).
    Rows sorted by ``response_id``.

    Built once, column by column, each in its final dtype (no concatenation, no whole-frame
    copy), so time grows linearly with the rows and memory is the output's.
    """
    if "wmf_survey" not in raw:
        return {}
    df = raw["wmf_survey"]
    cols: dict[str, object] = {}
    for c in ID_COLUMNS:
        cols[c] = df[c].array.copy()
        if c == "wave":
            cols["wave_index"] = wave_index(df["wave"]).to_numpy(dtype="int64")  # 0 = first wave in the data
    sd = sdq.score(df, impact=True)
    for scores in (swemwbs.score(df), sd):
        for c in scores.columns:
            cols[c] = scores[c].to_numpy(dtype="float64")
    for c in sd.columns:
        scale = c.removeprefix("sdq_")
        if scale in sdq.BANDS or scale == "prosoc":
            cols[f"{c}_band"] = _band_text(cols[c], scale)
    for c, v in srs.score(df).items():
        cols[c] = v.to_numpy(dtype="float64")
    missing = {"swemwbs_items_missing": SWEMWBS_ITEMS, "sdq_items_missing": SDQ_ITEMS,
               "sdq_impact_missing": [sdq.EBDDIFF], "srs_items_missing": SRS_ITEMS}
    for c, items in missing.items():
        count = np.zeros(len(df), dtype=np.int64)
        for item in items:
            count += df[item].isna().to_numpy()
        cols[c] = count
    rid = df["response_id"]
    if not rid.is_monotonic_increasing:
        order = np.argsort(rid.values, kind="stable")
        cols = {c: v.take(order) for c, v in cols.items()}
    return {"wmf_scores": pd.DataFrame(cols, copy=False)}
