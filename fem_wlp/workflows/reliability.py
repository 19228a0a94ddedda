"""Thermal-cycle reliability studies: several pad designs (and sweep points) of one package, side by side.

Pipeline per case: design -> gmsh mesh with named regions -> materials per region -> constraints of the model
kind -> thermal profile -> solver frames -> per-joint interface-layer histories (layers.csv) -> per-cycle ΔW and
Δε_in -> critical joint and layer -> fatigue lives -> case.json. The study then compares the cases with the
baseline design (life ratios) and writes summary.json, report.md and plots.

Model kinds and their boundary conditions:
- slice2d: generalized plane strain slice along the package diagonal; symmetry u_x = 0 at the package centre,
  u_y = 0 at the board-bottom point on the symmetry line; the board is otherwise free (warpage free).
- axisym: one joint, ball axis = symmetry axis: u_r = 0 on the axis, u_z = 0 at the board-bottom point on the
  axis; the cut faces of the die and board discs are free. It captures the local expansion mismatch of the
  build-up, ball and board, not the DNP shear of a joint away from the package centre.
- joint3d: one joint (the corner joint) in a square cell; the die-side cut faces follow the free in-plane
  thermal expansion of the die about the package neutral point, the board-side cut faces that of the board
  (the standard first-order loading of a local joint model); u_z = 0 at one board-bottom point.
"""
from __future__ import annotations

import copy
import hashlib
import json
import math
import os
import sys
import time as _time
import traceback
from pathlib import Path

import numpy as np

from fem_wlp.errors import ConvergenceError, InputError

MODEL_KINDS = {"slice2d": "generalized_plane_strain", "axisym": "axisymmetric", "joint3d": "3d"}

#: default material of every region the geometry builder writes (library names; see `fem-wlp materials`)
DEFAULT_MATERIALS = {
    "die": "Si", "passivation": "SiN_passivation", "pi1": "PI_HD4100", "pi2": "PI_HD4100", "pi3": "PI_HD4100",
    "cu_wiring": "Cu_plastic", "ubm": "Cu_plastic", "solder": "SAC305", "board_pad": "Cu_plastic",
    "solder_mask": "solder_mask",
    "board": "FR4",
}
LAYERS = ("die_layer", "board_layer")


# ----------------------------------------------------------------------------------------------------------------
# study -> cases
# ----------------------------------------------------------------------------------------------------------------
def model_kind(data: dict) -> str:
    kind = data["model"].get("kind", "slice2d")
    if kind not in MODEL_KINDS:
        raise InputError("model.kind", kind, ", ".join(MODEL_KINDS))
    return kind


def cases_of(study) -> list[dict]:
    """Expand [[designs]] x [sweep] into case specs {name, design (table), geometry (table), materials, ...}."""
    from fem_wlp.wlcsp.design import Design, Geometry, MeshSizes
    from fem_wlp.workflows.sweep import expand_sweep

    d = study.data
    designs = d.get("designs")
    if not isinstance(designs, list) or not designs:
        raise InputError("designs", designs, "a list of [[designs]] tables (name, kind, ...)")
    names = [t.get("name") for t in designs if isinstance(t, dict)]
    if len(set(names)) != len(names):
        raise InputError("designs.name", names, "unique design names")
    base = d.get("study", {}).get("baseline", names[0])
    if base not in names:
        raise InputError("study.baseline", base, "one of the design names " + ", ".join(map(str, names)))
    points = expand_sweep(d.get("sweep"))
    cases = []
    for p in points:
        for t in designs:
            case_data = copy.deepcopy(d)
            case_data["designs"] = [copy.deepcopy(t)]
            for key, val in p["values"].items():
                _set_path(case_data, key, val, t.get("name"))
            table = case_data["designs"][0]
            Design.from_dict(table)                       # validate early (names the key)
            Geometry.from_dict(case_data.get("geometry"))
            MeshSizes.from_dict(case_data.get("mesh"))
            name = table["name"] + (f"@{p['label']}" if p["label"] else "")
            cases.append({"name": name, "design": table["name"], "kind": table.get("kind", "flat"),
                          "sweep": p["values"], "data": case_data, "base_dir": str(Path(study.path).parent)})
    return cases


