"""Strain-displacement operators per formulation, evaluated once at the quadrature points.

Strain is a Mandel 6-vector (xx, yy, zz, xy, xz, yz), sqrt(2) on shears (see materials/base.py), in mesh axes:

- "3d":                        u = (ux, uy, uz)
- "plane_strain":              u = (ux, uy);  eps_zz = 0
- "generalized_plane_strain":  u = (ux, uy) + one global unknown e_zz (uniform out-of-plane strain) whose
                               equation is zero net out-of-plane force  int sigma_zz dA = 0
- "axisymmetric":              x = r, y = z (axial), z = hoop;  u = (u_r, u_z);  eps_hoop = u_r / r;
                               volume weight 2 pi r

Planar 2D models have unit out-of-plane depth unless elements are given an out-of-plane width (thickness) t_e
(fe.problem.Model.widths): then the volume weight of element e is t_e |J| w_q, so that every integral built from
the weights (stiffness, internal force, the GPS border and resultant, thermal load, averages) is the integral
over a body of depth t_e there.

For each region, B (nel, nqp, 6, nloc) has local dof order (node i, component c) -> i*ncomp + c, and the global
vector dof of (scalar dof s, component c) is s*ncomp + c; it is kept in factored form (basis-function gradients,
see RegionOps) and applied by `strain` (B u) and `bt` (B^T s). The extra GPS unknown is not in B: its
strain mode is the constant vector E_ZZ (its column of B), handled by the assembler as a bordered system.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import skfem

from fem_wlp.errors import InputError
from fem_wlp.fe.kernels import B_ENTRIES, apply_b, apply_bt
from fem_wlp.fe.mesh import mesh_facets

FORMULATIONS = ("plane_strain", "generalized_plane_strain", "axisymmetric", "3d")
#: strain mode of the generalized-plane-strain unknown
E_ZZ = np.array([0.0, 0.0, 1.0, 0.0, 0.0, 0.0])

_ELEMENTS = {
    ("MeshTri1", 1): skfem.ElementTriP1, ("MeshTri1", 2): skfem.ElementTriP2,
    ("MeshTri2", 2): skfem.ElementTriP2, ("MeshTri2", 1): skfem.ElementTriP1,
    ("MeshQuad1", 1): skfem.ElementQuad1, ("MeshQuad1", 2): skfem.ElementQuad2,
    ("MeshQuad2", 2): skfem.ElementQuad2, ("MeshQuad2", 1): skfem.ElementQuad1,
    ("MeshTet1", 1): skfem.ElementTetP1, ("MeshTet1", 2): skfem.ElementTetP2,
    ("MeshTet2", 2): skfem.ElementTetP2, ("MeshTet2", 1): skfem.ElementTetP1,
    ("MeshHex1", 1): skfem.ElementHex1, ("MeshHex1", 2): skfem.ElementHex2,
    ("MeshHex2", 2): skfem.ElementHex2, ("MeshHex2", 1): skfem.ElementHex1,
}

# default quadrature order: exact stiffness for straight-sided elements with constant material; the
# axisymmetric 1/r terms and curved (quadratic-geometry) elements get one order more (default_intorder).
_INTORDER = {("MeshTri", 1): 1, ("MeshTri", 2): 2, ("MeshQuad", 1): 2, ("MeshQuad", 2): 4,
             ("MeshTet", 1): 1, ("MeshTet", 2): 2, ("MeshHex", 1): 2, ("MeshHex", 2): 4}


def mesh_kind(mesh) -> str:
    name = type(mesh).__name__
    return name if name[-1].isdigit() else name + "1"


def scalar_element(mesh, order: int):
    key = (mesh_kind(mesh), order)
    if key not in _ELEMENTS:
        raise InputError("model.order", order, "1 or 2")
    return _ELEMENTS[key]()


def default_intorder(mesh, order: int, formulation: str) -> int:
    """The default quadrature degree (_INTORDER, one more for the axisymmetric 1/r terms and for curved elements,
    except curved quadratic tetrahedra), raised to the lowest degree whose rule has only positive weights
    (positive_degree). Curved P2 tetrahedra keep degree 2, the 4-point rule that CalculiX and Abaqus integrate
    their C3D10 with: degree 3 is the 5-point rule with a negative centroid weight, and the next rule with positive
    weights, degree 5, has 14 points (2.8x the material updates)."""
    kind = mesh_kind(mesh)
    q = _INTORDER[(kind[:-1], order)]
    if formulation == "axisymmetric":
        q += 1
    if kind.endswith("2") and kind != "MeshTet2":           # curved geometry
        q += 1
    return positive_degree(mesh, q)


def positive_degree(mesh, q: int) -> int:
    """The lowest quadrature degree >= q whose rule on the mesh's reference element has only positive weights
    (scikit-fem's triangle rule of degree 3 and tetrahedron rules of degree 3 and 4 have a negative one).

    Why: with a material tangent that varies between the points of an element (creep, plasticity), a point of
    negative weight adds negative stiffness, and the assembled tangent becomes indefinite once that point is
    stiffer than the others -- measured (session 8) on the quadratic package submodel: two negative eigenvalues
    (-1.3 and -7.8 against a largest diagonal entry of 2.3e5), the energy of their modes negative at the centroid
    points of the copper wiring and the solder, so Cholesky failed and Newton slowed down; a negative weight also
    subtracts the point's inelastic work from volume averages."""
    for d in range(q, q + 6):
        if np.all(skfem.quadrature.get_quadrature(mesh.refdom, d)[1] > 0):
            return d
    return q


def ncomp(formulation: str) -> int:
    return 3 if formulation == "3d" else 2


@dataclass
class RegionOps:
    """Quadrature-point operators of one region (computed once per mesh).

    The strain-displacement operator is stored through its factors, not as a dense B: the physical gradients G of
    the scalar basis functions (and, axisymmetric, the hoop factors N_i / r). B has the fixed sparsity pattern
    `kernels.B_ENTRIES` (each nonzero is +-G or G/sqrt(2)), so the dense (nel, nqp, 6, nloc) array, 6x larger, is
    never formed (tests/reference/kinematics.py builds it to check the compiled operators)."""

    name: str
    elements: np.ndarray      # (nel,) element indices in the mesh
    G: np.ndarray             # (nel, nqp, dim, nl) gradients of the scalar basis functions
    w: np.ndarray             # (nel, nqp) integration weights incl. Jacobian (and 2 pi r, or the out-of-plane
                              # width of a planar 2D element: region_ops `width`)
    sdofs: np.ndarray         # (nel, nl) scalar dofs
    vdofs: np.ndarray         # (nel, nloc) vector dofs
    x: np.ndarray             # (dim, nel, nqp) quadrature point coordinates
    hoop: np.ndarray | None = None   # (nel, nqp, nl) N_i / r (axisymmetric hoop strain u_r / r), else None

    @property
    def npoints(self) -> int:
        return self.w.size

    @property
    def volume(self) -> float:
        return float(self.w.sum())

    @property
    def nc(self) -> int:
        return self.vdofs.shape[1] // self.sdofs.shape[1]


def _is_p1_simplex(mesh, elem) -> bool:
    """Affine simplex mesh with the linear element: constant gradients, closed-form geometry."""
    return (mesh_kind(mesh), type(elem).__name__) in (("MeshTri1", "ElementTriP1"), ("MeshTet1", "ElementTetP1"))


def _quadrature(mesh, elem, formulation: str, intorder: int):
    if (mesh_kind(mesh) == "MeshTri1" and type(elem).__name__ == "ElementTriP1" and intorder <= 1
            and formulation != "axisymmetric"):
        # scikit-fem's lowest triangle rule has 3 points; a P1 triangle has constant strain, so with
        # element-constant material the centroid rule is exact and its states evolve identically: 1 point
        return np.array([[1.0 / 3.0], [1.0 / 3.0]]), np.array([0.5])
    return skfem.quadrature.get_quadrature(mesh.refdom, intorder)


def _p1_simplex_geometry(mesh, elements, X, W):
    """Closed form for affine P1 simplices (what scikit-fem's MappingAffine + ElementTri/TetP1 compute):
    x = p0 + A X with A[:, j] = p_{j+1} - p0; grad N_0 = -sum_k row_k(A^-1), grad N_i = row_{i-1}(A^-1)."""
    dim = mesh.dim()
    P = mesh.p[:, mesh.t[:, elements]]                       # (dim, dim+1, nel)
    p0 = P[:, 0]
    A = P[:, 1:] - p0[:, None]                               # (dim, dim, nel)
    if dim == 2:
        det = A[0, 0] * A[1, 1] - A[0, 1] * A[1, 0]
        inv = np.array([[A[1, 1], -A[0, 1]], [-A[1, 0], A[0, 0]]])
    else:
        cof = np.empty_like(A)                               # cofactors: inv = cof^T / det
        for i in range(3):
            for j in range(3):
                i1, i2, j1, j2 = (i + 1) % 3, (i + 2) % 3, (j + 1) % 3, (j + 2) % 3
                cof[i, j] = A[i1, j1] * A[i2, j2] - A[i1, j2] * A[i2, j1]
        det = A[0, 0] * cof[0, 0] + A[0, 1] * cof[0, 1] + A[0, 2] * cof[0, 2]
        inv = cof.transpose(1, 0, 2)
    inv = inv / det                                          # (dim, dim, nel): inv[k, d] = (A^-1)[k, d]
    g = np.empty((elements.size, dim, dim + 1))              # (nel, d, i)
    g[:, :, 1:] = inv.transpose(2, 1, 0)
    g[:, :, 0] = -g[:, :, 1:].sum(axis=2)
    nqp = W.size
    G = np.ascontiguousarray(np.broadcast_to(g[:, None], (elements.size, nqp, dim, dim + 1)))
    w = np.abs(det)[:, None] * W[None, :]
    x = p0[:, :, None] + np.einsum("dke,kq->deq", A, X)
    phi = np.vstack([1.0 - X.sum(axis=0), X])                # (nl, nqp) barycentric values
    return G, w, x, phi.T[None]                              # phi: (1, nqp, nl), broadcast over elements


def _skfem_geometry(mesh, elem, elements, X, W):
    """Gradients, weights, points and basis values through scikit-fem's Basis (any element and mapping)."""
    sb = skfem.Basis(mesh, elem, elements=elements, quadrature=(X, W))
    nl = sb.Nbfun
    nel, nqp = sb.dx.shape
    G = np.empty((nel, nqp, mesh.dim(), nl))
    phi = np.empty((nel, nqp, nl))
    for i in range(nl):
        b = sb.basis[i][0]
        G[:, :, :, i] = np.moveaxis(np.asarray(b.grad), 0, -1)
        phi[:, :, i] = np.asarray(b)
    return G, np.asarray(sb.dx).copy(), np.array(sb.global_coordinates(), copy=True), phi, sb.element_dofs


def region_ops(mesh, elem, elements: np.ndarray, formulation: str, intorder: int, name: str = "",
               closed_form: bool = True, width: np.ndarray | None = None) -> RegionOps:
    """Build gradients, weights and dof maps for `elements` of `mesh` with scalar element `elem`.

    `width` (nel,): out-of-plane width of each element of a planar 2D model (multiplies its weights); None: unit
    depth (no multiplication, so the weights are bit-identical to a model without widths).

    Affine P1 simplices take a closed form (vectorized numpy, no scikit-fem Basis) unless `closed_form` is False;
    the result is the same to rounding (tests/test_kinematics.py)."""
    if formulation not in FORMULATIONS:
        raise InputError("model.formulation", formulation, ", ".join(FORMULATIONS))
    dim = mesh.dim()
    if (formulation == "3d") != (dim == 3):
        raise InputError("model.formulation", formulation,
                         "3d for 3D meshes; plane_strain, generalized_plane_strain or axisymmetric for 2D meshes")
    elements = np.asarray(elements, dtype=np.int64)
    X, W = _quadrature(mesh, elem, formulation, intorder)
    if closed_form and _is_p1_simplex(mesh, elem):
        G, w, x, phi = _p1_simplex_geometry(mesh, elements, X, W)
        edofs = mesh.t[:, elements]
    else:
        G, w, x, phi, edofs = _skfem_geometry(mesh, elem, elements, X, W)
    nc = ncomp(formulation)
    hoop = None
    if formulation == "axisymmetric":
        r = x[0]
        if np.any(r <= 0):
            raise InputError("model.formulation", formulation, "a mesh with r = x >= 0 (axis at x = 0)")
        w = w * (2.0 * np.pi * r)
        hoop = phi / r[:, :, None]
    if width is not None:
        if formulation not in ("plane_strain", "generalized_plane_strain"):
            raise InputError("widths", formulation, "plane_strain or generalized_plane_strain")
        width = np.asarray(width, float)
        if width.shape != (elements.size,):
            raise ValueError(f"width: one value per element expected, got shape {width.shape} for {elements.size}")
        w = w * width[:, None]
    nel, nl = elements.size, G.shape[3]
    sdofs = np.ascontiguousarray(edofs.T, dtype=np.int64)
    vdofs = (sdofs[:, :, None] * nc + np.arange(nc)).reshape(nel, nl * nc)
    return RegionOps(name, elements, G, w, sdofs, vdofs, x, hoop)


def scalar_dofs(mesh, elem):
    """(number of scalar dofs, dof coordinates (dim, N), scikit-fem Basis or None).

    Elements with one dof per vertex and no others (P1, Q1) number their dofs as the mesh vertices: no Basis is
    built. Other elements build one scikit-fem Basis (its dof numbering is the one region_ops uses)."""
    if (elem.nodal_dofs == 1 and elem.facet_dofs == 0 and elem.edge_dofs == 0 and elem.interior_dofs == 0
            and mesh.t.shape[0] == len(elem.doflocs)):
        return mesh.nvertices, mesh.p[:, : mesh.nvertices], None
    sb = skfem.Basis(mesh, elem, intorder=1)
    return sb.N, sb.doflocs, sb


def facet_dofs(mesh, facets: np.ndarray, basis=None) -> np.ndarray:
    """Sorted scalar dofs on `facets`: their vertices for vertex-only elements (basis None, see scalar_dofs),
    otherwise every dof of the facets (vertices, edges, faces) from scikit-fem."""
    if basis is None:
        return np.unique(mesh_facets(mesh)[:, facets])
    return np.unique(basis.get_dofs(facets=facets).flatten())


def strain(ops: RegionOps, u: np.ndarray, ezz: float = 0.0) -> np.ndarray:
    """Mandel strain (6, N) at the region's quadrature points from the global displacement vector (B u)."""
    eps = apply_b(ops.G, ops.hoop, ops.vdofs, u, ops.nc)
    if ezz:
        eps[2] += ezz
    return eps.reshape(6, -1)


def bt(ops: RegionOps, s: np.ndarray) -> np.ndarray:
    """Element vectors (nel, nloc) of int B^T s dV for a Mandel field s: (6, nel, nqp) or one (6,) vector."""
    nel, nqp, dim, nl = ops.G.shape
    nc = ops.nc
    s = np.asarray(s, float)
    if s.ndim > 1:
        return apply_bt(ops.G, ops.hoop, ops.w, s.reshape(6, nel, nqp), nc)
    # one stress for the region: f_{i,c} = sum_d T_cd int G_di dV
    T = np.zeros((nc, dim))
    for I, c, d, f in B_ENTRIES[nc]:
        T[c, d] += s[I] * f
    fe = (np.einsum("eqdi,eq->eid", ops.G, ops.w).reshape(-1, dim) @ T.T).reshape(nel, nl, nc)
    if ops.hoop is not None:
        fe[:, :, 0] += s[2] * np.einsum("eqi,eq->ei", ops.hoop, ops.w)
    return fe.reshape(nel, nl * nc)
