"""Synthetic targeted domain: support episodes, SDQ before/after, Goal Based Outcomes.

Calibration targets and assumptions are in ``params/targeted.yml`` (A07, A14-A19, B03, B08).
The generator runs after the education domain and only *reads* its tables: young people are
census pupils, chosen with higher probability when they have free school meals, SEN, are looked
after or were suspended before (planted selection, ``selection_log_weights``). Back on Track
young people are looked-after pupils; the seven with education data (A18, A19) are chosen,
together with their referral and end dates, among looked-after pupils whose exclusion and
attendance records fit, so the education tables and their DfE totals are left untouched.

The Back on Track cohort has a fixed size at every scale (a small caseload); the other
programmes scale with ``ctx.scale``. Everything is seeded through ``ctx.rng(step)``.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .. import calendar
from ..data.targeted import DOMAINS, RESILIENCE_COACH_PROGRAMMES, SDQ_IMPACT, SDQ_ITEMS
from ..instruments import sdq
from ..instruments import sdq as _sdq

DAYS_PER_MONTH = 30.4375
SCALES = ("emotion", "conduct", "hyper", "peer")
#: items of each scale in the official order, and the reverse-scored items (from the scoring module)
SCALE_ITEMS = _sdq.SCALES
REVERSED = _sdq.REVERSED
#: lower bound of the self-report "high" band (sdqinfo.org four bands)
HIGH_FROM = {"emotion": 6, "conduct": 5, "hyper": 7, "peer": 4, "total": 18, "impact": 2}


# --------------------------------------------------------------------------- small helpers

def ts(x) -> pd.Timestamp:
    return pd.Timestamp(x)


def year_start(dates) -> np.ndarray:
    """Start year of the English school year (September to August) of each date."""
    d = pd.DatetimeIndex(pd.to_datetime(dates))
    return (d.year - (d.month < 9)).to_numpy()


def age_at(birth_year, birth_month, dates) -> np.ndarray:
    """Age in whole years at each date (birthday taken as the 1st of the birth month)."""
    d = pd.DatetimeIndex(pd.to_datetime(dates))
    return (d.year.to_numpy() - np.asarray(birth_year) - (d.month.to_numpy() < np.asarray(birth_month)))


def add_months(dates, months) -> pd.DatetimeIndex:
    d = pd.DatetimeIndex(pd.to_datetime(dates))
    return d + pd.to_timedelta(np.round(np.asarray(months, dtype=float) * DAYS_PER_MONTH), unit="D")


def months_between(a, b) -> np.ndarray:
    return ((pd.DatetimeIndex(pd.to_datetime(b)) - pd.DatetimeIndex(pd.to_datetime(a))).days.to_numpy()
            / DAYS_PER_MONTH)


def uniform_dates(rng, lo, hi, n) -> pd.DatetimeIndex:
    lo, hi = ts(lo), ts(hi)
    days = rng.integers(0, (hi - lo).days + 1, size=n)
    return pd.DatetimeIndex(lo + pd.to_timedelta(days, unit="D"))


def solve_mean_sd(x0, lo, hi, mean, sd, fixed=None, iters=200):
    """Values within [lo, hi] with the given mean and SD (iterative standardise-and-clip).

    ``fixed`` (bool mask) keeps some values as they are. Returns the adjusted values.
    """
    x = np.clip(np.asarray(x0, dtype=float), lo, hi)
    fixed = np.zeros(len(x), bool) if fixed is None else np.asarray(fixed, bool)
    for _ in range(iters):
        m, s = x.mean(), x.std(ddof=1)
        if abs(m - mean) < 1e-6 and abs(s - sd) < 1e-6:
            break
        new = mean + (x - m) * (sd / s if s > 0 else 1.0)
        x = np.where(fixed, x, np.clip(new, lo, hi))
    return x


# --------------------------------------------------------------------------- education inputs

def _education(ctx):
    t = ctx.tables
    for name in ("pupils", "exclusions", "school_attendance"):
        if name not in t:
            raise ValueError(f"rrlib.synth.targeted needs the education table {name!r} (run education first)")
    pupils = t["pupils"].copy()
    pupils["ys"] = pupils["academic_year"].astype(str).str[:4].astype(int)
    excl = t["exclusions"].copy()
    excl["exclusion_date"] = pd.to_datetime(excl["exclusion_date"])
    att = t["school_attendance"].copy()
    return pupils, excl, att


def _person_years(pupils: pd.DataFrame, excl: pd.DataFrame, w: dict) -> pd.DataFrame:
    """Pupil-year rows with a selection weight (planted: higher-risk pupils are referred more)."""
    py = pupils[["pupil_id", "ys", "sex", "birth_year", "birth_month", "fsm", "sen_provision",
                 "looked_after"]].copy()
    # suspensions before the start of each school year (prior exclusions)
    sus = excl[excl["category"] == "suspension"]
    first_sus = sus.groupby("pupil_id")["exclusion_date"].min()
    fs = py["pupil_id"].map(first_sus)
    py["prior_suspension"] = (fs.notna() & (fs < pd.to_datetime(py["ys"].astype(str) + "-09-01"))).to_numpy()
    lw = (w["fsm"] * py["fsm"].astype(bool) + w["sen_support"] * (py["sen_provision"] == "sen_support")
          + w["ehc_plan"] * (py["sen_provision"] == "ehc_plan") + w["looked_after"] * py["looked_after"].astype(bool)
          + w["prior_suspension"] * py["prior_suspension"])
    py["weight"] = np.exp(lw.astype(float))
    span = pupils.groupby("pupil_id")["ys"].agg(["min", "max"])
    py["first_ys"] = py["pupil_id"].map(span["min"]).to_numpy()
    py["last_ys"] = py["pupil_id"].map(span["max"]).to_numpy()
    return py


def _weighted_pick(rng, weights, k):
    """Indices of k items drawn without replacement with probability proportional to weights."""
    w = np.asarray(weights, float)
    k = min(k, int((w > 0).sum()))
    if k <= 0:
        return np.array([], int)
    keys = np.log(rng.random(len(w))) / np.where(w > 0, w, np.nan)  # Efraimidis-Spirakis
    keys = np.where(np.isnan(keys), -np.inf, keys)
    return np.argsort(-keys, kind="mergesort")[:k]


# --------------------------------------------------------------------------- Back on Track

def _bot_slots(ctx, bp: dict, cut: dict) -> pd.DataFrame:
    """The 39 Back on Track referrals (A14 + later, B08): dates, age and sex, before choosing pupils."""
    rng = ctx.rng("bot slots")
    a14_end, act0 = ts(cut["a14_end"]), ts(cut["active_window"][0])
    rows = []
    for ay, k in bp["referrals_a14"].items():
        y = int(ay[:4])
        lo = max(ts(f"{y}-09-01"), ts(cut["cohort_start"]))
        hi = min(ts(f"{y + 1}-08-31"), a14_end)
        for _ in range(int(k)):
            rows.append({"group": "a14", "lo": lo, "hi": hi, "ys": y})
    for _ in range(int(bp["referrals_later"])):
        rows.append({"group": "later", "lo": ts("2020-09-01"), "hi": ts(cut["b08_end"]), "ys": 2020})
    s = pd.DataFrame(rows)
    n = len(s)
    # which A14 referrals are active in 2019/20: every 2019/20 referral plus the latest 2018/19 ones
    s["active"] = False
    in_1920 = (s["group"] == "a14") & (s["ys"] == 2019)
    s.loc[in_1920, "active"] = True
    need = int(bp["active_2019_20"]) - int(in_1920.sum())
    idx_1819 = s.index[(s["group"] == "a14") & (s["ys"] == 2018)]
    s.loc[idx_1819[:max(need, 0)], "active"] = True
    # referral dates: non-active 2018/19 referrals early enough to finish before September 2019
    ref = uniform_dates(rng, "2000-01-01", "2000-01-01", n)  # placeholder, replaced below
    ref = []
    for i, r in s.iterrows():
        hi = r["hi"]
        if r["group"] == "a14" and not r["active"]:
            hi = min(hi, ts("2019-03-15"))
        if r["group"] == "a14" and r["ys"] == 2019:
            hi = min(hi, ts("2020-03-31"))
        ref.append(uniform_dates(rng, r["lo"], hi, 1)[0])
    s["referral_date"] = pd.DatetimeIndex(ref)
    lo_d, hi_d = bp["referral_to_start_days"]
    start = s["referral_date"] + pd.to_timedelta(rng.integers(lo_d, hi_d + 1, size=n), unit="D")
    s["start_date"] = start.where(start >= ts(cut["first_start"]),
                                  ts(cut["first_start"]) + pd.to_timedelta(rng.integers(0, 28, size=n), unit="D"))
    # ages and sexes (exact counts), shuffled over the slots of each group
    for grp, ages_key, male_key in (("a14", "ages_a14", "male_a14"), ("later", "ages_later", "male_later")):
        idx = s.index[s["group"] == grp]
        ages = np.repeat([int(a) for a in bp[ages_key]], [int(c) for c in bp[ages_key].values()])
        sexes = np.array(["M"] * int(bp[male_key]) + ["F"] * (len(idx) - int(bp[male_key])))
        s.loc[idx, "age"] = rng.permutation(ages)
        s.loc[idx, "sex"] = rng.permutation(sexes)
    s["age"] = s["age"].astype(int)
    # latest end each slot may have (months): A14 non-active end before 2019/20; all by data end
    data_end = ts(cut["data_end"])
    end_cap = np.where((s["group"] == "a14") & ~s["active"], act0 - pd.Timedelta(days=1), data_end)
    s["end_cap"] = pd.DatetimeIndex(end_cap)
    s["slot"] = np.arange(n)
    return s


def _bot_candidates(slots: pd.DataFrame, py: pd.DataFrame) -> pd.DataFrame:
    """(slot, pupil) pairs: looked after in the census of the referral year, age and sex fit."""
    lac = py[py["looked_after"].astype(bool)]
    c = slots[["slot", "ys", "age", "sex", "referral_date"]].merge(
        lac[["pupil_id", "ys", "sex", "birth_year", "birth_month", "weight", "last_ys"]], on=["ys", "sex"])
    c = c[age_at(c["birth_year"], c["birth_month"], c["referral_date"]) == c["age"]]
    return c.drop_duplicates(["slot", "pupil_id"]).reset_index(drop=True)


def _linked_options(slots, cands, excl, att, bp, cut):
    """Options (slot, pupil, end date) for the 7 young people with education data (A18, A19)."""
    a14_end = ts(cut["a14_end"])
    s = slots[(slots["group"] == "a14") & ~slots["active"]]
    c = cands[cands["slot"].isin(s["slot"])].merge(s[["slot", "start_date", "end_cap"]], on="slot")
    k = np.arange(int(bp["support_months"]["min"]), int(bp["support_months"]["max"]) + 1)
    opt = c.loc[c.index.repeat(len(k))].reset_index(drop=True)
    opt["months"] = np.tile(k, len(c)).astype(float)
    opt["end_date"] = add_months(opt["start_date"], opt["months"])
    opt = opt[opt["end_date"] <= opt["end_cap"]].reset_index(drop=True)
    opt["after_end"] = (opt["end_date"] + pd.Timedelta(days=int(bp["after_days"]))).clip(upper=a14_end)
    # still at a school in the census through the year after support (so the "after" data exist)
    opt = opt[opt["last_ys"] >= year_start(opt["after_end"])].reset_index(drop=True)
    opt["oid"] = np.arange(len(opt))
    # exclusions in the windows
    e = opt[["oid", "pupil_id", "start_date", "end_date", "after_end"]].merge(
        excl[["pupil_id", "exclusion_date", "category"]], on="pupil_id")
    before0 = e["start_date"] - pd.Timedelta(days=int(bp["before_days"]))
    in_bd = (e["exclusion_date"] >= before0) & (e["exclusion_date"] <= e["end_date"])
    in_after = (e["exclusion_date"] > e["end_date"]) & (e["exclusion_date"] <= e["after_end"])
    perm = e["category"] == "permanent"
    agg = pd.DataFrame({"oid": e["oid"], "sus": in_bd & ~perm, "after": in_after,
                        "perm": perm & (in_bd | in_after)}).groupby("oid").sum()
    for col in ("sus", "after", "perm"):
        opt[col] = opt["oid"].map(agg[col]).fillna(0).astype(int).to_numpy()
    opt = opt[(opt["after"] == 0) & (opt["perm"] == 0)].reset_index(drop=True)
    # attendance in the term of referral and the term support ended
    a = att[["pupil_id", "academic_year", "term", "possible_sessions", "attended_sessions"]]
    for when, col in (("ref", "referral_date"), ("end", "end_date")):
        key = pd.DataFrame({"pupil_id": opt["pupil_id"], "academic_year": calendar.academic_year(opt[col]).to_numpy(),
                            "term": calendar.term(opt[col]).to_numpy()})
        m = key.merge(a, on=["pupil_id", "academic_year", "term"], how="left")
        opt[f"poss_{when}"] = m["possible_sessions"].to_numpy()
        opt[f"att_{when}"] = m["attended_sessions"].to_numpy()
    opt = opt[(opt["poss_ref"] > 0) & (opt["poss_end"] > 0)].reset_index(drop=True)
    return opt


def _choose_linked(ctx, slots, opt, bp):
    """Pick 7 options (5 with suspensions summing to 18, 2 with none) for A18/A19 by seeded search."""
    rng = ctx.rng("bot linked search")
    n_link, n_exc = int(bp["linked"]), int(bp["linked_excluded"])
    target_sus = int(bp["linked_suspensions"])
    t_ref, t_end = float(bp["attendance_at_referral"]), float(bp["attendance_at_end"])
    exc = opt[opt["sus"] >= 1]
    cln = opt[opt["sus"] == 0]
    exc_slots = exc["slot"].unique()
    cln_slots = cln["slot"].unique()
    if len(exc_slots) < n_exc or len(cln_slots) < n_link - n_exc:
        raise ValueError("rrlib.synth.targeted: not enough looked-after pupils whose records fit A19 "
                         f"({len(exc_slots)} slots with suspensions, {len(cln_slots)} without); "
                         "use a larger scale")
    codes = {p_: i for i, p_ in enumerate(sorted(opt["pupil_id"].unique()))}
    best = None
    restarts = int(bp.get("linked_search_restarts", 200))
    if ctx.scale >= 1:  # the shipped folder: search longer for A18's rounding (smaller scales: tests, draws)
        restarts = int(bp.get("linked_search_restarts_full_scale", restarts))
    for attempt in range(restarts):
        es = rng.choice(exc_slots, size=n_exc, replace=False)
        rest = np.setdiff1d(cln_slots, es)
        if len(rest) < n_link - n_exc:
            continue
        cs = rng.choice(rest, size=n_link - n_exc, replace=False)
        groups = [exc[exc["slot"] == s_].reset_index(drop=True) for s_ in es] + \
                 [cln[cln["slot"] == s_].reset_index(drop=True) for s_ in cs]
        arr = [{"pid": g["pupil_id"].map(codes).to_numpy(),
                "sus": g["sus"].to_numpy(float) * (j < n_exc),
                "ar": g["att_ref"].to_numpy(float), "pr": g["poss_ref"].to_numpy(float),
                "ae": g["att_end"].to_numpy(float), "pe": g["poss_end"].to_numpy(float)}
               for j, g in enumerate(groups)]
        pick = [int(rng.integers(len(g))) for g in groups]

        def losses(j, pick):
            """Loss of every option of slot j, the other slots' choices fixed (vectorised)."""
            others = [k for k in range(len(arr)) if k != j]
            tot = {c: sum(arr[k][c][pick[k]] for k in others) for c in ("sus", "ar", "pr", "ae", "pe")}
            a_ = arr[j]
            dup = np.isin(a_["pid"], [arr[k]["pid"][pick[k]] for k in others])
            sus = tot["sus"] + a_["sus"]
            ref = 100 * (tot["ar"] + a_["ar"]) / (tot["pr"] + a_["pr"])
            end = 100 * (tot["ae"] + a_["ae"]) / (tot["pe"] + a_["pe"])
            loss = 50 * np.abs(sus - target_sus) + (ref - t_ref) ** 2 + (end - t_end) ** 2
            return np.where(dup, np.inf, loss)  # one young person cannot fill two referrals

        cur = np.inf
        for _ in range(6):  # coordinate descent over the seven choices
            improved = False
            for j in rng.permutation(len(arr)):
                L = losses(j, pick)
                i = int(np.argmin(L))
                if L[i] < cur - 1e-12:
                    cur, pick[j], improved = float(L[i]), i, True
            if not improved:
                break
        pids = [arr[k]["pid"][pick[k]] for k in range(len(arr))]
        if len(set(pids)) < len(pids):
            cur = np.inf
        if best is None or cur < best[0]:
            best = (cur, [g.iloc[i] for g, i in zip(groups, pick)])
        if cur < 0.0016:
            break
    if best is None or not np.isfinite(best[0]):
        raise ValueError("rrlib.synth.targeted: could not choose 7 distinct looked-after pupils for A18/A19; "
                         "use a larger scale")
    chosen = pd.DataFrame(best[1]).reset_index(drop=True)
    chosen["excluded_type"] = np.arange(len(chosen)) < n_exc
    return chosen


