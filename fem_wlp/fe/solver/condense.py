"""Static condensation of the linear elastic regions (a superelement), computed once per run.

Split the dofs into N -- every dof of an element whose tangent changes (inelastic regions, E(T) regions) plus
every constrained dof -- and I, the free dofs touched only by elastic regions with constant moduli ("static"
regions, whose internal force is K_s u + c_s e_zz - sum_a s_a(T) g_a under a uniform temperature). Because the
static equations are linear, the interior unknowns follow exactly from the boundary ones,

    u_I = K_II^-1 ( sum_a s_a(T) g_a,I - K_IG u_G - c_s,I e_zz ),          G = the N dofs coupled to I,

and the static part acts on N through the reduced (Schur-complement) stiffness and thermal loads

    S    = K_s[N,N] - K_NI K_II^-1 K_IN            (dense only on the G x G block; e_zz is one more G dof)
    g^_a = g_a,N    - K_NI K_II^-1 g_a,I .

Each Newton iteration then factorizes only the (|N|+1)-square reduced tangent K_dyn[N,N] + S, and u_I is
recovered by one solve with the K_II factor per converged increment. Exact (not an approximation): the results
equal the full solve to round-off (tests/test_condense.py). It pays off when the static interior is most of the
model and the interface G is small -- a board and a die joined by a row of solder joints: the 44k-DOF
benchmark of benchmarks/bench_cycle.py has |N| = 5,333, |I| = 38,941, |G| = 583 -- and not when the nonlinear
regions are half the mesh (the flagship slice: the dense G block would cost as much as the whole sparse
factorization), hence `worth_it`. The complement S comes from one partial PARDISO factorization
(`la.direct.schur_complement`), or from blocks of solves with the interior factor without PARDISO.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from fem_wlp.fe.assembly import constraint_positions
from fem_wlp.fe.la.direct import schur_complement

#: auto mode: condense when the interior is at least this many times the reduced size ...
MIN_INTERIOR_RATIO = 3.0
#: ... and the dense interface block is at most this many dofs
MAX_INTERFACE = 1500
#: columns per block of the multi-right-hand-side solve that builds S (memory |I| x block doubles)
RHS_BLOCK = 256


def partition(disc) -> tuple[np.ndarray, np.ndarray]:
    """(N, I): global dof indices of the reduced set and of the condensed interior."""
    keep = np.zeros(disc.ndof, bool)
    for i in disc.dynamic:
        keep[disc.ops[i].vdofs.ravel()] = True
    keep[disc.asm.constrained] = True
    return np.flatnonzero(keep), np.flatnonzero(~keep)


def worth_it(disc, N, I) -> bool:
    """Auto rule: a large interior and a small interface (dense block)."""
    if I.size < MIN_INTERIOR_RATIO * N.size:
        return False
    return interface(disc, N, I).size <= MAX_INTERFACE


def interface(disc, N, I) -> np.ndarray:
    """The N dofs coupled to the interior by a static element (global indices)."""
    inI = np.zeros(disc.ndof, bool)
    inI[I] = True
    a = disc.asm
    rows = csr_rows(a)
    hit = inI[a.csr_indices] & ~inI[rows]
    return np.unique(rows[hit])


def csr_rows(a) -> np.ndarray:
    """Row index of every entry of the assembler's CSR pattern."""
    return np.repeat(np.arange(a.csr_indptr.size - 1), np.diff(a.csr_indptr))


