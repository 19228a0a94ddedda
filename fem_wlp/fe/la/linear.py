"""Linear solvers: a sparse direct solver (PARDISO via pypardiso where it installs, SciPy otherwise) and
smoothed-aggregation AMG-preconditioned CG (pyamg) for large 3D models.

Measured on this 2-core machine (../shared/reference/solvers.md): 2D up to 2M DOF a direct solver wins
(PARDISO 0.9 s at 200k); 3D P1 at 200k DOF PARDISO 12.5 s vs AMG-CG 7.3 s, at 500k 60 s vs 20 s and 10x less
memory. `auto` therefore picks direct in 2D and in 3D below AUTO_3D_DIRECT_MAX dofs, AMG-CG above.
A solver that is not installed falls back with a one-line notice.
"""
from __future__ import annotations

import sys
from functools import partial

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from fem_wlp.errors import InputError

CHOICES = ("auto", "direct", "pardiso", "scipy", "amg")
AUTO_3D_DIRECT_MAX = 150_000
_notified: set[str] = set()


def _notice(msg: str):
    if msg not in _notified:
        _notified.add(msg)
        print(f"fem-wlp: note: {msg}", file=sys.stderr)


def _import_pypardiso():
    """Import pypardiso, pointing it at MKL directly (its own recursive search of sys.prefix takes ~0.7 s)."""
    import glob
    import os

    if "PYPARDISO_MKL_RT" not in os.environ:
        hits = sorted(glob.glob(os.path.join(sys.prefix, "lib", "libmkl_rt.so*")), key=len)
        if hits:
            os.environ["PYPARDISO_MKL_RT"] = hits[0]
    import pypardiso

    return pypardiso


def choose(name: str, dim: int, ndof: int) -> str:
    if name not in CHOICES:
        raise InputError("solver.linear", name, ", ".join(CHOICES))
    if name == "auto":
        name = "direct" if (dim == 2 or ndof <= AUTO_3D_DIRECT_MAX) else "amg"
    if name in ("direct", "pardiso"):
        try:
            _import_pypardiso()
            return "pardiso"
        except Exception:
            if name == "pardiso":
                _notice("pypardiso is not installed; using SciPy's sparse direct solver")
            return "scipy"
    if name == "amg":
        try:
            import pyamg  # noqa: F401
        except Exception:
            _notice("pyamg is not installed; using the sparse direct solver")
            return choose("direct", dim, ndof)
    return name


