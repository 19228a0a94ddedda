"""fem-wlp plot DIR: redraw the plots (DIR/plots/*.png) and DIR/report.md of a results folder."""
from __future__ import annotations

from pathlib import Path


def add_args(p):
    p.add_argument("dir", metavar="DIR", help="results folder of `fem-wlp run` (with summary.json)")
    p.add_argument("--no-report", action="store_true", help="redraw the plots only, leave report.md alone")


def run(args) -> int:
    from fem_wlp.errors import InputError

    out = Path(args.dir)
    if not (out / "summary.json").is_file():
        raise InputError("DIR", args.dir, "a results folder with summary.json")
    from fem_wlp.reporting.plots import make_plots

    written = make_plots(out)
    for f in written:
        print(f)
    if not args.no_report:
        from fem_wlp.reporting.report import write_report

        print(write_report(out))
    return 0
