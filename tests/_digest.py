"""Digests of a run's output files for "same inputs, same bytes" (issue 15): every file's sha256, except
that executed notebooks are hashed without papermill's timing metadata, ACRO's session records without
the time ACRO saw each output, and the ``rr`` commands' own logs are left out. Used by the shared small
run (``integration/conftest.py``) and the outbox's own determinism test (``unit/test_outbox.py``)."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

#: papermill's timing metadata: the only bytes two runs may differ in
TIMING = ("start_time", "end_time", "duration", "exception")


def _without_timing(nb: dict) -> dict:
    def strip(meta):
        pm = meta.get("papermill")
        if isinstance(pm, dict):
            for k in TIMING:
                pm.pop(k, None)
        if isinstance(meta.get("execution"), dict):
            meta.pop("execution")
    strip(nb.get("metadata", {}))
    for cell in nb.get("cells", []):
        strip(cell.get("metadata", {}))
    return nb


def digest(p: Path) -> str:
    """sha256 of a file; an executed notebook's without papermill's timing metadata."""
    if p.suffix == ".ipynb":
        doc = _without_timing(json.loads(p.read_text(encoding="utf-8")))
        return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()
    return hashlib.sha256(p.read_bytes()).hexdigest()


#: records of the run itself, not its outputs: ``logs/`` holds one log per ``rr`` command, named by its
#: start time and process id (``rrlib.log``); ACRO's checksums of its two session records (below)
RUN_RECORDS = ("logs/", "outbox/acro/checksums/results.json.txt", "outbox/acro/checksums/session_summary.json.txt")
#: ACRO's session records stamp each output with the time ACRO saw it: compared without those stamps
ACRO_TIMESTAMPED = ("outbox/acro/results.json", "outbox/acro/session_summary.json")


def _without_key(doc, key: str):
    if isinstance(doc, dict):
        return {k: _without_key(v, key) for k, v in doc.items() if k != key}
    if isinstance(doc, list):
        return [_without_key(v, key) for v in doc]
    return doc


def tree(out: Path) -> dict[str, str]:
    """Every output file and its digest (hidden bookkeeping files and the run's own logs left out,
    the prepared stamp kept)."""
    files = {p.relative_to(out).as_posix(): p for p in sorted(out.rglob("*"))
             if p.is_file() and not p.name.startswith(".") or p.name == ".prepared.json"}
    out = {k: digest(p) for k, p in files.items() if not k.startswith(RUN_RECORDS)}
    for k in ACRO_TIMESTAMPED:
        if k in files:
            doc = _without_key(json.loads(files[k].read_text(encoding="utf-8")), "timestamp")
            out[k] = hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()
    return out
