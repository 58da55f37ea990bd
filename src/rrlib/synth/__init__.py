"""Calibrated synthetic data with exactly the schema of the real sources.

``generate(out_dir, seed=..., scale=1)`` builds the whole raw data folder from one seed:
each domain module ``rrlib.synth.<domain>`` (same domains as :mod:`rrlib.data`) has a
``generate(ctx: SynthContext) -> dict[str, DataFrame]`` and a parameter file
``rrlib/synth/params/<domain>.yml`` that names, for every calibration target, the published
figure it reproduces and its source id (A01..B09, C). Same seed, scale and parameters:
byte-identical files.

Domains run in :data:`rrlib.data.DOMAINS` order; a domain whose module does not exist yet is
skipped. A domain sees the tables of earlier domains in ``ctx.tables`` (e.g. ``ctx.tables["pupils"]``).

Parameter files (YAML). Free-form, plus two keys the codebook (``data/raw/README.md``) prints::

    targets:                 # one entry per calibration target
      - id: A11              # published figure id (A01..A20, B01..B09, C)
        figure: Fixed-period exclusion rate, Blackpool, 2018/19
        published: 12.48%
        how: per-pupil suspension counts scaled to the target in 2018/19
    choices:                 # where sources conflict or are silent: what was chosen, why
      - "A11 states no year; 2018/19 is used (England 5.36% fits 2018/19)."

Output files: ``<table>.csv.gz`` (gzip with mtime 0 and no file name, columns in the schema's
order, rows sorted by the table's key, floats with a fixed format, dates ISO, booleans
``true``/``false``), then the ``MANIFEST``. Everything is written to a temporary folder beside
``out_dir`` and renamed into place at the end.
"""
from __future__ import annotations

import csv
import gzip
import hashlib
import importlib
import io
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import yaml

PARAMS_DIR = Path(__file__).resolve().parent / "params"
DEFAULT_SEED = 20160901
GENERATOR_VERSION = "0.1.0"
#: The study window the synthetic folder declares in its MANIFEST (the programme's records run
#: from its first school year to the end of the 2021/22 school year; :mod:`rrlib.data.window`).
STUDY_WINDOW = {"start": "2016-09-01", "end": "2022-08-31"}
#: Float format of the CSV files (fixed, so the bytes do not depend on repr details).
FLOAT_FORMAT = "%.6f"

from .. import manifest  # noqa: E402
from ..data import DOMAINS, tables  # noqa: E402


@dataclass
class SynthContext:
    """What a domain generator gets: the seed, the scale, its parameters, and the tables made so far."""

    seed: int
    scale: float
    params: dict
    tables: dict = field(default_factory=dict)
    domain: str = ""

    def rng(self, name: str) -> np.random.Generator:
        """An independent random generator for one named step, fixed by (seed, domain, name).

        Steps get their own streams, so a change in one table's generator does not move
        the random numbers of another (nor of another domain using the same step name).
        """
        label = f"{self.seed}:{self.domain}:{name}" if self.domain else f"{self.seed}:{name}"
        digest = hashlib.sha256(label.encode()).digest()
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


def domain_generators(domains=None) -> list[tuple[str, object]]:
    """``[(domain, module)]`` of the generator modules that exist, in DOMAINS order."""
    out = []
    for name in DOMAINS:
        if domains is not None and name not in domains:
            continue
        try:
            out.append((name, importlib.import_module(f"{__name__}.{name}")))
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
    return out


# --------------------------------------------------------------------------- writing

def _ordered(name: str, df: pd.DataFrame) -> pd.DataFrame:
    """Columns in the schema's order and rows sorted by the key (or by every column)."""

    spec = tables().get(name)
    if spec is not None:
        cols = spec.column_names
        missing = [c for c in cols if c not in df.columns]
        extra = [c for c in df.columns if c not in cols]
        if missing or extra:
            raise ValueError(f"synthetic table {name!r} does not match its schema: "
                             f"missing columns {missing}, unexpected columns {extra}")
        df = df[cols]
        key = list(spec.key) or cols
    else:
        key = list(df.columns)
    return df.sort_values(key, kind="mergesort", na_position="first").reset_index(drop=True)


def _csv_bytes_pandas(df: pd.DataFrame) -> bytes:
    out = {}
    for c in df.columns:
        s = df[c]
        if pd.api.types.is_datetime64_any_dtype(s):
            out[c] = s.dt.strftime("%Y-%m-%d")
        elif pd.api.types.is_bool_dtype(s):
            out[c] = s.map({True: "true", False: "false"})
        else:
            out[c] = s
    frame = pd.DataFrame(out)
    return frame.to_csv(index=False, float_format=FLOAT_FORMAT, lineterminator="\n").encode("utf-8")


_NEEDS_QUOTES = r'[,"\r\n]'


