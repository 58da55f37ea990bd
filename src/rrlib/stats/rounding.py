"""Rounding as official statistics publish it: half up, in exact integer arithmetic.

The DfE (and ONS) round rates half up from unrounded counts (DfE, *Permanent and fixed-period
exclusions in England*, technical notes; Government Statistical Service, *Rounding* guidance).
Floating-point ``round`` (half to even, on binary approximations) disagrees with it on a few
local authorities; exact integer arithmetic on none.
"""
from __future__ import annotations

import numpy as np

__all__ = ["round_half_up_rate"]


def round_half_up_rate(count, headcount, dp: int = 2, multiplier: int = 100) -> np.ndarray:
    """count / headcount * multiplier rounded half up to ``dp`` places, in exact integer arithmetic.

    ``floor((2 c m 10^dp + n) / (2 n)) / 10^dp`` with integers ``c`` (count), ``n`` (headcount),
    ``m`` (multiplier). Counts must be whole numbers; NaN in, NaN out. Vectorised; a scalar in
    gives a float out.
    """
    c = np.asarray(count, dtype=float)
    n = np.asarray(headcount, dtype=float)
    ok = np.isfinite(c) & np.isfinite(n) & (n > 0) & (c == np.floor(c))
    ci = np.where(ok, c, 0).astype(np.int64)
    ni = np.where(ok, n, 1).astype(np.int64)
    scale = multiplier * 10**dp
    q = (2 * ci * scale + ni) // (2 * ni)
    out = np.where(ok, q / 10**dp, np.nan)
    return out if out.ndim else float(out)
