"""Provenance without git processes or absolute paths, and parameter runs apart from the
reference outputs (issue 15)."""
from __future__ import annotations

import subprocess
import time

import pytest

from rrlib import paths, provenance, runner

NB04 = paths.NOTEBOOKS_DIR / "04_self_harm_readmissions.ipynb"


def test_commit_is_read_from_git_files_fast_and_matches_git():
    provenance.git_state.cache_clear()
    t0 = time.perf_counter()
    commit = provenance.head_commit()
    elapsed = time.perf_counter() - t0
    if not (paths.ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    want = subprocess.run(["git", "-C", str(paths.ROOT), "rev-parse", "HEAD"], capture_output=True,
                          text=True).stdout.strip()
    assert commit == want and elapsed < 0.1
    t0 = time.perf_counter()
    state = provenance.git_state()
    assert state["commit"] == want and state["dirty"] in (True, False)
    assert time.perf_counter() - t0 < 5


def test_packed_refs_and_detached_head(tmp_path):
    g = tmp_path / ".git"
    (g / "refs" / "heads").mkdir(parents=True)
    sha = "a" * 40
    (g / "HEAD").write_text("ref: refs/heads/main\n")
    (g / "packed-refs").write_text(f"# pack-refs with: peeled\n{sha} refs/heads/main\n")
    assert provenance.head_commit(tmp_path) == sha
    (g / "refs" / "heads" / "main").write_text("b" * 40 + "\n")
    assert provenance.head_commit(tmp_path) == "b" * 40
    (g / "HEAD").write_text("c" * 40 + "\n")
    assert provenance.head_commit(tmp_path) == "c" * 40
    assert provenance.head_commit(tmp_path / "nowhere") is None


def test_times_follow_source_date_epoch(monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1472688000")
    assert provenance.now_utc() == "2016-09-01T00:00:00Z"
    monkeypatch.delenv("SOURCE_DATE_EPOCH")
    assert provenance.now_utc().startswith(time.strftime("%Y-", time.gmtime()))


def test_paths_outside_the_project_are_recorded_by_name(tmp_path):
    secure = tmp_path / "secure" / "raw"
    secure.mkdir(parents=True)
    (secure / "pupils.csv.gz").write_bytes(b"x")
    assert provenance.portable(str(secure)) == "raw"
    assert provenance.portable({"a": [str(secure / "f.csv")]}) == {"a": ["f.csv"]}
    assert provenance.portable(str(paths.ROOT / "reports")) == "reports"
    state = provenance.data_state(str(secure))
    assert state["name"] == "raw" and len(state["sha256"]) == 64 and str(tmp_path) not in str(state)


def test_non_default_options_get_their_own_folder():
    assert runner.changed_options(NB04, {"financial_year": None}) == {}  # the default (from the data)
    assert runner.changed_options(NB04, {"financial_year": "2018/19", "dfe_la_file": "/x.csv"}) == \
        {"financial_year": "2018/19"}
    a = runner.params_folder("synthetic", {"financial_year": "2018/19"})
    assert a.startswith("synthetic-financial_year-2018-19-") and "/" not in a
    assert a == runner.params_folder("synthetic", {"financial_year": "2018/19"})
    assert a != runner.params_folder("synthetic", {"financial_year": "2019/20"})


def test_non_default_options_are_refused_over_the_reference(monkeypatch):
    monkeypatch.delenv(paths.OUT_ENV, raising=False)
    monkeypatch.delenv(paths.DATA_ENV, raising=False)
    with pytest.raises(runner.NotebookParameterError, match="never written over the reference"):
        runner.run_chapter(NB04, out_dir=paths.ROOT / "reports", parameters={"financial_year": "2018/19"})


def test_dirty_flag_compares_content_without_filters(tmp_path):
    def git(*a):
        subprocess.run(["git", "-C", str(tmp_path), *a], check=True, capture_output=True)
    git("init", "-q")
    (tmp_path / "a.ipynb").write_text("{}\n")
    git("add", "a.ipynb")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "x")
    # a filter that would hang (or take seconds) is never run
    git("config", "filter.nbstripout.clean", "sleep 30; cat")
    (tmp_path / ".gitattributes").write_text("*.ipynb filter=nbstripout\n")
    t0 = time.perf_counter()
    assert provenance._dirty(tmp_path) is False
    (tmp_path / "a.ipynb").write_text('{"x": 1}\n')
    assert provenance._dirty(tmp_path) is True
    assert time.perf_counter() - t0 < 5
    assert provenance.head_commit(tmp_path) is not None


def test_sidecar_records_the_sources_that_made_an_output(tmp_path, monkeypatch):
    """Issue 29: a figure made from a dirty tree says which sources made it (sha256 of the
    notebook and of the library), recorded as of when its bytes were first made."""
    import json

    from rrlib import provenance

    out = tmp_path / "fig.svg"
    out.write_text("<svg/>")
    provenance.sidecar(out, chapter="reach", notebook="01_reach.ipynb", parameters={}, data_dir=tmp_path)
    doc = json.loads(out.with_suffix(".json").read_text())
    src = doc["sources"]
    assert len(src["rrlib_sha256"]) == 64 and len(src["notebook_sha256"]) == 64
    assert src == provenance.source_hashes("01_reach.ipynb")
    # another library state, same bytes: the sidecar is left as it was (first made)
    monkeypatch.setattr(provenance, "source_hashes", lambda nb=None: {"rrlib_sha256": "0" * 64,
                                                                      "notebook_sha256": None})
    provenance.sidecar(out, chapter="reach", notebook="01_reach.ipynb", parameters={}, data_dir=tmp_path)
    assert json.loads(out.with_suffix(".json").read_text())["sources"] == src
