"""Modified Newton together with contact (fe/solver/newton.py): a factorized tangent is reused only while the
contact status it was built with holds, or with a low-rank update to the changed status. Units mm, N, MPa, s."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import scipy.sparse.linalg as spla
import skfem

from fem_wlp.fe.contact import STATE_KEY, Contact
from fem_wlp.fe.mesh import FEMesh, split_interface
from fem_wlp.fe.problem import Constraint, History, Model, Temperature
from fem_wlp.fe.solver import Discretization, SolverSettings, run
from fem_wlp.materials import material_from_spec


def tilted_block():
    """A creeping block (Norton) on an elastic foundation, its top pushed down at x = 0 and pulled up at x = 2
    over 10 s, then held 20 s: part of the interface opens and the open part changes while the block creeps."""
    m = skfem.MeshQuad.init_tensor(np.linspace(0, 2.0, 9), np.linspace(0, 2.0, 9))
    c = m.p[:, m.t].mean(axis=1)
    bnd = {"bottom": m.facets_satisfying(lambda x: x[1] < 1e-9), "top": m.facets_satisfying(lambda x: x[1] > 2 - 1e-9)}
    fm = FEMesh.from_skfem(m, {"found": np.flatnonzero(c[1] < 1.0), "block": np.flatnonzero(c[1] > 1.0)}, bnd)
    mesh, pr = split_interface(fm, "found", "block")
    mats = {"found": material_from_spec("f", {"model": "elastic", "E": 2000.0, "nu": 0.3, "alpha": 0.0}),
            "block": material_from_spec("b", {"model": "norton", "E": 50000.0, "nu": 0.3, "alpha": 0.0,
                                              "A": 1e-9, "n": 5.0, "Q_over_R": 0.0})}
    tilt = History((0.0, 10.0, 30.0), (0.0, 1.0, 1.0))
    cons = (Constraint("bottom", (0, 1), facets=mesh.boundary("bottom")),
            Constraint("top", (0, 1), facets=mesh.boundary("top"),
                       value=lambda t, x: np.array([0.0 * x[0], tilt(t) * 0.004 * (x[0] - 1.2)]),
                       corners=(0.0, 10.0, 30.0)))
    return Model(mesh, "plane_strain", mats, cons, Temperature(25.0), contacts=(Contact(pr),))


def test_modified_newton_with_contact_refactors_on_status_change():
    """Under error control with modified Newton: (1) every back-substitution solves with the pairs' stiffness of
    the iterate it corrects -- a factorization built with that contact status, or the factorization with the
    low-rank update to it (Discretization.contact_update); (2) back-substitutions and updates do replace
    factorizations; (3) the result equals full Newton's on the same increments within the Newton tolerance."""
    model = tilted_block()
    times = [0.0, 10.0, 30.0]
    s = SolverSettings(rtol=1e-9, modified_newton="on")
    disc = Discretization(model, s)
    stale, seen = [], []
    resolve, evaluate = disc.resolve, disc.evaluate

    def evaluated(*args, **kw):          # the contact status of the current iterate
        out = evaluate(*args, **kw)
        if kw.get("regions") is None:
            seen.append(disc.contact_status(out[2]))
        return out

    def checked(r, re, update=None):
        stale.append(seen[-1] != disc.factored_status and update is None)
        return resolve(r, re, update)

    disc.resolve, disc.evaluate = checked, evaluated
    a = list(run(model, times, disc=disc))
    print(disc.counts)
    assert disc.counts["resolves"] > 0 and disc.counts.get("contact_updates", 0) > 0 and not any(stale)
    st = a[-1].states[STATE_KEY]
    assert 0 < st["active"].sum() < st["active"].size                 # partly open at the end
    # full Newton on the accepted increments' times
    b = list(run(model, [f.time for f in a], SolverSettings(rtol=1e-9, modified_newton="off", step_control="grid",
                                                           integration="bdf2", max_deps_in=1.0)))
    assert len(b) == len(a)
    # both converge to rtol 1e-9 of the internal force per increment: u agrees to ~1e-9 x the increments (1e-7)
    assert np.abs(a[-1].u - b[-1].u).max() <= 1e-7 * np.abs(b[-1].u).max()
    assert np.array_equal(st["active"], b[-1].states[STATE_KEY]["active"])


