"""Synthetic is synthetic, official is official (issue 23, item 7).

A figure or table drawn from official statistics records ``synthetic: false`` and the public files it
was drawn from (name and sha256), never the run's (synthetic) data folder; an unstamped figure must
name its sources; the figures that draw data-folder values never draw official values on the same
axis unless the data folder is real.
"""
import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from rrlib import chapter, paths, provenance, public  # noqa: E402
from rrlib.chapters import exclusions as X  # noqa: E402
from rrlib.chapters import selfharm as S  # noqa: E402
from rrlib.io import sha256_file  # noqa: E402
from rrlib.results import Results  # noqa: E402


def _chapter(tmp_path, synthetic=True):
    lay = paths.layout(paths.ROOT / "data" / "raw" / "synthetic", tmp_path / "out")
    return chapter.Chapter(name="exclusions", layout=lay, parameters={}, synthetic=synthetic, manifest={},
                           results=Results("exclusions", lay.result_file("exclusions")))


def _fig():
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 2], label="England")
    ax.set_title("A title")
    return fig


def test_an_official_figure_names_the_public_file_it_was_drawn_from(tmp_path):
    ch = _chapter(tmp_path)
    public.load_dfe_exclusions_la()
    path = ch.save_figure(_fig(), "official_one", mark=False, sources=[public.DFE_EXCLUSIONS_LA])
    side = json.loads(path.with_suffix(".json").read_text())
    cut = public.table_path(public.DFE_EXCLUSIONS_LA)
    assert side["data"]["synthetic"] is False and side["data"]["name"] == "official statistics"
    assert side["data"]["files"] == {f"data/raw/public/{cut.name}": sha256_file(cut)}
    assert side["figure"]["synthetic_mark"] is False
    # the same figure from the data folder: the folder's state, synthetic
    side2 = json.loads(ch.save_figure(_fig(), "from_folder").with_suffix(".json").read_text())
    assert side2["data"]["synthetic"] is True and "pupils.csv.gz" in side2["data"]["files"]


def test_a_parameter_file_is_the_source_recorded(tmp_path):
    """The sidecar records the file actually read (a parameter may point at another copy)."""
    copy = tmp_path / "my_la_file.csv"
    copy.write_bytes(public.table_path(public.DFE_EXCLUSIONS_LA).read_bytes() + b"")
    public.load_dfe_exclusions_la(copy)
    try:
        state = provenance.official_state(chapter.public_files([public.DFE_EXCLUSIONS_LA]))
        assert list(state["files"]) == ["my_la_file.csv"]
    finally:
        public.load_dfe_exclusions_la()
    assert list(provenance.official_state(chapter.public_files([public.DFE_EXCLUSIONS_LA]))["files"]) == \
        ["data/raw/public/dfe_exclusions_la_2006_2023.csv"]


def test_an_unstamped_figure_without_sources_is_refused(tmp_path):
    ch = _chapter(tmp_path)
    with pytest.raises(ValueError, match="name its sources"):
        ch.save_figure(_fig(), "unlabelled", mark=False)
    with pytest.raises(ValueError, match="public files"):
        provenance.official_state([])


def test_an_official_table_sidecar_names_its_source(tmp_path):
    ch = _chapter(tmp_path)
    df = pd.DataFrame({"area": ["A", "B"], "pupils": [1000, 2000]})
    ch.publish(df, "official_table", preset="dfe", counts=["pupils"], id_cols=["area"],
               sources=[public.FINGERTIPS_SELFHARM_NW])
    side = json.loads((ch.layout.tables_dir / "official_table.json").read_text())
    assert side["data"]["synthetic"] is False
    assert list(side["data"]["files"]) == ["data/raw/public/fingertips_selfharm_10_24_nw_2017_18.csv"]


def _labels(fig):
    return [t for ax in fig.axes for t in ax.get_legend_handles_labels()[1]]


def test_synthetic_records_are_not_drawn_beside_official_series():
    town = pd.DataFrame({"year": ["2017/18", "2018/19"] * 3, "measure": ["suspension"] * 2 + ["one_plus"] * 2
                         + ["permanent"] * 2, "rate": [8.0, 9.0, 4.0, 4.5, 0.1, 0.2],
                         "lower": [7.0, 8.0, 3.5, 4.0, 0.05, 0.1], "upper": [9.0, 10.0, 4.5, 5.0, 0.2, 0.3]})
    wide = X.area_rates(X.dfe_rates(public.load_dfe_exclusions()))
    synth = X.plot_town_vs_dfe(town, wide, synthetic=True)
    real = X.plot_town_vs_dfe(town, wide, synthetic=False)
    assert not any("DfE" in s for s in _labels(synth)) and any("DfE" in s for s in _labels(real))
    dsr = pd.DataFrame({"financial_year": ["2016/17", "2017/18"], "dsr": [900.0, 950.0], "lower": [800.0, 850.0],
                        "upper": [1000.0, 1050.0]})
    england = pd.Series({"2016/17": 407.0, "2017/18": 421.0})
    assert not any("official" in s for s in _labels(S.plot_dsr(dsr, england, synthetic=True)))
    assert not any("official" in s for s in _labels(S.plot_dsr(dsr, england, synthetic=None)))
    assert any("official" in s for s in _labels(S.plot_dsr(dsr, england, synthetic=False)))
    plt.close("all")


def test_committed_reference_figures_are_labelled_by_what_drew_them():
    """Every committed figure without the synthetic stamp records official statistics and only public
    files; every stamped figure records the synthetic data folder."""
    checked = 0
    for svg in sorted((paths.ROOT / "figures").glob("*.svg")):
        side = svg.with_suffix(".json")
        doc = json.loads(side.read_text(encoding="utf-8"))
        checked += 1
        if doc["figure"]["synthetic_mark"]:
            assert doc["data"]["synthetic"] is True, side.name
        else:
            assert doc["data"]["synthetic"] is False, side.name
            assert doc["data"]["files"] and all(f.startswith("data/raw/public/") for f in doc["data"]["files"]), \
                side.name
    assert checked >= 20


def test_an_official_only_chapter_records_official_results_and_reads_no_data_folder(tmp_path):
    ch = _chapter(tmp_path, synthetic=True)
    ch.banner(official_only=True)
    assert ch.synthetic is False and ch.results.data["synthetic"] is False
    with pytest.raises(RuntimeError, match="official statistics only"):
        ch.table("pupils")
    path = ch.save_figure(_fig(), "stamped_by_mistake")   # a stamp asked for: none, the chapter is official
    assert json.loads(path.with_suffix(".json").read_text())["figure"]["synthetic_mark"] is False


def test_the_headstart_areas_chapter_is_recorded_as_official():
    f = paths.ROOT / "reports" / "results" / "headstart_areas.json"
    if not f.exists():
        pytest.skip("run `make all` first (make test does)")
    doc = json.loads(f.read_text())
    assert doc["data"]["synthetic"] is False
