"""Unbonded interfaces: small-sliding contact between the node pairs of a split interface
(`fe.mesh.split_interface`), unilateral (no tension), frictionless or with Coulomb friction; node-to-node for
linear elements, facet-integrated at Gauss points for quadratic ones (below).

Method: penalty regularization solved by semi-smooth Newton (a primal active-set method). For pair i with
vertices a (side A) and b (side B), unit normal n (A -> B) and weight A_i (tributary area; axisymmetric 2 pi int
r N ds):

    gap         g   = n . (u_b - u_a)                         (> 0 open; < 0 overclosed)
    normal      F_n = k_i <-g>,   k_i = penalty * E_i * A_i / h   (E_i the largest Young's modulus at T0 of the
                                  regions at the pair, h the interface's mean facet size: 2D length, 3D
                                  sqrt(area); so the stiffness per unit area is uniform along an interface)
    tangential  trial t* = k_i (P (u_b - u_a) - s_old), P = I - n n^T, s the committed slip;
                stick |t*| <= mu F_n: t = t*;  slip: t = mu F_n t*/|t*|, s = P(u_b - u_a) - t/k_i
    internal force  f_b = -F_n n + t,  f_a = -f_b

The active set {g < 0} (and stick/slip) is re-evaluated at every Newton iterate and the generalized (Clarke)
derivative is assembled, so a frictionless problem converges like Newton on a smooth one once the active set has
settled (for elastic bulk: one iteration). The normal gap is not tied exactly: an active pair overcloses by
F_n / k_i = p h / (penalty E_i), i.e. 1/penalty of the elastic compression of one element layer under the same
pressure p (penalty = 1e3 by default: 0.1 %).

Friction: the derivative of the sliding traction t = mu F_n m (m = t*/|t*|) is
    dt/d(u_b - u_a) = mu F_n k / |t*| (P - m m^T)  -  mu k H(-g) m n^T,
non-symmetric (the second term couples the slip to the normal gap). `Contact.tangent = "full"` (default)
assembles it: the model's tangent is then factorized as a general matrix (newton.increment marks it
`K.general`; fe/la/direct.py: PARDISO mtype 11, SuperLU) and Newton stays quadratic while pairs slide with a
changing normal force; "symmetric" keeps only the first term (Cholesky; Newton then converges linearly while
sliding). Iterative solvers (AMG-CG, CG on a reused factorization) assume symmetry: friction is meant for the
direct solvers.

Quadratic elements (model.order = 2): facet-integrated penalty on the conforming split interface (mortar-like on
coincident facets). The interface facets keep their P2 nodes on both sides (split_interface duplicates the
vertices; skfem's midside dofs follow the now distinct edges); the relative displacement at a facet point is
interpolated from the node pairs with the facet's shape functions, du_q = sum_j N_j(q) (u_bj - u_aj), the gap
g_q = n_q . du_q with the normal of the facet's own (possibly curved) geometry, and the contact status and
friction state live at the facet Gauss points (2D: 3 points per edge; 3D: 6 per triangle). Forces and tangent
    f_j = sum_q w_q N_j(q) f_q(du_q),   K_ij = sum_q w_q N_i(q) N_j(q) D_q
(pair-pair blocks per facet; w_q the point's area, axisymmetric 2 pi r |J| w), with the same point law f_q, D_q
as the node pairs above (k_q = penalty E w_q / h). Why Gauss points and not nodal (lumped) pairs for P2: the
row-sum lumping of a 6-node triangle's "mass" gives its corner nodes zero (P2 triangle: exactly zero) weight and
the midside nodes all of it, so a node-to-node scheme on tri6 faces would not transmit a uniform pressure through
the corners' pairs; the quadrature keeps the consistent force distribution (a uniform pressure reproduces the
closed form exactly, tests/test_contact.py) and is what CalculiX's surface-to-surface contact integrates
(agreement 1e-7 on partly open P2 interfaces). For order 1 the node-to-node pairs are the same scheme with nodal
(trapezoidal) quadrature and vertex-averaged normals (they keep the order-1 results unchanged).

Assumptions (small sliding): the pairs never change partners, the normals and weights come from the undeformed
mesh, the two nodes of a pair coincide initially (zero initial gap). Order 2: triangles/quadrilaterals in 2D,
tetrahedra in 3D (hexahedral P2 faces are refused).

The contact status (active, stick, slip, tractions) is part of the committed state: it is returned with the
material trial states under the key `STATE_KEY`, so the time stepper commits it with them on convergence and
discards it on a cutback. A status that cycles within one increment (the same active set seen again after a
different one, twice) makes the increment fail (the stepper cuts back; at the smallest step the run stops with
a convergence error and the last converged state).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fem_wlp.errors import ConvergenceError, InputError
from fem_wlp.fe.mesh import InterfacePairs, edge_lookup, mesh_edges, mesh_kind_name

#: key of the contact state among the material states of a run (not a region name: regions never start with @)
STATE_KEY = "@contact"
#: status cycles within one increment before the increment fails (chattering)
MAX_CYCLES = 2


@dataclass(frozen=True)
class Contact:
    """One unbonded interface of a model: its vertex pairs, Coulomb friction coefficient, penalty factor."""

    pairs: InterfacePairs
    friction: float = 0.0
    penalty: float = 1e3
    key: str = "contact"
    tangent: str = "full"       # with friction: "full" generalized derivative (non-symmetric while sliding) or
                                # "symmetric" (its symmetric part: the slip/normal coupling dropped; linear Newton)

    def __post_init__(self):
        if not (isinstance(self.friction, (int, float)) and 0.0 <= self.friction <= 2.0):
            raise InputError(f"{self.key}.friction", self.friction, "a friction coefficient in [0, 2]")
        if not (isinstance(self.penalty, (int, float)) and 1.0 <= self.penalty <= 1e8):
            raise InputError(f"{self.key}.penalty", self.penalty, "a penalty factor in [1, 1e8]")
        if self.tangent not in ("full", "symmetric"):
            raise InputError(f"{self.key}.tangent", self.tangent, "full or symmetric")

    @property
    def name(self) -> str:
        return self.pairs.name


class _Pattern:
    """The pairs as 2-node 'elements' for the assembler's sparsity pattern (only `sdofs` is used; its block map
    is not used: contact.tangent_contribution scatters through its own CSR positions)."""

    def __init__(self, sdofs):
        self.sdofs = sdofs


class ContactSet:
    """The contact pairs of a model, set up once per discretization (all interfaces together).

    Internally the contact lives at *points* grouped in *facets*: facet f couples m node pairs (its side-A dofs
    `fa` and side-B dofs `fb`, (nf, m)); its nq points interpolate the pairs' relative displacement with weights
    `N` (nq, m). Order 1: one facet per vertex pair (m = nq = 1, N = 1: the node-to-node pairs). Order 2: the
    interface facets with their P2 nodes and Gauss points (see the module docstring)."""

    def __init__(self, model, ops, materials):
        contacts = model.contacts
        mesh = model.mesh.mesh
        dim = mesh.dim()
        self.nc = model.ncomp
        self.order = model.order
        nsd = int(max(int(o.sdofs.max()) for o in ops)) + 1           # scalar dofs (vertices for order 1)
        for c in contacts:
            if c.pairs.size and (max(c.pairs.a.max(), c.pairs.b.max()) >= mesh.nvertices
                                 or min(c.pairs.a.min(), c.pairs.b.min()) < 0):
                raise InputError("contact", [x.name for x in contacts], "pairs of vertices of the model's mesh "
                                 "(the mesh returned by split_interface)")
        T0 = model.temperature.T0
        Ev = np.zeros(nsd)
        for o, m in zip(ops, materials):           # largest modulus at T0 of the regions at each dof
            E = float(np.max(m.E(np.array([T0]))))
            np.maximum.at(Ev, o.sdofs.ravel(), E)
        if self.order == 1:
            self._setup_nodal(contacts, model, mesh, dim, Ev)
        else:
            self._setup_facets(contacts, model, mesh, dim, Ev)
        self.mu = np.concatenate([np.full(n, c.friction) for c, n in zip(contacts, self.sizes)])
        self.frictional = bool(np.any(self.mu > 0))
        self._t1 = _tangent(self.normal)            # a fixed unit tangent per point (the slip-direction signature)
        self.reversals = 0                          # points that took the stick tangent at the last iterate
        #: the full (non-symmetric) generalized derivative with friction (direct solvers factorize it as a general
        #: matrix: fe/la/direct.Pardiso); False: the symmetric part (the slip/normal coupling dropped)
        self.unsymmetric = self.frictional and all(c.tangent == "full" for c in contacts)
        self.names = [c.name for c in contacts]
        m = self.fa.shape[1]
        # (the assembler's pattern takes one node count per element: rows [side-A nodes of a facet, one side-B
        # node] padded by repetition to the mesh's element width -- together with the A and B elements' own
        # patterns every (a_i, b_j) coupling of a facet is in the pattern)
        nl = max(o.sdofs.shape[1] for o in ops)
        if m + 1 > nl:
            raise InputError("model.order", model.order, "an element whose interface facets have fewer nodes than "
                             "its elements")
        rows = [np.column_stack([self.fa] + [self.fb[:, j]] * (nl - m)) for j in range(m)]
        self.pattern = _Pattern(np.concatenate(rows))
        nc = self.nc
        dofs = lambda d: (d[:, :, None] * nc + np.arange(nc)).reshape(d.shape[0], -1)   # noqa: E731
        self.ldofs = np.concatenate([dofs(self.fa), dofs(self.fb)], axis=1)    # (nf, 2 m nc) local dofs per facet
        self._pos = None
        self.force = None
        self._blocks = None
        self._seen, self._old, self._cycles = [], None, 0
        self.revisited = False                 # the last iterate's status is one seen before in this attempt
        self.status_changes: list[int] = []    # changed points per Newton iterate of the current increment

    def _setup_nodal(self, contacts, model, mesh, dim, Ev):
        """Order 1: node-to-node pairs, the points are the pairs (tributary weights, averaged vertex normals)."""
        a = np.concatenate([c.pairs.a for c in contacts]).astype(np.int64)
        b = np.concatenate([c.pairs.b for c in contacts]).astype(np.int64)
        self.fa, self.fb, self.N = a[:, None], b[:, None], np.ones((1, 1))
        self.normal = np.hstack([c.pairs.normal for c in contacts])
        self.area = np.concatenate([_weights(c.pairs, model.formulation, mesh) for c in contacts])
        # one length per interface (its mean facet size), so that the stiffness per unit area is uniform along it
        h = np.concatenate([np.full(c.pairs.size, _facet_size(c.pairs, dim)) for c in contacts])
        E = np.maximum(Ev[a], Ev[b])
        fac = np.concatenate([np.full(c.pairs.size, c.penalty) for c in contacts])
        self.k = fac * E * self.area / h                 # normal (and tangential) pair stiffness, N/mm
        self.sizes = [c.pairs.size for c in contacts]
        self.npairs = list(self.sizes)

    def _setup_facets(self, contacts, model, mesh, dim, Ev):
        """Order 2: the interface facets' P2 node pairs, Gauss points with the facet's own (curved) geometry."""
        fa, fb, N, normal, w, k, sizes, npairs = [], [], None, [], [], [], [], []
        for c in contacts:
            A, B, X = facet_nodes(mesh, c.pairs)                        # (nf, m), (nf, m), (dim, nf, m)
            N, dN, wq = _facet_rule(dim, A.shape[1])                     # (nq, m), (dim-1, nq, m), (nq,)
            x = np.einsum("qj,dfj->dfq", N, X)                          # (dim, nf, nq) point coordinates
            J = np.einsum("sqj,dfj->sdfq", dN, X)                       # tangents (dim-1, dim, nf, nq)
            nvec = (np.stack([J[0, 1], -J[0, 0]]) if dim == 2 else np.cross(J[0], J[1], axis=0))
            sgn = np.sign(np.einsum("dfq,df->fq", nvec, c.pairs.facet_normal))   # outward of A: from A into B
            nvec = nvec * sgn
            jac = np.linalg.norm(nvec, axis=0)                          # (nf, nq): |J| (3D: 2 x area scale)
            wt = jac * wq
            if model.formulation == "axisymmetric":
                wt = 2 * np.pi * x[0] * wt
            h = _facet_size(c.pairs, dim)
            E = np.maximum(Ev[A].max(axis=1), Ev[B].max(axis=1))[:, None]
            fa.append(A)
            fb.append(B)
            normal.append((nvec / jac).reshape(dim, -1))
            w.append(wt.ravel())
            k.append((c.penalty * E * wt / h).ravel())
            sizes.append(wt.size)
            npairs.append(int(np.unique(A[A != B]).size))     # split node pairs (not tied)
        self.fa, self.fb, self.N = np.concatenate(fa), np.concatenate(fb), N
        self.normal, self.area, self.k = np.hstack(normal), np.concatenate(w), np.concatenate(k)
        self.sizes, self.npairs = sizes, npairs

    def initial_state(self) -> dict:
        n, nc = self.area.size, self.nc
        # a stress-free, closed interface: every point starts active (in contact at zero pressure)
        return {"active": np.ones(n, bool), "stick": np.ones(n, bool), "slip": np.zeros((nc, n)),
                "gap": np.zeros(n), "pressure": np.zeros(n), "traction": np.zeros((nc, n))}

    # -- per Newton iterate ---------------------------------------------------------------------------------------
    def evaluate(self, u, states_old, dt: float = 0.0) -> dict:
        """Contact forces and tangent blocks at displacement u from the committed state `states_old` (increment
        length dt: with states_old it identifies the attempt); returns the trial state {STATE_KEY: ...}. Raises
        ConvergenceError when the status chatters."""
        old = states_old[STATE_KEY]
        nc = self.nc
        nf, m = self.fa.shape
        rel = u[self.ldofs[:, m * nc:]] - u[self.ldofs[:, : m * nc]]           # (nf, m nc): u_b - u_a per pair
        rel = rel.reshape(nf, m, nc)
        du = np.einsum("qj,fjd->dfq", self.N, rel).reshape(nc, -1)          # (nc, n) at the points
        n = self.normal
        g = np.einsum("dn,dn->n", n, du)
        pen = -g
        act = (pen > 0) | ((pen == 0) & old["active"])
        Fn = self.k * np.maximum(pen, 0.0)
        fvec = -Fn * n
        nn = np.einsum("in,jn->nij", n, n)
        blocks = np.where(act[:, None, None], self.k[:, None, None] * nn, 0.0)
        stick = np.ones_like(act)
        slip = old["slip"]
        t = np.zeros_like(du)
        if self.frictional:
            gT = du - g * n
            tr = self.k * (gT - old["slip"])
            ntr = np.linalg.norm(tr, axis=0)
            lim = self.mu * Fn
            stick = (ntr <= lim) & (self.mu > 0)
            scale = np.where(stick, 1.0, lim / np.maximum(ntr, 1e-300))
            t = tr * scale
            slip = np.where(self.mu > 0, gT - t / self.k, 0.0)
            fvec = fvec + t
            P = np.eye(nc)[None] - nn
            mvec = tr / np.maximum(ntr, 1e-300)
            mm = np.einsum("in,jn->nij", mvec, mvec)
            sliding = ~stick & act
            # a point that slides against its direction of the previous iterate (or of the committed state) has
            # jumped across the stick band |t*| <= mu F_n. The sliding tangent has no tangential stiffness in 2D
            # (P = m m^T), so a point of small pressure (a narrow band) can flip its slip direction at every
            # iterate (a 2-cycle of Newton). Such a point takes the secant stiffness between the two iterates,
            # |t - t_prev| / |gT - gT_prev| (<= k), for this iterate: the linear model through both slip states
            # puts the next iterate inside the band when equilibrium is there (the force stays the exact return
            # map, so a converged state is the exact one)
            t_prev, gT_prev = self._previous_slip(states_old, dt, old)
            mprev = t_prev / np.maximum(np.linalg.norm(t_prev, axis=0), 1e-300)
            reversed_ = sliding & (np.einsum("dn,dn->n", mvec, mprev) < 0)
            ksec = np.linalg.norm(t - t_prev, axis=0) / np.maximum(np.linalg.norm(gT - gT_prev, axis=0), 1e-300)
            sec = np.minimum(ksec / self.k, 1.0)
            tb = np.where(stick[:, None, None], P, scale[:, None, None] * (P - mm))
            tb = np.where(reversed_[:, None, None], sec[:, None, None] * P, tb)
            self._slip_iterate = (states_old, dt, np.where(sliding, t, 0.0), gT)
            self.reversals = int(reversed_.sum())
            if self.unsymmetric:
                # sliding: t = mu F_n m also varies with the normal gap, dt/d(du) = ... - mu k H(-g) m n^T
                cpl = np.einsum("in,jn->nij", mvec, n)
                tb = tb - np.where((sliding & ~reversed_)[:, None, None], self.mu[:, None, None] * cpl, 0.0)
            blocks = blocks + np.where((self.mu > 0)[:, None, None], self.k[:, None, None] * tb, 0.0)
        fp = fvec.reshape(nc, nf, -1)                                          # (nc, nf, nq)
        fpair = np.einsum("qj,dfq->fjd", self.N, fp).reshape(nf, m * nc)       # pair forces (on side B)
        f = np.zeros(u.size)
        np.add.at(f, self.ldofs[:, m * nc:].T, fpair.T)
        np.add.at(f, self.ldofs[:, : m * nc].T, -fpair.T)
        self.force, self._blocks = f, blocks
        # the slip direction is part of the status signature (a 2-cycle of slip directions is chattering too);
        # 2D: its sign along the interface tangent, 3D: along a fixed tangent of each point
        direction = (np.einsum("dn,dn->n", t, self._t1) > 0) & ~stick & act if self.frictional else stick
        self._check_chattering((states_old, dt), act, stick, direction)
        return {STATE_KEY: {"active": act, "stick": stick, "slip": slip, "gap": g,
                            "pressure": Fn / self.area, "traction": t / self.area}}

    def _previous_slip(self, states_old, dt, old):
        """(tangential force (nc, n), relative tangential displacement (nc, n)) of each point at the previous
        iterate of this attempt (force 0 where it did not slide); at an attempt's first iterate: the committed
        state's (its sliding points)."""
        d = getattr(self, "_slip_iterate", None)
        if d is not None and d[0] is states_old and d[1] == dt:
            return d[2], d[3]
        t = old["traction"] * self.area
        t = np.where(~old["stick"] & old["active"], t, 0.0)
        return t, old["slip"] + t / self.k

    def new_attempt(self) -> None:
        """Forget the statuses seen: the next iterate starts an attempt (a full-Newton retry of an increment has
        the same committed state and length as the attempt it repeats, whose statuses must not count)."""
        self._old = None

    def _check_chattering(self, attempt, act, stick, direction=None):
        states_old, dt = attempt
        if self._old is None or states_old is not self._old[0] or dt != self._old[1]:   # a new increment or a
            self._old, self._seen, self._cycles = attempt, [], 0                           # retry (cutback: new dt)
            self.status_changes = []
            o = states_old[STATE_KEY]
            prev = np.concatenate([o["active"], o["stick"],
                                   (np.einsum("dn,dn->n", o["traction"], self._t1) > 0) & ~o["stick"] & o["active"]
                                   if self.frictional else o["stick"]])
        else:
            prev = self._seen[-1][1]
        sig = np.concatenate([act, stick, stick if direction is None else direction])
        self.status_changes.append(int(np.count_nonzero(sig != prev)))
        key = sig.tobytes()
        self.revisited = bool(self._seen) and key != self._seen[-1][0] and any(key == s for s, _ in self._seen[:-1])
        if self.revisited:
            self._cycles += 1
            if self._cycles >= MAX_CYCLES:
                raise ConvergenceError(
                    f"contact status chattering: the active set cycles ({self._cycles} times in this increment)",
                    {"contact": {"changes": list(self.status_changes)}})
        self._seen.append((key, sig))

    def tangent_contribution(self, asm):
        """(CSR data of the pairs' stiffness in the assembler's pattern, 0 coupling, 0 k_ee) for Assembler.matrix."""
        if self._pos is None:
            self._pos = _csr_positions(asm.csr_indptr, asm.csr_indices, self.ldofs)
        nf, m = self.fa.shape
        nc = self.nc
        M = self._blocks
        if m > 1:       # facet block: sum_q N_i N_j D_q over its points, rows (pair i, component)
            D = M.reshape(nf, -1, nc, nc)
            M = np.einsum("qi,qj,fqcd->ficjd", self.N, self.N, D).reshape(nf, m * nc, m * nc)
        Ke = np.block([[M, -M], [-M, M]])                                   # (nf, 2 m nc, 2 m nc)
        data = np.bincount(self._pos.ravel(), weights=Ke.ravel(), minlength=asm.nnz)
        return data, 0.0, 0.0

    def changed_points(self, ref) -> np.ndarray:
        """The points whose stiffness block differs from `ref` (the blocks of an earlier iterate, (n, nc, nc))."""
        d = self._blocks - ref
        return np.flatnonzero(np.any(d.reshape(d.shape[0], -1) != 0.0, axis=1))

    def point_columns(self, points):
        """The pairs' stiffness as a sum over points, K_c = sum_p B_p^T D_p B_p with B_p = [-N(q) (x) I, N(q) (x) I]
        on the facet's (side-A, side-B) dofs (q the point's place in its facet): the columns B_p^T e_c of the
        given points, as COO triplets (dofs, columns, values) of an (ndof x nc len(points)) matrix, column
        p nc + c. With the block change C = blockdiag(D_p - D_p,ref) the stiffness change since `ref` is exactly
        V C V^T (a low-rank update of a factorized tangent: fe/solver/discretization.contact_update)."""
        nc = self.nc
        nf, m = self.fa.shape
        nq = self.N.shape[0]
        f, q = np.divmod(np.asarray(points, np.int64), nq)
        k = f.size
        dofs = self.ldofs[f].reshape(k, 2 * m, nc)                         # rows [A pairs, B pairs] x component
        vals = np.concatenate([-self.N[q], self.N[q]], axis=1)              # (k, 2m)
        cols = np.arange(k)[:, None, None] * nc + np.arange(nc)             # (k, 1, nc)
        return (dofs.ravel(), np.broadcast_to(cols, dofs.shape).ravel(),
                np.broadcast_to(vals[:, :, None], dofs.shape).ravel())

    def block_change(self, points, ref) -> np.ndarray:
        """C = blockdiag(D_p - D_p,ref) over `points` (nc len(points) square), in point_columns' column order."""
        nc = self.nc
        d = self._blocks[points] - ref[points]                              # (k, nc, nc)
        k = d.shape[0]
        C = np.zeros((k, nc, k, nc))
        C[np.arange(k), :, np.arange(k), :] = d
        return C.reshape(k * nc, k * nc)

    def summary(self, state) -> dict:
        """Per interface of a contact state: node pairs (split, not tied), status points (order 1: the pairs;
        order 2: the facet Gauss points), closed (active) points, sticking and slipping closed points (0 when
        frictionless), the largest contact pressure (MPa) and the largest opening gap (mm)."""
        out, i = {}, 0
        for name, n, npair in zip(self.names, self.sizes, self.npairs):
            s = slice(i, i + n)
            act = state["active"][s]
            stick = state["stick"][s] & act if self.frictional else np.zeros_like(act)
            out[name] = {"pairs": int(npair), "points": int(n), "closed": int(act.sum()),
                         "sticking": int(stick.sum()),
                         "slipping": int((act & ~stick).sum()) if self.frictional else 0,
                         "max_pressure_MPa": float(np.max(state["pressure"][s], initial=0.0)),
                         "max_gap_mm": float(np.max(state["gap"][s], initial=0.0))}
            i += n
        return out


