"""Citation and archive metadata: CITATION.cff, codemeta.json and codecheck.yml agree with each
other and with the compendium; codecheck.yml lists every reference figure and published table
with its checksum; no invented people or identifiers."""
import json
import re
import shutil
import tomllib

import pytest
import yaml

from rrlib import __version__, codecheck, paths, references, verify

ROOT = paths.ROOT
PLACEHOLDER = re.compile(r"FIXME|TODO|XXXXX|zenodo\.FIXME", re.I)
ORCID = re.compile(r"\b\d{4}-\d{4}-\d{4}-\d{3}[\dX]\b")
DOI = re.compile(r"\b10\.\d{4,9}/\S+")


def cff():
    return yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))


def test_citation_cff_has_what_a_citation_needs():
    c = cff()
    for key in ("cff-version", "message", "title", "version", "date-released", "license", "authors",
                "abstract", "references"):
        assert c.get(key), f"CITATION.cff: no {key}"
    assert str(c["version"]) == __version__
    proj = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert str(c["version"]) == proj["version"] and proj["license"]["text"] == c["license"]
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(c["date-released"]))
    titles = " | ".join(r["title"] for r in c["references"])
    assert "Health inequalities" in titles and "exclusions in England" in titles  # the evaluation and DfE
    for r in c["references"]:
        assert r.get("type") and r.get("title") and r.get("authors"), r
    # the repository's address is not invented: either a real field or none at all
    assert "repository-code" not in c or c["repository-code"].startswith("https://")


def test_codemeta_agrees_with_citation_cff():
    c, m = cff(), json.loads((ROOT / "codemeta.json").read_text(encoding="utf-8"))
    assert m["@context"].startswith("https://w3id.org/codemeta/")
    assert m["name"] == c["title"]
    assert m["version"] == m["softwareVersion"] == str(c["version"])
    assert m["datePublished"] == str(c["date-released"])
    assert m["license"] == f"https://spdx.org/licenses/{c['license']}"
    assert [a["name"] for a in m["author"]] == [a["name"] for a in c["authors"]]
    assert m["keywords"] == c["keywords"]
    assert " ".join(m["description"].split()) == " ".join(c["abstract"].split())
    assert m.get("codeRepository") == c.get("repository-code")


def test_no_invented_people_or_identifiers():
    for name in ("CITATION.cff", "codemeta.json", "codecheck.yml"):
        text = (ROOT / name).read_text(encoding="utf-8")
        assert not ORCID.search(text), f"{name}: an ORCID"
        assert not DOI.search(text), f"{name}: a DOI"
        assert not PLACEHOLDER.search(text.split("\n---\n", 1)[-1]), f"{name}: a placeholder value"


def test_codecheck_yml_follows_the_spec():
    text = (ROOT / "codecheck.yml").read_text(encoding="utf-8")
    body = text[text.index("\n---\n") + 1:]
    assert body.startswith("---\n"), "explicit document marker"
    doc = yaml.safe_load(body)
    assert doc["version"] == codecheck.SPEC_VERSION
    assert doc["manifest"] and all(set(i) == {"file", "comment", "sha256"} for i in doc["manifest"])
    assert all(not i["file"].startswith("/") for i in doc["manifest"]), "paths relative to codecheck.yml"
    assert doc["paper"]["title"] == cff()["references"][0]["title"]
    assert doc["paper"]["authors"] and all(a["name"] for a in doc["paper"]["authors"])
    for field in ("codechecker", "report", "certificate"):
        assert field not in doc, f"{field} is the codechecker's to fill"


def test_codecheck_lists_every_reference_figure_with_its_checksum():
    doc = yaml.safe_load((ROOT / "codecheck.yml").read_text(encoding="utf-8").split("\n---\n", 1)[1])
    listed = {i["file"]: i["sha256"] for i in doc["manifest"]}
    figures = {f"figures/{k}": v for k, v in verify.read_manifest().items()}
    assert {k: v for k, v in listed.items() if k.startswith("figures/")} == figures
    numbers = [re.match(r"(Figure|Table) (\d+)\.(\d+): ", i["comment"]) for i in doc["manifest"]]
    assert all(numbers), "every output numbered"
    tables = {k: v for k, v in listed.items() if k.startswith("reports/tables/")}
    assert tables, "the published tables are listed"
    lay = paths.layout()
    if not lay.tables_dir.exists():
        pytest.skip("no default run (make all): table checksums not compared")
    on_disk = {f"reports/tables/{p.name}": p for p in sorted(lay.tables_dir.glob("*.csv"))}
    assert set(tables) == set(on_disk), "codecheck.yml lists the run's published tables (make codecheck)"
    from rrlib.io import sha256_file
    stale = [k for k, p in on_disk.items() if sha256_file(p) != tables[k]]
    assert not stale, f"tables changed since codecheck.yml was written (make codecheck): {stale}"


