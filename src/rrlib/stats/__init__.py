"""Statistics for the compendium: PHE confidence intervals, comparisons and tidy model fits.

* :mod:`rrlib.stats._basic` -- ``proportion_ci``, ``rate_ci``, ``dsr``, ``mean_ci`` (Public
  Health England, *Technical Guide: Confidence Intervals*; R package PHEindicatormethods).
* :mod:`rrlib.stats.compare` -- risk and rate ratios, difference of proportions (Newcombe),
  Hedges' g, paired tests.
* :mod:`rrlib.stats.models` -- tidy wrappers around statsmodels / lifelines models.

Every function names its reference in its docstring.
"""
from ._basic import (
                     ESP2013,
                     byars_lower,
                     byars_upper,
                     dsr,
                     exact_poisson_lower,
                     exact_poisson_upper,
                     mean_ci,
                     proportion_ci,
                     rate_ci,
                     wilson_lower,
                     wilson_upper,
)
from ._result import CIResult, normalise_confidence

__all__ = [
    "CIResult", "normalise_confidence", "ESP2013",
    "proportion_ci", "rate_ci", "dsr", "mean_ci",
    "wilson_lower", "wilson_upper", "byars_lower", "byars_upper",
    "exact_poisson_lower", "exact_poisson_upper",
]

from .compare import (
                     hedges_g,
                     hedges_g_paired,
                     paired_t,
                     proportion_difference,
                     rate_ratio,
                     risk_ratio,
                     wilcoxon_signed_rank,
)
from .models import ModelDidNotConverge, fit_cox, fit_glm, fit_mixed

__all__ += ["risk_ratio", "rate_ratio", "proportion_difference", "hedges_g", "hedges_g_paired",
            "paired_t", "wilcoxon_signed_rank", "fit_glm", "fit_mixed", "fit_cox", "ModelDidNotConverge"]