@pytest.mark.parametrize("order,friction", [(1, 0.0), (2, 0.0), (1, 0.3), (2, 0.3)])
def test_contact_update_is_the_exact_tangent(order, friction):
    """The low-rank update of a factorized tangent (Woodbury) solves with exactly the tangent of the changed
    contact status: elastic bulk (constant material tangent), factorized with the interface closed left of x = 1,
    then the status of x < 1.3 (more points closed; with friction also sticking and sliding ones): the update's
    solution equals a fresh factorization's to round-off (measured ~1e-13; asserted 1e-9)."""
    base = tilted_block()
    el = {n: material_from_spec(n, {"model": "elastic", "E": E, "nu": 0.3, "alpha": 0.0})
          for n, E in (("found", 2000.0), ("block", 50000.0))}
    model = dataclasses.replace(base, materials=el, order=order,
                                contacts=(dataclasses.replace(base.contacts[0], friction=friction),))
    disc = Discretization(model, SolverSettings(modified_newton="on"))
    T = disc.temperatures(1.0)
    old = disc.initial_states()
    blk = disc.ops[disc.names.index("block")].sdofs.ravel()
    x = disc.dof_x[:, blk]

    def state_at(x0):                    # block pushed into the foundation left of x0 and sheared along x
        u = np.zeros(disc.ndof)
        u[blk * 2 + 1] = 1e-3 * (x[0] - x0) * (x[1] > 0.999)
        u[blk * 2] = 2e-4 * (x[1] > 0.999)
        sig, tan, trial = disc.evaluate(u, 0.0, T, old, 1.0)
        return tan, disc.contact_status(trial)

    tan, st1 = state_at(1.0)
    K1, c, kee = disc.tangent(tan, 1.0)
    K1.general = disc.contact.unsymmetric
    r = np.random.default_rng(0).standard_normal(disc.ndof)
    r[disc.asm.constrained] = 0.0
    n0 = disc.linear.stats["factorizations"]
    disc.linear_solve(K1, c, kee, r, 0.0)
    disc.factored(st1, n0)
    tan, st2 = state_at(1.3)
    assert st2 != st1
    update = disc.contact_update()
    assert update is not None and update[0].shape[1] > 0
    du, _ = disc.resolve(r, 0.0, update)
    K2, _, _ = disc.tangent(tan, 1.0)
    exact = spla.spsolve(K2.tocsc(), r)
    assert np.abs(du - exact).max() <= 1e-9 * np.abs(exact).max()
    assert np.abs(du - spla.spsolve(K1.tocsc(), r)).max() > 1e-3 * np.abs(exact).max()   # the update mattered


