"""Local error control of the time integration (issue 15 items 3, 4): with default solver settings, creep
relaxation and constant-stress creep of Norton and Garofalo bars within 1 % of their closed-form / ODE reference at
every output time (every converged increment), and the Anand Delta W of one thermal cycle within 0.5 % of the value
extrapolated from fixed-step refinement.

The bars are one Q1 hex (homogeneous uniaxial stress: the elements are exact, the only error is the time
integration's). The load is a displacement ramp of 1e-4 s, then held: the time grid is built explicitly with that
corner (tests/test_profile.py checks that the study's grid contains the corners of every history). The fixed-step
runs beside the controlled ones show that the tests can fail: on the same grid without error control the error
is several times the 1 % bound.
"""
from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import numpy as np
import pytest
import skfem
from scipy.integrate import solve_ivp

from fem_wlp.fe.mesh import FEMesh
from fem_wlp.fe.postprocess import region_averages
from fem_wlp.fe.problem import History, Model, Temperature, boundary_constraint
from fem_wlp.fe.solver import SolverSettings, run
from fem_wlp.fe.solver.discretization import Discretization
from fem_wlp.fe.solver.stepping import integration_error
from fem_wlp.materials import material_from_spec

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_verification_inelastic import PROFILE, sandwich_model  # noqa: E402

T_LOAD, HOLD = 1e-4, 30.0            # s: loading ramp, hold
NORTON = dict(model="norton", E=40000.0, nu=0.3, alpha=0.0, A=2e-11, n=4.0, Q_over_R=0.0)   # the bar
S0 = 60.0                            # MPa
# Garofalo: Pang 2004 SAC387 creep constants (library SAC387_garofalo) with a constant E, at 75 °C
GAROFALO = dict(model="garofalo", E=40000.0, nu=0.3, alpha=0.0, C1=32000.0, C2=0.037, C3=5.1, Q_over_R=6524.7)
T_GAR, S0_GAR, HOLD_GAR = 75.0, 40.0, 30.0       # relaxes 40 -> 10.3 MPa in the 30 s
GRID_MODE = SolverSettings(step_control="grid")


def bar(spec, u_of_t, T=25.0) -> Model:
    m = skfem.MeshHex.init_tensor(*[np.linspace(0.0, 1.0, 2)] * 3)
    m = m.with_boundaries({"x0": lambda x: np.isclose(x[0], 0.0), "x1": lambda x: np.isclose(x[0], 1.0),
                           "y0": lambda x: np.isclose(x[1], 0.0), "z0": lambda x: np.isclose(x[2], 0.0)})
    fm = FEMesh.from_skfem(m.with_subdomains({"bar": lambda x: x[0] > -1.0}))
    cs = (boundary_constraint(fm, "x0", ["x"]), boundary_constraint(fm, "y0", ["y"]),
          boundary_constraint(fm, "z0", ["z"]),
          boundary_constraint(fm, "x1", ["x"], value=lambda t, x: u_of_t(t)))       # bar length 1: u = strain
    return Model(fm, "3d", {"bar": material_from_spec("bar", spec)}, cs, Temperature(T), order=1)


def grids(hold):
    """The corners only, and the default grid's 10 steps per dwell (load.min_dwell_steps) after the ramp."""
    return {"corners": np.array([0.0, T_LOAD, T_LOAD + hold]),
            "dwell10": np.concatenate([[0.0], T_LOAD + np.linspace(0.0, hold, 11)])}


def relaxation(spec, s0, hold, exact, times, settings=None, T=25.0):
    """Worst relative stress error over every frame of the hold, its time, the frames and the counts."""
    model = bar(spec, History.of("u", [[0.0, 0.0], [T_LOAD, s0 / spec["E"]]]), T)
    disc = Discretization(model, settings)
    worst, at, n = 0.0, None, 0
    for f in run(model, times, disc=disc):
        if f.time >= T_LOAD * (1 + 1e-9):
            s = f.states["bar"]["stress"]
            # homogeneous, uniaxial to the default Newton tolerance (rtol 1e-5 of the internal force)
            assert np.ptp(s[0]) < 1e-6 * s0 and np.abs(s[1:]).max() < 1e-4 * s0
            e = abs(float(s[0].mean()) / exact(f.time - T_LOAD) - 1.0)
            n += 1
            if e > worst:
                worst, at = e, f.time - T_LOAD
    return worst, at, n, dict(disc.counts)


