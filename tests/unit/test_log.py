"""rrlib.log: console messages, -v/-q, run logs (no absolute path outside the project), progress."""
import hashlib
import logging
import shutil

import pytest

from rrlib import cli, log, paths


@pytest.fixture(autouse=True)
def _normal_verbosity():
    yield
    log.setup(0)


def test_scrub_keeps_no_absolute_path_outside_the_project(tmp_path):
    secure = tmp_path / "secure" / "raw"
    text = (f"reading {secure}/pupils.csv.gz into {paths.ROOT}/data/processed; "
            f"DfE file /mnt/share/dfe/clean_la_data.csv, home {tmp_path}/x.txt")
    out = log.scrub(text, {str(secure): "<data:raw>"})
    assert "<data:raw>/pupils.csv.gz" in out
    assert "data/processed" in out and str(paths.ROOT) not in out
    assert ".../clean_la_data.csv" in out and "/mnt/share" not in out
    assert str(tmp_path) not in out and ".../x.txt" in out


def test_console_levels_and_prefixes(capsys):
    log.setup(0)
    logger = log.get("test")
    logger.debug("hidden detail")
    logger.info("hello")
    logger.warning("careful")
    logger.error("broken")
    c = capsys.readouterr()
    assert c.out == "[rr] hello\n"
    assert c.err == "[rr] warning: careful\n[rr] error: broken\n"
    log.setup(1)
    logger.debug("detail")
    assert capsys.readouterr().out == "[rr] debug: detail\n"
    log.setup(-1)
    logger.info("quiet please")
    logger.warning("still shown")
    c = capsys.readouterr()
    assert c.out == "" and "still shown" in c.err


def test_cli_quiet_and_verbose(capsys):
    assert cli.main(["-q", "verify-data"]) == 0
    assert capsys.readouterr().out == ""
    assert cli.main(["verify-data", "-v"]) == 0
    assert "files match MANIFEST" in capsys.readouterr().out
    assert logging.getLogger("rrlib").handlers  # set up once, not once per call
    assert sum(isinstance(h, log.ConsoleHandler) for h in logging.getLogger("rrlib").handlers) == 1


def test_run_log_records_command_data_hash_parameters_and_steps(tmp_path):
    data = tmp_path / "secure" / "extract_2024"
    data.mkdir(parents=True)
    (data / "MANIFEST").write_text("abc  x.csv\n")
    out = tmp_path / "out"
    with log.run_log(f"rr prepare {data}", data_dir=data, out_dir=out,
                     parameters={"processed": str(out / "processed"), "n": 3}) as run:
        with run.step("validate"):
            log.get("data").info(f"validating {data}")
        log.record_step("pupils", 0.25, rows=10)
        run.exit_code = 0
    files = list((out / "logs").glob("*.log"))
    assert len(files) == 1 and "prepare" in files[0].name
    text = files[0].read_text()
    assert str(tmp_path) not in text            # never a path outside the project
    doc = log.read_run_log(files[0])
    h = doc["header"]
    assert h["command"] == "rr prepare <data:extract_2024>"
    assert h["data"] == {"name": "extract_2024",
                         "manifest_sha256": hashlib.sha256(b"abc  x.csv\n").hexdigest()}
    assert h["parameters"] == {"processed": "<out:out>/processed", "n": 3}
    assert "validating <data:extract_2024>" in doc["messages"]
    steps = {s["step"]: s for s in doc["summary"]["steps"]}
    assert steps["validate"]["ok"] is True and steps["pupils"] == {"step": "pupils", "seconds": 0.25, "rows": 10}
    assert doc["summary"]["exit_code"] == 0


def test_run_log_of_a_failing_step(tmp_path):
    with pytest.raises(RuntimeError):
        with log.run_log("rr report", out_dir=tmp_path) as run:
            with run.step("build"):
                raise RuntimeError("boom")
    doc = log.read_run_log(next((tmp_path / "logs").glob("*.log")))
    assert doc["summary"]["exit_code"] == "exception"
    assert doc["summary"]["steps"][0]["ok"] is False


def test_rr_prepare_writes_a_run_log(tmp_path, monkeypatch, capsys, shipped_small):
    """`rr prepare` on a data folder outside the project (the suite's small synthetic folder): one step per
    table in the run log, the folder recorded by name and MANIFEST hash only."""
    raw = tmp_path / "elsewhere" / "raw_copy"
    shutil.copytree(shipped_small, raw)
    monkeypatch.setenv(paths.OUT_ENV, str(tmp_path / "out"))
    assert cli.main(["prepare", str(raw)]) == 0
    assert "ok:" in capsys.readouterr().out
    files = list((tmp_path / "out" / "logs").glob("*_prepare_*.log"))
    assert len(files) == 1
    text = files[0].read_text()
    assert str(tmp_path) not in text
    doc = log.read_run_log(files[0])
    assert doc["header"]["data"]["name"] == "raw_copy"
    assert doc["header"]["data"]["manifest_sha256"] == log.manifest_sha256(shipped_small)
    names = [s["step"] for s in doc["summary"]["steps"]]
    assert any(n.startswith("pupils:") for n in names) and names[-1] == "prepare"
    assert doc["summary"]["exit_code"] == 0


def test_progress_is_silent_off_a_terminal(capsys):
    with log.progress(3, "work") as advance:
        for i in range(3):
            advance(1, f"part {i}")
    c = capsys.readouterr()
    assert c.out == "" and c.err == ""
