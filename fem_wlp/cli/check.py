"""fem-wlp check STUDY.toml: validate a study (keys, values, materials, load, mesh names) without solving."""
from __future__ import annotations


def add_args(p):
    p.add_argument("study", help="study file (.toml)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a study value")


def run(args) -> int:
    from fem_wlp.study.spec import Study

    study = Study.from_toml(args.study, args.set)
    if "mesh" in study.data["model"]:
        model, report = study.build_model()
        from fem_wlp.fe.solver.stepping import Discretization

        disc = Discretization(model, study.solver_settings())
        print(f"{study.path}: ok — {model.mesh.nelements} elements, {disc.ndof} dofs, regions "
              + ", ".join(disc.names) + f", linear solver {disc.linear.name}")
        for r in report:
            if "node" in r:
                print(f"  {r['constraint']}: nearest node at {r['node_coordinates']} (distance {r['distance']:.3g} mm)")
    else:
        from fem_wlp.workflows.reliability import check_study

        print(check_study(study))
    return 0