class LinearSolver:
    """factorize(K) once per new matrix, then solve(b) for one or several right-hand sides.

    `solve_reuse(K, b)` is the Newton workhorse: with a direct solver it keeps the last factorization and uses it
    as the preconditioner of CG on the current tangent K (the tangent changes only in the inelastic regions, so
    a few CG iterations replace a factorization); it refactorizes when CG needs more than `max_reuse_its`
    iterations or fails. With AMG the hierarchy is reused the same way.
    """

    def __init__(self, name: str, dim: int, ndof: int, coords=None, nc: int = 2, rtol: float = 1e-10,
                 reuse: bool = False, max_reuse_its: int = 25, threads: int | None = None):
        self.requested = name
        # PARDISO threads of this solver (None: MKL's setting). Fixed for the life of the factorization handle:
        # MKL crashes when the count changes between its analysis and later phases, so every call sets it
        # thread-locally and restores it
        self.threads = threads
        self.name = choose(name, dim, ndof)
        self.coords, self.nc, self.rtol = coords, nc, rtol
        self.reuse, self.max_reuse_its = reuse, max_reuse_its
        self.stats = {"factorizations": 0, "solves": 0, "iterations": 0, "time_factor_s": 0.0, "time_solve_s": 0.0,
                      "reused": 0}
        self._K = None
        self._impl = None
        self._ml = None
        self._factored = False

    def solve_reuse(self, K: sp.csr_matrix, b: np.ndarray) -> np.ndarray:
        """Solve K x = b, reusing the previous factorization as a CG preconditioner when possible."""
        import time

        if not (self.reuse and self._factored) or self.name == "amg":
            self.factorize(K)
            return self.solve(b)
        t0 = time.perf_counter()
        M = spla.LinearOperator(K.shape, matvec=self._direct_solve, dtype=float)
        try:
            x = self._cg(K, b, M, self.max_reuse_its)
        except RuntimeError:
            self.stats["time_solve_s"] += time.perf_counter() - t0
            self.factorize(K)
            return self.solve(b)
        self.stats["reused"] += 1
        self.stats["solves"] += 1
        self.stats["time_solve_s"] += time.perf_counter() - t0
        return x

    def _cg(self, K, b, M, maxiter):
        """Preconditioned CG column by column; raises RuntimeError when a column does not converge."""
        cols = [b] if b.ndim == 1 else [b[:, j] for j in range(b.shape[1])]
        out = []
        for bj in cols:
            it = [0]

            def cb(_x):
                it[0] += 1

            xj, info = spla.cg(K, bj, M=M, rtol=self.rtol, atol=0.0, maxiter=maxiter, callback=cb)
            self.stats["iterations"] += it[0]
            if info != 0:
                raise RuntimeError(f"CG did not converge in {it[0]} iterations")
            out.append(xj)
        return out[0] if b.ndim == 1 else np.column_stack(out)

    def _pardiso_factor(self, K):
        """Symbolic analysis once per sparsity pattern (phase 11), numeric factorization per matrix (phase 22).

        The pattern of fem_wlp's matrices never changes during a run, so re-analysis (METIS ordering, ~75 % of
        a factorization in 2D) is skipped for every Newton tangent after the first."""
        key = (K.shape[0], K.nnz, int(K.indices[:64].sum()), int(K.indices[-64:].sum()))
        if self._impl is None or key != getattr(self, "_pattern_key", None):
            pypardiso = _import_pypardiso()
            rows = np.repeat(np.arange(K.shape[0]), np.diff(K.indptr))
            self._upper = np.flatnonzero(K.indices >= rows)          # upper triangle, incl. diagonal
            up_rows = rows[self._upper]
            indptr = np.concatenate([[0], np.cumsum(np.bincount(up_rows, minlength=K.shape[0]))])
            self._triu = sp.csr_matrix((K.data[self._upper], K.indices[self._upper], indptr), shape=K.shape)
            self._impl = pypardiso.PyPardisoSolver(mtype=2)       # real symmetric positive definite
            self._impl.iparm[7] = 0      # no iterative refinement: Cholesky residuals are ~1e-12 already, and
                                         # refinement tripled the cost of every solve (measured 17 -> 6.5 ms)
            # 1-based int32 index arrays, made once per pattern (pypardiso would copy them on every call)
            self._ia = np.ascontiguousarray(self._triu.indptr, dtype=np.int32) + 1
            self._ja = np.ascontiguousarray(self._triu.indices, dtype=np.int32) + 1
            self._pardiso(11, np.zeros((K.shape[0], 1), order="F"))
            self._pattern_key = key
        else:
            self._triu.data[:] = K.data[self._upper]
        try:
            self._pardiso(22, np.zeros((K.shape[0], 1), order="F"))
        except RuntimeError as exc:
            if "error -4" not in str(exc) or self._impl.mtype != 2:
                raise
            # zero pivot in Cholesky: the tangent is indefinite (e.g. softening of Anand's deformation
            # resistance); switch for good to PARDISO's symmetric-indefinite factorization (Bunch-Kaufman)
            _notice("tangent not positive definite; using the symmetric-indefinite PARDISO factorization")
            self._impl.mtype = -2
            self._pardiso(11, np.zeros((K.shape[0], 1), order="F"))
            self._pardiso(22, np.zeros((K.shape[0], 1), order="F"))

    def _pardiso(self, phase: int, b: np.ndarray) -> np.ndarray:
        """One MKL PARDISO call on the cached upper-triangular matrix (b column-major, (n, nrhs))."""
        import ctypes

        impl, A = self._impl, self._triu
        x = np.zeros_like(b, order="F")
        err = ctypes.c_int32(0)
        i32 = ctypes.POINTER(ctypes.c_int32)
        f64 = ctypes.POINTER(ctypes.c_double)
        prev = impl.libmkl.MKL_Set_Num_Threads_Local(ctypes.c_int(self.threads)) if self.threads else None
        try:
            impl._mkl_pardiso(impl.pt.ctypes.data_as(ctypes.POINTER(impl._pt_type[0])),
                              ctypes.byref(ctypes.c_int32(1)), ctypes.byref(ctypes.c_int32(1)),
                              ctypes.byref(ctypes.c_int32(impl.mtype)), ctypes.byref(ctypes.c_int32(phase)),
                              ctypes.byref(ctypes.c_int32(A.shape[0])), A.data.ctypes.data_as(f64),
                              self._ia.ctypes.data_as(i32), self._ja.ctypes.data_as(i32),
                              impl.perm.ctypes.data_as(i32), ctypes.byref(ctypes.c_int32(b.shape[1])),
                              impl.iparm.ctypes.data_as(i32), ctypes.byref(ctypes.c_int32(impl.msglvl)),
                              b.ctypes.data_as(f64), x.ctypes.data_as(f64), ctypes.byref(err))
        finally:
            if prev is not None:
                impl.libmkl.MKL_Set_Num_Threads_Local(ctypes.c_int(prev))
        if err.value != 0:
            raise RuntimeError(f"PARDISO error {err.value} in phase {phase} (-4: zero pivot: the tangent is "
                               "not positive definite, e.g. an unconstrained rigid-body mode)")
        return x

    def _direct_solve(self, b):
        if self.name == "pardiso":
            b = np.asarray(b, dtype=float)
            x = self._pardiso(33, np.asfortranarray(b if b.ndim == 2 else b[:, None]))
            return np.ascontiguousarray(x) if b.ndim == 2 else x[:, 0].copy()
        return self._solve_fn(np.asarray(b, float))

    def factorize(self, K: sp.csr_matrix):
        import time

        t0 = time.perf_counter()
        self._K = K
        if self.name == "pardiso":
            self._pardiso_factor(K)
        elif self.name == "scipy":
            try:
                from sksparse.cholmod import cholesky  # optional, faster when installed

                self._impl = cholesky(K.tocsc())
                self._solve_fn = self._impl
            except Exception:
                lu = spla.splu(K.tocsc(), permc_spec="MMD_AT_PLUS_A")
                self._solve_fn = lu.solve
        elif self.name == "amg":
            if self._ml is None:                     # reuse the hierarchy across Newton iterations
                self._ml = SmoothedAggregation(K, rigid_body_modes(self.coords, self.nc), blocksize=self.nc)
        self._factored = True
        self.stats["factorizations"] += 1
        self.stats["time_factor_s"] += time.perf_counter() - t0

    def reset_preconditioner(self):
        self._ml = None

    def solve(self, b: np.ndarray) -> np.ndarray:
        import time

        t0 = time.perf_counter()
        if self.name in ("pardiso", "scipy"):
            x = self._direct_solve(b)
        else:
            try:
                x = self._cg(self._K, b, self._ml.preconditioner(), 2000)
            except RuntimeError:       # rebuild the hierarchy for the current matrix once and retry
                self._ml = None
                self.factorize(self._K)
                x = self._cg(self._K, b, self._ml.preconditioner(), 5000)
        self.stats["solves"] += 1
        self.stats["time_solve_s"] += time.perf_counter() - t0
        return x


