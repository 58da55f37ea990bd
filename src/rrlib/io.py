"""Small file helpers: atomic writes, hashes, canonical JSON.

Everything the pipeline writes goes through :func:`atomic_write_bytes` (write to a
temporary name in the same folder, then rename), so an interrupted or failed step
never leaves a half-written file behind.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

try:  # plain() also serves callers without numpy (standard library only)
    import numpy as np
except ImportError:  # pragma: no cover
    np = None

_UMASK = os.umask(0)
os.umask(_UMASK)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600 files; give the usual mode
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def plain(obj: Any) -> Any:
    """Turn numpy / pandas scalars and containers into plain JSON values (NaN -> None)."""
    if isinstance(obj, dict):
        return {str(k): plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [plain(v) for v in obj]
    if np is not None:
        if isinstance(obj, np.ndarray):
            return [plain(v) for v in obj.tolist()]
        if isinstance(obj, np.bool_):
            return bool(obj)
        if isinstance(obj, np.integer):
            return int(obj)
        if isinstance(obj, np.floating):
            obj = float(obj)
    if isinstance(obj, float):
        if math.isnan(obj) or math.isinf(obj):
            return None
        return obj
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "isoformat"):
        return obj.isoformat()
    return obj


def dumps(obj: Any) -> str:
    """Canonical JSON: sorted keys, two-space indent, trailing newline; same input, same bytes."""
    return json.dumps(plain(obj), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_json(path: str | os.PathLike, obj: Any) -> Path:
    return atomic_write_text(path, dumps(obj))


def write_generated(path: str | Path, text: str, *, check: bool = False, command: str) -> int:
    """Write a generated file (``text``) at ``path`` if it changed, or with ``check`` only compare.

    Returns 0, or 1 when ``check`` finds the file out of date (the message names ``command``,
    which regenerates it). One rule for every file a command generates (codebook, importers' docs).
    """

    f = Path(path)
    current = f.read_text(encoding="utf-8") if f.exists() else None
    if check:
        if current != text:
            print(f"{f} is out of date: run `{command}`", file=sys.stderr)
            return 1
        print(f"{f} is up to date")
    elif current != text:
        atomic_write_text(f, text)
        print(f"wrote {f}")
    else:
        print(f"{f}: up to date")
    return 0
