"""Evaluate a solved case: per-cycle ΔW and Δε_in per joint and layer, the critical joint and layer, fatigue
lives, and the maximum stresses per region.

The layer histories are read back from the case's layers.csv rather than kept in memory: the file holds them
to 9 significant digits (io.results.HistoryWriter), and the evaluated numbers are those of the file, so that a
case evaluated again from its folder gives the same digits.
"""
from __future__ import annotations

import numpy as np

from fem_wlp.io.results import read_history
from fem_wlp.materials import material_from_spec
from fem_wlp.study.spec import Study
from fem_wlp.wlcsp.fatigue import cycle_metrics, evaluate_lives
from fem_wlp.wlcsp.regions import LAYERS, WHOLE, joint_index, joint_region, joints_of

#: half-cycle dwell (min) assumed by Engelmaier when the profile has no dwell
DEFAULT_DWELL_MIN = 15.0
SOLVER_KEYS = ("dofs", "elements", "increments", "newton_iterations", "cutbacks", "linear_solver", "timing_s")


def evaluate(spec: Study, layers_csv, res: dict, mesh_report: dict) -> dict:
    """The case.json entries of a solved case (`res`: the summary of solve.run_model)."""
    h = read_history(layers_csv)
    prof = spec.profile
    out = {k: res[k] for k in SOLVER_KEYS}
    per_joint = joint_metrics(h, prof)
    out["joints"] = per_joint
    crit = critical(per_joint)
    if crit is None:
        out.update({"critical_joint": None, "critical_layer": None, "dW_per_cycle_MPa": None,
                    "deps_in_per_cycle": None, "per_cycle": [], "life_cycles": {}})
        return out
    cj, cl, m = crit
    out.update({"critical_joint": cj, "critical_layer": cl, "dW_per_cycle_MPa": m["dW_MPa"],
                "deps_in_per_cycle": m["deps_in"],
                "per_cycle": [{"cycle": r["cycle"], "dW_MPa": r["dW_MPa"], "deps_in": r["deps_in"]}
                              for r in m["per_cycle"]],
                "warnings": [w for e in per_joint for k in LAYERS + (WHOLE,) if (w := (e.get(k) or {}).get("warning"))]})
    out.update(lives(spec, mesh_report, cj, cl, m))
    out["max_stress_MPa"] = max_stresses(res)
    out["geometry"] = geometry_facts(mesh_report)
    return out


def geometry_facts(mesh_report: dict) -> dict | None:
    """The case's geometry facts (wlcsp.geometry.solder.Joint.facts: wetted diameters, pad edge, standoff,
    solder volume and height, relief, crack paths) from its mesh report; None for a mesh-file study."""
    facts = (mesh_report.get("joint") or {}).get("facts")
    return dict(facts) if facts else None


def joint_metrics(h: dict, prof) -> list[dict]:
    """Per joint: {joint, die_layer, board_layer, whole: {dW_MPa, deps_in, per_cycle, warning}}."""
    per_joint = []
    for j in joints_of(h):
        entry = {"joint": joint_index(j)}
        for layer in LAYERS + (WHOLE,):
            name = joint_region(j, layer)
            if f"{name}.w_in" not in h:
                continue
            cm = cycle_metrics(h["time_s"], h["cycle"], h[f"{name}.w_in"], h[f"{name}.eps_in_eq"],
                               cycle_bounds=prof.cycle_bounds, region=name)
            entry[layer] = {"dW_MPa": cm.stabilized_dW, "deps_in": cm.stabilized_deps_in,
                            "per_cycle": cm.per_cycle(), "warning": cm.warning}
        per_joint.append(entry)
    return per_joint


def critical(per_joint: list[dict]):
    """(joint, layer, metrics) with the largest stabilised ΔW in an interface layer; None if there is none."""
    best = None
    for e in per_joint:
        for layer in LAYERS:
            val = (e.get(layer) or {}).get("dW_MPa")
            if val is not None and (best is None or val > best[0]):
                best = (val, e["joint"], layer)
    if best is None:
        return None
    _, cj, cl = best
    return cj, cl, next(e for e in per_joint if e["joint"] == cj)[cl]


def lives(spec: Study, mesh_report: dict, cj: int, cl: str, m: dict) -> dict:
    """Fatigue lives of the critical joint/layer and the inputs the life models used."""
    prof = spec.profile
    models = spec.fatigue.life_models(spec.solder)
    positions = mesh_report.get("joint_positions") or [0.0]
    dnp = float(positions[cj]) if cj < len(positions) else float(positions[-1])
    if spec.kind == "joint3d":
        dnp = spec.geometry.corner_dnp
    standoff = _standoff(mesh_report)
    dT = prof.T_max - prof.T_min
    d_alpha = abs(_secant_alpha(spec, "board", prof) - _secant_alpha(spec, "die", prof))
    dwell_min = _half_cycle_dwell_min(prof)
    T_sj = 0.5 * (prof.T_max + prof.T_min)
    eng = models.get("engelmaier")
    # Engelmaier needs a distance from the neutral point: not defined for the axisymmetric single joint
    delta_gamma = (eng.shear_strain_range(dnp, d_alpha, dT, standoff)
                   if eng is not None and standoff and dnp > 0 else None)
    # Darveaux crack length at failure: the joint diameter at the critical interface (domain.md §2.1)
    jr = mesh_report.get("joint") or {}
    crack = 2.0 * float(jr.get("contact_radius_die" if cl == LAYERS[0] else "contact_radius_board") or 0.0) or None
    n = evaluate_lives(models, dW=m["dW_MPa"], deps_in=m["deps_in"], delta_gamma=delta_gamma,
                       T_sj=T_sj, t_dwell=dwell_min, crack_length=crack)
    return {"life_cycles": {k: (None if x is None or not np.isfinite(x) else float(x)) for k, x in n.items()},
            "life_inputs": {"dnp_mm": dnp, "standoff_mm": standoff, "crack_length_mm": crack,
                            "delta_alpha_per_K": d_alpha, "dT_K": dT, "T_sj_C": T_sj,
                            "half_cycle_dwell_min": dwell_min, "delta_gamma": delta_gamma},
            "life_caveats": {k: getattr(mod, "caveat", "") for k, mod in models.items()}}


def _secant_alpha(spec: Study, region: str, prof) -> float:
    """In-plane secant expansion coefficient of die or board over the cycle's temperature range (1/K)."""
    mat = material_from_spec(region, spec.materials[region])
    if region == "board" and hasattr(mat, "oriented"):
        mat = mat.oriented(1)
    dT = prof.T_max - prof.T_min
    return float(mat.thermal_strain(np.array([prof.T_max]), prof.T_min)[0, 0]) / dT


def max_stresses(res: dict) -> dict:
    """Maximum von Mises and principal stress of every region over the whole history, with location."""
    out = {}
    for name, r in res["regions"].items():
        o = r.get("over_history") or {}
        if o:
            out[name] = {"von_mises": o["max_von_mises_MPa"], "von_mises_at": o["max_von_mises_at"],
                         "max_principal": o["max_principal_MPa"], "max_principal_at": o["max_principal_at"]}
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
    return (float(np.mean(dw)) / 60.0) if dw else DEFAULT_DWELL_MIN
