"""The package model and the submodel of its critical joint (global-local): one package3d case.

1. Global model (wlcsp.geometry.package3d): a quarter of the array with every joint, symmetry u_x = 0 on x = 0
   and u_y = 0 on y = 0, u_z = 0 at the board-bottom point at the package centre, otherwise free (warpage);
   the study's thermal profile and materials. Every joint's interface-layer averages are tracked, so the global
   run gives ΔW per cycle for every joint (`global.joints`).
2. Critical joint: the largest stabilised ΔW per cycle over its die-side (conformal) layer, or
   model.critical_joint.
3. Submodel: the joint3d cell of that joint (its pitch cell: die, exact build-up, joint, mask, board pad,
   board), meshed with the study's [mesh] sizes at model.submodel_order (quadratic tetrahedra by default), moved
   to the joint's position; its die- and board-side cut faces follow the global displacement history
   (fe.submodel: the global shape functions in space, linear between the global frames in time); the same
   temperatures and materials; run on the global frame times (its own step control in between). It is evaluated
   as the other cases (workflows.evaluate: the three averaging rules, lives; Engelmaier at the joint's distance
   from the neutral point): its numbers are the case's headline (dW_per_cycle_MPa, lives).
4. model.compare_with: the same design in the cheaper models (slice2d, joint3d, axisym), listed per case in
   `model_comparison` with each one's ΔW as a ratio of the submodel's.

What the numbers mean: the global model's joints are meshed coarsely (model.joint_size; the build-up and mask
as full-area layers unless model.buildup = "merged", see wlcsp.geometry.package3d); their ΔW ranks the joints,
the submodel's is the reference value. The submodel's cut faces sit at half a pitch from the joint
axis, where the global model's joint detail (its coarse mesh) still influences the displacement; how much the
submodel ΔW moves when the cut faces move one pitch cell out (issue 13's St-Venant check: model.submodel_margin
= pitch, the neighbouring joints then in the submodel at joint_size) is measured by benchmarks/bench_package3d.py
stvenant on the coarse 2 x 2 model (one cycle on a 40 °C grid; there the wider window reaches the symmetry planes
and the die edge): quadratic at 0.016 mm, ΔW 0.05261 -> 0.05237 MPa (-0.46 %; the joint3d cell 0.05263, +0.04 %
from the window mesh of the same cell); linear -0.25 %, with two meshes of the same cell 7 % apart at that
unconverged resolution -- the cut-face position is not what limits the submodel.
model.global_step_control = "grid" (a non-default switch) runs the global model on the load grid's steps only:
-0.08 % on the submodel ΔW of the same coarse model (bench_package3d.py globalsteps)."""
from __future__ import annotations

import dataclasses
import math
import time as _time
from pathlib import Path

import numpy as np

from fem_wlp import runtime
from fem_wlp.errors import ConvergenceError, InputError
from fem_wlp.fe.mesh import FEMesh, load as load_mesh
from fem_wlp.fe.problem import Model, Temperature, boundary_constraint, point_constraint
from fem_wlp.fe.submodel import GlobalHistory, driven_constraint
from fem_wlp.io.results import HistoryWriter
from fem_wlp.materials import material_from_spec
from fem_wlp.study.spec import PACKAGE3D_KEYS, Study
from fem_wlp.wlcsp.design import MeshSizes
from fem_wlp.wlcsp.geometry import build_mesh
from fem_wlp.wlcsp.geometry.package3d import build_package3d, build_submodel_window
from fem_wlp.wlcsp.regions import top_region
from fem_wlp.workflows.evaluate import evaluate
from fem_wlp.workflows.interfaces import unbonded_interfaces
from fem_wlp.workflows.observers import ELEMENT_CYCLES_FILE, LayerTracker
from fem_wlp.workflows.progress import Progress
from fem_wlp.workflows.solve import run_model

