"""Static condensation of the elastic regions (fem_wlp/condense.py) is exact: the condensed and the full solve give
the same displacements, e_zz and inelastic work at every converged increment (to the Newton tolerance, which is
set tight here so that the comparison measures the condensation, not the stopping rule)."""
from __future__ import annotations

import numpy as np
import pytest
import skfem

from fem_wlp.fe.solver import condense
from fem_wlp.materials import material_from_spec
from fem_wlp.fe.mesh import FEMesh
from fem_wlp.fe.problem import Constraint, Model, Temperature, boundary_constraint, point_constraint
from fem_wlp.wlcsp.profiles import profile_from_spec
from fem_wlp.fe.solver.discretization import Discretization
from fem_wlp.fe.solver.settings import SolverSettings
from fem_wlp.fe.solver import run

PROFILE = profile_from_spec({"profile": "JESD22-A104-G", "cycles": 1, "stress_free_temperature": 217.0})
# the grid's steps: both runs take the same increments (under error control a 1e-10 difference can flip a
# step-size decision, after which the two histories are compared at different times -- seen once in CI)
TIGHT = dict(rtol=1e-10, max_deps_in=1.0, step_control="grid")


def joint_row(nx=20, pitch=0.4, joint_w=0.2, half_w=1.0, hb=0.4, hj=0.1, hd=0.3, tri=False) -> FEMesh:
    """Die on board joined by a row of joints (half cross-section, symmetry at x = 0): the elastic die and board
    are most of the model, the joints a small part -- the case condensation is for."""
    dx = half_w / nx
    ny = lambda h: max(2, int(round(h / dx)))
    ys = np.concatenate([np.linspace(0, hb, ny(hb) + 1), np.linspace(hb, hb + hj, ny(hj) + 2)[1:],
                         np.linspace(hb + hj, hb + hj + hd, ny(hd) + 1)[1:]])
    m = skfem.MeshQuad.init_tensor(np.linspace(0, half_w, nx + 1), ys)
    c = m.p[:, m.t].mean(axis=1)
    gap = (c[1] > hb) & (c[1] < hb + hj) & (np.abs((c[0] % pitch) - pitch / 2) >= joint_w / 2)
    m = m.remove_elements(np.flatnonzero(gap))
    if tri:
        m = m.to_meshtri()
    m = m.with_subdomains({"board": lambda x: x[1] < hb, "solder": lambda x: (x[1] > hb) & (x[1] < hb + hj),
                           "die": lambda x: x[1] > hb + hj})
    return FEMesh.from_skfem(m.with_boundaries({"sym": lambda x: np.isclose(x[0], 0.0),
                                                "top": lambda x: np.isclose(x[1], hb + hj + hd)}))


def joint_model(fm, formulation, order, solder="SAC305", pull=False):
    mats = {"board": material_from_spec("board", "FR4"), "solder": material_from_spec("solder", solder),
            "die": material_from_spec("die", "Si")}
    cons = [boundary_constraint(fm, "sym", ["x"], formulation=formulation),
            point_constraint(fm, [0.0, 0.0], ["y"], formulation=formulation)[0]]
    if pull:      # a prescribed displacement history on an elastic region's boundary (die top pulled up)
        c = boundary_constraint(fm, "top", ["y"], formulation=formulation)
        cons.append(Constraint(c.label, c.components, facets=c.facets,
                               value=lambda t, x: 1e-4 * np.minimum(t / 600.0, 1.0), corners=(600.0,)))
    temp = Temperature(217.0, PROFILE.T, corners=tuple(PROFILE.corners))
    return Model(fm, formulation, mats, tuple(cons), temp, order=order)


def both(model, times):
    out = {}
    for mode in ("off", "on"):
        disc = Discretization(model, SolverSettings(condense=mode, **TIGHT))
        frames = [(f.time, f.u.copy(), f.ezz, {n: s["w_in"].copy() for n, s in f.states.items()})
                  for f in run(model, times, disc=disc)]
        out[mode] = (disc, frames)
    assert out["on"][0].condensation() is not None and out["off"][0].condensation() is None
    return out


def compare(out):
    (_, full), (disc, cond) = out["off"], out["on"]
    assert len(full) == len(cond)
    umax = max(np.abs(f[1]).max() for f in full)
    du = max(np.abs(a[1] - b[1]).max() for a, b in zip(full, cond)) / umax
    dz = max(abs(a[2] - b[2]) for a, b in zip(full, cond)) / max(max(abs(f[2]) for f in full), 1e-30)
    w = max(np.abs(f[3]["solder"]).max() for f in full)
    dw = max(np.abs(a[3]["solder"] - b[3]["solder"]).max() for a, b in zip(full, cond)) / w
    c = disc.condensation()
    print(f"|N| = {c.N.size}, |I| = {c.I.size}, |G| = {c.G.size}: max rel. diff u {du:.1e}, e_zz {dz:.1e}, "
          f"w_in {dw:.1e}")
    return du, dz, dw