def norton_exact(t):
    E, A, n = NORTON["E"], NORTON["A"], NORTON["n"]
    return (S0 ** (1 - n) + (n - 1) * E * A * t) ** (1 / (1 - n))


@pytest.mark.parametrize("grid", ["corners", "dwell10"])
def test_norton_relaxation_default_settings_within_1_percent(grid):
    times = grids(HOLD)[grid]
    worst, at, n, counts = relaxation(NORTON, S0, HOLD, norton_exact, times)
    fixed = relaxation(NORTON, S0, HOLD, norton_exact, times, GRID_MODE)
    print(f"Norton relaxation, grid {grid}: controlled worst {worst:.3%} at {at:.3g} s over {n} frames {counts}; "
          f"fixed grid worst {fixed[0]:.2%} at {fixed[1]:.3g} s")
    # closed form sigma(t) = (sigma0^(1-n) + (n-1) E A t)^(1/(1-n)); measured 0.38 % (corners, 45 increments),
    # 0.29 % (dwell10, 49): the global error of BDF2 under the default local tolerance 1e-6 (at 3e-7: 0.19 / 0.13 %,
    # at 2e-6: 0.55 / 0.43 %; it goes as tolerance^(2/3)). Backward Euler at 3e-7 (the previous default): 0.71 /
    # 0.66 % with 102 / 108 increments, at 1e-6: 1.24 / 1.06 %
    assert worst < 1e-2
    # the grid alone is far off (measured 38.8 % at 30 s / 9.2 % at 6 s; the issue: 8.8 % at 3 s)
    assert fixed[0] > 5e-2
    assert counts["increments"] < 200                     # and the control costs a bounded number of increments


@pytest.mark.parametrize("integration", ["auto", "euler"])
def test_norton_constant_stress_creep_default_settings(integration):
    """Displacement-controlled equivalent of constant-stress creep: the bar's end follows eps(t) = s/E + rate(s) t,
    so the stress must stay at s and eps_in = rate(s) t at every frame. Backward Euler and BDF2 (the default
    under error control; it restarts with a backward-Euler step at the end of the loading ramp) integrate a
    constant rate exactly: the error estimate is zero (round-off) and the controller grows the step up to the
    grid's."""
    mat = material_from_spec("bar", NORTON)
    s, E = 40.0, NORTON["E"]
    rate = float(mat.rate(s, 25.0))
    eps = lambda t: s / E + rate * max(t - T_LOAD, 0.0)
    model = bar(NORTON, History.of("u", [[0.0, 0.0], [T_LOAD, eps(T_LOAD)], [T_LOAD + HOLD, eps(T_LOAD + HOLD)]]))
    disc = Discretization(model, SolverSettings(integration=integration))
    frames = list(run(model, grids(HOLD)["dwell10"], disc=disc))
    for f in frames[2:]:
        st = f.states["bar"]
        assert np.abs(st["stress"][0] / s - 1.0).max() < 1e-2
        assert np.allclose(st["eps_in_eq"], rate * (f.time - T_LOAD), rtol=1e-2)
    print("Norton creep:", integration, disc.counts, "final eps_in", float(frames[-1].states["bar"]["eps_in_eq"].mean()))
    # exact up to the Newton tolerance: each frame's stress is off by up to ~rtol (1e-5) relative (measured
    # <= 8.4e-6), its creep rate n = 4 times that, with either sign. Backward Euler: measured 2.4e-7 at the end
    # (bound 1e-6 as before BDF2 existed); BDF2: 1.9e-7 (1.4e-6 with full Newton: the same kind of per-frame
    # errors summed with BDF2's weights), bound n rtol = 4e-5
    rel = 1e-6 if integration == "euler" else 4e-5
    assert frames[-1].states["bar"]["eps_in_eq"].mean() == pytest.approx(rate * HOLD, rel=rel)
    # nothing rejected; the step grows from the 1e-4 s loading step by the growth factor 1.5 per increment up to the
    # grid's 3 s (log(3e4)/log(1.5) = 25.4 increments) and then takes the grid's steps
    assert disc.counts["rejected"] == 0 and disc.counts["increments"] <= 1 + 26 + 10


def garofalo_reference():
    m = material_from_spec("bar", GAROFALO)
    E = GAROFALO["E"]
    # uniaxial relaxation: d sigma/dt = -E C1 sinh(C2 sigma)^C3 exp(-Q/R T_K) (garofalo.py's law)
    sol = solve_ivp(lambda t, y: -E * m.rate(y, T_GAR), (0.0, HOLD_GAR), [S0_GAR], method="Radau", rtol=1e-10,
                    atol=1e-12, dense_output=True)
    return lambda t: float(sol.sol(t)[0])


