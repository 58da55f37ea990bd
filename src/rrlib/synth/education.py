"""Synthetic education domain: schools, the January census, exclusions, school attendance, population.

How the town is built (parameters and their published sources in ``params/education.yml``):

1. **Schools** (45 rows, 44 open during the programme): primary, secondary, special and one
   alternative provision school (the pupil referral unit), with opening/closing dates that give
   DfE's school counts (C), relative sizes, and a school effect on exclusion risk.
2. **Census**, year by year 2014/15 to 2021/22. The first year is a full population; each later
   year keeps a chosen number of last year's pupils (they move up one year group, keep their
   school, go from Year 6 to a secondary school, leave after Year 11; permanently excluded pupils
   and some pupils with repeated suspensions go to the pupil referral unit) and adds newcomers
   (Reception intake and in-movers) so that each phase's headcount is exact. Characteristics:
   persistent latent scores (deprivation, SEN, care) plus yearly noise give FSM, SEN and
   looked-after status that persist but change, at the year's rates.
3. **Exclusions**, per year and phase: each pupil has a risk (log-linear in sex, FSM, SEN, SEMH,
   looked after, ethnicity, year group, school effect, persistent pupil frailty). Exactly the
   target number of pupils with one or more suspensions is drawn with probability increasing in
   risk; the remaining suspensions go to them (more to riskier pupils); permanent exclusions are
   drawn among the riskiest, mostly pupils already suspended. So exclusions cluster in pupils,
   in schools and across years, while DfE's totals are met exactly.
4. **Attendance** per pupil, year, term and school: possible sessions from the term calendar
   (joiners and leavers part of a term), absence from a beta-binomial whose mean rises with
   FSM, SEN, exclusion frailty, year group and the year (COVID-19); sessions lost to suspension
   count as absence.
5. **Population**: Blackpool mid-year estimates by single year of age 0-24 and sex, 2014-2022: the
   ONS estimates (MYE2, shipped cut) for mid-2015 to mid-2020, aged backward and forward with births
   and net migration outside them. The published B01 (10,937) is not planted (ONS: 10,501).

Everything is vectorised over pupils; loops run over years, phases and terms only.
"""
from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from .. import public
from ..data.education import ETHNICITY_MINOR, REASON_CODES, reason_codes_of_year
from . import load_params

PHASES = ("primary", "secondary", "special", "alternative_provision")
PRI, SEC, SPE, AP = range(4)
TOTAL_PHASES = (PRI, SEC, SPE)  # DfE's "Total"
TERMS = ("autumn", "spring", "summer")
MINOR = list(ETHNICITY_MINOR)
MAJOR_OF = np.array([ETHNICITY_MINOR[m][0] for m in MINOR])
REASONS = list(REASON_CODES)
SEN_CODES = ("none", "sen_support", "ehc_plan")


# --------------------------------------------------------------------------- helpers

def _wsample(rng: np.random.Generator, weights: np.ndarray, n: int) -> np.ndarray:
    """Indices of ``n`` items drawn without replacement, probability increasing with ``weights``
    (Efraimidis-Spirakis keys), sorted."""
    m = len(weights)
    n = int(min(max(n, 0), m))
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    if n == m:
        return np.arange(m)
    w = np.asarray(weights, dtype=float)
    with np.errstate(divide="ignore"):
        keys = np.where(w > 0, np.log(rng.random(m)) / np.where(w > 0, w, 1.0), -np.inf)
    idx = np.argpartition(-keys, n - 1)[:n]
    return np.sort(idx)


def _allocate(total: int, weights) -> np.ndarray:
    """Split an integer ``total`` in proportion to ``weights`` (largest remainder)."""
    w = np.asarray(weights, dtype=float)
    if total <= 0 or w.sum() <= 0:
        return np.zeros(len(w), dtype=np.int64)
    exact = total * w / w.sum()
    out = np.floor(exact).astype(np.int64)
    rest = total - out.sum()
    if rest > 0:
        out[np.argsort(-(exact - out), kind="stable")[:rest]] += 1
    return out


def _top(score: np.ndarray, n: int) -> np.ndarray:
    """Boolean mask of the ``n`` largest scores."""
    mask = np.zeros(len(score), dtype=bool)
    n = int(min(max(n, 0), len(score)))
    if n:
        mask[np.argpartition(-score, n - 1)[:n]] = True
    return mask


def _cdf_pick(u: np.ndarray, dist: dict) -> np.ndarray:
    """Map uniforms to the keys of ``dist`` (a {code: weight} mapping) by inverse CDF."""
    keys = list(dist)
    p = np.array([dist[k] for k in keys], dtype=float)
    cdf = np.cumsum(p / p.sum())
    return np.array(keys, dtype=object)[np.minimum(np.searchsorted(cdf, u, side="right"), len(keys) - 1)]


def _start(year: str) -> int:
    return int(year[:4])


def _expit(x):
    return 1.0 / (1.0 + np.exp(-x))


# --------------------------------------------------------------------------- calendar

def _calendar(p: dict, year: str):
    """School days of an academic year: (days as datetime64[D], term index, exclusion weight)."""
    cal = p["calendar"]
    y0 = _start(year)
    days, terms = [], []
    for ti, term in enumerate(TERMS):
        spec = cal[term]
        yr = y0 if ti == 0 else y0 + 1
        start = np.datetime64(f"{yr}-{spec['start'][0]:02d}-{spec['start'][1]:02d}")
        end = np.datetime64(f"{yr}-{spec['end'][0]:02d}-{spec['end'][1]:02d}")
        d = np.arange(start, end + 1, dtype="datetime64[D]")
        ht = np.datetime64(f"{yr}-{spec['half_term'][0]:02d}-{spec['half_term'][1]:02d}")
        keep = np.is_busday(d) & ~((d >= ht) & (d < ht + 5))
        days.append(d[keep])
        terms.append(np.full(keep.sum(), ti))
    days = np.concatenate(days)
    term = np.concatenate(terms)
    w = np.array([p["exclusions"]["term_weight"][t] for t in TERMS])[term]
    for a, b in cal["closures"]:
        w = np.where((days >= np.datetime64(a)) & (days <= np.datetime64(b)),
                     w * p["exclusions"]["closure_weight"], w)
    return days, term, w


# --------------------------------------------------------------------------- schools

def _schools(ctx):
    p = ctx.params
    sp = p["schools"]
    rng = ctx.rng("schools")
    rows = []
    for ph, name in enumerate(PHASES):
        spec = sp[name]
        n0 = spec.get("initial", 0)
        entries = [("2000-09-01", None)] * n0
        for date, k in (spec.get("opening") or {}).items():
            entries += [(date, None)] * k
        closing = list((spec.get("closing") or {}).items())
        for i, (open_date, _) in enumerate(entries):
            rows.append({"phase": ph, "open_date": open_date, "close_date": None, "order": i})
        # the first schools of the phase close when listed (the oldest)
        n_close = sum(k for _, k in closing)
        close_dates = [d for d, k in closing for _ in range(k)]
        for j in range(n_close):
            rows[len(rows) - len(entries) + n0 - 1 - j]["close_date"] = close_dates[j]
    df = pd.DataFrame(rows)
    n = len(df)
    ids = rng.permutation(n) + 1
    df["school_id"] = [f"S{i:03d}" for i in ids]
    labels = {PRI: "Primary", SEC: "Secondary", SPE: "Special", AP: "Alternative Provision"}
    df["school_name"] = [f"Synthetic {labels[ph]} {o + 1:02d}" for ph, o in zip(df["phase"], df["order"])]
    sigma = np.array([sp["size_sigma"][PHASES[ph]] for ph in df["phase"]])
    df["size"] = np.exp(rng.normal(0, 1, n) * sigma)
    rsd = p["exclusions"]["risk"]["school_sd"]
    df["effect"] = rng.normal(0, 1, n) * np.array([rsd[PHASES[ph]] for ph in df["phase"]])
    df["open_date"] = pd.to_datetime(df["open_date"])
    df["close_date"] = pd.to_datetime(df["close_date"])
    return df


