"""The foundation: paths from the package, results files, MANIFEST checks, the strict runner."""
import json
import subprocess
import sys
import time

import nbformat
import pytest

from rrlib import manifest, paths, runner
from rrlib.results import Results, load_all


def test_root_is_the_compendium_whatever_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = subprocess.run([sys.executable, "-c", "from rrlib import paths; print(paths.ROOT)"],
                         capture_output=True, text=True, cwd=tmp_path, check=True).stdout.strip()
    assert out == str(paths.ROOT)
    assert (paths.ROOT / "pyproject.toml").exists()


def test_default_layout(monkeypatch):
    monkeypatch.delenv("RR_DATA_DIR", raising=False)
    monkeypatch.delenv("RR_OUT_DIR", raising=False)
    lay = paths.layout()
    assert lay.default and lay.data_dir == paths.DEFAULT_DATA_DIR
    assert lay.figures_dir == paths.ROOT / "figures"
    assert lay.results_dir == paths.ROOT / "reports" / "results"


def test_other_data_never_writes_over_reference_figures(monkeypatch, tmp_path):
    monkeypatch.setenv("RR_DATA_DIR", str(tmp_path / "seed7"))
    monkeypatch.delenv("RR_OUT_DIR", raising=False)
    lay = paths.layout()
    assert not lay.default
    assert lay.out_dir == paths.ROOT / "output" / "seed7"
    assert lay.figures_dir == lay.out_dir / "figures" != paths.ROOT / "figures"
    monkeypatch.setenv("RR_OUT_DIR", str(tmp_path / "o"))
    assert paths.layout().processed_dir == tmp_path / "o" / "processed"


def test_results_keys_and_canonical_file(tmp_path):
    r = Results("reach", tmp_path / "results" / "reach.json")
    r.record("reach.opportunities.young_people", 10, unit="count")
    import numpy as np
    r.record("reach.coverage.share", np.float64(0.5), lower=0.4, upper=0.6, method="Wilson score")
    with pytest.raises(ValueError, match="must be dotted"):
        r.record("exclusions.rate", 1)
    with pytest.raises(ValueError):
        r.record("reach", 1)
    p = r.save()
    first = p.read_bytes()
    r.save()
    assert p.read_bytes() == first
    doc = json.loads(first)
    assert doc["results"]["reach.coverage.share"] == {
        "value": 0.5, "lower": 0.4, "upper": 0.6, "method": "Wilson score"}
    assert load_all(tmp_path / "results")["reach.opportunities.young_people"]["value"] == 10


def test_manifest_detects_a_changed_missing_or_unlisted_file(tmp_path):
    (tmp_path / "a.csv").write_text("x\n1\n")
    (tmp_path / "b.csv").write_text("y\n2\n")
    manifest.write(tmp_path, synthetic=True, seed=1)
    assert manifest.verify(tmp_path)["synthetic"] is True
    assert manifest.is_synthetic(tmp_path) is True
    (tmp_path / "a.csv").write_text("x\n999\n")
    (tmp_path / "b.csv").unlink()
    (tmp_path / "c.csv").write_text("z\n")
    with pytest.raises(manifest.ManifestError) as e:
        manifest.verify(tmp_path)
    msg = str(e.value)
    assert "a.csv: sha256" in msg and "b.csv: listed in MANIFEST but missing" in msg
    assert "c.csv: present but not listed" in msg


def _tiny_notebook(path, body="x = a * 2\nprint('result', x)"):
    nb = nbformat.v4.new_notebook()
    p = nbformat.v4.new_code_cell("a = 1\ndata_dir = None\nout_dir = None")
    p.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell("# tiny"), p, nbformat.v4.new_code_cell(body)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    nbformat.write(nb, path)
    return path


def test_runner_refuses_an_undeclared_parameter(tmp_path):
    nb = _tiny_notebook(tmp_path / "99_tiny.ipynb")
    with pytest.raises(runner.NotebookParameterError, match="unknown parameter.*typo_param"):
        runner.check_parameters(nb, {"a": 2, "typo_param": 3})
    runner.check_parameters(nb, {"a": 2, "data_dir": None})