def _back_on_track(ctx, py, excl, att, bp, cut):
    slots = _bot_slots(ctx, bp, cut)
    cands = _bot_candidates(slots, py)
    opt = _linked_options(slots, cands, excl, att, bp, cut)
    linked = _choose_linked(ctx, slots, opt, bp)
    rng = ctx.rng("bot pupils")
    slots["pupil_id"] = None
    slots["end_date"] = pd.NaT
    slots["consent"] = False
    slots["linked"] = False
    for _, r in linked.iterrows():
        i = slots.index[slots["slot"] == r["slot"]][0]
        slots.loc[i, ["pupil_id", "consent", "linked"]] = [r["pupil_id"], True, True]
        slots.loc[i, "end_date"] = r["end_date"]
    used = set(linked["pupil_id"])
    for i in slots.index[slots["pupil_id"].isna()]:
        c = cands[(cands["slot"] == slots.at[i, "slot"]) & ~cands["pupil_id"].isin(used)]
        if len(c) == 0:  # small scales: widen the age by one year, then drop the sex
            s = slots.loc[i]
            lac = py[py["looked_after"].astype(bool) & (py["ys"] == s["ys"]) & ~py["pupil_id"].isin(used)]
            age = age_at(lac["birth_year"], lac["birth_month"], [s["referral_date"]] * len(lac))
            c = lac[(np.abs(age - s["age"]) <= 1) & (lac["sex"] == s["sex"])]
            if len(c) == 0:
                c = lac[(age >= 10) & (age <= 15)]
            if len(c) == 0:
                raise ValueError("rrlib.synth.targeted: no looked-after pupil left for a Back on Track "
                                 "referral; use a larger scale")
        j = _weighted_pick(rng, c["weight"].to_numpy(), 1)[0]
        slots.at[i, "pupil_id"] = c["pupil_id"].iloc[j]
        used.add(c["pupil_id"].iloc[j])
    # lengths of support for the others: B08 mean and SD within each episode's feasible range
    sm = bp["support_months"]
    start = pd.DatetimeIndex(slots["start_date"])
    cap = np.minimum(sm["max"], months_between(start, slots["end_cap"]))
    lo = np.full(len(slots), float(sm["min"]))
    act = slots["active"].to_numpy() & (slots["group"] == "a14").to_numpy()
    lo = np.where(act, np.maximum(lo, months_between(start, [ts(cut["active_window"][0])] * len(slots)) + 0.5), lo)
    hi = np.maximum(cap, lo)
    linked_m = months_between(start, slots["end_date"].fillna(start.to_series().reset_index(drop=True)))
    fixed = slots["linked"].to_numpy().copy()
    x0 = np.where(fixed, linked_m, lo + rng.random(len(slots)) * (hi - lo))
    # B08's range "4 months to 2.5 years": one episode at each end
    for value, ok in ((float(sm["max"]), hi >= float(sm["max"])), (float(sm["min"]), lo <= float(sm["min"]))):
        cand = np.flatnonzero(ok & ~fixed)
        if len(cand):
            i = int(rng.choice(cand))
            x0[i], linked_m[i], fixed[i] = value, value, True
    months = solve_mean_sd(x0, np.where(fixed, linked_m, lo), np.where(fixed, linked_m, hi),
                           float(sm["mean"]), float(sm["sd"]), fixed=fixed)
    ends = add_months(start, months)
    slots["end_date"] = np.where(slots["linked"].to_numpy(), slots["end_date"], ends)
    slots["end_date"] = pd.DatetimeIndex(slots["end_date"])
    n = len(slots)
    reasons = rng.choice(["completed", "moved_away", "disengaged", "stepped_up"], size=n, p=[0.75, 0.1, 0.1, 0.05])
    slots["end_reason"] = np.where(slots["linked"], "completed", reasons)
    slots["programme"] = "back_on_track"
    return slots