def _open_in(schools: pd.DataFrame, census_day: str) -> np.ndarray:
    d = pd.Timestamp(census_day)
    return ((schools["open_date"] <= d) & (schools["close_date"].isna() | (schools["close_date"] > d))).to_numpy()


def _school_weights(schools: pd.DataFrame, p: dict, census_day: str) -> np.ndarray:
    """Relative intake weight of every school at a census (0 if closed); new schools grow."""
    d = pd.Timestamp(census_day)
    years_open = ((d - schools["open_date"]).dt.days / 365.25).to_numpy()
    new = (schools["open_date"] > pd.Timestamp("2010-01-01")).to_numpy()
    ramp = np.where(new, np.minimum(1.0, p["schools"]["new_school_size"] + 0.2 * np.floor(years_open)), 1.0)
    return np.where(_open_in(schools, census_day), schools["size"].to_numpy() * ramp, 0.0)


# --------------------------------------------------------------------------- pupils

class _Pupils:
    """Persistent attributes of every young person ever on roll (internal index k)."""

    FIELDS = ("male", "birth_month", "cohort", "eth", "dep", "sen", "lac", "need_u", "frail",
              "absence", "reason_u", "newcomer_year")

    def __init__(self):
        self.a = {f: np.zeros(0) for f in self.FIELDS}
        self.n = 0

    def add(self, rng, p, grade: np.ndarray, year_start: int, year_index: int, newcomer: bool) -> np.ndarray:
        n = len(grade)
        pp = p["pupils"]
        eth_p = np.array([pp["ethnicity"][m] for m in MINOR], dtype=float)
        if newcomer:
            eth_p = np.where(np.array(MINOR) == "WBRI", eth_p, eth_p * pp["newcomer_diversity"])
        eth = rng.choice(len(MINOR), size=n, p=eth_p / eth_p.sum())
        male = rng.random(n) < pp["male"]
        dep = rng.normal(0, 1, n) + np.where(np.array(MINOR)[eth] == "MWBC", pp["mwbc_deprivation"], 0.0)
        rc = pp["sen_deprivation_corr"]
        sen = rc * dep + np.sqrt(1 - rc ** 2) * rng.normal(0, 1, n) + pp["sen_male_shift"] * male
        lc = pp["looked_after_deprivation_corr"]
        lac = lc * dep + np.sqrt(1 - lc ** 2) * rng.normal(0, 1, n)
        risk = p["exclusions"]["risk"]
        frail = rng.normal(0, risk["pupil_sd"], n)
        att = p["attendance"]
        z = frail / max(risk["pupil_sd"], 1e-9)
        absence = att["pupil_sd"] * (0.4 * z + np.sqrt(1 - 0.16) * rng.normal(0, 1, n))
        vals = {
            "male": male.astype(float),
            "birth_month": rng.integers(1, 13, n).astype(float),
            "cohort": (year_start - grade).astype(float),  # academic year (start) of Reception
            "eth": eth.astype(float), "dep": dep, "sen": sen, "lac": lac,
            "need_u": rng.random(n), "frail": frail, "absence": absence,
            "reason_u": rng.random(n),
            "newcomer_year": np.full(n, float(year_index if newcomer else -1)),
        }
        for f in self.FIELDS:
            self.a[f] = np.concatenate([self.a[f], vals[f]])
        k = np.arange(self.n, self.n + n)
        self.n += n
        return k


def _grades(rng, n: int, weights) -> np.ndarray:
    w = np.asarray(weights, dtype=float)
    return rng.choice(len(w), size=n, p=w / w.sum()) if n else np.zeros(0, dtype=np.int64)


def _assign_school(rng, schools, weights: np.ndarray, phase: int, n: int) -> np.ndarray:
    w = np.where(schools["phase"].to_numpy() == phase, weights, 0.0)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    return rng.choice(len(w), size=n, p=w / w.sum())


def _phase_targets(p, year, scale):
    hc = p["headcount"]
    return np.array([int(round(hc[ph][year] * scale)) for ph in PHASES])


def _initial(ctx, pupils: _Pupils, schools, year: str):
    p = ctx.params
    rng = ctx.rng("census 0")
    tg = _phase_targets(p, year, ctx.scale)
    y0 = _start(year)
    grade = np.concatenate([
        np.repeat(np.arange(7), _allocate(tg[PRI], [1.02, 1.02, 1.01, 1.0, 0.99, 0.98, 0.98])),
        np.repeat(np.arange(7, 12), _allocate(tg[SEC], [1.0] * 5)),
        np.repeat(np.arange(12), _allocate(tg[SPE], p["special_year_profile"])),
        np.repeat(np.arange(12), _allocate(tg[AP], p["ap_year_profile"])),
    ])
    phase = np.repeat(np.arange(4), tg)
    k = pupils.add(rng, p, grade, y0, 0, newcomer=False)
    w = _school_weights(schools, p, p["calendar"]["census_day"][year])
    school = np.zeros(len(k), dtype=np.int64)
    for ph in range(4):
        m = phase == ph
        school[m] = _assign_school(rng, schools, w, ph, int(m.sum()))
    return {"k": k, "grade": grade, "phase": phase, "school": school}


