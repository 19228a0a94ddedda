"""Global-local coupling (fe/submodel.py): a submodel meshed with the global model's own elements, driven on its
cut faces by the global displacement history, reproduces the global solution inside it.

Global model: a quarter of a two-layer plate (z < 0.5: a high-expansion layer, z > 0.5: a low-expansion layer,
or an inelastic one), symmetry planes x = 0 and y = 0, one point held in z, otherwise free to warp, under a
uniform temperature change (elastic) or a thermal cycle. Submodel: the global elements of the column
[0.5, 1.5]^2 x [0, 1] (the same elements, renumbered by scikit-fem's Mesh.restrict), its four cut faces driven.

Why the tolerances: the submodel's equations are the global equations restricted to its elements with the
global solution prescribed on its boundary dofs, so the exact answer is the global one; the difference is the
Newton tolerance (rtol 1e-10 here: displacement differences ~1e-10 of the largest displacement) and round-off.
Inelastic: both models run on the same steps (the submodel's grid = the global frame times, step_control
"grid"), so the time discretization is identical and the states agree to the Newton tolerance as well; with
BDF2 only if the submodel restarts its multistep integration at the same times as the global model (the load's
corners, not every global frame).
"""
from __future__ import annotations

import numpy as np
import pytest
import skfem
from scipy.spatial import cKDTree

from fem_wlp.errors import InputError
from fem_wlp.fe.mesh import FEMesh
from fem_wlp.fe.problem import History, Model, Temperature, boundary_constraint, point_constraint
from fem_wlp.fe.solver import run
from fem_wlp.fe.solver.settings import SolverSettings
from fem_wlp.fe.submodel import GlobalHistory, driven_constraint, interpolation_matrix, locate
from fem_wlp.materials import material_from_spec

TIGHT = SolverSettings(rtol=1e-10, step_control="grid", linear_solver="scipy")
LO = dict(model="elastic", E=20000.0, nu=0.3, alpha=17e-6)
HI_ELASTIC = dict(model="elastic", E=130000.0, nu=0.28, alpha=3e-6)
CUT = (0.5, 1.5)


def plate(n=4):
    x = np.linspace(0.0, 2.0, 2 * n + 1)
    z = np.linspace(0.0, 1.0, n + 1)
    m = skfem.MeshTet.init_tensor(x, x, z)
    m = m.with_subdomains({"lower": lambda p: p[2] < 0.5, "upper": lambda p: p[2] >= 0.5})
    m = m.with_boundaries({"x0": lambda p: np.isclose(p[0], 0.0), "y0": lambda p: np.isclose(p[1], 0.0)})
    return m


def global_model(m, upper, temp, order=1):
    fm = FEMesh.from_skfem(m)
    mats = {"lower": material_from_spec("lower", LO), "upper": material_from_spec("upper", upper)}
    cons = (boundary_constraint(fm, "x0", ["x"]), boundary_constraint(fm, "y0", ["y"]),
            point_constraint(fm, [0.0, 0.0, 0.0], ["z"])[0])
    return Model(fm, "3d", mats, cons, temp, order=order)


def submesh(m):
    """The global elements of the column CUT^2 x [0, 1], with the cut faces as boundary 'cut'."""
    c = m.p[:, m.t].mean(axis=1)
    inside = np.flatnonzero((c[0] > CUT[0]) & (c[0] < CUT[1]) & (c[1] > CUT[0]) & (c[1] < CUT[1]))
    s = m.restrict(inside)
    s = s.with_boundaries({"cut": lambda p: np.isclose(p[0], CUT[0]) | np.isclose(p[0], CUT[1])
                           | np.isclose(p[1], CUT[0]) | np.isclose(p[1], CUT[1])})
    return FEMesh.from_skfem(s, leaves=s.subdomains, boundaries={"cut": s.boundaries["cut"]}), inside


def solve(model, times):
    return list(run(model, times, TIGHT))


def sub_model(gm, frames, sm, temp):
    hist = GlobalHistory.from_frames(gm, frames)
    con = driven_constraint(hist, sm, "cut")
    return Model(sm, "3d", gm.materials, (con,), temp, order=gm.order), hist


def element_map(gm, sm):
    """Submodel element -> global element (same centroids)."""
    cg = gm.mesh.mesh.p[:, gm.mesh.mesh.t].mean(axis=1).T
    cs = sm.mesh.p[:, sm.mesh.t].mean(axis=1).T
    d, j = cKDTree(cg).query(cs)
    assert d.max() < 1e-12
    return j


def nodal(model, u):
    """Displacements (n, 3) at the vertices, and the vertex coordinates."""
    nv = model.mesh.mesh.nvertices
    return u.reshape(-1, 3)[:nv], model.mesh.mesh.p[:, :nv]


