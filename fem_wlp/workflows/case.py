"""One case: build its Model (mesh, materials per region, constraints of the model kind, thermal load), run it,
evaluate it, write cases/<name>/case.json.

Model kinds and their boundary conditions:
- slice2d: generalized plane strain slice along the package diagonal; symmetry u_x = 0 at the package centre,
  u_y = 0 at the board-bottom point on the symmetry line; the board is otherwise free (warpage free).
- axisym: one joint, ball axis = symmetry axis: u_r = 0 on the axis, u_z = 0 at the board-bottom point on the
  axis; the cut faces of the die and board discs are free. It captures the local expansion mismatch of the
  build-up, ball and board, not the DNP shear of a joint away from the package centre.
- joint3d: one joint (the corner joint) in a square cell; the die-side cut faces follow the free in-plane
  thermal expansion of the die about the package neutral point, the board-side cut faces that of the board
  (the standard first-order loading of a local joint model); u_z = 0 at one board-bottom point.
- package3d: a quarter of the array with every joint and the submodel of its critical joint (global-local):
  workflows/submodel.py builds, constrains, runs and evaluates both.
A mesh-file study's model takes its formulation, materials and [[constraints]] from the study.
"""
from __future__ import annotations

import hashlib
import json
import time as _time
import traceback
from pathlib import Path

import numpy as np

from fem_wlp import __version__, runtime
from fem_wlp.errors import ConvergenceError, InputError
from fem_wlp.fe.mesh import load as load_mesh
from fem_wlp.fe.problem import History, Model, Temperature, boundary_constraint, point_constraint
from fem_wlp.io.results import HistoryWriter, write_json
from fem_wlp.materials import material_from_spec
from fem_wlp.study.cases import Case
from fem_wlp.study.preflight import prebuilt_mesh
from fem_wlp.study.spec import Study
from fem_wlp.wlcsp.design import JOINT_ROW_REGIONS, equivalent_joint_width
from fem_wlp.wlcsp.geometry import MeshResult, build_mesh, joints_for
from fem_wlp.wlcsp.regions import DEFAULT_MATERIALS, MODEL_KINDS, top_region
from fem_wlp.workflows.evaluate import cycle_life_change, evaluate
from fem_wlp.workflows.interfaces import contact_extremes, track_contact, unbonded_interfaces
from fem_wlp.workflows.observers import ELEMENT_CYCLES_FILE, LayerTracker
from fem_wlp.workflows.process import with_process
from fem_wlp.workflows.progress import Progress
from fem_wlp.workflows.solve import finish, iter_model
from fem_wlp.workflows.submodel import run_package3d


def case_hash(case: Case) -> str:
    """Hash of a case's inputs (and the fem_wlp version): equal hashes run once; resume keeps equal ones."""
    blob = json.dumps(case.data, sort_keys=True, default=str)
    return hashlib.sha256((blob + __version__).encode()).hexdigest()[:16]


# ----------------------------------------------------------------------------------------------------------------
# the model of a case
# ----------------------------------------------------------------------------------------------------------------
def build_case_model(spec: Study, mesh_path):
    """Model of a generated-geometry case (`spec`: the case's Study, one design) on the mesh `mesh_path`;
    returns (model, profile)."""
    fm = load_mesh(mesh_path)
    fm, contacts = unbonded_interfaces(fm, spec)      # [contact]: the mesh split along unbonded interfaces
    kind, form = spec.kind, MODEL_KINDS[spec.kind]
    given = spec.data.get("materials", {})
    # a region of the generated models that this design does not have (pi3 of a flat pad, ubm of a polymer-
    # defined one) is skipped: [materials] is study-wide; a sub-region name the mesh lacks is an error
    unknown = [r for r in given if not fm.leaves_under(r) and r not in DEFAULT_MATERIALS]
    if unknown:
        raise InputError(f"materials.{unknown[0]}", given[unknown[0]], "a region of the model: " + ", ".join(fm.names()))
    mats = {r: material_from_spec(r, s) for r, s in spec.materials.items() if fm.leaves_under(r)}
    present = {top_region(n) for n in fm.leaves}
    missing = sorted(p for p in present if p not in mats and not any(m.startswith(p + "/") for m in mats))
    if missing:
        raise InputError("materials", sorted(mats), f"a material for region(s) {', '.join(missing)}")
    prof = spec.profile
    T0 = spec.load.stress_free_temperature
    temp = Temperature(T0, prof.T, corners=tuple(prof.corners))
    ymin = float(fm.mesh.p[1 if kind != "joint3d" else 2].min())
    if kind in ("slice2d", "axisym"):
        axis = "symmetry" if kind == "slice2d" else "axis"
        cons = [boundary_constraint(fm, axis, ["x"], formulation=form),
                point_constraint(fm, [0.0, ymin], ["y"], formulation=form)[0]]
    else:
        cons = _joint3d_constraints(fm, spec, mats, prof, T0, ymin)
    widths, _ = slice_widths(spec, fm)
    model = Model(fm, form, mats, tuple(cons), temp, order=spec.order, intorder=spec.model.quadrature_order,
                  name=spec.designs[0].name, contacts=contacts, widths=widths)
    return model, prof


