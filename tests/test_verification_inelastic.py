"""Multi-element verification of the inelastic solver (issue 4): closed forms and convergence through `run`.

References: shared/reference/verification.md C.6 (Norton creep and relaxation), C.7 (Anand saturation stress),
C.8 (J2 elastic-perfectly-plastic thick cylinder). Units mm, N, MPa, s, °C.

Every tolerance is stated next to its assertion with where it comes from:
- "homogeneous": the exact solution has a linear displacement field (uniform strain/stress), which the elements
  reproduce exactly; the only spatial error is round-off and the Newton tolerance (rtol 1e-8).
- "backward Euler": the time integration is first order; errors are quoted at two step sizes and the bands of the
  observed order follow from e(dt) = C1 dt + C2 dt^2 (order 1 - O(dt)).
- "discretization error": measured on the chosen meshes (quoted in the comment); the band is what the a-priori
  theory allows, never widened to make a run pass.

Note on the predictor: the Norton tests load the bar in a tiny first step (1e-9 s) and then hold. With the default
`predictor=True` the solver extrapolates the displacement increment of that loading step by dt/dt_prev ~ 1e8
into the hold, Newton stalls from that far-off start and even the cut-back steps keep a huge extrapolation factor
(core issue reported with issue 4). These tests therefore run with `predictor=False`; the predictor itself is
exercised by the thermal-cycle tests.
"""
from __future__ import annotations

import numpy as np
import pytest
import skfem

from fem_wlp.errors import ConvergenceError
from fem_wlp.materials import material_from_spec
from fem_wlp.materials.base import von_mises
from fem_wlp.fe.mesh import FEMesh
from fem_wlp.fe.postprocess import region_averages
from fem_wlp.fe.problem import History, Model, Temperature, boundary_constraint, point_constraint
from fem_wlp.wlcsp.profiles import profile_from_spec
from fem_wlp.fe.solver.discretization import Discretization
from fem_wlp.fe.solver.settings import SolverSettings
from fem_wlp.fe.solver import run


def observed_order(e_coarse, e_fine, ratio=2.0):
    return float(np.log(abs(e_coarse) / abs(e_fine)) / np.log(ratio))


# ---------------------------------------------------------------------------------------------------------------
# 1, 2. Norton (C.6) on a 2x2x2 hex bar, lateral faces free (symmetry planes x = 0, y = 0, z = 0)
# ---------------------------------------------------------------------------------------------------------------
E_N, A_N, N_N, S0_N = 50000.0, 1e-12, 5.0, 50.0
T_LOAD = 1e-9            # s: the "instantaneous" loading step (creep during it: A s0^n T_LOAD ~ 3e-13)
# the verification runs below use Newton to 1e-8 (not the default 1e-5): their tolerances are round-off level
TIGHT = 1e-8
NO_PREDICTOR = SolverSettings(predictor=False, rtol=TIGHT)
# the convergence studies of backward Euler impose their steps: the grid's, without the local error control
NO_PREDICTOR_GRID = SolverSettings(predictor=False, rtol=TIGHT, step_control="grid")


def norton_bar_model(u_of_t):
    m = skfem.MeshHex.init_tensor(*[np.linspace(0.0, 1.0, 3)] * 3)
    m = m.with_boundaries({"x0": lambda x: np.isclose(x[0], 0.0), "x1": lambda x: np.isclose(x[0], 1.0),
                           "y0": lambda x: np.isclose(x[1], 0.0), "z0": lambda x: np.isclose(x[2], 0.0)})
    fm = FEMesh.from_skfem(m.with_subdomains({"bar": lambda x: x[0] > -1.0}))
    mat = material_from_spec("bar", dict(model="norton", E=E_N, nu=0.3, alpha=0.0, A=A_N, n=N_N, Q_over_R=0.0))
    cs = (boundary_constraint(fm, "x0", ["x"]), boundary_constraint(fm, "y0", ["y"]),
          boundary_constraint(fm, "z0", ["z"]),
          boundary_constraint(fm, "x1", ["x"], value=lambda t, x: u_of_t(t)))       # bar length 1: u = strain
    return Model(fm, "3d", {"bar": mat}, cs, Temperature(25.0), order=1)


