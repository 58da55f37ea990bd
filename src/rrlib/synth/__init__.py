"""Calibrated synthetic data with exactly the schema of the real sources.

``generate(out_dir, seed=..., scale=1)`` builds the whole raw data folder from one seed:
each domain module ``rrlib.synth.<domain>`` (same domains as :mod:`rrlib.data`) has a
``generate(ctx: SynthContext) -> dict[str, DataFrame]`` and a parameter file
``rrlib/synth/params/<domain>.yml`` that names, for every calibration target, the published
figure it reproduces and its source id (A01..B09, C). Same seed, scale and parameters:
byte-identical files.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

PARAMS_DIR = Path(__file__).resolve().parent / "params"
DEFAULT_SEED = 20160901
GENERATOR_VERSION = "0.1.0"


@dataclass
class SynthContext:
    """What a domain generator gets: the seed, the scale, its parameters, and the tables made so far."""

    seed: int
    scale: float
    params: dict
    tables: dict = field(default_factory=dict)

    def rng(self, name: str) -> np.random.Generator:
        """An independent random generator for one named step, fixed by (seed, name).

        Steps get their own streams, so a change in one table's generator does not move
        the random numbers of another.
        """
        digest = hashlib.sha256(f"{self.seed}:{name}".encode()).digest()
        return np.random.default_rng(int.from_bytes(digest[:8], "little"))

    def n(self, count: float) -> int:
        """A count of units scaled by ``scale`` (at least 1)."""
        return max(1, int(round(count * self.scale)))


def load_params(domain: str) -> dict:
    f = PARAMS_DIR / f"{domain}.yml"
    return yaml.safe_load(f.read_text(encoding="utf-8")) if f.exists() else {}


def params_digest() -> str:
    """sha256 over every parameter file, recorded in the MANIFEST."""
    h = hashlib.sha256()
    for f in sorted(PARAMS_DIR.glob("*.yml")):
        h.update(f.name.encode() + b"\0" + f.read_bytes())
    return h.hexdigest()
