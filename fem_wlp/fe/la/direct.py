"""Sparse direct back-ends: MKL PARDISO through pypardiso (where it installs) and SciPy (CHOLMOD from scikit-sparse
when installed, SuperLU otherwise). PARDISO is called through its ctypes entry point with index arrays made once
per sparsity pattern (pypardiso would convert them on every call); the Schur-complement option serves the static
condensation (fe/solver/condense.py)."""
from __future__ import annotations

import ctypes
import glob
import os
import sys

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from fem_wlp.fe.la.notices import notice

_I32, _F64 = ctypes.POINTER(ctypes.c_int32), ctypes.POINTER(ctypes.c_double)


def import_pypardiso():
    """Import pypardiso, pointing it at MKL directly (its own search walks all of sys.prefix)."""
    if "PYPARDISO_MKL_RT" not in os.environ:
        hits = sorted(glob.glob(os.path.join(sys.prefix, "lib", "libmkl_rt.so*")), key=len)
        if hits:
            os.environ["PYPARDISO_MKL_RT"] = hits[0]
    import pypardiso

    return pypardiso


def _mkl_pardiso(solver, mtype, phase, n, data, ia, ja, perm, nrhs, iparm, msglvl, b, x) -> int:
    """One call of MKL's pardiso() with the handle of the pypardiso solver object `solver`; returns the error code."""
    err = ctypes.c_int32(0)
    solver._mkl_pardiso(solver.pt.ctypes.data_as(ctypes.POINTER(solver._pt_type[0])),
                        ctypes.byref(ctypes.c_int32(1)), ctypes.byref(ctypes.c_int32(1)),
                        ctypes.byref(ctypes.c_int32(mtype)), ctypes.byref(ctypes.c_int32(phase)),
                        ctypes.byref(ctypes.c_int32(n)), data.ctypes.data_as(_F64), ia.ctypes.data_as(_I32),
                        ja.ctypes.data_as(_I32), perm.ctypes.data_as(_I32), ctypes.byref(ctypes.c_int32(nrhs)),
                        iparm.ctypes.data_as(_I32), ctypes.byref(ctypes.c_int32(msglvl)), b.ctypes.data_as(_F64),
                        x.ctypes.data_as(_F64), ctypes.byref(err))
    return err.value


