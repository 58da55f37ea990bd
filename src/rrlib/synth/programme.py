"""Synthetic programme domain: the Resilience Revolution's monitoring log (activities, attendance).

Runs after the education domain: young people are census pupils (``ctx.tables["pupils"]``),
activities in schools reference ``ctx.tables["schools"]``, and co-production and Friend for
Life young people are drawn from pupils with no exclusion (``ctx.tables["exclusions"]``, A08).

How the log is built (vectorised; parameters and calibration targets in
``params/programme.yml``):

1. *Who is reached.* Exactly ``round(19,000 x scale)`` census pupils who were aged 10-16 in a
   programme school year (B02) are chosen, weighted by their number of such years; each gets
   a gamma frailty (propensity to come back: the long tail of engagement).
2. *Project participants.* For each project with young people, participants per school year
   are drawn from the reached pupils' census years (distinct people across years for targeted
   projects, so B03's first-two-year counts are exact). Targeted projects weight free school
   meals, SEN and looked-after status (planted reach-equity effect, ``equity`` in the params);
   Friend for Life and Back on Track take looked-after pupils. Places per participant are
   1 + a frailty-weighted multinomial share of the project's remaining places (capped).
3. *Universal places.* Every reached pupil not yet given a place gets one (Academic Resilience
   Approach if their school provided it that year, else a celebration); the rest of A01 goes
   to the Academic Resilience Approach (ARA schools only) and celebrations by frailty.
4. *Absences.* Registered-but-absent rows per project (attendance rates); in the co-production
   strand their number makes attended / registered exactly 93.27% (A06).
5. *Activities.* Places are grouped by project, format, setting, school and year and cut into
   activities of the project's group size so that nobody appears twice in one activity;
   one-to-one meetings are one activity each. Dates are uniform in the school year within the
   project's and school's bounds; school-based activities avoid weekends and school closures.
6. *Adults.* Training and workforce activities (A05: 570 activities, 6,408 attended places,
   every role; every open school hosts at least one), adults attached to other projects, Friend
   for Life volunteers (one adult friend per young person), and Parent and carer groups whose
   parents take the remainder of A02 (parents/carers and school staff: 6,328).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..data.programme import PROJECTS

WORKFORCE_PROJECT = "Training and workforce development"
PARENT_PROJECT = "Parent and carer groups"
ARA = "Academic Resilience Approach"
CELEB = "Celebrations and community events"
SETTINGS = ("school", "community", "online")
ADULT_PREFIX = "A"


# ----------------------------------------------------------------------------- helpers
def _year_bounds(ay: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    y = pd.Series(ay).astype(str).str.slice(0, 4).astype(int).to_numpy()
    start = pd.to_datetime(pd.Series(y).astype(str) + "-09-01").to_numpy()
    end = pd.to_datetime(pd.Series(y + 1).astype(str) + "-08-31").to_numpy()
    return start, end


def _age(date: np.ndarray, by: np.ndarray, bm: np.ndarray) -> np.ndarray:
    d = pd.DatetimeIndex(date)
    return d.year.to_numpy() - by - (d.month.to_numpy() < bm)


def _largest_remainder(total: int, weights) -> np.ndarray:
    w = np.asarray(weights, float)
    if total <= 0 or w.sum() <= 0:
        return np.zeros(len(w), int)
    raw = total * w / w.sum()
    out = np.floor(raw).astype(int)
    short = total - out.sum()
    if short > 0:
        out[np.argsort(-(raw - out), kind="stable")[:short]] += 1
    return out


def _weighted_sample(rng, weights: np.ndarray, k: int) -> np.ndarray:
    """Indices of k items drawn without replacement with probability proportional to weights
    (Efraimidis & Spirakis 2006: the k largest u^(1/w))."""
    w = np.asarray(weights, float)
    k = int(min(k, (w > 0).sum()))
    if k <= 0:
        return np.zeros(0, int)
    with np.errstate(divide="ignore"):
        keys = np.where(w > 0, np.log(rng.random(len(w))) / np.where(w > 0, w, 1), -np.inf)
    return np.sort(np.argpartition(-keys, k - 1)[:k])


def _spread(rng, total_extra: int, weights: np.ndarray, cap: int) -> np.ndarray:
    """Multinomial counts (sum total_extra) proportional to weights, each at most cap (if possible)."""
    n = len(weights)
    if n == 0 or total_extra <= 0:
        return np.zeros(n, int)
    w = np.asarray(weights, float)
    out = rng.multinomial(total_extra, w / w.sum())
    for _ in range(6):
        excess = np.clip(out - cap, 0, None)
        if excess.sum() == 0:
            break
        out -= excess
        room = out < cap
        if not room.any():
            break
        ww = np.where(room, w, 0)
        out += rng.multinomial(int(excess.sum()), ww / ww.sum())
    return out


def _choice_from_probs(rng, probs: np.ndarray, labels) -> np.ndarray:
    """One label per row from per-row probability vectors (rows of ``probs``)."""
    cum = np.cumsum(probs, axis=1)
    cum[:, -1] = 1.0
    u = rng.random(len(probs))[:, None]
    return np.asarray(labels, dtype=object)[(u > cum).sum(axis=1)]


def _slots(rng, group: np.ndarray, person: np.ndarray, size: np.ndarray) -> np.ndarray:
    """Activity index (global, 0..) for rows (group, person): within a group, rows are cut into
    about n/size activities and a person's rows go to distinct activities."""
    n = len(group)
    if n == 0:
        return np.zeros(0, int)
    df = pd.DataFrame({"g": group, "p": person, "s": size})
    k = df.groupby(["g", "p"], sort=False).cumcount().to_numpy()
    m = df.groupby(["g", "p"], sort=False)["g"].transform("size").to_numpy()
    g_rows = df.groupby("g", sort=False)["g"].transform("size").to_numpy()
    n_act_row = np.maximum(np.ceil(g_rows / df["s"].to_numpy()).astype(int), 1)
    gmax_m = pd.Series(m).groupby(group).transform("max").to_numpy()
    n_act_row = np.maximum(n_act_row, gmax_m)
    # one random offset per (group, person)
    gp_codes, _ = pd.factorize(pd.MultiIndex.from_arrays([group, person]))
    offs = rng.random(gp_codes.max() + 1)
    offset = np.floor(offs[gp_codes] * n_act_row).astype(int)
    slot = (offset + k) % n_act_row
    # global index: groups laid out one after another
    gcodes, guniq = pd.factorize(group)
    n_act_g = pd.Series(n_act_row).groupby(gcodes).first().sort_index().to_numpy()
    start = np.concatenate([[0], np.cumsum(n_act_g)[:-1]])
    return start[gcodes] + slot