def relaxation_closed(t):
    return (S0_N ** (1 - N_N) + (N_N - 1) * E_N * A_N * t) ** (-1.0 / (N_N - 1))


def relaxation_run(nsteps):
    """sigma_xx at t = 1 s and 10 s after loading, uniform steps 10/nsteps; also checks homogeneity."""
    model = norton_bar_model(History.of("u", [[0.0, 0.0], [T_LOAD, S0_N / E_N]]))
    times = np.concatenate([[0.0], T_LOAD + np.linspace(0.0, 10.0, nsteps + 1)])
    out = {}
    for f in run(model, times, NO_PREDICTOR_GRID):
        for tt in (1.0, 10.0):
            if abs(f.time - T_LOAD - tt) < 1e-9:
                s = f.states["bar"]["stress"]
                # homogeneous: uniaxial, uniform (round-off and Newton tolerance 1e-8 * 50 MPa)
                assert np.ptp(s[0]) < 1e-6 and np.abs(s[1:]).max() < 1e-6
                out[tt] = float(s[0].mean())
    return out


def test_norton_relaxation_fe_first_order():
    # C.6: sigma(1 s) = 40.825, sigma(10 s) = 26.085 MPa
    assert relaxation_closed(1.0) == pytest.approx(40.825, abs=5e-4)
    assert relaxation_closed(10.0) == pytest.approx(26.085, abs=5e-4)
    runs = {n: relaxation_run(n) for n in (40, 80, 160)}
    for tt in (1.0, 10.0):
        ref = relaxation_closed(tt)
        e = {n: runs[n][tt] - ref for n in runs}
        orders = [observed_order(e[40], e[80]), observed_order(e[80], e[160])]
        print(f"relaxation t = {tt:g} s: sigma_FE = {[round(runs[n][tt], 4) for n in runs]} (exact {ref:.4f}), "
              f"rel. errors {[f'{e[n] / ref:.2e}' for n in runs]}, observed orders {orders}")
        # measured: t = 1 s: 1.57e-2, 8.30e-3, 4.27e-3 (orders 0.92, 0.96); t = 10 s: 9.1e-3, 4.6e-3, 2.3e-3
        # (0.98, 0.99). Backward Euler overestimates sigma (e > 0); the order deviates from 1 by O(dt) (dt 0.25 ->
        # 0.0625 s against a relaxation time ~1 s at t = 1 s), so the band is [0.85, 1.15], the finer pair
        # must be closer to 1 than 0.06.
        assert all(v > 0 for v in e.values())
        assert all(0.85 < p < 1.15 for p in orders)
        assert abs(orders[1] - 1.0) < 0.06
        # 160 steps over 10 s: BE error <= 0.5 % (measured 0.43 % / 0.23 %; the reference's 400 log steps: 0.26 %)
        assert abs(e[160]) / ref < 5e-3
        # Richardson extrapolation removes the O(dt) term: left O(dt^2) ~ (0.4 %)^2-scale, measured 2e-4 / 3e-5
        rich = 2.0 * runs[160][tt] - runs[80][tt]
        assert rich == pytest.approx(ref, rel=1e-3)


