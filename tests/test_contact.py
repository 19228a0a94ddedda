"""Unbonded interfaces (fe/mesh.split_interface + fe/contact.py): closed forms, status and Newton convergence.

Units mm, N, MPa, s, °C. The contact is a penalty on node-to-node pairs (fe/contact.py): an active pair overcloses
by p / k with the stiffness per unit area k = penalty E / h (h the interface's mean facet length), so closed forms
are checked twice -- against the penalty-regularized closed form (the same equations with the interface
compliance 1/k added: exact in the FE space up to round-off, 1e-9) and against the exact (unregularized) closed
form within the penalty's effect (stated per test).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import skfem

from fem_wlp.errors import ConvergenceError, InputError
from fem_wlp.fe.contact import STATE_KEY, Contact, ContactSet
from fem_wlp.fe.mesh import FEMesh, split_interface
from fem_wlp.fe.problem import Constraint, History, Model, Temperature
from fem_wlp.fe.solver import SolverSettings, run
from fem_wlp.materials import material_from_spec

SI = {"model": "elastic", "E": 130000.0, "nu": 0.28, "alpha": 2.6e-6}
CU = {"model": "elastic", "E": 117000.0, "nu": 0.34, "alpha": 17.0e-6}
TIGHT = SolverSettings(rtol=1e-10)


def layered(kind, nx, ny, L, H, cut, names=("low", "up"), extra=None):
    """Rectangle [0, L] x [0, H] (tri/quad) split at y = cut into two leaves; boundaries left/right/bottom/top."""
    cls = {"tri": skfem.MeshTri, "quad": skfem.MeshQuad}[kind]
    m = cls.init_tensor(np.linspace(0, L, nx + 1), np.linspace(0, H, ny + 1))
    c = m.p[:, m.t].mean(axis=1)
    leaves = {names[0]: np.flatnonzero(c[1] < cut), names[1]: np.flatnonzero(c[1] > cut)}
    if extra is not None:                      # a third leaf taking the elements right of x = extra
        right = np.flatnonzero(c[0] > extra)
        leaves = {k: np.setdiff1d(v, right) for k, v in leaves.items()}
        leaves["side"] = right
    tol = 1e-9
    bnd = {"left": m.facets_satisfying(lambda x: x[0] < tol), "right": m.facets_satisfying(lambda x: x[0] > L - tol),
           "bottom": m.facets_satisfying(lambda x: x[1] < tol), "top": m.facets_satisfying(lambda x: x[1] > H - tol)}
    return FEMesh.from_skfem(m, leaves, bnd)


def last(model, times=(0.0, 1.0), settings=TIGHT):
    return list(run(model, list(times), settings))[-1]


# ---------------------------------------------------------------------------------------------------------------
# the split
@pytest.mark.parametrize("kind", ["tri", "quad"])
def test_split_interface_pairs_normals_areas_boundaries(kind):
    fm = layered(kind, 4, 4, 2.0, 2.0, 1.0)
    new, pr = split_interface(fm, "low", "up")
    p = new.mesh.p
    assert pr.size == 5 and new.mesh.nvertices == fm.mesh.nvertices + 5
    assert np.allclose(p[:, pr.a], p[:, pr.b]) and np.allclose(p[1, pr.a], 1.0)
    assert np.allclose(pr.normal, [[0.0], [1.0]])                    # from A (low) into B (up)
    assert np.isclose(pr.area.sum(), 2.0) and np.allclose(np.sort(pr.area), [0.25, 0.25, 0.5, 0.5, 0.5])
    # every element of 'up' uses only copies at the interface, every element of 'low' only originals
    up_t, low_t = new.mesh.t[:, new.leaves["up"]], new.mesh.t[:, new.leaves["low"]]
    assert not np.isin(up_t, pr.a).any() and not np.isin(low_t, pr.b).any()
    # named boundaries keep their facets' geometry (the left edge now has 9 vertices: its interface vertex split)
    for name, F in fm.boundaries.items():
        old = np.sort(fm.mesh.p[:, fm.mesh.facets[:, F]].reshape(2, -1).round(12), axis=1)
        newx = np.sort(p[:, new.mesh.facets[:, new.boundaries[name]]].reshape(2, -1).round(12), axis=1)
        assert np.array_equal(old, newx), name
    assert set(new.leaves) == set(fm.leaves) and all(np.array_equal(new.leaves[k], fm.leaves[k]) for k in fm.leaves)


def test_split_keeps_vertices_tied_by_a_bonded_third_region():
    """A third region bonded to both sides around an interface vertex keeps that vertex shared (not split): the
    interface ends there, and the third region's bonds to A and to B stay intact."""
    fm = layered("quad", 4, 4, 2.0, 2.0, 1.0, extra=1.5)      # 'side' occupies x > 1.5 across the interface
    new, pr = split_interface(fm, "low", "up")
    assert pr.tied.size == 1 and np.allclose(fm.mesh.p[:, pr.tied[0]], [1.5, 1.0])
    assert pr.size == 3                                       # x = 0, 0.5, 1.0
    side_t = new.mesh.t[:, new.leaves["side"]]
    assert not np.isin(side_t, pr.b).any()


def test_split_bad_input():
    fm = layered("quad", 2, 4, 1.0, 2.0, 1.0)
    with pytest.raises(InputError, match="contact.interface"):
        split_interface(fm, "low", "low")
    with pytest.raises(InputError, match="contact.interface"):
        split_interface(fm, "nowhere", "up")
    two = layered("quad", 2, 4, 1.0, 2.0, 0.5, extra=0.5)       # low (y < .5) never touches 'side'-free 'up'? yes
    with pytest.raises(InputError, match="share no interface"):
        split_interface(FEMesh.from_skfem(two.mesh, {"a": two.leaves["low"][:1], "b": two.leaves["up"][-1:],
                                                      "rest": np.setdiff1d(np.arange(two.nelements),
                                                                           np.r_[two.leaves["low"][:1],
                                                                                 two.leaves["up"][-1:]])}),
                        "a", "b")
    with pytest.raises(InputError, match="friction"):
        Contact(split_interface(fm, "low", "up")[1], friction=2.5)


# ---------------------------------------------------------------------------------------------------------------
# 1. bilayer under a uniform temperature change: frictionless = stress-free layers; bonded = Timoshenko
def timoshenko_kappa_plane_strain(E1, nu1, a1, t1, E2, nu2, a2, t2, dT):
    """verification.md C.1 with the plane-strain substitutions E' = E/(1-nu^2), alpha' = (1+nu) alpha."""
    E1, E2, a1, a2 = E1 / (1 - nu1 ** 2), E2 / (1 - nu2 ** 2), (1 + nu1) * a1, (1 + nu2) * a2
    m, n, h = t1 / t2, E1 / E2, t1 + t2
    return 6 * (a1 - a2) * dT * (1 + m) ** 2 / (h * (3 * (1 + m) ** 2 + (1 + m * n) * (m * m + 1 / (m * n))))


def bilayer(contact: bool):
    """Cu (bottom, 0.5 mm) / Si (top, 0.5 mm), half-length 10 mm, symmetry u_x = 0 at x = 0, u_y = 0 at the
    origin, Q1 80 x 8, 125 -> 25 °C; returns (curvature from a parabola fit of u_y on the bottom layer's top
    face over x < 2.5 mm, last frame, mesh)."""
    fm = layered("quad", 80, 8, 10.0, 1.0, 0.5, names=("cu", "si"))
    mesh, contacts = fm, ()
    if contact:
        mesh, pr = split_interface(fm, "cu", "si")
        contacts = (Contact(pr),)
    cons = (Constraint("left", (0,), facets=mesh.boundary("left")), Constraint("pin", (1,), nodes=np.array([0])))
    mats = {"cu": material_from_spec("cu", CU), "si": material_from_spec("si", SI)}
    model = Model(mesh, "plane_strain", mats, cons, Temperature.uniform_step(125.0, 25.0), contacts=contacts)
    f = last(model)
    X, U = mesh.mesh.p, f.u.reshape(-1, 2)
    sel = np.isclose(X[1], 0.5) & (X[0] < 2.5)
    if contact:
        sel[contacts[0].pairs.b] = False
    return 2 * np.polyfit(X[0, sel], U[sel, 1], 2)[0], f, mesh


