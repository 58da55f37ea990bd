"""Cuts of the real public statistics shipped in ``data/raw/public/``.

The full official files live outside the repository (``../shared/data/<folder>/``, each with a
SOURCE.md); the compendium ships only the cuts its chapters read, so that a fresh clone
reproduces every reference figure without them. Each cut is one module in this package that
defines a :class:`Cut` named ``CUT``:

* ``name``: the shipped file ``data/raw/public/<name>.csv``;
* ``source``: the full file, relative to the shared data folder (``../shared/data``);
* ``sha256``: the sha256 of that full file (the cut is refused if the full file differs);
* ``citation`` and ``licence`` (Open Government Licence v3.0 for DfE, OHID Fingertips, ONS);
* ``make(full_path) -> DataFrame``: the cut itself, a pure function of the full file.

``rr cut`` (``python -m rrlib.cuts``) remakes every cut (or the ones named) from the full files
and writes them byte-for-byte deterministically; ``rr cut --check`` compares the shipped cuts
with what the full files give, without writing. The tests run the check when ``../shared`` is
there and skip, saying why, when it is not. Each cut's README section (``data/raw/public/README.md``)
gives its citation, licence, the sha256 of the full file and this command.
"""
from __future__ import annotations

import argparse
import hashlib
import importlib
import pkgutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pandas as pd

from .. import log, paths
from ..io import atomic_write_text

logger = log.get("cuts")

OGL = "Open Government Licence v3.0 (© Crown copyright)"


@dataclass(frozen=True)
class Cut:
    name: str
    source: str
    sha256: str
    citation: str
    make: Callable[[Path], pd.DataFrame]
    licence: str = OGL
    description: str = ""

    @property
    def path(self) -> Path:
        return paths.PUBLIC_DIR / f"{self.name}.csv"

    def full_path(self, shared_dir: Path | None = None) -> Path:
        return Path(shared_dir or paths.SHARED_DATA_DIR) / self.source

    def build(self, shared_dir: Path | None = None) -> str:
        """The cut as CSV text, made from the full file (whose sha256 must match)."""
        full = self.full_path(shared_dir)
        if not full.exists():
            raise FileNotFoundError(f"cut {self.name}: the full file {self.source} is not in "
                                    f"{Path(shared_dir or paths.SHARED_DATA_DIR).name}/")
        digest = sha256_of(full)
        if digest != self.sha256:
            raise ValueError(f"cut {self.name}: {self.source} has sha256 {digest}, not the {self.sha256} "
                             "this cut was written for: the official file changed; review the cut")
        df = self.make(full)
        return df.to_csv(index=False, lineterminator="\n")


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def all_cuts() -> dict[str, Cut]:
    """Every cut defined in this package, by name."""
    out: dict[str, Cut] = {}
    for m in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        mod = importlib.import_module(f"{__name__}.{m.name}")
        cut = getattr(mod, "CUT", None)
        if isinstance(cut, Cut):
            if cut.name in out:
                raise ValueError(f"cut {cut.name!r} defined twice")
            out[cut.name] = cut
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="rr cut", description="remake (or --check) the shipped public cuts "
                                "from the full official files in ../shared/data")
    p.add_argument("names", nargs="*", help="cuts to make (default: all)")
    p.add_argument("--check", action="store_true", help="compare, do not write; exit 1 on a difference")
    p.add_argument("--shared", default=None, help="folder of the full files (default ../shared/data)")
    a = p.parse_args(argv)
    log.setup()
    cuts = all_cuts()
    unknown = sorted(set(a.names) - set(cuts))
    if unknown:
        logger.error(f"rr cut: unknown cut(s) {', '.join(unknown)}; known: {', '.join(cuts)}")
        return 2
    status = 0
    for name in a.names or list(cuts):
        cut = cuts[name]
        try:
            text = cut.build(Path(a.shared) if a.shared else None)
        except (FileNotFoundError, ValueError) as exc:
            logger.error(f"rr cut: {exc}")
            status = max(status, 2)
            continue
        same = cut.path.exists() and cut.path.read_text(encoding="utf-8") == text
        if a.check:
            logger.info(f"cut {name}: {'identical to' if same else 'DIFFERS from'} what {cut.source} gives")
            status = status if same else max(status, 1)
        elif not same:
            atomic_write_text(cut.path, text)
            logger.info(f"cut {name}: wrote data/raw/public/{name}.csv from {cut.source}")
        else:
            logger.info(f"cut {name}: unchanged")
    return status


if __name__ == "__main__":
    sys.exit(main())