#: the environments of the meshing child processes (runtime.in_child), one per attempt: one OpenMP thread (gmsh's
#: HXT is then reproducible: the meshes the in-process runs made and the tests recorded), after a crash two
MESH_ENV = ({"OMP_NUM_THREADS": "1"}, {"OMP_NUM_THREADS": "2"})

#: the model kind of the submodel (its mesh, layer tracking and evaluation)
SUB_KIND = "joint3d"


def case_materials(spec: Study, fm: FEMesh) -> dict:
    """Region -> Material for the regions the mesh has (the study's materials; a region the global model merged
    away, e.g. the solder mask with model.buildup = "merged", is simply absent)."""
    mats = {r: material_from_spec(r, s) for r, s in spec.materials.items() if fm.leaves_under(r)}
    present = {top_region(n) for n in fm.leaves}
    missing = sorted(p for p in present if p not in mats and not any(m.startswith(p + "/") for m in mats))
    if missing:
        raise InputError("materials", sorted(mats), f"a material for region(s) {', '.join(missing)}")
    return mats


def global_model(spec: Study, fm: FEMesh) -> Model:
    fm, contacts = unbonded_interfaces(fm, spec)     # [contact]: every joint's solder/polymer faces, one split
    mats = case_materials(spec, fm)
    prof = spec.profile
    temp = Temperature(spec.load.stress_free_temperature, prof.T, corners=tuple(prof.corners))
    zmin = float(fm.mesh.p[2].min())
    cons = (boundary_constraint(fm, "sym_x", ["x"]), boundary_constraint(fm, "sym_y", ["y"]),
            point_constraint(fm, [0.0, 0.0, zmin], ["z"])[0])
    return Model(fm, "3d", mats, cons, temp, order=1, intorder=spec.model.quadrature_order,
                 name=spec.designs[0].name + "/global", contacts=contacts)


def translated(fm: FEMesh, shift) -> FEMesh:
    """The mesh moved by `shift` (names kept)."""
    return FEMesh(fm.mesh.translated(np.asarray(shift, float)), fm.leaves, fm.boundaries, fm.source)


def submodel_model(spec: Study, fm: FEMesh, history: GlobalHistory, order: int) -> Model:
    fm, contacts = unbonded_interfaces(fm, spec)     # the same interfaces as the global model (P2: Gauss points)
    mats = case_materials(spec, fm)
    prof = spec.profile
    temp = Temperature(spec.load.stress_free_temperature, prof.T, corners=tuple(prof.corners))
    # the load's corners (the profile's, as the global model's), not every global frame: BDF2 and the predictor
    # run across the frames as in the global model (fe/submodel.py)
    cons = tuple(driven_constraint(history, fm, side, corners=prof.corners) for side in ("die_side", "board_side"))
    return Model(fm, "3d", mats, cons, temp, order=order, intorder=spec.model.quadrature_order,
                 name=spec.designs[0].name + "/submodel", contacts=contacts)


def _solve_tracked(spec: Study, model, times, outdir: Path, quiet: bool, label: str, joint_dirs=None,
                   keep_u: bool = False, settings=None):
    """Run `model` over `times`, writing history.csv, fields and layers.csv (interface-layer averages of every
    joint) into `outdir`; returns (run summary, [(time, u)] when keep_u)."""
    prof = spec.profile
    outdir.mkdir(parents=True, exist_ok=True)
    writer = HistoryWriter(outdir / "layers.csv")
    trackers, frames = {}, []
    prog = None if quiet else Progress(label, prof.duration, prof.cycle_of)

    def on_frame(disc, frame, T):
        tr = trackers.get("t") or trackers.setdefault("t", LayerTracker(disc, SUB_KIND, joint_dirs=joint_dirs,
                                                                         cycle_bounds=prof.cycle_bounds))
        row = {"time_s": frame.time, "temperature_C": T, "cycle": int(prof.cycle_of(frame.time))}
        row.update(tr.row(frame))
        writer.write(row)
        if keep_u:
            frames.append((frame.time, frame.u.copy()))

    try:
        res = run_model(model, times, outdir, settings or spec.solver.settings(), output=spec.output.fields,
                        output_times=prof.corners, cycle_of=prof.cycle_of, progress=prog, on_frame=on_frame,
                        compression=spec.output.compression)
    finally:
        writer.close()
        if "t" in trackers:
            trackers["t"].save(outdir / ELEMENT_CYCLES_FILE)
    return res, frames


