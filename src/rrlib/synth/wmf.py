"""Synthetic HeadStart Wellbeing Measurement Framework (WMF) secondary survey: table ``wmf_survey``.

The survey of the six HeadStart areas (Blackpool, Cornwall, Hull, Kent, Newham,
Wolverhampton), waves 2016/17 to 2020/21: a Year 7 cohort in 2016/17 followed each year to
Year 11 (``respondent_id`` links its waves) and a Year 9 snapshot sample each wave (B05). In
2018/19 the cohort is itself in Year 9 and there is no separate snapshot.

How a response is made (all vectorised; parameters in ``params/wmf.yml``):

1. Schools per area (B04: 114 in all), each with a random intercept per latent trait.
2. Respondents: cohort members (persistent school, sex, free school meals and a persistent share
   of their latent traits; each later wave answered with a retention probability) and fresh
   Year 9 snapshot respondents each wave.
3. Sixteen standardised latent traits per response (five SDQ scales, wellbeing, ten Student
   Resilience Survey subscales): a general factor plus specific parts, shifted by sex, year
   group, free school meals, secular change, area and school.
4. Item answers: ``floor(x + U)`` clipped to the item's range with ``x = intercept + loading *
   trait + noise`` and ``U ~ Uniform(0, 1)``, so that inside the range an item's expectation is
   ``x``. The planted A20 effects are added to ``x`` of the SRS items in points.
5. Realistic item missingness: item non-response, a skipped SDQ section, the SDQ impact
   questions skipped when "overall, do you think you have difficulties" is answered "no", and
   break-offs in the SRS block.

Calibration: the first wave's SDQ prevalences reproduce B04 (emotional problems 18.4%, girls
24.9%, boys 10.9%; behavioural problems boys ~23%, girls ~15%; "problems" = the self-report
band high or very high), 31,050 pupils in 114 schools at scale 1.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..instruments import sdq as _sdq
from . import SynthContext, load_params

TABLE = "wmf_survey"

try:  # subscale names and item counts come from the scoring module (issue 4)
    from ..instruments.srs import SUBSCALES as SRS_SUBSCALES
except ImportError:  # pragma: no cover - before rrlib.instruments lands
    SRS_SUBSCALES = {s: 3 for s in (
        "family_connection", "school_connection", "community_connection", "participation_home_school",
        "participation_community", "peer_support", "self_esteem", "empathy", "problem_solving",
        "goals_aspirations")}

SDQ_SCALES = _sdq.SCALES
SDQ_REVERSED = _sdq.REVERSED
IMPACT_ITEMS = list(_sdq.IMPACT_ITEMS)
SEX_CODES = np.array(["M", "F", None], dtype=object)  # code 2 = missing (other / not stated)


def srs_items() -> list[str]:
    """SRS item columns in questionnaire order (subscales as in ``rrlib.instruments.srs``)."""
    return [f"srs_{s}_{k}" for s, n in SRS_SUBSCALES.items() for k in range(1, n + 1)]


def item_columns() -> list[str]:
    """Every item column of ``wmf_survey`` in file order."""
    return ([f"swemwbs_{i}" for i in range(1, 8)] + [f"sdq_{i}" for i in range(1, 26)]
            + ["sdq_ebddiff", *IMPACT_ITEMS] + srs_items())


def _count(ctx: SynthContext, value: float) -> int:
    return 0 if value <= 0 else ctx.n(value)


def _answers(x: np.ndarray, rng: np.random.Generator, lo: int, hi: int) -> np.ndarray:
    """floor(x + U) clipped to [lo, hi]: expectation x inside the range."""
    return np.clip(np.floor(x + rng.random(x.shape)), lo, hi)


def _effects(table: dict, traits: list[str]) -> np.ndarray:
    return np.array([float((table or {}).get(t, 0.0)) for t in traits])


def _respondents(ctx: SynthContext, p: dict, school_weights: list[np.ndarray]) -> pd.DataFrame:
    """One row per response: area, school, wave, sample, year group, person index."""
    rng = ctx.rng("wmf respondents")
    areas, waves = p["areas"], p["waves"]
    size = p["sample_size"]
    rows = []
    person0 = 0
    # cohort: Year 7 in the first wave, followed to Year 11
    for a, area in enumerate(areas):
        n = _count(ctx, size["cohort"][area])
        sch = rng.choice(len(school_weights[a]), size=n, p=school_weights[a])
        ret = size["retention"].get(area, size["retention"]["default"])
        for w in range(len(waves)):
            keep = np.ones(n, bool) if w == 0 else rng.random(n) < ret[w]
            idx = np.flatnonzero(keep)
            rows.append(pd.DataFrame({
                "area_i": a, "school_i": sch[idx], "wave_i": w, "sample": "cohort",
                "year_group": p["cohort_start_year_group"] + w, "person": person0 + idx}))
        person0 += n
    # Year 9 snapshots: fresh respondents each wave
    for w in range(len(waves)):
        for a, area in enumerate(areas):
            n = _count(ctx, size["snapshot"][area][w])
            if n == 0:
                continue
            sch = rng.choice(len(school_weights[a]), size=n, p=school_weights[a])
            rows.append(pd.DataFrame({
                "area_i": a, "school_i": sch, "wave_i": w, "sample": "snapshot",
                "year_group": p["snapshot_year_group"], "person": person0 + np.arange(n)}))
            person0 += n
    df = pd.concat(rows, ignore_index=True)
    df.attrs["n_persons"] = person0
    return df


def generate(ctx: SynthContext) -> dict[str, pd.DataFrame]:
    """Build ``wmf_survey`` (see the module docstring). Deterministic in (seed, scale, params)."""
    p = ctx.params if ctx.params.get("areas") else load_params("wmf")
    areas, waves = p["areas"], p["waves"]
    lat = p["latent"]
    traits = list(lat["traits"])
    T = len(traits)
    tix = {t: i for i, t in enumerate(traits)}

    # 1. schools ----------------------------------------------------------------------------
    rng = ctx.rng("wmf schools")
    school_ids, school_area, school_weights = [], [], []
    for a, area in enumerate(areas):
        k = int(p["schools"]["per_area"][area])
        w = rng.gamma(p["schools"]["size_shape"], size=k)
        school_weights.append(w / w.sum())
        school_ids += [f"W-{p['area_codes'][area]}-{j + 1:03d}" for j in range(k)]
        school_area += [a] * k
    n_schools = len(school_ids)
    sd = np.array([float(lat["school_sd"].get(t, lat["school_sd"]["default"])) for t in traits])
    school_re = rng.standard_normal((n_schools, T)) * sd
    school_offset = np.cumsum([0] + [len(w) for w in school_weights])[:-1]

    # 2. respondents --------------------------------------------------------------------------
    resp = _respondents(ctx, p, school_weights)
    n_persons = resp.attrs["n_persons"]
    N = len(resp)
    rng = ctx.rng("wmf persons")
    dem = p["demographics"]
    share = dem["sex_share"]
    sex_p = np.array([share["M"], share["F"], share["missing"]], float)
    person_sex = rng.choice(3, size=n_persons, p=sex_p / sex_p.sum())
    person_u = rng.random(n_persons)
    person_fsm_missing = rng.random(n_persons) < dem["fsm_missing"]
    load = _effects(lat["general_loading"], traits)
    rho = float(lat["stability"])
    g_person = rng.standard_normal(n_persons)
    e_person = rng.standard_normal((n_persons, T))

    area_i = resp["area_i"].to_numpy()
    wave_i = resp["wave_i"].to_numpy()
    person = resp["person"].to_numpy()
    school_g = school_offset[area_i] + resp["school_i"].to_numpy()
    yg = resp["year_group"].to_numpy()
    sex = person_sex[person]
    fsm_rate = np.array([dem["fsm_rate"][a] for a in areas])
    fsm = person_u[person] < fsm_rate[area_i]
    fsm_missing = person_fsm_missing[person]

    # 3. latent traits ------------------------------------------------------------------------
    rng = ctx.rng("wmf latent")
    g = np.sqrt(rho) * g_person[person] + np.sqrt(1 - rho) * rng.standard_normal(N)
    e = np.sqrt(rho) * e_person[person] + np.sqrt(1 - rho) * rng.standard_normal((N, T))
    z = g[:, None] * load + e * np.sqrt(1 - load**2)
    z += school_re[school_g]
    z += (sex == 1)[:, None] * _effects(lat["sex_F"], traits)
    z += (sex == 2)[:, None] * _effects(lat["sex_missing"], traits)
    z += (yg - 7)[:, None] * _effects(lat["year_group"], traits)
    z += fsm[:, None] * _effects(lat["fsm"], traits)
    z += wave_i[:, None] * _effects(lat.get("wave"), traits)
    area_eff = np.array([_effects(lat["area"].get(a), traits) for a in areas])
    z += area_eff[area_i]

    # 4. items --------------------------------------------------------------------------------
    it = p["items"]
    cols: dict[str, np.ndarray] = {}
    rng = ctx.rng("wmf items swemwbs")
    sw = it["swemwbs"]
    for i in range(1, 8):
        x = sw["intercept"] + sw["loading"] * z[:, tix["wellbeing"]] + rng.normal(0, sw["noise"], N)
        cols[f"swemwbs_{i}"] = _answers(x, rng, 1, 5)

    rng = ctx.rng("wmf items sdq")
    sq = it["sdq"]
    sdq_vals = {}
    for scale, nums in SDQ_SCALES.items():
        shift = (sq["intercept"][scale]
                 + (sex == 1) * float(sq["sex_F"].get(scale, 0.0))
                 + (sex == 2) * float(sq["sex_missing"].get(scale, 0.0)))
        for k, num in enumerate(nums):
            x = shift + sq["item_offset"][k] + sq["loading"] * z[:, tix[scale]] + rng.normal(0, sq["noise"], N)
            y = _answers(x, rng, 0, 2)
            sdq_vals[num] = 2 - y if num in SDQ_REVERSED else y
    for num in range(1, 26):
        cols[f"sdq_{num}"] = sdq_vals[num]
    rng = ctx.rng("wmf items sdq impact")
    ztot = z[:, [tix[s] for s in ("emotion", "conduct", "hyper", "peer")]].sum(axis=1) / 2.0
    ie, ii = it["impact"]["ebddiff"], it["impact"]["items"]
    ebd = _answers(ie["intercept"] + ie["loading"] * ztot + rng.normal(0, ie["noise"], N), rng, 0, 3)
    cols["sdq_ebddiff"] = ebd
    for c in IMPACT_ITEMS:
        x = ii["intercept"] + ii["loading"] * ztot + ii["ebddiff"] * (ebd - 1) + rng.normal(0, ii["noise"], N)
        cols[c] = np.where(ebd > 0, _answers(x, rng, 0, 3), np.nan)  # skipped after "no difficulties"

    rng = ctx.rng("wmf items srs")
    sr = it["srs"]
    pl = p["planted"]
    bla_fam = area_i == areas.index(pl["family_connection_gap"]["area"])
    bla_sch = area_i == areas.index(pl["school_connection_trend"]["area"])
    bla_peer = area_i == areas.index(pl["peer_support_gap"]["area"])
    planted = {
        "family_connection": bla_fam * pl["family_connection_gap"]["points"],
        "school_connection": (bla_sch * (pl["school_connection_trend"]["start"]
                                         + pl["school_connection_trend"]["per_wave"] * wave_i)
                              + pl["school_connection_secular"]["per_wave"] * wave_i),
        "peer_support": bla_peer * pl["peer_support_gap"]["points"],
    }
    for s, n in SRS_SUBSCALES.items():
        loading = float((sr.get("loading_by") or {}).get(s, sr["loading"]))
        noise = float((sr.get("noise_by") or {}).get(s, sr["noise"]))
        base = sr["intercept"][s] + loading * z[:, tix[s]] + planted.get(s, 0.0)
        for k in range(1, n + 1):
            cols[f"srs_{s}_{k}"] = _answers(base + rng.normal(0, noise, N), rng, 1, 5)

    # 5. missingness --------------------------------------------------------------------------
    rng = ctx.rng("wmf missingness")
    miss = p["missingness"]
    for c in [f"swemwbs_{i}" for i in range(1, 8)]:
        cols[c][rng.random(N) < miss["item"]["swemwbs"]] = np.nan
    skipped = rng.random(N) < miss["sdq_section_skipped"]
    for num in range(1, 26):
        c = f"sdq_{num}"
        cols[c][skipped | (rng.random(N) < miss["item"]["sdq"])] = np.nan
    cols["sdq_ebddiff"][skipped | (rng.random(N) < miss["ebddiff"])] = np.nan
    for c in IMPACT_ITEMS:
        cols[c][skipped | np.isnan(cols["sdq_ebddiff"]) | (rng.random(N) < miss["impact_item"])] = np.nan
    srs_cols = srs_items()
    stop = np.where(rng.random(N) < miss["srs_breakoff"], rng.integers(0, len(srs_cols), N), len(srs_cols))
    for k, c in enumerate(srs_cols):
        cols[c][(k >= stop) | (rng.random(N) < miss["item"]["srs"])] = np.nan

    # 6. assemble -----------------------------------------------------------------------------
    out = pd.DataFrame({
        "area_i": area_i, "wave_i": wave_i, "sample": resp["sample"].to_numpy(),
        "school_g": school_g, "person": person,
    })
    order = np.lexsort((person, school_g, out["sample"].to_numpy(), area_i, wave_i))
    df = pd.DataFrame({
        "response_id": [f"WMF{i + 1:07d}" for i in range(N)],
        "respondent_id": np.char.add("WR", np.char.zfill((person[order] + 1).astype(str), 7)),
        "area": np.asarray(areas, dtype=object)[area_i[order]],
        "school_id": np.asarray(school_ids, dtype=object)[school_g[order]],
        "wave": np.asarray(waves, dtype=object)[wave_i[order]],
        "sample": resp["sample"].to_numpy()[order],
        "year_group": yg[order].astype("int64"),
        "sex": SEX_CODES[sex[order]],
        "fsm": pd.array(np.where(fsm_missing[order], None, fsm[order]), dtype="boolean"),
    })
    df["respondent_id"] = df["respondent_id"].astype(object)
    items = pd.DataFrame({c: pd.array(cols[c][order], dtype="Int8") for c in item_columns()})
    df = pd.concat([df, items], axis=1)
    return {TABLE: df}