def test_norton_constant_stress_creep_fe():
    """Displacement-controlled equivalent of constant-stress creep (no traction load in the core): the bar's end
    follows eps(t) = s/E + A s^n t. Backward Euler integrates the constant creep rate exactly, so the stress must
    stay at 50 MPa and the creep strain be A s^n t = 1.25e-3 at 4 s (C.6), to the Newton tolerance."""
    rate = A_N * S0_N ** N_N
    eps = lambda t: S0_N / E_N + rate * t
    model = norton_bar_model(History.of("u", [[0.0, 0.0], [T_LOAD, eps(T_LOAD)], [4.0, eps(4.0)]]))
    times = np.concatenate([[0.0], np.linspace(T_LOAD, 4.0, 5)])
    frames = list(run(model, times, NO_PREDICTOR))
    for f in frames[1:]:
        st = f.states["bar"]
        # homogeneous + exact BE: stress 50 MPa to rtol 1e-8 of the internal force (measured max dev 2e-8 MPa)
        assert np.abs(st["stress"][0] - S0_N).max() < 1e-6
        assert np.abs(st["stress"][1:]).max() < 1e-6
        assert np.allclose(st["eps_in_eq"], rate * f.time, rtol=1e-7, atol=1e-15)
    assert frames[-1].states["bar"]["eps_in_eq"].mean() == pytest.approx(1.25e-3, rel=1e-7)
    print("creep: Newton residuals per increment", [["%.1e" % r for r in f.residuals] for f in frames[1:]])


# ---------------------------------------------------------------------------------------------------------------
# 3. J2 elastic-perfectly-plastic thick cylinder (C.8), axisymmetric plane strain, driven by u_r(a)
# ---------------------------------------------------------------------------------------------------------------
CYL_A, CYL_B, CYL_H, SY, NU_C, E_C = 1.0, 2.0, 0.1, 250.0, 0.3, 200000.0
P_E = SY * (CYL_B ** 2 - CYL_A ** 2) / np.sqrt(3 * CYL_B ** 4 + CYL_A ** 4 * (1 - 2 * NU_C) ** 2)
P_C = 2.0 / np.sqrt(3.0) * SY * np.log(CYL_B / CYL_A)


def test_j2_thick_cylinder_elastic_limit_and_collapse():
    """Method: pressure is not a load of the core, so the inner radius is displaced, u_r(a) = u(t) from a table,
    u_z = 0 on both ends (plane strain), a slice of height h = 0.1 with 40 Q2 elements radially (one axially).
    The inner pressure is the reaction: p = sum of the internal-force entries of the constrained radial dofs at
    r = a / (2 pi a h) (the weights contain 2 pi r). Elastic Lamé (plane strain): u(a) = p a (1+nu)/E
    ((1-2nu) a^2 + b^2)/(b^2 - a^2), so u_e = that at p_e. Table: 0.99 u_e, 1.01 u_e, then up to 10 u_e."""
    assert P_E == pytest.approx(108.073, abs=1e-3) and P_C == pytest.approx(200.094, abs=1e-3)
    m = skfem.MeshQuad.init_tensor(np.linspace(CYL_A, CYL_B, 41), np.array([0.0, CYL_H]))
    m = m.with_boundaries({"inner": lambda x: np.isclose(x[0], CYL_A), "bottom": lambda x: np.isclose(x[1], 0.0),
                           "top": lambda x: np.isclose(x[1], CYL_H)})
    fm = FEMesh.from_skfem(m.with_subdomains({"tube": lambda x: x[0] > 0}))
    mat = material_from_spec("tube", dict(model="plastic", E=E_C, nu=NU_C, alpha=0.0, yield_stress=SY,
                                          hardening_modulus=0.0, hardening="isotropic"))
    a, b = CYL_A, CYL_B
    u_e = P_E * a * (1 + NU_C) / E_C * ((1 - 2 * NU_C) * a * a + b * b) / (b * b - a * a)
    ua = History.of("u_a", [[0.0, 0.0], [1.0, 0.99 * u_e], [2.0, 1.01 * u_e], [3.0, 10.0 * u_e]])
    f_ = "axisymmetric"
    cs = (boundary_constraint(fm, "bottom", ["y"], formulation=f_),
          boundary_constraint(fm, "top", ["y"], formulation=f_),
          boundary_constraint(fm, "inner", ["x"], value=lambda t, x: ua(t), formulation=f_))
    model = Model(fm, f_, {"tube": mat}, cs, Temperature(25.0), order=2)
    disc = Discretization(model, SolverSettings(rtol=TIGHT))
    inner = disc.cdofs[2][1]
    r_qp = disc.ops[0].x[0].reshape(-1)

    def pressure(f):
        fint, _ = disc.asm.internal_force({0: f.states["tube"]["stress"]})
        return float(fint[inner].sum() / (2.0 * np.pi * a * CYL_H))

    times = np.concatenate([[0.0, 1.0, 2.0], np.linspace(2.1, 3.0, 10)])
    rows = []
    for f in run(model, times, disc=disc):
        ep = f.states["tube"]["eps_in_eq"]
        c = float(r_qp[ep > 0].max()) if (ep > 0).any() else a
        rows.append((f.time, pressure(f), float(ep.max()), c, f.iterations, f.residuals))
    for t, p, ep, c, its, res in rows:
        print(f"t={t:4.2f} p={p:9.4f} p/p_e={p / P_E:7.4f} p/p_c={p / P_C:7.5f} max eps_p={ep:.2e} "
              f"c={c:.3f} its={its} {['%.1e' % x for x in res]}")
    _, p99, ep99, *_ = rows[1]
    _, p101, ep101, *_ = rows[2]
    # elastic: the Q2 reaction matches Lamé (measured p/p_e = 0.99000, error < 1e-5); tolerance 1e-4
    assert p99 / P_E == pytest.approx(0.99, rel=1e-4)
    # no yield at 0.99 p_e; yield at 1.01 p_e: the innermost Gauss point sits at r = a + 0.113 h_el = 1.0028, where
    # the Lamé von Mises stress is (a/r)^2 ~ 0.56 % below its r = a value -- inside the 1 % margin
    assert ep99 == 0.0
    assert ep101 > 0.0 and p101 > P_E
    # collapse: p increases monotonically and approaches p_c from below; measured p(10 u_e) = 200.041
    # (-0.03 %); "within a few %" -> asserted 1 % (and no overshoot beyond 0.5 %, which would signal locking)
    ps = np.array([r[1] for r in rows])
    assert np.all(np.diff(ps) > 0)
    assert ps[-1] == pytest.approx(P_C, rel=1e-2)
    assert ps.max() < 1.005 * P_C
    # fully plastic at the end: the yielded zone reaches the outermost Gauss point (c ~ b)
    assert rows[-1][3] > b - 0.01


