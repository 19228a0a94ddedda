"""Out-of-plane widths of regions in planar 2D models (fe.problem.Model.widths) and the equivalent joint-row width
of the diagonal slice (model.slice_width = "equivalent", wlcsp.design.equivalent_joint_width).

(a) closed form of the width weighting: two regions in series along x between fixed ends, u_y = 0 everywhere
    (plane strain in y), in generalized plane strain; region a has width w_a, region b width w_b. Unknowns: the
    uniform strains e_a, e_b along x and the out-of-plane e_zz (3 linear equations: the same axial force per
    unit model depth through the interface, w_a sigma_xx,a = w_b sigma_xx,b; the fixed length
    L_a e_a + L_b e_b = 0; zero out-of-plane resultant sum_i w_i A_i sigma_zz,i = 0). The solution is piecewise
    linear in u_x and uniform in each region, so it lies in the P1/Q1 space: the finite-element solution equals it
    to round-off (tolerance 1e-9 relative, the linear solve's).
(b) widths of 1 everywhere give the model without widths bit for bit; one width for every region scales the
    forces, not the displacements (to round-off).
(c) the equivalent width of the flagship geometry against an independent quadrature of its definition.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import skfem

from fem_wlp.errors import InputError
from fem_wlp.fe.mesh import FEMesh
from fem_wlp.fe.problem import Model, Temperature, boundary_constraint
from fem_wlp.fe.solver import run
from fem_wlp.fe.solver.discretization import Discretization
from fem_wlp.materials import material_from_spec
from fem_wlp.study.spec import Study
from fem_wlp.wlcsp.design import Design, Geometry, MeshSizes, equivalent_joint_width
from fem_wlp.wlcsp.geometry import joints_for

A = {"model": "elastic", "E": 50000.0, "nu": 0.35, "alpha": 22e-6}     # solder-like
B = {"model": "elastic", "E": 130000.0, "nu": 0.28, "alpha": 2.6e-6}    # silicon-like
T_FREE, T_LOAD = 125.0, -40.0
LA, LB = 1.0, 1.5                                                     # region lengths along x (height 1)
ROUNDOFF = 1e-9


def _bar(kind="quad"):
    cls = skfem.MeshQuad if kind == "quad" else skfem.MeshTri
    m = cls.init_tensor(np.linspace(0.0, LA + LB, 11), np.linspace(0.0, 1.0, 3))
    m = m.with_subdomains({"a": lambda x: x[0] < LA, "b": lambda x: x[0] > LA}).with_boundaries(
        {"x0": lambda x: np.isclose(x[0], 0.0), "x1": lambda x: np.isclose(x[0], LA + LB),
         "y0": lambda x: np.isclose(x[1], 0.0), "y1": lambda x: np.isclose(x[1], 1.0)})
    return FEMesh.from_skfem(m)


def _solve(widths=(), kind="quad", formulation="generalized_plane_strain"):
    fm = _bar(kind)
    cons = [boundary_constraint(fm, "x0", ["x"], formulation=formulation),
            boundary_constraint(fm, "x1", ["x"], formulation=formulation),
            boundary_constraint(fm, "y0", ["y"], formulation=formulation),
            boundary_constraint(fm, "y1", ["y"], formulation=formulation)]
    mats = {"a": material_from_spec("a", A), "b": material_from_spec("b", B)}
    model = Model(fm, formulation, mats, tuple(cons), Temperature.uniform_step(T_FREE, T_LOAD), widths=widths)
    disc = Discretization(model)
    frames = list(run(model, [0.0, 1.0], disc=disc))
    return disc, frames[-1]


def _closed_form(wa, wb):
    """(e_a, e_b, e_zz, sigma_xx a, sigma_xx b, sigma_zz a, sigma_zz b) of the series bar (docstring (a))."""
    dT = T_LOAD - T_FREE

    def lam_mu(m):
        E, nu = m["E"], m["nu"]
        return E * nu / ((1 + nu) * (1 - 2 * nu)), E / (2 * (1 + nu))

    (la, ma), (lb, mb) = lam_mu(A), lam_mu(B)
    # sigma_xx = (l + 2m) e + l e_zz - (3 l + 2m) alpha dT ;  sigma_zz = l e + (l + 2m) e_zz - (3 l + 2m) alpha dT
    ta, tb = (3 * la + 2 * ma) * A["alpha"] * dT, (3 * lb + 2 * mb) * B["alpha"] * dT
    M = np.array([[wa * (la + 2 * ma), -wb * (lb + 2 * mb), wa * la - wb * lb],
                  [LA, LB, 0.0],
                  [wa * LA * la, wb * LB * lb, wa * LA * (la + 2 * ma) + wb * LB * (lb + 2 * mb)]])
    rhs = np.array([wa * ta - wb * tb, 0.0, wa * LA * ta + wb * LB * tb])
    ea, eb, ezz = np.linalg.solve(M, rhs)
    sxa = (la + 2 * ma) * ea + la * ezz - ta
    sxb = (lb + 2 * mb) * eb + lb * ezz - tb
    sza = la * ea + (la + 2 * ma) * ezz - ta
    szb = lb * eb + (lb + 2 * mb) * ezz - tb
    return ea, eb, ezz, sxa, sxb, sza, szb


@pytest.mark.parametrize("kind", ["quad", "tri"])
@pytest.mark.parametrize("wa,wb", [(0.677, 1.0), (1.0, 0.3), (2.5, 0.8)])
def test_series_bar_closed_form(kind, wa, wb):
    """(a): e_zz, the strains and stresses of both regions equal the closed form in the widths (round-off); the
    interface carries the same force per unit depth (w_a sigma_a = w_b sigma_b), so the narrower region's stress
    is the larger by w_b / w_a -- the width weighting of stiffness, internal force, GPS balance and thermal load
    at once."""
    disc, f = _solve((("a", wa), ("b", wb)), kind)
    ea, eb, ezz, sxa, sxb, sza, szb = _closed_form(wa, wb)
    assert f.ezz == pytest.approx(ezz, rel=ROUNDOFF)
    for name, sx, sz in (("a", sxa, sza), ("b", sxb, szb)):
        sig = f.states[name]["stress"]
        np.testing.assert_allclose(sig[0], sx, rtol=ROUNDOFF)
        np.testing.assert_allclose(sig[2], sz, rtol=ROUNDOFF)
    assert wa * sxa == pytest.approx(wb * sxb, rel=1e-12)
    # u_x at the interface = L_a e_a
    u = f.u.reshape(-1, 2)
    at = np.flatnonzero(np.isclose(disc.dof_x[0], LA))
    np.testing.assert_allclose(u[at, 0], LA * ea, rtol=ROUNDOFF)
    # the weighting matters: without widths the answer differs (by far more than round-off)
    if (wa, wb) != (1.0, 1.0):
        _, f1 = _solve((), kind)
        assert abs(f1.ezz - ezz) > 1e-3 * abs(ezz)


def test_unit_widths_are_bit_identical():
    """(b): widths 1 for every region give the same displacements, e_zz and stresses as no widths, bit for bit;
    one width (0.4) for every region leaves the displacement field and e_zz unchanged (round-off: a thermal load
    with no external force is independent of a uniform depth) and scales the volumes by 0.4."""
    d0, f0 = _solve(())
    d1, f1 = _solve((("a", 1.0), ("b", 1.0)))
    assert np.array_equal(f0.u, f1.u) and f0.ezz == f1.ezz
    for n in ("a", "b"):
        assert np.array_equal(f0.states[n]["stress"], f1.states[n]["stress"])
    d2, f2 = _solve((("a", 0.4), ("b", 0.4)))
    np.testing.assert_allclose(f2.u, f0.u, rtol=0, atol=ROUNDOFF * np.abs(f0.u).max())
    assert f2.ezz == pytest.approx(f0.ezz, rel=ROUNDOFF)
    assert sum(o.volume for o in d2.ops) == pytest.approx(0.4 * sum(o.volume for o in d0.ops), rel=1e-14)


def test_widths_bad_input():
    """A width on a region the mesh lacks, a non-positive width, or widths in an axisymmetric model: InputError
    naming the key."""
    with pytest.raises(InputError, match="widths"):
        _solve((("c", 0.5),))
    with pytest.raises(InputError, match="widths.a"):
        _solve((("a", 0.0),))
    with pytest.raises(InputError, match="widths"):
        _solve((("a", 0.5),), formulation="axisymmetric")


def test_equivalent_width_of_the_flagship_joint():
    """(c): the flagship's polymer-defined flat joint (pitch 0.4 mm, wetted diameter 0.2 mm, 0.25 mm ball):
    w = (sqrt 2 / p) int dy / (2 r) / int dy / (pi r^2) over its solder cap, here by 20,000-point midpoint
    quadrature of the cap profile r(y) = sqrt(R^2 - (y - yc)^2) (relative error ~1e-8 for this smooth integrand:
    tolerance 1e-6); the value 0.6770 (the unit slice's ridges carry 1/w = 1.48 times the array's shear section)
    and, for a straight column, pi sqrt(2) d / (4 p)."""
    g = Geometry(pitch=0.4, array_size=8)
    d = Design.from_dict({"name": "flat", "kind": "flat", "pad_edge": "polymer", "pi2_opening": 0.2})
    j, _ = joints_for(g, d, MeshSizes(size_fine=0.008), "slice2d")
    n = 20000
    y = j.y_b + (np.arange(n) + 0.5) * (j.y_t - j.y_b) / n
    r = np.sqrt(j.R ** 2 - (y - j.yc) ** 2)
    assert r[0] == pytest.approx(j.a_b, rel=1e-3) and r[-1] == pytest.approx(j.a_t, rel=1e-3)
    w_quad = math.sqrt(2) / g.pitch * np.mean(1 / (2 * r)) / np.mean(1 / (math.pi * r ** 2))
    w = equivalent_joint_width(g.pitch, j.R, j.yc, j.y_b, j.y_t)
    assert w == pytest.approx(w_quad, rel=1e-6)
    assert w == pytest.approx(0.6770, abs=5e-5)
    # a nearly straight column (a thin slab at the equator of a large sphere): the section-area value
    R = 10.0
    assert equivalent_joint_width(0.4, R, 0.0, -1e-3, 1e-3) == pytest.approx(math.pi * math.sqrt(2) * 2 * R
                                                                             / (4 * 0.4), rel=1e-6)


def _study(model: dict, load: dict | None = None) -> dict:
    return {"study": {"name": "w"}, "model": model,
            "designs": [{"name": "flat", "kind": "flat", "pad_edge": "polymer", "pi2_opening": 0.2}],
            "load": {"stress_free_temperature": 217.0, "profile": "JESD22-A104-G", "cycles": 1, **(load or {})}}


@pytest.mark.parametrize("model,load", [
    ({"kind": "slice2d", "slice_width": "wide"}, None),
    ({"kind": "slice2d", "slice_width": 0.5}, None),
    ({"kind": "axisym", "slice_width": "equivalent"}, None),
    ({"kind": "slice2d", "slice_width": "equivalent"}, {"process": "buildup_then_reflow"}),
])
def test_slice_width_bad_input(model, load):
    with pytest.raises(InputError) as e:
        Study.from_dict(_study(model, load))
    assert e.value.key == "model.slice_width"


def test_slice_width_default_and_equivalent_model(tmp_path):
    """The default is "unit" (no widths: the model is the one without them); "equivalent" gives every joint-row
    region present in the mesh the flagship joint's width and leaves die, build-up and board at 1."""
    from fem_wlp.fe.mesh import load as load_mesh
    from fem_wlp.workflows.case import build_case_model, slice_widths
    from fem_wlp.wlcsp.geometry import build_mesh
    s0 = Study.from_dict(_study({"kind": "slice2d"}))
    assert s0.model.slice_width == "unit" and slice_widths(s0) == ((), None)
    s1 = Study.from_dict({**_study({"kind": "slice2d", "slice_width": "equivalent"}),
                          "geometry": {"array_size": 2, "die_size": 1.0, "board_extension": 0.3},
                          "mesh": {"size_fine": 0.016, "size_coarse": 0.2}})
    res = build_mesh(s1.geometry, s1.designs[0], "slice2d", s1.mesh, tmp_path)
    model, _ = build_case_model(s1, res.msh)
    rec = slice_widths(s1, load_mesh(res.msh))[1]
    assert [r for r, _ in model.widths] == ["solder", "cu_wiring", "board_pad"] == rec["regions"]
    w = model.element_widths()
    fm = model.mesh
    assert np.all(w[fm.region("solder")] == rec["width"]) and np.all(w[fm.region("die")] == 1.0)
    assert np.all(w[fm.region("board")] == 1.0) and np.all(w[fm.region("pi2")] == 1.0)
    assert 0.6 < rec["width"] < 0.75


