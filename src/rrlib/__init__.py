"""rrlib: the library of the Resilience Revolution (HeadStart Blackpool) evaluation compendium.

Everything a chapter notebook computes lives here: paths, data validation and cleaning,
instrument scoring, statistics (PHE methods), disclosure control, results, figures and reports.
"""

__version__ = "0.1.0"