# ---------------------------------------------------------------------------------------------------------------
# 4. Thermal cycle of a Si / SAC305 (Anand) / FR-4 sandwich, generalized plane strain, JESD22-A104-G, 1 cycle
# ---------------------------------------------------------------------------------------------------------------
W_S, HB, HS, HD = 1.0, 0.3, 0.1, 0.3          # half width, board, solder, die thickness (mm)
PROFILE = profile_from_spec({"profile": "JESD22-A104-G", "cycles": 1, "stress_free_temperature": 217.0})
# step_control "grid" and max_deps_in large: the step is the grid's (no adaptive subdivision), so a study controls dt exactly; Newton to
# 1e-10 (the default 1e-5 stops after 1-2 iterations) so that the residual sequences show the convergence rate
FIXED_GRID = SolverSettings(max_deps_in=1.0, rtol=1e-10, step_control="grid")


def sandwich_model(r: int, order: int = 2) -> Model:
    """Mesh level r: 4r x (r + 2r + r) Q2 elements (solder 2r layers); r -> 2r halves every element."""
    xs = np.linspace(0.0, W_S, 4 * r + 1)
    ys = np.concatenate([np.linspace(0, HB, r + 1), np.linspace(HB, HB + HS, 2 * r + 1)[1:],
                         np.linspace(HB + HS, HB + HS + HD, r + 1)[1:]])
    m = skfem.MeshQuad.init_tensor(xs, ys)
    m = m.with_subdomains({"board": lambda x: x[1] < HB, "solder": lambda x: (x[1] > HB) & (x[1] < HB + HS),
                           "die": lambda x: x[1] > HB + HS})
    fm = FEMesh.from_skfem(m.with_boundaries({"sym": lambda x: np.isclose(x[0], 0.0)}))
    f_ = "generalized_plane_strain"
    mats = {"board": material_from_spec("board", "FR4"), "solder": material_from_spec("solder", "SAC305"),
            "die": material_from_spec("die", "Si")}
    c1 = boundary_constraint(fm, "sym", ["x"], formulation=f_)
    c2, _ = point_constraint(fm, [0.0, 0.0], ["y"], formulation=f_)
    temp = Temperature(217.0, PROFILE.T, corners=tuple(PROFILE.corners))
    return Model(fm, f_, mats, (c1, c2), temp, order=order)