def max_nodal_difference(gm, gu, sm_model, su):
    ug, xg = nodal(gm, gu)
    us, xs = nodal(sm_model, su)
    d, j = cKDTree(xg.T).query(xs.T)
    assert d.max() < 1e-12
    return float(np.abs(us - ug[j]).max()), float(np.abs(ug).max())


# -------------------------------------------------------------------------------------------- interpolation
def test_interpolation_reproduces_fields_of_the_element_space():
    """P1 reproduces linear fields, P2 quadratic ones, exactly (to round-off), at arbitrary points."""
    m = plate(2)
    rng = np.random.default_rng(1)
    pts = rng.uniform([0, 0, 0], [2, 2, 1], size=(200, 3)).T
    for order, f in ((1, lambda x: 1 + 2 * x[0] - 3 * x[1] + 0.5 * x[2]),
                     (2, lambda x: x[0] ** 2 - x[1] * x[2] + 3 * x[2] ** 2 + x[0])):
        P, out = interpolation_matrix(m, order, pts)
        from fem_wlp.fe.kinematics import scalar_dofs, scalar_element
        _, xd, _ = scalar_dofs(m, scalar_element(m, order))
        assert out == 0.0
        assert np.abs(P @ f(xd) - f(pts)).max() < 1e-12


def test_interpolation_on_hexahedra_uses_the_element_finder():
    """Other element types go through scikit-fem's point location: Q1 hexahedra reproduce a trilinear field."""
    m = skfem.MeshHex.init_tensor(*[np.linspace(0.0, 1.0, 4)] * 3)
    rng = np.random.default_rng(2)
    pts = rng.uniform(0.01, 0.99, size=(50, 3)).T
    P, _ = interpolation_matrix(m, 1, pts)

    def f(x):
        return 1 + x[0] - 2 * x[1] * x[2] + x[0] * x[1] * x[2]
    assert np.abs(P @ f(m.p) - f(pts)).max() < 1e-12


def test_locate_points_outside_extrapolates_and_reports_distance():
    m = plate(2)
    e, X, out = locate(m, np.array([[2.0 + 1e-3], [1.0], [0.5]]))
    assert out[0] == pytest.approx(1e-3, rel=1e-6)


def test_time_interpolation_is_linear_between_frames():
    m = plate(2)
    fm = FEMesh.from_skfem(m)
    nd = 3 * m.nvertices
    u = np.stack([np.zeros(nd), np.ones(nd), 3 * np.ones(nd)])
    hist = GlobalHistory(fm, 1, 3, np.array([0.0, 1.0, 2.0]), u)
    sm, _ = submesh(m)
    con = driven_constraint(hist, sm, "cut")
    x = sm.mesh.p[:, :5]
    assert con.corners == (0.0, 1.0, 2.0)
    assert np.allclose(con.value(0.25, x), 0.25)
    assert np.allclose(con.value(1.5, x), 2.0)
    assert np.allclose(con.value(5.0, x), 3.0)          # held after the last frame


def test_driven_constraint_bad_boundary_names_key():
    m = plate(2)
    fm = FEMesh.from_skfem(m)
    hist = GlobalHistory(fm, 1, 3, np.array([0.0]), np.zeros((1, 3 * m.nvertices)))
    sm, _ = submesh(m)
    with pytest.raises(InputError) as e:
        driven_constraint(hist, sm, "nope")
    assert e.value.key == "submodel.cut_faces"


# -------------------------------------------------------------------------------------------- reproduction
@pytest.mark.parametrize("order", [1, 2])
def test_elastic_submodel_reproduces_global(order):
    m = plate(4 if order == 1 else 2)
    temp = Temperature.uniform_step(125.0, -40.0)
    gm = global_model(m, HI_ELASTIC, temp, order)
    gf = solve(gm, [0.0, 1.0])
    sm, _ = submesh(m)
    smod, hist = sub_model(gm, gf, sm, temp)
    sf = solve(smod, [0.0, 1.0])
    diff, umax = max_nodal_difference(gm, gf[-1].u, smod, sf[-1].u)
    # warpage and mismatch: the plate moves by ~umax = 3e-3 mm; reproduction to the Newton tolerance (rtol 1e-10)
    assert umax > 1e-3
    assert diff < 1e-9 * umax, (diff, umax)
    assert hist.report["outside_mm"] == 0.0
    # stresses too (element averages of the quadrature-point stresses)
    j = element_map(gm, sm)
    gi = gm.mesh.mesh.t.shape[1]
    assert gi > sm.nelements
    sg = gf[-1].states["upper"]["stress"]
    ss = sf[-1].states["upper"]["stress"]
    ga = _element_values(gm, "upper", sg)
    sa = _element_values(smod, "upper", ss)
    pos = {int(e): k for k, e in enumerate(gm.mesh.region("upper"))}
    ks = np.array([pos[int(e)] for e in j[smod.mesh.region("upper")]])
    assert np.abs(sa - ga[:, ks]).max() < 1e-7 * np.abs(ga).max()


