"""Unbonded interfaces: node-to-node, small-sliding contact between the vertex pairs of a split interface
(`fe.mesh.split_interface`), unilateral (no tension), frictionless or with Coulomb friction.

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
pressure p (penalty = 1e3 by default: 0.1 %). With friction the tangent is the symmetric part of the generalized
derivative (the solvers factor symmetric matrices only): the slip term's coupling mu k m n^T to the normal gap is
left out, so Newton is quadratic under stick and frictionless contact and only linear while pairs slip with a
changing normal force. On the flagship slice (generalized plane strain, solder against polyimide, mu = 0.3) that
tangent lets the stick/slip status of a pair cycle at the first ramp (the run stops with the chattering error);
frictionless contact runs it through.

Assumptions (small sliding): the pairs never change partners, the normals and weights come from the undeformed
mesh, the two vertices of a pair coincide initially (zero initial gap). Only vertex dofs are paired: order-1
elements (P1/Q1) only.

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
from fem_wlp.fe.mesh import InterfacePairs

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

    def __post_init__(self):
        if not (isinstance(self.friction, (int, float)) and 0.0 <= self.friction <= 2.0):
            raise InputError(f"{self.key}.friction", self.friction, "a friction coefficient in [0, 2]")
        if not (isinstance(self.penalty, (int, float)) and 1.0 <= self.penalty <= 1e8):
            raise InputError(f"{self.key}.penalty", self.penalty, "a penalty factor in [1, 1e8]")

    @property
    def name(self) -> str:
        return self.pairs.name


class _Pattern:
    """The pairs as 2-node 'elements' for the assembler's sparsity pattern (only `sdofs` is used; its block map
    is not used: contact.tangent_contribution scatters through its own CSR positions)."""

    def __init__(self, sdofs):
        self.sdofs = sdofs


class ContactSet:
    """The contact pairs of a model, set up once per discretization (all interfaces together)."""

    def __init__(self, model, ops, materials):
        contacts = model.contacts
        if model.order != 1:
            raise InputError("model.order", model.order, "1 with contact interfaces (node-to-node pairs pair "
                             "vertices only)")
        mesh = model.mesh.mesh
        dim = mesh.dim()
        self.nc = model.ncomp
        self.a = np.concatenate([c.pairs.a for c in contacts]).astype(np.int64)
        self.b = np.concatenate([c.pairs.b for c in contacts]).astype(np.int64)
        nv = mesh.nvertices
        if self.a.size and (max(self.a.max(), self.b.max()) >= nv or self.a.min() < 0 or self.b.min() < 0):
            raise InputError("contact", [c.name for c in contacts], "pairs of vertices of the model's mesh "
                             "(the mesh returned by split_interface)")
        self.normal = np.hstack([c.pairs.normal for c in contacts])
        self.area = np.concatenate([_weights(c.pairs, model.formulation, mesh) for c in contacts])
        # one length per interface (its mean facet size), so that the stiffness per unit area is uniform along it
        h = np.concatenate([np.full(c.pairs.size, _facet_size(c.pairs, dim)) for c in contacts])
        T0 = model.temperature.T0
        Ev = np.zeros(nv)
        for o, m in zip(ops, materials):           # largest modulus at T0 of the regions at each vertex
            E = float(np.max(m.E(np.array([T0]))))
            np.maximum.at(Ev, o.sdofs.ravel(), E)
        E = np.maximum(Ev[self.a], Ev[self.b])
        fac = np.concatenate([np.full(c.pairs.size, c.penalty) for c in contacts])
        self.k = fac * E * self.area / h                 # normal (and tangential) pair stiffness, N/mm
        self.mu = np.concatenate([np.full(c.pairs.size, c.friction) for c in contacts])
        self.frictional = bool(np.any(self.mu > 0))
        self.names = [c.name for c in contacts]
        self.sizes = [c.pairs.size for c in contacts]
        # (the assembler's pattern takes one node count per element: b is repeated to the mesh's)
        nl = max(o.sdofs.shape[1] for o in ops)
        self.pattern = _Pattern(np.column_stack([self.a] + [self.b] * (nl - 1)))
        nc = self.nc
        self.ldofs = np.concatenate([self.a[:, None] * nc + np.arange(nc), self.b[:, None] * nc + np.arange(nc)],
                                    axis=1)                                   # (n, 2 nc) local dofs of each pair
        self._pos = None
        self.force = None
        self._blocks = None
        self._seen, self._old, self._cycles = [], None, 0
        self.status_changes: list[int] = []    # changed pairs per Newton iterate of the current increment

    def initial_state(self) -> dict:
        n, nc = self.a.size, self.nc
        # a stress-free, closed interface: every pair starts active (in contact at zero pressure)
        return {"active": np.ones(n, bool), "stick": np.ones(n, bool), "slip": np.zeros((nc, n)),
                "gap": np.zeros(n), "pressure": np.zeros(n), "traction": np.zeros((nc, n))}

    # -- per Newton iterate ---------------------------------------------------------------------------------------
    def evaluate(self, u, states_old, dt: float = 0.0) -> dict:
        """Contact forces and tangent blocks at displacement u from the committed state `states_old` (increment
        length dt: with states_old it identifies the attempt); returns the trial state {STATE_KEY: ...}. Raises
        ConvergenceError when the status chatters."""
        old = states_old[STATE_KEY]
        nc = self.nc
        du = u[self.ldofs[:, nc:]].T - u[self.ldofs[:, :nc]].T             # (nc, n): u_b - u_a
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
            m = tr / np.maximum(ntr, 1e-300)
            mm = np.einsum("in,jn->nij", m, m)
            # symmetric part of the generalized derivative (see the module docstring)
            tb = np.where(stick[:, None, None], P, scale[:, None, None] * (P - mm))
            blocks = blocks + np.where((self.mu > 0)[:, None, None], self.k[:, None, None] * tb, 0.0)
        f = np.zeros(u.size)
        np.add.at(f, self.ldofs[:, nc:].T, fvec)
        np.add.at(f, self.ldofs[:, :nc].T, -fvec)
        self.force, self._blocks = f, blocks
        self._check_chattering((states_old, dt), act, stick)
        return {STATE_KEY: {"active": act, "stick": stick, "slip": slip, "gap": g,
                            "pressure": Fn / self.area, "traction": t / self.area}}

    def _check_chattering(self, attempt, act, stick):
        states_old, dt = attempt
        if self._old is None or states_old is not self._old[0] or dt != self._old[1]:   # a new increment or a
            self._old, self._seen, self._cycles = attempt, [], 0                           # retry (cutback: new dt)
            self.status_changes = []
            prev = np.concatenate([states_old[STATE_KEY]["active"], states_old[STATE_KEY]["stick"]])
        else:
            prev = self._seen[-1][1]
        sig = np.concatenate([act, stick])
        self.status_changes.append(int(np.count_nonzero(sig != prev)))
        key = sig.tobytes()
        if self._seen and key != self._seen[-1][0] and any(key == s for s, _ in self._seen[:-1]):
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
        M = self._blocks
        Ke = np.block([[M, -M], [-M, M]])                                   # (n, 2nc, 2nc)
        data = np.bincount(self._pos.ravel(), weights=Ke.ravel(), minlength=asm.nnz)
        return data, 0.0, 0.0

    def summary(self, state) -> dict:
        """Per interface: pairs, active (closed) pairs, sticking pairs, largest pressure and gap."""
        out, i = {}, 0
        for name, n in zip(self.names, self.sizes):
            s = slice(i, i + n)
            out[name] = {"pairs": n, "closed": int(state["active"][s].sum()),
                         "sticking": int((state["stick"][s] & state["active"][s]).sum()) if self.frictional else 0,
                         "max_pressure": float(np.max(state["pressure"][s], initial=0.0)),
                         "max_gap": float(np.max(state["gap"][s], initial=0.0))}
            i += n
        return out


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