def test_bilayer_bonded_reproduces_timoshenko():
    """The same Q1 mesh, bonded, gives the Timoshenko curvature: Q1 discretization error, measured -0.95 % on
    80 x 8 and -0.24 % on 160 x 16 (O(h^2)); tolerance 1.2 %."""
    kappa, _, _ = bilayer(contact=False)
    ref = timoshenko_kappa_plane_strain(117e3, .34, 17e-6, .5, 130e3, .28, 2.6e-6, .5, -100.0)
    assert ref == pytest.approx(-2.917049e-3, rel=1e-6)
    assert kappa == pytest.approx(ref, rel=1.2e-2)


def test_bilayer_frictionless_is_stress_free():
    """Frictionless: each layer contracts freely; no curvature, no in-plane stress, and the plane-strain
    sigma_zz = -E alpha dT of each layer alone (exact in the FE space: measured in-plane stress 4e-8 MPa against
    stresses of 128 MPa when bonded, sigma_zz to 1e-12 relative). Tolerances: 1e-6 MPa, 1e-9 relative."""
    kappa, f, _ = bilayer(contact=True)
    assert abs(kappa) < 1e-9
    for name, mat in (("cu", CU), ("si", SI)):
        s = f.states[name]["stress"]
        assert np.abs(s[[0, 1, 3]]).max() < 1e-6
        assert np.allclose(s[2], -mat["E"] * mat["alpha"] * -100.0, rtol=1e-9)
    st = f.states[STATE_KEY]
    assert np.abs(st["pressure"]).max() < 1e-6


# ---------------------------------------------------------------------------------------------------------------
# 2. block on a foundation: pulled off it separates, pushed on it transmits the closed-form pressure
E_F, NU_F, E_B, NU_B = 100000.0, 0.3, 50000.0, 0.25
PENALTY = 1e3


def block(delta, friction=0.0, kind="quad", nu=(NU_F, NU_B), shear=None, formulation="plane_strain"):
    """Foundation [0,2] x [0,1] under a block [0,2] x [1,2] (8 x 8 elements), plane strain. Foundation bottom
    u_y = 0; u_x = 0 on the left edge of both (rollers: uniaxial stress when frictionless); block top u_y = delta
    t. With `shear` (s): the bottom is fixed in x and y, no left rollers, and the block top moves by
    x = s (t - 1) for t > 1 after being pressed over t in [0, 1]."""
    fm = layered(kind, 8, 8, 2.0, 2.0, 1.0, names=("found", "block"))
    mesh, pr = split_interface(fm, "found", "block")
    mats = {"found": material_from_spec("f", {"model": "elastic", "E": E_F, "nu": nu[0], "alpha": 0.0}),
            "block": material_from_spec("b", {"model": "elastic", "E": E_B, "nu": nu[1], "alpha": 0.0})}
    top = mesh.boundary("top")
    press = History((0.0, 1.0), (0.0, delta))
    if shear is None:
        cons = (Constraint("bottom", (1,), facets=mesh.boundary("bottom")),
                Constraint("left", (0,), facets=mesh.boundary("left")),
                Constraint("top", (1,), facets=top, value=lambda t, x: press(t), corners=(0.0, 1.0)))
    else:
        slide = History((0.0, 1.0, 2.0), (0.0, 0.0, shear))
        cons = (Constraint("bottom", (0, 1), facets=mesh.boundary("bottom")),
                Constraint("top", (0, 1), facets=top,
                           value=lambda t, x: np.array([[slide(t)], [press(t)]]), corners=(0.0, 1.0, 2.0)))
    return Model(mesh, formulation, mats, cons, Temperature(25.0),
                 contacts=(Contact(pr, friction=friction, penalty=PENALTY),)), pr


def interface_stiffness():
    """k = penalty E / h: E the larger modulus at the interface, h its facet length (2 / 8)."""
    return PENALTY * max(E_F, E_B) / 0.25


def pressure_closed_form(delta, k=np.inf, formulation="plane_strain"):
    """sigma_yy = -p through both layers (H = 1 each), sigma_xx = 0 (lateral faces free to slide), |delta| =
    p [c_f + c_b + 1/k] with the layer compliances c: plane strain (1 - nu^2)/E; axisymmetric (sigma_rr =
    sigma_hoop = 0) 1/E; generalized plane strain: one e_zz with zero net out-of-plane force,
    e_zz = p sum(nu_i) / sum(E_i), sigma_zz,i = E_i e_zz - nu_i p, eps_yy,i = (-p - nu_i sigma_zz,i) / E_i."""
    E, nu = np.array([E_F, E_B]), np.array([NU_F, NU_B])
    if formulation == "plane_strain":
        c = (1 - nu ** 2) / E
    elif formulation == "axisymmetric":
        c = 1.0 / E
    else:
        ezz = nu.sum() / E.sum()                   # per unit p
        c = (1.0 + nu * (E * ezz - nu)) / E
    return -delta / (c.sum() + 1.0 / k)


@pytest.mark.parametrize("kind,formulation", [("quad", "plane_strain"), ("tri", "plane_strain"),
                                              ("quad", "generalized_plane_strain"), ("tri", "axisymmetric")])
def test_block_pushed_transmits_the_closed_form_pressure(kind, formulation):
    """Generalized plane strain runs the bordered e_zz matrix with the contact blocks; axisymmetric the 2 pi r
    pair weights (a uniform pressure stays uniform only if the weights are 2 pi int r N ds)."""
    model, pr = block(-0.01, kind=kind, formulation=formulation)
    f = last(model)
    st = f.states[STATE_KEY]
    p_pen = pressure_closed_form(-0.01, interface_stiffness(), formulation)
    p_exact = pressure_closed_form(-0.01, formulation=formulation)
    if formulation == "plane_strain":
        assert p_exact == pytest.approx(359.0664, rel=1e-6)
    assert np.all(st["active"])
    # uniform stress: exact in the FE space with the penalty compliance (1e-9); against the unregularized closed
    # form the penalty's compliance is 1/(k S) = 9.3e-5 (plane strain) .. 8.3e-5 of the total (tolerance 1.5e-4)
    assert np.allclose(st["pressure"], p_pen, rtol=1e-9)
    assert np.allclose(st["pressure"], p_exact, rtol=1.5e-4)
    assert np.allclose(f.states["block"]["stress"][1], -p_pen, rtol=1e-9)
    assert np.allclose(f.states["found"]["stress"][1], -p_pen, rtol=1e-9)
    assert np.allclose(st["gap"], -p_pen / interface_stiffness(), rtol=1e-9)


def test_block_pulled_off_separates_with_zero_traction():
    model, pr = block(+0.01)
    f = last(model)
    st = f.states[STATE_KEY]
    assert not np.any(st["active"])
    assert np.all(st["pressure"] == 0.0)
    assert np.allclose(st["gap"], 0.01, rtol=1e-9)                 # the block moves up rigidly by delta
    for name in ("block", "found"):
        assert np.abs(f.states[name]["stress"]).max() < 1e-6       # stress free (round-off: measured 2e-12 MPa)
    # and the two Newton iterates: the all-closed start, then the open set (converged at once: linear)
    assert len(f.residuals) <= 3 and f.residuals[-1] < 1e-10


# ---------------------------------------------------------------------------------------------------------------
# 3. Coulomb friction: sticks below mu p, slides above
MU = 0.3


