"""Programme domain: the Resilience Revolution's monitoring log of activities and who took part.

Raw tables (one file each in the data folder):

``activities``
    One row per activity the programme delivered or supported, September 2016 to March 2022:
    a session, a meeting, an event, a training or a course. One-to-one Resilience Coach,
    Friend for Life and self-harm support meetings are one activity each; a Bounce Forward
    course delivered to a Year 5 class is logged once (the course, not its ten sessions).
``attendance``
    One row per person registered for (invited to, booked on) an activity, with the person's
    role and whether they attended. Young people are identified by their census ``pupil_id``
    (``P`` + 7 digits; the monitoring log is linked to the January school census); adults
    (parents and carers, school staff, practitioners, volunteers) by a programme id ``A`` +
    6 digits.

What counts as an *opportunity* (the unit of the published reach figures A01, A02) is defined
in :mod:`rrlib.chapters.reach`: an attended place, that is an ``attendance`` row with
``attended`` true, counted by role.

:func:`prepare` adds ``academic_year`` (September to August, "2016/17") to ``activities`` and
writes ``attendance`` enriched with its activity's project, strand, format, setting, school,
date and academic year, so chapters need no join. It also checks what the per-table schemas
cannot: every young person's id is a census pupil.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pandera.pandas as pa

from ..calendar import academic_year
from .problems import DataValidationError, Problem, bad_rows
from .table import PUPIL_ID, Table, id_pattern, matches_check, sorted_by, take_rows

#: Projects of the monitoring log, with their strand.
PROJECTS = {
    "Academic Resilience Approach": "universal",
    "Bounce Forward": "universal",
    "Celebrations and community events": "universal",
    "Parent and carer groups": "universal",
    "Resilience Coach 1:1 and group": "targeted",
    "Back on Track": "targeted",
    "Friend for Life": "targeted",
    "Walk and Talk": "targeted",
    "Self-harm support": "targeted",
    "Co-production groups": "co-production",
    "Youth volunteering and campaigns": "co-production",
    "Training and workforce development": "workforce",
}
STRANDS = ("universal", "targeted", "co-production", "workforce")
FORMATS = ("one_to_one", "group", "event", "course", "training")
SETTINGS = ("school", "community", "online")
ROLES = ("young_person", "parent_carer", "school_staff", "practitioner", "volunteer")
ADULT_ROLES = ROLES[1:]

ACTIVITY_RE = id_pattern("ACT", 6)
PUPIL_RE = PUPIL_ID
ADULT_RE = id_pattern("A", 6)
SCHOOL_RE = id_pattern("S", 3)
#: The shipped synthetic log's span (September 2016 to March 2022). Not a rule: dates are checked
#: against the data folder's study window (:mod:`rrlib.data.window`).
FIRST_DATE = pd.Timestamp("2016-09-01")
LAST_DATE = pd.Timestamp("2022-03-31")


def _strand_matches(df: pd.DataFrame) -> pd.Series:
    expected = df["project"].map(PROJECTS)
    return expected.isna() | (expected == df["strand"])


def _school_iff_school_setting(df: pd.DataFrame) -> pd.Series:
    return (df["setting"] == "school") == df["school_id"].notna()


def _id_matches_role(df: pd.DataFrame) -> pd.Series:
    young = df["role"] == "young_person"
    pid = df["person_id"].astype(str)
    return (young & pid.str.match(PUPIL_RE)) | (~young & pid.str.match(ADULT_RE))


ACTIVITIES_SCHEMA = pa.DataFrameSchema(
    {
        "activity_id": pa.Column(str, matches_check(ACTIVITY_RE), unique=True),
        "project": pa.Column(str, pa.Check.isin(list(PROJECTS))),
        "strand": pa.Column(str, pa.Check.isin(list(STRANDS))),
        "format": pa.Column(str, pa.Check.isin(list(FORMATS))),
        "activity_date": pa.Column("datetime64[ns]"),
        "setting": pa.Column(str, pa.Check.isin(list(SETTINGS))),
        "school_id": pa.Column(str, matches_check(SCHOOL_RE), nullable=True),
    },
    checks=[
        pa.Check(_strand_matches, name="strand is the project's strand"),
        pa.Check(_school_iff_school_setting, name="school_id given exactly when setting is school"),
    ],
    strict=True, coerce=False,
)

ATTENDANCE_SCHEMA = pa.DataFrameSchema(
    {
        "activity_id": pa.Column(str, matches_check(ACTIVITY_RE)),
        "person_id": pa.Column(str, matches_check(rf"^({PUPIL_RE[1:-1]}|{ADULT_RE[1:-1]})$")),
        "role": pa.Column(str, pa.Check.isin(list(ROLES))),
        "attended": pa.Column(bool),
    },
    checks=[pa.Check(_id_matches_role,
                     name="young people have census pupil ids (P + 7 digits), adults A + 6 digits")],
    strict=True, coerce=False,
)

TABLES = [
    Table(
        name="activities",
        required=False,  # optional: sections that need it say so when it is absent
               schema=ACTIVITIES_SCHEMA,
        description=("The programme's activities (monitoring log), over the study window: one row "
                     "per session, meeting, event, training or course."),
        source="HeadStart Blackpool monitoring log (programme activity records kept by Blackpool Council).",
        counterpart="Programme monitoring data (HeadStart reach returns to the National Lottery Community Fund)",
        columns={
            "activity_id": "Activity identifier (ACT + 6 digits); unique.",
            "project": ("Project that delivered the activity (Academic Resilience Approach, Bounce Forward, "
                        "Resilience Coach 1:1 and group, Back on Track, Friend for Life, Walk and Talk, "
                        "Self-harm support, Co-production groups, Youth volunteering and campaigns, "
                        "Celebrations and community events, Training and workforce development, "
                        "Parent and carer groups)."),
            "strand": ("Strand of the programme the project belongs to: universal, targeted, co-production, "
                       "workforce (fixed by the project)."),
            "format": ("How it was delivered: one_to_one (a 1:1 meeting), group (a group session), event "
                       "(a whole-school or community event), course (a multi-session course logged once), "
                       "training (a training or workforce development session)."),
            "activity_date": ("Date of the activity (first session for a course), within the folder's study "
                              "window (shipped synthetic data: 2016-09-01 to 2022-03-31)."),
            "setting": "Where: school (in a school, school_id given), community (out of school), online.",
            "school_id": "The school (schools.school_id) for activities in a school; empty otherwise.",
        },
        foreign_keys=(("school_id", "schools", "school_id"),),
        dates=("activity_date",),
        window_dates=("activity_date",),
        key=("activity_id",),
        codes={"strand": {"universal": "open to every young person (whole school, whole town)",
                          "targeted": "support for young people identified as needing more help",
                          "co-production": "young people and adults shaping the programme",
                          "workforce": "training and development of those who support young people"},
               "setting": {"school": "in a school (school_id given)", "community": "out of school",
                           "online": "online (mostly during the 2020-21 lockdowns)"}},
        notes=("A Bounce Forward course (ten weekly sessions for a Year 5 class) is one activity; "
               "attended means the pupil took part in the course.",
               "The programme's projects and strands are listed in rrlib.data.programme.PROJECTS."),
    ),
    Table(
        name="attendance",
        required=False,  # optional: sections that need it say so when it is absent
               schema=ATTENDANCE_SCHEMA,
        description=("Who was registered for each activity, in which role, and whether they attended: one "
                     "row per activity and person."),
        source="HeadStart Blackpool monitoring log (registers), linked to the January school census.",
        counterpart="Programme monitoring data (registers)",
        columns={
            "activity_id": "The activity (activities.activity_id).",
            "person_id": ("Pseudonymised person: the census pupil_id (P + 7 digits) for a young person, "
                          "a programme adult id (A + 6 digits) otherwise."),
            "role": ("The person's role: young_person, parent_carer, school_staff, practitioner (youth, "
                     "social care, health and council workers), volunteer (e.g. Friend for Life adult "
                     "friends)."),
            "attended": "true if the person attended (took part), false if registered or invited but absent.",
        },
        foreign_keys=(("activity_id", "activities", "activity_id"),),
        key=("activity_id", "person_id"),
        codes={"role": {"young_person": "a young person (census pupil id)",
                        "parent_carer": "a parent or carer", "school_staff": "school staff",
                        "practitioner": "youth, social care, health or council practitioner",
                        "volunteer": "adult volunteer"}},
        notes=("An opportunity (published reach figures) is an attended place: a row with attended = true; "
               "see rrlib.chapters.reach for the definitions by role.",
               "Every young person's person_id must be a census pupil_id (checked by rr prepare)."),
    ),
]


def _check_young_people(att: pd.DataFrame, raw: dict[str, pd.DataFrame]) -> None:
    if "pupils" not in raw:
        return

    young = att["role"].to_numpy() == "young_person"
    bad = young & ~att["person_id"].isin(raw["pupils"]["pupil_id"]).to_numpy()
    if bad.any():
        raise DataValidationError([Problem(
            "attendance.csv.gz", "foreign key person_id -> pupils.pupil_id (young people)", "person_id",
            bad_rows(bad, att["person_id"]), count=int(bad.sum()),
            detail="young people's ids not found in the school census (pupils.csv.gz column 'pupil_id')")])


def prepare(raw: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Processed programme tables.

    ``activities``: plus ``academic_year`` (September to August). ``attendance``: plus the
    activity's ``project``, ``strand``, ``format``, ``setting``, ``school_id``,
    ``activity_date`` and ``academic_year``; ``attended`` as a plain boolean. Raises
    :class:`rrlib.data.DataValidationError` if a young person's id is not a census pupil id.

    Both tables come out sorted by their keys (activity_id; activity_id, person_id). Rows are
    located by position (no merge on object keys; an activity missing from ``activities`` gives
    missing values, as a left merge would) and the sorts are skipped when the raw tables are
    already in key order, as the shipped and generated tables are.
    """
    out: dict[str, pd.DataFrame] = {}
    if "activities" not in raw or "attendance" not in raw:
        return {n: raw[n] for n in ("activities", "attendance") if n in raw}
    act = raw["activities"].copy(deep=False)
    act["academic_year"] = academic_year(act["activity_date"]).to_numpy()
    act = sorted_by(act, "activity_id")
    att = raw["attendance"]
    _check_young_people(att, raw)
    cols = ["project", "strand", "format", "setting", "school_id", "activity_date", "academic_year"]
    # position of each row's activity in the (sorted, unique) activities, -1 if it is missing
    pos = pd.Index(act["activity_id"]).get_indexer(att["activity_id"])
    pid = att["person_id"].to_numpy()
    same = pos[1:] == pos[:-1]
    if bool((pos[1:] >= pos[:-1]).all()) and bool((pid[1:][same] > pid[:-1][same]).all()):
        order = np.arange(len(att))  # already in key order, as shipped and generated tables are
    else:  # stable, like sort_values on the two columns
        order = np.lexsort((pd.factorize(pid, sort=True)[0], pd.factorize(att["activity_id"], sort=True)[0]))
    att = take_rows(att, order)
    att["attended"] = att["attended"].astype(bool)
    extra = take_rows(act[cols], pos[order])
    for c in cols:
        att[c] = extra[c]
    out["activities"] = act
    out["attendance"] = att
    return out