def _transition(ctx, pupils: _Pupils, schools, prev: dict, yi: int, year: str, n_prev_all: int):
    """Next January's census from last January's (exact headcount per phase)."""
    p = ctx.params
    cont = p["continuation"]
    rng = ctx.rng(f"census {yi}")
    tg = _phase_targets(p, year, ctx.scale)
    y0 = _start(year)
    census_day = p["calendar"]["census_day"][year]
    k, g, ph, sc = prev["k"], prev["grade"], prev["phase"], prev["school"]
    perm, nsusp = prev["perm"], prev["n_susp"]
    alive = g < 11
    mobile = np.exp(-0.25 * prev["fsm"] - 0.30 * prev["lac"])

    # --- pupil referral unit first: its continuing pupils, the permanently excluded, managed moves
    # (a pupil permanently excluded from the pupil referral unit itself leaves the census)
    cand_ap = alive & (((ph == AP) & ~perm) | (perm & (ph != AP)) | ((ph == SEC) & (nsusp >= 2) & (g <= 10)))
    w_ap = np.where(ph == AP, cont["alternative_provision"],
                    np.where(perm, cont["permanently_excluded_to_ap"], cont["managed_move_to_ap"]))
    min_new = np.ceil(cont["min_in_movers"] * tg).astype(int)
    idx_ap = np.flatnonzero(cand_ap)
    st_ap = min(int(round(w_ap[idx_ap].sum())), max(tg[AP] - min_new[AP], 0))
    stay_ap = idx_ap[_wsample(rng, w_ap[idx_ap] * mobile[idx_ap], st_ap)]
    taken = np.zeros(len(k), dtype=bool)
    taken[stay_ap] = True

    # --- the other phases
    free = alive & ~taken & ~perm
    groups = {  # destination phase: (candidate mask, keep probability per candidate)
        PRI: (free & (ph == PRI) & (g < 6), np.full(len(k), cont["primary"])),
        SEC: (free & (((ph == PRI) & (g == 6)) | (ph == SEC)),
              np.where(ph == PRI, cont["primary_to_secondary"], cont["secondary"])),
        SPE: (free & (ph == SPE), np.full(len(k), cont["special"])),
    }
    reception = int(round(p["reception_intake"][year] * ctx.scale))
    floor_new = {PRI: reception + min_new[PRI], SEC: min_new[SEC], SPE: min_new[SPE]}
    elig = {b: int(m.sum()) for b, (m, _) in groups.items()}
    stay_n = {b: min(int(round(pr[m].sum())), max(tg[b] - floor_new[b], 0), elig[b])
              for b, (m, pr) in groups.items()}
    if yi == 1 and cont.get("a13_union"):
        # A13: the union of the January 2015 and 2016 censuses has exactly a13_union pupils
        forced_new = int(round(cont["a13_union"] * ctx.scale)) - n_prev_all
        new_now = sum(tg[b] - stay_n[b] for b in groups) + (tg[AP] - st_ap)
        delta = forced_new - new_now  # > 0: more newcomers, fewer stayers
        bands = list(groups)
        if delta > 0:
            cut = _allocate(delta, [stay_n[b] for b in bands])
            for b, c in zip(bands, cut):
                stay_n[b] -= int(min(c, stay_n[b]))
        elif delta < 0:
            room = [max(0, min(elig[b], tg[b] - (reception if b == PRI else 0)) - stay_n[b]) for b in bands]
            add = _allocate(-delta, room)
            add = np.minimum(add, room)
            for b, c in zip(bands, add):
                stay_n[b] += int(c)
        got = sum(tg[b] - stay_n[b] for b in groups) + (tg[AP] - st_ap)
        if got != forced_new:
            raise ValueError(f"A13 calibration: cannot reach {forced_new} newcomers in {year} (got {got}); "
                             "check continuation and headcount parameters")
    rows = {"k": [], "grade": [], "phase": [], "school": []}
    w_school = _school_weights(schools, p, census_day)
    open_now = _open_in(schools, census_day)
    sch_phase = schools["phase"].to_numpy()

    def keep(idx, phase_to):
        newg = g[idx] + 1
        s = sc[idx].copy()
        change = (sch_phase[s] != phase_to) | ~open_now[s]
        if phase_to == SEC and change.any():
            # a closing secondary's pupils mostly go to the new academy
            closing = (~open_now[s]) & (sch_phase[s] == SEC)
            new_sec = np.flatnonzero((sch_phase == SEC) & open_now & (schools["open_date"] > "2010-01-01").to_numpy())
            if closing.any() and len(new_sec):
                to_new = closing & (rng.random(len(s)) < p["schools"]["closing_to_new"])
                s[to_new] = new_sec[rng.integers(0, len(new_sec), to_new.sum())]
                change &= ~to_new
        s[change] = _assign_school(rng, schools, w_school, phase_to, int(change.sum()))
        rows["k"].append(k[idx])
        rows["grade"].append(newg)
        rows["phase"].append(np.full(len(idx), phase_to))
        rows["school"].append(s)

    keep(stay_ap, AP)
    for b, (m, pr) in groups.items():
        idx = np.flatnonzero(m)
        chosen = idx[_wsample(rng, pr[idx] * mobile[idx], stay_n[b])]
        keep(chosen, b)
    # --- newcomers
    counts = {b: tg[b] - stay_n[b] for b in groups}
    counts[AP] = tg[AP] - len(stay_ap)
    prof = {
        PRI: None,
        SEC: [0, 0, 0, 0, 0, 0, 0, 3.0, 1.0, 1.0, 0.9, 0.6],
        SPE: p["special_year_profile"],
        AP: p["ap_year_profile"],
    }
    for b in (PRI, SEC, SPE, AP):
        n_new = int(counts[b])
        if n_new < 0:
            raise ValueError(f"{year}: more continuing {PHASES[b]} pupils than the headcount")
        if b == PRI:
            r = min(reception, n_new)
            newg = np.concatenate([np.zeros(r, dtype=np.int64),
                                   _grades(rng, n_new - r, [0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.9])])
        else:
            newg = _grades(rng, n_new, prof[b])
        kk = pupils.add(rng, p, newg, y0, yi, newcomer=True)
        rows["k"].append(kk)
        rows["grade"].append(newg)
        rows["phase"].append(np.full(n_new, b))
        rows["school"].append(_assign_school(rng, schools, w_school, b, n_new))
    return {f: np.concatenate(v).astype(np.int64) for f, v in rows.items()}


@functools.lru_cache(maxsize=4)
def official_fsm_shares(area_code: str) -> dict[str, dict[str, float]]:
    """An authority's official shares of pupils eligible for free school meals at each January census, by
    phase of DfE's Total (primary, secondary, special) and for the Total, from the shipped cut
    (:func:`rrlib.public.load_dfe_fsm`): ``{academic_year: {phase: share}}`` (``2015/16`` = January 2016)."""
    d = public.load_dfe_fsm()
    d = d[d["area_code"] == area_code]
    out: dict[str, dict[str, float]] = {}
    for r in d.itertuples(index=False):
        out.setdefault(str(r.academic_year), {})[str(r.school_type)] = float(r.fsm_pupils) / float(r.pupils)
    return out


def fsm_shares(area_code: str, year: str, before: str) -> dict[str, float]:
    """The official FSM shares by phase of ``year``; a year before the cut's first census takes the
    shares of ``before`` (the first census it holds; an assumption the parameters state)."""
    off = official_fsm_shares(area_code)
    if year in off:
        return off[year]
    if year < min(off) and before in off:
        return off[before]
    raise ValueError(f"education params: no official FSM shares for {year} (the shipped cut holds "
                     f"{min(off)} to {max(off)})")