def test_friction_sticks_below_mu_p_and_slides_above():
    """nu = 0 in both bodies (no lateral expansion: the pressing is a uniform uniaxial state even with the bottom
    fixed), pressed by delta, then sheared by moving the block top sideways. Small shear: every pair sticks, no
    slip, |t| < mu p, and the shear force is the same mesh's bonded response (within the penalty's compliance);
    large shear: every pair slides with |t| = mu p, the shear force is mu F_n."""
    delta = -0.01
    p = -delta / (1.0 / E_F + 1.0 / E_B + 1.0 / interface_stiffness())      # uniaxial, nu = 0
    times = [0.0, 1.0, 1.5, 2.0]
    for s, sliding in ((2e-4, False), (2e-2, True)):
        model, pr = block(delta, friction=MU, nu=(0.0, 0.0), shear=s)
        frames = list(run(model, times, TIGHT))
        st1 = frames[1].states[STATE_KEY]
        assert np.allclose(st1["pressure"], p, rtol=1e-9)               # pressed: uniform closed form
        f = frames[-1]
        st = f.states[STATE_KEY]
        w = ContactSet(model, *_ops_materials(model)).area
        Ft = float((st["traction"][0] * w).sum())
        Fn = float((st["pressure"] * w).sum())
        tmag = np.abs(st["traction"][0])
        assert Fn == pytest.approx(p * 2.0, rel=1e-6)     # the shear does not change the resultant (antisymmetric)
        if not sliding:
            assert np.all(st["stick"]) and np.all(tmag < MU * st["pressure"])
            assert np.abs(st["slip"]).max() < 1e-15
            bonded = _bonded_shear_force(s, delta)
            # a stuck interface is bonded up to the penalty compliance (1/k vs the bodies' compliance: < 1e-3)
            assert Ft == pytest.approx(bonded, rel=1e-3)
            assert abs(Ft) < MU * Fn
        else:
            assert not np.any(st["stick"])
            assert np.allclose(tmag, MU * st["pressure"], rtol=1e-9)
            assert Ft == pytest.approx(MU * Fn, rel=1e-9)
            assert np.all(st["slip"][0] > 0)


def _ops_materials(model):
    from fem_wlp.fe.solver.discretization import Discretization

    d = Discretization(model)
    return d.ops, d.materials


def _bonded_shear_force(s, delta):
    """The block's top shear reaction on the unsplit mesh (bonded) at the same loads."""
    fm = layered("quad", 8, 8, 2.0, 2.0, 1.0, names=("found", "block"))
    mats = {"found": material_from_spec("f", {"model": "elastic", "E": E_F, "nu": 0.0, "alpha": 0.0}),
            "block": material_from_spec("b", {"model": "elastic", "E": E_B, "nu": 0.0, "alpha": 0.0})}
    cons = (Constraint("bottom", (0, 1), facets=fm.boundary("bottom")),
            Constraint("top", (0, 1), facets=fm.boundary("top"), value=lambda t, x: np.array([[s], [delta]])))
    model = Model(fm, "plane_strain", mats, cons, Temperature(25.0))
    f = last(model)
    sig = f.states["block"]["stress"]                 # sigma_xy (Mandel: sqrt 2 on the shear)
    from fem_wlp.fe.solver.discretization import Discretization

    d = Discretization(model)
    o = d.ops[d.names.index("block")]
    # mean shear stress over the block times the width = the shear force through any horizontal section
    return float((sig[3] / np.sqrt(2) * o.w.reshape(-1)).sum() / 1.0)


# ---------------------------------------------------------------------------------------------------------------
# 4. Newton: quadratic once the active set has settled; the status is committed state
def test_newton_quadratic_once_the_active_set_settles():
    """A creeping block (Norton, n = 5: a nonlinear bulk) tilted onto an elastic foundation: the top is pushed
    down at x = 0 and pulled up at x = 2, so part of the interface opens. After the last status change the
    residual falls quadratically: r_{k+1} <= C r_k^2 with a bounded C (and at least two such steps)."""
    fm = layered("quad", 8, 8, 2.0, 2.0, 1.0, names=("found", "block"))
    mesh, pr = split_interface(fm, "found", "block")
    mats = {"found": material_from_spec("f", {"model": "elastic", "E": E_F, "nu": 0.3, "alpha": 0.0}),
            "block": material_from_spec("b", {"model": "norton", "E": 50000.0, "nu": 0.3, "alpha": 0.0,
                                              "A": 3e-10, "n": 5.0, "Q_over_R": 0.0})}
    tilt = History((0.0, 10.0), (0.0, 1.0))
    cons = (Constraint("bottom", (0, 1), facets=mesh.boundary("bottom")),
            Constraint("top", (0, 1), facets=mesh.boundary("top"),
                       value=lambda t, x: np.array([0.0 * x[0], tilt(t) * 0.004 * (x[0] - 1.2)]),
                       corners=(0.0, 10.0)))
    model = Model(mesh, "plane_strain", mats, cons, Temperature(25.0), contacts=(Contact(pr),))
    from fem_wlp.fe.solver.discretization import Discretization

    disc = Discretization(model, SolverSettings(rtol=1e-12, step_control="grid", predictor=False, max_cutbacks=0))
    frames = list(run(model, [0.0, 1.25], disc=disc))
    f = frames[-1]
    # a nonlinear increment: creep strain comparable with the elastic strain (max |eps| ~ 2e-3)
    assert f.states["block"]["eps_in_eq"].max() > 1e-4
    st = f.states[STATE_KEY]
    assert 0 < st["active"].sum() < st["active"].size                  # partly open
    changes = disc.contact.status_changes
    r = np.array(f.residuals)
    settled = max(i for i, c in enumerate(changes) if c) if any(changes) else 0
    tail = r[settled:]
    tail = tail[tail > 1e-15]
    print("residuals", ["%.2e" % x for x in r], "status changes", changes)
    assert tail.size >= 3
    # quadratic: r_{k+1} / r_k^2 measured 2.1, 3.2, 0.038, 0.010 (sequence 0.706 | 0.150 0.0478 0.00739 2.1e-6
    # 4.5e-14, the status settles at the first iterate); asserted on the last two steps above round-off, C = 1
    c = tail[1:] / tail[:-1] ** 2
    print("r_k+1 / r_k^2", c)
    assert np.all(c[-2:] < 1.0) and tail[-1] < 1e-12


def test_contact_status_chattering_fails_the_increment():
    """A status that cycles within one increment is reported (ConvergenceError -> the stepper cuts back)."""
    model, pr = block(-0.01)
    cs = ContactSet(model, *_ops_materials(model))
    old = {STATE_KEY: cs.initial_state()}
    n = 2 * model.mesh.mesh.nvertices
    u_open, u_shut = np.zeros(n), np.zeros(n)
    u_open[pr.b * 2 + 1] = 1e-3
    u_shut[pr.b * 2 + 1] = -1e-3
    cs.evaluate(u_open, old)
    cs.evaluate(u_shut, old)
    cs.evaluate(u_open, old)                       # a status seen before, after a different one: one cycle
    with pytest.raises(ConvergenceError, match="chattering"):
        cs.evaluate(u_shut, old)                   # the second cycle
    cs.evaluate(u_open, old, dt=0.5)               # a retry (cut back: another dt) starts afresh


def test_no_contacts_changes_nothing():
    """Model(contacts=()) builds no contact set and the states carry no contact key."""
    fm = layered("quad", 4, 4, 2.0, 2.0, 1.0, names=("found", "block"))
    mats = {"found": material_from_spec("f", CU), "block": material_from_spec("b", SI)}
    cons = (Constraint("bottom", (0, 1), facets=fm.boundary("bottom")),)
    model = Model(fm, "plane_strain", mats, cons, Temperature.uniform_step(125.0, 25.0))
    f = last(model)
    assert STATE_KEY not in f.states


