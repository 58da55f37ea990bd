"""``rr``: the command line of the compendium (also ``python -m rrlib``).

Each sub-command is one step of the pipeline, as the Makefile calls it. ``rr <command> --help``
tells more.
"""
from __future__ import annotations

import argparse
import importlib
import sys


def _call(module: str, func: str, *args, **kwargs) -> int:
    try:
        mod = importlib.import_module(f"rrlib.{module}")
    except ModuleNotFoundError as exc:
        print(f"rr: rrlib.{module} is not available ({exc})", file=sys.stderr)
        return 3
    return int(getattr(mod, func)(*args, **kwargs) or 0)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="rr", description=__doc__.split("\n")[0])
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

    s = sub.add_parser("codebook", help="write data/raw/README.md's table of columns from the schemas")
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


def main(argv: list[str] | None = None) -> int:
    for name in SKIPPED_OPTIONAL_IMPORTS:
        sys.modules.setdefault(name, None)
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["cut"]:  # its own options (argparse's REMAINDER does not pass --check through)
        from . import cuts
        return cuts.main(argv[1:])
    args = build_parser().parse_args(argv)
    c = args.command
    if c == "synth":
        from . import paths, synth
        return _call("synth", "main_generate", args.out or str(paths.DEFAULT_DATA_DIR),
                     args.seed if args.seed is not None else synth.DEFAULT_SEED, args.scale)
    if c == "verify-data":
        from . import manifest, paths
        lay = paths.layout(args.data_dir)
        try:
            doc = manifest.verify(lay.data_dir)
        except manifest.ManifestError as exc:
            print(f"rr verify-data: error: {exc}", file=sys.stderr)
            return 1
        print(f"[rr] {lay.data_dir}: {len(doc.get('files', {}))} files match MANIFEST "
              f"(synthetic: {doc.get('synthetic')})")
        return 0
    if c == "manifest":
        from . import manifest
        return manifest.main_refresh(args.data_dir, window=args.window, synthetic=args.synthetic)
    if c == "validate":
        from . import paths
        return _call("data", "main_validate", str(paths.layout(args.data_dir).data_dir))
    if c == "prepare":
        from . import paths
        lay = paths.layout(args.data_dir)
        return _call("data", "main_prepare", str(lay.data_dir), args.processed or str(lay.processed_dir))
    if c == "run":
        from .runner import main_run
        return main_run(args.notebook, data_dir=args.data_dir, out_dir=args.out_dir,
                        assignments=args.param, timeout=args.timeout)
    if c == "cut":
        from . import cuts
        return cuts.main(args.rest)
    if c == "params":
        from .runner import declared_parameters
        for name, default in declared_parameters(args.notebook).items():
            print(f"{name} = {default}")
        return 0
    if c == "claims":
        return _call("claims", "main", data_dir=args.data_dir, out_dir=args.out_dir, strict=args.strict)
    if c == "report":
        return _call("report", "main", data_dir=args.data_dir, out_dir=args.out_dir)
    if c == "verify":
        return _call("verify", "main", data_dir=args.data_dir, out_dir=args.out_dir)
    if c == "figures-manifest":
        return _call("verify", "write_figures_manifest")
    if c == "codebook":
        return _call("data", "main_codebook", check=args.check)
    if c == "bench":
        from . import bench
        return bench.main(scales=tuple(int(x) for x in args.scales.split(",")),
                          steps=tuple(args.steps.split(",")) if args.steps else bench.STEPS,
                          pipeline=not args.no_pipeline, naive=not args.no_naive,
                          rounds=args.rounds, steps_from=args.steps_from)
    if c == "pseudonymise":
        return _call("pseudonymise", "main_pseudonymise", args.in_file, args.out_file,
                     [x.strip() for x in args.columns.split(",") if x.strip()])
    raise AssertionError(c)


if __name__ == "__main__":
    sys.exit(main())