def _pick_distinct(rng, activity: np.ndarray, pool_start: np.ndarray, pool_size: np.ndarray,
                   skew: float = 2.0) -> np.ndarray:
    """A person (pool_start + offset) for each row, distinct within (activity, pool) while the
    number of rows does not exceed the pool's size. Offsets favour the pool's first members
    (``skew`` > 1), so some adults come back often."""
    if len(activity) == 0:
        return np.zeros(0, int)
    df = pd.DataFrame({"a": activity, "s": pool_start})
    j = df.groupby(["a", "s"], sort=False).cumcount().to_numpy()
    codes, _ = pd.factorize(pd.MultiIndex.from_arrays([activity, pool_start]))
    u = rng.random(codes.max() + 1) ** skew
    off = np.floor(u[codes] * pool_size).astype(int)
    return pool_start + (off + j) % np.maximum(pool_size, 1)


# ----------------------------------------------------------------------------- generator
@dataclass
class _Census:
    """The census pupil-years of the programme window, as arrays over rows of ``py`` (pupil-years) and
    ``schools`` (the inputs every step of :func:`generate` shares)."""

    years: list
    ycode: dict
    ywts: np.ndarray                  # universal places' weights by school year
    py: pd.DataFrame
    pcode: np.ndarray                 # person of each pupil-year
    person_ids: pd.Index
    n_people: int
    yc: np.ndarray
    school_ids: np.ndarray
    sc: np.ndarray
    nc: np.ndarray
    ok_1016: np.ndarray               # aged 10-16 throughout the school year's part of the window
    fsm: np.ndarray
    sen: np.ndarray
    lac: np.ndarray
    male: np.ndarray
    never_excl: np.ndarray            # by person
    phase: np.ndarray
    school_open: np.ndarray
    open_idx: np.ndarray
    ara_row: np.ndarray               # ARA provided in the pupil-year's school that year


def _census(P: dict, pupils: pd.DataFrame, schools: pd.DataFrame, excl: pd.DataFrame | None,
            w0: pd.Timestamp, w1: pd.Timestamp) -> _Census:
    """Census pupil-years in the programme window and the schools' open and ARA dates."""
    years = [f"{y}/{(y + 1) % 100:02d}" for y in range(w0.year - (w0.month < 9), w1.year - (w1.month < 9) + 1)]
    ycode = {y: i for i, y in enumerate(years)}
    py = pupils.loc[pupils["academic_year"].isin(years)].sort_values(["pupil_id", "academic_year"])
    py = py.reset_index(drop=True)
    pcode, person_ids = pd.factorize(py["pupil_id"], sort=True)
    n_people = len(person_ids)
    school_ids = schools["school_id"].astype(str).to_numpy()
    scode_of = {s: i for i, s in enumerate(school_ids)}
    sc = py["school_id"].map(scode_of).to_numpy()
    ys, ye = _year_bounds(py["academic_year"])
    lo_d = np.maximum(ys, np.datetime64(w0))
    hi_d = np.minimum(ye, np.datetime64(w1))
    by, bm = py["birth_year"].to_numpy(), py["birth_month"].to_numpy()
    never_excl = np.ones(n_people, bool)
    if excl is not None and len(excl):
        never_excl[np.flatnonzero(person_ids.isin(excl["pupil_id"]))] = False
    open_d = pd.to_datetime(schools["open_date"]).to_numpy()
    close_d = pd.to_datetime(schools["close_date"]).fillna(pd.Timestamp("2100-01-01")).to_numpy()
    ara_d = pd.to_datetime(schools["ara_start_date"]).fillna(pd.Timestamp("2100-01-01")).to_numpy()
    school_open = (open_d <= np.datetime64(w1)) & (close_d >= np.datetime64(w0))
    yw = P["universal_year_weights"]
    return _Census(
        years=years, ycode=ycode, ywts=np.array([yw.get(y, 0) for y in years], float), py=py, pcode=pcode,
        person_ids=person_ids, n_people=n_people, yc=py["academic_year"].map(ycode).to_numpy(),
        school_ids=school_ids, sc=sc, nc=py["nc_year"].to_numpy(),
        ok_1016=(_age(lo_d, by, bm) >= 10) & (_age(hi_d, by, bm) <= 16),
        fsm=py["fsm"].astype(bool).to_numpy(), sen=py["sen_provision"].astype(str).to_numpy(),
        lac=py["looked_after"].astype(bool).to_numpy(), male=(py["sex"].astype(str) == "M").to_numpy(),
        never_excl=never_excl, phase=schools["phase"].astype(str).to_numpy(), school_open=school_open,
        open_idx=np.flatnonzero(school_open),
        # ARA provided in that school year (started at least a month before the year ends)
        ara_row=ara_d[sc] <= (hi_d - np.timedelta64(30, "D")))