# ---------------------------------------------------------------------------------------------------------------
# 5. the same meshes solved by CalculiX (*CONTACT PAIR, surface to surface, linear pressure-overclosure with the
# same stiffness per unit area; io/calculix/deck.py writes the cards)
def tilted(friction=0.0, cell="quad", n=8, order=1):
    """The elastic block of test 2 tilted onto the foundation: top u_y = 0.004 (x - 1.2), u_x = 0, bottom fixed:
    the interface is closed left of x ~ 1.1 and open right of it (cell, n x n elements per layer, order)."""
    fm = layered(cell, n, n, 2.0, 2.0, 1.0, names=("found", "block"))
    mesh, pr = split_interface(fm, "found", "block")
    mats = {"found": material_from_spec("f", {"model": "elastic", "E": E_F, "nu": 0.3, "alpha": 0.0}),
            "block": material_from_spec("b", {"model": "elastic", "E": E_B, "nu": 0.3, "alpha": 0.0})}
    ramp = History((0.0, 1.0), (0.0, 1.0))
    cons = (Constraint("bottom", (0, 1), facets=mesh.boundary("bottom")),
            Constraint("top", (0, 1), facets=mesh.boundary("top"),
                       value=lambda t, x: np.array([0.0 * x[0], ramp(t) * 0.004 * (x[0] - 1.2)]), corners=(0.0, 1.0)))
    return Model(mesh, "plane_strain", mats, cons, Temperature(25.0), order=order,
                 contacts=(Contact(pr, friction=friction, penalty=PENALTY),))


@pytest.mark.skipif(__import__("shutil").which("ccx") is None, reason="CalculiX (ccx) not on PATH")
@pytest.mark.parametrize("case,times,tol_u,tol_s", [
    # measured (ccx 2.20, CPE4): u 4.8e-8, S 1.1e-7 (uniform pressure: both exact; ccx prints 7 digits)
    ("pushed", [0.0, 1.0], 1e-6, 1e-5),
    # partial contact, frictionless: u 5.2e-6, S 1.3e-5 -- surface-to-surface integrates the pressure over the
    # faces, the pairs lump it at the vertices: they differ only on the face where the contact ends
    ("tilted", [0.0, 1.0], 5e-5, 1e-4),
    # pressed, then sheared below mu p (every pair sticks): u 1.1e-7, S 3.3e-7
    ("sticking", [0.0, 1.0, 1.5, 2.0], 1e-6, 1e-5),
    # (sliding above mu p is checked against mu F_n only: ccx 2.20 did not converge the fully sliding block
    # within 400 s with fixed increments, 10 per step -- its friction iterations cycled)
])
def test_calculix_same_mesh(tmp_path, case, times, tol_u, tol_s):
    if case == "pushed":
        model, _ = block(-0.01)
    elif case == "tilted":
        model = tilted()
    else:
        model, _ = block(-0.01, friction=MU, nu=(0.0, 0.0), shear=2e-4)
    _against_calculix(model, times, tmp_path / f"{case}.inp", tol_u, tol_s, case)


def _against_calculix(model, times, inp, tol_u, tol_s, case):
    """Solve `model` with fem_wlp and with ccx (*CONTACT PAIR deck) on the same mesh and steps; displacements and
    quadrature-point stresses agree within tol_u / tol_s of their maxima at every step; 'tilted' is partly open."""
    from fem_wlp.io.calculix.deck import deck_maps, write_deck
    from fem_wlp.io.calculix.results import map_to_model, read_dat, run_ccx
    from fem_wlp.fe.solver.discretization import Discretization

    disc = Discretization(model, TIGHT)
    frames = list(run(model, times, disc=disc))
    inp = write_deck(model, times, inp, disc=disc)
    text = inp.read_text()
    assert "*CONTACT PAIR" in text and ("*FRICTION" in text) == (case == "sticking")
    res = read_dat(run_ccx(inp, timeout=300)["dat"])
    maps = deck_maps(model, disc)
    for f in frames[1:]:
        m = map_to_model(res, maps, disc, f.time)
        assert np.abs(m.u - f.u).max() <= tol_u * np.abs(f.u).max(), f.time
        for n in disc.names:
            s = f.states[n]["stress"]
            assert np.abs(m.S_qp[n] - s).max() <= tol_s * np.abs(s).max(), (f.time, n)
    if case == "tilted":
        act = frames[-1].states[STATE_KEY]["active"]
        assert 0 < act.sum() < act.size


# ---------------------------------------------------------------------------------------------------------------
# 6. the study key [contact] (generated models) and its wiring (workflows/interfaces.unbonded_interfaces)
def _study(contact=None):
    import tomllib
    from pathlib import Path

    from fem_wlp.study.spec import Study

    path = Path(__file__).resolve().parents[1] / "studies" / "flat_vs_embossed_vs_recessed.toml"
    data = tomllib.loads(path.read_text())
    if contact is not None:
        data["contact"] = contact
    return Study.from_dict(data, path)


def test_contact_key_defaults():
    # unbonded solder/polymer interfaces by default (issue 14), linear and quadratic elements alike;
    # bonded_everywhere = true restores the bonded model
    s = _study()
    assert not s.contact.bonded_everywhere and ("solder", "pi2") in s.contact.pairs
    s = _study({"bonded_everywhere": True})
    assert s.contact.bonded_everywhere and s.contact.pairs == ()
    s = _study({"bonded_everywhere": False, "friction": 0.2})
    assert ("solder", "pi2") in s.contact.pairs and s.contact.friction == 0.2
    from fem_wlp.study.spec import ContactSpec
    assert ("solder", "pi2") in ContactSpec.from_table(None).pairs
    # the same default pairs whatever the element order or model kind (package3d: global model and submodel)
    from fem_wlp.study.load import load_study
    for f, sets in (("package3d_flat_vs_embossed_vs_recessed.toml", []),
                    ("flat_vs_embossed_vs_recessed.toml", ["mesh.order=2"])):
        st = load_study(Path(__file__).resolve().parent.parent / "studies" / f, sets)
        assert not st.contact.bonded_everywhere and st.contact.pairs == ContactSpec.from_table(None).pairs


@pytest.mark.parametrize("contact,key", [
    ({"friction": 2.5}, "contact.friction"),
    ({"friction": -0.1}, "contact.friction"),
    ({"unbonded": ["solder:ubm"]}, "contact.unbonded"),             # metal-metal without allow_metal
    ({"unbonded": ["solder:nowhere"]}, "contact.unbonded"),
    ({"unbonded": ["solder"]}, "contact.unbonded"),
    ({"unbonded": "solder:pi2"}, "contact.unbonded"),
    ({"bonded_everywhere": "no"}, "contact.bonded_everywhere"),
    ({"slip": 1}, "contact.slip"),
])
def test_contact_key_bad_input(contact, key):
    with pytest.raises(InputError) as exc:
        _study(contact)
    assert exc.value.key == key


def test_contact_metal_pair_with_permission():
    s = _study({"bonded_everywhere": False, "unbonded": ["solder:ubm"], "allow_metal": True})
    assert s.contact.pairs == (("solder", "ubm"),)