def solver_counts(res: dict) -> dict:
    """The solver statistics of a run summary that say what it cost: increments (accepted), rejected (by the
    error control), cutbacks, Newton iterations, factorizations."""
    return {"increments": res["increments"], "rejected": res.get("rejected", 0), "cutbacks": res.get("cutbacks", 0),
            "newton_iterations": res["newton_iterations"],
            "factorizations": res.get("linear_solver_stats", {}).get("factorizations", 0)}


def _rules(ev: dict) -> dict:
    """ΔW per cycle (MPa) of each averaging rule and its critical joint/layer: the global and submodel numbers
    side by side under the same rules (the global ranking uses the conformal die-side layer)."""
    return {rule: {"dW_per_cycle_MPa": m.get("dW_per_cycle_MPa"), "deps_in_per_cycle": m.get("deps_in_per_cycle"),
                   "critical_joint": m.get("critical_joint"), "critical_layer": m.get("critical_layer")}
            for rule, m in (ev.get("metrics") or {}).items()}


def warpage(spec: Study, gm: Model, frames, rep: dict, path: Path) -> dict:
    """Board warpage at the hot and cold extremes of the last simulated cycle (the last frame at the cycle's
    highest / lowest temperature: the end of the dwell): the range of the vertical displacement of the board
    bottom over the quarter and its value at the package centre minus that under the die corner (positive: the
    centre above the corner), in µm. Saves the board-bottom points and u_z of both frames to `path` (npz)."""
    from fem_wlp.fe.mesh import mesh_facets
    prof = spec.profile
    mesh = gm.mesh.mesh
    nodes = np.unique(mesh_facets(mesh)[:, gm.mesh.boundary("board_bottom")])
    xy = mesh.p[:2, nodes]
    times = np.array([t for t, _ in frames])
    cyc = np.array([int(prof.cycle_of(t)) for t in times])
    last = times[cyc == cyc.max()] if cyc.max() >= 1 else times
    T = np.array([prof.T(t) for t in last])
    xd = rep["x_die_end"]
    centre = int(np.argmin(np.hypot(*xy)))
    corner = int(np.argmin(np.hypot(xy[0] - xd, xy[1] - xd)))
    out, saved = {}, {"xy_mm": xy}
    for name, k in (("hot", np.flatnonzero(T >= T.max() - 1e-9)[-1]), ("cold", np.flatnonzero(T <= T.min() + 1e-9)[-1])):
        t = float(last[k])
        u = dict(frames)[t].reshape(-1, gm.ncomp)[nodes, 2]
        saved[f"uz_{name}_mm"] = u
        out[name] = {"time_s": t, "T_C": float(T[k]), "range_um": float(1e3 * np.ptp(u)),
                     "centre_minus_die_corner_um": float(1e3 * (u[centre] - u[corner]))}
    np.savez(path, **saved)
    return out


def choose_critical(spec: Study, joints: list[dict]) -> int:
    """The joint of the submodel: model.critical_joint, or the largest die-side ΔW per cycle."""
    c = spec.model.critical_joint
    if c != "auto":
        if not any(e["index"] == c for e in joints):
            raise InputError("model.critical_joint", c, "a joint index of the quarter model: "
                             + ", ".join(str(e["index"]) for e in joints))
        return int(c)
    vals = [(e["dW_per_cycle_MPa"], e["index"]) for e in joints if e["dW_per_cycle_MPa"] is not None]
    if not vals:
        raise InputError("model.critical_joint", c, "a joint index (no joint of the global model has a ΔW)")
    return max(vals)[1]