def _characteristics(ctx, pupils: _Pupils, cur: dict, yi: int, year: str):
    """FSM, SEN, need and looked-after status at this census (persistent scores + yearly noise)."""
    p = ctx.params
    pp = p["pupils"]
    rng = ctx.rng(f"characteristics {yi}")
    a = pupils.a
    k, ph = cur["k"], cur["phase"]
    n = len(k)
    fsm_score = a["dep"][k] + pp["fsm_noise"] * rng.normal(0, 1, n)
    # issue 26: each phase of DfE's Total has the town's official FSM share of its census year (the
    # alternative provision school, outside DfE's Total, an assumed share); within a phase the pupils
    # with the highest deprivation scores are on FSM
    shares = fsm_shares(pp["fsm_official_area_code"], year, pp["fsm_share_before_official"])
    fsm = np.zeros(n, dtype=bool)
    for i, name in enumerate(PHASES):
        idx = np.flatnonzero(ph == i)
        rate = shares[name] if i in TOTAL_PHASES else float(pp["fsm_share_alternative_provision"])
        fsm[idx[_top(fsm_score[idx], int(round(rate * len(idx))))]] = True
    sen_score = a["sen"][k] + pp["sen_noise"] * rng.normal(0, 1, n)
    sen = np.zeros(n, dtype=np.int64)
    main = (ph == PRI) | (ph == SEC)
    for mask, ehc_rate, sup_rate in ((main, pp["ehc_rate_mainstream"], pp["sen_support_rate"]),
                                     (ph == AP, pp["sen_ap"]["ehc_plan"], pp["sen_ap"]["sen_support"])):
        idx = np.flatnonzero(mask)
        s = sen_score[idx]
        ehc = _top(s, int(round(ehc_rate * len(idx))))
        sup = _top(np.where(ehc, -np.inf, s), int(round(sup_rate * len(idx))))
        sen[idx[ehc]] = 2
        sen[idx[sup & ~ehc]] = 1
    sen[ph == SPE] = 2
    u = a["need_u"][k]
    need = np.full(n, None, dtype=object)
    need[sen == 1] = _cdf_pick(u[sen == 1], pp["sen_need_support"])
    need[sen == 2] = _cdf_pick(u[sen == 2], pp["sen_need_ehc"])
    lac_score = a["lac"][k] + pp["looked_after_noise"] * rng.normal(0, 1, n)
    lac = _top(lac_score, int(round(pp["looked_after_rate"][year] * n)))
    cur.update(fsm=fsm, sen=sen, need=need, lac=lac)


# --------------------------------------------------------------------------- exclusions

def _risk(ctx, pupils: _Pupils, schools, cur, yi):
    p = ctx.params
    r = p["exclusions"]["risk"]
    a = pupils.a
    k = cur["k"]
    rng = ctx.rng(f"risk {yi}")
    eth = a["eth"][k].astype(int)
    cur["eth"] = eth
    eth_eff = np.zeros(len(MINOR))
    for code, v in r["ethnicity"].items():
        if code in ETHNICITY_MINOR:
            eth_eff[MINOR.index(code)] += v
        else:  # a major group
            eth_eff[MAJOR_OF == code] += v
    lr = (r["male"] * a["male"][k] + r["fsm"] * cur["fsm"] + r["sen_support"] * (cur["sen"] == 1)
          + r["ehc_plan"] * (cur["sen"] == 2) + r["semh"] * (cur["need"] == "SEMH")
          + r["looked_after"] * cur["lac"] + eth_eff[eth] + np.asarray(r["nc_year"])[cur["grade"]]
          + schools["effect"].to_numpy()[cur["school"]] + a["frail"][k]
          + rng.normal(0, r["pupil_year_sd"], len(k)))
    return np.exp(lr)


@functools.lru_cache(maxsize=4)
def official_rates(area_code: str) -> dict[str, dict[str, float]]:
    """An authority's official exclusion rates per 100 pupils on roll (DfE's Total) by school year, from
    the counts of the DfE's 2022/23 release (the shipped cut, :func:`rrlib.public.load_dfe_exclusions_la`):
    ``{year: {"suspension", "one_plus", "permanent"}}``. The synthetic town follows them in every year
    section C does not publish (issue 26: the twin follows official statistics where they exist)."""
    la = public.load_dfe_exclusions_la()
    out = {}
    for r in la[la["area_code"] == area_code].itertuples(index=False):
        h = float(r.headcount)
        out[str(r.year)] = {"suspension": 100 * float(r.fixed_excl) / h, "one_plus": 100 * float(r.one_plus_fixed) / h,
                            "permanent": 100 * float(r.perm_excl) / h}
    return out


def _exclusion_targets(ctx, cur, year: str) -> dict:
    """{phase: (suspensions, pupils with one or more, permanent)} for a year: section C's published
    figures where it has them, else the town's official rates of that year (:func:`official_rates`)
    applied to the synthetic headcount, split by phase with the params' shares."""
    p = ctx.params
    ex = p["exclusions"]
    s = ctx.scale
    out = {}
    if year in ex["published"]:
        for ph in TOTAL_PHASES:
            vals = ex["published"][year][PHASES[ph]]
            out[ph] = tuple(int(round(v * s)) for v in vals)
    else:
        official = official_rates(ex["official_area_code"])
        if year not in official:
            raise ValueError(f"education params: no published (section C) or official (DfE) exclusion figures "
                             f"for {year}")
        o = official[year]
        head = int(np.isin(cur["phase"], TOTAL_PHASES).sum())
        split = _allocate(int(round(o["suspension"] / 100 * head)),
                          [ex["phase_share"][PHASES[ph]] for ph in TOTAL_PHASES])
        perm_total = int(round(o["permanent"] / 100 * head))
        perm_pri = int(round(ex["permanent_primary_share"] * perm_total))
        perms = {PRI: perm_pri, SEC: perm_total - perm_pri, SPE: 0}
        # pupils with one or more: the official total, split by phase in proportion to suspensions / per_pupil
        ups = _allocate(int(round(o["one_plus"] / 100 * head)),
                        [n_s / ex["per_pupil"][PHASES[ph]] for ph, n_s in zip(TOTAL_PHASES, split)])
        for ph, n_s, u in zip(TOTAL_PHASES, split, ups):
            out[ph] = (int(n_s), min(max(1, int(u)), int(n_s)) if n_s else 0, perms[ph])
    apn = int((cur["phase"] == AP).sum())
    apx = ex["alternative_provision"]
    n_s = int(round(apx["rate"] / 100 * apn))
    out[AP] = (n_s, min(n_s, int(round(n_s / apx["per_pupil"]))), int(round(apx["permanent"] * s)))
    return out


def _plant_group(rng, cur, risk, chosen_by_phase, planted):
    """A12: make the one-or-more rate of one ethnic group in DfE's Total exact, by swapping
    selected pupils within a phase (a group member in, the lowest-risk other pupil out)."""
    code = MINOR.index(planted["ethnicity_minor"])
    in_group = cur["eth"] == code
    total = np.isin(cur["phase"], TOTAL_PHASES)
    target = int(round(planted["rate"] * (in_group & total).sum()))
    sel = np.zeros(len(risk), dtype=bool)
    for ph in TOTAL_PHASES:
        sel[chosen_by_phase[ph]] = True
    diff = target - int((sel & in_group & total).sum())
    for _ in range(abs(diff)):
        if diff > 0:  # add the riskiest unselected member, drop the least risky selected non-member
            add = np.flatnonzero(~sel & in_group & total)
            if not len(add):
                break
            a = add[np.argmax(risk[add] * rng.random(len(add)))]
            drop = np.flatnonzero(sel & ~in_group & (cur["phase"] == cur["phase"][a]))
        else:
            add = np.flatnonzero(~sel & ~in_group & total)
            a = add[np.argmax(risk[add] * rng.random(len(add)))]
            drop = np.flatnonzero(sel & in_group & (cur["phase"] == cur["phase"][a]))
        if not len(drop):
            continue
        d = drop[np.argmin(risk[drop])]
        sel[a], sel[d] = True, False
    for ph in TOTAL_PHASES:
        chosen_by_phase[ph] = np.flatnonzero(sel & (cur["phase"] == ph))