def test_unbonded_interfaces_split_and_reject_missing_pairs():
    """Default pairs the mesh lacks are left out; a listed pair without an interface is an InputError naming
    contact.unbonded; every partner of the first region is split at once."""
    from types import SimpleNamespace

    from fem_wlp.study.spec import ContactSpec
    from fem_wlp.workflows.interfaces import unbonded_interfaces

    fm = layered("quad", 4, 4, 2.0, 2.0, 1.0, names=("pi2", "solder"), extra=1.5)   # pi2 | solder | side
    fm = FEMesh.from_skfem(fm.mesh, {"pi2": fm.leaves["pi2"], "solder": fm.leaves["solder"],
                                     "pi3": fm.leaves["side"]}, fm.boundaries)
    spec = SimpleNamespace(contact=ContactSpec(bonded_everywhere=False))
    new, contacts = unbonded_interfaces(fm, spec)
    assert len(contacts) == 1 and contacts[0].name == "solder:pi2+pi3"
    # the solder/pi2 face y = 1, x in [0, 1.5] (4 vertices) and the solder/pi3 face x = 1.5, y in [1, 2] (3), the
    # corner (1.5, 1) in both: one copy for pi2 and pi3 (bonded to each other there)
    assert contacts[0].pairs.size == 6
    assert new.mesh.nvertices == fm.mesh.nvertices + contacts[0].pairs.size
    spec = SimpleNamespace(contact=ContactSpec(bonded_everywhere=False, unbonded=("solder:solder_mask",)))
    with pytest.raises(InputError) as exc:
        unbonded_interfaces(fm, spec)
    assert exc.value.key == "contact.unbonded"
    assert unbonded_interfaces(fm, SimpleNamespace(contact=ContactSpec(bonded_everywhere=True)))[0] is fm


def test_cutback_reverts_the_contact_status():
    """The status is committed state: a run whose first increment chatters and is cut back ends exactly where a
    run on the accepted increments' times ends (the failed attempts leave nothing behind)."""
    fm = layered("quad", 8, 8, 2.0, 2.0, 1.0, names=("found", "block"))
    mesh, pr = split_interface(fm, "found", "block")
    mats = {"found": material_from_spec("f", {"model": "elastic", "E": E_F, "nu": 0.3, "alpha": 0.0}),
            "block": material_from_spec("b", {"model": "norton", "E": 50000.0, "nu": 0.3, "alpha": 0.0,
                                              "A": 1e-8, "n": 5.0, "Q_over_R": 0.0})}
    tilt = History((0.0, 10.0), (0.0, 1.0))
    cons = (Constraint("bottom", (0, 1), facets=mesh.boundary("bottom")),
            Constraint("top", (0, 1), facets=mesh.boundary("top"),
                       value=lambda t, x: np.array([0.0 * x[0], tilt(t) * 0.004 * (x[0] - 1.2)]),
                       corners=(0.0, 10.0)))
    model = Model(mesh, "plane_strain", mats, cons, Temperature(25.0), contacts=(Contact(pr),))
    s = SolverSettings(rtol=1e-10, step_control="grid", predictor=False)
    a = list(run(model, [0.0, 10.0], s))
    assert a[1].cutbacks > 0                                            # the first attempt(s) failed
    b = list(run(model, [f.time for f in a], s))
    assert all(f.cutbacks == 0 for f in b) and len(b) == len(a)
    assert np.abs(a[-1].u - b[-1].u).max() <= 1e-12 * np.abs(b[-1].u).max()
    assert np.array_equal(a[-1].states[STATE_KEY]["active"], b[-1].states[STATE_KEY]["active"])


# ---------------------------------------------------------------------------------------------------------------
# 7. quadratic elements: facet-integrated penalty on the split interface (P2 node pairs, facet Gauss points)
def block_p2(delta, kind="tri", formulation="plane_strain", friction=0.0, n=4, nu=(NU_F, NU_B), shear=None,
             tangent="full", curved=False):
    """The block of test 2 on an n x n mesh with quadratic elements (tri: P2, quad: Q2; curved: the same straight
    mesh as a MeshTri2, quadratic geometry)."""
    fm = layered(kind, n, n, 2.0, 2.0, 1.0, names=("found", "block"))
    if curved:
        m = fm.mesh
        m2 = skfem.MeshTri2(np.hstack([m.p, m.p[:, m.facets].mean(axis=1)]), m.t)
        fm = FEMesh.from_skfem(m2, fm.leaves, fm.boundaries)
    mesh, pr = split_interface(fm, "found", "block")
    mats = {"found": material_from_spec("f", {"model": "elastic", "E": E_F, "nu": nu[0], "alpha": 0.0}),
            "block": material_from_spec("b", {"model": "elastic", "E": E_B, "nu": nu[1], "alpha": 0.0})}
    press = History((0.0, 1.0), (0.0, delta))
    if shear is None:
        cons = (Constraint("bottom", (1,), facets=mesh.boundary("bottom")),
                Constraint("left", (0,), facets=mesh.boundary("left")),
                Constraint("top", (1,), facets=mesh.boundary("top"), value=lambda t, x: press(t), corners=(0.0, 1.0)))
    else:
        slide = History((0.0, 1.0, 2.0), (0.0, 0.0, shear))
        cons = (Constraint("bottom", (0, 1), facets=mesh.boundary("bottom")),
                Constraint("top", (0, 1), facets=mesh.boundary("top"),
                           value=lambda t, x: np.array([[slide(t)], [press(t)]]), corners=(0.0, 1.0, 2.0)))
    return Model(mesh, formulation, mats, cons, Temperature(25.0), order=2,
                 contacts=(Contact(pr, friction=friction, penalty=PENALTY, tangent=tangent),)), pr


def box3d(delta, order=2, n=2):
    """The pushed/pulled block in 3D: tetrahedra on [0,2]^2 x [0,2] (n x n x 2n cubes, 6 tets each), found z < 1,
    block z > 1; rollers on x = 0, y = 0 and the bottom, top u_z = delta t (uniaxial stress when frictionless)."""
    m = skfem.MeshTet.init_tensor(*[np.linspace(0, 2, n + 1)] * 2, np.linspace(0, 2, 2 * n + 1))
    c = m.p[:, m.t].mean(axis=1)
    tol = 1e-9
    bnd = {"left": m.facets_satisfying(lambda x: x[0] < tol), "front": m.facets_satisfying(lambda x: x[1] < tol),
           "bottom": m.facets_satisfying(lambda x: x[2] < tol), "top": m.facets_satisfying(lambda x: x[2] > 2 - tol)}
    fm = FEMesh.from_skfem(m, {"found": np.flatnonzero(c[2] < 1), "block": np.flatnonzero(c[2] > 1)}, bnd)
    mesh, pr = split_interface(fm, "found", "block")
    mats = {"found": material_from_spec("f", {"model": "elastic", "E": E_F, "nu": NU_F, "alpha": 0.0}),
            "block": material_from_spec("b", {"model": "elastic", "E": E_B, "nu": NU_B, "alpha": 0.0})}
    press = History((0.0, 1.0), (0.0, delta))
    cons = (Constraint("bottom", (2,), facets=mesh.boundary("bottom")),
            Constraint("left", (0,), facets=mesh.boundary("left")),
            Constraint("front", (1,), facets=mesh.boundary("front")),
            Constraint("top", (2,), facets=mesh.boundary("top"), value=lambda t, x: press(t), corners=(0.0, 1.0)))
    return Model(mesh, "3d", mats, cons, Temperature(25.0), order=order,
                 contacts=(Contact(pr, penalty=PENALTY),)), pr


@pytest.mark.parametrize("kind,formulation,curved", [
    ("tri", "plane_strain", False), ("quad", "plane_strain", False), ("tri", "plane_strain", True),
    ("tri", "generalized_plane_strain", False), ("quad", "axisymmetric", False), ("tri", "axisymmetric", False)])