def run_package3d(case, cdir: Path, quiet: bool, out: dict, run_other=None) -> None:
    """Mesh and solve the global model, choose the critical joint, build, drive and solve its submodel, evaluate
    both, into the case summary `out` (the submodel's evaluation at the top level, `global`, `submodel`,
    `timing_phases_s`; what is known stays there when a step raises InputError / ConvergenceError, which
    run_case records). A global run that fails: the submodel is not run, the case is failed with the global
    run's last converged state. `run_other(case, folder, quiet, summary)`: runs one case of another model kind
    (workflows.case), for model.compare_with."""
    spec = case.spec
    out["status"] = "failed"
    phases = out.setdefault("timing_phases_s", {})
    g = run_global(spec, case.name, cdir, quiet, out)
    if g is None:
        return
    if not spec.model.submodel:
        out.update({k: v for k, v in g.evaluation.items() if k != "joints"})
        out["status"] = "ok"
        return
    sub = run_submodel(spec, case.name, cdir, quiet, g, out["global"]["critical_joint"])
    out.update({k: v for k, v in sub.pop("evaluation").items() if k != "joints"})
    out["critical_joint"] = sub["joint"]              # the global index (the submodel's own joint is joint0)
    phases.update(sub.pop("phases"))
    out["submodel"] = sub
    out["status"] = sub["status"]
    if sub["status"] != "ok":
        err = sub.get("error") or {}
        out["error"] = {**err, "message": "submodel failed: " + str(err.get("message"))}
    if spec.model.compare_with and run_other is not None:
        t0 = _time.perf_counter()
        out["model_comparison"] = compare_models(case, cdir / "compare", quiet, out, run_other)
        phases["compare_with"] = round(_time.perf_counter() - t0, 3)


def other_kind_case(case, kind: str):
    """The same design as a case of another model kind (its study re-validated for that kind; the package3d
    keys dropped)."""
    data = dict(case.spec.data)
    # (model.slice_width goes with the slice only)
    drop = PACKAGE3D_KEYS + (("slice_width",) if kind != "slice2d" else ())
    data["model"] = {k: v for k, v in (data.get("model") or {}).items() if k not in drop}
    data["model"]["kind"] = kind
    spec = Study.from_dict(data, case.spec.path, purpose="case")
    return dataclasses.replace(case, spec=spec)


def compare_models(case, folder: Path, quiet: bool, out: dict, run_other) -> list[dict]:
    """The case's design in each model of model.compare_with, against package3d's submodel: ΔW, Δε_in and the
    lives per model, and each model's ΔW as a ratio of the submodel's (the reference). A model that fails is
    listed with its error; the package3d case itself is not failed by it."""
    ref = out.get("dW_per_cycle_MPa")
    rows = [{"model": "package3d", "status": out.get("status"), "dW_per_cycle_MPa": ref,
             "deps_in_per_cycle": out.get("deps_in_per_cycle"), "critical_layer": out.get("critical_layer"),
             "life_cycles": out.get("life_cycles"), "dW_ratio_vs_package3d": 1.0 if ref else None}]
    for kind in case.spec.model.compare_with:
        s: dict = {"status": "failed"}
        try:
            other = other_kind_case(case, kind)
            (folder / kind).mkdir(parents=True, exist_ok=True)
            run_other(other, folder / kind, quiet, s)
        except (InputError, ConvergenceError) as exc:
            s["error"] = {"message": str(exc)}
        dw = s.get("dW_per_cycle_MPa")
        rows.append({"model": kind, "status": s.get("status"), "dW_per_cycle_MPa": dw,
                     "deps_in_per_cycle": s.get("deps_in_per_cycle"), "critical_layer": s.get("critical_layer"),
                     "life_cycles": s.get("life_cycles"),
                     "dW_ratio_vs_package3d": dw / ref if dw and ref else None,
                     "error": (s.get("error") or {}).get("message")})
        if kind == "slice2d":               # which out-of-plane width of the joint rows the slice had
            rec = s.get("slice_width") or {"mode": "unit", "width": 1.0}
            rows[-1]["slice_width"] = {"mode": rec["mode"], "width": rec["width"]}
    return rows


