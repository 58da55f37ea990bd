"""What each ``rr`` command does (:mod:`rrlib.cli` parses the command line and calls one of these).

The glue of the command line lives here, not in the modules it drives: a library module never imports the
command layer, so the library has no import loop through its commands (issue 28). Each function prints
short progress lines through :mod:`rrlib.log`, never a traceback for bad data, and returns an exit code.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import pandas as pd

from . import data, log, manifest, paths, pseudonymise, runner, synth
from .data.problems import Problem
from .data.validate import print_progress
from .data.window import StudyWindow, WindowError


def main_refresh(data_dir: str | Path, *, window=None, synthetic=None) -> int:
    """``rr manifest DATA_DIR [--window START END] [--synthetic|--real]``."""
    try:
        if window is not None:
            try:
                StudyWindow.parse({"start": window[0], "end": window[1]})
            except WindowError as exc:
                raise manifest.ManifestError(str(exc)) from None
        f = manifest.refresh(data_dir, window=window, synthetic=synthetic)
    except manifest.ManifestError as exc:
        print(f"rr manifest: error: {exc}", file=sys.stderr)
        return 1
    doc = manifest.read(data_dir)
    print(f"[rr] wrote {f}: {len(doc.get('files', {}))} files, synthetic: {doc.get('synthetic')}, "
          f"window: {doc.get('window', 'not declared (derived by rr validate)')}")
    return 0


def main_validate(data_dir: str | Path, *, verify_manifest: bool = True) -> int:
    """``rr validate DATA_DIR``: check the MANIFEST (when present) and every table.

    Prints one line per table and a summary; on bad data prints the message (no traceback)
    to stderr and returns 1; returns 0 when the folder meets the contract.
    """
    logger = log.get("data")
    log.setup()
    data_dir = Path(data_dir)
    t0 = time.perf_counter()
    try:
        doc = manifest.verify(data_dir) if verify_manifest and (data_dir / manifest.MANIFEST_NAME).exists() else {}
        flag = {True: "synthetic", False: "real (not synthetic)"}.get(doc.get("synthetic"), "no MANIFEST")
        logger.info(f"validating {data_dir} ({flag})")
        try:
            window = StudyWindow.parse(doc.get("window")) if doc else StudyWindow.of_folder(data_dir)
        except WindowError as exc:
            raise data.DataValidationError([Problem("MANIFEST", "window", detail=str(exc))], data_dir) from None
        with log.progress(None, "validate", unit="table") as advance:
            frames = data.check(data_dir, progress=print_progress(advance=advance), window=window)
    except (data.DataValidationError, manifest.ManifestError) as exc:
        logger.error(str(exc))
        return 1
    logger.info(window.describe())
    logger.info(f"ok: {len(frames)} tables meet the data contract ({time.perf_counter() - t0:.1f} s)")
    return 0


def main_prepare(data_dir: str | Path, processed_dir: str | Path) -> int:
    """``rr prepare DATA_DIR PROCESSED_DIR``: check the MANIFEST's sums, validate and write the
    processed tables.

    Prints one line per table and whether the checksums were verified; on bad data prints the message (no
    traceback) and returns 1.
    """
    logger = log.get("data")
    log.setup()
    t0 = time.perf_counter()
    logger.info(f"preparing {data_dir} -> {processed_dir}")
    try:
        with log.progress(None, "prepare", unit="table") as advance:
            out = data.prepare(data_dir, processed_dir, progress=print_progress(advance=advance))
    except (data.DataValidationError, manifest.ManifestError) as exc:
        logger.error(f"{exc}\nnothing written to {processed_dir}")
        return 1
    stamp = data.stamp(processed_dir)
    if stamp.get("manifest"):
        logger.info(f"checksums: {len(stamp['manifest']['files'])} files match the MANIFEST "
                    f"(synthetic: {stamp.get('synthetic')})")
    else:
        logger.info("note: no MANIFEST in the data folder: checksums not verified, data treated as real")
    logger.info(f"ok: {len(out)} processed tables in {processed_dir} ({time.perf_counter() - t0:.1f} s)")
    return 0


def main_generate(out_dir: str | Path, seed: int = synth.DEFAULT_SEED, scale: float = 1) -> int:
    """``rr synth OUT_DIR --seed --scale``: generate, printing one line per table; returns 0."""
    logger = log.get("synth")
    log.setup()
    t0 = time.perf_counter()
    logger.info(f"generating synthetic data in {out_dir} (seed {seed}, scale {scale})")

    with log.progress(None, "synth", unit="table") as advance:
        def report(domain, name, rows, seconds):
            logger.info(f"  {domain:<10} {name + '.csv.gz':<28} {rows:>10,} rows  {seconds:6.2f} s")
            advance(1, name)

        try:
            out = synth.generate(out_dir, seed=seed, scale=scale, progress=report)
        except ValueError as exc:
            logger.error(str(exc))
            return 1
    logger.info(f"ok: {len(out)} tables and MANIFEST written ({time.perf_counter() - t0:.1f} s)")
    return 0


def main_pseudonymise(in_file, out_file, columns) -> int:
    """``rr pseudonymise IN OUT --columns pupil_id,school_id``: returns an exit code.

    Prints a one-line summary; on error (no key, missing column, ...) prints the message without
    a traceback and returns 1. Never prints the key.
    """
    logger = log.get("pseudonymise")
    log.setup()
    try:
        summary = pseudonymise.pseudonymise_file(in_file, out_file, columns)
    except (pseudonymise.PseudonymiseError, OSError, pd.errors.ParserError) as exc:
        logger.error(str(exc))
        return 1
    cols = ", ".join(f"{c} ({n:,} distinct)" for c, n in summary["columns"].items())
    logger.info(f"pseudonymised {summary['rows']:,} rows of {in_file} -> {out_file}: {cols}")
    return 0


def verify_data(data_dir=None) -> int:
    """``rr verify-data [DATA_DIR]``: the folder's files against its MANIFEST sha256 sums."""
    lay = paths.layout(data_dir)
    try:
        doc = manifest.verify(lay.data_dir)
    except manifest.ManifestError as exc:
        log.get("cli").error(f"rr verify-data: {exc}")
        return 1
    log.get("cli").info(f"{lay.data_dir}: {len(doc.get('files', {}))} files match MANIFEST "
                        f"(synthetic: {doc.get('synthetic')})")
    return 0


def list_parameters(notebook: str) -> int:
    """``rr params NOTEBOOK``: the parameters a notebook declares, and how to change one."""
    declared = runner.declared_parameters(notebook)
    for name, default in declared.items():
        print(f"{name} = {default}")
    options = [n for n in declared if n not in ("data_dir", "out_dir")]
    if options:
        print(f"# change one: rr run {notebook} -p {options[0]}=VALUE  (a run with non-default "
              "options writes to output/<data>-<options>-<hash>/, or to --out-dir; never to reports/)",
              file=sys.stderr)
    return 0
