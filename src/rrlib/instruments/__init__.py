"""Scoring of the questionnaires used in the evaluation.

* :mod:`~rrlib.instruments.sdq` -- Strengths and Difficulties Questionnaire, self-report 11-17
  (Goodman 1997; scoring rules at sdqinfo.org).
* :mod:`~rrlib.instruments.swemwbs` -- Short Warwick-Edinburgh Mental Wellbeing Scale
  (Stewart-Brown et al. 2009; Rasch metric conversion table, Warwick Medical School).
* :mod:`~rrlib.instruments.gbo` -- Goal Based Outcomes (Law & Jacob 2015; reliable change,
  Edbrooke-Childs et al. 2015).
* :mod:`~rrlib.instruments.srs` -- Student Resilience Survey, WMF version (Lereya et al. 2016).

Each ``score`` returns a DataFrame of scores with the input's index and no item columns;
answers out of range raise ``ValueError`` (never clipped). Items are read one column and one
block of rows (:data:`CHUNK_ROWS`, :func:`row_chunks`) at a time, so scoring time grows
linearly with the rows and no float copy of the items is made.
"""
from . import gbo, sdq, srs, swemwbs
from ._common import CHUNK_ROWS, row_chunks

__all__ = ["sdq", "swemwbs", "gbo", "srs", "CHUNK_ROWS", "row_chunks"]
