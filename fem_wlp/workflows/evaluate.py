"""Evaluate a solved case: per-cycle ΔW and Δε_in per joint and layer, the damage metrics of the three averaging
rules (planar layer below the wetted face, conformal layer along the solder boundary, hot-spot volume around
the maximum), the headline rule's critical joint and layer, fatigue lives, and the maximum stresses per region.

The layer histories are read back from the case's layers.csv rather than kept in memory: the file holds them
to 9 significant digits (io.results.HistoryWriter), and the evaluated numbers are those of the file, so that a
case evaluated again from its folder gives the same digits.
"""
from __future__ import annotations

import numpy as np

from pathlib import Path

from fem_wlp.io.results import read_history
from fem_wlp.materials import material_from_spec
from fem_wlp.study.spec import Study
from fem_wlp.wlcsp.fatigue import (cycle_metrics, evaluate_lives, hotspot_set, per_cycle_increments, relative_change,
                                   set_average, solder_caveat, stabilisation_warning)
from fem_wlp.wlcsp.regions import LAYERS, PLANAR_LAYERS, WHOLE, joint_index, joint_region, joints_of
from fem_wlp.workflows.observers import ELEMENT_CYCLES_FILE

#: half-cycle dwell (min) assumed by Engelmaier when the profile has no dwell
DEFAULT_DWELL_MIN = 15.0
SOLVER_KEYS = ("dofs", "elements", "increments", "newton_iterations", "cutbacks", "rejected", "resolves",
               "linear_solver", "timing_s")


def evaluate(spec: Study, layers_csv, res: dict, mesh_report: dict) -> dict:
    """The case.json entries of a solved case (`res`: the summary of solve.run_model)."""
    h = read_history(layers_csv)
    prof = spec.profile
    out = {k: res[k] for k in SOLVER_KEYS}
    per_joint = joint_metrics(h, prof)
    out["joints"] = per_joint
    cyc = np.asarray(h.get("cycle", []), int)
    out["cycles_run"] = int(cyc.max()) if cyc.size else 0
    if "auto_cycles" in res:
        out["auto_cycles"] = res["auto_cycles"]
    fat = spec.fatigue
    metrics = damage_metrics(spec, per_joint, Path(layers_csv).with_name(ELEMENT_CYCLES_FILE),
                             _joint_width(mesh_report))
    rule, head, note = headline(fat.averaging, metrics)
    out["metrics"] = metrics
    out["averaging"] = {"requested": fat.averaging, "used": rule, "note": note}
    if head is None:
        out.update({"critical_joint": None, "critical_layer": None, "dW_per_cycle_MPa": None,
                    "deps_in_per_cycle": None, "per_cycle": [], "life_cycles": {}})
        return out
    cj, cl = head["critical_joint"], head["critical_layer"]
    warnings = [w for e in per_joint for k in LAYERS + PLANAR_LAYERS + (WHOLE,)
                if (w := (e.get(k) or {}).get("warning"))]
    hot = metrics["hotspot"]
    if hot.get("available") and hot.get("warning"):
        warnings.append(f"hotspot: {hot['warning']}")
    auto = res.get("auto_cycles")
    if auto and not auto["stabilised"] and res.get("status") == "ok":
        last = (auto["life_changes"] or [{}])[-1]
        warnings.append(f"load.cycles = 'auto': not stabilised after {auto['max_cycles']} cycles (the life ratio, or "
                        f"for a case without one its primary life, changed by more than {100 * auto['rtol']:g} % in "
                        f"the last cycle; its own life by {100 * last.get('life_change', float('nan')):+.1f} %); "
                        "raise load.max_cycles")
    out.update({"critical_joint": cj, "critical_layer": cl, "dW_per_cycle_MPa": head["dW_per_cycle_MPa"],
                "deps_in_per_cycle": head["deps_in_per_cycle"], "per_cycle": head["per_cycle"],
                "warnings": warnings})
    side = head.get("side") or _side(cl)
    out.update(lives(spec, mesh_report, cj, side, head))
    # the life of every rule with the same models and inputs (the headline's are life_cycles)
    for m in metrics.values():
        if m.get("available"):
            m["life_cycles"] = lives(spec, mesh_report, m["critical_joint"], m.get("side") or
                                     _side(m["critical_layer"]), m)["life_cycles"]
    out["max_stress_MPa"] = max_stresses(res)
    out["region_dW_per_cycle_MPa"] = region_work_per_cycle(Path(layers_csv).with_name("history.csv"), prof)
    out["geometry"] = geometry_facts(mesh_report)
    return out


