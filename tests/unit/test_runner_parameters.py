"""`rr run -p` with a value of the wrong type: one line naming the parameter and what it expects
(issue 17.4), checked against the notebook's declared default before anything runs."""
from __future__ import annotations

import datetime as dt
import subprocess
import sys

import nbformat
import pytest

from rrlib import runner


def _notebook(path, source):
    nb = nbformat.v4.new_notebook()
    p = nbformat.v4.new_code_cell(source)
    p.metadata["tags"] = ["parameters"]
    nb.cells = [p, nbformat.v4.new_code_cell("print('ran')")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    nbformat.write(nb, path)
    return path


PARAMS = """data_dir = None
out_dir = None
financial_year = "2017/18"
waves = ["2016/17", "2017/18"]
confidence = 0.95
age_min = 10
independent = False
focus_year = None
area: str = None
"""


@pytest.mark.parametrize("name, value, words", [
    ("financial_year", dt.date(2017, 4, 1), ["financial_year", "expected text", "a date 2017-04-01", "quote"]),
    ("financial_year", ["2017/18"], ["financial_year", "expected text", "a list"]),
    ("financial_year", 2017, ["financial_year", "expected text", "whole number 2017"]),
    ("waves", "2016/17", ["waves", "expected a list of text", "text '2016/17'"]),
    ("waves", [dt.date(2016, 9, 1)], ["waves", "a list of text", "quote each"]),
    ("waves", [2016], ["waves", "a list of text"]),
    ("confidence", "high", ["confidence", "expected a number", "text 'high'"]),
    ("age_min", 10.5, ["age_min", "expected a whole number"]),
    ("age_min", True, ["age_min", "expected a whole number", "boolean true"]),
    ("independent", "no", ["independent", "expected true or false"]),
    ("focus_year", dt.date(2019, 1, 1), ["focus_year", "a date 2019-01-01"]),
    ("focus_year", [dt.date(2019, 1, 1)], ["focus_year", "quote each"]),
    ("area", 3, ["area", "expected text", "whole number 3"]),
])
def test_wrong_type_is_one_line_naming_the_parameter(tmp_path, name, value, words):
    nb = _notebook(tmp_path / "t.ipynb", PARAMS)
    with pytest.raises(runner.NotebookParameterError) as e:
        runner.check_parameters(nb, {name: value})
    msg = str(e.value)
    assert "\n" not in msg
    for w in words:
        assert w in msg, (w, msg)


@pytest.mark.parametrize("name, value", [
    ("financial_year", "2018/19"), ("waves", ["2016/17"]), ("waves", []), ("confidence", 0.9),
    ("confidence", 1), ("age_min", 11), ("independent", True), ("focus_year", "2019/20"),
    ("focus_year", 2019), ("focus_year", None), ("area", "Blackpool"), ("area", None),
    ("data_dir", "/tmp/x"),
])
def test_values_of_the_declared_type_pass(tmp_path, name, value):
    nb = _notebook(tmp_path / "t.ipynb", PARAMS)
    runner.check_parameters(nb, {name: value})


def test_cli_reports_a_yaml_date_as_one_line_without_traceback(tmp_path):
    nb = _notebook(tmp_path / "t.ipynb", PARAMS)
    proc = subprocess.run([sys.executable, "-m", "rrlib", "run", str(nb), "-p", "financial_year=2017-04-01",
                           "--out-dir", str(tmp_path / "out")], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    lines = [x for x in proc.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and "financial_year" in lines[0] and "expected text" in lines[0], proc.stderr
    assert not (tmp_path / "out" / "notebooks" / "t.ipynb").exists()
