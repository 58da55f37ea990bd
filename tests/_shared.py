"""What the suite's xdist workers share: a folder common to every worker of a session, and a file lock."""
from __future__ import annotations

import fcntl
from contextlib import contextmanager
from pathlib import Path

#: the scale of the small synthetic folder several modules start from (at 0.1 the town has too few looked-after
#: pupils with suspensions for the seven distinct young people of A18/A19, and the generator stops)
SMALL_SCALE = 0.2


@contextmanager
def file_lock(lock: Path):
    """An exclusive lock on the file ``lock`` (made with its folder): one xdist worker at a time."""
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def session_shared_dir(tmp_path_factory) -> Path:
    """A folder shared by every xdist worker of this session (under the workers' common base temp)."""
    base = tmp_path_factory.getbasetemp()
    return (base.parent if base.name.startswith("popen-gw") else base) / "rr-shared"
