"""Residence as an ONS area code, with names from a lookup.

Health extracts (ECDS, HES) record the patient's local authority of residence as an ONS
Government Statistical Service code (``E06000009`` = Blackpool). The raw tables carry that code
(``area_code``); :func:`area_names` gives each code its name from the shipped lookup
``src/rrlib/data/ons_local_authorities.csv``.

The lookup: the local authority districts of Lancashire and its two unitary authorities
(Blackpool, Blackburn with Darwen), the codes the shipped synthetic data use and the areas
around Blackpool a real extract mostly holds. Codes and names as in the Office for National
Statistics' mid-year population estimates, "MYE2 - Persons", mid-2019 edition
(``ukmidyearestimates20192020ladcodes.xls``, sha256 836f837c6f98...c0484; Crown copyright, Open
Government Licence v3.0); unchanged for these areas from 2014 to 2023. A code that is not in the
lookup is still a valid residence (anywhere in the UK): it is named "Other" (outside the
lookup's areas), which is what the chapters' Blackpool-resident rates need.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

LOOKUP_FILE = Path(__file__).resolve().parent / "ons_local_authorities.csv"
#: ONS GSS codes: a letter for the country and eight digits (E06000009).
ONS_CODE_RE = r"^[ENSW]\d{8}$"
#: The name of a code outside the lookup.
OTHER = "Other"
LOOKUP_SOURCE = ("ONS mid-year population estimates (MYE2 - Persons), mid-2019 edition, "
                 "local authority district codes and names; Open Government Licence v3.0")


@lru_cache(maxsize=1)
def lookup() -> dict[str, str]:
    """``{ONS code: area name}`` of the shipped lookup."""
    df = pd.read_csv(LOOKUP_FILE, dtype=str)
    if not df["area_code"].is_unique:  # pragma: no cover - a unit test checks the file
        raise ValueError(f"{LOOKUP_FILE}: area_code is not unique")
    return dict(zip(df["area_code"], df["area_name"]))


def code_of(name: str) -> str:
    """The ONS code of an area name of the lookup (``"Blackpool"`` -> ``"E06000009"``)."""
    for code, n in lookup().items():
        if n == name:
            return code
    raise KeyError(f"no area named {name!r} in {LOOKUP_FILE.name}")


def area_names(codes: pd.Series) -> np.ndarray:
    """Each code's name (``"Other"`` for a code outside the lookup; missing stays missing)."""
    codes_, uniq = pd.factorize(codes, use_na_sentinel=True)
    names = np.array([lookup().get(c, OTHER) for c in uniq] + [None], dtype=object)
    return names[codes_]