@pytest.mark.parametrize("grid", ["corners", "dwell10"])
def test_garofalo_relaxation_default_settings_within_1_percent(grid):
    ref = garofalo_reference()
    times = grids(HOLD_GAR)[grid]
    worst, at, n, counts = relaxation(GAROFALO, S0_GAR, HOLD_GAR, ref, times, T=T_GAR)
    fixed = relaxation(GAROFALO, S0_GAR, HOLD_GAR, ref, times, GRID_MODE, T=T_GAR)
    print(f"Garofalo relaxation, grid {grid}: controlled worst {worst:.3%} at {at:.3g} s over {n} frames {counts}; "
          f"fixed grid worst {fixed[0]:.2%} at {fixed[1]:.3g} s")
    # measured 0.54 % (corners, 56 increments) / 0.42 % (dwell10, 59) with BDF2 at the default 1e-6; a 100 s hold
    # (down to 7.8 MPa) reaches 0.65 / 0.48 % (backward Euler at 3e-7: 0.87 / 0.76 % with 131 / 137 increments,
    # 1.01 / 0.89 % over 100 s)
    assert worst < 1e-2
    assert fixed[0] > 3e-2                                # measured 54 % / 33 %
    assert counts["increments"] < 200


def test_garofalo_constant_stress_creep_default_settings():
    mat = material_from_spec("bar", GAROFALO)
    s, E = 30.0, GAROFALO["E"]
    rate = float(mat.rate(s, T_GAR))
    eps = lambda t: s / E + rate * max(t - T_LOAD, 0.0)
    model = bar(GAROFALO, History.of("u", [[0.0, 0.0], [T_LOAD, eps(T_LOAD)],
                                          [T_LOAD + HOLD_GAR, eps(T_LOAD + HOLD_GAR)]]), T_GAR)
    frames = list(run(model, grids(HOLD_GAR)["corners"]))
    # the bar creeps already during the 1e-4 s loading ramp (rate(30 MPa) = 1.1e-3 /s at 75 °C): eps_in is
    # compared from the end of the ramp on
    e1 = frames[1].states["bar"]["eps_in_eq"]
    for f in frames[2:]:
        st = f.states["bar"]
        assert np.abs(st["stress"][0] / s - 1.0).max() < 1e-2
        assert np.allclose(st["eps_in_eq"] - e1, rate * (f.time - T_LOAD), rtol=1e-2)
    print("Garofalo creep:", len(frames) - 1, "increments, final eps_in", float(frames[-1].states["bar"]["eps_in_eq"].mean()))


def test_error_estimate_is_the_trapezoidal_difference():
    """integration_error = max over points of sqrt(2/3) |d eps_in - dt/2 (rate_n + rate_n+1)| (equivalent
    strain), with rate_n+1 = d eps_in / dt for backward Euler; elastic and rate-independent regions contribute 0."""
    model = bar(NORTON, History.of("u", [[0.0, 0.0], [T_LOAD, S0 / NORTON["E"]]]))
    disc = Discretization(model, GRID_MODE)          # backward Euler on the grid's steps
    frames = list(run(model, [0.0, T_LOAD, T_LOAD + 1.0, T_LOAD + 2.0], disc=disc))
    a, b = frames[-2].states["bar"], frames[-1].states["bar"]
    dt = frames[-1].dt
    d = b["eps_in"] - a["eps_in"]
    assert np.allclose(b["rate_in"], d / dt)
    trap = 0.5 * dt * (a["rate_in"] + b["rate_in"])
    ref = float(np.max(np.sqrt(2 / 3) * np.linalg.norm(d - trap, axis=0)))
    assert integration_error(disc, {"bar": b}, {"bar": a}, dt) == pytest.approx(ref, rel=1e-12)
    # the rate at the start of the hold is the creep rate at the loaded stress: A s0^n (uniaxial, xx component)
    r0 = frames[1].states["bar"]["rate_in"][0]
    sig1 = frames[1].states["bar"]["stress"][0]
    assert np.allclose(r0, NORTON["A"] * sig1 ** NORTON["n"], rtol=1e-9)
    plastic = dict(model="plastic", E=200000.0, nu=0.3, alpha=0.0, yield_stress=100.0)
    pm = bar(plastic, History.of("u", [[0.0, 0.0], [1.0, 2e-3]]))
    pd = Discretization(pm)
    pf = list(run(pm, [0.0, 0.5, 1.0], disc=pd))
    assert pf[-1].states["bar"]["eps_in_eq"].max() > 0
    # nothing rate-dependent: no estimate (None), and the controlled run takes the grid's steps
    assert integration_error(pd, {"bar": pf[-1].states["bar"]}, {"bar": pf[-2].states["bar"]}, 0.5) is None
    assert [f.time for f in pf] == [0.0, 0.5, 1.0]
    el = bar(dict(model="elastic", E=1e5, nu=0.3, alpha=0.0), History.of("u", [[0.0, 0.0], [1.0, 1e-3]]))
    assert [f.time for f in run(el, [0.0, 0.01, 1.0])] == [0.0, 0.01, 1.0]