def slice_widths(spec: Study, fm=None) -> tuple[tuple, dict | None]:
    """model.slice_width of a slice2d case: ((region, width), ...) for fe.problem.Model.widths and the record
    for the case summary; ((), None) for a unit-width slice (nothing changes) and every other model kind.
    "equivalent": the joint-row regions (wlcsp.design.JOINT_ROW_REGIONS, those the mesh `fm` has) get the width
    of wlcsp.design.equivalent_joint_width from the pitch and the case's solder cap."""
    if spec.kind != "slice2d" or spec.model.slice_width == "unit":
        return (), None
    j, _ = joints_for(spec.geometry, spec.designs[0], spec.mesh, "slice2d")
    w = equivalent_joint_width(spec.geometry.pitch, j.R, j.yc, j.y_b, j.y_t)
    regions = [r for r in JOINT_ROW_REGIONS if fm is None or fm.leaves_under(r)]
    rec = {"mode": spec.model.slice_width, "width": w, "regions": regions,
           "ridge_to_array_section_ratio_unit": 1.0 / w,
           "definition": "out-of-plane width of every joint row (the die, build-up, mask and board: 1): equal "
                         "horizontal shear compliance of the solder cap per package area as the N x N array "
                         "(wlcsp.design.equivalent_joint_width)"}
    return tuple((r, w) for r in regions), rec


def _joint3d_constraints(fm, spec: Study, mats, prof, T0, ymin) -> list:
    """Die- and board-side cut faces follow the free thermal expansion about the neutral point."""
    form = MODEL_KINDS["joint3d"]
    p = spec.geometry.joint_offsets()[-1]            # corner joint at (p, p) from the neutral point
    die_mat = mats["die"].oriented(2) if hasattr(mats["die"], "oriented") else mats["die"]
    board_mat = mats["board"].oriented(2) if hasattr(mats["board"], "oriented") else mats["board"]

    def follower(mat):
        def value(t, x):
            e = mat.thermal_strain(np.array([prof.T(t)]), T0)[:, 0]
            return np.stack([e[0] * (x[0] + p), e[1] * (x[1] + p)])
        return value

    return [boundary_constraint(fm, "die_side", ["x", "y"], follower(die_mat), formulation=form),
            boundary_constraint(fm, "board_side", ["x", "y"], follower(board_mat), formulation=form),
            point_constraint(fm, [0.0, 0.0, ymin], ["z"], formulation=form)[0]]