def _exclusions(ctx, pupils: _Pupils, schools, cur: dict, yi: int, year: str):
    """Suspensions and permanent exclusions of one year (exact counts per phase)."""
    p = ctx.params
    ex = p["exclusions"]
    rng = ctx.rng(f"exclusions {yi}")
    risk = _risk(ctx, pupils, schools, cur, yi)
    n = len(risk)
    n_susp = np.zeros(n, dtype=np.int64)
    perm = np.zeros(n, dtype=bool)
    targets = _exclusion_targets(ctx, cur, year)
    cap = ex["max_per_pupil"]
    # pupils with one or more suspensions: exactly n_u per phase, probability rising with risk
    chosen_by_phase = {}
    for ph, (n_s, n_u, n_p) in targets.items():
        idx = np.flatnonzero(cur["phase"] == ph)
        chosen_by_phase[ph] = idx[_wsample(rng, risk[idx], min(n_u, len(idx)))]
    planted = ex.get("planted_group_rate") or {}
    if planted.get("year") == year:
        _plant_group(rng, cur, risk, chosen_by_phase, planted)
    for ph, (n_s, n_u, n_p) in targets.items():
        idx = np.flatnonzero(cur["phase"] == ph)
        if len(idx) == 0:
            continue
        chosen = chosen_by_phase[ph]
        n_u = len(chosen)
        counts = np.ones(len(chosen), dtype=np.int64)
        extra = n_s - n_u
        if extra > 0 and len(chosen):
            w = np.sqrt(risk[chosen]) * rng.gamma(ex["risk"]["repeat_shape"], 1.0, len(chosen))
            counts += rng.multinomial(extra, w / w.sum())
            for _ in range(20):
                over = np.maximum(counts - cap, 0).sum()
                if over == 0:
                    break
                counts = np.minimum(counts, cap)
                room = (counts < cap).astype(float) * w
                counts += rng.multinomial(over, room / room.sum())
        n_susp[chosen] = counts
        pw = risk[idx] * (1 + ex["risk"]["permanent_prior_weight"] * n_susp[idx])
        perm[idx[_wsample(rng, pw, n_p)]] = True
    # --- events: dates, lengths, reasons
    days, term_of_day, wday = _calendar(p, year)
    nd = len(days)
    pday = wday / wday.sum()
    perm_rows = np.flatnonzero(perm)
    perm_day = rng.choice(nd, size=len(perm_rows), p=pday)
    # not in the first three weeks, and late enough for the pupil's earlier suspensions
    perm_day = np.minimum(np.maximum(perm_day, np.maximum(15, 2 * n_susp[perm_rows] + 1)), nd - 1)
    row = np.repeat(np.arange(n), n_susp)
    limit = np.full(n, nd)
    limit[perm_rows] = perm_day
    day = rng.choice(nd, size=len(row), p=pday)
    bound = limit[row]
    before = day >= bound
    day[before] = np.floor(rng.random(before.sum()) * bound[before]).astype(np.int64)
    # one suspension per pupil per day: redraw clashes, then move any left to the next free day
    for it in range(200):
        key = row * (nd + 1) + day
        order = np.argsort(key, kind="stable")
        dup = np.zeros(len(key), dtype=bool)
        dup[order[1:]] = key[order[1:]] == key[order[:-1]]
        if not dup.any():
            break
        if it < 20:
            day[dup] = np.floor(rng.random(dup.sum()) * bound[dup]).astype(np.int64)
        else:
            day[dup] = (day[dup] + 1) % bound[dup]
    # lengths (sessions), at most 90 sessions (45 days) a pupil a year
    dd = ex["days"]
    length_days = np.array([float(x) for x in dd])
    lp = np.array([dd[x] for x in dd], dtype=float)
    draw = rng.choice(len(lp), size=len(row), p=lp / lp.sum())
    sess = np.maximum(1, np.round(2 * length_days[draw])).astype(np.int64)
    tot = np.bincount(row, weights=sess, minlength=n)
    over = tot[row] > 90
    sess[over] = np.maximum(1, np.floor(sess[over] * 90 / tot[row][over])).astype(np.int64)
    # reasons: each pupil has a usual reason (from the phase's mix), used for a share of suspensions
    phase_row = cur["phase"][row]
    reason = np.empty(len(row), dtype=object)
    mixes = ex["reasons"]["suspension"]
    for ph in range(4):
        m = phase_row == ph
        if not m.any():
            continue
        mix = mixes[PHASES[ph] if PHASES[ph] in mixes else "secondary"]
        usual = _cdf_pick(pupils.a["reason_u"][cur["k"][row[m]]], mix)
        other = _cdf_pick(rng.random(m.sum()), mix)
        reason[m] = np.where(rng.random(m.sum()) < ex["same_reason"], usual, other)
    preason = np.empty(len(perm_rows), dtype=object)
    pmix = ex["reasons"]["permanent"]
    for ph in range(4):
        m = cur["phase"][perm_rows] == ph
        if m.any():
            preason[m] = _cdf_pick(rng.random(m.sum()), pmix["primary" if ph == PRI else "secondary"])
    events = {
        "row": np.concatenate([row, perm_rows]),
        "date": np.concatenate([days[day], days[perm_day]]),
        "term": np.concatenate([term_of_day[day], term_of_day[perm_day]]),
        "category": np.concatenate([np.full(len(row), "suspension", dtype=object),
                                    np.full(len(perm_rows), "permanent", dtype=object)]),
        "sessions": np.concatenate([sess, np.full(len(perm_rows), -1)]),
        "reason": np.concatenate([reason, preason]),
    }
    cur["n_susp"] = n_susp
    cur["perm"] = perm
    cur["perm_date"] = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
    cur["perm_date"][perm_rows] = days[perm_day]
    cur["perm_term"] = np.full(n, -1)
    cur["perm_term"][perm_rows] = term_of_day[perm_day]
    return events


# --------------------------------------------------------------------------- attendance

