"""Targeted domain: targeted support episodes, SDQ before and after, Goal Based Outcomes.

Raw tables (one file each in the data folder):

``interventions``
    One row per episode of targeted support for a young person: Back on Track (Resilience
    Coaches working one to one with children in care, "Our Children", at risk of leaving
    mainstream school), Resilience Coach one-to-one and group support, Walk and Talk. Young
    people are identified by their census ``pupil_id``. The Resilience Coaches' self-harm
    support is a separate health-domain table; Friend for Life and the universal projects are
    in the programme's activity log.
``sdq_targeted``
    Strengths and Difficulties Questionnaire, self-report (11-17), answered at the start and at
    the end of an episode: the 25 items (raw answers 0/1/2 in the official order, before
    reverse scoring) and the impact supplement (0-3).
``goals`` and ``goal_ratings``
    Goal Based Outcomes: goals a young person set with their Resilience Coach, each linked to a
    section of the Resilience Framework (Basics, Belonging, Learning, Coping, Core Self), and the
    dated 0-10 ratings of how close they were to reaching it (the first on the day it was set).

:func:`prepare` writes the four tables cleaned (episode fields joined where a chapter needs
them) plus two scored tables: ``sdq_targeted_scores`` (official SDQ scoring and four-band
categories, :func:`rrlib.instruments.sdq.score`) and ``goal_change`` (first and last rating,
change and reliable change per goal, :func:`rrlib.instruments.gbo.change`).
"""
from __future__ import annotations

import pandas as pd
import pandera.pandas as pa

from ..instruments import gbo, sdq
from ..instruments import sdq as _sdq
from .problems import DataValidationError, Problem, bad_rows
from .table import PUPIL_ID, Table, id_pattern, matches_check

PROGRAMMES = {
    "back_on_track": ("Back on Track: up to two years of one-to-one Resilient Therapy with a Resilience "
                      "Coach, alongside foster carers, school and social workers, for children in care at "
                      "risk of leaving mainstream school"),
    "resilience_coach_1to1": ("Resilience Coach one-to-one support (including Moving On Up, the transition "
                              "to high school), up to two years"),
    "resilience_coach_group": "Resilience Coach group work (e.g. seven-week transition groups)",
    "walk_and_talk": "Walk and Talk: informal one-to-one support while walking, with a trained adult",
}
#: programmes delivered by the Resilience Coaches (the goals of A17 are all of theirs)
RESILIENCE_COACH_PROGRAMMES = ("back_on_track", "resilience_coach_1to1", "resilience_coach_group")
END_REASONS = {
    "completed": "support completed as planned",
    "disengaged": "the young person stopped taking part",
    "moved_away": "moved out of the area or placement moved",
    "stepped_up": "referred on to a specialist service (e.g. CAMHS, social care)",
    "other": "other or not recorded",
}
TIMEPOINTS = ("start", "end")
DOMAINS = ("Basics", "Belonging", "Learning", "Coping", "Core Self")
SDQ_ITEMS = list(_sdq.ITEMS)
SDQ_IMPACT = [_sdq.EBDDIFF, *_sdq.IMPACT_ITEMS]

EPISODE_RE = id_pattern("EP", 6)
PUPIL_RE = PUPIL_ID
ASSESSMENT_RE = id_pattern("SDQ", 6)
GOAL_RE = id_pattern("G", 6)
#: The shipped synthetic records' span. Not a rule: dates are checked against the data folder's
#: study window (:mod:`rrlib.data.window`, declared in its MANIFEST or derived from the data).
FIRST_DATE = pd.Timestamp("2016-09-01")
LAST_DATE = pd.Timestamp("2022-08-31")


def _dates_ordered(df: pd.DataFrame) -> pd.Series:
    ok = pd.Series(True, index=df.index)
    ok &= df["start_date"].isna() | (df["start_date"] >= df["referral_date"])
    ok &= df["end_date"].isna() | (df["start_date"].notna() & (df["end_date"] >= df["start_date"]))
    return ok


def _end_reason_iff_end(df: pd.DataFrame) -> pd.Series:
    return df["end_reason"].isna() == df["end_date"].isna()