def build_mesh_file_model(spec: Study, fmesh=None):
    """Model of a mesh-file study; returns (model, constraint report)."""
    fmesh = fmesh or load_mesh(spec.model.mesh, key="model.mesh")
    formulation = spec.model.formulation or ("3d" if fmesh.dim == 3 else "plane_strain")
    mats = {r: material_from_spec(r, s) for r, s in spec.materials.items()}
    cons, report = [], []
    for i, c in enumerate(spec.constraints):
        key = f"constraints[{i}]"
        items = [(list(c.fix), None, ())] if c.fix else []
        for comp, val in (c.displacement or {}).items():
            h = History.of(f"{key}.displacement.{comp}", val)
            items.append(([comp], (lambda hh: (lambda t, x: hh(t)))(h), h.corners))
        for fix, fn, corners in items:
            if c.boundary is not None:
                con = boundary_constraint(fmesh, c.boundary, fix, fn, key=key, formulation=formulation)
                report.append({"constraint": con.label, "fix": fix})
            else:
                con, rep = point_constraint(fmesh, list(c.point), fix, fn, key=key, formulation=formulation)
                report.append({"constraint": con.label, "fix": fix, **rep})
            if corners:
                con = type(con)(**{**con.__dict__, "corners": corners})
            cons.append(con)
    load, prof = spec.load, spec.profile
    if prof is None:
        temp = Temperature.uniform_step(load.stress_free_temperature, load.temperature)
    else:
        temp = Temperature(load.stress_free_temperature, prof.T, corners=tuple(prof.corners))
    model = Model(fmesh, formulation, mats, tuple(cons), temp, order=spec.model.order,
                  intorder=spec.model.quadrature_order, name=spec.name)
    return model, report


def case_mesh(case: Case, cdir: Path) -> MeshResult:
    """The case's mesh: built with gmsh, or read from `model.meshes` (a folder of prebuilt
    `<design>_<kind>.msh`, e.g. the committed benchmark geometries) when the study names one."""
    s = case.spec
    if s.model.meshes is None:
        if s.kind == "joint3d":   # gmsh's 3D mesher can segfault: in a child process, so that a crash fails this
            return runtime.in_child(build_mesh, s.geometry, s.designs[0], s.kind, s.mesh, cdir / "mesh",  # case
                                    what=f"meshing {case.name}")       # only (runtime.in_child; retried once)
        return build_mesh(s.geometry, s.designs[0], s.kind, s.mesh, cdir / "mesh")
    msh = prebuilt_mesh(case)
    joint, positions = joints_for(s.geometry, s.designs[0], s.mesh, s.kind)
    rep = {"source": str(msh), "prebuilt": True, "joint_positions": list(positions), "joint": joint.report()}
    return MeshResult(msh, msh.with_suffix(".vtu"), rep)


# ----------------------------------------------------------------------------------------------------------------
# running a generated-geometry case
# ----------------------------------------------------------------------------------------------------------------
def run_case(case: Case, outdir, quiet: bool = True) -> dict:
    """Mesh, solve and evaluate one case; writes cases/<folder>/ and returns the case summary. Never raises for a
    case that fails: the failure is recorded with everything converged so far. (With load.cycles = "auto" a case
    run alone stops when its own primary life is stabilised; workflows.study runs such cases in lockstep.)"""
    return finish(iter_case(case, outdir, quiet))


def iter_case(case: Case, outdir, quiet: bool = True):
    """run_case as a generator: with load.cycles = "auto" it yields the primary-model lives of the complete
    cycles so far at the end of every cycle (from cycle 2) and takes the consumer's decision (True: stop after
    this cycle); returns the case summary."""
    t0 = _time.perf_counter()
    cdir = Path(outdir) / "cases" / case.folder
    cdir.mkdir(parents=True, exist_ok=True)
    summary = {"name": case.name, "design": case.design, "kind": case.kind, "sweep": case.sweep,
               "status": "failed", "hash": case_hash(case)}
    try:
        if case.spec.kind == "package3d":        # global model + submodel of its critical joint
            run_package3d(case, cdir, quiet, summary, run_other=_run_one_model)
        else:
            yield from _iter_one_model(case, cdir, quiet, summary)
    except (ConvergenceError, InputError) as exc:
        summary["error"] = {**getattr(exc, "report", {}), "message": str(exc)}
    except Exception as exc:                            # a case that breaks must not stop the study
        summary["error"] = {"message": f"{type(exc).__name__}: {exc}",
                            "traceback": traceback.format_exc(limit=6)}
    summary["wall_time_s"] = round(_time.perf_counter() - t0, 3)
    write_json(cdir / "case.json", summary)
    return summary


def _run_one_model(case: Case, cdir: Path, quiet: bool, summary: dict) -> None:
    """Mesh, solve and evaluate the one model of a slice2d / axisym / joint3d case, into `summary` (what is
    known stays there when a step raises)."""
    finish(_iter_one_model(case, cdir, quiet, summary))


