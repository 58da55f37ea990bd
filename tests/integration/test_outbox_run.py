"""``make outbox DISCLOSURE=tre`` end to end on a small synthetic data folder (the suite's shared small
run: seed 7, scale 0.25, ``tests/integration/conftest.py``): every
published table is either in the outbox and registered in ACRO's results.json, or withheld with
its reasons; the figures come as SVG and PNG; no path and no results file leaves."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
pytest.importorskip("acro", reason="ACRO (PyPI acro) is not installed: `make setup` installs it")
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def run(small_run):
    """The shared small run (``tests/integration/conftest.py``), made by ``make outbox DISCLOSURE=tre``."""
    return small_run["data"], small_run["out"]


def test_every_table_is_released_and_registered_or_withheld_with_reasons(run):
    data, out = run
    box = out / "outbox"
    published = sorted(p.name for p in (out / "tables").glob("*.csv"))
    released = sorted(p.name for p in (box / "tables").glob("*.csv"))
    withheld = json.loads((box / "withheld.json").read_text())["withheld"]
    held = sorted(Path(w["output"]).name for w in withheld if w["output"].startswith("tables/"))
    assert sorted(released + held) == published
    assert all(w["reasons"] for w in withheld)
    results = json.loads((box / "acro" / "results.json").read_text())["results"]
    for name in released:
        assert f"tables_{name}" in results
        assert (box / "tables" / name.replace(".csv", ".disclosure.json")).exists()
    # under the tre preset every small count was suppressed: ACRO's threshold check withholds none
    assert not [w for w in withheld if "MinimumThresholdCheck" in " ".join(w["reasons"])]


def test_figures_svg_and_png_and_nothing_private(run):
    data, out = run
    box = out / "outbox"
    for svg in (box / "figures").glob("*.svg"):
        assert svg.with_suffix(".png").exists() and svg.with_name(svg.stem + ".disclosure.json").exists()
    from rrlib import outbox
    assert outbox.scan_for_paths(box, extra=[str(data), str(out), str(ROOT)]) == []
    names = {p.relative_to(box).parts[0] for p in box.rglob("*")}
    assert names <= {"tables", "figures", "acro", "README.md", "withheld.json"}
    for p in (box / "tables").glob("*.disclosure.json"):
        assert json.loads(p.read_text())["rules"]["preset"] == "tre"
    # a figure's data is re-checked with ACRO like a table and released beside it (issue 27)
    drawn = sorted((box / "figures").glob("*.data.csv"))
    assert drawn, "no figure data in the outbox"
    for f in drawn:
        rec = json.loads(f.with_name(f.name[:-4] + ".disclosure.json").read_text())
        assert rec["rules"]["preset"] == "tre"
        fig = json.loads(f.with_name(f.name[: -len(".data.csv")] + ".disclosure.json").read_text())
        # ACRO may flag cells of the counts behind the data (status "fail"); every one it flags is suppressed
        # in the released data, as for tables
        chk = fig["acro_data_check"]
        assert fig["data"] == f.name and chk["status"] in ("pass", "review", "fail")
        assert not chk["shown_below_threshold"], (f.name, chk["shown_below_threshold"])
