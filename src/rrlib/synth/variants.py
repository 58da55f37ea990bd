"""Variant data folders: the synthetic folder reshaped the way real extracts differ from it.

Real extracts are not shaped like the shipped synthetic folder: a census that starts later, a
financial year without admissions, more survey areas and waves, programme records running into
2023, the exclusion reason codes of recent years, tables that are simply not there. Each
:class:`Variant` is one such difference, as a transformation of a folder made by ``rr synth``
(:func:`make` applies several to a copy and refreshes its MANIFEST). The tests
(``tests/integration/test_variants.py``) run every chapter on them.

Tables are read and written as text (every cell kept as written), so a transformation changes
only what it means to change. A folder made here is synthetic and its MANIFEST says so, with the
variants applied (``variants:``).

Command line (for chapter engineers trying a variant)::

    python -m rrlib.synth.variants OUT_DIR VARIANT [VARIANT ...] [--base DIR] [--scale 0.05]
"""
from __future__ import annotations

import argparse
import gzip
import io
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from .. import manifest
from ..data import tables
from ..data.education import REASON_CODE_YEARS
from . import DEFAULT_SEED, csv_bytes, generate, gzip_bytes

# --------------------------------------------------------------------------- folder as text tables

class Folder:
    """A raw data folder's tables as text frames (read lazily, written back by :meth:`save`)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.frames: dict[str, pd.DataFrame] = {}
        self.removed: set[str] = set()
        self.manifest_fields: dict = {}

    def has(self, name: str) -> bool:
        return name not in self.removed and (self.path / f"{name}.csv.gz").exists()

    def __getitem__(self, name: str) -> pd.DataFrame:
        if name not in self.frames:
            raw = gzip.decompress((self.path / f"{name}.csv.gz").read_bytes())
            self.frames[name] = pd.read_csv(io.BytesIO(raw), dtype=str, keep_default_na=False)
        return self.frames[name]

    def __setitem__(self, name: str, df: pd.DataFrame) -> None:
        self.frames[name] = df.reset_index(drop=True)

    def remove(self, name: str) -> None:
        self.removed.add(name)
        self.frames.pop(name, None)

    def save(self, variants: list[str]) -> None:
        for name, df in self.frames.items():
            text = csv_bytes(df)
            (self.path / f"{name}.csv.gz").write_bytes(gzip_bytes(text))
        for name in self.removed:
            (self.path / f"{name}.csv.gz").unlink(missing_ok=True)
        doc = manifest.read(self.path)
        doc.pop("files", None)
        doc.update(self.manifest_fields)
        doc["variants"] = list(variants)
        synthetic = bool(doc.pop("synthetic", True))
        manifest.write(self.path, synthetic=synthetic, **doc)


def _start_year(academic_year: pd.Series) -> pd.Series:
    return pd.to_numeric(academic_year.str.slice(0, 4), errors="coerce")


def _new_ids(prefix: str, existing: pd.Series, n: int, digits: int) -> list[str]:
    """``n`` fresh ids ``prefix`` + digits, above every numeric id in ``existing``."""
    nums = pd.to_numeric(existing.str.slice(len(prefix)), errors="coerce")
    top = int(nums.max()) if nums.notna().any() else 0
    return [f"{prefix}{top + i:0{digits}d}" for i in range(1, n + 1)]


def _dependants(name: str) -> list[str]:
    """``name`` and every registered table whose foreign keys lead to it (transitively)."""

    specs = tables()
    out = [name]
    changed = True
    while changed:
        changed = False
        for t in specs.values():
            if t.name not in out and any(other in out for _, other, _ in t.foreign_keys):
                out.append(t.name)
                changed = True
    return out


# --------------------------------------------------------------------------- the variants

@dataclass(frozen=True)
class Variant:
    """One way a real extract differs from the shipped folder.

    ``tables``: the raw tables it changes or removes (the chapters reading them are the ones it
    can affect; :data:`CHAPTER_TABLES`). ``no_input``: the pieces of results keys (dotted parts,
    e.g. ``y2014_15``, ``fy2017_18``) whose inputs the variant removes: a result of a year the
    data no longer has is not expected (every result *whose inputs exist* is).
    """

    name: str
    description: str
    apply: Callable[[Folder], None]
    tables: tuple[str, ...] = field(default_factory=tuple)
    no_input: tuple[str, ...] = field(default_factory=tuple)


def _census_from_2016_17(f: Folder) -> None:
    """The census (and the exclusions and attendance returns linked to it) from 2016/17 only."""
    for t in ("pupils", "exclusions", "school_attendance"):
        if f.has(t):
            df = f[t]
            f[t] = df[_start_year(df["academic_year"]) >= 2016]
    _drop_dangling_pupils(f)


def _drop_dangling_pupils(f: Folder) -> None:
    """Rows of other tables whose census pupil is no longer in the census go too (an extract
    linked to a shorter census has no such rows)."""

    pupils = set(f["pupils"]["pupil_id"])
    for name, t in tables().items():
        if name == "pupils" or not f.has(name):
            continue
        for col, other, _ in t.foreign_keys:
            if other == "pupils":
                df = f[name]
                f[name] = df[df[col].isin(pupils) | (df[col] == "")]
    if f.has("attendance"):  # young people of the monitoring log are census pupils
        att = f["attendance"]
        f["attendance"] = att[(att["role"] != "young_person") | att["person_id"].isin(pupils)]
    for child, parent, key in (("sdq_targeted", "interventions", "episode_id"),
                               ("goals", "interventions", "episode_id"),
                               ("goal_ratings", "goals", "goal_id")):
        if f.has(child) and f.has(parent):
            df = f[child]
            f[child] = df[df[key].isin(set(f[parent][key]))]


def _no_admissions_2017_18(f: Folder) -> None:
    adm = f["admissions"]
    f["admissions"] = adm[adm["financial_year"] != "2017/18"]


def _seventh_area_sixth_wave(f: Folder) -> None:
    """A seventh survey area (a copy of one area's responses, new ids) and a sixth wave (the last
    wave's Year 9 snapshot answered again a year later by new respondents)."""
    wmf = f["wmf_survey"]
    areas = sorted(set(wmf["area"]))
    donor = "Hull" if "Hull" in areas else areas[-1]
    seventh = wmf[wmf["area"] == donor].copy()
    seventh["area"] = "Synthetic Area Seven"
    seventh["school_id"] = "W-SVN-" + seventh["school_id"].str[-3:]
    old_resp = pd.Series(sorted(set(seventh["respondent_id"])))
    new_resp = dict(zip(old_resp, _new_ids("WR", wmf["respondent_id"], len(old_resp), 7)))
    seventh["respondent_id"] = seventh["respondent_id"].map(new_resp)
    seventh["response_id"] = _new_ids("WMF", wmf["response_id"], len(seventh), 7)
    both = pd.concat([wmf, seventh], ignore_index=True)
    last = max(set(both["wave"]), key=lambda w: int(w[:4]))
    nxt = f"{int(last[:4]) + 1}/{(int(last[:4]) + 2) % 100:02d}"
    sixth = both[(both["wave"] == last) & (both["sample"] == "snapshot")].copy()
    sixth["wave"] = nxt
    old_resp = pd.Series(sorted(set(sixth["respondent_id"])))
    new_resp = dict(zip(old_resp, _new_ids("WR", both["respondent_id"], len(old_resp), 7)))
    sixth["respondent_id"] = sixth["respondent_id"].map(new_resp)
    sixth["response_id"] = _new_ids("WMF", both["response_id"], len(sixth), 7)
    f["wmf_survey"] = pd.concat([both, sixth], ignore_index=True).sort_values("response_id")


def _programme_to_2023(f: Folder) -> None:
    """Programme records into 2023: the last school year's activities repeated a year later (new
    activity ids, same registers), open support episodes closed in March 2023, and the folder's
    study window extended to 31 August 2023."""
    if f.has("activities"):
        act = f["activities"]
        d = pd.to_datetime(act["activity_date"])
        last = act[d >= pd.Timestamp(d.max().year - (d.max().month < 9), 9, 1)].copy()
        new = dict(zip(last["activity_id"], _new_ids("ACT", act["activity_id"], len(last), 6)))
        last["activity_date"] = (pd.to_datetime(last["activity_date"]) + pd.DateOffset(years=1)
                                 ).dt.strftime("%Y-%m-%d")
        last["activity_id"] = last["activity_id"].map(new)
        f["activities"] = pd.concat([act, last], ignore_index=True)
        if f.has("attendance"):
            att = f["attendance"]
            more = att[att["activity_id"].isin(list(new))].copy()
            more["activity_id"] = more["activity_id"].map(new)
            f["attendance"] = pd.concat([att, more], ignore_index=True).sort_values(
                ["activity_id", "person_id"])
    if f.has("interventions"):
        iv = f["interventions"].copy()
        open_ = (iv["end_date"] == "") & (iv["start_date"] != "")
        iv.loc[open_, "end_date"] = "2023-03-31"
        iv.loc[open_, "end_reason"] = "completed"
        f["interventions"] = iv
    f.manifest_fields["window"] = {"start": "2016-09-01", "end": "2023-08-31"}


def _newer_reason_codes(f: Folder) -> None:
    """Every reason code DfE introduced in 2020/21 used in each year from 2020/21 (a fifth of
    those years' exclusions recoded in turn to OW, LG, DS, MT, PH)."""

    exc = f["exclusions"].copy()
    new = [c for c, (first, _) in REASON_CODE_YEARS.items() if first is not None]
    recent = np.flatnonzero((_start_year(exc["academic_year"]) >= 2020).to_numpy())
    pick = recent[::5]
    exc.loc[exc.index[pick], "reason_code"] = [new[i % len(new)] for i in range(len(pick))]
    f["exclusions"] = exc


def _without(name: str) -> Callable[[Folder], None]:
    def apply(f: Folder) -> None:
        for t in _dependants(name):
            f.remove(t)
    apply.__doc__ = f"The folder has no {name} table (nor the tables that refer to it)."
    return apply


def _optional_tables() -> list[str]:
    return [n for n, t in tables().items() if not t.required]


VARIANTS: dict[str, Variant] = {v.name: v for v in [
    Variant("census_from_2016_17", "school census (and exclusions, attendance) from 2016/17 only",
            _census_from_2016_17, ("pupils", "exclusions", "school_attendance", "interventions",
                                   "sdq_targeted", "goals", "goal_ratings", "attendance",
                                   "selfharm_support"), no_input=("y2014_15", "y2015_16")),
    Variant("no_admissions_2017_18", "a financial year without admissions (2017/18 removed)",
            _no_admissions_2017_18, ("admissions",), no_input=("fy2017_18",)),
    Variant("seventh_area_sixth_wave", "a seventh survey area and a sixth wave",
            _seventh_area_sixth_wave, ("wmf_survey",)),
    Variant("programme_to_2023", "programme records to 2023 (study window to 31 August 2023)",
            _programme_to_2023, ("activities", "attendance", "interventions")),
    Variant("newer_reason_codes", "the exclusion reason codes introduced in 2020/21, every one used",
            _newer_reason_codes, ("exclusions",)),
    *[Variant(f"without_{n}", f"no {n} table (nor the tables that refer to it)", _without(n),
              tuple(_dependants(n))) for n in _optional_tables()],
]}

#: The raw tables each chapter reads (through its processed tables).
CHAPTER_TABLES = {
    "01_reach": ("schools", "pupils", "activities", "attendance", "population"),
    "02_exclusions": ("schools", "pupils", "exclusions", "attendance", "activities", "interventions"),
    "03_wmf_comparisons": ("wmf_survey",),
    "04_self_harm_readmissions": ("ed_attendances", "admissions", "selfharm_support", "population", "pupils"),
    "05_targeted_interventions": ("pupils", "exclusions", "school_attendance", "interventions",
                                  "sdq_targeted", "goals", "goal_ratings"),
}


def affected_chapters(variants: list[str]) -> set[str]:
    """The chapters that read a table one of ``variants`` changes."""
    touched = {t for v in variants for t in VARIANTS[v].tables}
    return {c for c, ts in CHAPTER_TABLES.items() if touched & set(ts)}


def groups(names: list[str] | None = None) -> list[list[str]]:
    """``names`` (default: every variant) packed into few folders: variants go together only when
    no chapter reads tables that two of them change (so each chapter meets at most one variant
    per folder, and a skipped section has one cause). Greedy, in the given order."""
    names = list(VARIANTS) if names is None else list(names)
    out: list[list[str]] = []
    seen: list[set[str]] = []
    for v in names:
        chs = affected_chapters([v])
        for g, s in zip(out, seen):
            if not (s & chs):
                g.append(v)
                s |= chs
                break
        else:
            out.append([v])
            seen.append(set(chs))
    return out


def make(base: str | Path, out: str | Path, variants: list[str]) -> Path:
    """Copy the raw folder ``base`` to ``out`` (replaced) and apply ``variants`` in order;
    the MANIFEST is rewritten (sums, ``variants:``, and a variant's study window)."""
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        raise KeyError(f"unknown variants {unknown}; known: {', '.join(VARIANTS)}")
    base, out = Path(base), Path(out)
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(base, out)
    f = Folder(out)
    for v in variants:
        VARIANTS[v].apply(f)
    f.save(variants)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m rrlib.synth.variants", description=__doc__.split("\n")[0])
    p.add_argument("out")
    p.add_argument("variants", nargs="+", help="; ".join(f"{k}: {v.description}" for k, v in VARIANTS.items()))
    p.add_argument("--base", default=None, help="raw folder to start from (default: rr synth at --scale)")
    p.add_argument("--scale", type=float, default=0.05)
    a = p.parse_args(argv)
    base = a.base
    if base is None:
        base = Path(a.out).with_name(Path(a.out).name + ".base")
        generate(base, seed=DEFAULT_SEED, scale=a.scale)
    try:
        make(base, a.out, a.variants)
    except KeyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {a.out} ({', '.join(a.variants)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
