"""The nbstripout git filter of a checkout (``make setup``), installed where it cannot break another one.

Notebooks are committed stripped: git runs ``filter.nbstripout.clean`` on every notebook it stages, and
the filter is *required*, so a filter that cannot run stops ``git commit``. ``nbstripout --install``
writes the path of this checkout's ``.venv`` into the repository's config, which the main checkout and
every ``git worktree`` of it share. Run from a worktree, it would point every checkout at that worktree's
``.venv``; once the worktree is removed, committing a notebook fails everywhere.

So :func:`ensure` installs the filter (with the extra keys of papermill and the kernel's metadata) only
from the main checkout (``git rev-parse --git-dir`` is ``--git-common-dir``), or from a worktree when the
repository has no working filter; otherwise it leaves the repository's filter as it is. It returns the
one line ``make setup`` prints. ``python -m rrlib.devtools.gitfilter --extra-keys "..."`` runs it.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from .. import log

#: A notebook a working clean filter turns into a notebook (what :func:`filter_works` feeds it).
PROBE = '{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}\n'


def _git(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)


def checkout_kind(cwd: str | Path) -> str | None:
    """``"main"`` for a repository's main checkout, ``"worktree"`` for a linked worktree (its git dir
    is not the common one), ``None`` outside a git checkout."""
    cwd = Path(cwd)
    r = _git(cwd, "rev-parse", "--git-dir", "--git-common-dir")
    if r.returncode != 0:
        return None
    git_dir, common = ((cwd / p).resolve() for p in r.stdout.splitlines()[:2])
    return "main" if git_dir == common else "worktree"


def configured_filter(cwd: str | Path) -> str | None:
    """The repository's ``filter.nbstripout.clean`` command, or None."""
    r = _git(Path(cwd), "config", "--get", "filter.nbstripout.clean")
    return (r.stdout.strip() or None) if r.returncode == 0 else None


def filter_works(cwd: str | Path, command: str | None, timeout: float = 60) -> bool:
    """Whether ``command`` runs as git would run it (through the shell, at the top of the checkout) and
    turns a notebook into a notebook."""
    if not command:
        return False
    try:
        r = subprocess.run(command, shell=True, cwd=cwd, input=PROBE, capture_output=True, text=True,
                           timeout=timeout)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return r.returncode == 0 and '"nbformat"' in r.stdout


def install(cwd: str | Path, extra_keys: str, python: str | None = None) -> None:
    """``nbstripout --install`` with this Python, the attributes in the repository's common
    ``info/attributes`` (a worktree's ``.git`` is a file), and the extra keys."""
    cwd = Path(cwd)
    common = (cwd / _git(cwd, "rev-parse", "--git-common-dir").stdout.strip()).resolve()
    (common / "info").mkdir(parents=True, exist_ok=True)
    subprocess.run([python or sys.executable, "-m", "nbstripout", "--install", "--attributes",
                    str(common / "info" / "attributes")], cwd=cwd, check=True)
    if extra_keys:
        subprocess.run(["git", "config", "filter.nbstripout.extrakeys", extra_keys], cwd=cwd, check=True)


def ensure(cwd: str | Path, extra_keys: str = "", python: str | None = None) -> str:
    """Install the filter where that is safe (see the module's text); return what was done, in one line."""
    kind = checkout_kind(cwd)
    if kind is None:
        return "nbstripout: not a git checkout, no filter installed"
    current = configured_filter(cwd)
    if kind == "worktree" and filter_works(cwd, current):
        return (f"nbstripout: a git worktree, and the repository's filter works ({current}): left as it is "
                "(installing here would point every checkout at this worktree's .venv)")
    install(cwd, extra_keys, python)
    now = configured_filter(cwd)
    if kind == "main":
        return f"nbstripout: filter installed for the repository from its main checkout ({now})"
    return (f"nbstripout: a git worktree, and the repository had no working filter ({current or 'none'}): "
            f"installed this worktree's ({now}); run `make setup` in the main checkout before removing it")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m rrlib.devtools.gitfilter", description=__doc__.split("\n")[0])
    p.add_argument("--extra-keys", default="", help="filter.nbstripout.extrakeys to set when installing")
    args = p.parse_args(argv)
    log.setup()
    logger = log.get("gitfilter")
    try:
        logger.info("[make] " + ensure(Path.cwd(), args.extra_keys))
    except (subprocess.CalledProcessError, OSError) as exc:
        logger.error(f"nbstripout: the filter could not be installed: {exc}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
