"""``rr``: the command line of the compendium (also ``python -m rrlib``).

Each sub-command is one step of the pipeline, as the Makefile calls it. ``rr <command> --help``
tells more. Messages go through :mod:`rrlib.log` (``-v`` for more, ``-q`` for warnings and errors
only); the steps of a run (prepare, validate, run, claims, report, verify) each write a run log in
``<out>/logs/``.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import log, paths

# Each command imports its own module when it is chosen (real imports, below): `rr run`, called once per
# chapter by make, stays free of pandas, scipy and pandera (about a second of start-up each time). These are
# the only function-level imports of rrlib modules (tests/unit/test_layers.py lists the exception).


def _verbosity_options(parser: argparse.ArgumentParser, default) -> None:
    parser.add_argument("-v", "--verbose", action="count", default=default,
                        help="more messages (debug); the run log always has them")
    parser.add_argument("-q", "--quiet", action="count", default=default,
                        help="only warnings and errors")


class _SubParsers(argparse._SubParsersAction):
    """Sub-commands that also take ``-v``/``-q`` (``rr prepare -v`` as well as ``rr -v prepare``)."""

    def add_parser(self, name, **kwargs):
        sp = super().add_parser(name, **kwargs)
        _verbosity_options(sp, argparse.SUPPRESS)
        return sp


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="rr", description=__doc__.split("\n")[0])
    _verbosity_options(p, 0)
    p.register("action", "parsers", _SubParsers)
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def data_arg(sp, help_="raw data folder (default: RR_DATA_DIR, else data/raw/synthetic)"):
        sp.add_argument("data_dir", nargs="?", default=None, help=help_)

    s = sub.add_parser("synth", help="generate the calibrated synthetic data folder")
    s.add_argument("--out", default=None, help="folder to write (default: data/raw/synthetic)")
    s.add_argument("--seed", type=int, default=None, help="random seed (default: the shipped seed)")
    s.add_argument("--scale", type=float, default=1.0, help="size relative to Blackpool (1 = realistic)")

    s = sub.add_parser("verify-data", help="check a data folder's files against its MANIFEST sha256 sums")
    data_arg(s)
    s = sub.add_parser("manifest", help="rewrite a data folder's MANIFEST sums after editing it on purpose")
    s.add_argument("data_dir")
    s.add_argument("--window", nargs=2, metavar=("START", "END"), default=None,
                   help="declare the study window (dates YYYY-MM-DD)")
    g = s.add_mutually_exclusive_group()
    g.add_argument("--synthetic", dest="synthetic", action="store_true", default=None)
    g.add_argument("--real", dest="synthetic", action="store_false")
    s = sub.add_parser("validate", help="check every raw table against its schema and cross-table keys")
    data_arg(s)
    s = sub.add_parser("prepare", help="validate, clean and score the raw tables into Parquet")
    data_arg(s)
    s.add_argument("--processed", default=None, help="output folder (default: from rrlib.paths)")

    s = sub.add_parser("run", help="run one chapter notebook with papermill")
    s.add_argument("notebook", help="e.g. notebooks/01_reach.ipynb or 01_reach.ipynb")
    s.add_argument("-p", "--param", action="append", default=[], metavar="NAME=VALUE",
                   help="a notebook parameter (YAML literal); unknown names are refused")
    s.add_argument("--data-dir", default=None)
    s.add_argument("--out-dir", default=None)
    s.add_argument("--timeout", type=int, default=900, help="seconds per cell (default 900)")

    s = sub.add_parser("cut", help="remake (or --check) the shipped cuts of the official statistics "
                       "in data/raw/public from the full files in ../shared/data", add_help=False)
    s.add_argument("rest", nargs=argparse.REMAINDER)

    s = sub.add_parser("params", help="list the parameters a notebook declares")
    s.add_argument("notebook")

    s = sub.add_parser("claims", help="check claims.yml against the chapters' results")
    s.add_argument("--data-dir", default=None)
    s.add_argument("--out-dir", default=None)
    s.add_argument("--strict", action="store_true",
                   help="exit non-zero when a claim the data should reproduce differs")

    s = sub.add_parser("report", help="build the HTML report (index.html) of a run")
    s.add_argument("--data-dir", default=None)
    s.add_argument("--out-dir", default=None)

    s = sub.add_parser("verify", help="compare a run's figures with figures/MANIFEST and check the claims")
    s.add_argument("--data-dir", default=None)
    s.add_argument("--out-dir", default=None)

    s = sub.add_parser("figures-manifest", help="write figures/MANIFEST (sha256 of the reference figures)")

    s = sub.add_parser("codecheck", help="write codecheck.yml (CODECHECK manifest of figures and tables)")
    s.add_argument("--check", action="store_true", help="only check that it is up to date")

    s = sub.add_parser("codebook", help="write data/raw/README.md's table of columns from the schemas "
                       "and data/raw/IMPORTERS.md from the importers' mappings")
    s.add_argument("--check", action="store_true", help="only check that it is up to date")

    s = sub.add_parser("bench", help="benchmark the pipeline and rrlib's heavy steps (reports/bench.json)")
    s.add_argument("--scales", default="1,10,100", help="comma-separated scales (default 1,10,100)")
    s.add_argument("--steps", default=None, help="comma-separated steps (default: all)")
    s.add_argument("--no-pipeline", action="store_true", help="skip the make timings")
    s.add_argument("--no-naive", action="store_true", help="skip the nbconvert baseline")
    s.add_argument("--rounds", type=int, default=3,
                   help="full make runs and naive baselines, alternated; medians reported (default 3)")
    s.add_argument("--steps-from", default=None, metavar="BENCH_JSON",
                   help="take the rrlib steps from an earlier bench.json instead of measuring them")

    s = sub.add_parser("simulate", help="simulation study of the estimators on synthetic draws "
                       "(reports/simulation.json)")
    s.add_argument("--draws", type=int, default=None, help="number of synthetic draws K (default: the study's)")
    s.add_argument("--seed", type=int, default=None, help="seed of the first draw")
    s.add_argument("--scale", type=float, default=None, help="scale of every draw (default 1)")
    s.add_argument("--jobs", type=int, default=None, help="processes (default 2)")
    s.add_argument("--methods", default=None, help="comma-separated methods (default: all)")
    s.add_argument("--out-dir", default=None, help="folder of the reports (default reports/)")
    s.add_argument("--describe", action="store_true",
                   help="rewrite only the descriptive fields (wording, reasons) of the committed record and of "
                        "the reports from the estimands, keeping every measured number; no draws")

    s = sub.add_parser("import", help="import real extracts (NPD, HES, ECDS, HeadStart survey) onto the data "
                       "contract, pseudonymised (key from RR_PSEUDONYMISE_KEY)")
    s.add_argument("source", help="npd-census, npd-exclusions, hes-apc, ecds, headstart-survey or contract")
    s.add_argument("files", nargs="+", help="the extract's files (CSV, .gz allowed; never modified)")
    s.add_argument("--to", required=True, metavar="DATA_DIR", help="data folder to write (tables + MANIFEST)")
    s.add_argument("--mapping", default=None, help="an edited copy of the source's mapping file (YAML)")
    s.add_argument("--allow-extra", default="", metavar="FIELDS",
                   help="comma-separated fields of the extract to leave out as known (fields the mapping does "
                   "not know are left out anyway and listed in IMPORT_REPORT.md)")

    s = sub.add_parser("outbox", help="build <out>/outbox/: released tables and figures with their "
                       "disclosure records and an ACRO finalise bundle for the output checkers")
    s.add_argument("--data-dir", default=None)
    s.add_argument("--out-dir", default=None)

    s = sub.add_parser("pseudonymise", help="replace identifiers by keyed hashes (key from RR_PSEUDONYMISE_KEY)")
    s.add_argument("in_file")
    s.add_argument("out_file")
    s.add_argument("--columns", required=True, help="comma-separated identifier columns")
    return p


#: Optional modules that ``rr`` commands never use but that are slow to import: jsonschema (under
#: nbformat, under papermill and nbconvert) imports ``rfc3987_syntax`` when it is installed (it comes
#: with jupyterlab) to check the "iri" string format, building a grammar for about a second; notebook
#: validation never checks that format. jsonschema treats the module as absent (ImportError).
SKIPPED_OPTIONAL_IMPORTS = ("rfc3987_syntax",)


#: Commands that write a run log into ``<out>/logs/``.
LOGGED = ("validate", "prepare", "run", "claims", "report", "verify")


def main(argv: list[str] | None = None) -> int:
    for name in SKIPPED_OPTIONAL_IMPORTS:
        sys.modules.setdefault(name, None)
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["cut"]:  # its own options (argparse's REMAINDER does not pass --check through)
        from . import cuts
        return cuts.main(argv[1:])
    args = build_parser().parse_args(argv)
    log.setup((args.verbose or 0) - (args.quiet or 0))
    if args.command not in LOGGED:
        return _dispatch(args)
    lay = paths.layout(getattr(args, "data_dir", None), getattr(args, "out_dir", None))
    parameters = {k: v for k, v in vars(args).items()
                  if k not in ("command", "verbose", "quiet", "data_dir", "out_dir") and v not in (None, [], False)}
    name = args.command
    if args.command == "run":
        name += "-" + Path(args.notebook).stem
    with log.run_log("rr " + " ".join(argv), data_dir=lay.data_dir, out_dir=lay.out_dir,
                     parameters=parameters, name=name) as run:
        with run.step(args.command):
            run.exit_code = _dispatch(args)
    return run.exit_code


def _dispatch(args: argparse.Namespace) -> int:
    c = args.command
    if c == "synth":
        from . import commands, synth
        return commands.main_generate(args.out or str(paths.DEFAULT_DATA_DIR),
                                      args.seed if args.seed is not None else synth.DEFAULT_SEED, args.scale)
    if c == "verify-data":
        from . import commands
        return commands.verify_data(args.data_dir)
    if c == "manifest":
        from . import commands
        return commands.main_refresh(args.data_dir, window=args.window, synthetic=args.synthetic)
    if c == "validate":
        from . import commands
        return commands.main_validate(str(paths.layout(args.data_dir).data_dir))
    if c == "prepare":
        from . import commands
        lay = paths.layout(args.data_dir)
        return commands.main_prepare(str(lay.data_dir), args.processed or str(lay.processed_dir))
    if c == "run":
        from . import runner
        return runner.main_run(args.notebook, data_dir=args.data_dir, out_dir=args.out_dir,
                               assignments=args.param, timeout=args.timeout)
    if c == "cut":
        from . import cuts
        return cuts.main(args.rest)
    if c == "params":
        from . import commands
        return commands.list_parameters(args.notebook)
    if c == "claims":
        from . import claims_report
        return int(claims_report.main(data_dir=args.data_dir, out_dir=args.out_dir, strict=args.strict) or 0)
    if c == "report":
        from . import report
        return int(report.main(data_dir=args.data_dir, out_dir=args.out_dir) or 0)
    if c == "verify":
        from . import verify
        return int(verify.main(data_dir=args.data_dir, out_dir=args.out_dir) or 0)
    if c == "figures-manifest":
        from . import verify
        return int(verify.write_figures_manifest() or 0)
    if c == "codecheck":
        from . import codecheck
        return int(codecheck.main(check=args.check) or 0)
    if c == "codebook":
        from . import codebook
        from .importers import docs as importer_docs
        rc = codebook.main_codebook(check=args.check)
        return rc or importer_docs.main(check=args.check)  # data/raw/IMPORTERS.md
    if c == "bench":
        from .devtools import bench
        return bench.main(scales=tuple(int(x) for x in args.scales.split(",")),
                          steps=tuple(args.steps.split(",")) if args.steps else bench.STEPS,
                          pipeline=not args.no_pipeline, naive=not args.no_naive,
                          rounds=args.rounds, steps_from=args.steps_from)
    if c == "simulate":
        from .devtools import simulation
        if args.describe:
            return simulation.main_describe(args.out_dir)
        kw = {k: v for k, v in (("n_draws", args.draws), ("seed", args.seed), ("scale", args.scale))
              if v is not None}
        return simulation.main(**kw, jobs=args.jobs, out_dir=args.out_dir,
                               methods=tuple(args.methods.split(",")) if args.methods else None)
    if c == "import":
        from . import importers
        return importers.main_import(args.source, args.files, args.to, mapping=args.mapping,
                                     allow_extra=[x.strip() for x in args.allow_extra.split(",") if x.strip()])
    if c == "outbox":
        from . import outbox
        return int(outbox.main(data_dir=args.data_dir, out_dir=args.out_dir) or 0)
    if c == "pseudonymise":
        from . import commands
        return commands.main_pseudonymise(args.in_file, args.out_file,
                                          [x.strip() for x in args.columns.split(",") if x.strip()])
    raise AssertionError(c)


if __name__ == "__main__":
    sys.exit(main())
