"""The shipped cuts of official statistics (data/raw/public) against the full files they come from."""
import pytest

from rrlib import cuts, paths

CUTS = cuts.all_cuts()


@pytest.mark.parametrize("name", sorted(CUTS))
def test_shipped_cut_is_what_the_full_file_gives(name):
    cut = CUTS[name]
    assert cut.path.exists(), f"data/raw/public/{name}.csv is not shipped"
    readme = (paths.PUBLIC_DIR / "README.md").read_text(encoding="utf-8")
    assert f"{name}.csv" in readme and cut.sha256 in readme, \
        f"data/raw/public/README.md must document {name}.csv with the sha256 of its full file"
    full = cut.full_path()
    if not full.exists():
        pytest.skip(f"the full file {cut.source} is not beside the project (../shared/data): "
                    "the cut cannot be compared with it")
    assert cut.build() == cut.path.read_text(encoding="utf-8"), \
        f"{name}.csv differs from what `rr cut {name}` makes from {cut.source}"


def test_a_changed_full_file_is_refused(tmp_path):
    import pandas as pd
    f = tmp_path / "x.csv"
    f.write_text("a\n1\n")
    cut = cuts.Cut(name="x", source="x.csv", sha256="0" * 64, citation="c", make=pd.read_csv)
    with pytest.raises(ValueError, match="sha256"):
        cut.build(tmp_path)
    ok = cuts.Cut(name="x", source="x.csv", sha256=cuts.sha256_of(f), citation="c", make=pd.read_csv)
    assert ok.build(tmp_path) == "a\n1\n"