def _set_path(data: dict, key: str, value, design_name):
    """Sweep keys address the study: 'geometry.pitch', 'design.ring_outer_diameter' (every design that has it),
    'designs.<name>.<param>', 'materials.solder', 'load.cycles', ..."""
    parts = key.split(".")
    if parts[0] == "design":
        if len(parts) != 2:
            raise InputError(f"sweep.{key}", value, "design.<parameter>")
        from fem_wlp.wlcsp.design import _KIND_KEYS

        table = data["designs"][0]
        if parts[1] in _KIND_KEYS.get(table.get("kind", "flat"), ()):
            table[parts[1]] = value
        return
    if parts[0] == "designs":
        if len(parts) != 3:
            raise InputError(f"sweep.{key}", value, "designs.<name>.<parameter>")
        if parts[1] == design_name:
            data["designs"][0][parts[2]] = value
        return
    node = data
    for p in parts[:-1]:
        node = node.setdefault(p, {})
        if not isinstance(node, dict):
            raise InputError(f"sweep.{key}", value, "a key path into the study")
    node[parts[-1]] = value


def check_study(study) -> str:
    """Validate a generated-geometry study completely without meshing; returns a one-paragraph summary."""
    from fem_wlp.wlcsp.design import Design, Geometry, MeshSizes, check_combination
    from fem_wlp.wlcsp.fatigue import life_models_from_spec
    from fem_wlp.materials import material_from_spec

    kind = model_kind(study.data)
    cases = cases_of(study)
    mats = materials_spec(study.data)
    for r, s in mats.items():
        material_from_spec(r, s)
    solder = mats.get("solder")
    life_models_from_spec(study.data.get("fatigue"), solder=solder if isinstance(solder, str) else None)
    for c in cases:
        dd = c["data"]
        check_combination(Geometry.from_dict(dd.get("geometry")), Design.from_dict(dd["designs"][0]),
                          MeshSizes.from_dict(dd.get("mesh")), kind)
    prof = study.profile()
    return (f"{study.path}: ok — {len(cases)} case(s) ({', '.join(c['name'] for c in cases)}), model {kind}, "
            f"profile {prof.describe() if prof else 'one step'}")


def materials_spec(data: dict) -> dict:
    mats = dict(DEFAULT_MATERIALS)
    mats.update(data.get("materials", {}))
    return mats


