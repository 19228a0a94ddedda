"""The fast assembler against scikit-fem's generic forms, and its compiled kernels against the numpy references
of tests/reference/assembly.py."""
import numpy as np
import pytest
import skfem
from skfem.models.elasticity import lame_parameters, linear_elasticity

from reference import assembly as ref_asm

from fem_wlp.fe import kernels as _kernels
from fem_wlp.fe.assembly import Assembler
from fem_wlp.fe.kinematics import region_ops, scalar_element
from fem_wlp.materials.base import isotropic_stiffness

E, NU = 120000.0, 0.34


def _mesh(kind):
    if kind == "tri":
        return skfem.MeshTri.init_tensor(np.linspace(0, 1, 5), np.linspace(0, 0.5, 4))
    if kind == "quad":
        return skfem.MeshQuad.init_tensor(np.linspace(0, 1, 5), np.linspace(0, 0.5, 4))
    if kind == "tet":
        return skfem.MeshTet.init_tensor(*(np.linspace(0, 1, 4),) * 3)
    return skfem.MeshHex.init_tensor(*(np.linspace(0, 1, 3),) * 3)


def _skfem_matrix(m, order):
    """scikit-fem's own plane-strain / 3D elasticity matrix, renumbered to fem_wlp's dof order."""
    dim = m.dim()
    el = scalar_element(m, order)
    ib = skfem.Basis(m, skfem.ElementVector(el, dim), intorder=4)
    K = linear_elasticity(*lame_parameters(E, NU)).assemble(ib)
    sb = skfem.Basis(m, el, intorder=4)
    # map: fem_wlp dof s*dim + c  <->  skfem vector dof
    perm = np.empty(ib.N, dtype=np.int64)
    for c in range(dim):
        perm[sb.element_dofs.T.ravel() * dim + c] = ib.element_dofs[c::dim].T.ravel()
    return K[perm][:, perm]


@pytest.mark.parametrize("kind,order", [("tri", 1), ("tri", 2), ("quad", 1), ("quad", 2), ("tet", 1), ("tet", 2),
                                        ("hex", 1)])
def test_stiffness_equals_skfem_generic_form(kind, order):
    m = _mesh(kind)
    form = "3d" if m.dim() == 3 else "plane_strain"
    el = scalar_element(m, order)
    ops = region_ops(m, el, np.arange(m.t.shape[1]), form, intorder=4)
    asm = Assembler(skfem.Basis(m, el, intorder=1).N, 3 if form == "3d" else 2, [ops])
    K, _, _ = asm.matrix([asm.contribution(0, isotropic_stiffness(E, NU))])
    Kref = _skfem_matrix(m, order)
    assert abs(K - Kref).max() <= 1e-10 * abs(Kref).max()


@pytest.mark.parametrize("kind,order,form", [("tri", 2, "plane_strain"), ("tri", 1, "axisymmetric"),
                                             ("quad", 2, "axisymmetric"), ("tet", 1, "3d"), ("tet", 2, "3d")])
