"""Smoothed-aggregation algebraic multigrid (pyamg's building blocks) as the preconditioner of CG for large 3D
models, and the rigid-body modes it needs as near-nullspace candidates."""
from __future__ import annotations

from functools import partial

import numpy as np
import scipy.linalg as sla
import scipy.sparse.linalg as spla

from fem_wlp.fe.kernels import block_gauss_seidel


class SmoothedAggregation:
    """Smoothed-aggregation AMG hierarchy (pyamg's building blocks) and its V-cycle as a CG preconditioner.

    The hierarchy is pyamg.smoothed_aggregation_solver(A, B, strength=("symmetric", {"theta": 0}),
    max_coarse=300, improve_candidates=None) with a forward block Gauss-Seidel pre- and a backward post-smoother
    (a symmetric V-cycle, as CG needs, at half the cost of symmetric sweeps). It is built here rather than by
    pyamg because pyamg's restarted-Arnoldi estimate of rho(D^-1 A) for the prolongation smoother is a large part
    of its setup, where a few Lanczos steps on D^-1/2 A D^-1/2 give a Ritz value close enough to leave the
    iteration count unchanged; and because pyamg's preconditioner computes two extra fine-level residual norms per
    application. Improving the candidates (Gauss-Seidel sweeps on A B = 0) costs more setup than the CG
    iteration it saves, so it is off.

    The hierarchy (smoothers, transfers, Galerkin products) is kept in single precision (`dtype`): it is only a
    preconditioner, CG runs on the float64 matrix and its float64 residual decides convergence, so the solution
    is as accurate, with half the memory traffic. The coarsest operator is factorized in float64 (it can be the
    worst-conditioned level, and it is tiny). The Gauss-Seidel sweeps are the compiled ones of fe/kernels.py
    (unrolled 3x3 / 6x6 blocks). Timings: benchmarks/README.md.
    """

    def __init__(self, A, B: np.ndarray, max_coarse: int = 300, omega: float = 4.0 / 3.0,
                 lanczos_steps: int = 10, max_levels: int = 10, dtype=np.float32, blocksize: int | None = None):
        # pyamg is optional: linear.choose() falls back to a direct solver without it
        from pyamg.aggregation.aggregate import standard_aggregation
        from pyamg.aggregation.tentative import fit_candidates
        from pyamg.multilevel import MultilevelSolver
        from pyamg.strength import symmetric_strength_of_connection
        from pyamg.util.utils import get_block_diag, get_diagonal, scale_rows

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
            rho = lanczos_max(A, np.sqrt(dinv), lanczos_steps)
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
        for L in levels[:-1]:                        # the compiled sweep of fe/kernels.py
            Dinv = get_block_diag(L.A, blocksize=L.A.blocksize[0], inv_flag=True)
            L.presmoother = partial(block_gauss_seidel, Dinv=Dinv, forward=True)
            L.postsmoother = partial(block_gauss_seidel, Dinv=Dinv, forward=False)
        self.levels = levels
        Ac = levels[-1].A.toarray().astype(np.float64)
        dt = self.dtype
        try:                                         # SPD coarse operator: Cholesky; singular (free body): pinv
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


def lanczos_max(A, d, steps: int) -> float:
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