# ----------------------------------------------------------------------------------------------------------------
# one case
# ----------------------------------------------------------------------------------------------------------------
def build_case_model(data: dict, mesh_path, kind: str, mesh_report: dict):
    """Model (problem definition) of a generated-geometry case; returns (model, profile)."""
    from fem_wlp.wlcsp.design import Geometry
    from fem_wlp.materials import material_from_spec
    from fem_wlp.fe.mesh import load
    from fem_wlp.fe.problem import Model, Temperature, boundary_constraint, point_constraint
    from fem_wlp.wlcsp.profiles import profile_from_spec
    from fem_wlp.units import parse_temperature

    fm = load(mesh_path)
    form = MODEL_KINDS[kind]
    present = {n.split("/")[0] for n in fm.leaves}
    spec = materials_spec(data)
    unknown = [r for r in data.get("materials", {}) if not fm.leaves_under(r)]
    if unknown:
        raise InputError(f"materials.{unknown[0]}", data["materials"][unknown[0]],
                         "a region of the model: " + ", ".join(fm.names()))
    mats = {}
    for r, s in spec.items():
        if fm.leaves_under(r):
            mats[r] = material_from_spec(r, s)
    missing = sorted(p for p in present if p not in mats and not any(m.startswith(p + "/") for m in mats))
    if missing:
        raise InputError("materials", sorted(mats), f"a material for region(s) {', '.join(missing)}")
    load_spec = data["load"]
    T0 = parse_temperature(load_spec["stress_free_temperature"], key="load.stress_free_temperature")
    prof = profile_from_spec(load_spec)
    temp = Temperature(T0, prof.T, corners=tuple(prof.corners))
    ymin = float(fm.mesh.p[1 if kind != "joint3d" else 2].min())
    cons = []
    if kind in ("slice2d", "axisym"):
        axis = "symmetry" if kind == "slice2d" else "axis"
        cons.append(boundary_constraint(fm, axis, ["x"], formulation=form))
        cons.append(point_constraint(fm, [0.0, ymin], ["y"], formulation=form)[0])
    else:
        geo = Geometry.from_dict(data.get("geometry"))
        p = geo.joint_offsets()[-1]                  # corner joint at (p, p) from the neutral point
        die_mat = mats["die"].oriented(2) if hasattr(mats["die"], "oriented") else mats["die"]
        board_mat = mats["board"].oriented(2) if hasattr(mats["board"], "oriented") else mats["board"]

        def follower(mat):
            def value(t, x):
                e = mat.thermal_strain(np.array([prof.T(t)]), T0)[:, 0]
                return np.stack([e[0] * (x[0] + p), e[1] * (x[1] + p)])
            return value

        cons.append(boundary_constraint(fm, "die_side", ["x", "y"], follower(die_mat), formulation=form))
        cons.append(boundary_constraint(fm, "board_side", ["x", "y"], follower(board_mat), formulation=form))
        cons.append(point_constraint(fm, [0.0, 0.0, ymin], ["z"], formulation=form)[0])
    order = int(data.get("mesh", {}).get("order", data["model"].get("order", 1)))
    model = Model(fm, form, mats, tuple(cons), temp, order=order,
                  intorder=data["model"].get("quadrature_order"), name=data["designs"][0]["name"])
    return model, prof


class LayerTracker:
    """Volume averages over named element sets (the solder interface layers of every joint) per frame:
    w_in, eps_in_eq, von Mises, and the shear stress/strain pair of the hysteresis loop."""

    def __init__(self, disc, kind: str, joint_dirs: dict | None = None):
        from fem_wlp.fe.kinematics import strain

        self.disc, self.kind, self._strain = disc, kind, strain
        fm = disc.model.mesh
        joints = sorted({n.split("/")[1] for n in fm.leaves if n.startswith("solder/joint")},
                        key=lambda s: int(s[5:]))
        self.sets = {}
        for j in joints:
            for name in [f"solder/{j}/{layer}" for layer in LAYERS] + [f"solder/{j}"]:
                if fm.leaves_under(name):
                    self.sets[name] = self._locate(fm.region(name))
        self.joints = joints
        self.joint_dirs = joint_dirs or {}

    def _locate(self, elems):
        parts = []
        for i, ops in enumerate(self.disc.ops):
            pos = np.searchsorted(ops.elements, elems)
            pos = np.clip(pos, 0, len(ops.elements) - 1)
            hit = ops.elements[pos] == elems
            if hit.any():
                parts.append((i, pos[hit]))
        return parts

    def row(self, frame) -> dict:
        out = {}
        cache = {}
        for name, parts in self.sets.items():
            acc = np.zeros(6)
            V = 0.0
            for i, loc in parts:
                ops = self.disc.ops[i]
                st = frame.states[self.disc.names[i]]
                nel, nqp = ops.w.shape
                w = ops.w[loc]                                        # (m, nqp)
                if i not in cache:
                    cache[i] = self._strain(ops, frame.u, frame.ezz).reshape(6, nel, nqp)
                sig = st["stress"].reshape(6, nel, nqp)[:, loc]
                eps = cache[i][:, loc]
                tau, gam = self._shear(sig, eps, ops.x[:, loc])
                from fem_wlp.materials.base import von_mises

                vm = von_mises(sig.reshape(6, -1)).reshape(w.shape)
                acc += [float((st["w_in"].reshape(nel, nqp)[loc] * w).sum()),
                        float((st["eps_in_eq"].reshape(nel, nqp)[loc] * w).sum()),
                        float((vm * w).sum()), float((tau * w).sum()), float((gam * w).sum()), 0.0]
                V += float(w.sum())
            acc /= max(V, 1e-300)
            out.update({f"{name}.w_in": acc[0], f"{name}.eps_in_eq": acc[1], f"{name}.von_mises": acc[2],
                        f"{name}.tau": acc[3], f"{name}.gamma": acc[4]})
        return out

    def _shear(self, sig, eps, x):
        """Shear stress and engineering shear strain in the joint's shear plane (Mandel shear / sqrt 2)."""
        s2 = np.sqrt(2.0)
        if self.kind != "joint3d":                 # x (along the diagonal or radial) - y (up)
            return sig[3] / s2, eps[3] * s2
        c, s = self.joint_dirs.get("dir", (np.sqrt(0.5), np.sqrt(0.5)))   # corner joint: along the diagonal
        return (c * sig[4] + s * sig[5]) / s2, (c * eps[4] + s * eps[5]) * s2