def global_settings(spec: Study):
    """The global model's solver settings: the study's, or with model.global_step_control = "grid" the load grid's
    steps only (its frames drive the submodel, which keeps the study's step control between them), with modified
    Newton unless solver.modified_newton says otherwise (its "auto" means full Newton on a grid: a
    refactorization per iteration, which a 180k-DOF global model cannot afford)."""
    s = spec.solver.settings()
    if spec.model.global_step_control != "grid":
        return s
    return dataclasses.replace(s, step_control="grid",
                               modified_newton="on" if s.modified_newton == "auto" else s.modified_newton)


@dataclasses.dataclass
class GlobalRun:
    """A solved global model: the model, its displacement history, the mesh report, the evaluation."""
    model: Model
    history: GlobalHistory
    report: dict
    evaluation: dict


def run_global(spec: Study, name: str, cdir: Path, quiet: bool, out: dict) -> GlobalRun | None:
    """Mesh, solve and evaluate the global model into cdir/global; fills out["mesh"], out["global"] and
    out["timing_phases_s"]. None when the global run failed (out["error"] says why)."""
    phases = out.setdefault("timing_phases_s", {})
    t0 = _time.perf_counter()
    # gmsh's 3D mesher can segfault: every package3d meshing in a child process, retried once on another thread
    # count (runtime.in_child, MESH_ENV)
    mres = runtime.in_child(build_package3d, spec.geometry, spec.designs[0], spec.mesh, cdir / "global" / "mesh",
                            joint_size=spec.model.joint_size, buildup=spec.model.buildup,
                            what=f"meshing the global model of {name}", env=MESH_ENV)
    phases["global_mesh"] = round(_time.perf_counter() - t0, 3)
    rep = mres.report
    # the case's mesh entry is the global model's, with joint_positions = the distances from the package centre
    # (as slice2d; the (x, y) positions are joint_xy_mm)
    out["mesh"] = {k: v for k, v in rep.items() if not isinstance(v, (list, dict)) or k in
                   ("material_sizes", "joint")}
    out["mesh"].update({"joint_positions": rep["dnp_mm"], "joint_xy_mm": rep["joint_positions"]})
    t0 = _time.perf_counter()
    gm = global_model(spec, load_mesh(mres.msh))
    gres, gframes = _solve_tracked(spec, gm, spec.load.time_grid(), cdir / "global", quiet, name + " global",
                                   keep_u=True, settings=global_settings(spec))
    phases["global_solve"] = round(_time.perf_counter() - t0, 3)
    geval = evaluate(spec, cdir / "global" / "layers.csv", gres, {**rep, "joint_positions": rep["dnp_mm"]})
    joints = [{"index": int(e["joint"]), "dnp_mm": rep["dnp_mm"][int(e["joint"])],
               "position_mm": rep["joint_positions"][int(e["joint"])],
               "dW_per_cycle_MPa": (e.get("die_layer") or {}).get("dW_MPa"),
               "dW_board_layer_per_cycle_MPa": (e.get("board_layer") or {}).get("dW_MPa")}
              for e in geval["joints"]]
    out["global"] = {"status": gres["status"], "dofs": gres["dofs"], "elements": gres["elements"],
                     **solver_counts(gres), "joints": joints, "critical_joint": None, "timing_s": gres["timing_s"],
                     "metrics": _rules(geval), "buildup": spec.model.buildup,
                     "joint_size_mm": spec.model.joint_size}
    if gres["status"] != "ok":
        out.update({k: geval[k] for k in ("dW_per_cycle_MPa", "deps_in_per_cycle", "per_cycle") if k in geval})
        err = gres["error"] or {}
        out["error"] = {**err, "message": "global model failed, the submodel was not run: " + str(err.get("message"))}
        return None
    out["global"]["critical_joint"] = choose_critical(spec, joints)
    out["global"]["warpage"] = warpage(spec, gm, gframes, rep, cdir / "global" / "warpage.npz")
    hist = GlobalHistory(gm.mesh, gm.order, gm.ncomp, np.array([t for t, _ in gframes]),
                         np.stack([u for _, u in gframes]))
    return GlobalRun(gm, hist, rep, geval)


