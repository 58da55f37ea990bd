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
def generate(ctx) -> dict[str, pd.DataFrame]:
    """Make ``activities`` and ``attendance`` (see the module docstring)."""
    P = ctx.params
    if "pupils" not in ctx.tables or "schools" not in ctx.tables:
        raise ValueError("the programme domain needs the education domain's pupils and schools tables")
    pupils = ctx.tables["pupils"]
    schools = ctx.tables["schools"].reset_index(drop=True)
    excl = ctx.tables.get("exclusions")
    w0, w1 = pd.Timestamp(P["window"]["start"]), pd.Timestamp(P["window"]["end"])
    years = [f"{y}/{(y + 1) % 100:02d}" for y in range(w0.year - (w0.month < 9), w1.year - (w1.month < 9) + 1)]
    ycode = {y: i for i, y in enumerate(years)}

    # ---- census pupil-years in the programme ----------------------------------------------
    py = pupils.loc[pupils["academic_year"].isin(years)].sort_values(["pupil_id", "academic_year"])
    py = py.reset_index(drop=True)
    pcode, person_ids = pd.factorize(py["pupil_id"], sort=True)
    n_people = len(person_ids)
    yc = py["academic_year"].map(ycode).to_numpy()
    school_ids = schools["school_id"].astype(str).to_numpy()
    scode_of = {s: i for i, s in enumerate(school_ids)}
    sc = py["school_id"].map(scode_of).to_numpy()
    nc = py["nc_year"].to_numpy()
    ys, ye = _year_bounds(py["academic_year"])
    lo_d = np.maximum(ys, np.datetime64(w0))
    hi_d = np.minimum(ye, np.datetime64(w1))
    by, bm = py["birth_year"].to_numpy(), py["birth_month"].to_numpy()
    ok_1016 = (_age(lo_d, by, bm) >= 10) & (_age(hi_d, by, bm) <= 16)
    fsm = py["fsm"].astype(bool).to_numpy()
    sen = py["sen_provision"].astype(str).to_numpy()
    lac = py["looked_after"].astype(bool).to_numpy()
    male = (py["sex"].astype(str) == "M").to_numpy()
    never_excl = np.ones(n_people, bool)
    if excl is not None and len(excl):
        never_excl[np.flatnonzero(person_ids.isin(excl["pupil_id"]))] = False

    open_d = pd.to_datetime(schools["open_date"]).to_numpy()
    close_d = pd.to_datetime(schools["close_date"]).fillna(pd.Timestamp("2100-01-01")).to_numpy()
    ara_d = pd.to_datetime(schools["ara_start_date"]).fillna(pd.Timestamp("2100-01-01")).to_numpy()
    phase = schools["phase"].astype(str).to_numpy()
    school_open = (open_d <= np.datetime64(w1)) & (close_d >= np.datetime64(w0))
    # ARA provided in that school year (started at least a month before the year ends)
    ara_row = ara_d[sc] <= (hi_d - np.timedelta64(30, "D"))

    # ---- 1. who is reached -----------------------------------------------------------------
    yp = P["young_people"]
    rng = ctx.rng("reached")
    elig_years = np.bincount(pcode[ok_1016], minlength=n_people)
    k_reach = min(ctx.n(yp["reached_10_16"]), int(np.floor(yp["max_reached_share"] * (elig_years > 0).sum())))
    reached = np.zeros(n_people, bool)
    reached[_weighted_sample(rng, elig_years.astype(float), k_reach)] = True
    shape = float(yp["frailty_shape"])
    frailty = ctx.rng("frailty").gamma(shape, 1 / shape, n_people)
    cand_row = reached[pcode] & ok_1016

    # ---- 2. project participants -----------------------------------------------------------
    beta = P["equity"]["targeted_log_weights"]
    logw_target = (beta["fsm"] * fsm + beta["sen_support"] * (sen == "sen_support")
                   + beta["ehc_plan"] * (sen == "ehc_plan") + beta["looked_after"] * lac
                   + beta["male"] * male)
    rows_idx, rows_m, rows_proj = [], [], []         # pupil-year row, attended places, project
    participants_by_year: dict[tuple[str, int], np.ndarray] = {}
    for proj, spec in P["projects"].items():
        if spec.get("universal"):
            continue
        r = ctx.rng(f"participants:{proj}")
        used = np.zeros(n_people, bool)
        lo_nc, hi_nc = spec["nc_years"]
        base = reached[pcode] & (nc >= lo_nc) & (nc <= hi_nc)
        if not (lo_nc <= 5):
            base &= ok_1016
        if spec.get("looked_after_only"):
            base &= lac
        if spec.get("never_excluded"):
            base &= never_excl[pcode]
        if spec.get("primary_schools"):
            prim = np.flatnonzero((phase == "primary") & school_open)
            chosen = r.choice(prim, size=min(len(prim), int(spec["primary_schools"])), replace=False)
            base &= np.isin(sc, chosen)
        w = np.exp(logw_target) if spec.get("targeted") else np.ones(len(py))
        w = w * (frailty[pcode] ** (1.0 if not spec.get("distinct_people") else 0.3))
        picked = []
        for ay, n in spec["participants"].items():
            cand = np.flatnonzero(base & (yc == ycode[ay]) & ~used[pcode])
            sel = cand[_weighted_sample(r, w[cand], ctx.n(n))]
            if spec.get("distinct_people"):
                used[pcode[sel]] = True
            participants_by_year[(proj, ycode[ay])] = sel
            picked.append(sel)
        sel = np.concatenate(picked) if picked else np.zeros(0, int)
        total = int(round(len(sel) * float(spec["places_mean"])))
        extra_w = frailty[pcode[sel]] ** 0.6 * r.gamma(2.0, 0.5, len(sel))
        cap = int(spec.get("max_places_per_year", 45)) - 1
        m = 1 + _spread(r, total - len(sel), extra_w, cap)
        rows_idx.append(sel)
        rows_m.append(m)
        rows_proj.append(np.full(len(sel), proj, dtype=object))

    # young people co-delivering trainings (workforce): from co-production participants of the year
    wf = P["workforce"]
    n_wf = ctx.n(wf["activities"])
    n_part = ctx.n(wf["participants"])
    roles = list(wf["roles"])
    role_counts = _largest_remainder(n_part, [wf["roles"][k] for k in roles])
    wf_yp = int(role_counts[roles.index("young_person")]) if "young_person" in roles else 0
    fixed = sum(int(m.sum()) for m in rows_m) + wf_yp

    # ---- 3. universal places -----------------------------------------------------------------
    r = ctx.rng("universal")
    has_place = np.zeros(n_people, bool)
    for idx, proj in zip(rows_idx, rows_proj):
        if len(idx):
            not_bf = ok_1016[idx]
            has_place[pcode[idx[not_bf]]] = True
    need = reached & ~has_place
    cand = np.flatnonzero(cand_row & need[pcode])
    key = r.random(len(cand))
    order = np.lexsort((key, pcode[cand]))
    last = np.r_[pcode[cand][order][1:] != pcode[cand][order][:-1], True]
    anchor = cand[order][last]                       # one eligible census year per person
    anchor_ara = ara_row[anchor]
    total_yp = ctx.n(yp["opportunities"])
    remainder = total_yp - fixed - len(anchor)
    if remainder < 0:
        raise ValueError(f"programme params: fixed projects and first places ({fixed + len(anchor)}) "
                         f"exceed the young people's opportunities target ({total_yp})")
    split = P["universal_split"]
    yw = P["universal_year_weights"]
    ywts = np.array([yw.get(y, 0) for y in years], float)
    n_ara = int(round(remainder * float(split[ARA])))
    n_by = {ARA: _largest_remainder(n_ara, ywts), CELEB: _largest_remainder(remainder - n_ara, ywts)}
    counts = {ARA: np.zeros(len(py), int), CELEB: np.zeros(len(py), int)}
    np.add.at(counts[ARA], anchor[anchor_ara], 1)
    np.add.at(counts[CELEB], anchor[~anchor_ara], 1)
    for proj in (ARA, CELEB):
        for y in range(len(years)):
            n_y = int(n_by[proj][y])
            if n_y == 0:
                continue
            target = proj
            c = np.flatnonzero(cand_row & (yc == y) & (ara_row if proj == ARA else True))
            if len(c) == 0:  # no ARA school that year: these places go to celebrations
                target = CELEB
                c = np.flatnonzero(cand_row & (yc == y))
                if len(c) == 0:
                    raise ValueError(f"no reached young people in {years[y]} for universal places")
            ww = frailty[pcode[c]]
            np.add.at(counts[target], c, r.multinomial(n_y, ww / ww.sum()))
    for proj in (ARA, CELEB):
        idx = np.flatnonzero(counts[proj])
        rows_idx.append(idx)
        rows_m.append(counts[proj][idx])
        rows_proj.append(np.full(len(idx), proj, dtype=object))

    idx_all = np.concatenate(rows_idx)
    m_all = np.concatenate(rows_m)
    proj_all = np.concatenate(rows_proj)

    # ---- 4. absences ---------------------------------------------------------------------------
    r = ctx.rng("absences")
    a_all = np.zeros(len(idx_all), int)
    adult_places = P["adults"]["places"]
    co_projects = [p for p, s in PROJECTS.items() if s == "co-production"]
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

    # ---- 5. rows -> activities -------------------------------------------------------------
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

    # ---- 6. workforce activities ------------------------------------------------------------
    r = ctx.rng("workforce")
    wsets = r.choice(np.array(SETTINGS, dtype=object), size=n_wf, p=[wf["settings"][s] for s in SETTINGS])
    wyear = r.choice(len(years), size=n_wf, p=ywts / ywts.sum())
    open_idx = np.flatnonzero(school_open)
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

    # ---- adults -----------------------------------------------------------------------------
    pools = P["adults"]["pools"]
    # pools of adults shrink with the scale but not below what keeps people distinct in an activity
    n_staff = int(pools["school_staff_per_school"])
    sizes_pool = {k: max(ctx.n(pools[k]), 150) for k in ("parent_carer", "practitioner", "volunteer")}
    start_pool = {"parent_carer": 0}
    start_pool["practitioner"] = sizes_pool["parent_carer"]
    start_pool["volunteer"] = start_pool["practitioner"] + sizes_pool["practitioner"]
    staff0 = start_pool["volunteer"] + sizes_pool["volunteer"]        # staff: one block per school

    def adult_pool(role: np.ndarray, school: np.ndarray):
        role = np.asarray(role, dtype=object)
        start = np.zeros(len(role), int)
        size = np.ones(len(role), int)
        staff = role == "school_staff"
        s = np.where(school >= 0, school, r.choice(open_idx, size=len(role)))
        start[staff] = staff0 + s[staff] * n_staff
        size[staff] = n_staff
        for k in sizes_pool:
            sel = role == k
            start[sel], size[sel] = start_pool[k], sizes_pool[k]
        return start, size

    wf_school = A["school"].to_numpy()[wf_act]
    adult_sel = wf_role != "young_person"
    st, sz = adult_pool(wf_role[adult_sel], wf_school[adult_sel])
    wf_adults = pd.DataFrame({"act": wf_act[adult_sel], "person": _pick_distinct(r, wf_act[adult_sel], st, sz),
                              "role": wf_role[adult_sel], "attended": True})
    # young people at trainings: co-production participants of the same year (distinct per activity)
    ysel = np.flatnonzero(~adult_sel)
    ypool_rows, ypool_start, ypool_size = [], np.zeros(len(years), int), np.zeros(len(years), int)
    off = 0
    for y in range(len(years)):
        pp = np.unique(np.concatenate([participants_by_year.get((p, y), np.zeros(0, int))
                                       for p in co_projects]))
        ypool_rows.append(pp)
        ypool_start[y], ypool_size[y] = off, len(pp)
        off += len(pp)
    ypool = np.concatenate(ypool_rows)
    wy = A["year"].to_numpy()[wf_act[ysel]]
    if (ypool_size[wy] == 0).any():
        raise ValueError("no co-production participants in a year with young people at trainings")
    pos = _pick_distinct(r, wf_act[ysel], ypool_start[wy], ypool_size[wy], skew=1.0)
    wf_yp_rows = pd.DataFrame({"act": wf_act[ysel], "person": pcode[ypool[pos]], "role": "young_person",
                               "attended": True, "py": ypool[pos]})
    # absent adults at trainings (registered, did not come)
    wf_adult_roles = np.array([k for k in roles if k != "young_person"], dtype=object)
    n_abs = int(round(n_part * (1 - wf["attendance_rate"]) / wf["attendance_rate"]))
    ab_act = r.choice(np.arange(n_wf), size=n_abs) + (len(A) - n_wf)
    ab_role = r.choice(wf_adult_roles, size=n_abs)
    st, sz = adult_pool(ab_role, A["school"].to_numpy()[ab_act])
    wf_absent = pd.DataFrame({"act": ab_act, "person": _pick_distinct(r, ab_act, st, sz),
                              "role": ab_role, "attended": False})

    # adults attached to other projects' activities
    yp_count = yp_rows.groupby("act").size()
    proj_of_act = A["project"].to_numpy()
    attach = []
    for proj, roles_n in adult_places.items():
        if proj == PARENT_PROJECT:
            continue
        acts = np.flatnonzero(proj_of_act == proj)
        if len(acts) == 0:
            continue
        wts = yp_count.reindex(acts).fillna(1).to_numpy(float)
        for role, n in roles_n.items():
            n = ctx.n(n)
            chosen = r.choice(acts, size=n, p=wts / wts.sum())
            st, sz = adult_pool(np.full(n, role, dtype=object), A["school"].to_numpy()[chosen])
            attach.append(pd.DataFrame({"act": chosen, "person": _pick_distinct(r, chosen, st, sz),
                                        "role": role, "attended": True}))
    # Friend for Life: the young person's adult friend comes to each meeting
    ffl = yp_rows.loc[proj_of_act[yp_rows["act"].to_numpy()] == "Friend for Life"]
    if len(ffl):
        friend = ctx.rng("friends").integers(0, sizes_pool["volunteer"], n_people)
        attach.append(pd.DataFrame({"act": ffl["act"].to_numpy(),
                                    "person": start_pool["volunteer"] + friend[ffl["person"].to_numpy()],
                                    "role": "volunteer", "attended": True}))

    # Parent and carer groups: parents take the rest of A02
    pc = P["adults"]["parent_carer_groups"]
    supporting = int((wf_adults["role"].isin(["parent_carer", "school_staff"])).sum())
    supporting += sum(int(d["role"].isin(["parent_carer", "school_staff"]).sum()) for d in attach)
    n_pc = ctx.n(P["adults"]["supporting_total"]) - supporting
    if n_pc < 0:
        raise ValueError("programme params: adults outside Parent and carer groups exceed A02")
    rp = ctx.rng("parent groups")
    n_parents = max(1, min(sizes_pool["parent_carer"], int(round(n_pc / 4))))
    parents = rp.permutation(sizes_pool["parent_carer"])[:n_parents]
    pm = 1 + _spread(rp, max(n_pc - n_parents, 0), rp.gamma(0.5, 2.0, n_parents), 60)
    if n_pc < n_parents:
        parents, pm = parents[:n_pc], pm[:n_pc]
    n_pabs = int(round(n_pc * (1 - pc["attendance_rate"]) / pc["attendance_rate"]))
    pabs = rp.multinomial(n_pabs, pm / pm.sum()) if len(pm) else np.zeros(0, int)
    reps_p = pm + pabs
    prow_person = np.repeat(parents, reps_p)
    pfirst = np.repeat(np.cumsum(reps_p) - reps_p, reps_p)
    prow_att = (np.arange(len(prow_person)) - pfirst) < np.repeat(pm, reps_p)
    pyear = rp.choice(len(years), size=len(prow_person), p=ywts / ywts.sum())
    pset = rp.choice(np.array(SETTINGS, dtype=object), size=len(prow_person),
                     p=[pc["settings"][s] for s in SETTINGS])
    hubs = rp.choice(open_idx, size=min(len(open_idx), int(pc.get("hub_schools", 6))), replace=False)
    pschool = np.where(pset == "school", rp.choice(hubs, size=len(prow_person)), -1)
    pg, _ = pd.factorize(pd.MultiIndex.from_arrays([pyear, pset, pschool]))
    pslot = _slots(rp, pg, prow_person, np.full(len(pg), int(pc["group_size"])))
    pcodes, pfirst_idx = np.unique(pslot, return_index=True)
    pact = np.searchsorted(pcodes, pslot) + len(A)
    A = pd.concat([A, pd.DataFrame({"project": PARENT_PROJECT, "format": "group", "setting": pset[pfirst_idx],
                                    "school": pschool[pfirst_idx], "year": pyear[pfirst_idx]})],
                  ignore_index=True)
    parent_rows = pd.DataFrame({"act": pact, "person": start_pool["parent_carer"] + prow_person,
                                "role": "parent_carer", "attended": prow_att})
    for role, n in adult_places.get(PARENT_PROJECT, {}).items():
        n = ctx.n(n)
        acts = np.unique(pact)
        chosen = rp.choice(acts, size=n)
        st, sz = adult_pool(np.full(n, role, dtype=object), A["school"].to_numpy()[chosen])
        attach.append(pd.DataFrame({"act": chosen, "person": _pick_distinct(rp, chosen, st, sz),
                                    "role": role, "attended": True}))

    # ---- dates ------------------------------------------------------------------------------
    A = _date_activities(ctx.rng("dates"), A, years, P, schools, w0, w1)

    # ---- assemble ---------------------------------------------------------------------------
    A["strand"] = A["project"].map(PROJECTS)
    A["_i"] = np.arange(len(A))
    order = A.sort_values(["activity_date", "project", "setting", "school", "_i"], kind="mergesort")["_i"].to_numpy()
    new_id = np.empty(len(A), int)
    new_id[order] = np.arange(len(A))
    act_ids = np.array([f"ACT{i + 1:06d}" for i in range(len(A))], dtype=object)
    A["activity_id"] = act_ids[new_id]
    A["school_id"] = np.where(A["school"].to_numpy() >= 0, school_ids[np.maximum(A["school"].to_numpy(), 0)], None)
    activities = A[["activity_id", "project", "strand", "format", "activity_date", "setting", "school_id"]]

    young = pd.concat([yp_rows, wf_yp_rows], ignore_index=True)
    young_ids = person_ids.to_numpy()[young["person"].to_numpy()]
    adults = pd.concat([wf_adults, wf_absent, parent_rows] + attach, ignore_index=True)
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