@pytest.mark.parametrize("upper", [dict(library="SAC305_norton"), dict(library="SAC305")], ids=["norton", "anand"])
def test_bdf2_submodel_reproduces_global_with_the_load_corners(upper):
    """Second-order time integration (BDF2, as under the default error control) on the global frame times: the
    submodel whose driven constraint has the load's corners (the profile's, as the global model: BDF2 restarts
    only there) takes the global model's multistep steps and reproduces its states to the Newton tolerance
    (measured 2e-12 / 4e-12 relative in eps_in for Norton / Anand); with every global frame time as a corner (the
    constraint's default) every submodel step is backward Euler and the states differ by the difference of the
    two integrations (measured 1e-3 / 6e-3): the test fails with the default corners."""
    m = plate(2)
    prof = History((0.0, 600.0, 1500.0, 2100.0, 3000.0), (25.0, 125.0, 125.0, -40.0, -40.0))
    temp = Temperature(25.0, prof, corners=prof.corners)
    bdf2 = SolverSettings(rtol=1e-10, step_control="grid", integration="bdf2", linear_solver="scipy")
    gm = global_model(m, upper, temp)
    gf = list(run(gm, np.linspace(0.0, 3000.0, 21), bdf2))
    sm, _ = submesh(m)
    con = driven_constraint(GlobalHistory.from_frames(gm, gf), sm, "cut", corners=prof.corners)
    assert con.corners == prof.corners
    smod = Model(sm, "3d", gm.materials, (con,), temp, order=gm.order)
    sf = list(run(smod, np.array([f.time for f in gf]), bdf2))
    assert len(sf) == len(gf)
    diff, umax = max_nodal_difference(gm, gf[-1].u, smod, sf[-1].u)
    assert diff < 1e-8 * umax, (diff, umax)
    j = element_map(gm, sm)
    pos = {int(e): k for k, e in enumerate(gm.mesh.region("upper"))}
    ks = np.array([pos[int(e)] for e in j[smod.mesh.region("upper")]])
    for var in ("eps_in_eq", "w_in"):
        g = _element_values(gm, "upper", gf[-1].states["upper"][var][None])[0]
        s = _element_values(smod, "upper", sf[-1].states["upper"][var][None])[0]
        assert np.abs(s - g[ks]).max() < 1e-6 * g.max(), (var, np.abs(s - g[ks]).max(), g.max())


def _element_values(model, region, qp):
    nel = model.mesh.region(region).size
    return qp.reshape(qp.shape[0], nel, -1).mean(-1)


@pytest.mark.parametrize("upper", [
    dict(library="SAC305_norton"),
    dict(library="SAC305"),
], ids=["norton", "anand"])
def test_inelastic_cycle_submodel_reproduces_global(upper):
    """A thermal cycle -40..125 °C with the upper layer creeping: the submodel on the global frame times has the
    global displacements, stresses and inelastic strains inside it (to the Newton tolerance)."""
    m = plate(2)
    prof = History((0.0, 600.0, 1500.0, 2100.0, 3000.0), (25.0, 125.0, 125.0, -40.0, -40.0))
    temp = Temperature(25.0, prof, corners=prof.corners)
    gm = global_model(m, upper, temp)
    times = np.linspace(0.0, 3000.0, 21)
    gf = solve(gm, times)
    tg = np.array([f.time for f in gf])
    sm, _ = submesh(m)
    smod, _ = sub_model(gm, gf, sm, temp)
    sf = solve(smod, tg)
    assert np.allclose([f.time for f in sf], tg, rtol=0, atol=1e-9)
    diff, umax = max_nodal_difference(gm, gf[-1].u, smod, sf[-1].u)
    assert diff < 1e-8 * umax, (diff, umax)
    j = element_map(gm, sm)
    pos = {int(e): k for k, e in enumerate(gm.mesh.region("upper"))}
    ks = np.array([pos[int(e)] for e in j[smod.mesh.region("upper")]])
    eg = _element_values(gm, "upper", gf[-1].states["upper"]["eps_in_eq"][None])[0]
    es = _element_values(smod, "upper", sf[-1].states["upper"]["eps_in_eq"][None])[0]
    # the cycle creeps: inelastic strain of order 1e-3; the submodel's within 1e-6 relative of the global's
    assert eg.max() > 1e-4
    assert np.abs(es - eg[ks]).max() < 1e-6 * eg.max(), (np.abs(es - eg[ks]).max(), eg.max())
    wg = _element_values(gm, "upper", gf[-1].states["upper"]["w_in"][None])[0]
    ws = _element_values(smod, "upper", sf[-1].states["upper"]["w_in"][None])[0]
    assert np.abs(ws - wg[ks]).max() < 1e-6 * wg.max()