# --------------------------------------------------------------------------- other programmes

def _other_episodes(ctx, py, excl, op, cut, exclude_pupils, bot_start=None):
    """Resilience Coach 1:1 and group, Walk and Talk: referrals per school year (scaled), B03, A07."""
    rng = ctx.rng("other episodes")
    age_lo, age_hi = op["ages"]
    frames = []
    rc_people: set = set()
    for prog, per_year in op["referrals"].items():
        # Resilience Coach 1:1 and group draw distinct young people together (B03 counts them together)
        chosen_people: set = rc_people if prog in RESILIENCE_COACH_PROGRAMMES else set()
        for ay, k in per_year.items():
            y = int(ay[:4])
            k = ctx.n(k)
            lo = max(ts(f"{y}-09-01"), ts(cut["cohort_start"]))
            hi = ts(f"{y + 1}-07-20")
            ref = uniform_dates(rng, lo, hi, k)
            pool = py[(py["ys"] == y) & ~py["pupil_id"].isin(chosen_people)]
            age = y + 1 - pool["birth_year"].to_numpy() - (pool["birth_month"].to_numpy() >= 9)  # age at 31 Aug
            pool = pool[(age >= age_lo + 1) & (age <= age_hi)]
            idx = _weighted_pick(rng, pool["weight"].to_numpy(), k)
            people = pool["pupil_id"].to_numpy()[idx]
            chosen_people.update(people)
            frames.append(pd.DataFrame({"person_id": people, "programme": prog,
                                        "referral_date": ref[:len(people)], "ys": y}))
    ep = pd.concat(frames, ignore_index=True)
    n = len(ep)
    gap = rng.gamma(2.0, 10.0, size=n).round().astype(int) + 3
    start = pd.DatetimeIndex(ep["referral_date"] + pd.to_timedelta(gap, unit="D"))
    never = (rng.random(n) < float(op["never_started"])) | np.asarray(start > ts(cut["data_end"]))
    med = ep["programme"].map({p: v[0] for p, v in op["months"].items()}).to_numpy(float)
    sig = ep["programme"].map({p: v[1] for p, v in op["months"].items()}).to_numpy(float)
    months = np.clip(med * np.exp(sig * rng.standard_normal(n)), 0.5, 24.0)
    end = add_months(start, months)
    ongoing = end > ts(cut["data_end"])
    ep["start_date"] = start
    ep.loc[never, "start_date"] = pd.NaT
    ep["end_date"] = end
    ep.loc[never | ongoing, "end_date"] = pd.NaT
    er = op["end_reasons"]
    ep["end_reason"] = rng.choice(list(er), size=n, p=np.array(list(er.values())) / sum(er.values()))
    ep.loc[ep["end_date"].isna(), "end_reason"] = None
    ep["consent"] = rng.random(n) < float(op["consent"])
    # A07: permanent exclusion on or after the start for round(0.5% of people)
    return _fix_permanent(ctx, ep, py, excl, op, exclude_pupils, bot_start)