def _csv_bytes_arrow(df: pd.DataFrame) -> bytes | None:
    """The same bytes as :func:`_csv_bytes_pandas`, several times faster, when no text value
    needs quoting (otherwise None)."""

    cols = {}
    for c in df.columns:
        s = df[c]
        if pd.api.types.is_datetime64_any_dtype(s):
            cols[c] = pa.array(s.dt.strftime("%Y-%m-%d"), type=pa.string(), from_pandas=True)
        elif pd.api.types.is_float_dtype(s):
            v = s.to_numpy(dtype=float, na_value=np.nan)
            txt = np.char.mod(FLOAT_FORMAT, v).astype(object)
            txt[np.isnan(v)] = None
            cols[c] = pa.array(txt, type=pa.string())
        elif pd.api.types.is_bool_dtype(s) or pd.api.types.is_integer_dtype(s):
            cols[c] = pa.array(s, from_pandas=True)
        else:
            uniq = pd.Series(pd.factorize(s, use_na_sentinel=True)[1], dtype=object)
            if not uniq.map(lambda x: isinstance(x, str)).all():
                return None
            if uniq.str.contains(_NEEDS_QUOTES, regex=True).any() or (uniq == "").any():
                return None
            cols[c] = pa.array(s, type=pa.string(), from_pandas=True)
    buf = io.BytesIO()
    pacsv.write_csv(pa.table(cols), buf,
                    write_options=pacsv.WriteOptions(include_header=False, quoting_style="none"))
    head = io.StringIO()
    csv.writer(head, lineterminator="\n").writerow([str(c) for c in df.columns])
    return head.getvalue().encode("utf-8") + buf.getvalue()


def csv_bytes(df: pd.DataFrame) -> bytes:
    """The CSV text of a table, deterministic: fixed float format, ISO dates, true/false."""
    try:
        fast = _csv_bytes_arrow(df)
    except Exception:  # noqa: BLE001 - any doubt: the reference writer
        fast = None
    return fast if fast is not None else _csv_bytes_pandas(df)


def gzip_bytes(data: bytes) -> bytes:
    """gzip with mtime 0 and no file name: same input, same bytes."""
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=6) as gz:
        gz.write(data)
    return buf.getvalue()


def write_table(out_dir: str | Path, name: str, df: pd.DataFrame) -> Path:
    """Write one table as ``<name>.csv.gz`` (ordered, deterministic)."""
    f = Path(out_dir) / f"{name}.csv.gz"
    f.write_bytes(gzip_bytes(csv_bytes(_ordered(name, df))))
    return f


def _fix_file_modes(folder: Path) -> None:
    """Files written through mkstemp (the MANIFEST) get the usual permissions (umask applied)."""
    mask = os.umask(0)
    os.umask(mask)
    for f in folder.iterdir():
        if f.is_file():
            os.chmod(f, 0o666 & ~mask)


def _umask_mode(path: Path, dir_mode: int = 0o777) -> None:
    """Give a folder made by mkdtemp (mode 0700) the usual permissions (umask applied)."""
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(path, dir_mode & ~mask)


def _replace_dir(tmp: Path, out_dir: Path) -> None:
    """Put the finished folder ``tmp`` in place of ``out_dir`` (two renames)."""
    if out_dir.exists():
        old = out_dir.parent / f".{out_dir.name}.old-{os.getpid()}"
        shutil.rmtree(old, ignore_errors=True)
        os.replace(out_dir, old)
        try:
            os.replace(tmp, out_dir)
        except BaseException:
            os.replace(old, out_dir)
            raise
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, out_dir)


def generate(out_dir: str | Path, seed: int = DEFAULT_SEED, scale: float = 1, *,
             domains=None, tables=None, progress=None) -> dict[str, Path]:
    """Build the synthetic raw data folder ``out_dir`` from ``seed`` (``scale`` 1 = realistic size).

    ``domains`` restricts generation to some domains (tests); the folder then holds only their
    tables. ``tables`` restricts what is written (the simulation study's draws): every table of
    the domains is still made, as later domains read them, but only these are written.
    ``progress(domain, table, rows, seconds)`` is called per table. Returns
    ``{table: path}``. The folder is replaced only when everything is written.
    """

    out_dir = Path(out_dir).resolve()
    if scale <= 0:
        raise ValueError(f"scale must be positive, got {scale}")
    made: dict[str, pd.DataFrame] = {}
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    _umask_mode(tmp)
    try:
        written = {}
        for domain, mod in domain_generators(domains):
            ctx = SynthContext(seed=int(seed), scale=float(scale), params=load_params(domain),
                               tables=made, domain=domain)
            t0 = time.perf_counter()
            result = mod.generate(ctx)
            gen_s = time.perf_counter() - t0
            if not isinstance(result, dict):
                raise TypeError(f"{mod.__name__}.generate must return a dict of DataFrames")
            for name, df in result.items():
                if name in made:
                    raise ValueError(f"table {name!r} generated twice (again by {mod.__name__})")
                made[name] = df
                if tables is not None and name not in tables:
                    continue
                t1 = time.perf_counter()
                written[name] = write_table(tmp, name, df)
                if progress is not None:
                    progress(domain, name, len(df), gen_s + time.perf_counter() - t1)
                gen_s = 0.0
        scale_out = int(scale) if float(scale).is_integer() else float(scale)
        manifest.write(tmp, synthetic=True,
                       description="Synthetic data with the schema of the real sources; calibrated to "
                                   "published aggregates. Nothing in it is about a real person.",
                       generator=f"rrlib.synth {GENERATOR_VERSION}", seed=int(seed), scale=scale_out,
                       params_sha256=params_digest(), window=dict(STUDY_WINDOW))
        _fix_file_modes(tmp)
        _replace_dir(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return {name: out_dir / p.name for name, p in written.items()}
