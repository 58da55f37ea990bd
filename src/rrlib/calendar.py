"""The compendium's one calendar: school years, terms and financial years of dates.

Definitions:

* **Academic (school) year**: 1 September to 31 August, labelled ``"2016/17"`` (the DfE's
  convention in its statistics; the DfE's files write it ``201617``, see :func:`year_label`).
* **Term**: autumn (September to December), spring (January to March), summer (April to
  August). Easter moves; 1 April is taken as the spring/summer boundary, as the DfE's
  school census terms are approximated in the compendium's synthetic data.
* **Financial year**: 1 April to 31 March, labelled ``"2017/18"`` (the NHS and Fingertips
  convention for hospital admissions).

Every function is vectorised: labels are built once per distinct year and then gathered, so a
column of millions of dates costs one pass. A ``pandas.Series`` keeps its index; other inputs
get a default index.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

__all__ = ["academic_year", "financial_year", "term", "year_label", "start_year", "label_of_start",
           "TERMS"]

TERMS = ("autumn", "spring", "summer")
_LABEL_RE = re.compile(r"^(\d{4})/(\d{2})$")
_DFE_RE = re.compile(r"^(\d{4})(\d{2})$")


def _dates(dates) -> pd.Series:
    d = dates if isinstance(dates, pd.Series) else pd.Series(dates)
    if d.dtype.kind != "M":
        d = pd.to_datetime(d)
    return d


def label_of_start(start) -> pd.Series:
    """``2016 -> "2016/17"`` for each first calendar year (NaN stays missing)."""
    s = start if isinstance(start, pd.Series) else pd.Series(start)
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    first = pd.Series(uniques)
    labels = np.array([f"{int(y)}/{(int(y) + 1) % 100:02d}" for y in first], dtype=object)
    out = np.full(len(s), None, dtype=object)
    ok = codes >= 0
    out[ok] = labels[codes[ok]]
    return pd.Series(out, index=s.index, dtype=object)


def _years_from(d: pd.Series, first_month: int) -> pd.Series:
    year = d.dt.year.to_numpy(dtype=float, na_value=np.nan)
    month = d.dt.month.to_numpy(dtype=float, na_value=np.nan)
    return label_of_start(pd.Series(year - (month < first_month), index=d.index))


def academic_year(dates) -> pd.Series:
    """School year (1 September to 31 August) of each date, as ``"2016/17"``.

    >>> academic_year(["2016-08-31", "2016-09-01"]).tolist()
    ['2015/16', '2016/17']
    """
    return _years_from(_dates(dates), 9)


def financial_year(dates) -> pd.Series:
    """NHS financial year (1 April to 31 March) of each date, as ``"2017/18"``.

    >>> financial_year(["2018-03-31", "2018-04-01"]).tolist()
    ['2017/18', '2018/19']
    """
    return _years_from(_dates(dates), 4)


def term(dates) -> pd.Series:
    """School term of each date: ``autumn`` (Sep-Dec), ``spring`` (Jan-Mar), ``summer`` (Apr-Aug).

    >>> term(["2017-09-01", "2018-01-05", "2018-04-20"]).tolist()
    ['autumn', 'spring', 'summer']
    """
    d = _dates(dates)
    m = d.dt.month.to_numpy(dtype=float, na_value=np.nan)
    codes = np.where(m >= 9, 0, np.where(m <= 3, 1, 2))
    out = np.array(TERMS, dtype=object)[codes]
    out[np.isnan(m)] = None
    return pd.Series(out, index=d.index, dtype=object)


def start_year(labels) -> pd.Series:
    """First calendar year of each ``"2016/17"`` label (``2016``), parsed once per distinct value.

    Raises ``ValueError`` naming the first label that is not of the form ``YYYY/YY`` with
    consecutive years.
    """
    s = labels if isinstance(labels, pd.Series) else pd.Series(labels)
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    firsts = []
    for u in uniques:
        m = _LABEL_RE.match(str(u))
        if not m or (int(m.group(1)) + 1) % 100 != int(m.group(2)):
            raise ValueError(f"{u!r} is not a year label of the form 2016/17")
        firsts.append(int(m.group(1)))
    arr = np.array(firsts, dtype=float)
    out = np.full(len(s), np.nan)
    ok = codes >= 0
    out[ok] = arr[codes[ok]]
    res = pd.Series(out, index=s.index)
    return res.astype("int64") if ok.all() else res.astype("Int64")


def year_label(values) -> pd.Series:
    """DfE year codes (``201617``) or labels (``2016/17``) as ``"2016/17"``; anything else unchanged."""
    s = (values if isinstance(values, pd.Series) else pd.Series(values)).astype(str).str.strip()
    six = s.str.fullmatch(_DFE_RE.pattern)
    return s.where(~six, s.str[:4] + "/" + s.str[4:])
