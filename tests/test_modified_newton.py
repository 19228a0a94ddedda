"""Modified Newton together with contact (fe/solver/newton.py): a factorized tangent is reused only while the
contact status it was built with holds; a changed status gets a fresh tangent. Units mm, N, MPa, s."""
from __future__ import annotations

import numpy as np
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
    """Under error control with modified Newton: (1) every back-substitution uses a factorization built with the
    contact status of the iterate it corrects, (2) back-substitutions do replace factorizations, (3) the result
    equals full Newton's on the same increments within the Newton tolerance."""
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

    def checked(r, re):
        stale.append(seen[-1] != disc.factored_status)
        return resolve(r, re)

    disc.resolve, disc.evaluate = checked, evaluated
    a = list(run(model, times, disc=disc))
    print(disc.counts)
    assert disc.counts["resolves"] > 0 and not any(stale)
    st = a[-1].states[STATE_KEY]
    assert 0 < st["active"].sum() < st["active"].size                 # partly open at the end
    # full Newton on the accepted increments' times
    b = list(run(model, [f.time for f in a], SolverSettings(rtol=1e-9, modified_newton="off", step_control="grid",
                                                           integration="bdf2", max_deps_in=1.0)))
    assert len(b) == len(a)
    # both converge to rtol 1e-9 of the internal force per increment: u agrees to ~1e-9 x the increments (1e-7)
    assert np.abs(a[-1].u - b[-1].u).max() <= 1e-7 * np.abs(b[-1].u).max()
    assert np.array_equal(st["active"], b[-1].states[STATE_KEY]["active"])


def test_condensation_with_contact_equals_the_full_solve():
    """A large elastic foundation (constant moduli: condensed into a superelement) under a creeping layer, with a
    contact interface between that layer and a creeping block on top (the pairs on the reduced set): the
    condensed run equals the full one to round-off, and the condensation is really used."""
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
    for mode in ("on", "off"):
        disc = Discretization(model, SolverSettings(rtol=1e-10, condense=mode, step_control="grid"))
        runs[mode] = list(run(model, times, disc=disc))
        assert (disc.condensation() is not None) == (mode == "on")
    a, b = runs["on"][-1], runs["off"][-1]
    st = b.states[STATE_KEY]
    assert 0 < st["active"].sum() < st["active"].size                 # partly open
    assert np.array_equal(a.states[STATE_KEY]["active"], st["active"])
    # exact condensation, both Newton runs converged to rtol 1e-10: equal to ~1e-9 relative
    assert np.abs(a.u - b.u).max() <= 1e-8 * np.abs(b.u).max()
    assert np.abs(a.states["block"]["eps_in"] - b.states["block"]["eps_in"]).max() <= \
        1e-8 * np.abs(b.states["block"]["eps_in"]).max()