def cycle_life_change(spec: Study, layers_csv, mesh_report: dict) -> dict | None:
    """For load.cycles = "auto": the primary model's life of every complete cycle of the headline rule so far,
    evaluated exactly as the final evaluation will (same files, same rules), and the relative change between the
    last two. None before two complete cycles or without a headline value."""
    h = read_history(layers_csv)
    metrics = damage_metrics(spec, joint_metrics(h, spec.profile), Path(layers_csv).with_name(ELEMENT_CYCLES_FILE),
                             _joint_width(mesh_report))
    _, head, _ = headline(spec.fatigue.averaging, metrics)
    if head is None:
        return None
    lives(spec, mesh_report, head["critical_joint"], head.get("side") or _side(head["critical_layer"]), head)
    life = [r.get("life_primary") for r in head.get("per_cycle") or [] if r.get("complete", True)]
    if len(life) < 2 or not life[-1] or not life[-2]:
        return None
    return {"cycles": len(life), "life_primary": life, "change": float(relative_change(life[-2], life[-1]))}


def geometry_facts(mesh_report: dict) -> dict | None:
    """The case's geometry facts (wlcsp.geometry.solder.Joint.facts: wetted diameters, pad edge, standoff,
    solder volume and height, relief, crack paths) from its mesh report; None for a mesh-file study."""
    facts = (mesh_report.get("joint") or {}).get("facts")
    return dict(facts) if facts else None


def joint_metrics(h: dict, prof) -> list[dict]:
    """Per joint: {joint, die_layer, board_layer, [die_planar_layer, board_planar_layer,] whole: {dW_MPa,
    deps_in, per_cycle, warning}} (the planar layers when the mesh has them)."""
    per_joint = []
    for j in joints_of(h):
        entry = {"joint": joint_index(j)}
        for layer in LAYERS + PLANAR_LAYERS + (WHOLE,):
            name = joint_region(j, layer)
            if f"{name}.w_in" not in h:
                continue
            cm = cycle_metrics(h["time_s"], h["cycle"], h[f"{name}.w_in"], h[f"{name}.eps_in_eq"],
                               cycle_bounds=prof.cycle_bounds, region=name)
            entry[layer] = {"dW_MPa": cm.stabilized_dW, "deps_in": cm.stabilized_deps_in,
                            "per_cycle": cm.per_cycle(), "warning": cm.warning}
        per_joint.append(entry)
    return per_joint


def critical(per_joint: list[dict], layers=LAYERS):
    """(joint, layer, metrics) with the largest stabilised ΔW in one of `layers`; None if there is none."""
    best = None
    for e in per_joint:
        for layer in layers:
            val = (e.get(layer) or {}).get("dW_MPa")
            if val is not None and (best is None or val > best[0]):
                best = (val, e["joint"], layer)
    if best is None:
        return None
    _, cj, cl = best
    return cj, cl, next(e for e in per_joint if e["joint"] == cj)[cl]


# ----------------------------------------------------------------------------------------------------------------
# the three averaging rules
# ----------------------------------------------------------------------------------------------------------------
def _joint_width(mesh_report: dict) -> float:
    """The out-of-plane width of the solder of a slice2d case (model.slice_width, recorded by workflows.case in
    the mesh report), 1 otherwise."""
    return float((mesh_report.get("slice_width") or {}).get("width", 1.0))