@pytest.mark.parametrize("order", [1, 2])
def test_contact_weight_is_the_narrower_sides_width(order):
    """An unbonded interface between a block of width w_b = 0.5 (a ridge) pushed onto a foundation of width 1 (the
    pushed-block problem of test_contact.py, plane strain, frictionless): the force per unit depth is the same
    in both, so the foundation's uniaxial stress is w_b p (uniform, in the FE space), the contact point's area is
    the narrower side's (w_b) and its reported pressure the block's stress p, with
    |delta| = p (c_b + w_b c_f + 1/k), c = (1 - nu^2)/E per unit layer height and k the unit-area penalty
    stiffness (the penalty per unit real area is unchanged by the width). Exact to round-off (1e-9)."""
    import dataclasses

    from test_contact import E_B, E_F, NU_B, NU_F, block, interface_stiffness, last
    from fem_wlp.fe.contact import STATE_KEY
    wb, delta = 0.5, -0.01
    model, _ = block(delta)
    if order == 2:
        model = dataclasses.replace(model, order=2)
    model = dataclasses.replace(model, widths=(("block", wb),))
    f = last(model)
    st = f.states[STATE_KEY]
    cb, cf = (1 - NU_B ** 2) / E_B, (1 - NU_F ** 2) / E_F
    p = -delta / (cb + wb * cf + 1.0 / interface_stiffness())
    assert np.all(st["active"])
    np.testing.assert_allclose(st["pressure"], p, rtol=1e-9)
    np.testing.assert_allclose(f.states["block"]["stress"][1], -p, rtol=1e-9)
    np.testing.assert_allclose(f.states["found"]["stress"][1], -wb * p, rtol=1e-9)