class Pardiso:
    """PARDISO factorization of a symmetric matrix given as full CSR (its upper triangle is passed on).

    Symbolic analysis once per sparsity pattern (phase 11), numeric factorization per matrix (phase 22): the
    pattern of fem_wlp's matrices never changes during a run, so the re-analysis (METIS ordering, most of a
    factorization in 2D) is skipped for every Newton tangent after the first. `threads`: PARDISO threads (None:
    MKL's setting), fixed for the life of the handle -- MKL crashes when the count changes between its analysis
    and later phases, so every call sets it thread-locally and restores it."""

    def __init__(self, threads: int | None = None):
        self.threads = threads
        self._impl = None
        self._pattern_key = None

    def factorize(self, K: sp.csr_matrix):
        # K.general (set by newton.increment from the contact set: frictional contact slides): a non-symmetric
        # tangent, factorized as a general matrix (PARDISO mtype 11, the full CSR) instead of its upper triangle
        general = bool(getattr(K, "general", False))
        key = (K.shape[0], K.nnz, int(K.indices[:64].sum()), int(K.indices[-64:].sum()), general)
        if self._impl is None or key != self._pattern_key:
            self._analyse(K, general)
            self._pattern_key = key
        else:
            self._triu.data[:] = K.data[self._upper]
        try:
            self._call(22, np.zeros((K.shape[0], 1), order="F"))
        except RuntimeError as exc:
            if "error -4" not in str(exc) or self._impl.mtype != 2:
                raise
            # zero pivot in Cholesky: the tangent is indefinite or numerically singular. Found (session 8) on the
            # quadratic package submodels: two negative eigenvalues from the negative centroid weight of the 5-point
            # tetrahedron rule under a creep tangent that differs between the points (fe/kinematics.positive_degree,
            # now avoided); kept as the fallback for any other cause (e.g. a region held only by open contact).
            # Switch for good to PARDISO's symmetric-indefinite factorization (Bunch-Kaufman, pivot perturbation)
            notice("Cholesky met a (near-)zero pivot: the tangent is indefinite or numerically singular; using the "
                   "symmetric-indefinite PARDISO factorization")
            self._impl.mtype = -2
            self._call(11, np.zeros((K.shape[0], 1), order="F"))
            self._call(22, np.zeros((K.shape[0], 1), order="F"))

    def _analyse(self, K, general: bool = False):
        """Upper triangle (general: the whole matrix) and 1-based int32 index arrays of a new pattern, and its
        symbolic analysis."""
        pypardiso = import_pypardiso()
        rows = np.repeat(np.arange(K.shape[0]), np.diff(K.indptr))
        self._upper = (np.arange(K.nnz) if general
                       else np.flatnonzero(K.indices >= rows))          # upper triangle, incl. diagonal
        up_rows = rows[self._upper]
        indptr = np.concatenate([[0], np.cumsum(np.bincount(up_rows, minlength=K.shape[0]))])
        self._triu = sp.csr_matrix((K.data[self._upper], K.indices[self._upper], indptr), shape=K.shape)
        if general:                  # real non-symmetric: MKL's defaults (scaling, matching, 2 refinement steps)
            self._impl = pypardiso.PyPardisoSolver(mtype=11)
        else:
            self._impl = pypardiso.PyPardisoSolver(mtype=2)       # real symmetric positive definite
            self._impl.iparm[7] = 0  # no iterative refinement: Cholesky residuals are ~1e-12 already, and
                                     # refinement multiplies the cost of every solve
        self._ia = np.ascontiguousarray(self._triu.indptr, dtype=np.int32) + 1
        self._ja = np.ascontiguousarray(self._triu.indices, dtype=np.int32) + 1
        self._call(11, np.zeros((K.shape[0], 1), order="F"))

    def factor_size(self) -> dict:
        """{"flops", "entries"} of the current factorization, as PARDISO reports them after its analysis (iparm(19),
        10^6 flops, and iparm(18), entries of the factor); flops estimated from the entries where it reports none."""
        entries = float(max(self._impl.iparm[17], 0))
        flops = float(self._impl.iparm[18]) * 1e6
        return {"entries": entries, "flops": flops if flops > 0 else entries * entries / max(self._triu.shape[0], 1)}

    def solve(self, b) -> np.ndarray:
        """x for one right-hand side (n,) or several (n, k) (any memory order)."""
        b = np.asarray(b, dtype=float)
        x = self._call(33, np.asfortranarray(b if b.ndim == 2 else b[:, None]))
        return np.ascontiguousarray(x) if b.ndim == 2 else x[:, 0].copy()

    def _call(self, phase: int, b: np.ndarray) -> np.ndarray:
        """One PARDISO phase on the cached upper-triangular matrix (b column-major, (n, nrhs))."""
        impl, A = self._impl, self._triu
        x = np.zeros_like(b, order="F")
        prev = impl.libmkl.MKL_Set_Num_Threads_Local(ctypes.c_int(self.threads)) if self.threads else None
        try:
            err = _mkl_pardiso(impl, impl.mtype, phase, A.shape[0], A.data, self._ia, self._ja, impl.perm,
                               b.shape[1], impl.iparm, impl.msglvl, b, x)
        finally:
            if prev is not None:
                impl.libmkl.MKL_Set_Num_Threads_Local(ctypes.c_int(prev))
        if err != 0:
            raise RuntimeError(f"PARDISO error {err} in phase {phase} (-4: zero pivot: the tangent is "
                               "not positive definite, e.g. an unconstrained rigid-body mode)")
        return x


def scipy_factor(K: sp.csr_matrix):
    """(solve function, size function) of a sparse direct factorization of K: CHOLMOD when scikit-sparse is
    installed (faster), SuperLU otherwise. The size function gives {"flops", "entries"} of the factor (flops: sum
    over its columns of (column count)^2 for Cholesky, twice that for LU); it is called only when asked, since
    CHOLMOD's L() copies the factor."""
    try:
        if getattr(K, "general", False):          # non-symmetric (see Pardiso.factorize): LU
            raise ValueError
        from sksparse.cholmod import cholesky  # optional dependency

        f = cholesky(K.tocsc())
        return f, lambda: _column_size(f.L(), 1.0)
    except Exception:
        lu = spla.splu(K.tocsc(), permc_spec="MMD_AT_PLUS_A")
        return lu.solve, lambda: {**_column_size(lu.L, 2.0), "entries": float(lu.L.nnz + lu.U.nnz)}


def _column_size(L, flops_per_entry_squared: float) -> dict:
    counts = np.diff(L.indptr).astype(float)
    return {"entries": float(counts.sum()), "flops": flops_per_entry_squared * float((counts ** 2).sum())}


def schur_complement(A: sp.csr_matrix, n_interior: int) -> np.ndarray | None:
    """Dense Schur complement A_BB - A_BI A_II^-1 A_IB of the symmetric matrix A = [[A_II, A_IB], [A_BI, A_BB]]
    (B = the last rows) from one partial PARDISO factorization (iparm[35] = 1: the factorization stops before
    B and returns the complement, far cheaper than block solves with the interior factor).
    A_BB's complement may be singular (rigid-body modes of the elastic part), hence the indefinite type.
    None when PARDISO is not available."""
    try:
        pypardiso = import_pypardiso()
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

    def call(phase):
        return _mkl_pardiso(solver, -2, phase, n, data, ia, ja, perm, 1, iparm, 0, b, x)

    try:
        err = call(12)
        if err != 0 or iparm[35] != 1:
            return None
        S = x[: nB * nB].reshape(nB, nB).copy()
    finally:
        call(-1)              # release PARDISO's memory
    return 0.5 * (S + S.T)