def test_cli_run_refuses_undeclared_parameter_with_its_name(tmp_path):
    nb = _tiny_notebook(tmp_path / "99_tiny.ipynb")
    proc = subprocess.run([sys.executable, "-m", "rrlib", "run", str(nb), "-p", "colour=3",
                           "--out-dir", str(tmp_path / "out")], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "colour" in proc.stderr and "unknown parameter" in proc.stderr
    assert not (tmp_path / "out" / "notebooks" / "99_tiny.ipynb").exists()


@pytest.mark.slow
def test_runner_executes_and_reports_a_failing_cell(tmp_path):
    good = _tiny_notebook(tmp_path / "98_good.ipynb")
    out = runner.run_chapter(good, out_dir=tmp_path / "out", parameters={"a": 21}, quiet=True)
    executed = nbformat.read(out, as_version=4)
    assert "result 42" in "".join(o.get("text", "") for o in executed.cells[-1].outputs)
    bad = _tiny_notebook(tmp_path / "97_bad.ipynb", body="raise ValueError('planted failure')")
    with pytest.raises(runner.ChapterFailed, match="planted failure"):
        runner.run_chapter(bad, out_dir=tmp_path / "out", quiet=True)
    assert not (tmp_path / "out" / "notebooks" / "97_bad.ipynb").exists()
    assert (tmp_path / "out" / "notebooks" / "97_bad.failed.ipynb").exists()


def test_default_run_named_explicitly_is_still_the_default_run(monkeypatch):
    """The runner passes the resolved folders to the notebook: that must not move the reference figures."""
    monkeypatch.delenv("RR_DATA_DIR", raising=False)
    monkeypatch.delenv("RR_OUT_DIR", raising=False)
    lay = paths.layout(paths.DEFAULT_DATA_DIR, paths.ROOT / "reports")
    assert lay.default and lay.figures_dir == paths.ROOT / "figures"


def test_sidecar_is_portable_and_kept_when_the_bytes_are_the_same(tmp_path, monkeypatch):
    """A rerun that makes the same file leaves its sidecar untouched (committed reference
    figures do not churn); paths inside or beside the project are written relative to it."""
    import json

    from rrlib import paths, provenance

    out = tmp_path / "fig.svg"
    out.write_text("<svg/>", encoding="utf-8")
    params = {"data_dir": str(paths.ROOT / "data" / "raw" / "synthetic"),
              "dfe": str(paths.ROOT.parent / "shared" / "x.csv"), "elsewhere": "/elsewhere/x.csv",
              "beside": str(paths.ROOT.parent / "other" / "y.csv"), "n": 3}
    kw = dict(chapter="reach", notebook="01_reach.ipynb", parameters=params,
              data_dir=paths.DEFAULT_DATA_DIR)
    side = provenance.sidecar(out, **kw)
    first = side.read_text(encoding="utf-8")
    doc = json.loads(first)
    assert doc["parameters"]["data_dir"] == "data/raw/synthetic"
    assert doc["parameters"]["dfe"] == "../shared/x.csv"
    # outside the project: the name only (a secure environment's paths are never published)
    assert doc["parameters"]["elsewhere"] == "x.csv" and doc["parameters"]["n"] == 3
    assert doc["parameters"]["beside"] == "y.csv"
    assert doc["data"]["name"] == "synthetic" and len(doc["data"]["sha256"]) == 64
    assert "folder" not in doc["data"] and "chapter_elapsed_s" not in doc
    assert str(paths.ROOT) not in first and "/elsewhere" not in first
    real_gmtime = time.gmtime
    monkeypatch.setattr(provenance.time, "gmtime", lambda *a: real_gmtime(0))
    provenance.sidecar(out, **kw)
    assert side.read_text(encoding="utf-8") == first  # same bytes, same way: kept
    out.write_text("<svg></svg>", encoding="utf-8")
    provenance.sidecar(out, **kw)
    doc2 = json.loads(side.read_text(encoding="utf-8"))
    assert doc2["sha256"] != doc["sha256"] and doc2["created_utc"] == "1970-01-01T00:00:00Z"


def test_rr_skips_only_the_slow_optional_iri_checker():
    """`rr` commands leave out jsonschema's optional IRI checker (a second to import, never used
    by notebook validation); notebooks still validate, and a broken one is still refused."""
    code = ("import sys; from rrlib import cli; cli.main(['params', 'notebooks/01_reach.ipynb']); "
            "import nbformat, jsonschema; assert sys.modules['rfc3987_syntax'] is None; "
            "nb = nbformat.v4.new_notebook(); nbformat.validate(nb); "
            "nb.cells.append({'cell_type': 'bogus', 'source': '', 'metadata': {}}); "
            "import pytest; pytest.raises(nbformat.ValidationError, nbformat.validate, nb); print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=paths.ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().endswith("ok")


def test_one_slug_for_year_keys():
    """Years, waves and financial years become key parts one way (rrlib.results.key_part, issue 28)."""
    from rrlib.chapters import selfharm, wmf
    from rrlib.results import KEY_RE, key_part

    assert key_part("2019/20") == "2019_20" and key_part(2018) == "2018"
    assert wmf.wave_key("2017/18") == key_part("2017/18")
    assert KEY_RE.match("selfharm.admissions." + selfharm._fy("2018/19"))


def test_every_results_row_names_its_estimate_value():
    """One results-row builder (rrlib.results.row/frame, issue 28): in the chapters' code, every dict that
    builds a results row (it has a "key") calls the estimate "value", never "estimate"; and frame() gives
    the columns record_frame records."""
    import ast

    from rrlib import paths
    from rrlib.results import RESULT_COLUMNS, frame, row

    assert list(frame([row("reach.x.y", 3, n=4.0)]).columns) == list(RESULT_COLUMNS)
    assert frame([row("reach.x.y", 3, n=4.0)])["n"].iloc[0] == 4 and RESULT_COLUMNS[1] == "value"
    bad = []
    for f in sorted((paths.ROOT / "src" / "rrlib" / "chapters").rglob("*.py")):
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Dict):
                keys = {k.value for k in node.keys if isinstance(k, ast.Constant)}
                if "key" in keys and "estimate" in keys:
                    bad.append(f"{f.name}:{node.lineno}")
    assert not bad, f"results rows naming the estimate 'estimate' (use rrlib.results.row): {bad}"


def test_no_two_test_modules_share_a_name():
    """Test folders have no __init__.py, so pytest imports modules by their file name: two with one name
    (unit/test_book.py and integration/test_book.py) stop the whole run with "import file mismatch"."""
    from collections import Counter

    from rrlib import paths

    names = Counter(p.name for p in (paths.ROOT / "tests").rglob("test_*.py"))
    assert not [n for n, k in names.items() if k > 1]