class SmoothedAggregation:
    """Smoothed-aggregation AMG hierarchy (pyamg's building blocks) and its V-cycle as a CG preconditioner.

    The hierarchy is pyamg.smoothed_aggregation_solver(A, B, strength=("symmetric", {"theta": 0}),
    max_coarse=300, improve_candidates=None) with a forward block Gauss-Seidel pre- and a backward post-smoother
    (a symmetric V-cycle, as CG needs, at half the cost of symmetric sweeps), built here for two reasons measured
    on the 3D P1 box at 200k DOF (one core): pyamg's restarted-Arnoldi estimate of rho(D^-1 A) for the
    prolongation smoother took 0.7 s of a 2 s setup, where 10 Lanczos steps on D^-1/2 A D^-1/2 take 0.15 s (the
    Ritz value is within 4 % and the iteration count is unchanged); and pyamg's preconditioner computes two extra
    fine-level residual norms per application (2 of ~8 fine-level matrix passes). Improving the candidates (4
    symmetric Gauss-Seidel sweeps on A B = 0) cost 1.5 s for one CG iteration less, so it is off.

    The hierarchy (smoothers, transfers, Galerkin products) is kept in single precision (`dtype`): it is only a
    preconditioner, CG runs on the float64 matrix and its float64 residual decides convergence, so the solution
    is as accurate; half the memory traffic made the setup 1.9 -> 1.4 s and CG 2.8 -> 2.1 s at 200k DOF with the
    same 25 iterations and final residual. The coarsest operator is factorized in float64 (it can be the
    worst-conditioned level, and it is tiny). The Gauss-Seidel sweeps are the compiled ones of `_kernels`
    (unrolled 3x3 / 6x6 blocks: 8 instead of 21-26 ms per fine-level sweep), which took CG from 2.1 to 1.3 s.
    """

    def __init__(self, A, B: np.ndarray, max_coarse: int = 300, omega: float = 4.0 / 3.0,
                 lanczos_steps: int = 10, max_levels: int = 10, dtype=np.float32, blocksize: int | None = None):
        from pyamg.aggregation.aggregate import standard_aggregation
        from pyamg.aggregation.tentative import fit_candidates
        from pyamg.multilevel import MultilevelSolver
        from pyamg.strength import symmetric_strength_of_connection
        from pyamg.util.utils import get_block_diag, get_diagonal, scale_rows

        from fem_wlp.fe.kernels import block_gauss_seidel

        self.dtype = np.dtype(dtype)
        if A.dtype != self.dtype:                   # cast first: the BSR conversion is then in single precision
            A = A.astype(self.dtype)
        if A.format != "bsr":
            A = A.tobsr(blocksize=(blocksize, blocksize))
        A.symmetry = "hermitian"
        B = np.asarray(B, dtype=self.dtype)
        levels = [MultilevelSolver.Level()]
        levels[0].A, levels[0].B = A, B
        while A.shape[0] // A.blocksize[0] > max_coarse and len(levels) < max_levels:
            agg = standard_aggregation(symmetric_strength_of_connection(A, theta=0.0))[0]
            T, Bc = fit_candidates(agg, B)
            dinv = get_diagonal(A, inv=True)
            rho = _lanczos_max(A, np.sqrt(dinv), lanczos_steps)
            # P = (I - omega / rho D^-1 A) T, the row scaling applied to A T (far fewer entries than A)
            P = (T - scale_rows((A @ T).tobsr(), dinv * (omega / rho), copy=False)).tobsr(
                blocksize=(A.blocksize[0], Bc.shape[1]))
            R = P.T.tobsr()
            levels[-1].P, levels[-1].R = P, R
            A = (R @ A @ P).tobsr()
            A.symmetry = "hermitian"
            levels.append(MultilevelSolver.Level())
            levels[-1].A, levels[-1].B = A, Bc
            B = Bc
        self.ml = MultilevelSolver(levels)
        for L in levels[:-1]:                        # the compiled sweep of _kernels (3x pyamg's on 3x3 blocks)
            Dinv = get_block_diag(L.A, blocksize=L.A.blocksize[0], inv_flag=True)
            L.presmoother = partial(block_gauss_seidel, Dinv=Dinv, forward=True)
            L.postsmoother = partial(block_gauss_seidel, Dinv=Dinv, forward=False)
        self.levels = levels
        Ac = levels[-1].A.toarray().astype(np.float64)
        dt = self.dtype
        try:                                         # SPD coarse operator: Cholesky; singular (free body): pinv
            import scipy.linalg as sla

            cf = sla.cho_factor(Ac)
            self._coarse = lambda b: sla.cho_solve(cf, b.astype(np.float64)).astype(dt)
        except np.linalg.LinAlgError:
            Ainv = np.linalg.pinv(Ac, hermitian=True)
            self._coarse = lambda b: (Ainv @ b.astype(np.float64)).astype(dt)

    def operator_complexity(self) -> float:
        return self.ml.operator_complexity()

    def _cycle(self, lvl: int, b: np.ndarray) -> np.ndarray:
        if lvl == len(self.levels) - 1:
            return self._coarse(b)
        L = self.levels[lvl]
        x = np.zeros_like(b)
        L.presmoother(L.A, x, b)
        x += L.P @ self._cycle(lvl + 1, L.R @ (b - L.A @ x))
        L.postsmoother(L.A, x, b)
        return x

    def preconditioner(self) -> spla.LinearOperator:
        """One V-cycle from a zero initial guess."""
        n = self.levels[0].A.shape[0]
        dt = self.dtype
        return spla.LinearOperator(
            (n, n), matvec=lambda b: self._cycle(0, np.asarray(b, dt).ravel()).astype(np.float64), dtype=float)