def cycle_run(r: int, max_dT: float, dwell_steps: int):
    """Delta W = increase of the solder's volume-averaged w_in over the cycle (MPa), residual histories, counts."""
    model = sandwich_model(r)
    disc = Discretization(model, FIXED_GRID)
    t_a, t_b = PROFILE.cycle_bounds[0]
    w, res = {}, []
    for f in run(model, PROFILE.steps(max_dT=max_dT, min_dwell_steps=dwell_steps), disc=disc):
        res.append(f.residuals)
        for tt in (t_a, t_b):
            if abs(f.time - tt) < 1e-6:
                w[tt] = region_averages(disc, f)["solder.w_in"]
    return {"dW": w[t_b] - w[t_a], "residuals": res, "counts": dict(disc.counts), "ndof": disc.ndof}


@pytest.fixture(scope="module")
def cycle_runs():
    runs = {}
    for key in [(2, 10.0, 5), (2, 5.0, 10), (2, 2.5, 20), (4, 10.0, 5), (8, 10.0, 5)]:
        runs[key] = cycle_run(*key)
    return runs


def test_cycle_newton_quadratic(cycle_runs):
    res = cycle_runs[(2, 5.0, 10)]["residuals"]
    ratios, consts = [], []
    for rs in res:
        if len(rs) >= 4:                                   # >= 3 Newton iterations
            for k in range(1, len(rs) - 1):
                # asymptotic range: r_k < 1e-2, and r_{k+1} above the round-off floor: converged increments end
                # at 1e-13..2e-12 relative (the floor of the residual of a 1e3-1e5 MPa stiffness contrast), so
                # pairs landing below 1e-11 measure round-off, not the Newton rate
                if rs[k] < 1e-2 and rs[k + 1] > 1e-11:
                    ratios.append(np.log(rs[k + 1]) / np.log(rs[k]))
                    consts.append(rs[k + 1] / rs[k] ** 2)
    long = [rs for rs in res if len(rs) >= 4]
    print("residual sequences (first 4 increments with >= 3 iterations):")
    for rs in long[:4]:
        print("   ", ["%.1e" % x for x in rs])
    print(f"{len(ratios)} pairs: log(r_k+1)/log(r_k) median {np.median(ratios):.2f}, min {np.min(ratios):.2f}, "
          f"max {np.max(ratios):.2f}; r_k+1/r_k^2 max {np.max(consts):.1f}")
    assert len(long) >= 5 and len(ratios) >= 10
    # quadratic: r_{k+1} = C r_k^2 -> log ratio 2 + log C / log r_k -> 2. Measured (36 pairs): median 1.97,
    # min 1.67, max 2.96; C median 1.3, max 15. A linear rate rho = 0.01 would give ratio 1.5 at r_k = 1e-4 and
    # C -> infinity: so median in [1.7, 2.5], every pair > 1.5 and C bounded by 100 for every pair.
    assert 1.7 < np.median(ratios) < 2.5
    assert np.min(ratios) > 1.5
    assert np.max(consts) < 100.0
    # every increment converged to rtol within a handful of iterations
    assert max(len(rs) - 1 for rs in res) <= 6