def _tangent(n: np.ndarray) -> np.ndarray:
    """A unit vector normal to each column of n (dim, N): 2D n rotated by 90 degrees, 3D n x (the axis least
    aligned with n)."""
    if n.shape[0] == 2:
        return np.stack([-n[1], n[0]])
    e = np.zeros_like(n)
    e[np.argmin(np.abs(n), axis=0), np.arange(n.shape[1])] = 1.0
    t = np.cross(n, e, axis=0)
    return t / np.linalg.norm(t, axis=0)


def facet_nodes(mesh, pairs: InterfacePairs):
    """The P2 nodes of the interface facets on both sides, in the local order of `_facet_rule` (vertices as in
    `pairs.facets`, then the midside nodes of the edges (0,1) in 2D; (0,1), (1,2), (2,0) in 3D): side-A scalar dofs,
    side-B scalar dofs (nf, m) in skfem's P2 numbering (vertex v -> v, the midside node of 2D facet / 3D edge e ->
    nvertices + e), and their coordinates (dim, nf, m). A tied vertex (pairs.tied) is its own partner."""
    nv = mesh.nvertices
    fv = np.asarray(pairs.facets, np.int64)                          # side-A vertices (nfv, nf)
    if mesh.dim() == 3 and fv.shape[0] != 3:
        raise InputError("model.order", 2, "1 with hexahedral contact interfaces (P2 contact: tetrahedra)")
    vb = np.arange(nv)
    vb[pairs.a] = pairs.b
    fvb = vb[fv]
    ends = [(0, 1)] if fv.shape[0] == 2 else [(0, 1), (1, 2), (2, 0)]
    find = edge_lookup(mesh_edges(mesh), nv)
    ea = np.stack([find(fv[i], fv[j]) for i, j in ends])             # (ne, nf) edges of side A
    eb = np.stack([find(fvb[i], fvb[j]) for i, j in ends])
    A = np.concatenate([fv, nv + ea]).T
    B = np.concatenate([fvb, nv + eb]).T
    pv = mesh.p[:, :nv]
    if mesh_kind_name(mesh)[-1] == "2":                               # curved: the geometry's midside nodes
        mid = mesh.doflocs[:, nv + ea]
    else:
        mid = np.stack([0.5 * (pv[:, fv[i]] + pv[:, fv[j]]) for i, j in ends], axis=1)
    X = np.concatenate([pv[:, fv], mid], axis=1).transpose(0, 2, 1)   # (dim, nf, m)
    return A, B, np.ascontiguousarray(X)