INTERVENTIONS_SCHEMA = pa.DataFrameSchema(
    {
        "episode_id": pa.Column(str, matches_check(EPISODE_RE), unique=True),
        "person_id": pa.Column(str, matches_check(PUPIL_RE)),
        "programme": pa.Column(str, pa.Check.isin(list(PROGRAMMES))),
        "referral_date": pa.Column("datetime64[ns]"),
        "start_date": pa.Column("datetime64[ns]", nullable=True),
        "end_date": pa.Column("datetime64[ns]", nullable=True),
        "end_reason": pa.Column(str, pa.Check.isin(list(END_REASONS)), nullable=True),
        "education_data_consent": pa.Column(bool),
    },
    checks=[
        pa.Check(_dates_ordered, name="referral_date <= start_date <= end_date"),
        pa.Check(_end_reason_iff_end, name="end_reason given exactly when end_date is"),
    ],
    strict=True, coerce=False,
)

_sdq_cols = {c: pa.Column("Int64", pa.Check.isin([0, 1, 2]), nullable=True) for c in SDQ_ITEMS}
_sdq_cols.update({c: pa.Column("Int64", pa.Check.isin([0, 1, 2, 3]), nullable=True) for c in SDQ_IMPACT})

SDQ_SCHEMA = pa.DataFrameSchema(
    {
        "assessment_id": pa.Column(str, matches_check(ASSESSMENT_RE), unique=True),
        "person_id": pa.Column(str, matches_check(PUPIL_RE)),
        "episode_id": pa.Column(str, matches_check(EPISODE_RE)),
        "assessment_date": pa.Column("datetime64[ns]"),
        "timepoint": pa.Column(str, pa.Check.isin(list(TIMEPOINTS))),
        **_sdq_cols,
    },
    strict=True, coerce=False,
)

GOALS_SCHEMA = pa.DataFrameSchema(
    {
        "goal_id": pa.Column(str, matches_check(GOAL_RE), unique=True),
        "person_id": pa.Column(str, matches_check(PUPIL_RE)),
        "episode_id": pa.Column(str, matches_check(EPISODE_RE)),
        "domain": pa.Column(str, pa.Check.isin(list(DOMAINS))),
        "set_date": pa.Column("datetime64[ns]"),
    },
    strict=True, coerce=False,
)

GOAL_RATINGS_SCHEMA = pa.DataFrameSchema(
    {
        "goal_id": pa.Column(str, matches_check(GOAL_RE)),
        "rating_date": pa.Column("datetime64[ns]"),
        "rating": pa.Column("int64", pa.Check.in_range(0, 10)),
    },
    strict=True, coerce=False,
)

_SDQ_ITEM_TEXT = ("SDQ self-report item {k} (official order), raw answer before reverse scoring: 0 not true, "
                  "1 somewhat true, 2 certainly true; empty if not answered.")

