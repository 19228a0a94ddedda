"""fem-wlp check STUDY.toml: validate a study (keys, values, materials, load, mesh names, the cases and their
mesh-versus-layer limits) without solving. `fem-wlp check --keys` prints every study key."""
from __future__ import annotations

from fem_wlp.errors import InputError
from fem_wlp.study.keys import keys_markdown
from fem_wlp.study.load import load_study
from fem_wlp.workflows.study import check_study, describe_check


def add_args(p):
    p.add_argument("study", nargs="?", help="study file (.toml)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a study value")
    p.add_argument("--keys", action="store_true", help="print every key of every study table (type, default, "
                   "allowed values, unit) and exit")


def run(args) -> int:
    if args.keys:
        print(keys_markdown(), end="")
        return 0
    if not args.study:
        raise InputError("STUDY", None, "a study file (.toml), or --keys")
    study = load_study(args.study, args.set)
    cases, built = check_study(study)
    print(describe_check(study, cases, built))
    if built is not None:
        for r in built[1]:
            if "node" in r:
                print(f"  {r['constraint']}: nearest node at {r['node_coordinates']} (distance {r['distance']:.3g} mm)")
    return 0
