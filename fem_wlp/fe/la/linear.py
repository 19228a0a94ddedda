"""The linear solver of the Newton iterations: a sparse direct solver (PARDISO via pypardiso where it installs,
SciPy otherwise; direct.py) or smoothed-aggregation AMG-preconditioned CG (pyamg; amg.py) for large 3D models.

`auto` picks direct in 2D and in 3D below AUTO_3D_DIRECT_MAX dofs, AMG-CG above: a direct solver wins for every
2D size fem_wlp meets, while in 3D AMG-CG is faster on single solves of large well-conditioned problems and
needs far less memory (benchmarks/README.md). A solver that is not installed falls back with a one-line notice.
"""
from __future__ import annotations

import time

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from fem_wlp.errors import InputError
from fem_wlp.fe.la.amg import SmoothedAggregation, rigid_body_modes
from fem_wlp.fe.la.direct import Pardiso, import_pypardiso, scipy_factor
from fem_wlp.fe.la.notices import notice

CHOICES = ("auto", "direct", "pardiso", "scipy", "amg")
#: 400k (150k until session 7): a box-problem single solve favours AMG-CG from ~200k DOF (benchmarks/README.md),
#: but on the thin-layered package models AMG-CG needs ~61 iterations per solve and the direct factorization is
#: reused by modified Newton -- measured on the 182k-DOF package3d global model: PARDISO 23 s per factorization
#: then 1.3 s per re-solve against 57 s per AMG-CG solve; peak memory 1.6 GB there, 5.3 GB for a 369k-DOF
#: quadratic submodel (within the issue-13 budget of 8 GB)
AUTO_3D_DIRECT_MAX = 400_000


def choose(name: str, dim: int, ndof: int) -> str:
    """The back-end that runs for the requested `name` (solver.linear) on a problem of dimension dim."""
    if name not in CHOICES:
        raise InputError("solver.linear", name, ", ".join(CHOICES))
    if name == "auto":
        name = "direct" if (dim == 2 or ndof <= AUTO_3D_DIRECT_MAX) else "amg"
    if name in ("direct", "pardiso"):
        try:
            import_pypardiso()
            return "pardiso"
        except Exception:
            if name == "pardiso":
                notice("pypardiso is not installed; using SciPy's sparse direct solver")
            return "scipy"
    if name == "amg":
        try:
            import pyamg  # noqa: F401  (optional dependency: only whether it imports)
        except Exception:
            notice("pyamg is not installed; using the sparse direct solver")
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
        self.threads = threads          # PARDISO threads (None: MKL's setting; see direct.Pardiso)
        self.name = choose(name, dim, ndof)
        self.coords, self.nc, self.rtol = coords, nc, rtol
        self.reuse, self.max_reuse_its = reuse, max_reuse_its
        self.stats = {"factorizations": 0, "solves": 0, "iterations": 0, "time_factor_s": 0.0, "time_solve_s": 0.0,
                      "reused": 0}
        self._K = None
        self._pardiso = None
        self._solve_fn = None
        self._ml = None
        self._factored = False
        self._factor_size = None

    @property
    def factor_size(self) -> dict | None:
        """{"flops", "entries"} of the current direct factorization (fe/solver/cost.py), None before one or with
        AMG."""
        if self.name == "pardiso" and self._factored:
            return self._pardiso.factor_size()
        if callable(self._factor_size):           # SciPy: computed once per factorization, when first asked
            self._factor_size = self._factor_size()
        return self._factor_size

    def solve_reuse(self, K: sp.csr_matrix, b: np.ndarray) -> np.ndarray:
        """Solve K x = b, reusing the previous factorization as a CG preconditioner when possible."""
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
        out = [self._cg_column(K, bj, M, maxiter) for bj in cols]
        return out[0] if b.ndim == 1 else np.column_stack(out)

    def _cg_column(self, K, b, M, maxiter):
        its = [0]

        def count(_x):
            its[0] += 1

        x, info = spla.cg(K, b, M=M, rtol=self.rtol, atol=0.0, maxiter=maxiter, callback=count)
        self.stats["iterations"] += its[0]
        if info != 0:
            raise RuntimeError(f"CG did not converge in {its[0]} iterations")
        return x

    def _direct_solve(self, b):
        if self.name == "pardiso":
            return self._pardiso.solve(b)
        return self._solve_fn(np.asarray(b, float))

    def factorize(self, K: sp.csr_matrix):
        t0 = time.perf_counter()
        self._K = K
        if self.name == "pardiso":
            if self._pardiso is None:
                self._pardiso = Pardiso(self.threads)
            self._pardiso.factorize(K)
        elif self.name == "scipy":
            self._solve_fn, self._factor_size = scipy_factor(K)
        elif self.name == "amg":
            if self._ml is None:                     # reuse the hierarchy across Newton iterations
                self._ml = SmoothedAggregation(K, rigid_body_modes(self.coords, self.nc), blocksize=self.nc)
        self._factored = True
        self.stats["factorizations"] += 1
        self.stats["time_factor_s"] += time.perf_counter() - t0

    def solve(self, b: np.ndarray) -> np.ndarray:
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