@dataclass
class _Places:
    """Attended places of young people: pupil-year row, number of places and project, per block of rows."""

    idx: list = field(default_factory=list)
    m: list = field(default_factory=list)
    proj: list = field(default_factory=list)

    def add(self, idx: np.ndarray, m: np.ndarray, proj: str) -> None:
        self.idx.append(idx)
        self.m.append(m)
        self.proj.append(np.full(len(idx), proj, dtype=object))


def _reach(ctx, c: _Census) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Step 1: who is reached (weighted by eligible years), each person's frailty, and the eligible
    pupil-years of reached people."""
    yp = ctx.params["young_people"]
    rng = ctx.rng("reached")
    elig_years = np.bincount(c.pcode[c.ok_1016], minlength=c.n_people)
    k_reach = min(ctx.n(yp["reached_10_16"]), int(np.floor(yp["max_reached_share"] * (elig_years > 0).sum())))
    reached = np.zeros(c.n_people, bool)
    reached[_weighted_sample(rng, elig_years.astype(float), k_reach)] = True
    shape = float(yp["frailty_shape"])
    frailty = ctx.rng("frailty").gamma(shape, 1 / shape, c.n_people)
    return reached, frailty, reached[c.pcode] & c.ok_1016


def _participants(ctx, c: _Census, reached: np.ndarray, frailty: np.ndarray) -> tuple[_Places, dict]:
    """Step 2: participants of each project with young people, by school year, and their places."""
    P = ctx.params
    beta = P["equity"]["targeted_log_weights"]
    logw_target = (beta["fsm"] * c.fsm + beta["sen_support"] * (c.sen == "sen_support")
                   + beta["ehc_plan"] * (c.sen == "ehc_plan") + beta["looked_after"] * c.lac
                   + beta["male"] * c.male)
    places = _Places()
    participants_by_year: dict[tuple[str, int], np.ndarray] = {}
    pcode = c.pcode
    for proj, spec in P["projects"].items():
        if spec.get("universal"):
            continue
        r = ctx.rng(f"participants:{proj}")
        used = np.zeros(c.n_people, bool)
        lo_nc, hi_nc = spec["nc_years"]
        base = reached[pcode] & (c.nc >= lo_nc) & (c.nc <= hi_nc)
        if not (lo_nc <= 5):
            base &= c.ok_1016
        if spec.get("looked_after_only"):
            base &= c.lac
        if spec.get("never_excluded"):
            base &= c.never_excl[pcode]
        if spec.get("primary_schools"):
            prim = np.flatnonzero((c.phase == "primary") & c.school_open)
            chosen = r.choice(prim, size=min(len(prim), int(spec["primary_schools"])), replace=False)
            base &= np.isin(c.sc, chosen)
        w = np.exp(logw_target) if spec.get("targeted") else np.ones(len(c.py))
        w = w * (frailty[pcode] ** (1.0 if not spec.get("distinct_people") else 0.3))
        picked = []
        for ay, n in spec["participants"].items():
            cand = np.flatnonzero(base & (c.yc == c.ycode[ay]) & ~used[pcode])
            sel = cand[_weighted_sample(r, w[cand], ctx.n(n))]
            if spec.get("distinct_people"):
                used[pcode[sel]] = True
            participants_by_year[(proj, c.ycode[ay])] = sel
            picked.append(sel)
        sel = np.concatenate(picked) if picked else np.zeros(0, int)
        total = int(round(len(sel) * float(spec["places_mean"])))
        extra_w = frailty[pcode[sel]] ** 0.6 * r.gamma(2.0, 0.5, len(sel))
        cap = int(spec.get("max_places_per_year", 45)) - 1
        places.add(sel, 1 + _spread(r, total - len(sel), extra_w, cap), proj)
    return places, participants_by_year


def _workforce_counts(ctx) -> tuple[int, int, list, np.ndarray, int]:
    """Training and workforce activities: number of activities and participants, roles, participants
    by role, and young people among them (co-delivering trainings)."""
    wf = ctx.params["workforce"]
    n_part = ctx.n(wf["participants"])
    roles = list(wf["roles"])
    role_counts = _largest_remainder(n_part, [wf["roles"][k] for k in roles])
    wf_yp = int(role_counts[roles.index("young_person")]) if "young_person" in roles else 0
    return ctx.n(wf["activities"]), n_part, roles, role_counts, wf_yp


def _universal(ctx, c: _Census, reached: np.ndarray, frailty: np.ndarray, cand_row: np.ndarray,
               places: _Places, fixed: int) -> None:
    """Step 3: a first place for every reached young person without one, then the rest of the young
    people's opportunities (A01) to the ARA and celebrations, by school year and frailty."""
    P = ctx.params
    pcode, yc = c.pcode, c.yc
    r = ctx.rng("universal")
    has_place = np.zeros(c.n_people, bool)
    for idx in places.idx:
        if len(idx):
            not_bf = c.ok_1016[idx]
            has_place[pcode[idx[not_bf]]] = True
    need = reached & ~has_place
    cand = np.flatnonzero(cand_row & need[pcode])
    key = r.random(len(cand))
    order = np.lexsort((key, pcode[cand]))
    last = np.r_[pcode[cand][order][1:] != pcode[cand][order][:-1], True]
    anchor = cand[order][last]                       # one eligible census year per person
    anchor_ara = c.ara_row[anchor]
    total_yp = ctx.n(P["young_people"]["opportunities"])
    remainder = total_yp - fixed - len(anchor)
    if remainder < 0:
        raise ValueError(f"programme params: fixed projects and first places ({fixed + len(anchor)}) "
                         f"exceed the young people's opportunities target ({total_yp})")
    split = P["universal_split"]
    n_ara = int(round(remainder * float(split[ARA])))
    n_by = {ARA: _largest_remainder(n_ara, c.ywts), CELEB: _largest_remainder(remainder - n_ara, c.ywts)}
    counts = {ARA: np.zeros(len(c.py), int), CELEB: np.zeros(len(c.py), int)}
    np.add.at(counts[ARA], anchor[anchor_ara], 1)
    np.add.at(counts[CELEB], anchor[~anchor_ara], 1)
    for proj in (ARA, CELEB):
        for y in range(len(c.years)):
            n_y = int(n_by[proj][y])
            if n_y == 0:
                continue
            target = proj
            cc = np.flatnonzero(cand_row & (yc == y) & (c.ara_row if proj == ARA else True))
            if len(cc) == 0:  # no ARA school that year: these places go to celebrations
                target = CELEB
                cc = np.flatnonzero(cand_row & (yc == y))
                if len(cc) == 0:
                    raise ValueError(f"no reached young people in {c.years[y]} for universal places")
            ww = frailty[pcode[cc]]
            np.add.at(counts[target], cc, r.multinomial(n_y, ww / ww.sum()))
    for proj in (ARA, CELEB):
        idx = np.flatnonzero(counts[proj])
        places.add(idx, counts[proj][idx], proj)