def damage_metrics(spec: Study, per_joint: list[dict], cycles_file: Path, joint_width: float = 1.0) -> dict:
    """{"planar", "conformal", "hotspot"}: each {available, dW_per_cycle_MPa, deps_in_per_cycle, per_cycle,
    critical_joint, critical_layer, ...} or {available: False, reason}. The layer rules are averages over one
    solder joint (one width: unchanged by model.slice_width); `joint_width`: see hotspot_metrics."""
    out = {}
    for rule, layers in (("planar", PLANAR_LAYERS), ("conformal", LAYERS)):
        c = critical(per_joint, layers)
        if c is None:
            why = ("the mesh has no planar damage layers (solder/joint<N>/die_planar_layer, board_planar_layer): "
                   "a mesh from an older version" if rule == "planar" else "no interface layer in the mesh")
            out[rule] = {"available": False, "reason": why}
            continue
        cj, cl, m = c
        out[rule] = {"available": True, "dW_per_cycle_MPa": m["dW_MPa"], "deps_in_per_cycle": m["deps_in"],
                     "per_cycle": _rows(m["per_cycle"]), "critical_joint": cj, "critical_layer": cl,
                     "warning": m.get("warning")}
    out["hotspot"] = hotspot_metrics(spec, cycles_file, joint_width)
    if out["hotspot"].get("available") and out["conformal"].get("available"):
        out["hotspot"]["side"] = _side(out["conformal"]["critical_layer"])
    for m in out.values():                       # the results contract: the same keys when unavailable
        if not m.get("available"):
            m.update({"dW_per_cycle_MPa": None, "deps_in_per_cycle": None, "per_cycle": []})
    return out


def _rows(per_cycle: list[dict]) -> list[dict]:
    return [{"cycle": r["cycle"], "dW_MPa": r["dW_MPa"], "deps_in": r["deps_in"]}
            for r in per_cycle if r.get("complete", True)]


def headline(rule: str, metrics: dict):
    """(rule used, its metrics, note): the study's rule, or conformal with a stated warning when it is
    unavailable; (rule, None, note) when no rule has a value."""
    m = metrics.get(rule) or {}
    if m.get("available"):
        return rule, m, None
    alt = metrics.get("conformal") or {}
    if rule != "conformal" and alt.get("available"):
        return "conformal", alt, (f"fatigue.averaging = {rule!r} is not available for this case "
                                  f"({m.get('reason', 'no value')}); the headline falls back to the conformal "
                                  "interface layers")
    return rule, None, f"no damage metric available ({m.get('reason', 'no value')})"


def default_hotspot_volume(kind: str, t: float, r_hot: float) -> float:
    """Default hot-spot size: a cube of edge t (joint3d, mm³), a t x t square (slice2d, mm² per mm of depth),
    the ring of a t x t section at the radius r_hot of the hottest element (axisym, mm³)."""
    if kind == "slice2d":
        return t * t
    if kind == "axisym":
        return 2.0 * np.pi * max(r_hot, 0.5 * t) * t * t
    return t ** 3


def hotspot_metrics(spec: Study, cycles_file: Path, joint_width: float = 1.0) -> dict:
    """ΔW and Δε_in per cycle averaged over the hot spot: the solder elements nearest the element with the
    largest ΔW of the last complete cycle, until their volume reaches fatigue.hotspot_volume (the same element
    set in every cycle). `joint_width`: the solder's out-of-plane width in a slice (model.slice_width; its
    element volumes are area x width): the target is scaled by it, so the hot spot is the same area of the
    slice whatever the width (the average over it is unchanged by a uniform width)."""
    if not Path(cycles_file).is_file():
        return {"available": False, "reason": f"no per-element cycle data ({ELEMENT_CYCLES_FILE})"}
    d = np.load(cycles_file)
    times, W, E = d["time_s"], d["w_in"], d["eps_in_eq"]
    bounds = spec.profile.cycle_bounds
    tol = 1e-6 * np.maximum(1.0, np.abs(times))

    def at(t):
        k = np.flatnonzero(np.abs(times - t) <= tol)
        return int(k[-1]) if k.size else -1

    idx = np.array([[at(a), at(b)] for a, b in bounds], int).reshape(-1, 2)
    ok = np.all(idx >= 0, axis=1)
    if not ok.any():
        return {"available": False, "reason": "no complete cycle"}
    ks = np.flatnonzero(ok) + 1
    dW = W[idx[ok, 1]] - W[idx[ok, 0]]                             # (K, n) per element and complete cycle
    dE = E[idx[ok, 1]] - E[idx[ok, 0]]
    vol, cen = d["volume"], d["centroid"]
    imax = int(np.argmax(dW[-1]))
    t = spec.geometry.interface_layer_thickness if spec.geometry is not None else 0.025
    target = (spec.fatigue.hotspot_volume or default_hotspot_volume(spec.kind, t, float(cen[0, imax]))) * joint_width
    sel = hotspot_set(cen, vol, dW[-1], target)
    w_k, e_k = set_average(dW, vol, sel), set_average(dE, vol, sel)
    msgs = [m for m in (stabilisation_warning(w_k, "hot spot ΔW"), stabilisation_warning(e_k, "hot spot Δε_in"))
            if m]
    got = float(vol[sel].sum())
    if got < target * (1 - 1e-9):
        msgs.append(f"the solder has only {got:.4g} mm³ around the maximum, less than fatigue.hotspot_volume = "
                    f"{target:.4g}")
    return {"available": True, "dW_per_cycle_MPa": float(w_k[-1]), "deps_in_per_cycle": float(e_k[-1]),
            "per_cycle": [{"cycle": int(k), "dW_MPa": float(a), "deps_in": float(b)}
                          for k, a, b in zip(ks, w_k, e_k)],
            "critical_joint": int(d["joint"][imax]), "critical_layer": "hotspot",
            "target_volume_mm3": float(target), "volume_mm3": got, "elements": int(sel.size),
            "max_element_dW_MPa": float(dW[-1, imax]), "at": cen[:, imax].tolist(),
            "warning": "; ".join(msgs) if msgs else None}


