"""One increment t_n -> t_{n+1}: Newton iterations on the discretization's residual with its consistent tangent.

Every region's material integrates from its last *converged* state; stresses give the residual, consistent
tangents the Newton matrix. An increment that does not converge (too many iterations, a diverging or non-finite
residual, a material that cannot integrate the step) raises NotConverged with a report; the time stepper
(stepping.py) then cuts the increment back.
"""
from __future__ import annotations

import math

import numpy as np


#: modified Newton (settings.modified_newton): an iteration with the last factorized tangent must reduce the
#: relative residual at least by this factor, else that iteration gets a fresh tangent (which the next ones reuse)
#: -- unless the slower contraction still reaches the tolerance for less than a factorization costs
#: (`stale_pays`)
CONTRACTION = 0.2
#: ... never slower than this (a contraction this slow is no reliable rate to extrapolate)
SLOW_CONTRACTION = 0.5


class NotConverged(Exception):
    """An increment that failed; `report` says where (time, dt, residuals, region)."""

    def __init__(self, message, report):
        super().__init__(message)
        self.report = report


def increment(disc, t_old, t_new, u_old, ezz_old, states_old, du_pred=None, de_pred=0.0, history=None,
              modified=False):
    """Newton from (u_old + du_pred, ezz_old + de_pred) to convergence at t_new. history: (the states before
    states_old, dt / previous dt) for a BDF2 step of the rate-dependent regions (Discretization.evaluate), or None
    (backward Euler). modified: start with the last factorized tangent (modified Newton) while it contracts the
    residual by CONTRACTION per iteration; an iteration that does not gets a fresh tangent.

    Returns (u, ezz, trial states, temperatures, iterations, relative residuals); raises NotConverged."""
    s = disc.settings
    dt = t_new - t_old
    T = disc.temperatures(t_new)
    pdofs, pvals = disc.prescribed(t_new)
    u = u_old.copy()
    ezz = ezz_old
    if du_pred is not None:
        u += du_pred
        ezz += de_pred
    u[pdofs] = pvals
    residuals = []
    trial = {}
    r0 = re0 = 0.0           # the increment's initial residuals: the load this increment applies
    # modified Newton: the last factorized tangent (a back-substitution instead of an assembly and a
    # factorization) while it contracts the residual fast enough; an iteration that does not gets a fresh tangent,
    # whose factorization the following iterations reuse (until session 8 the rest of the increment was full
    # Newton). With contact pairs the pairs' stiffness must be the current status's (a stale one makes the
    # status chatter): a status changed at a few points enters the back-substitution as a low-rank update of the
    # factorization (Discretization.contact_update), a larger change gets a fresh tangent
    full = not (modified and disc.can_resolve())      # full Newton: a fresh tangent at every iteration
    if getattr(disc, "contact", None) is not None:
        disc.contact.new_attempt()
    refresh = False                                   # modified Newton: a fresh tangent at this iteration
    try:
        for it in range(s.max_iterations + 1):
            sig, tan, trial = disc.evaluate(u, ezz, T, states_old, dt, history=history)
            r, re, scale = disc.residual(sig, pdofs, u, ezz, T)
            if it == 0:
                r0, re0 = np.linalg.norm(r), abs(re)
            rel = _relative_residual(disc, sig, r, re, max(scale, r0), re0)
            residuals.append(float(rel))
            if not np.isfinite(rel):
                break
            if rel <= s.rtol:
                disc.counts["newton_iterations"] += it
                if disc.fast and disc.condensation() is None:   # stresses of the fast static regions
                    trial.update(disc.evaluate(u, ezz, T, states_old, dt, regions=sorted(disc.fast))[2])
                return u, ezz, trial, T, it, residuals
            if it == s.max_iterations or (it >= 3 and rel > 1e3 * residuals[0]):
                break
            if not full and it >= 1 and residuals[-1] > CONTRACTION * residuals[-2]:
                refresh = not stale_pays(disc.iteration_costs(), residuals, s.rtol, s.max_iterations - it)
            status = disc.contact_status(trial)
            update = None
            if not (full or refresh) and status != disc.factored_status:
                update = disc.contact_update()
                refresh = update is None              # too many changed points for a low-rank update
            if full or refresh:
                K, c, kee = disc.tangent(tan, t_new)
                K.general = getattr(getattr(disc, "contact", None), "unsymmetric", False)   # fe/la/direct.py
                nfact = disc.linear.stats["factorizations"]
                du, de = disc.linear_solve(K, c, kee, r, re)
                disc.factored(status, nfact)
                refresh = False
            else:
                du, de = disc.resolve(r, re, update)
            u += du
            ezz += de
    except NotConverged as exc:                    # a material update failed
        raise NotConverged(f"material update failed at t = {t_new:g} s: {exc}",
                           {"time_s": t_new, "dt_s": dt, "residuals": residuals, **exc.report}) from None
    worst = disc.worst_region(trial, states_old)
    raise NotConverged(f"Newton did not converge at t = {t_new:g} s",
                       {"time_s": t_new, "dt_s": dt, "residuals": residuals, "region": worst})


def stale_pays(costs, residuals: list, rtol: float, left: int) -> bool:
    """Modified Newton: whether iterating on with the factorized tangent at the contraction just observed, rho =
    residuals[-1] / residuals[-2] (CONTRACTION < rho <= SLOW_CONTRACTION), reaches rtol for less than a fresh
    tangent does, within the iterations `left`: n = log(rtol / residual) / log(rho) more stale iterations against
    a fresh tangent and one iteration after it (a fresh tangent near the solution converges in about one).
    `costs`: the estimated seconds of a stale iteration and of a fresh tangent (cost.IterationCosts, from the
    model's sizes, not the clock, so that the choice -- and the run -- is the same under any machine load), or
    None (no factorization yet). Measured with the clock's costs on the 2 x 2 package's quadratic contact
    submodel (172k DOF, one thread): an iteration with the factorized tangent 0.72 s (material update included),
    a factorization 7.4 s more; over one cycle 64 instead of 108 factorizations for 23 % more iterations
    (benchmarks/README.md, session 10)."""
    rho = residuals[-1] / residuals[-2]
    if costs is None or not (0.0 < rho <= SLOW_CONTRACTION):
        return False
    n = math.ceil(math.log(rtol / residuals[-1]) / math.log(rho)) if residuals[-1] > rtol else 0
    return n < left and n * costs.iteration < costs.refresh + costs.iteration


def _relative_residual(disc, sig, r, re, scale, re0) -> float:
    """|r| / scale; with generalized plane strain also the out-of-plane resultant relative to int |sigma_zz|."""
    if not disc.gps:
        return np.linalg.norm(r) / scale
    gscale = max(sum(float((np.abs(sg[2]).reshape(disc.ops[i].w.shape) * disc.ops[i].w).sum())
                     for i, sg in sig.items()), disc.force_floor, re0)
    return max(np.linalg.norm(r) / scale, abs(re) / gscale)