def test_rejected_steps_keep_the_state_and_land_on_corners():
    """The first proposal (the whole first grid interval: a 10 s loading ramp to 60 MPa) is rejected and retried
    smaller from the committed state: the accepted frames still form an increasing sequence containing every grid
    time, and the result equals a run that never rejects (the accepted steps imposed as a grid, without control)
    to round-off."""
    times = np.array([0.0, 10.0, 12.5, 30.0])
    model = bar(NORTON, History.of("u", [[0.0, 0.0], [10.0, S0 / NORTON["E"]]]))
    # full Newton in both runs: a modified-Newton iterate depends on which tangent was factorized last (a
    # rejected trial's), so the two runs would agree to the Newton tolerance only, not to round-off
    disc = Discretization(model, SolverSettings(tolerance=1e-6, modified_newton="off"))
    frames = list(run(model, times, disc=disc))
    ft = np.array([f.time for f in frames])
    assert np.all(np.diff(ft) > 0)
    assert all(np.any(np.isclose(ft, t, rtol=0, atol=1e-12)) for t in times)
    assert disc.counts["rejected"] > 0
    replay = list(run(model, ft, dataclasses.replace(GRID_MODE, tolerance=1e-6, integration="bdf2",
                                                     modified_newton="off")))
    assert len(replay) == len(frames)
    for f, g in zip(frames, replay):
        assert np.allclose(f.states["bar"]["stress"], g.states["bar"]["stress"], rtol=1e-9, atol=1e-9)


def anand_cycle_dW(settings, max_dT, dwell_steps):
    model = sandwich_model(2)
    disc = Discretization(model, settings)
    t_a, t_b = PROFILE.cycle_bounds[0]
    w = {}
    for f in run(model, PROFILE.steps(max_dT=max_dT, min_dwell_steps=dwell_steps), disc=disc):
        for tt in (t_a, t_b):
            if abs(f.time - tt) < 1e-6:
                w[tt] = region_averages(disc, f)["solder.w_in"]
    return w[t_b] - w[t_a], dict(disc.counts)


def test_anand_cycle_dW_controlled_within_half_percent_of_extrapolated():
    """The Si / SAC305 / FR-4 sandwich of test_verification_inelastic, 1 JESD22-A104-G cycle: Delta W of the
    controlled run (default settings on the default 5 °C / 10-step grid) against the value extrapolated from
    fixed steps of 10, 5, 2.5 °C with the observed order (Richardson)."""
    fixed = {dT: anand_cycle_dW(dataclasses.replace(GRID_MODE, max_deps_in=1.0), dT, n)
             for dT, n in ((10.0, 5), (5.0, 10), (2.5, 20))}
    d = np.array([fixed[k][0] for k in (10.0, 5.0, 2.5)])
    p = np.log2((d[1] - d[0]) / (d[2] - d[1]))
    ext = d[2] + (d[2] - d[1]) / (2 ** p - 1)
    dW, counts = anand_cycle_dW(SolverSettings(), 5.0, 10)
    print(f"Anand cycle: fixed dW {d} (order {p:.3f}), extrapolated {ext:.6f}; errors of fixed "
          f"{[f'{x / ext - 1:+.2%}' for x in d]}; controlled {dW:.6f} ({dW / ext - 1:+.3%}) {counts}, fixed 5 °C "
          f"{fixed[5.0][1]}")
    assert 0.8 < p < 1.2                                    # backward Euler: first order (measured 1.04)
    # measured +0.030 % (BDF2, 203 increments, 635 Newton iterations of which 601 modified-Newton back-substitutions,
    # 34 tangents; backward Euler at 3e-7 was -0.117 % with 469 / 539; the fixed 5 °C grid: 125 / 192)
    assert abs(dW / ext - 1) < 5e-3
    assert abs(d[1] / ext - 1) > 5e-3                       # the default grid alone is not (measured -0.84 %)