def case_hash(case: dict) -> str:
    blob = json.dumps(case["data"], sort_keys=True, default=str)
    from fem_wlp import __version__

    return hashlib.sha256((blob + __version__).encode()).hexdigest()[:16]


def run_one_case(case: dict, outdir: str, threads: int | None = None, quiet: bool = True) -> dict:
    """Mesh, solve and evaluate one case; writes cases/<name>/ and returns the case summary. Never raises for a
    case that fails: the failure is recorded with everything converged so far."""
    if threads:      # effective for libraries not loaded yet (the local pool sets them before spawning)
        from fem_wlp.workflows.sweep import THREAD_VARS

        for var in THREAD_VARS:
            os.environ[var] = str(threads)
    from fem_wlp.wlcsp.design import Design, Geometry, MeshSizes
    from fem_wlp.wlcsp.geometry import build_mesh
    from fem_wlp.workflows.solve import run_case
    from fem_wlp.io.results import write_json
    from fem_wlp.study.spec import Study

    t0 = _time.perf_counter()
    data = case["data"]
    kind = model_kind(data)
    cdir = Path(outdir) / "cases" / safe_name(case["name"])
    cdir.mkdir(parents=True, exist_ok=True)
    summary = {"name": case["name"], "design": case["design"], "kind": case["kind"], "sweep": case["sweep"],
               "status": "failed", "hash": case_hash(case)}
    try:
        geo = Geometry.from_dict(data.get("geometry"))
        des = Design.from_dict(data["designs"][0])
        ms = MeshSizes.from_dict(data.get("mesh"))
        mres = case_mesh(case, geo, des, ms, kind, cdir)
        summary["mesh"] = {k: v for k, v in mres.report.items() if not isinstance(v, (list, dict)) or k in
                           ("joint_positions", "material_sizes", "joint")}
        model, prof = build_case_model(data, mres.msh, kind, mres.report)
        study = Study(Path(outdir) / "study.toml", data, case["name"])     # validated as a whole already
        settings = study.solver_settings()
        from fem_wlp.io.results import HistoryWriter

        writer = HistoryWriter(cdir / "layers.csv")
        trackers = {}
        prog = None
        if not quiet:
            from fem_wlp.workflows.progress import Progress

            prog = Progress(case["name"], prof.duration, prof.cycle_of)

        def on_frame(disc, frame, T):
            tr = trackers.get("t") or trackers.setdefault("t", LayerTracker(disc, kind))
            row = {"time_s": frame.time, "temperature_C": T, "cycle": int(prof.cycle_of(frame.time))}
            row.update(tr.row(frame))
            writer.write(row)

        try:
            res = run_case(model, prof.steps(max_dT=data["load"].get("max_dT", 5.0),
                                             min_dwell_steps=data["load"].get("min_dwell_steps", 10)),
                           cdir, settings, output=data.get("output", {}).get("fields", "corners"),
                           output_times=prof.corners, cycle_of=prof.cycle_of, progress=prog, on_frame=on_frame,
                           compression=data.get("output", {}).get("compression", "none"))
        finally:
            writer.close()
        summary.update(evaluate_case(data, kind, cdir / "layers.csv", prof, res, geo, mres.report))
        summary["status"] = res["status"]
        if res["status"] != "ok":
            summary["error"] = res["error"]
    except (ConvergenceError, InputError) as exc:
        summary["error"] = {**getattr(exc, "report", {}), "message": str(exc)}
    except Exception as exc:                            # a case that breaks must not stop the study
        summary["error"] = {"message": f"{type(exc).__name__}: {exc}",
                            "traceback": traceback.format_exc(limit=6)}
    summary["wall_time_s"] = round(_time.perf_counter() - t0, 3)
    write_json(cdir / "case.json", summary)
    return summary


