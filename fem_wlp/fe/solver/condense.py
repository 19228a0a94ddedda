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
(`schur_complement`), or from blocks of solves with the interior factor without PARDISO.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from fem_wlp.fe.assembly import constraint_positions

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
        n = disc.ndof
        self.gps = disc.gps
        e = 1 if self.gps else 0
        nN = N.size
        self.size = nN + e
        gmap = np.full(n, -1, dtype=np.int64)
        gmap[N] = np.arange(nN)
        G = interface(disc, N, I)
        self.G = G
        nG = G.size
        Ks = disc.K_static
        cs = a._static_coupling
        # the static stiffness on J = [I, G] (+ the e_zz border), and its Schur complement on G (+ e_zz)
        J = np.concatenate([I, G])
        A = Ks[J][:, J]
        if self.gps:
            A = sp.bmat([[A, sp.csr_matrix(cs[J][:, None])], [sp.csr_matrix(cs[J][None, :]),
                                                              sp.csr_matrix([[a._static_kee]])]])
        A = A.tocsr()
        KII = A[: I.size][:, : I.size].tocsr()
        self.interior = solver_factory(I.size)              # kept for the recovery of u_I
        self.interior.factorize(KII)
        KIB = A[: I.size][:, I.size:]                        # (|I|, |G| + e)
        S = schur_complement(A, I.size)
        if S is None:                                        # no PARDISO: K_BB - K_BI K_II^-1 K_IB by blocks
            S = A[I.size:][:, I.size:].toarray()
            for j0 in range(0, KIB.shape[1], RHS_BLOCK):
                j1 = min(j0 + RHS_BLOCK, KIB.shape[1])
                X = self.interior.solve(np.asfortranarray(KIB[:, j0:j1].toarray()))
                S[:, j0:j1] -= KIB.T @ X
        # thermal loads: K_BI K_II^-1 g_a,I
        th = disc.thermal_vectors
        corr_th = np.zeros((KIB.shape[1], len(th)))
        if th:
            X = self.interior.solve(np.asfortranarray(np.column_stack([g[I] for _, _, g, _ in th])))
            corr_th = np.asarray(KIB.T @ X).reshape(KIB.shape[1], len(th))
        # reduced pattern: the full pattern restricted to N, the dense G x G block, the e_zz border
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
        gr = gmap[G]
        gg = np.concatenate([gr, [nN]]) if self.gps else gr            # dense block indices (reduced)
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
        # constant part: the static stiffness on N, its G x G (+ e_zz) block replaced by the complement S
        static_buf = np.concatenate([a._static, a._static_coupling, [a._static_kee], [0.0]])
        self.static_data = static_buf[src].copy()
        pos = np.searchsorted(key[first], (gg[:, None] * self.size + gg[None, :]).ravel())
        self.static_data[pos] = S.ravel()                 # the complete reduced static stiffness on G (+ e_zz)
        # reduced thermal loads g^_a (on N, and h^_a for e_zz)
        self.thermal = []
        for k, (i, ax, g, h) in enumerate(th):
            gh = np.zeros(self.size)
            gh[:nN] = g[N]
            gh[gr] -= corr_th[:nG, k]
            if self.gps:
                gh[nN] = h - corr_th[nG, k]
            self.thermal.append((i, ax, gh))
        # constraints on the reduced pattern
        mask = np.zeros(self.size, bool)
        mask[gmap[a.constrained]] = True
        self.zero_pos, self.diag_pos = constraint_positions(self.indptr, self.indices, mask)
        self.S = sp.csr_matrix((self.static_data, self.indices, self.indptr), shape=(self.size, self.size))
        self.KIG, self.cs_I = KIB[:, :nG].tocsr(), cs[I]
        self.g_I = [(i, ax, g[I]) for i, ax, g, _ in th]
        self._buf = None
        self._K = None

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


def schur_complement(A: sp.csr_matrix, n_interior: int) -> np.ndarray | None:
    """Dense Schur complement A_BB - A_BI A_II^-1 A_IB of the symmetric matrix A = [[A_II, A_IB], [A_BI, A_BB]]
    (B = the last rows) from one partial PARDISO factorization (iparm[35] = 1: the factorization stops before
    B and returns the complement; measured 0.23 s instead of 6 s of block solves for |I| = 39k, |B| = 584).
    A_BB's complement may be singular (rigid-body modes of the elastic part), hence the indefinite type.
    None when PARDISO is not available."""
    import ctypes

    try:
        from fem_wlp.fe.la.linear import _import_pypardiso

        pypardiso = _import_pypardiso()
    except Exception:
        return None
    n = A.shape[0]
    nB = n - n_interior
    T = sp.triu(A, format="csr")
    T.sort_indices()
    solver = pypardiso.PyPardisoSolver(mtype=-2)
    iparm = solver.iparm
    iparm[:] = 0
    iparm[0] = 1          # no defaults: the values below
    iparm[1] = 2          # METIS ordering
    iparm[9] = 8          # pivot perturbation 1e-8 (symmetric indefinite default)
    iparm[23] = 10        # two-level factorization (required with the Schur option)
    iparm[35] = 1         # Schur complement of the rows marked in perm, returned dense in x
    perm = np.zeros(n, dtype=np.int32)
    perm[n_interior:] = 1
    ia = (T.indptr + 1).astype(np.int32)
    ja = (T.indices + 1).astype(np.int32)
    data = np.ascontiguousarray(T.data, dtype=float)
    x = np.zeros(max(nB * nB, n))
    b = np.zeros(n)
    i32, f64 = ctypes.POINTER(ctypes.c_int32), ctypes.POINTER(ctypes.c_double)

    def call(phase):
        err = ctypes.c_int32(0)
        solver._mkl_pardiso(solver.pt.ctypes.data_as(ctypes.POINTER(solver._pt_type[0])),
                            ctypes.byref(ctypes.c_int32(1)), ctypes.byref(ctypes.c_int32(1)),
                            ctypes.byref(ctypes.c_int32(-2)), ctypes.byref(ctypes.c_int32(phase)),
                            ctypes.byref(ctypes.c_int32(n)), data.ctypes.data_as(f64), ia.ctypes.data_as(i32),
                            ja.ctypes.data_as(i32), perm.ctypes.data_as(i32), ctypes.byref(ctypes.c_int32(1)),
                            iparm.ctypes.data_as(i32), ctypes.byref(ctypes.c_int32(0)), b.ctypes.data_as(f64),
                            x.ctypes.data_as(f64), ctypes.byref(err))
        return err.value

    try:
        err = call(12)
        if err != 0 or iparm[35] != 1:
            return None
        S = x[: nB * nB].reshape(nB, nB).copy()
    finally:
        call(-1)              # release PARDISO's memory
    return 0.5 * (S + S.T)