def test_p2_block_pushed_transmits_the_closed_form_pressure(kind, formulation, curved):
    """P2/Q2: the pressure at every facet Gauss point, the layers' stress and the overclosure are the penalty-
    regularized closed form (exact in the FE space: measured 4e-13 .. 8e-13; tolerance 1e-9); h = 2 / 4."""
    model, pr = block_p2(-0.01, kind, formulation, curved=curved)
    f = last(model)
    st = f.states[STATE_KEY]
    k = PENALTY * max(E_F, E_B) / 0.5
    p_pen = pressure_closed_form(-0.01, k, formulation)
    assert st["pressure"].size == 4 * 3 and np.all(st["active"])       # 4 facets x 3 Gauss points
    assert np.allclose(st["pressure"], p_pen, rtol=1e-9)
    assert np.allclose(st["gap"], -p_pen / k, rtol=1e-9)
    for name in ("block", "found"):
        assert np.allclose(f.states[name]["stress"][1], -p_pen, rtol=1e-9)
    # the pair forces add up to the resultant (axisymmetric: 2 pi int r p dr over r in [0, 2] = 4 pi p)
    cs = ContactSet(model, *_ops_materials(model))
    S = 4 * np.pi if formulation == "axisymmetric" else 2.0
    assert cs.area.sum() == pytest.approx(S, rel=1e-12)


def test_p2_block_pulled_off_separates_with_zero_traction():
    model, pr = block_p2(+0.01)
    f = last(model)
    st = f.states[STATE_KEY]
    assert not np.any(st["active"]) and np.all(st["pressure"] == 0.0)
    assert np.allclose(st["gap"], 0.01, rtol=1e-9)
    for name in ("block", "found"):
        assert np.abs(f.states[name]["stress"]).max() < 1e-6       # measured 1.8e-12 MPa
    assert len(f.residuals) <= 3 and f.residuals[-1] < 1e-10


@pytest.mark.parametrize("order", [1, 2])
def test_3d_block_pushed_and_pulled(order):
    """Tetrahedra P1 (node pairs) and P2 (6-point facet rule): uniaxial closed form with the penalty compliance,
    h = sqrt(mean facet area) = sqrt(1/2); measured 5e-13 (P1), 8e-13 (P2); tolerance 1e-9."""
    model, pr = box3d(-0.01, order)
    f = last(model)
    st = f.states[STATE_KEY]
    k = PENALTY * E_F / np.sqrt(0.5)
    p_pen = 0.01 / (1 / E_F + 1 / E_B + 1 / k)
    assert st["pressure"].size == (9 if order == 1 else 8 * 6)
    assert np.allclose(st["pressure"], p_pen, rtol=1e-9)
    assert np.allclose(f.states["block"]["stress"][2], -p_pen, rtol=1e-9)
    model, pr = box3d(+0.01, order)
    st = last(model).states[STATE_KEY]
    assert not np.any(st["active"]) and np.allclose(st["gap"], 0.01, rtol=1e-9)


def bilayer_p2(contact: bool, kind="tri", formulation="plane_strain"):
    """The Cu/Si bilayer of test 1 on a coarser mesh with quadratic elements (40 x 4)."""
    fm = layered(kind, 40, 4, 10.0, 1.0, 0.5, names=("cu", "si"))
    mesh, contacts = fm, ()
    if contact:
        mesh, pr = split_interface(fm, "cu", "si")
        contacts = (Contact(pr),)
    cons = (Constraint("left", (0,), facets=mesh.boundary("left")), Constraint("pin", (1,), nodes=np.array([0])))
    mats = {"cu": material_from_spec("cu", CU), "si": material_from_spec("si", SI)}
    model = Model(mesh, formulation, mats, cons, Temperature.uniform_step(125.0, 25.0), contacts=contacts, order=2)
    f = last(model)
    X, U = mesh.mesh.p, f.u.reshape(-1, 2)[: mesh.mesh.nvertices]
    sel = np.isclose(X[1], 0.5) & (X[0] < 2.5)
    if contact:
        sel[contacts[0].pairs.b] = False
    return 2 * np.polyfit(X[0, sel], U[sel, 1], 2)[0], f


def test_p2_bilayer_bonded_timoshenko_frictionless_stress_free():
    """Bonded, P2 40 x 4: the Timoshenko curvature (measured 1.3e-11 relative: away from the free end the plane-
    strain bilayer's displacement is quadratic, which P2 represents exactly; tolerance 1e-8 for the parabola fit).
    Frictionless: no curvature, no in-plane stress (measured 2e-8 MPa against 128 MPa bonded), sigma_zz of each
    layer alone to 1e-9 relative."""
    ref = timoshenko_kappa_plane_strain(117e3, .34, 17e-6, .5, 130e3, .28, 2.6e-6, .5, -100.0)
    kappa, _ = bilayer_p2(False)
    assert kappa == pytest.approx(ref, rel=1e-8)
    kappa, f = bilayer_p2(True)
    assert abs(kappa) < 1e-9
    for name, mat in (("cu", CU), ("si", SI)):
        s = f.states[name]["stress"]
        assert np.abs(s[[0, 1, 3]]).max() < 1e-6
        assert np.allclose(s[2], -mat["E"] * mat["alpha"] * -100.0, rtol=1e-9)


def test_p2_friction_sticks_below_mu_p_and_slides_above():
    """P2, nu = 0: pressed (uniform closed form at every Gauss point), then sheared: every point sticks at s = 2e-4
    (|t| < mu p), every point slides at s = 2e-2 with |t| = mu p (1e-9) and a shear resultant mu F_n."""
    delta = -0.01
    k = PENALTY * E_F / 0.5
    p = -delta / (1.0 / E_F + 1.0 / E_B + 1.0 / k)
    for s, sliding in ((2e-4, False), (2e-2, True)):
        model, pr = block_p2(delta, "quad", friction=MU, nu=(0.0, 0.0), shear=s)
        frames = list(run(model, [0.0, 1.0, 1.5, 2.0], TIGHT))
        assert np.allclose(frames[1].states[STATE_KEY]["pressure"], p, rtol=1e-9)
        st = frames[-1].states[STATE_KEY]
        w = ContactSet(model, *_ops_materials(model)).area
        Ft, Fn = float((st["traction"][0] * w).sum()), float((st["pressure"] * w).sum())
        assert Fn == pytest.approx(2 * p, rel=1e-6)
        if sliding:
            assert not np.any(st["stick"]) and np.allclose(np.abs(st["traction"][0]), MU * st["pressure"], rtol=1e-9)
            assert Ft == pytest.approx(MU * Fn, rel=1e-9)
        else:
            assert np.all(st["stick"]) and np.all(np.abs(st["traction"][0]) < MU * st["pressure"])


def test_contact_on_quadratic_elements_bad_input():
    m = skfem.MeshHex.init_tensor(*[np.linspace(0, 1, 2)] * 2, np.linspace(0, 2, 3))
    c = m.p[:, m.t].mean(axis=1)
    fm = FEMesh.from_skfem(m, {"a": np.flatnonzero(c[2] < 1), "b": np.flatnonzero(c[2] > 1)}, {})
    mesh, pr = split_interface(fm, "a", "b")
    mats = {n: material_from_spec(n, SI) for n in ("a", "b")}
    model = Model(mesh, "3d", mats, (), Temperature(25.0), order=2, contacts=(Contact(pr),))
    with pytest.raises(InputError) as exc:
        ContactSet(model, *_ops_materials(model))
    assert exc.value.key == "model.order"
    with pytest.raises(InputError, match="tangent"):
        Contact(pr, tangent="exact")


# ---------------------------------------------------------------------------------------------------------------
# 8. friction: the full generalized derivative (non-symmetric while sliding, PARDISO mtype 11) keeps Newton
# quadratic; its symmetric part (the slip/normal coupling dropped) converges linearly
def _sliding_residuals(order, tangent):
    model, pr = block(-0.01, friction=MU, nu=(0.3, 0.25), shear=2e-2)
    model = Model(model.mesh, model.formulation, model.materials, model.constraints, model.temperature,
                  order=order, contacts=(Contact(pr, friction=MU, penalty=PENALTY, tangent=tangent),))
    from fem_wlp.fe.solver.discretization import Discretization

    disc = Discretization(model, SolverSettings(rtol=1e-12, step_control="grid", predictor=False, max_cutbacks=0))
    f = list(run(model, [0.0, 1.0, 2.0], disc=disc))[-1]
    st = f.states[STATE_KEY]
    return np.array(f.residuals), disc.contact.status_changes, st