TABLES = [
    Table(
        name="interventions",
        required=False,  # optional: sections that need it say so when it is absent
               schema=INTERVENTIONS_SCHEMA,
        description=("Targeted support episodes, November 2016 to 2022: one row per episode (a young person "
                     "may have several, in one or more programmes)."),
        source="HeadStart Blackpool case management records (Resilience Coach caseloads), linked to the "
               "January school census.",
        counterpart="HeadStart Blackpool targeted-support case records",
        columns={
            "episode_id": "Episode identifier (EP + 6 digits); unique.",
            "person_id": "The young person: census pupil_id (pupils.pupil_id, P + 7 digits).",
            "programme": ("Programme: back_on_track, resilience_coach_1to1, resilience_coach_group, "
                          "walk_and_talk."),
            "referral_date": "Date the referral was received.",
            "start_date": "Date support started (first session); empty if it never started.",
            "end_date": "Date support ended (case closed); empty while support is ongoing.",
            "end_reason": "Why support ended (completed, disengaged, moved_away, stepped_up, other); "
                          "empty while ongoing.",
            "education_data_consent": ("true if the young person and carers consented to the evaluation "
                                       "requesting their school attendance and exclusion records for this "
                                       "episode (the Back on Track education data request); the census "
                                       "linkage itself (person_id) exists for everyone."),
        },
        foreign_keys=(("person_id", "pupils", "pupil_id"),),
        dates=("referral_date", "start_date", "end_date"),
        window_dates=("referral_date", "start_date", "end_date"),
        key=("episode_id",),
        codes={"programme": PROGRAMMES, "end_reason": END_REASONS},
        notes=("Back on Track young people are looked after (looked_after true in the census of the school "
               "year of referral).",
               "Targeted cohorts are selected with higher probability for pupils with free school meals, SEN, "
               "looked-after status and prior suspensions (synthetic data: see the targeted parameter file).",
               "Calibration (synthetic data): A14 and B08 (Back on Track cohort sizes, sex, age and length of "
               "support), A07 (share never permanently excluded after support started), B03 (Resilience "
               "Coach and Walk and Talk young people in the first two years)."),
    ),
    Table(
        name="sdq_targeted",
        required=False,  # optional: sections that need it say so when it is absent
               schema=SDQ_SCHEMA,
        description=("Strengths and Difficulties Questionnaire (self-report 11-17) at the start and end of "
                     "targeted support: one row per completed questionnaire."),
        source="Resilience Coach case records (questionnaires completed with the young person).",
        counterpart="SDQ self-report, youthinmind / sdqinfo.org",
        columns={
            "assessment_id": "Questionnaire identifier (SDQ + 6 digits); unique.",
            "person_id": "The young person (pupils.pupil_id).",
            "episode_id": "The support episode (interventions.episode_id).",
            "assessment_date": "Date the questionnaire was completed.",
            "timepoint": "start (before support) or end (after support); at most one of each per episode.",
            **{f"sdq_{k}": _SDQ_ITEM_TEXT.format(k=k) for k in range(1, 26)},
            "sdq_ebddiff": ("'Overall, do you think that you have difficulties in ...?': 0 no, 1 minor, "
                            "2 definite, 3 severe difficulties."),
            "sdq_distres": "Do the difficulties upset or distress you? 0 not at all, 1 a little, 2 a medium "
                           "amount, 3 a great deal.",
            "sdq_imphome": "Interference with home life (0-3, as sdq_distres).",
            "sdq_impfrie": "Interference with friendships (0-3).",
            "sdq_impclas": "Interference with classroom learning (0-3).",
            "sdq_impleis": "Interference with leisure activities (0-3).",
        },
        foreign_keys=(("person_id", "pupils", "pupil_id"), ("episode_id", "interventions", "episode_id")),
        dates=("assessment_date",),
        window_dates=("assessment_date",),
        key=("assessment_id",),
        codes={"timepoint": {"start": "before support (at or soon after the start)",
                             "end": "after support (at or shortly before the end)"}},
        notes=("Scored by rr prepare with the official rules (rrlib.instruments.sdq): processed table "
               "sdq_targeted_scores.",
               "Calibration (synthetic data): A15, 13 Back on Track young people with a questionnaire before "
               "and after (see the chapter for how the published 'N in 20' figures are read)."),
    ),
    Table(
        name="goals",
        required=False,  # optional: sections that need it say so when it is absent
               schema=GOALS_SCHEMA,
        description="Goal Based Outcomes: goals set by young people with their Resilience Coach.",
        source="Resilience Coach case records.",
        counterpart="Goal Based Outcomes (Law & Jacob 2015), CORC",
        columns={
            "goal_id": "Goal identifier (G + 6 digits); unique.",
            "person_id": "The young person (pupils.pupil_id).",
            "episode_id": "The support episode (interventions.episode_id).",
            "domain": "Section of the Resilience Framework the goal is linked to: Basics, Belonging, "
                      "Learning, Coping, Core Self.",
            "set_date": "Date the goal was set (its first rating has this date).",
        },
        foreign_keys=(("person_id", "pupils", "pupil_id"), ("episode_id", "interventions", "episode_id")),
        dates=("set_date",),
        window_dates=("set_date",),
        key=("goal_id",),
        codes={"domain": {d: "Resilience Framework (Hart, Blincow & Thomas 2007) section" for d in DOMAINS}},
        notes=("Calibration (synthetic data): A16 (Back on Track: 85 goals for 19 young people, March 2017 "
               "to June 2020) and A17 (goals by Resilience Framework section, all Resilience Coach support, "
               "same window).",),
    ),
    Table(
        name="goal_ratings",
        required=False,  # optional: sections that need it say so when it is absent
               schema=GOAL_RATINGS_SCHEMA,
        description="Ratings of progress towards each goal, 0 (not at all) to 10 (goal reached).",
        source="Resilience Coach case records.",
        counterpart="Goal Based Outcomes ratings",
        columns={
            "goal_id": "The goal (goals.goal_id).",
            "rating_date": "Date of the rating (the first on the goal's set_date, then at reviews).",
            "rating": "How close the young person felt to reaching the goal, 0-10 (10 = reached).",
        },
        foreign_keys=(("goal_id", "goals", "goal_id"),),
        dates=("rating_date",),
        window_dates=("rating_date",),
        key=("goal_id", "rating_date"),
        notes=("Change per goal = last rating minus first; reliable change at 2.45 points "
               "(Edbrooke-Childs et al. 2015), scored by rr prepare into goal_change.",),
    ),
]


