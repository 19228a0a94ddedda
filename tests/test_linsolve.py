"""Linear solvers: every backend solves SPD systems with one or several (C- or F-ordered, strided) right-hand
sides, refactorizes with new values on the same pattern, and falls back when asked for a missing backend."""
import numpy as np
import pytest
import scipy.sparse as sp

from fem_wlp.fe.la.linear import LinearSolver, choose


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


def test_amg_matches_direct_on_3d_elasticity():
    """Smoothed-aggregation AMG-CG (rigid-body modes) gives the direct solution of a thermoelastic 3D box."""
    import skfem

    from fem_wlp.materials import material_from_spec
    from fem_wlp.fe.mesh import FEMesh
    from fem_wlp.fe.problem import Model, Temperature, boundary_constraint
    from fem_wlp.fe.solver.discretization import Discretization
    from fem_wlp.fe.solver.settings import SolverSettings
    from fem_wlp.fe.solver import run

    m = skfem.MeshTet.init_tensor(*(np.linspace(0, 1, 9),) * 3).with_subdomains(
        {"a": lambda x: x[2] < 0.5, "b": lambda x: x[2] >= 0.5}).with_boundaries(
        {"bottom": lambda x: np.isclose(x[2], 0.0)})
    fm = FEMesh.from_skfem(m)
    mats = {"a": material_from_spec("a", {"E": 120000.0, "nu": 0.34, "alpha": 17e-6}),
            "b": material_from_spec("b", {"E": 45000.0, "nu": 0.36, "alpha": 21e-6})}
    u = {}
    for lin in ("amg", "direct"):
        model = Model(fm, "3d", mats, (boundary_constraint(fm, "bottom", ["x", "y", "z"]),),
                      Temperature.uniform_step(25.0, -75.0))
        d = Discretization(model, SolverSettings(linear_solver=lin))
        f = list(run(model, [0.0, 1.0], disc=d))[-1]
        # the linear solve stops at a relative residual of 1e-8: one Newton iteration, residual below 1e-8
        assert f.iterations == 1 and f.residuals[-1] <= 1e-8
        u[lin] = f.u
        if lin == "amg":
            assert d.linear.name == "amg" and d.linear.stats["iterations"] > 0
            assert len(d.linear._ml.levels) >= 2                  # a real multilevel hierarchy (729 nodes)
    # max |u| within 1e-6 of the direct solution (the accuracy asked of AMG-CG), the field within 1e-7 (L2);
    # measured 1.4e-9 and 5.4e-9
    umax = np.abs(u["direct"]).max()
    assert abs(np.abs(u["amg"]).max() - umax) <= 1e-6 * umax
    assert np.linalg.norm(u["amg"] - u["direct"]) <= 1e-7 * np.linalg.norm(u["direct"])


def test_amg_vcycle_is_a_symmetric_positive_preconditioner():
    """CG needs a symmetric positive definite preconditioner: the V-cycle (forward Gauss-Seidel before, backward
    after the coarse correction, exact coarse solve) is one; the Lanczos estimate of rho(D^-1 A) is a Ritz value."""
    import skfem

    from fem_wlp.fe.la.amg import SmoothedAggregation, lanczos_max, rigid_body_modes
    from skfem.models.elasticity import lame_parameters, linear_elasticity

    m = skfem.MeshTet.init_tensor(*(np.linspace(0, 1, 8),) * 3)
    ib = skfem.Basis(m, skfem.ElementVector(skfem.ElementTetP1(), 3))
    K = linear_elasticity(*lame_parameters(1e5, 0.3)).assemble(ib)
    free = (~np.isin(np.arange(K.shape[0]), ib.get_dofs(lambda x: np.isclose(x[2], 0.0)).flatten())).astype(float)
    Kc = sp.diags(free) @ K @ sp.diags(free) + sp.diags(1.0 - free)        # clamped bottom: identity rows
    nd = ib.nodal_dofs.T.ravel()                                           # fem_wlp's order: node * 3 + c
    Kc = Kc.tocsr()[nd][:, nd].tocsr()
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((2, Kc.shape[0]))
    # the algorithm is symmetric (float64 hierarchy: to round-off); the default single-precision hierarchy is
    # symmetric to float32 round-off (eps 6e-8 times the few dozen operations per entry of a V-cycle)
    for dtype, tol in ((np.float64, 1e-10), (np.float32, 1e-5)):
        ml = SmoothedAggregation(Kc.tobsr(blocksize=(3, 3)), rigid_body_modes(m.p, 3), max_coarse=20, dtype=dtype)
        assert len(ml.levels) >= 2
        M = ml.preconditioner()
        assert abs(x @ M.matvec(y) - y @ M.matvec(x)) <= tol * abs(x @ M.matvec(y)), dtype
        assert x @ M.matvec(x) > 0 and y @ M.matvec(y) > 0
    d = 1.0 / np.sqrt(Kc.diagonal())
    S = (sp.diags(d) @ Kc @ sp.diags(d)).toarray()
    lam = np.linalg.eigvalsh(S)[-1]
    est = lanczos_max(Kc.tobsr(blocksize=(3, 3)), d, 10)
    assert 0.9 * lam <= est <= lam * (1 + 1e-12)


@pytest.mark.parametrize("bs", [2, 3, 6])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_compiled_block_gauss_seidel_matches_pyamg(bs, dtype):
    """kernels.block_gauss_seidel (the AMG smoother; unrolled for 3x3 and 6x6 blocks) does pyamg's sweep:
    equal to round-off of the precision (1e-12 in float64, 1e-5 in float32) forward and backward."""
    from pyamg.relaxation.relaxation import block_gauss_seidel as reference
    from pyamg.util.utils import get_block_diag

    from fem_wlp.fe.kernels import block_gauss_seidel

    A, rng = _spd(n=60 * bs, seed=bs)
    A = A.astype(dtype).tobsr(blocksize=(bs, bs))
    Dinv = get_block_diag(A, blocksize=bs, inv_flag=True)
    b = rng.standard_normal(A.shape[0]).astype(dtype)
    x0 = rng.standard_normal(A.shape[0]).astype(dtype)
    tol = 1e-12 if dtype == np.float64 else 1e-5
    for forward in (True, False):
        x1, x2 = x0.copy(), x0.copy()
        block_gauss_seidel(A, x1, b, Dinv, forward)
        reference(A, x2, b, iterations=1, sweep="forward" if forward else "backward", Dinv=Dinv, blocksize=bs)
        assert np.abs(x1 - x2).max() <= tol * np.abs(x2).max()
        assert np.abs(x1 - x0).max() > 1e-3 * np.abs(x0).max()          # the sweep did change x