def test_cycle_time_step_convergence(cycle_runs):
    keys = [(2, 10.0, 5), (2, 5.0, 10), (2, 2.5, 20)]
    dW = np.array([cycle_runs[k]["dW"] for k in keys])
    incs = [cycle_runs[k]["counts"]["increments"] for k in keys]
    order = observed_order(dW[1] - dW[0], dW[2] - dW[1])
    rich = dW[2] + (dW[2] - dW[1])                        # first-order Richardson
    print(f"time-step halving (max_dT 10/5/2.5 °C, {incs} increments): dW = {dW} MPa, observed order {order:.3f}, "
          f"extrapolated {rich:.5f}, error of finest {(dW[2] - rich) / rich:.2e}")
    # measured 0.19905 / 0.20084 / 0.20171 (order 1.04; one more halving gives 1.02): backward Euler -> 1 with
    # an O(dt) deviation -> band [0.8, 1.2]
    assert 0.8 < order < 1.2
    assert all(c["cutbacks"] == 0 for c in (cycle_runs[k]["counts"] for k in keys))   # the grid was the step
    assert abs(dW[2] - rich) / rich < 1e-2


def test_cycle_mesh_convergence(cycle_runs):
    keys = [(2, 10.0, 5), (4, 10.0, 5), (8, 10.0, 5)]
    dW = np.array([cycle_runs[k]["dW"] for k in keys])
    ndof = [cycle_runs[k]["ndof"] for k in keys]
    rate = observed_order(dW[1] - dW[0], dW[2] - dW[1])
    print(f"mesh refinement (h, h/2, h/4; {ndof} dofs, same time grid): dW = {dW} MPa, observed rate {rate:.2f}, "
          f"relative change on the finest {(dW[2] - dW[1]) / dW[2]:.1e}")
    # measured 0.199053 / 0.198628 / 0.198500: rate 1.73 (1.53 on h..h/4 with one coarser level). A smooth
    # solution would give ~2p = 4 for this energy-type integral with Q2; the bimaterial free-edge corner
    # singularity (stress ~ rho^(lambda-1), lambda ~ 0.7-0.9) limits it to ~2 lambda -> band [1.2, 2.5].
    assert 1.2 < rate < 2.5
    assert abs(dW[2] - dW[1]) < abs(dW[1] - dW[0])
    assert abs(dW[2] - dW[1]) / dW[2] < 2e-3


# ---------------------------------------------------------------------------------------------------------------
# 5. Cutback and failure report
# ---------------------------------------------------------------------------------------------------------------
def _jump_model():
    """The r = 2 sandwich with a tiny first step (217 -> 216.9 °C in 1 s), then 216.9 -> 25 °C in one 60 s step."""
    base = sandwich_model(2)
    temp = Temperature(217.0, History.of("T", [[0.0, 217.0], [1.0, 216.9], [61.0, 25.0]]), corners=(0.0, 1.0, 61.0))
    return Model(base.mesh, base.formulation, base.materials, base.constraints, temp, order=2)


def test_cutback_recovers():
    model = _jump_model()
    disc = Discretization(model, SolverSettings(max_iterations=2, rtol=TIGHT))
    frames = list(run(model, [0.0, 1.0, 61.0], disc=disc))
    print("cutback run:", disc.counts, [(round(f.time, 3), f.cutbacks, len(f.residuals) - 1) for f in frames[:6]])
    # the 60 s step needs 5 iterations (measured) -> cut back and regrown; every accepted increment converged in
    # <= 2 iterations to rtol, and the grid end is reached
    assert frames[-1].time == pytest.approx(61.0)
    assert disc.counts["cutbacks"] > 0 and sum(f.cutbacks for f in frames) == disc.counts["cutbacks"]
    assert all(f.iterations <= 2 and f.residuals[-1] <= 1e-8 for f in frames[1:])
    # same answer as a fixed 1 s grid (no cutbacks); both are backward Euler with steps <= ~10 s, whose
    # difference in the solder's mean von Mises stress is O(dt) (measured 33.989 vs 33.971 MPa, 5e-4): 1 %
    ref = list(run(model, np.concatenate([[0.0], np.linspace(1.0, 61.0, 61)]), SolverSettings(rtol=TIGHT)))
    vm = region_averages(disc, frames[-1])["solder.von_mises"]
    vm_ref = region_averages(disc, ref[-1])["solder.von_mises"]
    print(f"solder mean von Mises at 25 °C: cutback run {vm:.4f}, 1 s grid {vm_ref:.4f} MPa")
    assert vm == pytest.approx(vm_ref, rel=1e-2)