def _attendance(ctx, pupils: _Pupils, schools, years, census, events, ap_school: int):
    p = ctx.params
    at = p["attendance"]
    rng = ctx.rng("attendance")
    closures = p["calendar"]["closures"]
    out = []
    for yi, year in enumerate(years):
        cur = census[yi]
        n = len(cur["k"])
        days, term_of_day, _ = _calendar(p, year)
        # sessions lost to suspension, by row and term
        ev = events[yi]
        susp = ev["category"] == "suspension"
        lost = np.zeros((n, 3))
        np.add.at(lost, (ev["row"][susp], ev["term"][susp]), ev["sessions"][susp])
        a = pupils.a
        k = cur["k"]
        nxt = census[yi + 1]["k"] if yi + 1 < len(years) else None
        leaves = np.zeros(n, dtype=bool) if nxt is None else (~np.isin(k, nxt) & (cur["grade"] < 11))
        joins = (a["newcomer_year"][k] == yi) & (cur["grade"] > 0) & (yi > 0)
        base = (at["intercept"] + at["fsm"] * cur["fsm"] + at["sen_support"] * (cur["sen"] == 1)
                + at["ehc_plan"] * (cur["sen"] == 2) + at["looked_after"] * cur["lac"]
                + at["frailty"] * a["frail"][k] + a["absence"][k]
                + np.asarray(at["nc_year"])[cur["grade"]]
                + np.array([at["phase"][x] for x in PHASES])[cur["phase"]] + at["year"][year])
        for ti, term in enumerate(TERMS):
            tdays = days[term_of_day == ti]
            counted = np.ones(len(tdays), dtype=bool)
            for c0, c1 in closures:
                counted &= ~((tdays >= np.datetime64(c0)) & (tdays <= np.datetime64(c1)))
            if counted.sum() == 0:
                continue  # no attendance collected (summer 2019/20)
            if counted.sum() < len(tdays):
                # spring 2020/21: only sessions after schools reopened count
                last_closed = np.flatnonzero(~counted).max()
                counted[: last_closed + 1] = False
            poss_full = 2 * int(counted.sum())
            frac = np.ones(n)
            if ti == 0:
                frac = np.where(joins, rng.uniform(at["mobile_share"], 1, n), frac)
            if ti == 2:
                frac = np.where(leaves, rng.uniform(at["mobile_share"], 1, n), frac)
                frac = np.where(cur["grade"] == 11, 0.55 * frac, frac)  # Year 11 leave after exams
            # permanently excluded: up to the exclusion at the school, then the pupil referral unit
            pt = cur["perm_term"]
            pdate = cur["perm_date"]
            share_before = np.ones(n)
            pe = pt == ti
            if pe.any():
                share_before[pe] = ((tdays[counted][None, :] < pdate[pe][:, None]).sum(axis=1)
                                   / max(counted.sum(), 1))
            at_school = np.where(pt >= 0, np.where(pt > ti, 1.0, np.where(pt == ti, share_before, 0.0)), 1.0)
            poss_school = np.floor(poss_full * frac * at_school).astype(np.int64)
            moved = (pt >= 0) & (pt <= ti) & (cur["phase"] != AP)
            poss_ap = np.where(moved, np.floor(poss_full * frac * (1 - at_school)), 0).astype(np.int64)
            mu = _expit(base + at["term"][term])
            conc = at["overdispersion"]
            prob = rng.beta(mu * conc, (1 - mu) * conc)
            prob_ap = _expit(base + at["term"][term] + at["phase"]["alternative_provision"])
            absent = rng.binomial(poss_school, prob)
            absent = np.minimum(poss_school, absent + np.round(lost[:, ti]).astype(np.int64))
            absent_ap = rng.binomial(poss_ap, prob_ap)
            keep1 = poss_school > 0
            keep2 = poss_ap > 0
            out.append(pd.DataFrame({
                "k": np.concatenate([k[keep1], k[keep2]]),
                "academic_year": year,
                "term": term,
                "school": np.concatenate([cur["school"][keep1], np.full(keep2.sum(), ap_school)]),
                "possible_sessions": np.concatenate([poss_school[keep1], poss_ap[keep2]]),
                "attended_sessions": np.concatenate([(poss_school - absent)[keep1],
                                                     (poss_ap - absent_ap)[keep2]]),
            }))
    df = pd.concat(out, ignore_index=True)
    # a pupil moved to the PRU in the same term who was already there: merge duplicates
    df = df.groupby(["k", "academic_year", "term", "school"], as_index=False, sort=False)[
        ["possible_sessions", "attended_sessions"]].sum()
    return df


# --------------------------------------------------------------------------- population

@functools.lru_cache(maxsize=4)
def official_population(area_code: str) -> dict[int, dict[str, np.ndarray]]:
    """ONS mid-year estimates of an area by sex and single year of age 0-90 (90 = 90 and over), from the
    shipped cut (:func:`rrlib.public.load_ons_population`, MYE2 as first published):
    ``{mid_year: {"M": array, "F": array}}``. The synthetic population follows them (issue 26)."""
    ons = public.load_ons_population()
    out: dict[int, dict[str, np.ndarray]] = {}
    for (year, sex), g in ons[ons["code"] == area_code].groupby(["mid_year", "sex"]):
        if sex in ("Males", "Females"):
            v = g.sort_values("age")["population"].to_numpy(dtype=float)
            out.setdefault(int(year), {})["M" if sex == "Males" else "F"] = v
    return out


def _population(ctx):
    """Mid-year population by sex and single year of age 0-24: the ONS estimates (males and females) of
    every mid-year the shipped cut holds, times ``scale``; earlier years aged backward from the first
    ONS year and later ones forward from the last, with the parameters' births and net migration."""
    p = ctx.params["population"]
    years = list(p["years"])
    ages = 25
    ons = official_population(p["official_area_code"])
    if not ons:
        raise ValueError(f"education params: no ONS population for {p['official_area_code']} in the shipped cut")
    first, last = min(ons), max(ons)
    amax = len(ons[first]["M"]) - 1
    mig = np.zeros(amax + 1)
    for band, v in p["migration"].items():
        lo, hi = (int(x) for x in band.split("-"))
        mig[lo: hi + 1] = v
    boys = float(p["male_share_at_birth"])
    pop = {y: {s: v.copy() for s, v in ons[y].items()} for y in ons}
    for y in range(last + 1, max(years) + 1):
        nxt = {}
        for s, share in (("M", boys), ("F", 1 - boys)):
            prev = pop[y - 1][s]
            v = np.empty_like(prev)
            v[1:] = prev[:-1] * (1 + mig[:-1])
            v[-1] += prev[-1]          # the open age group stays
            v[0] = p["births"][y] * share
            nxt[s] = v
        pop[y] = nxt
    for y in range(first - 1, min(years) - 1, -1):
        cur = {}
        for s in ("M", "F"):
            nxtp = pop[y + 1][s]
            v = np.empty_like(nxtp)
            v[:-1] = nxtp[1:] / (1 + mig[:-1])
            v[-1] = nxtp[-1]
            cur[s] = v
        pop[y] = cur
    rows = []
    for y in years:
        for s in ("F", "M"):
            v = np.round(pop[y][s][:ages] * ctx.scale).astype(np.int64)
            rows.append(pd.DataFrame({"area": p["area"], "year": y, "sex": s, "age": np.arange(ages),
                                      "population": np.maximum(v, 0)}))
    return pd.concat(rows, ignore_index=True)


# --------------------------------------------------------------------------- programme dates

def _subset_sum(rng, sizes: np.ndarray, target: int) -> np.ndarray:
    """Indices of items whose sizes add up to ``target`` exactly (or as close as possible below
    or above), chosen in a random order."""
    order = rng.permutation(len(sizes))
    reach = [1]
    for i in order:
        reach.append(reach[-1] | (reach[-1] << int(sizes[i])))
    final = reach[-1]
    t = int(target)
    if t < 0:
        return np.zeros(0, dtype=np.int64)
    if not (final >> t) & 1:
        bits = bin(final)[2:][::-1]
        sums = np.flatnonzero(np.frombuffer(bits.encode(), dtype=np.uint8) == ord("1"))
        t = int(sums[np.argmin(np.abs(sums - t))])
    chosen = []
    for j in range(len(order), 0, -1):
        if (reach[j - 1] >> t) & 1:
            continue
        chosen.append(order[j - 1])
        t -= int(sizes[order[j - 1]])
    return np.array(sorted(chosen), dtype=np.int64)


