"""fem-wlp run STUDY.toml --out DIR: run a study and write its results folder."""
from __future__ import annotations

from fem_wlp.workflows.study import run_study_file


def add_args(p):
    p.add_argument("study", help="study file (.toml)")
    p.add_argument("--out", required=True, help="results folder (created; finished results in it are kept)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a study value")
    p.add_argument("--workers", type=int, default=None, help="parallel cases (default: one per core; all at once "
                   "when there are at most twice as many cases as cores)")
    p.add_argument("--scheduler", default=None, help="Dask scheduler address for sweeps (tcp://host:8786)")
    p.add_argument("--quiet", action="store_true", help="no progress output")


def run(args) -> int:
    return run_study_file(args.study, args.out, overrides=args.set, workers=args.workers,
                          scheduler=args.scheduler, quiet=args.quiet)