@pytest.mark.parametrize("formulation,order,tri", [("generalized_plane_strain", 2, False),
                                                   ("generalized_plane_strain", 1, True),
                                                   ("plane_strain", 1, False)])
def test_condensed_cycle_equals_full(formulation, order, tri):
    """Half a thermal cycle (cool-down from 217 °C, ramp, dwell) of Anand joints: condensed == full. Both
    solves stop at a relative residual of 1e-10, so they may differ by ~1e-10 x the condition of the step; the
    measured differences are 1e-12..1e-9: the bound 1e-7 leaves room for the stopping rule, while an error in
    the reduced stiffness or thermal loads (e.g. a missing K_GI K_II^-1 g_I term) shows up at 1e-2..1."""
    fm = joint_row(nx=20, tri=tri)
    model = joint_model(fm, formulation, order)
    times = PROFILE.steps(max_dT=20.0, min_dwell_steps=3)
    times = times[times <= PROFILE.corners[2] + 1e-9]
    du, dz, dw = compare(both(model, times))
    assert du < 1e-7 and dw < 1e-7
    if formulation == "generalized_plane_strain":
        assert dz < 1e-7


def test_condensed_prescribed_displacement_on_elastic_region():
    """A displacement history prescribed on the die (an elastic, condensed region): its dofs stay in the reduced
    set and drive the interior exactly."""
    fm = joint_row(nx=20)
    model = joint_model(fm, "generalized_plane_strain", 1, solder="SAC305", pull=True)
    times = np.linspace(0.0, 1200.0, 9)
    du, dz, dw = compare(both(model, times))
    assert du < 1e-7 and dz < 1e-7 and dw < 1e-7


def test_condensed_without_pardiso_schur(monkeypatch):
    """The fallback that builds the interface complement from blocks of solves with the interior factor (used
    when PARDISO's partial factorization is unavailable) gives the same run."""
    monkeypatch.setattr(condense, "schur_complement", lambda A, n: None)
    monkeypatch.setattr(condense, "RHS_BLOCK", 16)          # several blocks even on this small model
    fm = joint_row(nx=20)
    model = joint_model(fm, "generalized_plane_strain", 2)
    times = PROFILE.steps(max_dT=20.0, min_dwell_steps=3)
    times = times[times <= PROFILE.corners[1] + 1e-9]
    du, dz, dw = compare(both(model, times))
    assert du < 1e-7 and dz < 1e-7 and dw < 1e-7


def test_auto_rule():
    """auto condenses the joint row (interior >> reduced set, small interface) and not a sandwich whose solder
    layer spans the width (the interface would be the whole layer)."""
    fm = joint_row(nx=40)
    d = Discretization(joint_model(fm, "generalized_plane_strain", 2), SolverSettings())
    N, I = condense.partition(d)
    assert condense.worth_it(d, N, I) and d.condensation() is not None
    ys = np.linspace(0, 0.8, 17)
    m = skfem.MeshQuad.init_tensor(np.linspace(0, 1, 9), ys).with_subdomains(
        {"board": lambda x: x[1] < 0.3, "solder": lambda x: (x[1] > 0.3) & (x[1] < 0.5), "die": lambda x: x[1] > 0.5})
    fm2 = FEMesh.from_skfem(m.with_boundaries({"sym": lambda x: np.isclose(x[0], 0.0),
                                               "top": lambda x: np.isclose(x[1], 0.8)}))
    d2 = Discretization(joint_model(fm2, "generalized_plane_strain", 2), SolverSettings())
    assert d2.condensation() is None


def test_schur_complement_matches_dense():
    """PARDISO's partial factorization (iparm[35]) against K_BB - K_BI K_II^-1 K_IB computed densely, on a
    singular-complement case (a free elastic block: its rigid-body modes live in the complement)."""
    m = skfem.MeshTri.init_tensor(np.linspace(0, 1, 9), np.linspace(0, 1, 9))
    from skfem.models.elasticity import lame_parameters, linear_elasticity

    ib = skfem.Basis(m, skfem.ElementVector(skfem.ElementTriP1()))
    K = skfem.asm(linear_elasticity(*lame_parameters(1e5, 0.3)), ib).tocsr()
    B = ib.get_dofs().all()                                   # boundary dofs -> complement
    I = np.setdiff1d(np.arange(K.shape[0]), B)
    J = np.concatenate([I, B])
    A = K[J][:, J].tocsr()
    S = condense.schur_complement(A, I.size)
    if S is None:
        pytest.skip("PARDISO (pypardiso) not installed")
    Kd = K.toarray()
    ref = Kd[np.ix_(B, B)] - Kd[np.ix_(B, I)] @ np.linalg.solve(Kd[np.ix_(I, I)], Kd[np.ix_(I, B)])
    err = np.abs(S - ref).max() / np.abs(ref).max()
    print(f"|I| = {I.size}, |B| = {B.size}: rel. error {err:.1e}")
    assert err < 1e-10
    # the complement of a free body is singular: three rigid-body modes
    ev = np.linalg.eigvalsh(ref)
    assert np.sum(np.abs(ev) < 1e-8 * ev.max()) == 3
