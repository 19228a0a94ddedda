"""Strain-displacement operators: the closed form for affine P1 simplices equals scikit-fem's Basis path, the
factored operator (gradients) applies exactly as the dense B, and the dof helpers equal scikit-fem's numbering."""
import numpy as np
import pytest
import skfem

from reference.kinematics import region_b

from fem_wlp.fe.kinematics import bt, facet_dofs, region_ops, scalar_dofs, scalar_element, strain


def _random_mesh(kind, seed=0):
    """Perturbed structured mesh with a random vertex order per element (mixed orientation), x in [0.5, 1.5]."""
    rng = np.random.default_rng(seed)
    if kind == "tri":
        m = skfem.MeshTri.init_tensor(np.linspace(0.5, 1.5, 7), np.linspace(0, 0.8, 5))
    else:
        m = skfem.MeshTet.init_tensor(*(np.linspace(0.5, 1.5, 5),) * 3)
    h = 0.2 * (1.0 / 6 if kind == "tri" else 1.0 / 4)
    p = m.p + rng.uniform(-h, h, m.p.shape)
    t = np.array([rng.permutation(col) for col in m.t.T]).T
    return type(m)(p, t)


CASES = [("tri", f, q) for f in ("plane_strain", "generalized_plane_strain", "axisymmetric") for q in (1, 2, 3, 4)]
CASES += [("tet", "3d", q) for q in (1, 2, 3, 4)]


@pytest.mark.parametrize("kind,form,intorder", CASES)
def test_closed_form_p1_equals_skfem_basis(kind, form, intorder):
    m = _random_mesh(kind, seed=intorder)
    el = scalar_element(m, 1)
    rng = np.random.default_rng(7)
    elements = np.sort(rng.choice(m.t.shape[1], size=m.t.shape[1] // 2, replace=False))
    fast = region_ops(m, el, elements, form, intorder)
    ref = region_ops(m, el, elements, form, intorder, closed_form=False)
    for name in ("G", "w", "x", "hoop", "B"):
        a, b = (region_b(fast), region_b(ref)) if name == "B" else (getattr(fast, name), getattr(ref, name))
        if b is None:
            assert a is None
            continue
        assert a.shape == b.shape, name
        assert np.abs(a - b).max() <= 1e-12 * np.abs(b).max(), name
    assert np.array_equal(fast.sdofs, ref.sdofs) and np.array_equal(fast.vdofs, ref.vdofs)
    assert np.array_equal(fast.elements, ref.elements)


@pytest.mark.parametrize("kind,order,form", [("tri", 1, "axisymmetric"), ("tri", 2, "plane_strain"),
                                             ("quad", 2, "axisymmetric"), ("tet", 1, "3d"), ("tet", 2, "3d"),
                                             ("hex", 1, "3d")])
def test_factored_operator_applies_as_dense_B(kind, order, form):
    """strain = B u and bt = int B^T s with the dense B (einsum reference)."""
    m = {"tri": _random_mesh("tri"), "tet": _random_mesh("tet"),
         "quad": skfem.MeshQuad.init_tensor(np.linspace(0.5, 1.5, 4), np.linspace(0, 1, 3)),
         "hex": skfem.MeshHex.init_tensor(*(np.linspace(0.5, 1.5, 3),) * 3)}[kind]
    el = scalar_element(m, order)
    ops = region_ops(m, el, np.arange(m.t.shape[1]), form, intorder=3)
    n, _, _ = scalar_dofs(m, el)
    rng = np.random.default_rng(3)
    u = rng.standard_normal(n * ops.nc)
    B = region_b(ops)
    eps_ref = np.einsum("eqij,ej->ieq", B, u[ops.vdofs]).reshape(6, -1)
    assert np.abs(strain(ops, u) - eps_ref).max() <= 1e-12 * np.abs(eps_ref).max()
    s = rng.standard_normal((6,) + ops.w.shape)
    fe_ref = np.einsum("eqij,ieq,eq->ej", B, s, ops.w)
    assert np.abs(bt(ops, s) - fe_ref).max() <= 1e-12 * np.abs(fe_ref).max()
    s1 = rng.standard_normal(6)
    fe1 = np.einsum("eqij,i,eq->ej", B, s1, ops.w)
    assert np.abs(bt(ops, s1) - fe1).max() <= 1e-12 * np.abs(fe1).max()


@pytest.mark.parametrize("cls,order", [(skfem.MeshTri, 1), (skfem.MeshTri, 2), (skfem.MeshQuad, 1),
                                       (skfem.MeshTet, 1), (skfem.MeshTet, 2), (skfem.MeshHex, 1)])
def test_dof_helpers_equal_skfem_basis(cls, order):
    m = cls.init_tensor(*(np.linspace(0, 1, 4),) * (3 if cls in (skfem.MeshTet, skfem.MeshHex) else 2))
    m = m.with_boundaries({"bottom": lambda x: np.isclose(x[-1], 0.0)})
    el = scalar_element(m, order)
    sb = skfem.Basis(m, el, intorder=1)
    n, x, basis = scalar_dofs(m, el)
    assert n == sb.N and np.array_equal(x, sb.doflocs)
    assert (basis is None) == (order == 1)
    ref = np.unique(sb.get_dofs(facets=m.boundaries["bottom"]).flatten())
    assert np.array_equal(facet_dofs(m, m.boundaries["bottom"], basis), ref)


@pytest.mark.parametrize("kind", ["tri", "tet", "quad", "hex", "tri2"])
def test_mesh_facets_equal_skfem_build_entities(kind):
    from fem_wlp.fe.mesh import mesh_facets

    m = {"tri": _random_mesh("tri", 5), "tet": _random_mesh("tet", 5),
         "quad": skfem.MeshQuad.init_tensor(np.linspace(0, 1, 5), np.linspace(0, 1, 4)),
         "hex": skfem.MeshHex.init_tensor(*(np.linspace(0, 1, 4),) * 3),
         "tri2": skfem.MeshTri2.init_circle(2)}[kind]
    ref = type(m)(m.doflocs, m.t)                 # same mesh, entities built by scikit-fem itself
    f = mesh_facets(m)
    assert np.array_equal(f, ref.facets) and f.dtype == ref.facets.dtype
    assert np.array_equal(m.t2f, ref.t2f) and np.array_equal(m.f2t, ref.f2t)
    assert np.array_equal(m.boundary_facets(), ref.boundary_facets())