def test_rr_codecheck_check_is_clean_and_fails_when_stale(tmp_path, monkeypatch):
    if not paths.layout().tables_dir.exists():
        pytest.skip("no default run (make all)")
    assert codecheck.main(check=True) == 0
    stale = tmp_path / "codecheck.yml"
    text = (ROOT / "codecheck.yml").read_text(encoding="utf-8")
    first_sha = re.search(r"sha256: ([0-9a-f]{64})", text).group(1)
    stale.write_text(text.replace(first_sha, "0" * 64, 1), encoding="utf-8")
    monkeypatch.setattr(codecheck, "CODECHECK_FILE", stale)
    assert codecheck.main(check=True) == 1
    # and the write mode brings it back
    assert codecheck.main() == 0 and stale.read_text(encoding="utf-8") == text


def test_codecheck_refuses_without_a_figures_manifest(tmp_path):
    figs = tmp_path / "figures"
    figs.mkdir()
    with pytest.raises(codecheck.CodecheckError, match="MANIFEST"):
        codecheck.manifest_items(figs, tmp_path / "tables")
    (figs / "MANIFEST").write_text("")
    with pytest.raises(codecheck.CodecheckError):
        codecheck.manifest_items(figs, tmp_path / "tables")
    shutil.copy(verify.MANIFEST_FILE, figs / "MANIFEST")
    with pytest.raises(codecheck.CodecheckError, match="tables"):
        codecheck.manifest_items(figs, tmp_path / "tables")


def test_bibliography_is_valid_and_cites_every_chapter():
    entries = references.load()
    from rrlib.chapter import NOTEBOOKS
    for ch in NOTEBOOKS:
        assert references.for_chapter(ch, entries), f"no reference registered for chapter {ch}"
    groups = {e["group"] for e in entries}
    assert {"programme", "official", "methods"} <= groups
    ids = {e["id"] for e in entries}
    assert {"dfe-sfr35-2017", "ohid-fingertips-selfharm", "ons-mye", "phe-ci-guide"} <= ids
    assert references.cite_label(next(e for e in entries if e["id"] == "dobson-1991")) == "Dobson et al. 1991"
    assert references.cite_label(next(e for e in entries if e["id"] == "breslow-day-1987")) == \
        "Breslow and Day 1987"


def test_bibliography_rejects_bad_entries(tmp_path):
    bad = tmp_path / "refs.yml"
    bad.write_text("references:\n  - id: a\n    group: methods\n    title: T\n    author: [{literal: X}]\n"
                   "  - id: a\n    group: nowhere\n    title: ''\n    chapters: [nochapter]\n")
    with pytest.raises(references.ReferencesError) as exc:
        references.load(bad)
    msg = str(exc.value)
    assert "duplicate" in msg and "no title" in msg and "no author" in msg and "nowhere" in msg \
        and "nochapter" in msg


def test_how_to_cite_comes_from_citation_cff():
    h = references.how_to_cite()
    c = cff()
    assert c["title"] in h["text"] and str(c["version"]) in h["text"] and str(c["date-released"])[:4] in h["text"]
    assert h["bibtex"].startswith("@software{") and c["title"] in h["bibtex"]
    if not c.get("repository-code"):
        assert "to be announced" in h["text"]


def test_readme_binder_badge_follows_citation_cff():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    badge = re.search(r"\(https://mybinder\.org/v2/gh/([^)]+)/HEAD\)", readme)
    assert badge, "README has a Binder badge"
    repo = cff().get("repository-code")
    if repo:
        assert badge.group(1) == repo.removeprefix("https://github.com/").rstrip("/")
    else:   # no address invented: a placeholder, marked as such
        assert badge.group(1) == "REPOSITORY-NOT-YET-PUBLISHED" and "PLACEHOLDER" in readme
