"""Tools for the compendium's developers, outside the analysis library: nothing a chapter's numbers
depend on lives here, and no module of the library imports this package.

``rrlib.devtools.bench``
    The benchmark of the pipeline and of rrlib's heavy steps (``rr bench``, ``make bench``).
"""