def _fix_permanent(ctx, ep, py, excl, op, exclude_pupils, bot_start=None):
    """Re-draw people so that round(share x people) are permanently excluded after starting (A07).

    "After starting": on or after the start date of the person's first started episode; people
    whose support never started are not counted (as :mod:`rrlib.chapters.exclusions` does). Back on Track young
    people (``exclude_pupils``) count in the denominator; none of them is permanently excluded after starting
    (checked by the tests).
    """
    rng = ctx.rng("A07 permanent")
    perm = excl[excl["category"] == "permanent"].groupby("pupil_id")["exclusion_date"].max()
    ep = ep.copy()
    age_lo, age_hi = op["ages"]
    from_ = ep["start_date"]  # never-started referrals do not count (as the exclusions chapter's A07)

    def flagged_people():
        f = ep.assign(_from=from_).groupby("person_id")["_from"].min()
        if bot_start is not None and len(bot_start):
            f = pd.concat([f, bot_start]).groupby(level=0).min()
        last_perm = f.index.map(perm)
        return set(f.index[last_perm.notna() & (last_perm >= f.to_numpy())])

    def pool_for(i, taken):
        y = ep.at[i, "ys"]
        pool = py[(py["ys"] == y) & ~py["pupil_id"].isin(taken)]
        age = y + 1 - pool["birth_year"].to_numpy() - (pool["birth_month"].to_numpy() >= 9)
        return pool[(age >= age_lo + 1) & (age <= age_hi)]

    people = len(set(ep.loc[ep["start_date"].notna(), "person_id"]) | set(exclude_pupils))
    k = int(round(float(op["permanent_after_start_share"]) * people))
    flagged = flagged_people()
    taken = set(ep["person_id"]) | set(exclude_pupils)
    if len(flagged) > k:
        movable = np.array(sorted(flagged - set(exclude_pupils)), dtype=object)
        drop = set(rng.permutation(movable)[: len(flagged) - k])
        for i in ep.index[ep["person_id"].isin(drop)]:
            pool = pool_for(i, taken)
            pool = pool[~pool["pupil_id"].isin(perm.index)]
            j = _weighted_pick(rng, pool["weight"].to_numpy(), 1)[0]
            ep.at[i, "person_id"] = pool["pupil_id"].iloc[j]
            taken.add(pool["pupil_id"].iloc[j])
    elif len(flagged) < k:
        # swap in pupils permanently excluded after the episode's start (same school year and ages)
        single = ep.groupby("person_id")["person_id"].transform("size") == 1
        cand_rows = ep.index[single & ~ep["person_id"].isin(flagged)]
        for i in rng.permutation(cand_rows):
            if len(flagged) >= k:
                break
            pool = pool_for(i, taken)
            if pd.isna(from_.at[i]):
                continue
            pool = pool[pool["pupil_id"].map(perm) >= from_.at[i]]
            if len(pool) == 0:
                continue
            j = _weighted_pick(rng, pool["weight"].to_numpy(), 1)[0]
            ep.at[i, "person_id"] = pool["pupil_id"].iloc[j]
            taken.add(pool["pupil_id"].iloc[j])
            flagged.add(pool["pupil_id"].iloc[j])
    return ep.reset_index(drop=True)