def _facet_rule(dim: int, m: int):
    """P2 facet shape functions at the facet Gauss points: (N (nq, m), dN/dxi (dim-1, nq, m), weights (nq,)).
    2D: 3-point Gauss on [0, 1] (exact to degree 5: the P2 'mass' N_i N_j times the axisymmetric r); 3D: the
    6-point degree-4 triangle rule (exact for N_i N_j on straight faces; reference area 1/2)."""
    from skfem.quadrature import get_quadrature
    from skfem.refdom import RefLine, RefTri

    if dim == 2:
        X, W = get_quadrature(RefLine, 5)
        x = X[0]
        N = np.stack([(1 - x) * (1 - 2 * x), x * (2 * x - 1), 4 * x * (1 - x)], axis=1)
        dN = np.stack([4 * x - 3, 4 * x - 1, 4 - 8 * x], axis=1)[None]
        return N, dN, W
    X, W = get_quadrature(RefTri, 4)
    l1, l2 = X
    L = np.stack([1 - l1 - l2, l1, l2])                              # barycentric (3, nq)
    dL = np.array([[-1.0, 1.0, 0.0], [-1.0, 0.0, 1.0]])             # d lambda_i / d (xi, eta)
    N = np.concatenate([L * (2 * L - 1), 4 * np.stack([L[0] * L[1], L[1] * L[2], L[2] * L[0]])]).T
    dN = []
    for s in range(2):
        dv = (4 * L - 1) * dL[s][:, None]
        de = 4 * np.stack([dL[s, 0] * L[1] + L[0] * dL[s, 1], dL[s, 1] * L[2] + L[1] * dL[s, 2],
                           dL[s, 2] * L[0] + L[2] * dL[s, 0]])
        dN.append(np.concatenate([dv, de]).T)
    return N, np.stack(dN), W