def test_condensation_with_contact_equals_the_full_solve():
    """A large elastic foundation (constant moduli: condensed into a superelement) under a creeping layer, with a
    contact interface between that layer and a creeping block on top (the pairs on the reduced set): the
    condensed run equals the full one to round-off (also with modified Newton and its low-rank contact updates of
    the reduced tangent), and the condensation is really used."""
    m = skfem.MeshQuad.init_tensor(np.linspace(0, 2.0, 11), np.linspace(0, 2.0, 21))
    c = m.p[:, m.t].mean(axis=1)
    bnd = {"bottom": m.facets_satisfying(lambda x: x[1] < 1e-9), "top": m.facets_satisfying(lambda x: x[1] > 2 - 1e-9)}
    leaves = {"found": np.flatnonzero(c[1] < 1.2), "layer": np.flatnonzero((c[1] > 1.2) & (c[1] < 1.5)),
              "block": np.flatnonzero(c[1] > 1.5)}
    mesh, pr = split_interface(FEMesh.from_skfem(m, leaves, bnd), "layer", "block")
    norton = {"model": "norton", "E": 50000.0, "nu": 0.3, "alpha": 0.0, "A": 1e-9, "n": 5.0, "Q_over_R": 0.0}
    mats = {"found": material_from_spec("f", {"model": "elastic", "E": 20000.0, "nu": 0.3, "alpha": 0.0}),
            "layer": material_from_spec("l", norton), "block": material_from_spec("b", norton)}
    tilt = History((0.0, 10.0, 30.0), (0.0, 1.0, 1.0))
    cons = (Constraint("bottom", (0, 1), facets=mesh.boundary("bottom")),
            Constraint("top", (0, 1), facets=mesh.boundary("top"),
                       value=lambda t, x: np.array([0.0 * x[0], tilt(t) * 0.004 * (x[0] - 1.2)]),
                       corners=(0.0, 10.0, 30.0)))
    model = Model(mesh, "plane_strain", mats, cons, Temperature(25.0), contacts=(Contact(pr),))
    times = [0.0, 2.5, 5.0, 10.0, 20.0, 30.0]
    runs = {}
    for mode, newton in (("on", "off"), ("off", "off"), ("on", "on")):
        disc = Discretization(model, SolverSettings(rtol=1e-10, condense=mode, step_control="grid",
                                                    modified_newton=newton))
        runs[mode, newton] = list(run(model, times, disc=disc))
        assert (disc.condensation() is not None) == (mode == "on")
        if newton == "on":       # the low-rank contact updates of the reduced (superelement) tangent are used
            assert disc.counts.get("contact_updates", 0) > 0
    c = runs["on", "on"][-1]
    a, b = runs["on", "off"][-1], runs["off", "off"][-1]
    assert np.abs(c.u - b.u).max() <= 1e-8 * np.abs(b.u).max()
    st = b.states[STATE_KEY]
    assert 0 < st["active"].sum() < st["active"].size                 # partly open
    assert np.array_equal(a.states[STATE_KEY]["active"], st["active"])
    # exact condensation, both Newton runs converged to rtol 1e-10: equal to ~1e-9 relative
    assert np.abs(a.u - b.u).max() <= 1e-8 * np.abs(b.u).max()
    assert np.abs(a.states["block"]["eps_in"] - b.states["block"]["eps_in"]).max() <= \
        1e-8 * np.abs(b.states["block"]["eps_in"]).max()


def test_stale_tangent_kept_only_while_it_pays():
    """newton.stale_pays: at a contraction rho = 0.3 from 3e-3, rtol 1e-5 needs ceil(log(1e-5/3e-3)/log 0.3) = 5
    more iterations: kept when a fresh tangent costs 9 stale iterations (5 x 1 < 9 + 1), refreshed when it costs
    3 (5 x 1 > 3 + 1), when fewer than 5 iterations are left, at a contraction slower than SLOW_CONTRACTION
    (0.5), and before any factorization (costs None)."""
    from fem_wlp.fe.solver.cost import IterationCosts
    from fem_wlp.fe.solver.newton import SLOW_CONTRACTION, stale_pays
    costs = IterationCosts(iteration=1.0, refresh=9.0)
    assert stale_pays(costs, [1e-2, 3e-3], 1e-5, 25)
    assert not stale_pays(IterationCosts(1.0, 3.0), [1e-2, 3e-3], 1e-5, 25)
    assert stale_pays(IterationCosts(1.0, 4.5), [1e-2, 3e-3], 1e-5, 25)         # 5 < 4.5 + 1
    assert not stale_pays(IterationCosts(1.0, 4.0), [1e-2, 3e-3], 1e-5, 25)     # 5 = 4 + 1: not less
    assert not stale_pays(costs, [1e-2, 3e-3], 1e-5, 5)
    assert not stale_pays(costs, [1e-2, 1e-2 * (SLOW_CONTRACTION + 0.01)], 1e-5, 25)
    assert not stale_pays(None, [1e-2, 3e-3], 1e-5, 25)


