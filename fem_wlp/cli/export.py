"""fem-wlp export STUDY.toml --format calculix --out DIR: write the study's model(s) as CalculiX (ccx 2.20) decks.

A mesh-file study gives one deck `<out>/<study name>.inp`; a reliability (generated-geometry) study meshes every
case and gives `<out>/<case>/<case>.inp` (and the case mesh). Models that CalculiX cannot represent natively
(Anand, Garofalo) stop with a clear message unless --nearest-native is given (then a fitted Norton law is written,
with a comment in the deck); generalized plane strain (slice2d) needs --gps-as-plane-strain (ccx has no GPS element).
"""
from __future__ import annotations

from fem_wlp.io.calculix.deck import write_deck
from fem_wlp.study.cases import case_folder_name
from fem_wlp.study.load import load_study
from fem_wlp.workflows.case import case_mesh, build_case_model
from fem_wlp.workflows.study import check_study, prepare_outdir


def add_args(p):
    p.add_argument("study", help="study file (.toml)")
    p.add_argument("--format", default="calculix", choices=["calculix"], help="deck format (calculix: ccx 2.20 / "
                   "Abaqus-style keywords)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--nearest-native", action="store_true",
                   help="export Anand/Garofalo solder as the nearest native law (fitted Norton creep)")
    p.add_argument("--gps-as-plane-strain", action="store_true",
                   help="export generalized plane strain as plane strain (not equivalent: eps_zz = 0)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a study value")


def run(args) -> int:
    study = load_study(args.study, args.set)
    cases, built = check_study(study)
    out = prepare_outdir(args.out)
    kw = dict(nearest_native=args.nearest_native, gps_as_plane_strain=args.gps_as_plane_strain)
    if built is not None:
        model = built[0]
        times = study.load.time_grid()
        p = write_deck(model, times, out / f"{case_folder_name(study.name)}.inp", study.solver.settings(),
                       title=study.name, **kw)
        print(f"{p}: {model.mesh.nelements} elements, {len(times) - 1} increments (run: ccx -i {p.stem})")
        return 0
    for case in cases:
        cdir = out / case.folder
        cdir.mkdir(parents=True, exist_ok=True)
        mres = case_mesh(case, cdir)
        model, _ = build_case_model(case.spec, mres.msh)
        times = case.spec.load.time_grid()
        p = write_deck(model, times, cdir / f"{case.folder}.inp", case.spec.solver.settings(),
                       title=f"{study.name}: case {case.name}", **kw)
        print(f"{p}: {model.mesh.nelements} elements, {len(times) - 1} increments")
    return 0