def test_compiled_kernels_equal_numpy_reference(kind, order, form):
    m = _mesh(kind)
    nc = 3 if form == "3d" else 2
    el = scalar_element(m, order)
    ops = region_ops(m, el, np.arange(m.t.shape[1]), form, intorder=2)
    n = skfem.Basis(m, el, intorder=1).N
    # two regions (the mesh split in element halves): one pattern, a block map per region
    halves = [ops.sdofs[: len(ops.sdofs) // 2], ops.sdofs[len(ops.sdofs) // 2:]]
    ip, ind, maps = _kernels.block_pattern(halves, n)
    ip0, ind0, maps0 = ref_asm.block_pattern(halves, n)
    assert np.array_equal(ip, ip0) and np.array_equal(ind, ind0)
    assert all(np.array_equal(a, b) for a, b in zip(maps, maps0)) and len(maps) == 2
    ip, ind, maps = _kernels.block_pattern([ops.sdofs], n)
    rng = np.random.default_rng(1)
    A = rng.standard_normal((ops.w.shape[0], ops.w.shape[1], 6, 6))
    Dq = A @ np.swapaxes(A, 2, 3)                          # symmetric per-point tangents
    fast = _kernels.scatter_stiffness(ops.G, ops.hoop, ops.w, Dq, ops.sdofs, maps[0], ip, nc)
    ref = ref_asm.scatter_stiffness(ops.G, ops.hoop, ops.w, Dq, maps[0], ip, nc)
    assert np.allclose(fast, ref, rtol=1e-12, atol=1e-12 * abs(ref).max())
    D0 = Dq[0, 0]                                          # one tangent for the region (zero-stride path)
    ref0 = ref_asm.scatter_stiffness(ops.G, ops.hoop, ops.w, D0, maps[0], ip, nc)
    fast0 = _kernels.scatter_stiffness(ops.G, ops.hoop, ops.w, D0, ops.sdofs, maps[0], ip, nc)
    assert np.allclose(fast0, ref0, rtol=1e-12, atol=1e-12 * abs(ref0).max())
    # the CSR structure and the in-place CSR positions equal scipy's BSR -> CSR conversion of the block data
    import scipy.sparse as sp
    cp, ci = _kernels.csr_structure(ip, ind, nc)
    cp0, ci0 = ref_asm.csr_structure(ip, ind, nc)
    assert np.array_equal(cp, cp0) and np.array_equal(ci, ci0)
    blocks = fast[ref_asm.csr_positions(ip, nc)]                  # (nnzb, nc, nc) block data
    ref_csr = sp.bsr_matrix((blocks, ind, ip), shape=(n * nc, n * nc)).tocsr()
    ref_csr.sort_indices()
    assert np.array_equal(ref_csr.indptr, cp) and np.array_equal(ref_csr.indices, ci)
    assert np.array_equal(ref_csr.data, fast)


def test_region_reassembly_only_changes_that_region():
    m = _mesh("tri").with_subdomains({"a": lambda x: x[0] < 0.5, "b": lambda x: x[0] >= 0.5})
    el = scalar_element(m, 1)
    ops = [region_ops(m, el, m.subdomains[k], "plane_strain", 1, k) for k in ("a", "b")]
    asm = Assembler(m.nvertices, 2, ops)
    Da, Db = isotropic_stiffness(E, NU), isotropic_stiffness(E / 3, NU)
    asm.set_static({0: Da})
    K1, _, _ = asm.matrix([asm.contribution(1, Db)])
    full = Assembler(m.nvertices, 2, ops)
    K2, _, _ = full.matrix([full.contribution(0, Da), full.contribution(1, Db)])
    assert abs(K1 - K2).max() <= 1e-12 * abs(K2).max()


@pytest.mark.parametrize("mesh,order,form", [
    (skfem.MeshTri, 1, "plane_strain"), (skfem.MeshTri, 2, "plane_strain"), (skfem.MeshTri2, 2, "plane_strain"),
    (skfem.MeshTri, 2, "axisymmetric"), (skfem.MeshTri2, 2, "axisymmetric"), (skfem.MeshQuad, 2, "plane_strain"),
    (skfem.MeshTet, 1, "3d"), (skfem.MeshTet, 2, "3d"), (skfem.MeshTet2, 2, "3d"), (skfem.MeshHex, 1, "3d")])
def test_default_quadrature_has_positive_weights(mesh, order, form):
    """Every default rule (and a requested degree 3, raised by positive_degree) has only positive weights."""
    from fem_wlp.fe.kinematics import default_intorder, positive_degree

    m = mesh()
    q = default_intorder(m, order, form)
    assert np.all(skfem.quadrature.get_quadrature(m.refdom, q)[1] > 0)
    assert np.all(skfem.quadrature.get_quadrature(m.refdom, positive_degree(m, 3))[1] > 0)


@pytest.mark.parametrize("kind", ["tri", "tet"])
def test_pointwise_tangent_assembles_positive_definite(kind):
    """A tangent that is positive definite at every point but varies between the points of an element (a creeping
    region: stiff at one point, soft at the others) assembles to a positive-definite stiffness with the default
    rules of quadratic elements (all weights positive). With scikit-fem's degree-3 rule, whose centroid weight is
    negative, the same tangents give negative eigenvalues -- the failure found in the quadratic package submodel
    (session 8), shown here so that the test fails if a negative-weight rule comes back as the default."""
    from fem_wlp.fe.kinematics import default_intorder

    m = _mesh(kind)
    form = "3d" if kind == "tet" else "plane_strain"
    nc = 3 if form == "3d" else 2
    el = scalar_element(m, 2)
    n = skfem.Basis(m, el, intorder=1).N

    def lowest_eigenvalue(q):
        ops = region_ops(m, el, np.arange(m.t.shape[1]), form, intorder=q)
        W = skfem.quadrature.get_quadrature(m.refdom, q)[1]
        soft = np.where(W == W.min(), 1.0, 1e-4)            # the smallest-weight point stiff, the others soft
        Dq = np.broadcast_to(isotropic_stiffness(E, NU) * soft[None, :, None, None],
                             ops.w.shape + (6, 6)).copy()
        asm = Assembler(n, nc, [ops])
        K, _, _ = asm.matrix([asm.contribution(0, np.moveaxis(Dq, (0, 1), (2, 3)).reshape(6, 6, -1))])
        fixed = np.flatnonzero(np.isclose(m.p[0], 0.0))      # clamped at x = 0: no rigid-body modes
        free = np.setdiff1d(np.arange(n * nc), (fixed[:, None] * nc + np.arange(nc)).ravel())
        Kd = K[free][:, free].toarray()
        return np.linalg.eigvalsh(Kd)[0] / np.abs(Kd).max()

    assert lowest_eigenvalue(default_intorder(m, 2, form)) > 0
    assert lowest_eigenvalue(3) < 0                          # scikit-fem's degree-3 rule (negative centroid weight)