def _programme_dates(ctx, schools: pd.DataFrame, census: list, years: list):
    p = ctx.params
    pr = p["programme"]
    rng = ctx.rng("programme dates")
    n = len(schools)
    start_prog, end_prog = pd.Timestamp("2016-09-01"), pd.Timestamp("2022-08-31")
    in_prog = ((schools["open_date"] <= end_prog)
               & (schools["close_date"].isna() | (schools["close_date"] >= start_prog))).to_numpy()
    yi = years.index(pr["ara_census_year"])
    cen = census[yi]
    roll = np.bincount(cen["school"], minlength=n)
    target = int(round(pr["ara_target"] * ctx.scale))
    phase = schools["phase"].to_numpy()
    cand = np.flatnonzero(in_prog & (phase == PRI) & (roll > 0))
    late = cand[_subset_sum(rng, roll[cand], roll.sum() - target)]

    def uniform_dates(lo, hi, size):
        lo, hi = pd.Timestamp(lo), pd.Timestamp(hi)
        span = max((hi - lo).days, 0)
        off = rng.integers(0, span + 1, size)
        return np.array([lo + pd.Timedelta(days=int(o)) for o in off], dtype="datetime64[ns]")

    ara = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    waves = pr["ara_waves"]
    for ph in range(4):
        idx = np.flatnonzero(in_prog & (phase == ph))
        idx = np.setdiff1d(idx, late)
        lo, hi = waves[PHASES[ph]]
        ara[idx] = uniform_dates(lo, hi, len(idx))
    ara[late] = uniform_dates(*waves["late"], len(late))
    # a school cannot start before it opens (two months to settle in)
    opened = schools["open_date"].to_numpy() + np.timedelta64(60, "D")
    ara = np.where(~np.isnat(ara) & (ara < opened), opened, ara)
    census_day = np.datetime64(p["calendar"]["census_day"][pr["ara_census_year"]])
    bad = (~np.isin(np.arange(n), late)) & (ara > census_day) & ~np.isnat(ara)
    if bad.any():
        raise ValueError("ARA start dates: an early adopter starts after the A03 census day")
    # Beating Bullying Charter: 26 schools, earlier ARA schools more likely
    prog = np.flatnonzero(in_prog)
    wts = np.where(np.isin(prog, late), 0.5, 1.0)
    signed = prog[_wsample(rng, wts, int(pr["charter_schools"]))]
    charter = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    charter[signed] = uniform_dates(*pr["charter_window"], len(signed))
    charter = np.where(~np.isnat(charter) & (charter < opened), opened, charter)
    return ara, charter


# --------------------------------------------------------------------------- main

def _reasons_of_their_year(ctx, exc: pd.DataFrame) -> np.ndarray:
    """Reason codes valid in each exclusion's academic year: from 2020/21 DfE withdrew OT
    ("Other") and added new codes, so the exclusions the mix gave OT in those years get one of
    the codes of the year that the mix lacks, drawn with the weights of
    ``exclusions.reasons.replacing_other`` (assumption). Own random stream: the other
    tables' numbers do not move."""

    reason = exc["reason_code"].to_numpy(dtype=object).copy()
    weights = ctx.params["exclusions"]["reasons"].get("replacing_other") or {}
    rng = ctx.rng("exclusions.reasons of their year")
    for year in sorted(exc["academic_year"].unique()):
        valid = set(reason_codes_of_year(year))
        m = (exc["academic_year"].to_numpy() == year) & ~np.isin(reason, list(valid))
        if not m.any():
            continue
        codes = [c for c in weights if c in valid]
        if not codes:
            raise ValueError(f"synthetic exclusions {year}: codes {sorted(set(reason[m]))} are not valid "
                             "that year and params exclusions.reasons.replacing_other names no valid code")
        w = np.asarray([weights[c] for c in codes], float)
        reason[m] = rng.choice(np.array(codes, dtype=object), size=int(m.sum()), p=w / w.sum())
    return reason


def generate(ctx) -> dict[str, pd.DataFrame]:
    p = ctx.params
    years = list(p["years"])
    schools = _schools(ctx)
    pupils = _Pupils()
    census: list[dict] = []
    events: list[dict] = []
    for yi, year in enumerate(years):
        if yi == 0:
            cur = _initial(ctx, pupils, schools, year)
        else:
            n_prev_all = len(census[-1]["k"])
            cur = _transition(ctx, pupils, schools, census[-1], yi, year, n_prev_all)
        _characteristics(ctx, pupils, cur, yi, year)
        events.append(_exclusions(ctx, pupils, schools, cur, yi, year))
        census.append(cur)

    ara, charter = _programme_dates(ctx, schools, census, years)
    ap_school = int(np.flatnonzero(schools["phase"].to_numpy() == AP)[0])

    # pseudonymous pupil ids
    rng = ctx.rng("ids")
    width = max(7, len(str(pupils.n * 5)))
    nums = rng.choice(10 ** width - 1, size=pupils.n, replace=False) + 1
    pid = np.array([f"P{x:0{width}d}" for x in nums], dtype=object)
    sid = schools["school_id"].to_numpy()
    a = pupils.a

    pupil_frames = []
    for yi, (year, cur) in enumerate(zip(years, census)):
        k = cur["k"]
        y0 = _start(year)
        bm = a["birth_month"][k].astype(np.int64)
        # age on 31 August before the year = grade + 4: born Sep (y0-g-5) .. Aug (y0-g-4)
        by = (y0 - cur["grade"] - 5 + (bm <= 8)).astype(np.int64)
        eth = a["eth"][k].astype(int)
        pupil_frames.append(pd.DataFrame({
            "pupil_id": pid[k], "academic_year": year, "school_id": sid[cur["school"]],
            "nc_year": cur["grade"].astype(np.int64),
            "sex": np.where(a["male"][k] > 0, "M", "F"),
            "birth_year": by, "birth_month": bm, "fsm": cur["fsm"].astype(bool),
            "sen_provision": np.array(SEN_CODES, dtype=object)[cur["sen"]],
            "sen_primary_need": cur["need"],
            "ethnicity_major": MAJOR_OF[eth], "ethnicity_minor": np.array(MINOR, dtype=object)[eth],
            "looked_after": cur["lac"].astype(bool),
        }))
    pupils_df = pd.concat(pupil_frames, ignore_index=True)

    exc_frames = []
    for yi, (year, cur, ev) in enumerate(zip(years, census, events)):
        r = ev["row"]
        exc_frames.append(pd.DataFrame({
            "pupil_id": pid[cur["k"][r]], "school_id": sid[cur["school"][r]],
            "exclusion_date": ev["date"].astype("datetime64[ns]"), "academic_year": year,
            "category": ev["category"],
            "sessions": pd.array(np.where(ev["sessions"] > 0, ev["sessions"], 0), dtype="Int64"),
            "reason_code": ev["reason"],
        }))
    exc = pd.concat(exc_frames, ignore_index=True)
    exc.loc[exc["category"] == "permanent", "sessions"] = pd.NA
    exc = exc.sort_values(["exclusion_date", "pupil_id", "category"], kind="mergesort").reset_index(drop=True)
    exc["reason_code"] = _reasons_of_their_year(ctx, exc)
    exc.insert(0, "exclusion_id", [f"E{i:07d}" for i in range(1, len(exc) + 1)])

    att = _attendance(ctx, pupils, schools, years, census, events, ap_school)
    att_df = pd.DataFrame({
        "pupil_id": pid[att["k"].to_numpy()], "academic_year": att["academic_year"], "term": att["term"],
        "school_id": sid[att["school"].to_numpy()],
        "possible_sessions": att["possible_sessions"].astype(np.int64),
        "attended_sessions": att["attended_sessions"].astype(np.int64),
    })

    schools_df = pd.DataFrame({
        "school_id": sid, "school_name": schools["school_name"], "phase": [PHASES[x] for x in schools["phase"]],
        "open_date": schools["open_date"].astype("datetime64[ns]"),
        "close_date": schools["close_date"].astype("datetime64[ns]"),
        "ara_start_date": pd.to_datetime(ara), "charter_signed_date": pd.to_datetime(charter),
    })
    return {"schools": schools_df, "pupils": pupils_df, "exclusions": exc,
            "school_attendance": att_df, "population": _population(ctx)}


