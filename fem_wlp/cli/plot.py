"""fem-wlp plot DIR: redraw the plots (DIR/plots/*.png) and DIR/report.md of a results folder."""
from __future__ import annotations

from pathlib import Path

from fem_wlp.errors import InputError
from fem_wlp.io.results import damaged
from fem_wlp.reporting.report import write_report


def add_args(p):
    p.add_argument("dir", metavar="DIR", help="results folder of `fem-wlp run` (with summary.json)")
    p.add_argument("--no-report", action="store_true", help="redraw the plots only, leave report.md alone")


def run(args) -> int:
    out = Path(args.dir)
    if not (out / "summary.json").is_file():
        raise InputError("DIR", args.dir, "a results folder with summary.json")
    from fem_wlp.reporting.plots import make_plots     # imports matplotlib: only for this command

    written = make_plots(out)
    for f in written:
        print(f)
    if not args.no_report:
        try:
            print(write_report(out))
        except InputError:
            raise
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            # summary.json parsed but an entry has another shape than fem-wlp run writes
            raise damaged(out / "summary.json", f"has an entry of an unexpected shape ({type(exc).__name__}: "
                                                f"{exc})") from None
    return 0