def _facet_size(pairs: InterfacePairs, dim: int) -> float:
    """Mean facet size of an interface: 2D mean segment length, 3D sqrt of the mean facet area."""
    m = float(np.mean(pairs.facet_area))
    return m if dim == 2 else float(np.sqrt(m))


def _weights(pairs: InterfacePairs, formulation: str, mesh) -> np.ndarray:
    """Tributary weights of the pairs: the facet measure shared equally among its vertices (exact for a uniform
    pressure on straight segments, triangles and parallelograms); axisymmetric: 2 pi int r N_i ds over the
    interface segments (a segment (r0, r1) of length L gives L (2 r0 + r1) / 6 and L (r0 + 2 r1) / 6)."""
    if formulation != "axisymmetric":
        return pairs.area
    r0, r1 = mesh.p[0, pairs.facets[0]], mesh.p[0, pairs.facets[1]]
    L = pairs.facet_area
    w = np.zeros(mesh.nvertices)
    np.add.at(w, pairs.facets[0], 2 * np.pi * L * (2 * r0 + r1) / 6)
    np.add.at(w, pairs.facets[1], 2 * np.pi * L * (r0 + 2 * r1) / 6)
    return w[pairs.a]


def _csr_positions(indptr, indices, ldofs) -> np.ndarray:
    """Positions in CSR data of the entries (ldofs[i, p], ldofs[i, q]) of every pair i: (n, 2nc, 2nc)."""
    indptr = np.asarray(indptr, np.int64)
    indices = np.asarray(indices, np.int64)
    ndof = indptr.size - 1
    rows = np.repeat(np.arange(ndof, dtype=np.int64), np.diff(indptr))
    keys = rows * ndof + indices
    order = np.argsort(keys)
    want = ldofs[:, :, None] * ndof + ldofs[:, None, :]
    pos = np.searchsorted(keys[order], want)
    pos = np.minimum(pos, keys.size - 1)
    if not np.all(keys[order][pos] == want):
        raise RuntimeError("contact pair entries missing from the sparsity pattern")
    return order[pos]
