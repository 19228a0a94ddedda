"""Global-local (submodel) coupling: a solved global model's displacement history, interpolated onto the cut-face
dofs of a submodel, as prescribed-displacement constraints (the technique of ANSYS submodeling and of Abaqus /
CalculiX *SUBMODEL, "node-based": the cut-face nodes of the submodel follow the global displacement).

In space the global displacement is interpolated with the global model's own shape functions (the element of its
mesh and order that contains the point); in time linearly between the global model's converged frames. A
submodel run on the global frame times with the same temperatures takes the global increments
(tests/test_submodel.py: a submodel meshed with the global model's own elements reproduces the global solution
inside it to the solver tolerance). The constraint's corner times -- where the time stepper restarts its
multistep (BDF2) integration and does not extrapolate the last increment -- are by default every global frame
(the rate of the linear interpolation jumps there); a caller that knows the load's corners passes them
(`driven_constraint(..., corners=)`): the global history is then integrated across its frames as the global
model integrated it (the same BDF2 steps; with every frame a corner each submodel step after a frame is backward
Euler with no predictor: measured on the 2 x 2 package's quadratic contact submodel at 0.016 mm, the initial
cooling took 283 instead of 173 Newton iterations, 49 instead of 33 factorizations, 11 instead of 2 rejected
increments; benchmarks/README.md, session 10).

What this does not do: the submodel sees the global displacement of its cut faces, not the global tractions; a
cut face must lie far enough from the submodel's region of interest that the submodel's local detail does not
change the displacement there (St-Venant), and a point outside the global mesh (a curved boundary meshed
differently) takes the displacement of the nearest global element extrapolated (reported as `outside_mm`).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
import skfem
from scipy.spatial import cKDTree

from fem_wlp.errors import InputError
from fem_wlp.fe.kinematics import facet_dofs, scalar_dofs, scalar_element
from fem_wlp.fe.mesh import FEMesh
from fem_wlp.fe.problem import Constraint

#: candidate elements per point (nearest centroids) in the first locating pass; points not inside any of them
#: are searched again among every element whose centroid is within the largest centroid-vertex distance of the
#: mesh (no element containing the point can be farther: flat elements of thin layers have centroids far from
#: many of the points they contain)
CANDIDATES = 12
#: barycentric tolerance for "inside" (relative): points on a face shared by two elements are inside both
INSIDE_TOL = 1e-9


def locate(mesh, points: np.ndarray, chunk: int = 20000) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Elements of an affine simplex mesh (MeshTri1 / MeshTet1, the corner vertices of its elements) containing
    `points` (dim, n), vectorized: the nearest element centroids are the candidates, and among them the one whose
    smallest barycentric coordinate is largest is taken. Returns (element (n,), reference coordinates (dim, n) --
    the barycentric coordinates of vertices 1..dim, as scikit-fem's reference simplex --, distance outside the
    element in mm (0 inside), (n,))."""
    p = np.asarray(points, float)
    dim, n = p.shape
    t = mesh.t[: dim + 1]
    V = mesh.p[:, t]                                            # (dim, dim+1, nel)
    A = np.moveaxis(V[:, 1:] - V[:, :1], -1, 0)                 # (nel, dim, dim): x = v0 + A X
    Ainv = np.linalg.inv(A)
    cen = V.mean(axis=1)
    tree = cKDTree(cen.T)
    reach = float(np.sqrt(((V - cen[:, None, :]) ** 2).sum(0)).max())
    elem = np.empty(n, dtype=np.int64)
    X = np.empty((dim, n))
    out = np.empty(n)
    for s in range(0, n, chunk):
        q = p[:, s: s + chunk]
        m = q.shape[1]
        k = min(CANDIDATES, tree.n)
        _, cand = tree.query(q.T, k)
        e, Xq, o = _best_candidate(q, np.repeat(np.arange(m), k), cand.reshape(-1), Ainv, V)
        bad = np.flatnonzero(o > 0)
        if bad.size:
            lists = tree.query_ball_point(q[:, bad].T, reach * (1 + 1e-9))
            sizes = np.array([len(c) for c in lists])
            bad = bad[sizes > 0]                # (a point farther than `reach` from every centroid keeps its best)
            if bad.size:
                owner = np.repeat(np.arange(bad.size), sizes[sizes > 0])
                cands = np.concatenate([c for c in lists if len(c)]).astype(np.int64)
                e2, X2, o2 = _best_candidate(q[:, bad], owner, cands, Ainv, V)
                better = o2 < o[bad]
                idx = bad[better]
                e[idx], Xq[:, idx], o[idx] = e2[better], X2[:, better], o2[better]
        elem[s: s + chunk], X[:, s: s + chunk], out[s: s + chunk] = e, Xq, o
    return elem, X, out