def _co_projects() -> list[str]:
    return [p for p, s in PROJECTS.items() if s == "co-production"]


def _absences(ctx, m_all: np.ndarray, proj_all: np.ndarray) -> np.ndarray:
    """Step 4: registered-but-absent places per project row (attendance rates); in the co-production
    strand their number makes attended / registered exactly the published rate (A06)."""
    P = ctx.params
    r = ctx.rng("absences")
    a_all = np.zeros(len(m_all), int)
    adult_places = P["adults"]["places"]
    co_projects = _co_projects()
    co_rate = float(P["projects"]["Co-production groups"]["attendance_rate"])
    co_adults = sum(ctx.n(v) for p in co_projects for v in adult_places.get(p, {}).values())
    for proj, spec in P["projects"].items():
        sel = proj_all == proj
        rate = float(spec.get("attendance_rate", 1.0))
        if rate >= 1 or not sel.any() or proj in co_projects:
            continue
        n_abs = int(round(m_all[sel].sum() * (1 - rate) / rate))
        a_all[sel] = r.multinomial(n_abs, m_all[sel] / m_all[sel].sum())
    co_sel = np.isin(proj_all, co_projects)
    co_att = int(m_all[co_sel].sum()) + co_adults
    n_abs = int(round(co_att * (1 - co_rate) / co_rate))
    if co_sel.any():
        a_all[co_sel] = r.multinomial(n_abs, m_all[co_sel] / m_all[co_sel].sum())
    return a_all