@pytest.mark.parametrize("order", [1, 2])
def test_sliding_friction_newton_full_vs_symmetric_tangent(order):
    """Elastic bodies, nu > 0, pressed and sheared at once so that every point slides while the pressure is
    redistributed: with the full derivative the increment converges one iteration after the status (active,
    stick, slip direction) settles -- the problem is piecewise linear in 2D: one Newton step is exact -- plus one
    where a point reversed its slip direction at the settling iterate (it takes the secant stiffness once),
    measured P1: 6.9e-1 8.4e-2 5.7e-2 | 5.1e-14, P2: 7.5e-1 3.1e-2 3.6e-2 1.5e-2 | 1.2e-4 2.4e-14; with the
    symmetric part the tail contracts linearly (P1 rate 0.04 .. 0.09 over 8 iterations, P2 0.04 .. 0.08)."""
    r, changes, st = _sliding_residuals(order, "full")
    assert np.all(st["active"]) and not np.any(st["stick"])           # everything slides
    settled = max(i for i, c in enumerate(changes) if c)
    assert len(r) <= settled + 3 and r[-1] < 1e-12
    r_s, changes_s, _ = _sliding_residuals(order, "symmetric")
    settled = max(i for i, c in enumerate(changes_s) if c)
    tail = r_s[settled + 1:]
    rate = tail[1:] / tail[:-1]
    assert len(tail) >= 6 and np.all(rate > 1e-2) and np.all(rate < 0.2)   # linear, not quadratic


def _press_slide(t, x):
    """Top displacement: pressed by 0.01 over t in [0, 1], then moved sideways by 0.02 over [1, 2]."""
    return np.array([[0.02 * np.clip(t - 1.0, 0.0, 1.0)], [-0.01 * min(t, 1.0)]])


def test_sliding_friction_with_creep_converges_quadratically():
    """A creeping block (Norton) pressed, then sheared so that 3 of 9 pairs slide: after the status settles the
    full derivative gives r_{k+1} <= C r_k^2 (measured 4.95e-2 7.5e-4 3.4e-7 2.8e-13: C = 0.31, 0.60, 2.5), the
    symmetric part a linear tail (1.6e-3 2.7e-5 1.9e-7 8.9e-10 1.2e-11 4.7e-13)."""
    from fem_wlp.fe.solver.discretization import Discretization

    out = {}
    for tangent in ("full", "symmetric"):
        fm = layered("quad", 8, 8, 2.0, 2.0, 1.0, names=("found", "block"))
        mesh, pr = split_interface(fm, "found", "block")
        mats = {"found": material_from_spec("f", {"model": "elastic", "E": E_F, "nu": 0.3, "alpha": 0.0}),
                "block": material_from_spec("b", {"model": "norton", "E": 50000.0, "nu": 0.3, "alpha": 0.0,
                                                  "A": 1e-15, "n": 5.0, "Q_over_R": 0.0})}
        cons = (Constraint("bottom", (0, 1), facets=mesh.boundary("bottom")),
                Constraint("top", (0, 1), facets=mesh.boundary("top"), value=_press_slide, corners=(0.0, 1.0, 2.0)))
        model = Model(mesh, "plane_strain", mats, cons, Temperature(25.0),
                      contacts=(Contact(pr, friction=MU, penalty=PENALTY, tangent=tangent),))
        disc = Discretization(model, SolverSettings(rtol=1e-12, step_control="grid", predictor=False,
                                                    max_cutbacks=0))
        f = list(run(model, [0.0, 1.0, 1.1, 1.2, 1.3, 1.4], disc=disc))[-1]
        st = f.states[STATE_KEY]
        assert f.states["block"]["eps_in_eq"].max() > 1e-3             # creep comparable with elastic strain
        assert 0 < (~st["stick"]).sum() < st["stick"].size              # partly sliding
        settled = max(i for i, c in enumerate(disc.contact.status_changes) if c)
        out[tangent] = np.array(f.residuals)[settled + 1:]
    full, sym = out["full"], out["symmetric"]
    c = full[1:] / full[:-1] ** 2
    assert full[-1] < 1e-12 and len(full) <= 4 and np.all(c < 5.0)
    assert len(sym) > len(full) + 1


def test_pardiso_general_factorization():
    """A non-symmetric matrix marked K.general is factorized whole (mtype 11): solves to round-off; unmarked,
    only its upper triangle is used (the symmetric path, unchanged)."""
    import scipy.sparse as sp

    from fem_wlp.fe.la.direct import Pardiso, import_pypardiso, scipy_factor

    rng = np.random.default_rng(0)
    n = 40
    A = sp.random(n, n, density=0.1, random_state=rng) + sp.eye(n) * 5.0
    A = (A + A.T).tocsr()
    A.data += rng.uniform(-0.5, 0.5, A.data.size)                      # the same pattern, non-symmetric values
    A.sort_indices()
    b = rng.standard_normal(n)
    A.general = True
    x = scipy_factor(A)[0](b)
    assert np.linalg.norm(A @ x - b) < 1e-12 * np.linalg.norm(b)
    try:
        import_pypardiso()
    except Exception:
        return
    P = Pardiso()
    P.factorize(A)
    x = P.solve(b)
    assert np.linalg.norm(A @ x - b) < 1e-12 * np.linalg.norm(b)


def tilted_p2():
    """The tilted elastic block of test 5 with P2 triangles (4 x 4): closed left of x ~ 1.1, open right of it."""
    return tilted(cell="tri", n=4, order=2)


@pytest.mark.skipif(__import__("shutil").which("ccx") is None, reason="CalculiX (ccx) not on PATH")
@pytest.mark.parametrize("case,times,tol_u,tol_s", [
    # measured (ccx 2.20; CPE6 / C3D10, surface-to-surface with the same linear pressure-overclosure):
    ("pushed", [0.0, 1.0], 1e-6, 1e-5),                     # u 4.9e-8, S 7.1e-8
    ("tilted", [0.0, 1.0], 1e-6, 1e-5),                     # u 9.8e-8, S 2.8e-7 (6 of 12 points closed): both
                                                            # integrate the pressure over the faces
    ("sticking", [0.0, 1.0, 1.5, 2.0], 1e-6, 1e-5),         # u 5.1e-8, S 1.5e-7
    ("pushed3d", [0.0, 1.0], 1e-6, 1e-5),                   # u 4.7e-8, S 4.7e-8
])
def test_calculix_same_quadratic_mesh(tmp_path, case, times, tol_u, tol_s):
    model = {"pushed": lambda: block_p2(-0.01)[0], "tilted": tilted_p2,
             "sticking": lambda: block_p2(-0.01, "tri", friction=MU, nu=(0.0, 0.0), shear=2e-4)[0],
             "pushed3d": lambda: box3d(-0.01, 2)[0]}[case]()
    _against_calculix(model, times, tmp_path / f"{case}.inp", tol_u, tol_s, case)