# --------------------------------------------------------------------------- calibration report

def calibration(tables: dict[str, pd.DataFrame], params: dict | None = None) -> pd.DataFrame:
    """Every calibration target measured on generated (or prepared) education tables.

    Returns a tidy frame: target, published, generated. Used by the tests and to report
    calibration; the chapters compute their own figures from the processed tables.
    """

    p = params or load_params("education")
    sch = tables["schools"]
    pup = tables["pupils"].merge(sch[["school_id", "phase"]], on="school_id")
    exc = tables["exclusions"].merge(sch[["school_id", "phase"]], on="school_id")
    total = pup[pup["phase"] != "alternative_provision"]
    exc_t = exc[exc["phase"] != "alternative_provision"]
    rows = []

    def add(target, published, generated):
        rows.append({"target": target, "published": published, "generated": generated})

    pub = p["exclusions"]["published"]
    for year in pub:
        head = total[total["academic_year"] == year]
        e = exc_t[exc_t["academic_year"] == year]
        s = e[e["category"] == "suspension"]
        hc = p["headcount"]
        add(f"C {year} headcount", sum(hc[x][year] for x in ("primary", "secondary", "special")), len(head))
        add(f"C {year} suspensions", sum(v[0] for v in pub[year].values()), len(s))
        add(f"C {year} one or more", sum(v[1] for v in pub[year].values()), s["pupil_id"].nunique())
        add(f"C {year} permanent", sum(v[2] for v in pub[year].values()), int((e["category"] == "permanent").sum()))
        add(f"C {year} secondary headcount", hc["secondary"][year], int((head["phase"] == "secondary").sum()))
        ss = s[s["phase"] == "secondary"]
        add(f"C {year} secondary suspensions", pub[year]["secondary"][0], len(ss))
        add(f"C {year} secondary one or more", pub[year]["secondary"][1], ss["pupil_id"].nunique())
        add(f"C {year} schools", {"2014/15": 40, "2015/16": 42, "2016/17": 41}.get(year),
            int(head["school_id"].nunique()))
    y = "2018/19"
    head = total[total["academic_year"] == y]
    s = exc_t[(exc_t["academic_year"] == y) & (exc_t["category"] == "suspension")]
    add("A11 suspension rate 2018/19 (%), official (published 12.48 differs)",
        round(official_rates(p["exclusions"]["official_area_code"])[y]["suspension"], 2),
        round(100 * len(s) / len(head), 2))
    excluded = head["pupil_id"].isin(s["pupil_id"])

    def rate(mask):
        return excluded[mask].mean()

    add("A12 boys / girls one-or-more ratio", "> 1", round(rate(head["sex"] == "M") / rate(head["sex"] == "F"), 2))
    add("A12 FSM / not FSM one-or-more ratio", "almost 2", round(rate(head["fsm"]) / rate(~head["fsm"]), 2))
    add("A12 SEN support / no SEN one-or-more ratio", 2,
        round(rate(head["sen_provision"] == "sen_support") / rate(head["sen_provision"] == "none"), 2))
    by_year = excluded.groupby(head["nc_year"]).mean()
    add("A12 peak year group (age = nc_year + 4)", "Year 8-9 (age 12-13)", int(by_year.idxmax()))
    add("A12 MWBC one-or-more rate (%)", 13.0, round(100 * rate(head["ethnicity_minor"] == "MWBC"), 1))
    first2 = pup[pup["academic_year"].isin(["2014/15", "2015/16"])]
    add("A13 pupils on roll Jan 2015 or Jan 2016", 21780, first2["pupil_id"].nunique())
    add("A13 of them on FSM at either census (published 5,093 differs: FSM follows the DfE's shares)", 5093,
        first2.loc[first2["fsm"], "pupil_id"].nunique())
    shares = official_fsm_shares(p["pupils"]["fsm_official_area_code"])
    for year in p["years"]:
        if year in shares:
            t = total[total["academic_year"] == year]
            # DfE's FSM Total also counts pupils outside the three phases: the twin follows the phase shares
            add(f"FSM share {year} (%), official DfE Total (twin: its phases at the official phase shares)",
                round(100 * shares[year]["Total"], 1),
                round(100 * t["fsm"].mean(), 1))
    c21 = pup[pup["academic_year"] == "2020/21"].merge(sch[["school_id", "ara_start_date"]], on="school_id")
    add("A03 pupils Jan 2021 at an ARA school", 16079,
        int((c21["ara_start_date"] <= pd.Timestamp("2021-01-21")).sum()))
    add("A04 schools signed the Charter", 26, int(sch["charter_signed_date"].notna().sum()))
    in_prog = (sch["open_date"] <= "2022-08-31") & (sch["close_date"].isna() | (sch["close_date"] >= "2016-09-01"))
    add("B02 schools during the programme", 44, int(in_prog.sum()))
    add("B02 programme schools with ARA", 44, int(sch.loc[in_prog, "ara_start_date"].notna().sum()))
    pop = tables["population"]
    ons = official_population(p["population"]["official_area_code"])[2016]
    add("B01 population 10-16, 2016, ONS (published 10,937 differs)",
        int(ons["M"][10:17].sum() + ons["F"][10:17].sum()),
        int(pop.loc[(pop["year"] == 2016) & pop["age"].between(10, 16), "population"].sum()))
    add("context: population 10-24, 2016, ONS", int(ons["M"][10:25].sum() + ons["F"][10:25].sum()),
        int(pop.loc[(pop["year"] == 2016) & pop["age"].between(10, 24), "population"].sum()))
    att = tables["school_attendance"]
    pre = att[att["academic_year"].isin(["2014/15", "2015/16", "2016/17", "2017/18", "2018/19"])]
    add("context: overall absence 2014/15-2018/19 (%)", "5-6",
        round(100 * (1 - pre["attended_sessions"].sum() / pre["possible_sessions"].sum()), 2))
    return pd.DataFrame(rows)