def prepare(raw: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Processed targeted tables.

    ``interventions``, ``sdq_targeted``, ``goals``, ``goal_ratings`` as validated, plus

    * ``sdq_targeted_scores``: per questionnaire its identifiers, date, timepoint and
      ``programme``, the official SDQ scores (``sdq_emotion`` .. ``sdq_impact``, Goodman 1997,
      sdqinfo.org scoring, via :func:`rrlib.instruments.sdq.score`) and their self-report
      four-band categories as text (``sdq_total_band`` ...; :func:`rrlib.instruments.sdq.band`).
    * ``goal_change``: per goal its person, episode, programme and domain, set date, the number
      of ratings, first and last rating and dates, change and reliable change at the default
      threshold :data:`rrlib.instruments.gbo.RELIABLE_CHANGE` (2.45 points, Edbrooke-Childs et
      al. 2015; :func:`rrlib.instruments.gbo.change`). The processed flags are always at that
      default; an analysis with another threshold recomputes them from ``change`` (the goal
      functions of :mod:`rrlib.chapters.targeted` take ``threshold=``).

    Tables the folder does not have are left out, and so are the scored tables made from them.
    """

    out: dict[str, pd.DataFrame] = {n: raw[n].copy() for n in ("interventions", "sdq_targeted", "goals",
                                                                "goal_ratings") if n in raw}
    if "interventions" not in out:  # the episodes' tables need it (rr validate: foreign keys)
        return out
    ivs = out["interventions"]
    prog = ivs.set_index("episode_id")["programme"]
    if "sdq_targeted" in out:
        out["sdq_targeted_scores"] = _sdq_scores(out["sdq_targeted"], prog)
    if "goals" in out and "goal_ratings" in out:
        out["goal_change"] = _goal_change(out["goals"], out["goal_ratings"], prog)
    return out


def _sdq_scores(sdq_raw: pd.DataFrame, prog: pd.Series) -> pd.DataFrame:
    items = sdq_raw[SDQ_ITEMS + SDQ_IMPACT].astype("float64")
    scores = sdq.score(items)
    bands = sdq.band(scores).astype(object)
    bands = bands.where(bands.notna(), None)
    ids = sdq_raw[["assessment_id", "person_id", "episode_id", "assessment_date", "timepoint"]].copy()
    ids.insert(3, "programme", ids["episode_id"].map(prog))
    sdq_scores = pd.concat([ids, scores.astype("float64"), bands], axis=1)
    return sdq_scores.sort_values("assessment_id", kind="mergesort").reset_index(drop=True)


def _goal_change(goals: pd.DataFrame, ratings: pd.DataFrame, prog: pd.Series) -> pd.DataFrame:
    long = ratings.merge(goals[["goal_id", "person_id", "domain"]], on="goal_id", how="left",
                         validate="many_to_one")
    if long["person_id"].isna().any():
        bad = long["person_id"].isna().to_numpy()
        raise DataValidationError([Problem(
            "goal_ratings.csv.gz", "foreign key goal_id -> goals.goal_id", "goal_id",
            bad_rows(bad, long["goal_id"]), count=int(bad.sum()))])
    ch = gbo.change(long[["person_id", "goal_id", "rating_date", "rating"]], threshold=gbo.RELIABLE_CHANGE)
    meta = goals[["goal_id", "episode_id", "domain", "set_date"]].copy()
    meta["programme"] = meta["episode_id"].map(prog)
    goal_change = meta.merge(ch, on="goal_id", how="left", validate="one_to_one")
    goal_change["reliable_change"] = goal_change["reliable_change"].astype(object)
    goal_change = goal_change[["goal_id", "person_id", "episode_id", "programme", "domain", "set_date",
                               "n_ratings", "first_date", "last_date", "first", "last", "change",
                               "reliable_change", "reliable_improvement", "reliable_deterioration"]]
    return goal_change.sort_values("goal_id", kind="mergesort").reset_index(drop=True)