def _iter_one_model(case: Case, cdir: Path, quiet: bool, summary: dict):
    """_run_one_model as a generator (load.cycles = "auto": see iter_case)."""
    mres = case_mesh(case, cdir)
    summary["mesh"] = {k: v for k, v in mres.report.items() if not isinstance(v, (list, dict)) or k in
                       ("joint_positions", "material_sizes", "joint")}
    model, prof = build_case_model(case.spec, mres.msh)
    _, width_record = slice_widths(case.spec, model.mesh)
    if width_record is not None:            # (a unit-width slice's summary is unchanged)
        summary["slice_width"] = width_record
        mres.report["slice_width"] = width_record        # the evaluation's hot-spot target (evaluate.py)
    model, summary["process"] = with_process(case.spec, model, prof, case.spec.solver.settings())
    res = yield from _iter_tracked(case, model, prof, cdir, quiet, mres.report)
    summary.update(evaluate(case.spec, cdir / "layers.csv", res, mres.report))
    if "contact" in res:                 # the unbonded interfaces at the last cycle's hot and cold extremes
        summary["contact"] = res["contact"]
    summary["status"] = res["status"]
    if res["status"] != "ok":
        summary["error"] = res["error"]


def _iter_tracked(case: Case, model, prof, cdir: Path, quiet: bool, mesh_report: dict):
    """Run the case's model, writing the interface-layer averages of every frame to layers.csv. With
    load.cycles = "auto", at the end of every cycle from the second: yields the primary lives of the complete
    cycles (the headline rule, evaluated as the final evaluation does) and stops after the cycle when the
    consumer sends True -- or, when it sends None (a case run alone), when its own primary life changed by less
    than load.cycles_rtol; the result records the cycles run and the changes seen."""
    spec = case.spec
    writer = HistoryWriter(cdir / "layers.csv")
    trackers = {}
    prog = None if quiet else Progress(case.name, prof.duration, prof.cycle_of)
    ends = prof.cycle_bounds[:, 1]
    auto = {"changes": [], "stopped": False} if spec.load.auto_cycles else None
    contact = {}                        # unbonded interfaces: per cycle, the hottest and the coldest frame's status

    def on_frame(disc, frame, T):
        tr = trackers.get("t") or trackers.setdefault("t", LayerTracker(disc, spec.kind,
                                                                         cycle_bounds=prof.cycle_bounds))
        row = {"time_s": frame.time, "temperature_C": T, "cycle": int(prof.cycle_of(frame.time))}
        row.update(tr.row(frame))
        writer.write(row)
        if getattr(disc, "contact", None) is not None:
            track_contact(contact, disc.contact, frame, float(T), row["cycle"])

    try:
        run = iter_model(model, spec.load.time_grid(), cdir, spec.solver.settings(), output=spec.output.fields,
                         output_times=prof.corners, cycle_of=prof.cycle_of, progress=prog, on_frame=on_frame,
                         compression=spec.output.compression)
        try:
            frame = next(run)
            while True:
                stop = None
                if auto is not None and np.any(np.isclose(frame.time, ends, rtol=1e-9, atol=1e-6)):
                    trackers["t"].save(cdir / ELEMENT_CYCLES_FILE)
                    ch = cycle_life_change(spec, cdir / "layers.csv", mesh_report)
                    if ch is not None:
                        auto["changes"].append({"cycle": ch["cycles"], "life_change": ch["change"]})
                        stop = yield ch["life_primary"]
                        if stop is None:                  # no study consumer: the case's own life
                            stop = abs(ch["change"]) < spec.load.cycles_rtol
                        auto["stopped"] = bool(stop)
                frame = run.send(stop)
        except StopIteration as done:
            res = done.value
        if contact:
            res["contact"] = contact_extremes(contact)
        if auto is not None:
            res["auto_cycles"] = {"max_cycles": spec.load.max_cycles, "rtol": spec.load.cycles_rtol,
                                  "stabilised": auto["stopped"], "life_changes": auto["changes"]}
        return res
    finally:
        writer.close()
        if "t" in trackers:                      # per-element solder values at the cycle bounds (hot spot)
            trackers["t"].save(cdir / ELEMENT_CYCLES_FILE)