def case_mesh(case, geo, des, ms, kind, cdir):
    """The case's mesh: built with gmsh, or read from `model.meshes` (a folder of prebuilt
    `<design>_<kind>.msh`, e.g. the committed benchmark geometries) when the study names one."""
    from fem_wlp.wlcsp.geometry import MeshResult, build_mesh, joints_for

    folder = case["data"]["model"].get("meshes")
    if not folder:
        return build_mesh(geo, des, kind, ms, cdir / "mesh")
    path = Path(folder)
    if not path.is_absolute():
        path = Path(case.get("base_dir", ".")) / path
    msh = path / f"{case['design']}_{kind}.msh"
    if not msh.is_file():
        raise InputError("model.meshes", str(folder), f"a folder holding {msh.name}")
    _check_prebuilt(path, geo, des, ms, folder, kind)
    joint, positions = joints_for(geo, des, ms, kind)
    rep = {"source": str(msh), "prebuilt": True, "joint_positions": list(positions), "joint": joint.report()}
    return MeshResult(msh, msh.with_suffix(".vtu"), rep)


#: mesh sizes that do not affect a model kind's mesh
_UNUSED_SIZES = {"slice2d": {"size_fine_3d"}, "axisym": {"size_fine_3d"}, "joint3d": {"size_fine", "size_layer"}}


def _check_prebuilt(path: Path, geo, des, ms, folder, kind):
    """A prebuilt mesh may only stand in for the parameters it was built with (its mesh_report.json)."""
    from fem_wlp.wlcsp.design import Design, Geometry, MeshSizes

    rep_file = path / "mesh_report.json"
    if not rep_file.is_file():
        raise InputError("model.meshes", str(folder), "a folder with mesh_report.json (written by fem-wlp mesh)")
    rep = json.loads(rep_file.read_text())
    built = {d.get("name"): d for d in rep.get("designs", [])}
    checks = [("geometry", Geometry(**rep.get("geometry", {})), geo),
              ("mesh", MeshSizes(**rep.get("mesh", {})), ms)]
    if des.name not in built:
        raise InputError("model.meshes", str(folder), f"meshes built for design '{des.name}'")
    checks.append((f"designs.{des.name}", Design(**built[des.name]), des))
    from dataclasses import fields

    for key, a, b in checks:
        skip = _UNUSED_SIZES.get(kind, set()) if key == "mesh" else set()
        diff = [f.name for f in fields(a) if f.name not in skip and getattr(a, f.name) != getattr(b, f.name)]
        if diff:
            raise InputError("model.meshes", str(folder),
                             message=f"model.meshes = {folder!r}: its meshes were built with other {key} values "
                                     f"({', '.join(f'{key}.{d}' for d in diff)}); remove model.meshes to mesh "
                                     "this case")


