"""Strengths and Difficulties Questionnaire (SDQ), self-report version for ages 11-17.

Reference: Goodman R (1997) J Child Psychol Psychiatry 38:581-6; Goodman R, Meltzer H,
Bailey V (1998) Eur Child Adolesc Psychiatry 7:125-30; scoring instructions and four-band
categorisation, Youth in Mind, sdqinfo.org ("Scoring the SDQ", "SDQ four-band
categorisation"), as summarised in section D of ``shared/reference/published_figures.md``.

Input columns: ``sdq_1`` .. ``sdq_25`` raw answers 0/1/2 (not true / somewhat true /
certainly true) in the official item order, *before* reverse scoring; impact supplement
``sdq_ebddiff`` and ``sdq_distres``, ``sdq_imphome``, ``sdq_impfrie``, ``sdq_impclas``,
``sdq_impleis`` (0-3).

Rules:

* Reverse-scored items (2/1/0): 7, 11, 14, 21, 25.
* A five-item scale is scored when at least 3 items are answered: the mean of the answered
  items times 5, rounded half up (2.5 -> 3; not Python's round-half-even).
* Total difficulties = emotional + conduct + hyperactivity + peer; internalising =
  emotional + peer; externalising = conduct + hyperactivity; each missing if any of its
  scales is missing.
* Impact: distress and the four interference items, each recoded 0, 0, 1, 2 from answers
  0-3, summed (0-10); missing items count 0 when at least one is answered; impact is 0 when
  ``sdq_ebddiff`` is 0 ("no difficulties"); missing when ``sdq_ebddiff`` is missing or every
  impact item is missing.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ._common import Answers, require_columns, round_half_up_ratio, row_chunks

__all__ = ["ITEMS", "REVERSED", "SCALES", "IMPACT_ITEMS", "BANDS", "BAND_LABELS",
           "PROSOCIAL_BAND_LABELS", "score", "band", "band_codes"]

ITEMS = [f"sdq_{i}" for i in range(1, 26)]
REVERSED = (7, 11, 14, 21, 25)
#: scale name -> official item numbers
SCALES = {
    "emotion": (3, 8, 13, 16, 24),
    "conduct": (5, 7, 12, 18, 22),
    "hyper": (2, 10, 15, 21, 25),
    "peer": (6, 11, 14, 19, 23),
    "prosoc": (1, 4, 9, 17, 20),
}
IMPACT_ITEMS = ["sdq_distres", "sdq_imphome", "sdq_impfrie", "sdq_impclas", "sdq_impleis"]
EBDDIFF = "sdq_ebddiff"

#: self-report four-band cut-offs: upper bounds of bands 1-3 (band 4 is above the third bound)
BANDS = {
    "total": (14, 17, 19),
    "emotion": (4, 5, 6),
    "conduct": (3, 4, 5),
    "hyper": (5, 6, 7),
    "peer": (2, 3, 4),
    "impact": (0, 1, 2),
}
#: prosocial is banded downwards: very low 0-4, low 5, slightly lowered 6, close to average 7-10
PROSOCIAL_LOWER_BOUNDS = (7, 6, 5)
BAND_LABELS = ["close to average", "slightly raised", "high", "very high"]
PROSOCIAL_BAND_LABELS = ["close to average", "slightly lowered", "low", "very low"]


def _reverse(v: np.ndarray) -> np.ndarray:
    return 2 - v


def _recode_impact(v: np.ndarray) -> np.ndarray:
    return np.maximum(v - 1, 0)  # 0,1,2,3 -> 0,0,1,2


def score(df: pd.DataFrame, impact: bool | None = None) -> pd.DataFrame:
    """Score the self-report SDQ: five scales, total, internalising, externalising, impact.

    Reference: sdqinfo.org scoring rules (Goodman 1997), see the module docstring.
    Returns columns ``sdq_emotion``, ``sdq_conduct``, ``sdq_hyper``, ``sdq_peer``,
    ``sdq_prosoc``, ``sdq_total``, ``sdq_internal``, ``sdq_external`` and (when the impact
    columns are present, or ``impact=True``) ``sdq_impact``, as floats (NaN when missing) with
    the input's index. Raises ``ValueError`` for missing item columns or answers out of range.
    Items are read one scale at a time as integers (no float copy of all items).
    """
    require_columns(df, ITEMS, "SDQ")
    ans = Answers(df).add(ITEMS, (0, 1, 2), "SDQ")
    has_impact = all(c in df.columns for c in [EBDDIFF, *IMPACT_ITEMS])
    if impact is None:
        impact = has_impact
    if impact:
        if not has_impact:
            ans.check_all()  # answers out of range are reported before missing impact columns
        require_columns(df, [EBDDIFF, *IMPACT_ITEMS], "SDQ impact")
        ans.add([EBDDIFF, *IMPACT_ITEMS], (0, 1, 2, 3), "SDQ impact")
    names = [f"sdq_{s}" for s in SCALES] + ["sdq_total", "sdq_internal", "sdq_external"]
    n = len(df)
    out = {c: np.empty(n) for c in names + (["sdq_impact"] if impact else [])}
    reverse = {f"sdq_{i}": _reverse for i in REVERSED}
    for rows in row_chunks(n):  # one block of rows at a time: its arrays stay in cache
        sc = {}
        for name, nums in SCALES.items():
            total, answered = ans.sum([f"sdq_{i}" for i in nums], rows, reverse)
            # mean x 5 rounded half up == round_half_up(5 * total / answered); 3 of 5 needed
            sc[name] = np.where(answered >= 3, round_half_up_ratio(5 * total, answered), np.nan)
            out[f"sdq_{name}"][rows] = sc[name]
        # NaN propagates through + : a composite is missing if any of its scales is
        out["sdq_total"][rows] = sc["emotion"] + sc["conduct"] + sc["hyper"] + sc["peer"]
        out["sdq_internal"][rows] = sc["emotion"] + sc["peer"]
        out["sdq_external"][rows] = sc["conduct"] + sc["hyper"]
        if impact:
            out["sdq_impact"][rows] = _impact(ans, rows)
    # one array per column, no copy into a consolidated block
    return pd.DataFrame(out, index=df.index, copy=False)


def _impact(ans: Answers, rows: slice) -> np.ndarray:
    ebd, ebd_answered = ans.read(EBDDIFF, rows)
    total, answered = ans.sum(IMPACT_ITEMS, rows, {c: _recode_impact for c in IMPACT_ITEMS})
    value = np.where(answered > 0, total, np.nan)  # missing items count 0 if any is answered
    value = np.where(ebd_answered & (ebd == 0), 0.0, value)
    return np.where(ebd_answered, value, np.nan)


def band_codes(values, scale: str) -> tuple[np.ndarray, list[str]]:
    """Band codes (0-3, -1 where the score is missing) and labels of scores of one scale.

    The rules of :func:`band`; raises ``ValueError`` for scores out of range or unknown scales.
    """
    v = np.asarray(values, dtype=float)
    top = 40 if scale == "total" else 10
    ok = ~np.isnan(v)
    whole = np.where(ok, v, 0.0)
    if ((whole < 0) | (whole > top)).any() or (np.trunc(whole) != whole).any():
        raise ValueError(f"SDQ band: scores for {scale!r} must be whole numbers in range")
    score_range = np.arange(top + 1)
    if scale == "prosoc":
        b1, b2, b3 = PROSOCIAL_LOWER_BOUNDS
        lookup = np.select([score_range >= b1, score_range >= b2, score_range >= b3], [0, 1, 2], default=3)
        labels = PROSOCIAL_BAND_LABELS
    elif scale in BANDS:
        c1, c2, c3 = BANDS[scale]
        lookup = np.select([score_range <= c1, score_range <= c2, score_range <= c3], [0, 1, 2], default=3)
        labels = BAND_LABELS
    else:
        raise ValueError(f"SDQ band: unknown scale {scale!r}; use one of {sorted([*BANDS, 'prosoc'])}")
    # one lookup per score (0..top) instead of comparisons of every row; -1 where missing
    code = np.where(ok, lookup[whole.astype(np.intp)], -1)
    return code, labels


def band(scores: pd.DataFrame | pd.Series, scale: str | None = None) -> pd.DataFrame | pd.Series:
    """Self-report SDQ four-band categorisation (sdqinfo.org, "SDQ four-band categorisation").

    Bands: close to average / slightly raised / high / very high, with cut-offs Total
    0-14/15-17/18-19/20-40; Emotional 0-4/5/6/7-10; Conduct 0-3/4/5/6-10; Hyperactivity
    0-5/6/7/8-10; Peer 0-2/3/4/5-10; Impact 0/1/2/3-10; Prosocial (close to average /
    slightly lowered / low / very low) 7-10/6/5/0-4.

    Give a frame from :func:`score` (returns ``<column>_band`` for every scored column that
    has bands) or a Series with ``scale`` (one of ``total, emotion, conduct, hyper, peer,
    impact, prosoc``). Results are ordered categoricals; missing scores stay missing.
    """
    if isinstance(scores, pd.DataFrame):
        out = pd.DataFrame(index=scores.index)
        for col in scores.columns:
            name = col.removeprefix("sdq_")
            if name in BANDS or name == "prosoc":
                out[f"{col}_band"] = band(scores[col], name)
        if out.shape[1] == 0:
            raise ValueError("SDQ band: no scored SDQ columns (sdq_total, sdq_emotion, ...) found")
        return out
    if scale is None:
        scale = str(scores.name or "").removeprefix("sdq_")
    v = pd.to_numeric(scores, errors="coerce").astype(float).to_numpy()
    code, labels = band_codes(v, scale)
    return pd.Series(pd.Categorical.from_codes(code, categories=labels, ordered=True),
                     index=scores.index, name=f"{scores.name or scale}_band")