# --------------------------------------------------------------------------- SDQ

def _spread(rng, totals, n_items=5, cap=2):
    """Item values (n, n_items) in 0..cap summing to ``totals`` (random allocation of slots)."""
    totals = np.asarray(totals, int)
    keys = rng.random((len(totals), n_items * cap))
    rank = np.argsort(np.argsort(keys, axis=1), axis=1)
    chosen = rank < totals[:, None]
    return chosen.reshape(len(totals), n_items, cap).sum(axis=2)


def _items_from_scores(rng, scores: pd.DataFrame, impact, ebddiff) -> pd.DataFrame:
    """Raw SDQ answers (official order, before reverse scoring) whose official scores are ``scores``."""
    n = len(scores)
    out = np.zeros((n, 25), float)
    for name, nums in SCALE_ITEMS.items():
        vals = _spread(rng, scores[name].to_numpy())
        for j, k in enumerate(nums):
            out[:, k - 1] = 2 - vals[:, j] if k in REVERSED else vals[:, j]
    df = pd.DataFrame(out, columns=SDQ_ITEMS)
    imp = np.asarray(impact, float)
    ebd = np.asarray(ebddiff, float)
    rec = _spread(rng, np.nan_to_num(imp).astype(int))           # recoded 0/1/2
    low = rng.integers(0, 2, size=rec.shape)                      # recoded 0 = answer 0 or 1
    raw = np.where(rec > 0, rec + 1, low).astype(float)
    raw[ebd == 0] = np.nan                                        # no difficulties: not asked
    df["sdq_ebddiff"] = ebd
    for j, c in enumerate(SDQ_IMPACT[1:]):
        df[c] = raw[:, j]
    return df


def _blank_some(rng, items: pd.DataFrame, share: float) -> pd.DataFrame:
    """Leave one item unanswered in a share of questionnaires where prorating keeps every score."""

    before = sdq.score(items)
    trial = items.copy()
    rows = np.flatnonzero(rng.random(len(items)) < share)
    cols = rng.integers(0, 25, size=len(rows))
    vals = trial.to_numpy(copy=True)
    vals[rows, cols] = np.nan
    trial = pd.DataFrame(vals, columns=items.columns, index=items.index)
    after = sdq.score(trial)
    same = (before.fillna(-1) == after.fillna(-1)).all(axis=1).to_numpy()
    keep = np.where(same[:, None], trial.to_numpy(), items.to_numpy())
    return pd.DataFrame(keep, columns=items.columns, index=items.index)


def _model_scores(rng, n, severity, shift=0.0):
    """Scale scores from a latent severity (assumption: binomial scales around cohort means)."""
    base = {"emotion": 3.5, "conduct": 3.2, "hyper": 5.2, "peer": 2.8, "prosoc": 7.0}
    out = {}
    for k, m in base.items():
        p = np.clip((m + (0 if k == "prosoc" else shift * m / 14.7)) / 10 + (0.08 * severity if k != "prosoc"
                    else -0.05 * severity), 0.02, 0.98)
        out[k] = rng.binomial(10, p)
    df = pd.DataFrame(out)
    tot = df[list(SCALES)].sum(axis=1)
    imp = np.clip(np.round((tot - 8) / 3 + rng.normal(0, 1.2, n)), 0, 10)
    ebd = np.where(imp > 0, rng.integers(1, 4, n), rng.integers(0, 2, n))
    return df, imp, ebd


def _pick_draw(ok, score):
    """Index of the accepted draw with the smallest score (or of the smallest score overall)."""
    score = np.where(ok, score, np.inf)
    return int(np.argmin(score)), bool(ok.any())


def _repair_split(rng, X, thr, want, max_steps=60):
    """Move points between the scales of one young person (totals kept, 0-10) until the number of
    young people at or above each scale's threshold equals ``want`` (greedy, seeded)."""
    X = X.copy()
    n, m = X.shape
    cand = np.array([(i, a, b, d) for i in range(n) for a in range(m) for b in range(m) if a != b
                     for d in range(1, 5)])
    for _ in range(max_steps):
        viol = np.abs((X >= thr).sum(0) - want).sum()
        if viol == 0:
            break
        i, a, b, d = cand.T
        ok = (X[i, a] - d >= 0) & (X[i, b] + d <= 10)
        Y = np.repeat(X[None], len(cand), axis=0)
        Y[np.arange(len(cand)), i, a] -= d
        Y[np.arange(len(cand)), i, b] += d
        v = np.abs((Y >= thr).sum(1) - want).sum(1) + 0.01 * d + 0.001 * rng.random(len(cand))
        v = np.where(ok, v, np.inf)
        j = int(np.argmin(v))
        if v[j] >= viol:
            break
        X = Y[j]
    return X


