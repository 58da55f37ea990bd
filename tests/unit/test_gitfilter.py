"""``make setup``'s nbstripout filter (rrlib.devtools.gitfilter) in a throwaway repository and worktree:
installed from the main checkout, left alone from a worktree when the repository's filter works
(removing the worktree must not break ``git commit`` of notebooks elsewhere), installed from a worktree
only when there is no working filter."""
from __future__ import annotations

import subprocess
import sys

import pytest

from rrlib.devtools import gitfilter

KEYS = "metadata.papermill cell.metadata.papermill"


def git(cwd, *args) -> str:
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=cwd, check=True,
                          capture_output=True, text=True).stdout.strip()


def _repo(root):
    main = root / "main"
    main.mkdir()
    git(main, "init", "-q")
    git(main, "commit", "-q", "--allow-empty", "-m", "start")
    return main


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """A repository whose main checkout ran make setup's step (one nbstripout start: a couple of seconds)."""
    main = _repo(tmp_path_factory.mktemp("gitfilter"))
    return main, gitfilter.ensure(main, KEYS)


def test_the_main_checkout_installs_the_filter(installed):
    main, msg = installed
    assert gitfilter.checkout_kind(main) == "main"
    assert msg.startswith("nbstripout: filter installed for the repository from its main checkout")
    assert gitfilter.configured_filter(main) == f'"{sys.executable}" -m nbstripout'
    assert git(main, "config", "filter.nbstripout.extrakeys") == KEYS
    assert "*.ipynb filter=nbstripout" in (main / ".git" / "info" / "attributes").read_text()


def test_a_worktree_leaves_a_working_filter_alone(installed, tmp_path):
    """The reported failure: setup in a worktree repointed the shared filter at the worktree's .venv,
    and once the worktree was removed, committing a notebook failed in the main checkout."""
    main, _ = installed
    wt = tmp_path / "wt"
    git(main, "worktree", "add", "-q", str(wt))
    assert gitfilter.checkout_kind(wt) == "worktree"
    before = git(main, "config", "--list")
    msg = gitfilter.ensure(wt, KEYS, python=str(wt / ".venv" / "bin" / "python"))
    assert "left as it is" in msg and "\n" not in msg
    assert git(main, "config", "--list") == before
    git(main, "worktree", "remove", "--force", str(wt))
    (main / "a.ipynb").write_text(gitfilter.PROBE.replace('"cells": []', '"cells": [{"cell_type": "code", '
                                  '"source": "1", "metadata": {}, "outputs": [{"output_type": "stream", '
                                  '"name": "stdout", "text": "1"}], "execution_count": 3}]'))
    git(main, "add", "a.ipynb")
    git(main, "commit", "-q", "-m", "a notebook")
    assert '"outputs": []' in git(main, "show", "HEAD:a.ipynb")     # committed, stripped by the filter


def test_a_worktree_installs_when_no_filter_works(tmp_path):
    main = _repo(tmp_path)
    wt = tmp_path / "wt"
    git(main, "worktree", "add", "-q", str(wt))
    broken = '"/removed/worktree/.venv/bin/python" -m nbstripout'
    git(main, "config", "filter.nbstripout.clean", broken)
    assert not gitfilter.filter_works(wt, broken)
    msg = gitfilter.ensure(wt, KEYS)
    assert "had no working filter" in msg and "installed this worktree's" in msg
    assert gitfilter.configured_filter(main) == f'"{sys.executable}" -m nbstripout'
    # the attributes go to the repository's common info/, not into the worktree's .git (a file)
    assert "*.ipynb filter=nbstripout" in (main / ".git" / "info" / "attributes").read_text()


def test_outside_git_nothing_is_installed(tmp_path):
    assert gitfilter.ensure(tmp_path, KEYS) == "nbstripout: not a git checkout, no filter installed"