def safe_name(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_@=." else "_" for c in name)


def evaluate_case(data, kind, layers_csv, prof, res, geo, mesh_report) -> dict:
    """Per-cycle ΔW and Δε_in per joint and layer, critical joint/layer, lives, max stresses per region."""
    from fem_wlp.wlcsp.fatigue import cycle_metrics, evaluate_lives, life_models_from_spec
    from fem_wlp.io.results import read_history

    h = read_history(layers_csv)
    out = {"dofs": res["dofs"], "elements": res["elements"], "increments": res["increments"],
           "newton_iterations": res["newton_iterations"], "cutbacks": res["cutbacks"],
           "linear_solver": res["linear_solver"], "timing_s": res["timing_s"]}
    joints = sorted({k.split("/")[1].split(".")[0] for k in h if k.startswith("solder/joint")},
                    key=lambda s: int(s[5:]))
    per_joint = []
    for j in joints:
        entry = {"joint": int(j[5:])}
        for layer in LAYERS + ("whole",):
            name = f"solder/{j}" + ("" if layer == "whole" else f"/{layer}")
            if f"{name}.w_in" not in h:
                continue
            cm = cycle_metrics(h["time_s"], h["cycle"], h[f"{name}.w_in"], h[f"{name}.eps_in_eq"],
                               cycle_bounds=prof.cycle_bounds, region=name)
            entry[layer] = {"dW_MPa": cm.stabilized_dW, "deps_in": cm.stabilized_deps_in,
                            "per_cycle": cm.per_cycle(), "warning": cm.warning}
        per_joint.append(entry)
    out["joints"] = per_joint
    # critical joint and layer: largest stabilised ΔW in an interface layer
    best = None
    for e in per_joint:
        for layer in LAYERS:
            v = (e.get(layer) or {}).get("dW_MPa")
            if v is not None and (best is None or v > best[0]):
                best = (v, e["joint"], layer)
    if best is None:
        out.update({"critical_joint": None, "critical_layer": None, "dW_per_cycle_MPa": None,
                    "deps_in_per_cycle": None, "per_cycle": [], "life_cycles": {}})
        return out
    _, cj, cl = best
    crit = next(e for e in per_joint if e["joint"] == cj)[cl]
    out.update({"critical_joint": cj, "critical_layer": cl, "dW_per_cycle_MPa": crit["dW_MPa"],
                "deps_in_per_cycle": crit["deps_in"],
                "per_cycle": [{"cycle": r["cycle"], "dW_MPa": r["dW_MPa"], "deps_in": r["deps_in"]}
                              for r in crit["per_cycle"]],
                "warnings": [w for e in per_joint for k in LAYERS + ("whole",) if (w := (e.get(k) or {}).get("warning"))]})
    # lives
    mats = materials_spec(data)
    solder = mats.get("solder") if isinstance(mats.get("solder"), str) else None
    models = life_models_from_spec(data.get("fatigue"), solder=solder)
    positions = mesh_report.get("joint_positions") or [0.0]
    dnp = float(positions[cj]) if cj < len(positions) else float(positions[-1])
    if kind == "joint3d":
        dnp = geo.corner_dnp
    standoff = _standoff(mesh_report)
    from fem_wlp.materials import material_from_spec

    die = material_from_spec("die", mats["die"])
    board = material_from_spec("board", mats["board"])
    board = board.oriented(1) if hasattr(board, "oriented") else board
    dT = prof.T_max - prof.T_min
    a_die = float(die.thermal_strain(np.array([prof.T_max]), prof.T_min)[0, 0]) / dT
    a_board = float(board.thermal_strain(np.array([prof.T_max]), prof.T_min)[0, 0]) / dT
    d_alpha = abs(a_board - a_die)
    dwell_min = _half_cycle_dwell_min(prof)
    T_sj = 0.5 * (prof.T_max + prof.T_min)
    eng = models.get("engelmaier")
    # Engelmaier needs a distance from the neutral point: not defined for the axisymmetric single joint
    delta_gamma = (eng.shear_strain_range(dnp, d_alpha, dT, standoff)
                   if eng is not None and standoff and dnp > 0 else None)
    # Darveaux crack length at failure: the joint diameter at the critical interface (domain.md §2.1)
    jr = mesh_report.get("joint") or {}
    crack = 2.0 * float(jr.get("contact_radius_die" if cl == "die_layer" else "contact_radius_board") or 0.0) or None
    lives = evaluate_lives(models, dW=crit["dW_MPa"], deps_in=crit["deps_in"], delta_gamma=delta_gamma,
                           T_sj=T_sj, t_dwell=dwell_min, crack_length=crack)
    out["life_cycles"] = {k: (None if v is None or not np.isfinite(v) else float(v)) for k, v in lives.items()}
    out["life_inputs"] = {"dnp_mm": dnp, "standoff_mm": standoff, "crack_length_mm": crack, "delta_alpha_per_K": d_alpha, "dT_K": dT,
                          "T_sj_C": T_sj, "half_cycle_dwell_min": dwell_min, "delta_gamma": delta_gamma}
    out["life_caveats"] = {k: getattr(m, "caveat", "") for k, m in models.items()}
    # stresses per region over the whole history
    out["max_stress_MPa"] = {}
    for name, r in res["regions"].items():
        o = r.get("over_history") or {}
        if o:
            out["max_stress_MPa"][name] = {"von_mises": o["max_von_mises_MPa"], "von_mises_at": o["max_von_mises_at"],
                                           "max_principal": o["max_principal_MPa"],
                                           "max_principal_at": o["max_principal_at"]}
    return out


def _standoff(rep: dict) -> float | None:
    for k in ("standoff_mm", "standoff"):
        if rep.get(k):
            return float(rep[k])
    j = rep.get("joint") or {}
    for k in ("standoff_mm", "standoff"):
        if isinstance(j, dict) and j.get(k):
            return float(j[k])
    return None


def _half_cycle_dwell_min(prof) -> float:
    dw = [s.t1 - s.t0 for s in prof.segments if s.kind == "dwell" and s.cycle >= 1]
    return (float(np.mean(dw)) / 60.0) if dw else 15.0


# ----------------------------------------------------------------------------------------------------------------
# the study
# ----------------------------------------------------------------------------------------------------------------
def run_reliability_study(study, out, workers=None, scheduler=None, quiet=False) -> int:
    """Run every case (in parallel), compare with the baseline, write the results folder. Exit code 0 when all
    cases succeeded, 1 when some failed (their errors are in summary.json and case.json)."""
    from fem_wlp.io.results import now, provenance, write_json
    from fem_wlp.workflows.runner import prepare_outdir, record_study
    from fem_wlp.workflows.sweep import run_cases

    start = now()
    out = prepare_outdir(out)
    record_study(study, out)
    cases = cases_of(study)
    kind = model_kind(study.data)
    prof = study.profile()
    done, todo = {}, []
    for c in cases:                                   # resume: keep finished cases of the same inputs
        f = out / "cases" / safe_name(c["name"]) / "case.json"
        if f.is_file():
            try:
                prev = json.loads(f.read_text())
                if prev.get("status") == "ok" and prev.get("hash") == case_hash(c):
                    done[c["name"]] = prev
                    continue
            except (OSError, ValueError):
                pass
        todo.append(c)
    if done and not quiet:
        print(f"fem-wlp: {len(done)} finished case(s) kept: {', '.join(done)}", file=sys.stderr)

    def write_summary():
        results = [done[c["name"]] for c in cases if c["name"] in done]
        s = study_summary(study, kind, prof, cases, results)
        write_json(out / "summary.json", s)
        return s

    # identical inputs (e.g. the flat baseline at every point of a design-parameter sweep) run once
    first, twins = {}, {}
    for c in todo:
        h = case_hash(c)
        if h in first:
            twins.setdefault(first[h]["name"], []).append(c)
        else:
            first[h] = c
    for res in run_cases(list(first.values()), str(out), workers=workers, scheduler=scheduler, quiet=quiet):
        done[res["name"]] = res
        for twin in twins.get(res["name"], []):
            done[twin["name"]] = {**res, "name": twin["name"], "sweep": twin["sweep"], "same_as": res["name"]}
        write_summary()
        if not quiet:
            msg = (f"ΔW = {res['dW_per_cycle_MPa']:.4g} MPa" if res.get("dW_per_cycle_MPa") is not None
                   else (res.get("error") or {}).get("message", ""))
            print(f"fem-wlp: case {res['name']}: {res['status']} ({res.get('wall_time_s', 0):.1f} s) {msg}",
                  file=sys.stderr)
    s = write_summary()
    write_json(out / "provenance.json", provenance(start, now(), {
        "study_file": str(study.path), "cases": {n: {k: r.get(k) for k in ("dofs", "increments", "newton_iterations",
                                                                            "cutbacks", "linear_solver", "timing_s",
                                                                            "wall_time_s")} for n, r in done.items()},
        "workers": workers, "scheduler": scheduler}))
    try:
        from fem_wlp.reporting.plots import make_plots
        from fem_wlp.reporting.report import write_report

        make_plots(out)
        write_report(out)
    except Exception as exc:                         # plots must never lose results
        print(f"fem-wlp: warning: plots/report failed: {type(exc).__name__}: {exc}", file=sys.stderr)
    if not quiet:
        print_table(s)
    failed = [c for c in s["cases"] if c["status"] != "ok"]
    if failed:
        print("fem-wlp run: failed case(s): " + "; ".join(f"{c['name']}: {(c.get('error') or {}).get('message', '?')}"
                                                       for c in failed), file=sys.stderr)
        return 1
    return 0


def study_summary(study, kind, prof, cases, results) -> dict:
    from fem_wlp import __version__

    base = study.data.get("study", {}).get("baseline", study.data["designs"][0]["name"])
    by_name = {r["name"]: r for r in results}
    primary = _primary_model(study)
    out_cases = []
    for c in cases:
        r = by_name.get(c["name"])
        if r is None:
            out_cases.append({"name": c["name"], "design": c["design"], "status": "pending"})
            continue
        # baseline of the same sweep point
        bname = base + c["name"][len(c["design"]):] if "@" in c["name"] else base
        b = by_name.get(bname)
        ratio, ratios = None, {}
        if b and b.get("status") == "ok" and r.get("status") == "ok":
            for m, n in (r.get("life_cycles") or {}).items():
                nb = (b.get("life_cycles") or {}).get(m)
                if n and nb:
                    ratios[m] = n / nb
            ratio = ratios.get(primary)
            if ratio is None and r.get("dW_per_cycle_MPa") and b.get("dW_per_cycle_MPa"):
                ratio = None
        entry = {k: v for k, v in r.items() if k not in ("joints",)}
        entry["life_ratio_vs_baseline"] = ratio
        entry["life_ratios_vs_baseline"] = ratios
        entry["baseline_case"] = bname
        entry["joints"] = r.get("joints")
        out_cases.append(entry)
    return {"study": study.name, "fem_wlp_version": __version__, "model": kind,
            "profile": prof.describe() if prof else None, "cycles": int(study.data["load"].get("cycles", 3)),
            "baseline": base, "primary_life_model": primary, "cases": out_cases,
            "notes": ["Absolute lives from literature constants are order-of-magnitude estimates; the life ratios "
                      "between designs are the trustworthy output.",
                      "dW_per_cycle_MPa and deps_in_per_cycle are the stabilised (last complete cycle) volume "
                      "averages over the critical interface layer of the critical joint."]}


def _primary_model(study) -> str:
    spec = study.data.get("fatigue") or {}
    models = spec.get("models")
    if isinstance(models, list) and models:
        return models[0]
    return "syed_energy"


def print_table(s: dict):
    print(f"\n{s['study']}: {s['model']}, {s['profile']}")
    print(f"{'case':<28}{'status':<8}{'joint':>6}{'layer':>13}{'ΔW MPa':>10}{'Δε_in':>10}"
          f"{'N_f (' + s['primary_life_model'] + ')':>24}{'ratio':>8}{'time s':>8}")
    for c in s["cases"]:
        n = (c.get("life_cycles") or {}).get(s["primary_life_model"])
        r = c.get("life_ratio_vs_baseline")
        print(f"{c['name']:<28}{c['status']:<8}{str(c.get('critical_joint', '')):>6}{str(c.get('critical_layer', '')):>13}"
              f"{_f(c.get('dW_per_cycle_MPa')):>10}{_f(c.get('deps_in_per_cycle')):>10}{_f(n, '.0f'):>24}"
              f"{_f(r, '.3f'):>8}{_f(c.get('wall_time_s'), '.1f'):>8}")


def _f(v, fmt=".4g"):
    return "—" if v is None else format(v, fmt)
