"""The three descriptions of the environment agree: pyproject.toml (the package's pins),
requirements.lock (what the Makefile installs) and environment.yml (conda and Binder)."""
import re
import tomllib

import pytest
import yaml

from rrlib import paths


def norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pyproject_pins() -> dict:
    doc = tomllib.loads((paths.ROOT / "pyproject.toml").read_text())
    pins = {}
    for dep in doc["project"]["dependencies"]:
        m = re.fullmatch(r"\s*([A-Za-z0-9_.\-]+)\s*==\s*([^\s;]+)\s*", dep)
        assert m, f"pyproject.toml: dependency {dep!r} is not pinned exactly (name==version)"
        pins[norm(m[1])] = m[2]
    return pins


def environment_pins() -> dict:
    doc = yaml.safe_load((paths.ROOT / "environment.yml").read_text())
    pins = {}
    for dep in doc["dependencies"]:
        if isinstance(dep, dict):  # packages only on PyPI, pinned name==version under pip:
            for p in dep.get("pip", []):
                m = re.fullmatch(r"([A-Za-z0-9_.\-]+)==([^=\s]+)", str(p).split("#")[0].strip())
                if m:
                    pins[norm(m[1])] = m[2]
            continue
        if dep in ("pip",) or dep.startswith("python="):
            continue
        m = re.fullmatch(r"([A-Za-z0-9_.\-]+)=([^=\s]+)", dep)
        assert m, f"environment.yml: dependency {dep!r} is not pinned exactly (name=version)"
        pins[norm(m[1])] = m[2]
    return pins


def lock_pins() -> dict:
    pins = {}
    for line in (paths.ROOT / "requirements.lock").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        m = re.fullmatch(r"([A-Za-z0-9_.\-]+)==(\S+)", line)
        assert m, f"requirements.lock: line {line!r} is not name==version"
        pins[norm(m[1])] = m[2]
    return pins


def test_environment_yml_matches_pyproject():
    py, env = pyproject_pins(), environment_pins()
    missing = sorted(set(py) - set(env))
    extra = sorted(set(env) - set(py))
    differ = sorted(f"{k}: pyproject {py[k]} vs environment.yml {env[k]}"
                    for k in set(py) & set(env) if py[k] != env[k])
    assert not (missing or extra or differ), (
        f"environment.yml and pyproject.toml disagree: missing in environment.yml {missing}; "
        f"not in pyproject.toml {extra}; versions {differ}")


def test_environment_yml_python_and_editable_install():
    doc = yaml.safe_load((paths.ROOT / "environment.yml").read_text())
    assert "conda-forge" in doc["channels"]
    assert "python=3.11" in doc["dependencies"]
    pip = [d for d in doc["dependencies"] if isinstance(d, dict)]
    assert pip and "-e ." in pip[0]["pip"]


def test_lock_pins_every_direct_dependency_at_the_same_version():
    py, lock = pyproject_pins(), lock_pins()
    problems = [f"{k}: pyproject {v} vs lock {lock.get(k)}" for k, v in py.items() if lock.get(k) != v]
    assert not problems, "requirements.lock disagrees with pyproject.toml: " + "; ".join(problems)
    assert "rrlib" not in lock, "requirements.lock must not pin rrlib itself (installed editable)"


@pytest.mark.parametrize("pins", [pyproject_pins, environment_pins, lock_pins])
def test_pin_parsers_reject_a_loose_pin(pins, monkeypatch, tmp_path):
    """The checks above can fail: a loose pin is reported."""
    for name in ("pyproject.toml", "environment.yml", "requirements.lock"):
        text = (paths.ROOT / name).read_text()
        text = (text.replace('"pandas==2.3.3"', '"pandas>=2"').replace("pandas=2.3.3", "pandas>=2")
                .replace("pandas==2.3.3", "pandas>=2"))
        (tmp_path / name).write_text(text)
    monkeypatch.setattr(paths, "ROOT", tmp_path)
    with pytest.raises(AssertionError):
        pins()


def test_the_environment_is_exactly_the_lock():
    """The running environment is the locked one (what `make setup` installs, and Binder from the same lock):
    every locked package at its version, nothing else but rrlib and pip, and every package's requirements met
    within it (``pip check``), so the lock is closed and a resolving install of it installs exactly it."""
    import importlib.metadata as md
    import subprocess
    import sys

    got = {norm(d.metadata["Name"]): d.version for d in md.distributions()}
    lock = lock_pins()
    wrong = [f"{k} {got.get(k, 'not installed')} (lock {v})" for k, v in lock.items() if got.get(k) != v]
    assert not wrong, "installed packages differ from requirements.lock: " + ", ".join(wrong)
    extra = set(got) - set(lock) - {"rrlib", "pip"}
    assert not extra, f"installed beyond the lock: {sorted(extra)} (rerun `make setup` in a new .venv)"
    r = subprocess.run([sys.executable, "-m", "pip", "check", "--disable-pip-version-check"],
                       capture_output=True, text=True)
    assert r.returncode == 0, f"the lock is not closed under its packages' requirements:\n{r.stdout}{r.stderr}"