# ---------------------------------------------------------------------------------------------------------------
# 9. the contact summary of a case (case.json 'contact', report paragraph)
def test_contact_summary_at_the_hot_and_cold_extremes():
    """workflows.interfaces.track_contact keeps each cycle's hottest and coldest frame; contact_extremes reports the last
    cycle per interface: the pushed block (P1: 9 pairs) is closed at full pressure, the pulled one open by 0.01."""
    from fem_wlp.workflows.interfaces import contact_extremes, track_contact

    store = {}
    model, pr = block(-0.01)
    cs = ContactSet(model, *_ops_materials(model))
    frames = {d: last(block(d)[0]) for d in (-0.01, 0.01)}
    for delta, T, cycle in ((-0.01, 125.0, 1), (0.01, -40.0, 1), (-0.01, 100.0, 2), (0.01, -20.0, 2),
                            (-0.01, 25.0, 2)):
        track_contact(store, cs, frames[delta], T, cycle)
    out = contact_extremes(store)
    assert out["cycle"] == 2 and out["hot"]["temperature_C"] == 100.0 and out["cold"]["temperature_C"] == -20.0
    d = out["interfaces"]["interface"]
    assert d["pairs"] == d["points"] == 9
    p = pressure_closed_form(-0.01, interface_stiffness())
    assert d["hot"]["closed"] == 9 and d["hot"]["max_pressure_MPa"] == pytest.approx(p, rel=1e-9)
    assert d["cold"]["closed"] == 0 and d["cold"]["max_gap_mm"] == pytest.approx(0.01, rel=1e-9)
    assert d["hot"]["slipping"] == d["hot"]["sticking"] == 0            # frictionless
    from fem_wlp.reporting.report import _contact, _materials

    md = "\n".join(_contact([{"name": "flat", "contact": out}]))
    assert "| flat | `interface` | 9 / 9 | 9 / 0 |" in md
    assert "— (frictionless)" in md and "— (frictionless)" not in "\n".join(_contact([{"name": "flat",
                                                                                      "contact": out}], 0.3))
    # the materials line names the IMC only when the study has one
    assert "imc" not in _materials({}) and "imc" in _materials({"geometry": {"imc": True}})


@pytest.mark.parametrize("order", [1, 2])
def test_3d_many_joints_one_split(order):
    """The package-level use (engine only): three 'joints' solder/joint0..2 (A, hierarchical leaves under
    'solder') on one polymer foundation (B), split once with region names; tetrahedra P1 and P2, pushed: every
    status point of every joint carries the uniaxial closed form with the penalty compliance (measured < 1e-12;
    tolerance 1e-9), the copies go to the foundation only."""
    m = skfem.MeshTet.init_tensor(np.linspace(0, 3, 7), np.linspace(0, 1, 3), np.linspace(0, 2, 5))
    c = m.p[:, m.t].mean(axis=1)
    tol = 1e-9
    bnd = {"left": m.facets_satisfying(lambda x: x[0] < tol), "front": m.facets_satisfying(lambda x: x[1] < tol),
           "bottom": m.facets_satisfying(lambda x: x[2] < tol), "top": m.facets_satisfying(lambda x: x[2] > 2 - tol)}
    top = c[2] > 1
    leaves = {f"solder/joint{j}": np.flatnonzero(top & (c[0] > j) & (c[0] < j + 1)) for j in range(3)}
    leaves["pi"] = np.flatnonzero(~top)
    fm = FEMesh.from_skfem(m, leaves, bnd)
    mesh, pr = split_interface(fm, "solder", ["pi"], name="solder:pi")
    assert pr.size == 7 * 3 and not np.isin(mesh.mesh.t[:, mesh.leaves["solder/joint1"]], pr.b).any()
    mats = {"solder": material_from_spec("s", {"model": "elastic", "E": E_B, "nu": NU_B, "alpha": 0.0}),
            "pi": material_from_spec("p", {"model": "elastic", "E": E_F, "nu": NU_F, "alpha": 0.0})}
    press = History((0.0, 1.0), (0.0, -0.01))
    cons = (Constraint("bottom", (2,), facets=mesh.boundary("bottom")),
            Constraint("left", (0,), facets=mesh.boundary("left")),
            Constraint("front", (1,), facets=mesh.boundary("front")),
            Constraint("top", (2,), facets=mesh.boundary("top"), value=lambda t, x: press(t), corners=(0.0, 1.0)))
    model = Model(mesh, "3d", mats, cons, Temperature(25.0), order=order,
                  contacts=(Contact(pr, penalty=PENALTY),))
    st = last(model).states[STATE_KEY]
    h = np.sqrt(0.125)                                   # facet area 0.5 x 0.5 / 2
    p_pen = 0.01 / (1 / E_F + 1 / E_B + 1 / (PENALTY * E_F / h))
    assert st["pressure"].size == (21 if order == 1 else 24 * 6)
    assert np.allclose(st["pressure"], p_pen, rtol=1e-9)


def test_slip_reversal_takes_the_secant_tangent_and_direction_cycles_are_chattering():
    """A point sliding against its previous direction takes the secant stiffness |t - t_prev| / |gT - gT_prev|
    between the two iterates (P times it; its force stays the exact return map); sliding on in the same
    direction, the sliding tangent (2D: no tangential stiffness). Slip directions alternating within an
    increment are reported as chattering."""
    model, pr = block(-0.01, friction=MU)
    cs = ContactSet(model, *_ops_materials(model))
    old = cs.initial_state()
    old["stick"][:] = False                              # committed: every pair sliding in +x at mu F_n,
    Fn = cs.k * 1e-4                                     # pressed by 1e-4, slip 1e-3 behind
    old["traction"][0] = MU * Fn / cs.area
    old["slip"][0] = 1e-3 - MU * 1e-4
    n = 2 * model.mesh.mesh.nvertices
    u = np.zeros(n)
    u[pr.b * 2 + 1] = -1e-4                              # pressed (relative normal -1e-4)
    u_left, u_right = u.copy(), u.copy()
    u_left[pr.b * 2] = -1e-3                             # moved back by 2e-3: trial far beyond the limit, in -x
    u_right[pr.b * 2] = 1e-3
    states = {STATE_KEY: old}
    st = cs.evaluate(u_left, states)[STATE_KEY]
    assert not np.any(st["stick"]) and cs.reversals == pr.size
    assert np.allclose(st["traction"][0] * cs.area, -MU * Fn, rtol=1e-12)             # exact force: -mu F_n
    # secant: the force went from +mu F_n to -mu F_n while gT went from 1e-3 to -1e-3
    sec = 2 * MU * Fn / 2e-3
    P = np.array([[1.0, 0.0], [0.0, 0.0]])               # I - n n^T, n = (0, 1)
    want = cs.k[:, None, None] * np.diag([0.0, 1.0]) + sec[:, None, None] * P
    assert np.allclose(cs._blocks, want, rtol=1e-9)
    cs.evaluate(u_left, states)                          # the same direction again: the sliding tangent
    assert cs.reversals == 0
    assert np.allclose(cs._blocks[:, 0, 0], 0.0) and np.allclose(cs._blocks[:, 1, 1], cs.k)
    cs.evaluate(u_right, states)                         # right, left, right: two cycles of the direction
    cs.evaluate(u_left, states)
    with pytest.raises(ConvergenceError, match="chattering"):
        cs.evaluate(u_right, states)


def test_quadratic_geometry_split_and_subset_keep_the_curved_sides():
    """MeshTri2 (curved): the split mesh and the region subsets (process history stage 1) keep the midside nodes,
    so their P2 areas add up to the original's to round-off (scikit-fem's restrict alone loses them)."""
    m = skfem.MeshTri2.init_circle(2)
    c = m.p[:, m.t].mean(axis=1)
    inner = np.hypot(*c) < 0.5
    fm = FEMesh.from_skfem(m, {"in": np.flatnonzero(inner), "out": np.flatnonzero(~inner)}, {})
    area = skfem.Basis(m, skfem.ElementTriP2(), intorder=4).dx.sum()
    new, pr = split_interface(fm, "in", "out")
    assert isinstance(new.mesh, skfem.MeshTri2) and pr.size > 0
    assert skfem.Basis(new.mesh, skfem.ElementTriP2(), intorder=4).dx.sum() == pytest.approx(area, rel=1e-13)
    parts = [skfem.Basis(f.subset([r]).mesh, skfem.ElementTriP2(), intorder=4).dx.sum()
             for f in (fm, new) for r in ("in", "out")]
    assert parts[0] + parts[1] == pytest.approx(area, rel=1e-13) and parts[:2] == pytest.approx(parts[2:], rel=1e-13)