def test_impossible_step_raises_with_report():
    model = _jump_model()
    got = []
    with pytest.raises(ConvergenceError) as info:
        # the grid's steps (no error control, whose first proposal after the 1 s step would be 1.5 s)
        for f in run(model, [0.0, 1.0, 61.0], SolverSettings(max_iterations=2, max_cutbacks=0, rtol=TIGHT,
                                                           step_control="grid")):
            got.append(f)
    rep = info.value.report
    print("ConvergenceError:", info.value, "| report:", rep)
    assert [f.time for f in got] == [0.0, 1.0]               # frames before the failure were yielded
    assert rep["time_s"] == pytest.approx(61.0)
    assert rep["last_converged_time_s"] == pytest.approx(1.0)
    assert rep["region"] == "solder"
    assert len(rep["residuals"]) == 3 and rep["residuals"][-1] > 1e-8
    msg = str(info.value)
    assert "t = 61" in msg and "solder" in msg and "residuals" in msg


# ---------------------------------------------------------------------------------------------------------------
# 6. Prescribed shear history of a SAC305 block -> Anand saturation stress (C.7)
# ---------------------------------------------------------------------------------------------------------------
def test_anand_shear_history_saturation():
    """Simple shear u_x = gamma(t) y, u_y = 0 on the whole boundary of a 4x4 Q1 block (plane strain), gamma from a
    (time, value) table at gamma_dot = sqrt(3) 1e-3 /s, i.e. equivalent inelastic rate 1e-3 /s at saturation,
    25 °C. The exact field is homogeneous; with predictor=False the 9 interior nodes start off it and Newton has
    to find it. Expected: von Mises -> sigma* = 42.085 MPa (C.7)."""
    m = skfem.MeshQuad.init_tensor(np.linspace(0, 1, 5), np.linspace(0, 1, 5))
    fm = FEMesh.from_skfem(m.with_boundaries({"all": lambda x: np.ones(x.shape[1], bool)})
                           .with_subdomains({"solder": lambda x: x[0] > -1}))
    mat = material_from_spec("solder", "SAC305")
    gdot, t_end, T = np.sqrt(3.0) * 1e-3, 100.0, 25.0
    gamma = History.of("gamma", [[0.0, 0.0], [t_end, gdot * t_end]])
    c = boundary_constraint(fm, "all", ["x", "y"], value=lambda t, x: np.vstack([gamma(t) * x[1], 0.0 * x[1]]),
                            formulation="plane_strain")
    model = Model(fm, "plane_strain", {"solder": mat}, (c,), Temperature(T), order=1)
    sat = float(mat.saturation_stress(1e-3, T))
    assert sat == pytest.approx(42.085, abs=1e-3)
    vms, its = [], []
    for f in run(model, np.linspace(0.0, t_end, 101), NO_PREDICTOR_GRID):     # the lags below are dt = 1 s's
        vm = von_mises(f.states["solder"]["stress"])
        assert np.ptp(vm) < 1e-6                           # homogeneous to the Newton tolerance
        vms.append(float(vm.mean()))
        its.append(f.iterations)
    ep = float(f.states["solder"]["eps_in_eq"].mean())
    gap = sat - float(mat.constant_rate_stress(ep, 1e-3, T))
    print(f"shear: von Mises at t = 20/50/100 s {vms[20]:.4f} / {vms[50]:.4f} / {vms[100]:.4f} MPa, sigma* = "
          f"{sat:.4f} (rel {vms[100] / sat - 1:.2e}); eps_in_eq = {ep:.4f}, closed-form hardening gap {gap:.2e}; "
          f"Newton iterations {min(its[1:])}..{max(its[1:])}")
    assert min(its[1:]) >= 1                               # Newton actually iterated
    # saturation: measured -5.0e-4 relative at eps_p = 0.099 (dt = 1 s; -5.4e-4 at 2 s, -4.9e-4 at 0.5 s),
    # which is the residual hardening gap of the closed form plus the backward-Euler lag: tolerance 2e-3
    assert vms[100] == pytest.approx(sat, rel=2e-3)
    # sharper: the closed-form constant-rate curve sigma(eps_p) of C.7 at the FE's eps_p (0.0992): measured
    # 42.0638 vs 42.0652 (3e-5); the FE inelastic rate is below 1e-3 /s during the elastic transient and backward
    # Euler lags by O(dt) (5e-5 per halving of dt measured at saturation): 2e-4
    assert vms[100] == pytest.approx(float(mat.constant_rate_stress(ep, 1e-3, T)), rel=2e-4)
    assert np.all(np.diff(vms[10:]) > 0) and vms[100] < sat   # approaches sigma* from below, monotonically