def _best_candidate(q, owner, cand, Ainv, V):
    """For points q (dim, n) and candidate pairs (owner point (m,), element (m,)), every point having at least one
    candidate: per point the candidate whose smallest barycentric coordinate is largest -> (element, reference
    coordinates (dim, n), distance outside (n,))."""
    dim, n = q.shape
    d = q[:, owner].T - V[:, 0, cand].T                                     # (m, dim)
    Xc = np.einsum("mij,mj->mi", Ainv[cand], d)                             # (m, dim)
    lam = np.concatenate([1.0 - Xc.sum(-1, keepdims=True), Xc], axis=-1)    # (m, dim+1)
    score = lam.min(-1)
    # per owner the largest score: sort by (owner, -score), take each owner's first
    order = np.lexsort((-score, owner))
    first = order[np.r_[0, np.flatnonzero(np.diff(owner[order])) + 1]]
    e = cand[first]
    Xb = Xc[first].T.copy()
    sc = score[first]
    # distance outside: clip the barycentrics to the element and measure the distance to the clipped point
    outside = np.zeros(n)
    o = sc < -INSIDE_TOL
    if np.any(o):
        lam_b = np.clip(lam[first[o]], 0.0, None)
        lam_b /= lam_b.sum(-1, keepdims=True)
        xc = np.einsum("dkn,nk->dn", V[:, :, e[o]], lam_b)
        outside[o] = np.linalg.norm(xc - q[:, o], axis=0)
    return e, Xb, outside


def interpolation_matrix(mesh, order: int, points: np.ndarray) -> tuple[sp.csr_matrix, float]:
    """Sparse (n_points, n_scalar_dofs) matrix P with P @ u_scalar = the field of the mesh's scalar element of
    `order` (the scalar dofs numbered as fe.kinematics.scalar_dofs numbers them) at `points` (dim, n); and the
    largest distance of a point outside the mesh (mm)."""
    elem = scalar_element(mesh, order)
    nscalar, _, sb = scalar_dofs(mesh, elem)
    basis = sb if sb is not None else skfem.Basis(mesh, elem, intorder=1)
    if basis.N != nscalar:
        raise ValueError("scalar dof numbering differs from the Basis numbering")
    name = type(mesh).__name__
    if name in ("MeshTet1", "MeshTet", "MeshTri1", "MeshTri"):
        cells, X, out = locate(mesh, points)
        phis = np.array([elem.lbasis(X, k)[0] for k in range(basis.Nbfun)])       # (nbfun, n)
        rows = np.tile(np.arange(points.shape[1]), basis.Nbfun)
        cols = basis.element_dofs[:, cells].ravel()
        P = sp.coo_matrix((phis.ravel(), (rows, cols)), shape=(points.shape[1], nscalar)).tocsr()
        return P, float(out.max(initial=0.0))
    # other element types (hexahedra, quadrilaterals, curved simplices): scikit-fem's own point location (its
    # finder compares every point with every candidate: use on small point sets only)
    P = sp.vstack([basis.probes(points[:, s: s + 500]) for s in range(0, points.shape[1], 500)]).tocsr()
    return P, 0.0