def _solve_a15(ctx, sp, draws=20000):
    """Scale scores for the 13 A15 pairs meeting the published band counts and changes.

    Seeded, vectorised rejection sampling in three steps: (1) total difficulties before/after
    (7 and 3 in the high band, 9 decreased, mean relative fall among them ~14%); (2) the split
    of each total into the four scales with person-level profiles (band counts per scale before
    and after); (3) impact before/after for the 12 pairs with impact at both times (6 and 2 in the
    high band, 6 reduced by ~54% on average). Returns (before, after) frames of the five scales
    and the impact arrays (the last pair's end impact missing).
    """
    rng = ctx.rng("A15 search")
    n, K = int(sp["n_pairs"]), int(draws)
    hb, ha = sp["high_before"], sp["high_after"]
    n_dec, p_dec = int(sp["total_decreased"]), float(sp["total_pct_reduction"])
    # (1) totals: n_high start in the high band (18-26), the rest 8-17
    nh = int(hb["total"])
    t0 = np.concatenate([rng.integers(18, 25, (K, nh)), rng.integers(8, 18, (K, n - nh))], axis=1)
    dec = np.zeros((K, n), bool)
    dec[np.arange(K)[:, None], np.argsort(rng.random((K, n)), axis=1)[:, :n_dec]] = True
    u = np.clip(rng.normal(p_dec / 100, 0.07, (K, n)), 0.03, 0.45)
    drop = np.maximum(np.round(t0 * u), 1)
    up = rng.integers(0, 3, (K, n))
    t1 = np.where(dec, t0 - drop, t0 + up)
    pct = 100 * np.where(dec, (t0 - t1) / t0, 0).sum(1) / n_dec
    ok = ((t1 >= 18).sum(1) == int(ha["total"])) & (t1 >= 0).all(1)
    k, _ = _pick_draw(ok, np.abs(pct - p_dec) + 0.001 * rng.random(K))
    T = np.stack([t0[k], t1[k]], axis=1)  # n, 2
    # (2) split into scales: person profiles (Dirichlet), multinomial per time, capped at 10
    thr = np.array([HIGH_FROM[s_] for s_ in SCALES])
    want = {0: np.array([hb[s_] for s_ in SCALES]), 1: np.array([ha[s_] for s_ in SCALES])}
    S = np.zeros((n, 2, 4), int)
    prof = rng.dirichlet(np.array([2.4, 2.2, 3.5, 1.9]) * 4, size=n)
    K2 = max(K // 5, 200)
    for t in (0, 1):
        draws_ = np.stack([rng.multinomial(T[i, t], prof[i], size=K2) for i in range(n)], axis=1)  # K,n,4
        valid = (draws_ <= 10).all(axis=(1, 2))
        viol = np.abs((draws_ >= thr).sum(1) - want[t]).sum(1)
        order = np.argsort(np.where(valid, viol, 999) + 0.001 * rng.random(K2), kind="mergesort")
        for k in order[:50]:
            X = _repair_split(rng, draws_[k], thr, want[t])
            if np.abs((X >= thr).sum(0) - want[t]).sum() == 0:
                break
        S[:, t] = X
    # (3) impact: the highest-difficulty young people are most likely to report impact
    ni = int(sp["impact_pairs"])
    n_red, p_red = int(sp["impact_reduced"]), float(sp["impact_pct_reduction"])
    w = np.exp((T[:ni, 0] - T[:ni, 0].mean()) / 3)
    hi_idx = np.stack([_weighted_pick(rng, w, int(hb["impact"])) for _ in range(200)])
    i0 = np.zeros((K, ni), int)
    i0 += rng.integers(0, 2, (K, ni))
    sel = hi_idx[rng.integers(0, 200, K)]
    high = np.zeros((K, ni), bool)
    high[np.arange(K)[:, None], sel] = True
    i0 = np.where(high, rng.integers(2, 8, (K, ni)), i0)
    red = high  # the young people whose impact fell are those who reported high impact before
    u = np.clip(rng.normal(p_red / 100, 0.2, (K, ni)), 0.1, 1.0)
    i1 = np.where(red, np.minimum(np.round(i0 * (1 - u)), i0 - 1), i0 + (rng.random((K, ni)) < 0.3) * (i0 == 0))
    pct = 100 * np.where(red, (i0 - i1) / np.maximum(i0, 1), 0).sum(1) / n_red
    ok = (((i1 >= 2).sum(1) == int(ha["impact"])) & (i1 >= 0).all(1) & (red.sum(1) == n_red)
          & ((i1 < i0).sum(1) == n_red))
    k, _ = _pick_draw(ok, np.abs(pct - p_red) + 0.001 * rng.random(K))
    ib = np.concatenate([i0[k], rng.integers(0, 3, n - ni)]).astype(float)
    ia = np.concatenate([i1[k], np.full(n - ni, np.nan)]).astype(float)
    prosoc = np.clip(rng.binomial(10, 0.68, n), 0, 10)
    before = pd.DataFrame(S[:, 0], columns=list(SCALES))
    before["prosoc"] = prosoc
    after = pd.DataFrame(S[:, 1], columns=list(SCALES))
    after["prosoc"] = np.clip(prosoc + rng.integers(0, 2, n), 0, 10)
    return before, after, ib, ia


def _sdq_tables(ctx, bot, others, p):
    """sdq_targeted rows: Back on Track (A15 pairs and others) and Resilience Coach 1:1."""
    rng = ctx.rng("sdq")
    bp, sp, op, cut = p["back_on_track"], p["sdq_a15"], p["other_programmes"], p["cutoffs"]
    a14_end = ts(cut["a14_end"])
    a14 = bot[(bot["group"] == "a14")]
    ended = a14[a14["end_date"] <= a14_end]
    ended = ended[(ended["end_date"] - ended["start_date"]).dt.days >= 90]
    order = rng.permutation(len(ended))
    pairs = ended.iloc[order[: int(sp["n_pairs"])]]
    rest = a14[~a14["episode_id"].isin(pairs["episode_id"])]
    start_only = rest.iloc[rng.permutation(len(rest))[: int(bp["sdq_start_only_a14"])]]
    later = bot[(bot["group"] == "later") & (bot["end_date"] <= ts(cut["data_end"]))]
    later_pairs = later.iloc[rng.permutation(len(later))[: int(bp["sdq_pairs_later"])]]

    before, after, ib, ia = _solve_a15(ctx, sp)
    rows = []

    def add(ep, scores, imp, ebd, tp):
        d = ep["start_date"] + pd.to_timedelta(rng.integers(0, 15, len(ep)), unit="D") if tp == "start" \
            else ep["end_date"] - pd.to_timedelta(rng.integers(0, 15, len(ep)), unit="D")
        items = _items_from_scores(rng, scores.reset_index(drop=True), imp, ebd)
        meta = pd.DataFrame({"person_id": ep["person_id"].to_numpy(), "episode_id": ep["episode_id"].to_numpy(),
                             "assessment_date": pd.DatetimeIndex(d), "timepoint": tp})
        rows.append(pd.concat([meta, items], axis=1))

    def ebd_for(imp):
        imp = np.asarray(imp, float)
        e = np.where(imp > 0, rng.integers(1, 4, len(imp)), rng.integers(0, 2, len(imp))).astype(float)
        return np.where(np.isnan(imp), np.nan, e)

    add(pairs, before, ib, ebd_for(ib), "start")
    add(pairs, after, np.nan_to_num(ia), ebd_for(ia), "end")
    # Back on Track questionnaires outside A15: start-only (A14 window) and later pairs (model)
    for eps, both, shift in ((start_only, False, 0.0), (later_pairs, True, -2.0)):
        if len(eps) == 0:
            continue
        sev = rng.normal(0.5, 0.8, len(eps))
        s, imp, ebd = _model_scores(rng, len(eps), sev)
        add(eps, s, imp, ebd.astype(float), "start")
        if both:
            s2, imp2, ebd2 = _model_scores(rng, len(eps), sev, shift=shift)
            add(eps, s2, imp2, ebd2.astype(float), "end")
    # Resilience Coach 1:1 (scaled): planted mean change of total difficulties
    rc = others[(others["programme"] == "resilience_coach_1to1") & others["start_date"].notna()]
    rc = rc[rc["start_date"] <= ts(cut["data_end"]) - pd.Timedelta(days=15)]
    st = rc[rng.random(len(rc)) < float(op["sdq"]["start_share"])]
    sev = rng.normal(0.0, 0.9, len(st))
    s, imp, ebd = _model_scores(rng, len(st), sev)
    add(st, s, imp, ebd.astype(float), "start")
    en_mask = st["end_date"].notna().to_numpy() & (rng.random(len(st)) < float(op["sdq"]["end_share"]))
    en_mask &= ((st["end_date"] - st["start_date"]).dt.days >= 30).to_numpy()
    en = st[en_mask]
    s2, imp2, ebd2 = _model_scores(rng, len(en), sev[en_mask], shift=float(op["sdq"]["planted_total_change"]))
    add(en, s2, imp2, ebd2.astype(float), "end")
    sdq_df = pd.concat(rows, ignore_index=True)
    item_cols = SDQ_ITEMS + SDQ_IMPACT
    sdq_df[item_cols] = _blank_some(rng, sdq_df[item_cols].astype(float), 0.04).to_numpy()
    for c in item_cols:
        sdq_df[c] = pd.array(sdq_df[c].to_numpy(), dtype="Float64").round().astype("Int64")
    sdq_df = sdq_df.sort_values(["assessment_date", "episode_id", "timepoint"], kind="mergesort")
    sdq_df.insert(0, "assessment_id", [f"SDQ{i:06d}" for i in range(1, len(sdq_df) + 1)])
    return sdq_df.reset_index(drop=True)


# --------------------------------------------------------------------------- goals

def _goal_counts(rng, n_people, total, lo=1, hi=5):
    c = np.full(n_people, hi)
    while c.sum() > total:
        i = rng.integers(n_people)
        if c[i] > lo:
            c[i] -= 1
    if n_people >= 2 and total > n_people and (c == lo).sum() == 0 and (c == hi).sum() >= 2:
        # make the published range 1-5 visible: one young person with a single goal
        i = np.flatnonzero(c == hi)[0]
        j = np.flatnonzero(c > lo)[-1]
        d = c[j] - lo
        c[j] = lo
        k = np.flatnonzero((c < hi) & (np.arange(n_people) != j))
        for kk in k:
            add = min(d, hi - c[kk])
            c[kk] += add
            d -= add
            if d == 0:
                break
    return c


def _goals_for(rng, eps, counts, lo_date, hi_date, domains, change_mean, change_sd, prefix_start):
    """Goals and ratings for episodes ``eps`` with ``counts`` goals each, set within [lo_date, hi_date]."""
    rep = eps.loc[eps.index.repeat(counts)].reset_index(drop=True)
    n = len(rep)
    last_ok = pd.DatetimeIndex(rep["end_date"].fillna(ts("2022-08-31")).clip(upper=ts(hi_date)))
    lo = pd.DatetimeIndex(pd.to_datetime(rep["start_date"]).clip(lower=ts(lo_date)))
    span = np.maximum((last_ok - lo).days.to_numpy() - 30, 0)
    off = np.minimum(rng.integers(0, 60, n), span)
    set_date = lo + pd.to_timedelta(off, unit="D")
    end = pd.DatetimeIndex(rep["end_date"].fillna(ts("2022-08-31")).clip(upper=ts("2022-08-31")))
    # the change is drawn (mean change_mean in expectation, not forced on the sample: issue 26's simulation
    # study measures the chapter's estimate of it), then the first rating within what the 0-10 scale
    # allows for that change, so that the scale's limits never clip the change
    change = np.clip(np.round(rng.normal(change_mean, change_sd, n)), -10, 10).astype(int)
    lo = np.maximum(0, -change)
    hi = np.maximum(np.minimum(8, 10 - change), lo)
    first = np.clip(np.round(rng.normal(3.2, 1.6, n)), lo, hi).astype(int)
    goals = pd.DataFrame({"person_id": rep["person_id"].to_numpy(), "episode_id": rep["episode_id"].to_numpy(),
                          "domain": domains, "set_date": set_date})
    # ratings: at setting, then reviews every ~3 months until the end of support (2 to 5 ratings)
    dur = np.maximum((end - set_date).days.to_numpy(), 1)
    k = np.clip(dur // 90 + 1, 2, 5)
    r_rows = []
    for m in range(5):
        has = m < k
        frac = m / np.maximum(k - 1, 1)
        d = set_date + pd.to_timedelta(np.round(frac * dur).astype(int), unit="D")
        val = np.round(first + frac * change + np.where((m > 0) & (m < k - 1), rng.normal(0, 0.8, n), 0))
        val = np.clip(val, 0, 10).astype(int)
        r_rows.append(pd.DataFrame({"gidx": np.arange(n)[has], "rating_date": d[has], "rating": val[has]}))
    ratings = pd.concat(r_rows, ignore_index=True).drop_duplicates(["gidx", "rating_date"], keep="last")
    return goals, ratings


def _goal_tables(ctx, bot, others, p):
    rng = ctx.rng("goals")
    bp, op, cut = p["back_on_track"], p["other_programmes"], p["cutoffs"]
    g0, g1 = ts(cut["goals_window"][0]), ts(cut["goals_window"][1])
    a17 = {d["domain"]: int(d["count"]) for d in p["a17"]}
    weights = np.array([a17[d] for d in DOMAINS], float)
    weights /= weights.sum()
    # Back on Track (A16): 19 young people of the A14 cohort who started in the window
    a14 = bot[(bot["group"] == "a14") & (bot["start_date"] <= g1 - pd.Timedelta(days=60))]
    eps = a14.iloc[np.sort(rng.permutation(len(a14))[: int(bp["goal_people"])])]
    counts = _goal_counts(rng, len(eps), int(bp["goals"]))
    dom_b = rng.choice(list(DOMAINS), size=int(counts.sum()), p=weights)
    gb, rb = _goals_for(rng, eps, counts, g0, g1, dom_b, float(bp["goal_change_mean"]),
                        float(bp["goal_change_sd"]), 0)
    frames_g, frames_r = [gb], [rb]
    # Resilience Coach 1:1 and group (A17): exact domain counts in the window (scaled)
    target = {d: ctx.n(a17[d]) if ctx.scale != 1 else a17[d] for d in DOMAINS}
    bot_counts = pd.Series(dom_b).value_counts()
    need = {d: max(target[d] - int(bot_counts.get(d, 0)), 0) for d in DOMAINS}
    n_rc = sum(need.values())
    rc = others[others["programme"].isin(RESILIENCE_COACH_PROGRAMMES) & others["start_date"].notna()]
    rc_in = rc[(rc["start_date"] >= g0) & (rc["start_date"] <= g1 - pd.Timedelta(days=45))]
    rc_in = rc_in.iloc[rng.permutation(len(rc_in))]
    c = np.clip(rng.poisson(2.2, len(rc_in)) + 1, 1, 5)
    csum = np.cumsum(c)
    keep = csum <= n_rc
    c, rc_in = c[keep], rc_in[keep]
    short = n_rc - c.sum()
    i = 0
    while short > 0 and len(c) > 0:   # top up to the exact number
        j = i % len(c)
        if c[j] < 5:
            c[j] += 1
            short -= 1
        i += 1
        if i > 10 * len(c) + 100:
            break
    dom_rc = rng.permutation(np.repeat(list(DOMAINS), [need[d] for d in DOMAINS]))[: int(c.sum())]
    for prog in ("resilience_coach_1to1", "resilience_coach_group"):
        m = (rc_in["programme"] == prog).to_numpy()
        if not m.any():
            continue
        lo_i = np.concatenate([[0], np.cumsum(c)])[:-1][m]
        doms = np.concatenate([dom_rc[a:a + b] for a, b in zip(lo_i, c[m])]) if m.any() else []
        g, r = _goals_for(rng, rc_in[m], c[m], g0, g1, doms, float(op["goals"]["change_mean"][prog]),
                          float(op["goals"]["change_sd"]), 0)
        frames_g.append(g)
        frames_r.append(r)
    # goals set after the window (assumption), for later Resilience Coach and Back on Track episodes
    later = pd.concat([rc[rc["start_date"] > g1], bot[bot["start_date"] > g1]])
    later = later[later["start_date"] <= ts(cut["data_end"]) - pd.Timedelta(days=60)]
    n_after = ctx.n(int(op["goals"]["goals_after_window"]))
    later = later.iloc[rng.permutation(len(later))]
    c2 = np.clip(rng.poisson(2.0, len(later)) + 1, 1, 5)
    keep = np.cumsum(c2) <= n_after
    if keep.any():
        dom2 = rng.choice(list(DOMAINS), size=int(c2[keep].sum()), p=weights)
        g, r = _goals_for(rng, later[keep], c2[keep], g1 + pd.Timedelta(days=1), ts(cut["data_end"]), dom2,
                          2.5, 2.0, 0)
        frames_g.append(g)
        frames_r.append(r)
    # ids
    goals, ratings = [], []
    offset = 0
    for g, r in zip(frames_g, frames_r):
        r = r.copy()
        r["gidx"] += offset
        offset += len(g)
        goals.append(g)
        ratings.append(r)
    goals = pd.concat(goals, ignore_index=True)
    ratings = pd.concat(ratings, ignore_index=True)
    order = np.lexsort((goals["episode_id"].to_numpy(), goals["set_date"].to_numpy()))
    newid = np.empty(len(goals), dtype=object)
    newid[order] = [f"G{i:06d}" for i in range(1, len(goals) + 1)]
    goals["goal_id"] = newid
    ratings["goal_id"] = newid[ratings["gidx"].to_numpy()]
    goals = goals[["goal_id", "person_id", "episode_id", "domain", "set_date"]]
    ratings = ratings[["goal_id", "rating_date", "rating"]].astype({"rating": "int64"})
    return goals, ratings


# --------------------------------------------------------------------------- entry point

def generate(ctx) -> dict[str, pd.DataFrame]:
    """Targeted tables: interventions, sdq_targeted, goals, goal_ratings (see the module docstring)."""
    p = ctx.params
    cut, bp, op = p["cutoffs"], p["back_on_track"], p["other_programmes"]
    pupils, excl, att = _education(ctx)
    py = _person_years(pupils, excl, op["selection_log_weights"])
    bot = _back_on_track(ctx, py, excl, att, bp, cut)
    bot_start = bot.groupby("pupil_id")["start_date"].min()
    others = _other_episodes(ctx, py, excl, op, cut, exclude_pupils=set(bot["pupil_id"]), bot_start=bot_start)
    bot = bot.rename(columns={"pupil_id": "person_id"})
    cols = ["person_id", "programme", "referral_date", "start_date", "end_date", "end_reason", "consent"]
    allep = pd.concat([bot[cols].assign(_bot=True), others[cols].assign(_bot=False)], ignore_index=True)
    allep = allep.sort_values(["referral_date", "person_id", "programme"], kind="mergesort").reset_index(drop=True)
    allep["episode_id"] = [f"EP{i:06d}" for i in range(1, len(allep) + 1)]
    key = allep.set_index(["person_id", "programme", "referral_date"])["episode_id"]
    bot["episode_id"] = key.reindex(
        pd.MultiIndex.from_frame(bot[["person_id", "programme", "referral_date"]])).to_numpy()
    others = allep[~allep["_bot"]].copy()
    interventions = allep.rename(columns={"consent": "education_data_consent"})[
        ["episode_id", "person_id", "programme", "referral_date", "start_date", "end_date", "end_reason",
         "education_data_consent"]].copy()
    interventions["education_data_consent"] = interventions["education_data_consent"].astype(bool)
    for c in ("referral_date", "start_date", "end_date"):
        interventions[c] = pd.to_datetime(interventions[c])
    sdq_df = _sdq_tables(ctx, bot, others, p)
    goals, ratings = _goal_tables(ctx, bot, others, p)
    return {"interventions": interventions, "sdq_targeted": sdq_df, "goals": goals, "goal_ratings": ratings}
