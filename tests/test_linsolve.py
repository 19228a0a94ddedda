"""Linear solvers: every backend solves SPD systems with one or several (C- or F-ordered, strided) right-hand
sides, refactorizes with new values on the same pattern, and falls back when asked for a missing backend."""
import numpy as np
import pytest
import scipy.sparse as sp

from fem_wlp.linsolve import LinearSolver, choose


def _spd(n=400, seed=0):
    rng = np.random.default_rng(seed)
    A = sp.random(n, n, density=0.02, random_state=seed, format="csr")
    A = A @ A.T + sp.eye(n) * n * 0.05
    A = A.tocsr()
    A.sort_indices()
    return A, rng


@pytest.mark.parametrize("name", ["direct", "scipy"])
def test_direct_solvers_multi_rhs_and_refactorization(name):
    A, rng = _spd()
    s = LinearSolver(name, 2, A.shape[0])
    s.factorize(A)
    b = rng.standard_normal((A.shape[0], 3))
    for rhs in (b, np.asfortranarray(b), b[:, ::2], b[:, 0]):
        x = s.solve(rhs)
        assert np.linalg.norm(A @ x - rhs) <= 1e-10 * np.linalg.norm(rhs)
    A2 = A.copy()
    A2.data = A2.data * 2.0            # same pattern, new values: numeric refactorization only
    s.factorize(A2)
    x = s.solve(b)
    assert np.linalg.norm(A2 @ x - b) <= 1e-10 * np.linalg.norm(b)


def test_reuse_as_preconditioner_converges_to_the_new_matrix():
    A, rng = _spd()
    s = LinearSolver("direct", 2, A.shape[0], reuse=True)
    s.factorize(A)
    A2 = A + sp.diags(rng.random(A.shape[0]) * 0.1 * A.diagonal())
    b = rng.standard_normal(A.shape[0])
    x = s.solve_reuse(A2.tocsr(), b)
    assert np.linalg.norm(A2 @ x - b) <= 1e-8 * np.linalg.norm(b)
    assert s.stats["reused"] == 1


def test_auto_choice_follows_dimension_and_size():
    assert choose("auto", 2, 10_000_000) in ("pardiso", "scipy")
    assert choose("auto", 3, 1_000_000) == "amg"
    with pytest.raises(Exception, match="solver.linear"):
        choose("magic", 2, 10)
