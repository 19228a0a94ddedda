"""Time stepping over a time grid, yielding converged frames.

Per increment t_n -> t_{n+1} the Newton iteration of newton.py runs from the last converged state (the
rate-dependent regions integrated by variable-step BDF2 under error control, `SolverSettings.integration`). After
convergence the local integration error of the increment is estimated (`integration_error`); when it is within
settings.tolerance the new state is committed and a `Frame` is yielded, else the trial state is discarded and the
increment retried smaller; on Newton failure the trial state is discarded and the increment is cut back
(halved). When even the smallest increment fails, a `ConvergenceError` carries a report (time, region, last
residuals, last converged time); frames already yielded are final.
"""
from __future__ import annotations

import numpy as np

from fem_wlp.errors import ConvergenceError, InputError
from fem_wlp.fe.problem import Model
from fem_wlp.fe.solver.discretization import Discretization, multistep
from fem_wlp.fe.solver.newton import NotConverged, increment
from fem_wlp.fe.solver.settings import SolverSettings

__all__ = ["Discretization", "Frame", "SolverSettings", "run"]


class Frame:
    """A converged increment: time, displacements u (node*ncomp + c), e_zz (generalized plane strain, else 0),
    committed material states per region, temperatures at the quadrature points, Newton record.

    In a run with condensed elastic regions (solver/condense.py) the interior displacements and the stresses of
    the condensed regions are completed on the first access of `u` or `states` (one solve with the interior
    factor and one elastic update): a consumer that reads only the solder pays nothing for them."""

    def __init__(self, index: int, time: float, dt: float, u: np.ndarray, ezz: float, states: dict,
                 temperature: dict, iterations: int, residuals: list, cutbacks: int = 0, complete=None):
        self.index, self.time, self.dt, self.ezz = index, time, dt, ezz
        self.temperature, self.iterations, self.residuals, self.cutbacks = temperature, iterations, residuals, cutbacks
        self._u, self._states, self._complete = u, states, complete

    def _finish(self):
        if self._complete is not None:
            self._u, self._states = self._complete(self._u, self._states)
            self._complete = None

    @property
    def u(self) -> np.ndarray:
        self._finish()
        return self._u

    @property
    def states(self) -> dict:
        self._finish()
        return self._states

    def state(self, region: str) -> dict:
        """One region's state; completes the frame only when the region was condensed."""
        if self._complete is not None and region in self._states:
            return self._states[region]
        return self.states[region]


#: step-size controller (Hairer & Wanner, Solving ODEs I, II.4 (4.13)): dt_new = dt min(growth, max(SHRINK_MIN,
#: SAFETY (tol/err)^(1/(p+1)))); p = 1 for backward Euler (local error O(dt^2)), 2 for BDF2 (O(dt^3))
SAFETY = 0.9
SHRINK_MIN = 0.2
#: largest step ratio dt_n+1/dt_n of a BDF2 step (variable-step BDF2 is zero-stable below 1 + sqrt 2; Hairer,
#: Norsett & Wanner III.5); a larger ratio (a step after one shortened to land on a grid time) is a backward-Euler
#: step
OMEGA_MAX = 2.0
#: ... up to round-off: a step doubled to land on a grid time (2 x 7.219 s = 14.438 s) is a BDF2 step (until session
#: 10 it fell just above 2.0 and took a backward-Euler step, whose larger error estimate then rejected it)
OMEGA_TOL = 1e-9


