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

from ._common import check_values, require_columns, round_half_up_ratio

__all__ = ["ITEMS", "REVERSED", "SCALES", "IMPACT_ITEMS", "BANDS", "BAND_LABELS",
           "PROSOCIAL_BAND_LABELS", "score", "band"]

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


def _scale(items: np.ndarray) -> np.ndarray:
    answered = (~np.isnan(items)).sum(axis=1)
    total = np.nansum(items, axis=1)
    # mean x 5 rounded half up == round_half_up(5 * total / answered)
    return np.where(answered >= 3, round_half_up_ratio(5 * total, answered), np.nan)


def score(df: pd.DataFrame, impact: bool | None = None) -> pd.DataFrame:
    """Score the self-report SDQ: five scales, total, internalising, externalising, impact.

    Reference: sdqinfo.org scoring rules (Goodman 1997), see the module docstring.
    Returns columns ``sdq_emotion``, ``sdq_conduct``, ``sdq_hyper``, ``sdq_peer``,
    ``sdq_prosoc``, ``sdq_total``, ``sdq_internal``, ``sdq_external`` and (when the impact
    columns are present, or ``impact=True``) ``sdq_impact``, as nullable floats with the
    input's index. Raises ``ValueError`` for missing item columns or answers out of range.
    """
    require_columns(df, ITEMS, "SDQ")
    items = check_values(df, ITEMS, (0, 1, 2), "SDQ").to_numpy()
    for i in REVERSED:
        items[:, i - 1] = 2 - items[:, i - 1]
    out = pd.DataFrame(index=df.index)
    for name, nums in SCALES.items():
        out[f"sdq_{name}"] = _scale(items[:, [i - 1 for i in nums]])
    # NaN propagates through + : a composite is missing if any of its scales is
    out["sdq_total"] = out["sdq_emotion"] + out["sdq_conduct"] + out["sdq_hyper"] + out["sdq_peer"]
    out["sdq_internal"] = out["sdq_emotion"] + out["sdq_peer"]
    out["sdq_external"] = out["sdq_conduct"] + out["sdq_hyper"]
    has_impact = all(c in df.columns for c in [EBDDIFF, *IMPACT_ITEMS])
    if impact is None:
        impact = has_impact
    if impact:
        require_columns(df, [EBDDIFF, *IMPACT_ITEMS], "SDQ impact")
        out["sdq_impact"] = _impact(df)
    return out


def _impact(df: pd.DataFrame) -> np.ndarray:
    ebd = check_values(df, [EBDDIFF], (0, 1, 2, 3), "SDQ impact")[EBDDIFF].to_numpy()
    imp = check_values(df, IMPACT_ITEMS, (0, 1, 2, 3), "SDQ impact").to_numpy()
    recoded = np.where(np.isnan(imp), np.nan, np.maximum(imp - 1, 0))  # 0,1,2,3 -> 0,0,1,2
    any_answered = (~np.isnan(imp)).any(axis=1)
    total = np.nansum(recoded, axis=1)
    value = np.where(any_answered, total, np.nan)
    value = np.where(ebd == 0, 0.0, value)
    return np.where(np.isnan(ebd), np.nan, value)


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
    v = pd.to_numeric(scores, errors="coerce").astype(float)
    if (v.notna() & ((v < 0) | (v > (10 if scale != "total" else 40)) | (v % 1 != 0))).any():
        raise ValueError(f"SDQ band: scores for {scale!r} must be whole numbers in range")
    if scale == "prosoc":
        b1, b2, b3 = PROSOCIAL_LOWER_BOUNDS
        code = np.select([v >= b1, v >= b2, v >= b3, v >= 0], [0, 1, 2, 3], default=-1)
        labels = PROSOCIAL_BAND_LABELS
    elif scale in BANDS:
        c1, c2, c3 = BANDS[scale]
        code = np.select([v <= c1, v <= c2, v <= c3, v > c3], [0, 1, 2, 3], default=-1)
        labels = BAND_LABELS
    else:
        raise ValueError(f"SDQ band: unknown scale {scale!r}; use one of {sorted([*BANDS, 'prosoc'])}")
    return pd.Series(pd.Categorical.from_codes(code, categories=labels, ordered=True),
                     index=scores.index, name=f"{scores.name or scale}_band")