def run_submodel(spec: Study, name: str, cdir: Path, quiet: bool, g: GlobalRun, cj: int,
                 mesh: MeshSizes | None = None, order: int | None = None, margin: float | None = None,
                 window: bool = False) -> dict:
    """Mesh (cdir/mesh), drive, solve (into cdir) and evaluate the submodel of joint `cj` of the global run `g`
    (mesh sizes: the study's [mesh], order: model.submodel_order, margin: model.submodel_margin, unless given);
    returns the `submodel` entry with its `evaluation` (the joint3d evaluation) and `phases` (times).
    Margin 0: the joint3d cell of the joint, moved to its position; margin > 0 (or `window`): the package
    model's window around it (wlcsp.geometry.package3d.build_submodel_window, the neighbours at joint_size)."""
    phases = {}
    t0 = _time.perf_counter()
    order = order or spec.model.submodel_order
    margin = spec.model.submodel_margin if margin is None else margin
    msizes = MeshSizes(**{**(mesh or spec.mesh).__dict__, "order": order})
    x, y = g.report["joint_positions"][cj]
    if margin > 0 or window:
        sres = runtime.in_child(build_submodel_window, spec.geometry, spec.designs[0], msizes, cdir / "mesh", cj,
                                margin, joint_size=spec.model.joint_size, what="meshing the submodel window", env=MESH_ENV)
        sfm = load_mesh(sres.msh)
    else:
        sres = runtime.in_child(build_mesh, spec.geometry, spec.designs[0], SUB_KIND, msizes, cdir / "mesh",
                                what="meshing the submodel cell", env=MESH_ENV)
        sfm = translated(load_mesh(sres.msh), (x, y, 0.0))
    phases["submodel_mesh"] = round(_time.perf_counter() - t0, 3)
    t0 = _time.perf_counter()
    sm = submodel_model(spec, sfm, g.history, order)
    r = math.hypot(x, y)
    res, _ = _solve_tracked(spec, sm, g.history.times, cdir, quiet, name + " submodel",
                            joint_dirs={"dir": (x / r, y / r)})
    phases["submodel_solve"] = round(_time.perf_counter() - t0, 3)
    # evaluated as the package model (the hot-spot volume of a 3D model; Engelmaier at this joint's distance from
    # the neutral point, the submodel's only joint)
    ev = evaluate(spec, cdir / "layers.csv", res, {**sres.report, "joint_positions": [r]})
    return {"status": res["status"], "error": res["error"], "dofs": res["dofs"], "elements": res["elements"],
            "order": order, "size_fine_mm": msizes.size_fine_3d, "joint": cj, "dnp_mm": r, "margin_mm": margin,
            "mesher": "window" if margin > 0 or window else "joint3d cell",
            "dW_per_cycle_MPa": ev["dW_per_cycle_MPa"], "deps_in_per_cycle": ev["deps_in_per_cycle"],
            "per_cycle": ev["per_cycle"], "critical_layer": ev["critical_layer"], "averaging": ev["averaging"],
            "metrics": _rules(ev), **solver_counts(res), "timing_s": res["timing_s"], "cut_face_outside_global_mm": g.history.report.get("outside_mm", 0.0),
            "evaluation": ev, "phases": phases}
