"""The outbox for a trusted research environment's output checkers (``rr outbox`` / ``make outbox``),
the run-wide ``tre`` disclosure preset, and residual degrees of freedom in model frames.

The crafted run here has two published tables and one figure: a table whose small cells were
suppressed under the ``tre`` preset (released) and one published under the ``dfe`` preset that
shows a count of 5 (ACRO's MinimumThresholdCheck fails it: withheld).
"""
from __future__ import annotations

import json

import matplotlib

matplotlib.use("agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from _digest import tree  # noqa: E402
from rrlib import disclosure, figures, manifest, outbox, tre  # noqa: E402
from rrlib.stats.models import fit_cox, fit_glm, fit_mixed  # noqa: E402

acro = pytest.importorskip("acro", reason="ACRO (PyPI acro) is not installed: `make setup` installs it")


def publish(df, name, out, preset, counts, **kw):
    """What rrlib.chapter's publish does: disclosure control, then the counts kept for the outbox."""
    disclosure.publish(df, name, out / "tables", preset=preset, counts=counts, **kw)
    tre.keep_counts(df, name, out, {"counts": counts, **kw})


@pytest.fixture
def run(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "x.csv").write_text("a\n1\n")
    manifest.write(data, synthetic=True, description="crafted")
    out = tmp_path / "out"
    (out / "tables").mkdir(parents=True)
    (out / "figures").mkdir()
    safe = pd.DataFrame({"school": ["A", "B", "C"], "pupils": [120, 45, 30], "excluded": [14, 3, 0]})
    publish(safe, "safe_table", out, "tre", ["pupils", "excluded"], derived=None)
    crafted = pd.DataFrame({"area": ["North", "South"], "young_people": [250, 5]})
    publish(crafted, "crafted_small_cell", out, "dfe", ["young_people"])
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.bar(["A", "B"], [3, 4])
    figures.save(fig, out / "figures" / "demo_bars.svg")
    plt.close(fig)
    return data, out


def test_acro_flags_the_small_cell_and_the_outbox_withholds_it(run):
    data, out = run
    box, verdicts = outbox.build(data, out)
    by = {v.name: v for v in verdicts}
    crafted = by["tables/crafted_small_cell.csv"]
    assert not crafted.release
    assert crafted.acro["shown_below_threshold"] == [{"row": 1, "column": "young_people"}]
    assert "MinimumThresholdCheck" in crafted.reasons[0]
    assert not (box / "tables" / "crafted_small_cell.csv").exists()
    assert by["tables/safe_table.csv"].release
    # ACRO flagged the 3 (suppressed in the release) and the 0 (zero, for review)
    safe = by["tables/safe_table.csv"].acro
    assert safe["threshold_cells"] == [{"row": 1, "column": "excluded"}]
    assert safe["zero_cells"] == [{"row": 2, "column": "excluded"}]
    withheld = json.loads((box / "withheld.json").read_text())["withheld"]
    assert [w["output"] for w in withheld] == ["tables/crafted_small_cell.csv"]


def test_acro_bundle_lists_every_released_output_with_its_record(run):
    data, out = run
    box, verdicts = outbox.build(data, out)
    res = json.loads((box / "acro" / "results.json").read_text())["results"]
    released = [v.name.replace("/", "_") for v in verdicts if v.release]
    assert set(released) <= set(res)
    table = res["tables_safe_table.csv"]
    assert any(c.startswith("disclosure record: ") and '"preset":"tre"' in c for c in table["comments"])
    assert any("ACRO re-check" in c for c in table["comments"])
    assert (box / "acro" / "safe_table.csv").exists() or any(
        f["name"].endswith("safe_table.csv") for f in table["files"])
    assert "tables_crafted_small_cell.csv" not in res


def test_figures_as_svg_and_png_without_metadata(run):
    data, out = run
    box, _ = outbox.build(data, out)
    png = (box / "figures" / "demo_bars.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"tEXt" not in png and b"iTXt" not in png and b"Software" not in png
    assert (box / "figures" / "demo_bars.svg").exists()
    assert json.loads((box / "figures" / "demo_bars.disclosure.json").read_text())["png"] == "demo_bars.png"


def test_the_outbox_built_twice_into_one_path_is_byte_identical(run):
    """Same inputs, same bytes for the outbox (issue 15; the shared small run's second run ends with it):
    every file, the ACRO session records compared without the time ACRO saw each output."""
    data, out = run
    box, verdicts = outbox.build(data, out)
    assert any(v.release for v in verdicts) and any(not v.release for v in verdicts)
    assert box == out / "outbox"
    first = tree(out)
    assert {"outbox/withheld.json", "outbox/figures/demo_bars.png", "outbox/acro/results.json"} <= set(first)
    box2, _ = outbox.build(data, out)
    assert box2 == box
    second = tree(out)
    assert sorted(first) == sorted(second), sorted(set(first) ^ set(second))
    differ = sorted(k for k in first if first[k] != second[k])
    assert not differ, f"the outbox differs between two builds: {differ}"


def test_no_absolute_path_and_no_results_in_the_outbox(run):
    data, out = run
    (out / "results").mkdir()
    (out / "results" / "x.json").write_text("{}")
    box, _ = outbox.build(data, out)
    assert outbox.scan_for_paths(box, extra=[str(data), str(out)]) == []
    names = {p.name for p in box.rglob("*")}
    assert "x.json" not in names and not any(p.parts[-2:-1] == ("private",) for p in box.rglob("*"))
    assert "SYNTHETIC" in (box / "README.md").read_text()


def test_path_scan_catches_a_secure_path(tmp_path):
    (tmp_path / "t.json").write_text('{"data": "/secure/npd/extract.csv"}')
    assert outbox.scan_for_paths(tmp_path) and "t.json" in outbox.scan_for_paths(tmp_path)[0]


def test_model_table_with_few_residual_degrees_of_freedom_is_withheld(run):
    data, out = run
    m = pd.DataFrame({"term": ["x"], "n": [12], "dof_resid": [8.0]})
    publish(m, "tiny_model", out, "tre", ["n"])
    _, verdicts = outbox.build(data, out)
    v = {v.name: v for v in verdicts}["tables/tiny_model.csv"]
    assert not v.release and "safe_dof_threshold" in v.reasons[0]


def test_table_without_kept_counts_is_withheld(run):
    data, out = run
    (out / "private" / "counts" / "safe_table.csv").unlink()
    _, verdicts = outbox.build(data, out)
    v = {v.name: v for v in verdicts}["tables/safe_table.csv"]
    assert not v.release and "no kept counts" in v.reasons[0]


# --------------------------------------------------------------------------- the run-wide preset


def test_tre_preset_is_acros_minimum_cell_count():
    r = disclosure.PRESETS["tre"]
    assert r.threshold == 9 and r.rounding is None  # shown counts are >= 10, ACRO's safe_threshold
    pub, rec = disclosure.apply(pd.DataFrame({"k": ["a", "b", "c"], "n": [9, 10, 0]}), preset="tre", counts=["n"])
    assert list(pub["n"]) == ["c", "10", "0"]


def test_run_preset_replaces_the_notebooks(monkeypatch):
    monkeypatch.setenv("RR_DISCLOSURE_PRESET", "tre")
    assert tre.for_run("nhs", {"counts": ["n"], "rounding": 5}) == ("tre", {"counts": ["n"]})
    assert tre.for_run("dfe", {"counts": ["n"], "threshold": 20})[1]["threshold"] == 20
    monkeypatch.setenv("RR_DISCLOSURE_PRESET", "nonsense")
    with pytest.raises(ValueError, match="RR_DISCLOSURE_PRESET"):
        tre.for_run("dfe", {})
    monkeypatch.delenv("RR_DISCLOSURE_PRESET")
    assert tre.for_run("dfe", {"counts": ["n"]}) == ("dfe", {"counts": ["n"]})


def test_chapter_publish_uses_the_run_preset(tmp_path, monkeypatch):
    from rrlib import chapter

    data = tmp_path / "data"
    data.mkdir()
    monkeypatch.setenv("RR_DISCLOSURE_PRESET", "tre")
    ch = chapter.setup("demo", data_dir=data, out_dir=tmp_path / "out")
    pub = ch.publish(pd.DataFrame({"k": ["a", "b"], "n": [5, 50]}), "demo_table", preset="dfe", counts=["n"])
    assert list(pub["n"]) == ["c", "50"]
    rec = json.loads((tmp_path / "out" / "tables" / "demo_table.disclosure.json").read_text())
    assert rec["rules"]["preset"] == "tre"
    kept = pd.read_csv(tmp_path / "out" / "private" / "counts" / "demo_table.csv")
    assert list(kept["n"]) == [5, 50]


# --------------------------------------------------------------------------- models


def test_every_model_frame_records_residual_degrees_of_freedom():
    rng = np.random.default_rng(7)
    n = 120
    df = pd.DataFrame({"x": rng.normal(size=n), "g": rng.integers(0, 8, n),
                       "t": rng.exponential(3, n), "e": (rng.random(n) < 0.6).astype(int)})
    df["y"] = (rng.random(n) < 0.3).astype(int)
    df["z"] = df["x"] + rng.normal(0, 1, 8)[df["g"]] + rng.normal(size=n)
    assert set(fit_glm(df, "y ~ x")["dof_resid"]) == {118.0}            # n - 2 coefficients
    assert set(fit_mixed(df, "z ~ x", "g")["dof_resid"]) == {117.0}     # n - 2 fixed - 1 variance
    assert set(fit_cox(df, "t", "e", ["x"])["dof_resid"]) == {119.0}    # n - 1 coefficient
