"""fem-wlp export STUDY.toml --format calculix --out DIR: write the study's model(s) as CalculiX (ccx 2.20) decks.

A mesh-file study gives one deck `<out>/<study name>.inp`; a reliability (generated-geometry) study meshes every
case and gives `<out>/<case>/<case>.inp` (and the case mesh). Models that CalculiX cannot represent natively
(Anand, Garofalo) stop with a clear message unless --nearest-native is given (then a fitted Norton law is written,
with a comment in the deck); generalized plane strain (slice2d) needs --gps-as-plane-strain (ccx has no GPS element).
"""
from __future__ import annotations

from pathlib import Path


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
    from fem_wlp.io.calculix.deck import write_deck
    from fem_wlp.workflows.reliability import safe_name
    from fem_wlp.study.spec import Study

    study = Study.from_toml(args.study, args.set)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    kw = dict(nearest_native=args.nearest_native, gps_as_plane_strain=args.gps_as_plane_strain)
    if "mesh" in study.data["model"]:
        model, _ = study.build_model()
        times = study.time_grid()
        p = write_deck(model, times, out / f"{safe_name(study.name)}.inp", study.solver_settings(),
                       title=study.name, **kw)
        print(f"{p}: {model.mesh.nelements} elements, {len(times) - 1} increments (run: ccx -i {p.stem})")
        return 0
    from fem_wlp.wlcsp.geometry import build_mesh
    from fem_wlp.workflows.reliability import build_case_model, cases_of, model_kind

    from fem_wlp.wlcsp.design import Design, Geometry, MeshSizes

    kind = model_kind(study.data)
    for case in cases_of(study):
        d = case["data"]
        cdir = out / safe_name(case["name"])
        cdir.mkdir(parents=True, exist_ok=True)
        geo = Geometry.from_dict(d.get("geometry"))
        design = Design.from_dict(d["designs"][0])
        sizes = MeshSizes.from_dict(d.get("mesh"))
        mres = build_mesh(geo, design, kind, sizes, cdir / "mesh")
        model, prof = build_case_model(d, mres.msh, kind, mres.report)
        load = d["load"]
        times = prof.steps(max_dT=load.get("max_dT", 5.0), min_dwell_steps=load.get("min_dwell_steps", 10))
        p = write_deck(model, times, cdir / f"{safe_name(case['name'])}.inp", study.solver_settings(),
                       title=f"{study.name}: case {case['name']}", **kw)
        print(f"{p}: {model.mesh.nelements} elements, {len(times) - 1} increments")
    return 0