@pytest.mark.parametrize("table,key", [({"tolerance": 0.0}, "solver.tolerance"), ({"tolerance": 0.5}, "solver.tolerance"),
                                       ({"step_control": "adaptive"}, "solver.step_control")])
def test_bad_step_control_keys_name_the_key(table, key):
    from fem_wlp.errors import InputError
    from fem_wlp.study.spec import SolverSpec

    with pytest.raises(InputError) as ei:
        SolverSpec.from_table(table)
    assert ei.value.key == key
    with pytest.raises(InputError):
        SolverSettings(**{k.replace("solver.", ""): v for k, v in table.items()})
    assert SolverSpec.from_table({"tolerance": 1e-6, "step_control": "grid"}).settings() == \
        SolverSettings(tolerance=1e-6, step_control="grid")


def test_bdf2_is_second_order_on_fixed_steps():
    """Norton relaxation (the issue's bar) on uniform grids of 20 / 40 steps over the 30 s hold, integration forced
    on the grid: BDF2 converges at (at least) second order, backward Euler at first order. The error at the end of
    the hold against the closed form; the first step of the hold is backward Euler (BDF2 restarts at the load
    corner), whose O(dt^2) local error keeps the global error second order."""
    errs = {}
    for integration in ("bdf2", "euler"):
        for n in (20, 40):
            times = np.concatenate([[0.0], T_LOAD + np.linspace(0.0, HOLD, n + 1)])
            model = bar(NORTON, History.of("u", [[0.0, 0.0], [T_LOAD, S0 / NORTON["E"]]]))
            frames = list(run(model, times, SolverSettings(step_control="grid", integration=integration, rtol=1e-10)))
            errs[integration, n] = abs(float(frames[-1].states["bar"]["stress"][0].mean()) / norton_exact(HOLD) - 1)
    p2 = np.log2(errs["bdf2", 20] / errs["bdf2", 40])
    p1 = np.log2(errs["euler", 20] / errs["euler", 40])
    print(f"BDF2 errors {errs['bdf2', 20]:.2e} / {errs['bdf2', 40]:.2e} (order {p2:.2f}); backward Euler "
          f"{errs['euler', 20]:.2e} / {errs['euler', 40]:.2e} (order {p1:.2f})")
    # measured: BDF2 1.00e-3 / 1.71e-4 (order 2.55), backward Euler 2.77e-2 / 1.42e-2 (order 0.96)
    assert p2 > 1.8
    assert 0.8 < p1 < 1.2
    assert errs["bdf2", 20] < 0.1 * errs["euler", 20]


def test_bdf2_error_estimate_is_milnes_device():
    """integration_error of a BDF2 step (omega = dt / previous dt) = 2 (1+omega)^2 / (2 + 3 omega) x the RMS of
    sqrt(2/3) |d eps_in - dt/2 (rate_n + rate_n+1)|; rate_n+1 is the BDF2 end rate, not d eps_in / dt."""
    model = bar(NORTON, History.of("u", [[0.0, 0.0], [T_LOAD, S0 / NORTON["E"]]]))
    disc = Discretization(model, SolverSettings(step_control="grid", integration="bdf2"))
    frames = list(run(model, [0.0, T_LOAD, T_LOAD + 1.0, T_LOAD + 2.5], disc=disc))
    a, b = frames[-2].states["bar"], frames[-1].states["bar"]
    dt, omega = frames[-1].dt, frames[-1].dt / frames[-2].dt
    d = b["eps_in"] - a["eps_in"]
    assert not np.allclose(b["rate_in"], d / dt, rtol=1e-3)        # a BDF2 step (not backward Euler)
    e = np.sqrt(2 / 3) * np.linalg.norm(d - 0.5 * dt * (a["rate_in"] + b["rate_in"]), axis=0)
    ref = 2 * (1 + omega) ** 2 / (2 + 3 * omega) * float(np.sqrt(np.mean(e ** 2)))
    assert integration_error(disc, {"bar": b}, {"bar": a}, dt, omega) == pytest.approx(ref, rel=1e-12)
