"""Process history before the thermal cycles (load.process = "buildup_then_reflow").

Stage 1, the build-up: the die and its build-up layers alone (wlcsp.regions.BUILDUP, the same mesh restricted to
them), each region stress-free at its own temperature (load.buildup_temperatures), are brought to equilibrium at
25 °C and heated to the joining temperature (load.stress_free_temperature, the solder's solidus) at the profile's
first ramp rate. Stage 2, the joint: the solder, the IMC, the board and its pads and mask join at that moment
stress-free (element activation, fe.problem.InitialState): the build-up keeps its displacements and states, the
joining regions' strains are measured from there. The profile then runs as usual.

Simplifications, stated in the case record: layer-by-layer deposition is not modelled (all build-up layers are
bonded from the start, each stress-free at its own temperature; e.g. the Cu is not heated by a later PI cure);
the stack is equilibrated at 25 °C in one increment (elastic layers are path-independent; a plastic Cu starts its
history there); the board is stress-free at the joining temperature.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np
from scipy.spatial import cKDTree

from fem_wlp.fe.kinematics import scalar_dofs, scalar_element
from fem_wlp.fe.postprocess import element_average
from fem_wlp.fe.problem import Constraint, History, InitialState, Model, Temperature
from fem_wlp.fe.solver import Discretization, run
from fem_wlp.materials.base import von_mises
from fem_wlp.wlcsp.regions import BUILDUP, top_region

AMBIENT_C = 25.0
#: stage-1 heating when the profile gives no rate (°C/s): 10 °C/min, the JEDEC ramp
DEFAULT_RATE = 10.0 / 60.0


def with_process(spec, model: Model, prof, settings) -> tuple[Model, dict]:
    """The case model started from the end of the build-up stage (or unchanged for reflow_only), and the
    record of the stage (stress-free temperatures, residual stresses of the build-up at 25 °C and at joining)."""
    load = spec.load
    if load.process == "reflow_only":
        return model, {"process": "reflow_only"}
    T0s = dict(load.buildup_temperatures)
    stage_regions = [n for n in model.materials if top_region(n) in BUILDUP]
    regions_T0 = tuple((n, T0s[top_region(n)]) for n in stage_regions)
    sub = model.mesh.subset(stage_regions)
    T_join = load.stress_free_temperature
    rate = _first_rate(prof)
    t_heat = max(abs(T_join - AMBIENT_C) / rate, 1.0)
    eps = 1e-6 * t_heat
    temp = Temperature(AMBIENT_C, History((0.0, eps, eps + t_heat), (AMBIENT_C, AMBIENT_C, T_join)),
                       corners=(0.0, eps, eps + t_heat), T0_regions=regions_T0)
    n = max(1, int(np.ceil(abs(T_join - AMBIENT_C) / load.max_dT)))
    times = np.concatenate([[0.0], eps + np.linspace(0.0, t_heat, n + 1)])
    stage1 = Model(sub, model.formulation, {r: model.materials[r] for r in stage_regions},
                   _stage_constraints(sub, model), temp, order=model.order, intorder=model.intorder,
                   name=f"{model.name} build-up")
    disc = Discretization(stage1, settings)
    frames = run(stage1, times, settings, disc)
    next(frames)                                       # frame 0: u = 0, not in equilibrium at 25 °C
    at_ambient = last = next(frames)
    ambient = _residual(disc, at_ambient)
    count = 1
    for frame in frames:                              # the heating to the joining temperature
        last, count = frame, count + 1
    # case-model dofs at a stage-1 dof's position take its displacement (by coordinates: the same nodes, P2 edge
    # dofs included; both copies of a node split for an unbonded interface, so the contact starts closed)
    elem = scalar_element(model.mesh.mesh, model.order)
    _, x_full, _ = scalar_dofs(model.mesh.mesh, elem)
    _, x_sub, _ = scalar_dofs(sub.mesh, scalar_element(sub.mesh, model.order))
    dist, idx = cKDTree(x_sub.T).query(x_full.T)
    hit = dist <= 1e-9 * max(1.0, float(np.ptp(x_full)))
    if np.count_nonzero(hit) < x_sub.shape[1]:
        raise RuntimeError("build-up stage: its dofs are not dofs of the case mesh")
    nc = model.ncomp
    u0 = np.zeros(x_full.shape[1] * nc)
    u0.reshape(-1, nc)[hit] = last.u.reshape(-1, nc)[idx[hit]]
    joining = tuple(r for r in model.materials if r not in stage_regions)
    init = InitialState(u0, last.ezz, {r: last.states[r] for r in stage_regions}, activated=joining)
    t_model = Temperature(model.temperature.T0, model.temperature.history, model.temperature.field,
                          model.temperature.corners, T0_regions=regions_T0)
    staged = replace(model, temperature=t_model, initial=init)
    record = {"process": "buildup_then_reflow", "stress_free_temperatures_C": dict(regions_T0),
              "joining_regions": list(joining), "joining_temperature_C": T_join,
              "buildup_heating_s": t_heat, "buildup_increments": count,
              "buildup_residual_stress_MPa": {"at_25C": ambient, "at_joining": _residual(disc, last)}}
    return staged, record


def _first_rate(prof) -> float:
    for s in prof.segments:
        if s.kind == "ramp" and s.t1 > s.t0:
            return abs(s.T1 - s.T0) / (s.t1 - s.t0)
    return DEFAULT_RATE


def _stage_constraints(sub, model: Model) -> tuple[Constraint, ...]:
    """The build-up alone: the case's symmetry (slice: x = 0) or axis (axisym: r = 0) condition on its dofs at
    x = 0, and the vertical rigid motion held at the node nearest the die top on the axis."""
    mesh = sub.mesh
    _, x, _ = scalar_dofs(mesh, scalar_element(mesh, model.order))
    on_axis = np.flatnonzero(np.abs(x[0]) <= 1e-9)
    top = int(np.argmin(np.hypot(x[0], x[1] - x[1].max())))
    return (Constraint("build-up symmetry x = 0", (0,), nodes=on_axis),
            Constraint("build-up vertical rigid motion", (1,), nodes=np.array([top])))


def _residual(disc, frame) -> dict:
    """Per build-up region: volume-average and largest element-average von Mises stress (MPa)."""
    out = {}
    for name, ops in zip(disc.names, disc.ops):
        sig = frame.states[name]["stress"]
        w = ops.w.reshape(-1)
        vm_el = von_mises(element_average(ops, sig))
        out[name] = {"mean_von_mises": float((von_mises(sig) * w).sum() / w.sum()), "max_von_mises": float(vm_el.max())}
    return out