# ---------------------------------------------------------------------------------------------------------------
# A material that cannot integrate an increment: cut back like a Newton failure, then fail with the report
# ---------------------------------------------------------------------------------------------------------------
def _with_solder(model, solder):
    import dataclasses

    return dataclasses.replace(model, materials={**model.materials, "solder": solder})


def test_material_failure_cuts_back_then_reports_last_converged_state():
    """The solder's update raises ConvergenceError below 100 °C (as the compiled Anand kernel does for a
    non-finite result): every attempt below 100 °C is cut back, down to the smallest step, and the run ends with
    a ConvergenceError whose report names the region and the material's message and gives the last converged
    time -- the time of the last frame yielded, just above the 100 °C crossing (t = 1 + 60 * 116.9 / 191.9 s)."""
    import dataclasses

    from fem_wlp.materials.anand import Anand

    @dataclasses.dataclass(frozen=True)
    class AnandFailingBelow(Anand):
        T_fail: float = 100.0

        def update(self, state, eps_mech, T, dt):
            if np.min(T) < self.T_fail:
                raise ConvergenceError(f"materials.{self.name} (anand): non-finite result at 1 of 1 points",
                                       {"points": [0]})
            return super().update(state, eps_mech, T, dt)

    base = _jump_model()
    sac = base.materials["solder"]
    failing = AnandFailingBelow(**{f.name: getattr(sac, f.name) for f in dataclasses.fields(sac)})
    model = _with_solder(base, failing)
    settings = SolverSettings(max_cutbacks=6, rtol=TIGHT)
    disc = Discretization(model, settings)
    frames = []
    with pytest.raises(ConvergenceError) as info:
        for f in run(model, [0.0, 1.0, 61.0], disc=disc):
            frames.append(f)
    rep = info.value.report
    t_cross = 1.0 + 60.0 * 116.9 / 191.9
    hmin = 60.0 / 2 ** 6
    assert rep["region"] == "solder" and rep["material"]["points"] == [0]
    assert "non-finite" in rep["material"]["message"] and rep["smallest_dt_s"] <= hmin * 1.0001
    assert rep["last_converged_time_s"] == frames[-1].time
    assert t_cross - 2 * hmin < frames[-1].time < t_cross < rep["time_s"]
    assert disc.counts["cutbacks"] >= 6
    msg = str(info.value)
    assert "no convergence at t = " in msg and "(region solder)" in msg and "materials.solder (anand)" in msg


def test_anand_non_finite_kernel_result_in_a_model_is_a_convergence_failure():
    """The compiled kernel's NOT_FINITE status (xi = 1e308 overflows the tangent factor) through the whole chain:
    material ConvergenceError -> cutbacks -> ConvergenceError of the run with the initial state as the last
    converged one (no traceback, no ZeroDivisionError)."""
    import dataclasses

    base = _jump_model()
    model = _with_solder(base, dataclasses.replace(base.materials["solder"], xi=1e308))
    frames = []
    with pytest.raises(ConvergenceError) as info:
        for f in run(model, [0.0, 1.0, 61.0], SolverSettings(max_cutbacks=2, rtol=TIGHT)):
            frames.append(f)
    rep = info.value.report
    assert [f.time for f in frames] == [0.0] and rep["last_converged_time_s"] == 0.0
    assert rep["region"] == "solder" and "non-finite" in rep["material"]["message"]
