"""Tools for the compendium's developers, outside the analysis library: nothing a chapter's numbers
depend on lives here, and no module of the library imports this package.

``rrlib.devtools.bench``
    The benchmark of the pipeline and of rrlib's heavy steps (``rr bench``, ``make bench``).
``rrlib.devtools.gitfilter``
    The nbstripout git filter ``make setup`` installs: from the main checkout, or from a worktree only
    when the repository has no working filter.
"""