@dataclass
class GlobalHistory:
    """A solved global model's displacement history: its mesh, element order, number of components, the converged
    frame times (s) and displacement vectors (node*ncomp + c, as fe.solver frames)."""

    mesh: FEMesh
    order: int
    ncomp: int
    times: np.ndarray                      # (nf,)
    u: np.ndarray                          # (nf, ndof)
    report: dict = field(default_factory=dict)

    def __post_init__(self):
        self.times = np.asarray(self.times, float)
        self.u = np.asarray(self.u, float)
        if self.times.ndim != 1 or self.times.size < 1 or np.any(np.diff(self.times) <= 0):
            raise InputError("submodel.global_frames", self.times.tolist()[:5], "increasing frame times")
        if self.u.shape[0] != self.times.size:
            raise ValueError("one displacement vector per frame time")

    @classmethod
    def from_frames(cls, model, frames) -> "GlobalHistory":
        """From a model and its converged fe.solver Frames (all of them, or those of a run's keep_frames)."""
        fr = list(frames)
        return cls(model.mesh, model.order, model.ncomp, np.array([f.time for f in fr]),
                   np.stack([np.asarray(f.u, float) for f in fr]))

    def at_points(self, points: np.ndarray, components=None) -> np.ndarray:
        """Displacement history at `points` (dim, n): (nf, len(components), n)."""
        comps = tuple(range(self.ncomp)) if components is None else tuple(components)
        P, out = interpolation_matrix(self.mesh.mesh, self.order, np.asarray(points, float))
        self.report["outside_mm"] = max(self.report.get("outside_mm", 0.0), out)
        U = self.u.reshape(self.times.size, -1, self.ncomp)                  # (nf, nscalar, nc)
        return np.stack([(P @ U[:, :, c].T).T for c in comps], axis=1)      # (nf, ncomp_sel, n)


class DrivenValue:
    """value(t, x) of a driven constraint: the global displacement history at the points x (interpolated in space
    once, on the first call, and again only when called with other points), linear in time between the global
    frames (held outside them)."""

    def __init__(self, history: GlobalHistory, components):
        self.history, self.components = history, tuple(components)
        self._x = None
        self._U = None

    def __call__(self, t: float, x: np.ndarray) -> np.ndarray:
        if self._x is None or self._x.shape != x.shape or not np.array_equal(self._x, x):
            self._x = np.array(x, float, copy=True)
            self._U = self.history.at_points(self._x, self.components)
        tg = self.history.times
        if t <= tg[0]:
            return self._U[0]
        if t >= tg[-1]:
            return self._U[-1]
        k = int(np.searchsorted(tg, t, side="right")) - 1
        a = (t - tg[k]) / (tg[k + 1] - tg[k])
        return (1.0 - a) * self._U[k] + a * self._U[k + 1]


def driven_constraint(history: GlobalHistory, submesh: FEMesh, boundary: str, components=(0, 1, 2),
                      key: str = "submodel.cut_faces", corners=None) -> Constraint:
    """Constraint of the submodel `submesh`: every component in `components` of every dof on its named boundary
    (the cut faces) follows the global displacement history. Its corners (times where the time stepper restarts
    its multistep integration and does not extrapolate): `corners`, or by default every global frame time."""
    facets = submesh.boundary(boundary, key=key)
    comps = tuple(sorted(set(int(c) for c in components)))
    if not comps or any(c < 0 or c >= history.ncomp for c in comps):
        raise InputError(f"{key}.components", list(components), f"components 0..{history.ncomp - 1}")
    return Constraint(f"driven {boundary}", comps, facets=facets, value=DrivenValue(history, comps),
                      corners=tuple(float(t) for t in (history.times if corners is None else corners)))


def cut_dof_points(submesh: FEMesh, boundary: str, order: int) -> np.ndarray:
    """Coordinates (dim, n) of the submodel's scalar dofs on `boundary` (for reports and checks)."""
    mesh = submesh.mesh
    _, x, sb = scalar_dofs(mesh, scalar_element(mesh, order))
    return x[:, facet_dofs(mesh, submesh.boundary(boundary), sb)]