def _young_activities(ctx, c: _Census, idx_all: np.ndarray, m_all: np.ndarray, a_all: np.ndarray,
                      proj_all: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Step 5: places (attended and absent) -> activities of each project's format, setting and group
    size (nobody twice in one activity); returns the activities and the young people's rows."""
    P = ctx.params
    pcode, yc, sc, ycode = c.pcode, c.yc, c.sc, c.ycode
    r = ctx.rng("activities")
    reps = m_all + a_all
    row_py = np.repeat(idx_all, reps)
    row_proj = np.repeat(proj_all, reps)
    first = np.repeat(np.cumsum(reps) - reps, reps)
    k_in = np.arange(len(row_py)) - first
    row_att = k_in < np.repeat(m_all, reps)
    row_fmt = np.empty(len(row_py), dtype=object)
    row_set = np.empty(len(row_py), dtype=object)
    row_gsize = np.ones(len(row_py), int)
    online_by_year = P.get("online_share_by_year", {})
    for proj, spec in P["projects"].items():
        sel = np.flatnonzero(row_proj == proj)
        if len(sel) == 0:
            continue
        fmts = list(spec["format"])
        row_fmt[sel] = r.choice(np.array(fmts, dtype=object), size=len(sel),
                                p=np.array([spec["format"][f] for f in fmts], float))
        probs = np.tile(np.array([spec["settings"].get(s, 0.0) for s in SETTINGS], float), (len(sel), 1))
        if probs[0, 2] > 0:
            for y, share in online_by_year.items():
                yy = yc[row_py[sel]] == ycode.get(y, -1)
                if yy.any():
                    rest = probs[yy, :2]
                    rest = rest / rest.sum(axis=1, keepdims=True) * (1 - share)
                    probs[yy] = np.column_stack([rest, np.full(yy.sum(), share)])
        row_set[sel] = _choice_from_probs(r, probs, SETTINGS)
        row_gsize[sel] = int(spec.get("group_size", 1))
    row_school = np.where(row_set == "school", sc[row_py], -1)
    one = row_fmt == "one_to_one"
    gkey = pd.MultiIndex.from_arrays([row_proj, row_fmt, row_set, row_school, yc[row_py]])
    gcode, _ = pd.factorize(gkey)
    act = np.empty(len(row_py), int)
    n1 = int(one.sum())
    act[one] = np.arange(n1)
    act[~one] = n1 + _slots(r, gcode[~one], pcode[row_py[~one]], row_gsize[~one])
    act_codes, act_first = np.unique(act, return_index=True)
    act = np.searchsorted(act_codes, act)
    A = pd.DataFrame({
        "project": row_proj[act_first], "format": row_fmt[act_first], "setting": row_set[act_first],
        "school": row_school[act_first], "year": yc[row_py[act_first]],
    })
    yp_rows = pd.DataFrame({"act": act, "person": pcode[row_py], "role": "young_person",
                            "attended": row_att, "py": row_py})
    return A, yp_rows


class _AdultPools:
    """Pools of adult ids by role (parents and carers, practitioners, volunteers; school staff in one
    block per school), drawn with the workforce step's generator. Pools shrink with the scale but not
    below what keeps people distinct in an activity."""

    def __init__(self, ctx, c: _Census, rng: np.random.Generator):
        pools = ctx.params["adults"]["pools"]
        self.rng, self.open_idx = rng, c.open_idx
        self.n_staff = int(pools["school_staff_per_school"])
        self.sizes = {k: max(ctx.n(pools[k]), 150) for k in ("parent_carer", "practitioner", "volunteer")}
        self.start = {"parent_carer": 0}
        self.start["practitioner"] = self.sizes["parent_carer"]
        self.start["volunteer"] = self.start["practitioner"] + self.sizes["practitioner"]
        self.staff0 = self.start["volunteer"] + self.sizes["volunteer"]        # staff: one block per school

    def __call__(self, role: np.ndarray, school: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Start and size of the pool of each (role, school); a staff member of a non-school activity
        comes from a random open school."""
        role = np.asarray(role, dtype=object)
        start = np.zeros(len(role), int)
        size = np.ones(len(role), int)
        staff = role == "school_staff"
        s = np.where(school >= 0, school, self.rng.choice(self.open_idx, size=len(role)))
        start[staff] = self.staff0 + s[staff] * self.n_staff
        size[staff] = self.n_staff
        for k in self.sizes:
            sel = role == k
            start[sel], size[sel] = self.start[k], self.sizes[k]
        return start, size

    def draw(self, rng: np.random.Generator, acts: np.ndarray, role: np.ndarray, schools: np.ndarray) -> pd.DataFrame:
        """Attended rows of adults of ``role`` at activities ``acts`` (distinct within an activity)."""
        st, sz = self(role, schools)
        return pd.DataFrame({"act": acts, "person": _pick_distinct(rng, acts, st, sz), "role": role,
                             "attended": True})


def _workforce(ctx, c: _Census, A: pd.DataFrame, participants_by_year: dict, pools: _AdultPools,
               counts: tuple) -> tuple[pd.DataFrame, list[pd.DataFrame], pd.DataFrame]:
    """Step 6: training and workforce activities (A05: every role; every open school hosts at least
    one), their adults and co-producing young people, and registered adults who did not come. Returns
    the activities with the trainings added, the adults' rows and the young people's rows."""
    wf = ctx.params["workforce"]
    n_wf, n_part, roles, role_counts, _ = counts
    r, years, open_idx = pools.rng, c.years, c.open_idx
    wsets = r.choice(np.array(SETTINGS, dtype=object), size=n_wf, p=[wf["settings"][s] for s in SETTINGS])
    wyear = r.choice(len(years), size=n_wf, p=c.ywts / c.ywts.sum())
    wschool = np.full(n_wf, -1)
    is_s = np.flatnonzero(wsets == "school")
    if len(is_s) < len(open_idx):                       # every open school hosts at least one
        others = np.flatnonzero(wsets != "school")
        extra = r.choice(others, size=min(len(open_idx) - len(is_s), len(others)), replace=False)
        wsets[extra] = "school"
        is_s = np.flatnonzero(wsets == "school")
    perm = r.permutation(len(is_s))
    k_first = min(len(open_idx), len(is_s))
    wschool[is_s[perm[:k_first]]] = r.permutation(open_idx)[:k_first]
    rest = is_s[perm[k_first:]]
    wschool[rest] = r.choice(open_idx, size=len(rest))
    size_w = r.gamma(2.0, 1.0, n_wf)
    sizes = 1 + r.multinomial(n_part - n_wf, size_w / size_w.sum())
    wf_act = np.repeat(np.arange(n_wf), sizes) + len(A)
    wf_role = r.permutation(np.repeat(np.array(roles, dtype=object), role_counts))
    A = pd.concat([A, pd.DataFrame({"project": WORKFORCE_PROJECT, "format": "training", "setting": wsets,
                                    "school": wschool, "year": wyear})], ignore_index=True)

    wf_school = A["school"].to_numpy()[wf_act]
    adult_sel = wf_role != "young_person"
    wf_adults = pools.draw(r, wf_act[adult_sel], wf_role[adult_sel], wf_school[adult_sel])
    # young people at trainings: co-production participants of the same year (distinct per activity)
    ysel = np.flatnonzero(~adult_sel)
    ypool_rows, ypool_start, ypool_size = [], np.zeros(len(years), int), np.zeros(len(years), int)
    off = 0
    for y in range(len(years)):
        pp = np.unique(np.concatenate([participants_by_year.get((p, y), np.zeros(0, int))
                                       for p in _co_projects()]))
        ypool_rows.append(pp)
        ypool_start[y], ypool_size[y] = off, len(pp)
        off += len(pp)
    ypool = np.concatenate(ypool_rows)
    wy = A["year"].to_numpy()[wf_act[ysel]]
    if (ypool_size[wy] == 0).any():
        raise ValueError("no co-production participants in a year with young people at trainings")
    pos = _pick_distinct(r, wf_act[ysel], ypool_start[wy], ypool_size[wy], skew=1.0)
    wf_yp_rows = pd.DataFrame({"act": wf_act[ysel], "person": c.pcode[ypool[pos]], "role": "young_person",
                               "attended": True, "py": ypool[pos]})
    # absent adults at trainings (registered, did not come)
    wf_adult_roles = np.array([k for k in roles if k != "young_person"], dtype=object)
    n_abs = int(round(n_part * (1 - wf["attendance_rate"]) / wf["attendance_rate"]))
    ab_act = r.choice(np.arange(n_wf), size=n_abs) + (len(A) - n_wf)
    ab_role = r.choice(wf_adult_roles, size=n_abs)
    st, sz = pools(ab_role, A["school"].to_numpy()[ab_act])
    wf_absent = pd.DataFrame({"act": ab_act, "person": _pick_distinct(r, ab_act, st, sz),
                              "role": ab_role, "attended": False})
    return A, [wf_adults, wf_absent], wf_yp_rows


def _attached_adults(ctx, c: _Census, A: pd.DataFrame, yp_rows: pd.DataFrame, pools: _AdultPools) -> list[pd.DataFrame]:
    """Adults attached to other projects' activities (weighted by young people per activity), and the
    Friend for Life volunteer who comes to each of a young person's meetings."""
    r = pools.rng
    yp_count = yp_rows.groupby("act").size()
    proj_of_act = A["project"].to_numpy()
    attach = []
    for proj, roles_n in ctx.params["adults"]["places"].items():
        if proj == PARENT_PROJECT:
            continue
        acts = np.flatnonzero(proj_of_act == proj)
        if len(acts) == 0:
            continue
        wts = yp_count.reindex(acts).fillna(1).to_numpy(float)
        for role, n in roles_n.items():
            n = ctx.n(n)
            chosen = r.choice(acts, size=n, p=wts / wts.sum())
            attach.append(pools.draw(r, chosen, np.full(n, role, dtype=object), A["school"].to_numpy()[chosen]))
    ffl = yp_rows.loc[proj_of_act[yp_rows["act"].to_numpy()] == "Friend for Life"]
    if len(ffl):
        friend = ctx.rng("friends").integers(0, pools.sizes["volunteer"], c.n_people)
        attach.append(pd.DataFrame({"act": ffl["act"].to_numpy(),
                                    "person": pools.start["volunteer"] + friend[ffl["person"].to_numpy()],
                                    "role": "volunteer", "attended": True}))
    return attach


def _parent_groups(ctx, c: _Census, A: pd.DataFrame, pools: _AdultPools, supporting: int,
                   attach: list[pd.DataFrame]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Parent and carer groups: parents take the rest of A02 (``supporting``: parents and school staff
    already placed); staff attached to the groups are appended to ``attach``. Returns the activities
    with the groups added and the parents' rows."""
    P = ctx.params
    pc = P["adults"]["parent_carer_groups"]
    n_pc = ctx.n(P["adults"]["supporting_total"]) - supporting
    if n_pc < 0:
        raise ValueError("programme params: adults outside Parent and carer groups exceed A02")
    rp = ctx.rng("parent groups")
    n_parents = max(1, min(pools.sizes["parent_carer"], int(round(n_pc / 4))))
    parents = rp.permutation(pools.sizes["parent_carer"])[:n_parents]
    pm = 1 + _spread(rp, max(n_pc - n_parents, 0), rp.gamma(0.5, 2.0, n_parents), 60)
    if n_pc < n_parents:
        parents, pm = parents[:n_pc], pm[:n_pc]
    n_pabs = int(round(n_pc * (1 - pc["attendance_rate"]) / pc["attendance_rate"]))
    pabs = rp.multinomial(n_pabs, pm / pm.sum()) if len(pm) else np.zeros(0, int)
    reps_p = pm + pabs
    prow_person = np.repeat(parents, reps_p)
    pfirst = np.repeat(np.cumsum(reps_p) - reps_p, reps_p)
    prow_att = (np.arange(len(prow_person)) - pfirst) < np.repeat(pm, reps_p)
    pyear = rp.choice(len(c.years), size=len(prow_person), p=c.ywts / c.ywts.sum())
    pset = rp.choice(np.array(SETTINGS, dtype=object), size=len(prow_person),
                     p=[pc["settings"][s] for s in SETTINGS])
    hubs = rp.choice(c.open_idx, size=min(len(c.open_idx), int(pc.get("hub_schools", 6))), replace=False)
    pschool = np.where(pset == "school", rp.choice(hubs, size=len(prow_person)), -1)
    pg, _ = pd.factorize(pd.MultiIndex.from_arrays([pyear, pset, pschool]))
    pslot = _slots(rp, pg, prow_person, np.full(len(pg), int(pc["group_size"])))
    pcodes, pfirst_idx = np.unique(pslot, return_index=True)
    pact = np.searchsorted(pcodes, pslot) + len(A)
    A = pd.concat([A, pd.DataFrame({"project": PARENT_PROJECT, "format": "group", "setting": pset[pfirst_idx],
                                    "school": pschool[pfirst_idx], "year": pyear[pfirst_idx]})],
                  ignore_index=True)
    parent_rows = pd.DataFrame({"act": pact, "person": pools.start["parent_carer"] + prow_person,
                                "role": "parent_carer", "attended": prow_att})
    for role, n in P["adults"]["places"].get(PARENT_PROJECT, {}).items():
        n = ctx.n(n)
        chosen = rp.choice(np.unique(pact), size=n)
        attach.append(pools.draw(rp, chosen, np.full(n, role, dtype=object), A["school"].to_numpy()[chosen]))
    return A, parent_rows


def _assemble(A: pd.DataFrame, c: _Census, young: pd.DataFrame, adults: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Activity ids in date order, person ids, one row per person and activity (attended first)."""
    A["strand"] = A["project"].map(PROJECTS)
    A["_i"] = np.arange(len(A))
    order = A.sort_values(["activity_date", "project", "setting", "school", "_i"], kind="mergesort")["_i"].to_numpy()
    new_id = np.empty(len(A), int)
    new_id[order] = np.arange(len(A))
    act_ids = np.array([f"ACT{i + 1:06d}" for i in range(len(A))], dtype=object)
    A["activity_id"] = act_ids[new_id]
    A["school_id"] = np.where(A["school"].to_numpy() >= 0, c.school_ids[np.maximum(A["school"].to_numpy(), 0)], None)
    activities = A[["activity_id", "project", "strand", "format", "activity_date", "setting", "school_id"]]
    young_ids = c.person_ids.to_numpy()[young["person"].to_numpy()]
    adult_ids = np.array([f"{ADULT_PREFIX}{i + 1:06d}" for i in range(adults["person"].max() + 1)],
                         dtype=object)[adults["person"].to_numpy()]
    att = pd.DataFrame({
        "activity_id": np.concatenate([act_ids[new_id[young["act"].to_numpy()]],
                                       act_ids[new_id[adults["act"].to_numpy()]]]),
        "person_id": np.concatenate([young_ids, adult_ids]),
        "role": np.concatenate([young["role"].to_numpy(), adults["role"].to_numpy()]).astype(object),
        "attended": np.concatenate([young["attended"].to_numpy(), adults["attended"].to_numpy()]).astype(bool),
    })
    # an adult drawn twice for one activity (absent and present, or two attachments): keep one row,
    # attended first (only adults: young people's rows are distinct by construction)
    att = att.sort_values(["activity_id", "person_id", "attended"], ascending=[True, True, False],
                          kind="mergesort")
    dup = att.duplicated(["activity_id", "person_id"])
    if att.loc[dup, "role"].eq("young_person").any():
        raise AssertionError("programme generator: a young person twice in one activity")
    att = att.loc[~dup].reset_index(drop=True)
    return {"activities": activities.sort_values("activity_id").reset_index(drop=True), "attendance": att}


def generate(ctx) -> dict[str, pd.DataFrame]:
    """Make ``activities`` and ``attendance`` (see the module docstring: one function per step)."""
    P = ctx.params
    if "pupils" not in ctx.tables or "schools" not in ctx.tables:
        raise ValueError("the programme domain needs the education domain's pupils and schools tables")
    schools = ctx.tables["schools"].reset_index(drop=True)
    w0, w1 = pd.Timestamp(P["window"]["start"]), pd.Timestamp(P["window"]["end"])
    c = _census(P, ctx.tables["pupils"], schools, ctx.tables.get("exclusions"), w0, w1)
    reached, frailty, cand_row = _reach(ctx, c)                                    # 1
    places, participants_by_year = _participants(ctx, c, reached, frailty)         # 2
    wf_counts = _workforce_counts(ctx)
    fixed = sum(int(m.sum()) for m in places.m) + wf_counts[4]
    _universal(ctx, c, reached, frailty, cand_row, places, fixed)                  # 3
    idx_all, m_all, proj_all = (np.concatenate(places.idx), np.concatenate(places.m),
                                np.concatenate(places.proj))
    a_all = _absences(ctx, m_all, proj_all)                                        # 4
    A, yp_rows = _young_activities(ctx, c, idx_all, m_all, a_all, proj_all)       # 5
    pools = _AdultPools(ctx, c, ctx.rng("workforce"))                              # 6
    A, wf_rows, wf_yp_rows = _workforce(ctx, c, A, participants_by_year, pools, wf_counts)
    attach = _attached_adults(ctx, c, A, yp_rows, pools)
    supporting = sum(int(d["role"].isin(["parent_carer", "school_staff"]).sum()) for d in [wf_rows[0]] + attach)
    A, parent_rows = _parent_groups(ctx, c, A, pools, supporting, attach)
    A = _date_activities(ctx.rng("dates"), A, c.years, P, schools, w0, w1)
    young = pd.concat([yp_rows, wf_yp_rows], ignore_index=True)
    adults = pd.concat(wf_rows + [parent_rows] + attach, ignore_index=True)
    return _assemble(A, c, young, adults)


def _date_activities(rng, A: pd.DataFrame, years, P, schools, w0, w1) -> pd.DataFrame:
    """Uniform dates within each activity's bounds (school year, window, school open/ARA dates,
    online from March 2020); school-based activities avoid weekends and school closures."""
    A = A.copy()
    ys, ye = _year_bounds(pd.Series([years[y] for y in A["year"]]))
    lo = np.maximum(ys, np.datetime64(w0))
    hi = np.minimum(ye, np.datetime64(w1))
    s = A["school"].to_numpy()
    has = s >= 0
    open_d = pd.to_datetime(schools["open_date"]).to_numpy()
    close_d = pd.to_datetime(schools["close_date"]).fillna(pd.Timestamp("2100-01-01")).to_numpy()
    ara_d = pd.to_datetime(schools["ara_start_date"]).fillna(pd.Timestamp("1900-01-01")).to_numpy()
    lo = np.where(has, np.maximum(lo, open_d[np.maximum(s, 0)]), lo)
    hi = np.where(has, np.minimum(hi, close_d[np.maximum(s, 0)]), hi)
    is_ara = (A["project"] == ARA).to_numpy() & has
    lo = np.where(is_ara, np.maximum(lo, ara_d[np.maximum(s, 0)]), lo)
    online_from = np.datetime64(pd.Timestamp(P["window"]["online_from"]))
    online = (A["setting"] == "online").to_numpy()
    lo = np.where(online & (hi >= online_from), np.maximum(lo, online_from), lo)
    hi = np.maximum(hi, lo)
    span = (hi - lo).astype("timedelta64[D]").astype(int) + 1
    days = np.floor(rng.random(len(A)) * span).astype(int)
    d = lo + days.astype("timedelta64[D]")
    school = (A["setting"] == "school").to_numpy()
    closures = [(np.datetime64(pd.Timestamp(a)), np.datetime64(pd.Timestamp(b))) for a, b in P["window"]["closures"]]
    for _ in range(8):
        bad = np.zeros(len(A), bool)
        for a, b in closures:
            bad |= school & (d >= a) & (d <= b)
        if not bad.any():
            break
        d[bad] = lo[bad] + np.floor(rng.random(bad.sum()) * span[bad]).astype(int).astype("timedelta64[D]")
    wd = pd.DatetimeIndex(d).weekday.to_numpy()
    shift = np.where(wd == 5, -1, np.where(wd == 6, 1, 0))
    d2 = d + np.where(school, shift, 0).astype("timedelta64[D]")
    d = np.where((d2 >= lo) & (d2 <= hi), d2, d)
    A["activity_date"] = pd.to_datetime(d).normalize()
    return A