def _side(layer: str | None) -> str:
    return "board" if str(layer).startswith("board") else "die"


# ----------------------------------------------------------------------------------------------------------------
# lives
# ----------------------------------------------------------------------------------------------------------------
def cycle_temperatures(prof) -> tuple[float, float]:
    """(T_min, T_max) of the cycles (cycle >= 1): the swing Engelmaier and the secant expansion mismatch use,
    not the stress-free start of the initial ramp."""
    T = [x for s in prof.segments if s.cycle >= 1 for x in (s.T0, s.T1)]
    return (float(min(T)), float(max(T))) if T else (prof.T_min, prof.T_max)


def lives(spec: Study, mesh_report: dict, cj: int, side: str, m: dict) -> dict:
    """Fatigue lives of the critical joint (die or board `side`) from the metrics `m` of the headline rule, and
    the inputs the life models used."""
    prof = spec.profile
    models = spec.fatigue.life_models(spec.solder)
    positions = mesh_report.get("joint_positions") or [0.0]
    dnp = float(positions[cj]) if cj < len(positions) else float(positions[-1])
    if spec.kind == "joint3d":
        dnp = spec.geometry.corner_dnp
    standoff = _standoff(mesh_report)
    T_lo, T_hi = cycle_temperatures(prof)
    dT = T_hi - T_lo
    d_alpha = abs(_secant_alpha(spec, "board", T_lo, T_hi) - _secant_alpha(spec, "die", T_lo, T_hi))
    dwell_min = _half_cycle_dwell_min(prof)
    T_sj = 0.5 * (T_hi + T_lo)
    eng = models.get("engelmaier")
    # Engelmaier needs a distance from the neutral point: not defined for the axisymmetric single joint
    delta_gamma = (eng.shear_strain_range(dnp, d_alpha, dT, standoff)
                   if eng is not None and standoff and dnp > 0 else None)
    # Darveaux crack length at failure: the joint diameter at the critical interface (domain.md §2.1), and the
    # path through the critical layer along the relief when the geometry facts give it
    jr = mesh_report.get("joint") or {}
    crack = 2.0 * float(jr.get("contact_radius_die" if side == "die" else "contact_radius_board") or 0.0) or None
    path = crack_path(mesh_report, side)
    kw = dict(delta_gamma=delta_gamma, T_sj=T_sj, t_dwell=dwell_min, crack_length=crack)
    n = evaluate_lives(models, dW=m["dW_per_cycle_MPa"], deps_in=m["deps_in_per_cycle"], **kw)
    # the primary model's life of every cycle's metrics (the study checks that the life ratio is stabilised)
    primary = spec.fatigue.primary
    for r in m.get("per_cycle") or []:
        if r.get("dW_MPa") and r.get("deps_in") and r["dW_MPa"] > 0 and r["deps_in"] > 0:
            x = evaluate_lives({primary: models[primary]}, dW=r["dW_MPa"], deps_in=r["deps_in"], **kw)[primary]
            r["life_primary"] = None if x is None or not np.isfinite(x) else float(x)
    caveats = {k: " ".join(x for x in (getattr(mod, "caveat", ""), solder_caveat(k, spec.solder)) if x)
               for k, mod in models.items()}
    dar = models.get("darveaux")
    if dar is not None:
        t = spec.geometry.interface_layer_thickness if spec.geometry is not None else None
        lw = dar.layer_warning(t) if t else None
        if lw:
            caveats["darveaux"] += " " + lw + "."
        if path:
            n["darveaux_path"] = dar.life(m["dW_per_cycle_MPa"], path)
            caveats["darveaux_path"] = (
                f"Darveaux with the crack length along the path through the critical layer ({path:.4g} mm, "
                f"following the relief) instead of the projected diameter ({_f(crack)} mm): the growth constants "
                f"were fitted for a crack across a planar layer of {dar.layer_thickness:g} mm with the diameter "
                "as the crack length, so using them along a stepped path assumes the same growth rate per unit "
                "path length -- not validated; read it as the bound of what the longer path can give.")
    return {"life_cycles": {k: (None if x is None or not np.isfinite(x) else float(x)) for k, x in n.items()},
            "life_inputs": {"dnp_mm": dnp, "standoff_mm": standoff, "crack_length_mm": crack,
                            "crack_path_mm": path, "delta_alpha_per_K": d_alpha, "dT_K": dT,
                            "T_cycle_min_C": T_lo, "T_cycle_max_C": T_hi, "T_sj_C": T_sj,
                            "half_cycle_dwell_min": dwell_min, "delta_gamma": delta_gamma},
            "life_caveats": caveats}