def test_cost_estimate_is_the_stated_sum():
    """cost.estimate: a stale iteration = back-substitution + material update + residual, a fresh tangent =
    tangent assembly + factorization, each the documented constant times its count."""
    from fem_wlp.fe.solver import cost
    regions = [(1000, 6, 2e-6), (500, 30, 4e-8)]
    c = cost.estimate(regions, 10_000, {"flops": 1e9, "entries": 1e6})
    it = (cost.SOLVE_PER_CALL + cost.SOLVE_PER_ENTRY * 1e6 + 1000 * 2e-6 + 500 * 4e-8
          + cost.RESIDUAL_PER_CALL + cost.RESIDUAL_PER_POINT_DOF * (6000 + 15000))
    assert c.iteration == pytest.approx(it, rel=1e-12)
    assert c.refresh == pytest.approx(cost.TANGENT_PER_ENTRY * 1e4 + cost.FACTOR_PER_FLOP * 1e9
                                      + cost.FACTOR_PER_ENTRY * 1e6, rel=1e-12)


@pytest.mark.parametrize("backend", ["pardiso", "scipy"])
def test_factor_size_is_reported_and_plausible(backend):
    """LinearSolver.factor_size after a direct factorization of a 2D Laplacian (n = 900): at least the lower
    triangle's entries of the matrix (fill-in only adds), at most the dense triangle, and at least one flop per
    entry; None before a factorization."""
    import scipy.sparse as sp
    from fem_wlp.fe.la.linear import LinearSolver, choose
    if backend == "pardiso" and choose("pardiso", 2, 10) != "pardiso":
        pytest.skip("pypardiso is not installed")
    n1 = 30
    A1 = sp.diags([-1.0, 2.0, -1.0], [-1, 0, 1], shape=(n1, n1))
    K = (sp.kron(A1, sp.identity(n1)) + sp.kron(sp.identity(n1), A1)).tocsr()
    ls = LinearSolver(backend, 2, K.shape[0])
    assert ls.factor_size is None
    ls.factorize(K)
    f = ls.factor_size
    n = K.shape[0]
    assert (K.nnz + n) / 2 <= f["entries"] <= 2 * n * (n + 1) / 2
    assert f["flops"] >= f["entries"]


def test_newton_path_does_not_depend_on_the_clock(monkeypatch):
    """Modified Newton's choice between a stale and a fresh tangent comes from the model's sizes
    (fe/solver/cost.py), not from timings: with the solver's clocks replaced by a random one, the creeping
    contact block takes the same iterations, factorizations and low-rank updates and ends in the same
    displacements, to the bit. (Until session 11 the choice used the run's wall-clock means.)"""
    import time as _time
    import fem_wlp.fe.la.linear as linear
    import fem_wlp.fe.solver.discretization as discretization

    def once(clock):
        if clock is not None:
            monkeypatch.setattr(discretization._time, "perf_counter", clock)
            monkeypatch.setattr(linear.time, "perf_counter", clock)
        model = tilted_block()
        disc = Discretization(model, SolverSettings(rtol=1e-9, modified_newton="on"))
        frames = list(run(model, [0.0, 10.0, 30.0], disc=disc))
        monkeypatch.undo()
        return frames[-1].u, dict(disc.counts), disc.linear.stats["factorizations"]

    rng, real = np.random.default_rng(1), _time.perf_counter
    wild = lambda: real() * float(rng.uniform(0.01, 100.0))   # noqa: E731
    u0, counts0, f0 = once(None)
    u1, counts1, f1 = once(wild)
    assert np.array_equal(u0, u1)
    assert counts0 == counts1 and f0 == f1
    assert counts0.get("resolves", 0) > 0            # modified Newton is really exercised