class Condensation:
    """The superelement of the static regions of a `Discretization` (uniform temperature, direct solver)."""

    def __init__(self, disc, N, I, solver_factory):
        a = disc.asm
        self.disc, self.N, self.I = disc, N, I
        self.gps = disc.gps
        nN = N.size
        self.size = nN + (1 if self.gps else 0)
        gmap = np.full(disc.ndof, -1, dtype=np.int64)        # global dof -> reduced index (N only)
        gmap[N] = np.arange(nN)
        self.gmap = gmap                  # (contact updates of the reduced tangent: discretization.py)
        self.G = G = interface(disc, N, I)
        A = self._static_on(np.concatenate([I, G]))
        KII = A[: I.size][:, : I.size].tocsr()
        self.interior = solver_factory(I.size)              # kept for the recovery of u_I
        self.interior.factorize(KII)
        KIB = A[: I.size][:, I.size:]                        # (|I|, |G| + e)
        S = self._complement(A, KIB)
        gr = gmap[G]
        gg = np.concatenate([gr, [nN]]) if self.gps else gr            # dense block indices (reduced)
        key = self._reduced_pattern(gmap, gg)
        # constant part: the static stiffness on N, its G x G (+ e_zz) block replaced by the complement S
        static_buf = np.concatenate([a._static, a._static_coupling, [a._static_kee], [0.0]])
        self.static_data = static_buf[self.src].copy()
        pos = np.searchsorted(key, (gg[:, None] * self.size + gg[None, :]).ravel())
        self.static_data[pos] = S.ravel()                 # the complete reduced static stiffness on G (+ e_zz)
        self.thermal = self._thermal_loads(KIB, gr)
        # constraints on the reduced pattern
        mask = np.zeros(self.size, bool)
        mask[gmap[a.constrained]] = True
        self.zero_pos, self.diag_pos = constraint_positions(self.indptr, self.indices, mask)
        self.S = sp.csr_matrix((self.static_data, self.indices, self.indptr), shape=(self.size, self.size))
        self.KIG, self.cs_I = KIB[:, :G.size].tocsr(), a._static_coupling[I]
        self.g_I = [(i, ax, g[I]) for i, ax, g, _ in disc.thermal_vectors]
        self._buf = None
        self._K = None

    # -- construction steps ------------------------------------------------------------------------------------------
    def _static_on(self, J) -> sp.csr_matrix:
        """The static stiffness on the dofs J = [I, G] (+ the e_zz border)."""
        a = self.disc.asm
        A = self.disc.K_static[J][:, J]
        if self.gps:
            cs = a._static_coupling
            A = sp.bmat([[A, sp.csr_matrix(cs[J][:, None])], [sp.csr_matrix(cs[J][None, :]),
                                                              sp.csr_matrix([[a._static_kee]])]])
        return A.tocsr()

    def _complement(self, A, KIB) -> np.ndarray:
        """Dense Schur complement on G (+ e_zz): one partial PARDISO factorization, or without PARDISO
        K_BB - K_BI K_II^-1 K_IB by blocks of solves with the interior factor."""
        nI = self.I.size
        S = schur_complement(A, nI)
        if S is None:
            S = A[nI:][:, nI:].toarray()
            for j0 in range(0, KIB.shape[1], RHS_BLOCK):
                j1 = min(j0 + RHS_BLOCK, KIB.shape[1])
                X = self.interior.solve(np.asfortranarray(KIB[:, j0:j1].toarray()))
                S[:, j0:j1] -= KIB.T @ X
        return S

    def _reduced_pattern(self, gmap, gg) -> np.ndarray:
        """CSR pattern of the reduced matrix: the assembler's pattern restricted to N, the e_zz border and the dense
        G x G block. Sets indptr, indices and src (each entry's position in the buffer [assembler CSR data,
        coupling, k_ee, 0]); returns the sorted entry keys row * size + col."""
        a, N = self.disc.asm, self.N
        nN, n = N.size, self.disc.ndof
        rows, cols_, src = [], [], []
        arows = csr_rows(a)
        sel = np.flatnonzero((gmap[arows] >= 0) & (gmap[a.csr_indices] >= 0))
        rows.append(gmap[arows[sel]])
        cols_.append(gmap[a.csr_indices[sel]])
        nb = a._static.size                      # CSR-ordered data of the assembler: source = position
        src.append(sel)
        if self.gps:
            rows += [np.arange(nN), np.full(nN, nN), [nN]]
            cols_ += [np.full(nN, nN), np.arange(nN), [nN]]
            src += [nb + N, nb + N, [nb + n]]
        self.zero_slot = nb + n + 1
        rows.append(np.repeat(gg, gg.size))
        cols_.append(np.tile(gg, gg.size))
        src.append(np.full(gg.size ** 2, self.zero_slot))
        rows, cols_, src = (np.concatenate([np.asarray(x, np.int64) for x in v]) for v in (rows, cols_, src))
        key = rows * self.size + cols_
        order = np.argsort(key, kind="stable")          # a pattern entry wins over a dense-block zero slot
        key, rows, cols_, src = key[order], rows[order], cols_[order], src[order]
        first = np.concatenate([[True], key[1:] != key[:-1]])
        rows, cols_, src = rows[first], cols_[first], src[first]
        self.indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=self.size))])
        self.indices = cols_
        self.src = src
        return key[first]

    def _thermal_loads(self, KIB, gr) -> list:
        """Reduced thermal loads g^_a = g_a,N - K_NI K_II^-1 g_a,I (on N, and h^_a for e_zz) per (region, axis)."""
        th = self.disc.thermal_vectors
        N, I, nN, nG = self.N, self.I, self.N.size, self.G.size
        corr_th = np.zeros((KIB.shape[1], len(th)))
        if th:
            X = self.interior.solve(np.asfortranarray(np.column_stack([g[I] for _, _, g, _ in th])))
            corr_th = np.asarray(KIB.T @ X).reshape(KIB.shape[1], len(th))
        thermal = []
        for k, (i, ax, g, h) in enumerate(th):
            gh = np.zeros(self.size)
            gh[:nN] = g[N]
            gh[gr] -= corr_th[:nG, k]
            if self.gps:
                gh[nN] = h - corr_th[nG, k]
            thermal.append((i, ax, gh))
        return thermal

    # -- per iteration ---------------------------------------------------------------------------------------------
    def reduced(self, u, ezz) -> np.ndarray:
        z = u[self.N]
        return np.append(z, ezz) if self.gps else z

    def static_force(self, u, ezz, eth) -> tuple[np.ndarray, float]:
        """Reduced static internal force on N (full-length vector, zero on I) and its e_zz resultant."""
        fr = self.S @ self.reduced(u, ezz)
        for i, ax, gh in self.thermal:
            fr -= eth[i][ax] * gh
        f = np.zeros(self.disc.ndof)
        f[self.N] = fr[: self.N.size]
        return f, (float(fr[-1]) if self.gps else 0.0)

    def buffer(self) -> np.ndarray:
        """The assembler-ordered data buffer that the changing regions accumulate into (`contribution(...,
        out=)`), zeroed where they write (only the N x N entries: no pass over the whole pattern)."""
        if self._buf is None:
            self._buf = np.zeros(self.zero_slot + 1)
            self._touched = np.unique(self.src[self.src < self.disc.asm._static.size])
        self._buf[self._touched] = 0.0
        return self._buf[: self.disc.asm._static.size]

    def tangent(self, contributions) -> sp.csr_matrix:
        """Reduced tangent: static superelement + the changing regions' contributions (CSR-ordered data of the
        assembler's pattern, coupling, k_ee), constraints applied."""
        a = self.disc.asm
        nb, n = a._static.size, self.disc.ndof
        if self._buf is None:
            self.buffer()
        buf = self._buf                      # [CSR data (filled by `buffer` users), coupling, k_ee, 0]
        buf[nb:] = 0.0
        for d, c, k in contributions:
            if d is not None:                # a full-pattern contribution (cached E(T) regions)
                buf[:nb] += d
            if self.gps:
                buf[nb:nb + n] += c
                buf[nb + n] += k
        data = self.static_data + buf[self.src]
        data[self.zero_pos] = 0.0
        data[self.diag_pos] = 1.0
        K = self.S.copy() if self._K is None else self._K      # one matrix object, new data (no re-validation)
        K.data = data
        self._K = K
        return K

    def expand(self, dz) -> tuple[np.ndarray, float]:
        du = np.zeros(self.disc.ndof)
        du[self.N] = dz[: self.N.size]
        return du, (float(dz[-1]) if self.gps else 0.0)

    def recover(self, u, ezz, eth) -> np.ndarray:
        """u with the interior dofs solved from the boundary ones (one solve with the K_II factor)."""
        rhs = -(self.KIG @ u[self.G])
        if self.gps:
            rhs -= self.cs_I * ezz
        for i, ax, gI in self.g_I:
            rhs += eth[i][ax] * gI
        u = u.copy()
        u[self.I] = self.interior.solve(rhs)
        return u
