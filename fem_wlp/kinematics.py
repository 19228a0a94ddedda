"""Strain-displacement operators per formulation, evaluated once at the quadrature points.

Strain is a Mandel 6-vector (xx, yy, zz, xy, xz, yz), sqrt(2) on shears (see materials/base.py), in mesh axes:

- "3d":                        u = (ux, uy, uz)
- "plane_strain":              u = (ux, uy);  eps_zz = 0
- "generalized_plane_strain":  u = (ux, uy) + one global unknown e_zz (uniform out-of-plane strain) whose
                               equation is zero net out-of-plane force  int sigma_zz dA = 0
- "axisymmetric":              x = r, y = z (axial), z = hoop;  u = (u_r, u_z);  eps_hoop = u_r / r;
                               volume weight 2 pi r

For each region, B has shape (nel, nqp, 6, nloc) with local dof order (node i, component c) -> i*ncomp + c, and
the global vector dof of (scalar dof s, component c) is s*ncomp + c. The extra GPS unknown is not in B: its
strain mode is the constant vector E_ZZ (its column of B), handled by the assembler as a bordered system.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import skfem

from .errors import InputError

FORMULATIONS = ("plane_strain", "generalized_plane_strain", "axisymmetric", "3d")
SQ2 = np.sqrt(2.0)
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
# axisymmetric 1/r terms and curved (quadratic-geometry) elements get one order more.
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
    kind = mesh_kind(mesh)
    q = _INTORDER[(kind[:-1], order)]
    if formulation == "axisymmetric":
        q += 1
    if kind.endswith("2"):           # curved geometry
        q += 1
    return q


def ncomp(formulation: str) -> int:
    return 3 if formulation == "3d" else 2


@dataclass
class RegionOps:
    """Quadrature-point operators of one region (computed once per mesh)."""

    name: str
    elements: np.ndarray      # (nel,) element indices in the mesh
    B: np.ndarray             # (nel, nqp, 6, nloc)
    w: np.ndarray             # (nel, nqp) integration weights incl. Jacobian (and 2 pi r)
    sdofs: np.ndarray         # (nel, nl) scalar dofs
    vdofs: np.ndarray         # (nel, nloc) vector dofs
    x: np.ndarray             # (dim, nel, nqp) quadrature point coordinates

    @property
    def npoints(self) -> int:
        return self.w.size

    @property
    def volume(self) -> float:
        return float(self.w.sum())


def region_ops(mesh, elem, elements: np.ndarray, formulation: str, intorder: int, name: str = "") -> RegionOps:
    """Build B, weights and dof maps for `elements` of `mesh` with scalar element `elem`."""
    if formulation not in FORMULATIONS:
        raise InputError("model.formulation", formulation, ", ".join(FORMULATIONS))
    dim = mesh.dim()
    if (formulation == "3d") != (dim == 3):
        raise InputError("model.formulation", formulation,
                         "3d for 3D meshes; plane_strain, generalized_plane_strain or axisymmetric for 2D meshes")
    quad = {}
    if (mesh_kind(mesh) == "MeshTri1" and type(elem).__name__ == "ElementTriP1" and intorder <= 1
            and formulation != "axisymmetric"):
        # scikit-fem's lowest triangle rule has 3 points; a P1 triangle has constant strain, so with
        # element-constant material the centroid rule is exact and its states evolve identically: 1 point
        quad = {"quadrature": (np.array([[1.0 / 3.0], [1.0 / 3.0]]), np.array([0.5]))}
    sb = skfem.Basis(mesh, elem, intorder=intorder, elements=elements, **quad) if quad else \
        skfem.Basis(mesh, elem, intorder=intorder, elements=elements)
    nl = sb.Nbfun
    nel, nqp = sb.dx.shape
    nc = ncomp(formulation)
    B = np.zeros((nel, nqp, 6, nl * nc))
    x = np.array(sb.global_coordinates(), copy=True)     # (dim, nel, nqp)
    w = np.asarray(sb.dx).copy()
    if formulation == "axisymmetric":
        r = x[0]
        if np.any(r <= 0):
            raise InputError("model.formulation", formulation, "a mesh with r = x >= 0 (axis at x = 0)")
        w *= 2.0 * np.pi * r
    for i in range(nl):
        phi = sb.basis[i][0]
        g = np.asarray(phi.grad)                       # (dim, nel, nqp)
        cx, cy = i * nc, i * nc + 1
        B[:, :, 0, cx] = g[0]
        B[:, :, 1, cy] = g[1]
        B[:, :, 3, cx] = g[1] / SQ2
        B[:, :, 3, cy] = g[0] / SQ2
        if nc == 3:
            cz = i * nc + 2
            B[:, :, 2, cz] = g[2]
            B[:, :, 4, cx] = g[2] / SQ2
            B[:, :, 4, cz] = g[0] / SQ2
            B[:, :, 5, cy] = g[2] / SQ2
            B[:, :, 5, cz] = g[1] / SQ2
        elif formulation == "axisymmetric":
            B[:, :, 2, cx] = np.asarray(phi) / x[0]
    sdofs = np.ascontiguousarray(sb.element_dofs.T).astype(np.int64)
    vdofs = (sdofs[:, :, None] * nc + np.arange(nc)).reshape(nel, nl * nc)
    return RegionOps(name, np.asarray(elements), B, w, sdofs, vdofs, x)


def strain(ops: RegionOps, u: np.ndarray, ezz: float = 0.0) -> np.ndarray:
    """Mandel strain (6, N) at the region's quadrature points from the global displacement vector."""
    eps = np.einsum("eqij,ej->ieq", ops.B, u[ops.vdofs], optimize=True)
    if ezz:
        eps[2] += ezz
    return eps.reshape(6, -1)