def crack_path(mesh_report: dict, side: str) -> float | None:
    """The crack path length (mm) through the critical layer of `side` from the case's geometry facts (the
    mesh report's "facts" or "geometry" entry), None when the geometry does not give it. A discontinuous ring
    (joint3d) gives a path through its gaps too: the shorter one is used -- the crack front runs through the
    gaps, where nothing lengthens it."""
    for facts in (mesh_report.get("facts"), mesh_report.get("geometry"), (mesh_report.get("joint") or {}).get(
            "facts"), mesh_report):
        if isinstance(facts, dict) and facts.get(f"crack_path_{side}_mm"):
            paths = [float(facts[k]) for k in (f"crack_path_{side}_mm", f"crack_path_{side}_gap_mm")
                     if facts.get(k)]
            return min(paths)
    return None


def _f(x):
    return "—" if x is None else f"{x:.4g}"


def _secant_alpha(spec: Study, region: str, T_lo: float, T_hi: float) -> float:
    """In-plane secant expansion coefficient of die or board over the cycle's temperature range (1/K)."""
    mat = material_from_spec(region, spec.materials[region])
    if region == "board" and hasattr(mat, "oriented"):
        mat = mat.oriented(1)
    return float(mat.thermal_strain(np.array([T_hi]), T_lo)[0, 0]) / (T_hi - T_lo)


def region_work_per_cycle(history_csv, prof) -> dict:
    """Inelastic work density per cycle (MPa) of every region with inelastic work, volume-averaged over the whole
    region (all joints of the model): {region: [cycle 1, cycle 2, ...]} -- the copper's cyclic plasticity next
    to the solder's creep (a region averaged over the whole model, not a damage metric)."""
    if not Path(history_csv).is_file():
        return {}
    h = read_history(history_csv)
    if "cycle" not in h or not len(h["cycle"]):
        return {}
    out = {}
    for col in h:
        if not col.endswith(".w_in") or not np.any(np.asarray(h[col]) > 0):
            continue
        ks, dW, done = per_cycle_increments(h["cycle"], h[col], h["time_s"], prof.cycle_bounds)
        out[col[:-len(".w_in")]] = [float(x) for x in dW[done]]
    return out


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
