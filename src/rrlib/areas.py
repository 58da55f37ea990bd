"""Which local authority a run is for: ``make all AREA=<name or code>`` (issue 24).

An authority is named by its DfE old LA code (``886``), its ONS code (``E10000016``) or its name
(``kent``, ``North Northamptonshire``), matched without regard to case, from the shipped DfE code list
(``data/raw/public/dfe_la_codes.csv``: old code, ONS code, name, first and last school year in the DfE
exclusions series). Blackpool (890) is the default. An authority that is not in the list raises
:class:`UnknownArea`, whose message is one line with the closest names (:func:`difflib.get_close_matches`).

The first and last years tell the untidy cases apart: an authority created by a boundary change
(Bournemouth, Christchurch and Poole and the new Dorset from 2019/20; North and West Northamptonshire from
2021/22) has no years before the programme (:attr:`Area.boundary_note`); an authority whose ONS code
changed with the same DfE code (Buckinghamshire, E10000002 to E06000060 in 2021/22) keeps one series.

Standard library only: the Makefile calls ``python -m rrlib.areas slug <area>`` before set-up, and
:mod:`rrlib.chapter` reads ``RR_AREA`` through :func:`from_env`.
"""
from __future__ import annotations

import csv
import difflib
import os
import re
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

CODES_FILE = Path(__file__).resolve().parents[2] / "data" / "raw" / "public" / "dfe_la_codes.csv"
DEFAULT = "890"
ENV = "RR_AREA"


class UnknownArea(ValueError):
    """No authority of that name or code; the message lists the closest names."""


@dataclass(frozen=True)
class Area:
    code: str                    # DfE old LA code, e.g. "886"
    ons_codes: tuple[str, ...]   # ONS codes it has had, oldest first
    name: str                    # the DfE series' name
    first_year: str              # first school year in the DfE exclusions series
    last_year: str

    @property
    def slug(self) -> str:
        return re.sub(r"[^a-z0-9]+", "-", self.name.lower()).strip("-")

    @property
    def is_default(self) -> bool:
        return self.code == DEFAULT

    @property
    def ons_code(self) -> str:
        return self.ons_codes[-1]

    def boundary_note(self, first_needed: str = "2006/07") -> str | None:
        """A sentence when the authority's series starts after ``first_needed`` (a boundary change),
        else None."""
        if self.first_year > first_needed:
            return (f"{self.name} exists in the DfE series only from {self.first_year} (a boundary change: the "
                    f"authority was formed then), so it has no years before the programme to compare")
        return None


@lru_cache(maxsize=4)
def _rows(path: str = str(CODES_FILE)) -> tuple[dict, ...]:
    with open(path, newline="", encoding="utf-8") as f:
        return tuple(csv.DictReader(f))


def all_areas(path: Path | str = CODES_FILE) -> dict[str, Area]:
    """Every authority of the code list by DfE old code."""
    by: dict[str, list[dict]] = {}
    for r in _rows(str(path)):
        by.setdefault(r["old_la_code"], []).append(r)
    out = {}
    for code, rs in by.items():
        rs = sorted(rs, key=lambda r: r["first_year"])
        out[code] = Area(code=code, ons_codes=tuple(r["new_la_code"] for r in rs), name=rs[-1]["la_name"],
                         first_year=rs[0]["first_year"], last_year=rs[-1]["last_year"])
    return out


def _norm(s: str) -> str:
    return re.sub(r"\s+", " ", s.strip().lower().replace("&", "and"))


def resolve(query: str | None, path: Path | str = CODES_FILE) -> Area:
    """The authority named by ``query`` (DfE old code, ONS code or name, any case; None or empty:
    Blackpool). :class:`UnknownArea` with the closest names otherwise."""
    areas = all_areas(path)
    q = _norm(str(query or DEFAULT))
    if q in areas:
        return areas[q]
    for a in sorted(areas.values(), key=lambda a: a.last_year, reverse=True):  # a name reused: the current one
        if q in (c.lower() for c in a.ons_codes) or q == _norm(a.name):
            return a
    names = sorted({a.name for a in areas.values()})
    close = difflib.get_close_matches(q, [_norm(n) for n in names], n=3, cutoff=0.4)
    close_names = [n for c in close for n in names if _norm(n) == c]
    hint = ", ".join(close_names) if close_names else "none close; see data/raw/public/dfe_la_codes.csv"
    raise UnknownArea(f"unknown area {query!r}: closest names {hint}")


def from_env() -> Area:
    """The run's authority: ``RR_AREA`` (set by ``make all AREA=...``), Blackpool by default."""
    return resolve(os.environ.get(ENV) or None)


def main(argv: list[str] | None = None) -> int:
    """``python -m rrlib.areas slug|code|name <area>``: one line; unknown area: one line on stderr, exit 2."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if len(argv) != 2 or argv[0] not in ("slug", "code", "name"):
        print("usage: python -m rrlib.areas slug|code|name <area>", file=sys.stderr)
        return 2
    try:
        a = resolve(argv[1])
    except UnknownArea as exc:
        print(exc, file=sys.stderr)
        return 2
    print(getattr(a, argv[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