def run(model: Model, times, settings: SolverSettings | None = None, disc: Discretization | None = None):
    """Solve over the time grid `times` (every grid time is hit); yields a Frame per converged increment.

    Frame 0 is the initial state at times[0]. The grid's steps are upper bounds: within a grid interval the
    increments are chosen by the local error control (settings.step_control = "error", the default): each
    converged increment's integration error estimate (`integration_error`, equivalent strain) is compared with
    settings.tolerance; an increment above it is rejected and retried smaller from the last converged state, an
    accepted one proposes the next step by the controller above (carried across grid times, capped by the next
    grid interval, so increments land on every grid time and never step past one). With step_control = "grid"
    every grid interval starts with its full length. With integration "auto" (the default) the controlled run
    integrates the rate-dependent regions by variable-step BDF2 from the last two committed states (second order;
    the first step of the run, the first after a load corner and a step more than OMEGA_MAX times the previous
    one are backward Euler) and the grid run by backward Euler. In both modes an increment is cut back (halved) on Newton
    failure or when the equivalent inelastic strain increment exceeds 2x settings.max_deps_in (a coarse guard, e.g.
    for rate-independent plasticity, which the error estimate does not see), and the smallest step is
    the interval's first step / 2**max_cutbacks.
    """
    disc = disc or Discretization(model, settings)
    s = disc.settings
    control = s.step_control == "error"
    times = np.asarray(times, float)
    if times.ndim != 1 or times.size < 2 or np.any(np.diff(times) <= 0):
        raise InputError("times", times.tolist()[:5], "an increasing time grid with at least two times")
    init = model.initial
    u = np.array(init.u, float) if init is not None else np.zeros(disc.ndof)
    ezz = float(init.ezz) if init is not None else 0.0
    states = disc.initial_states()
    T = disc.temperatures(times[0])
    yield Frame(0, float(times[0]), 0.0, u.copy(), ezz, states, T, 0, [])
    k = 0
    du_prev, de_prev, dt_prev = None, 0.0, None
    quad = None                          # (du, de, dt) of the increment before the last, on the same load branch
    states_prev = None                   # the committed states before `states` (BDF2 history)
    bdf2 = s.integration == "bdf2" or (s.integration == "auto" and control)
    # modified Newton (auto) also with contact: newton.py updates the factorized tangent to a changed contact
    # status (a low-rank update, or a fresh tangent: a tangent of another contact status makes the status chatter)
    modified = s.modified_newton == "on" or (s.modified_newton == "auto" and control)
    full_retry = False                   # the retry of an increment that failed under modified Newton
    disc.counts.setdefault("rejected", 0)
    corners = sorted(set(model.temperature.corners).union(*[set(c.corners) for c in model.constraints]))
    h_next = np.inf                      # the controller's proposal, carried across grid times
    for ta, tb in zip(times[:-1], times[1:]):
        t = ta
        h = min(h_next, tb - ta) if control else tb - ta
        hmin = h / 2 ** s.max_cutbacks          # max_cutbacks halvings of the interval's first step
        cut = 0
        while t < tb - 1e-12 * (tb - ta):
            rest = tb - t
            if control:      # equal steps to the next grid time (up to 10 % longer than asked): never past it
                n_eq = max(1, int(np.ceil(rest / h - 0.1)))
                t_new = tb if n_eq == 1 else t + rest / n_eq
            else:
                t_new = min(t + h, tb)
                if tb - t_new < 1e-6 * (tb - ta):
                    t_new = tb
            dt = t_new - t
            # predictor: extrapolate the last increment with the factor capped at 1 (a fast load step followed by
            # a long hold must not be extrapolated 1e8 times), and not across a load corner (the rate changes)
            pred, fac = None, 0.0
            at_corner = any(abs(t - c) <= 1e-9 * max(1.0, abs(c)) for c in corners)
            pde = 0.0
            if s.predictor and du_prev is not None and dt_prev and not at_corner:
                fac = min(dt / dt_prev, 1.0)
                pred = du_prev * fac
                pde = de_prev * fac
                if quad is not None and bdf2 and dt <= OMEGA_MAX * (1 + OMEGA_TOL) * dt_prev:
                    # with BDF2 (second order in time): quadratic extrapolation through the last three states (the
                    # last two increments lie between the same load corners): P(t + dt) = u + dt D1 + dt (dt + h1) D2
                    # with the divided differences D1 = du1/h1, D2 = (du1/h1 - du2/h2)/(h1 + h2)
                    du2, de2, h2 = quad
                    c1, c2 = dt / dt_prev, dt * (dt + dt_prev) / (dt_prev + h2)
                    pred = c1 * du_prev + c2 * (du_prev / dt_prev - du2 / h2)
                    pde = c1 * de_prev + c2 * (de_prev / dt_prev - de2 / h2)
            err = 0.0
            history = None
            # BDF2 restarts at a load corner (the history before it lies on another branch of the load: a
            # constant creep rate after a ramp would not be integrated exactly): the first step is backward Euler
            if (bdf2 and states_prev is not None and not at_corner
                    and dt <= OMEGA_MAX * (1 + OMEGA_TOL) * dt_prev):
                history = (states_prev, dt / dt_prev)
            order = 2 if history is not None else 1
            try:
                u_new, ezz_new, trial, T, its, res = increment(disc, t, t_new, u, ezz, states, pred, pde,
                                                               history, modified and not full_retry)
                deps = _max_inelastic_increment(disc, trial, states)
                if deps > 2 * s.max_deps_in and dt > hmin * 1.0001:
                    raise NotConverged("inelastic strain increment too large",
                                       {"time_s": t_new, "deps_in": deps, "residuals": res})
            except NotConverged as exc:
                if modified and not full_retry and "deps_in" not in exc.report:
                    full_retry = True             # the same increment once more with full Newton
                    disc.counts["full_newton_retries"] = disc.counts.get("full_newton_retries", 0) + 1
                    continue
                full_retry = False
                if dt <= hmin * 1.0001:
                    raise _failure(exc, t, t_new, dt) from None
                h = dt / 2
                cut += 1
                disc.counts["cutbacks"] += 1
                continue
            if control:
                err = integration_error(disc, trial, states, dt, history[1] if history is not None else None)
                if err is not None and err > s.tolerance and dt > hmin * 1.0001:    # rejected: retry smaller
                    h = max(dt * max(SHRINK_MIN, SAFETY * (s.tolerance / err) ** (1.0 / (order + 1))), hmin)
                    disc.counts["rejected"] += 1
                    continue
            full_retry = False
            quad = (du_prev, de_prev, dt_prev) if (du_prev is not None and not at_corner) else None
            du_prev, de_prev, dt_prev = u_new - u, ezz_new - ezz, dt
            states_prev = states
            u, ezz, states, t = u_new, ezz_new, trial, t_new
            k += 1
            disc.counts["increments"] += 1
            yield Frame(k, t, dt, u.copy(), ezz, states, T, its, res, cut, complete=disc.completion(ezz, T, dt))
            cut = 0
            if control:
                # growth is bounded relative to the step asked for (a step shortened to land on a grid time does
                # not shrink the next one), and not at all after a hard Newton increment
                base = max(dt, min(h, tb - ta))
                grow = s.growth if its <= max(4, s.max_iterations // 3) else 1.0
                if err is None:          # nothing rate-dependent to control: the grid's steps
                    h_next = np.inf if grow > 1.0 else base
                else:
                    prop = dt * SAFETY * (s.tolerance / err) ** (1.0 / (order + 1)) if err > 0 else np.inf
                    h_next = max(min(prop, grow * base), SHRINK_MIN * dt)
                if deps > s.max_deps_in:
                    h_next = min(h_next, dt * s.max_deps_in / deps)
                h = min(h_next, tb - ta)
            elif its <= 4 and deps <= s.max_deps_in:
                h = min(h * s.growth, tb - ta)
            elif deps > s.max_deps_in:
                h = max(h * s.max_deps_in / deps, hmin)


def integration_error(disc, trial, states, dt: float, omega: float | None = None) -> float:
    """Local error estimate of an increment (equivalent strain, dimensionless). Backward Euler (omega None): per
    quadrature point

        e = sqrt(2/3) | d eps_in - (dt/2) (eps_dot_in(t_n) + eps_dot_in(t_n+1)) |
          = (dt/2) sqrt(2/3) | eps_dot_in(t_n+1) - eps_dot_in(t_n) |

    the difference between the backward-Euler inelastic strain increment (d eps_in = dt eps_dot_in(t_n+1)) and
    the trapezoidal one from the rates at both ends (as CalculiX/Abaqus CETOL), i.e. the leading term of the local
    truncation error of backward Euler, (dt^2/2) eps_ddot_in. A BDF2 step (omega = dt / previous dt): the same
    difference times 2 (1+omega)^2 / (2 + 3 omega) (8/5 at omega = 1). Both local errors are of third order
    there: BDF2's is c dt^3 y3 (y3 the third time derivative of eps_in) with c = (1+omega)^2 / (6 omega (1+2
    omega)), the trapezoidal rule's dt^3 y3 / 12, so the difference is (c - 1/12) dt^3 y3 and c / (c - 1/12) =
    2 (1+omega)^2 / (2 + 3 omega) scales it to BDF2's error (Milne's device). Returned: the largest over the
    rate-dependent
    regions of the region's volume-weighted RMS of e, sqrt(int e^2 dV / V). RMS, not the pointwise max: the
    pointwise max sits at the stress singularities (free-edge bimaterial corners), grows without bound as the mesh
    is refined there, and would make the step depend on the mesh; the RMS converges with the mesh. (For a
    homogeneous region the two are equal.) Regions whose state has no "rate_in" (elastic, rate-independent
    plasticity) contribute nothing; None when no region has one (nothing to control)."""
    worst = None
    bdf = 1.0 if omega is None else 2.0 * (1.0 + omega) ** 2 / (2.0 + 3.0 * omega)
    for i, n in enumerate(disc.names):
        old = states.get(n)          # condensed elastic regions are absent until a frame is completed
        if old is None or n not in trial or "rate_in" not in old:
            continue
        # a region whose material took a backward-Euler step within a BDF2 increment (no multistep_vars) keeps
        # the backward-Euler estimate
        scale = bdf if multistep(disc.materials[i], old) else 1.0
        d = trial[n]["eps_in"] - old["eps_in"] - (0.5 * dt) * (old["rate_in"] + trial[n]["rate_in"])
        e2 = (scale * scale * 2.0 / 3.0) * np.einsum("in,in->n", d, d)
        # |w|: a quadrature rule with a negative weight (the 4-point triangle rule of P2 axisymmetric models)
        # would make the weighted mean of e^2 negative (a NaN error, which would accept any step)
        w = np.abs(disc.ops[i].w.reshape(-1))
        if e2.size and w.sum() > 0:
            worst = max(worst or 0.0, float(np.sqrt((e2 * w).sum() / w.sum())))
    return worst


def _max_inelastic_increment(disc, trial, states) -> float:
    """Largest equivalent inelastic strain increment of the trial states over every region."""
    return max((float(np.max(trial[n]["eps_in_eq"] - states[n]["eps_in_eq"], initial=0.0))
                for n in disc.names if n in trial), default=0.0)


def _failure(exc: NotConverged, t: float, t_new: float, dt: float) -> ConvergenceError:
    """The ConvergenceError of an increment that failed at the smallest step: the Newton (or material) report with
    the last converged time."""
    rep = dict(exc.report)
    rep.update({"newton": str(exc), "last_converged_time_s": t, "smallest_dt_s": dt})
    material = rep.get("material", {}).get("message")
    residuals = ['%.2e' % x for x in rep.get("residuals", [])[-4:]]
    return ConvergenceError(
        f"no convergence at t = {t_new:g} s even with dt = {dt:.3g} s"
        + (f" (region {rep.get('region')})" if rep.get("region") else "")
        + (f": {material}" if material else f"; last residuals {residuals}"), rep)