def _lanczos_max(A, d, steps: int) -> float:
    """Largest Ritz value of D^-1/2 A D^-1/2 (d = diag(A)^-1/2) after `steps` Lanczos steps (fixed start vector).
    Vectors in A's precision (a float64 vector would make scipy convert a float32 A on every product)."""
    v = np.random.default_rng(0).standard_normal(A.shape[0]).astype(A.dtype)
    d = np.asarray(d, A.dtype)
    v /= np.linalg.norm(v)
    v_old = np.zeros_like(v)
    alpha, beta = [], [0.0]
    for _ in range(steps):
        w = d * (A @ (d * v)) - beta[-1] * v_old
        alpha.append(float(v @ w))
        w -= alpha[-1] * v
        beta.append(float(np.linalg.norm(w)))
        if beta[-1] <= 1e-12 * abs(alpha[-1]):
            break
        v_old, v = v, w / beta[-1]
    k = len(alpha)
    T = np.diag(alpha) + np.diag(beta[1:k], 1) + np.diag(beta[1:k], -1)
    return float(np.linalg.eigvalsh(T)[-1])


def rigid_body_modes(coords: np.ndarray, nc: int) -> np.ndarray:
    """Rigid-body modes (ndof, 3 in 2D / 6 in 3D) for nodal coordinates (dim, nnodes), dof = node*nc + c."""
    n = coords.shape[1]
    if nc == 2:
        B = np.zeros((n, 2, 3))
        B[:, 0, 0] = 1
        B[:, 1, 1] = 1
        B[:, 0, 2], B[:, 1, 2] = -coords[1], coords[0]
        return B.reshape(2 * n, 3)
    x, y, z = coords
    B = np.zeros((n, 3, 6))
    B[:, 0, 0] = B[:, 1, 1] = B[:, 2, 2] = 1
    B[:, 0, 3], B[:, 1, 3] = -y, x
    B[:, 1, 4], B[:, 2, 4] = -z, y
    B[:, 0, 5], B[:, 2, 5] = z, -x
    return B.reshape(3 * n, 6)
