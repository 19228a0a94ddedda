"""Material-point driver: one point (or N identical or differently loaded points) through a prescribed history.

Mixed control: every Mandel component (xx, yy, zz, xy, xz, yz) is either strain-controlled or stress-controlled;
components not named are stress-controlled at zero (so `strain={"xx": ...}` alone is uniaxial stress under
strain control, `stress={"xx": ...}` alone is uniaxial creep). At each time the stress-controlled components are
found by a Newton iteration on the free strain components with the material's returned (consistent) tangent,
always starting the material update from the last converged state. Values are Mandel components (shear strain
components are sqrt(2) eps_xy, shear stresses sqrt(2) sigma_xy), as everywhere in fem_wlp.

The first entry of the history (time[0]) is reached from the initial state by an increment with dt = 0 (the
instantaneous response: elastic for the rate-dependent models); every later entry by one increment of length
time[k] - time[k-1]. Refine the time discretisation by passing more points.
"""
from __future__ import annotations

import numpy as np

from fem_wlp.errors import ConvergenceError, InputError
from fem_wlp.materials.base import COMPONENTS, Material


def _history(values, K, N, what):
    a = np.asarray(values, float)
    if a.ndim == 0:
        return np.full((K, N), float(a))
    if a.shape == (K,):
        return np.repeat(a[:, None], N, axis=1)
    if a.shape == (K, N):
        return a.copy()
    raise InputError(what, a.shape, f"a number, an array of shape ({K},) or ({K}, {N})")


def drive(material: Material, time, strain: dict | None = None, stress: dict | None = None, temperature=25.0,
          n_points: int | None = None, state: dict | None = None, atol: float = 1e-9, rtol: float = 1e-11,
          max_iter: int = 30) -> dict:
    """Drive material points through a mixed strain/stress history.

    time          (K,) non-decreasing times (s)
    strain        {component: values} prescribed Mandel strain components; values a number, (K,) or (K, N)
    stress        {component: values} prescribed Mandel stress components (MPa); the others default to 0 stress
    temperature   °C: a number, (K,) or (K, N)
    n_points      N (default: 1, or inferred from (K, N) arrays)
    state         initial state (default material.init_state(N)); never modified
    atol, rtol    convergence of the stress-controlled components: |sigma - target| <= atol + rtol max|sigma|
                  + 1e-14 max|D| max|eps| (the round-off floor of sigma = D eps_e)

    Returns a dict of arrays: time (K,), temperature, stress, strain, eps_in (K, 6[, N]), eps_in_eq, w_in (K[, N]),
    iterations (K,) Newton iterations per increment, and `state` (the final state). The trailing N axis is dropped
    when the driver runs a single point (n_points None and no (K, N) input).
    """
    time = np.asarray(time, float)
    if time.ndim != 1 or time.size < 1 or np.any(np.diff(time) < 0):
        raise InputError("driver.time", time, "a 1-D non-decreasing array")
    K = time.size
    strain, stress = dict(strain or {}), dict(stress or {})
    for c in list(strain) + list(stress):
        if c not in COMPONENTS:
            raise InputError(f"driver.{c}", c, ", ".join(COMPONENTS))
    both = set(strain) & set(stress)
    if both:
        raise InputError("driver", sorted(both), "each component either strain- or stress-controlled")
    squeeze = n_points is None
    N = n_points or 1
    for v in list(strain.values()) + list(stress.values()) + [temperature]:
        a = np.asarray(v)
        if a.ndim == 2:
            N, squeeze = a.shape[1], False
    Tn = _history(temperature, K, N, "driver.temperature")
    fixed = [COMPONENTS.index(c) for c in COMPONENTS if c in strain]
    eps_hist = np.zeros((K, 6, N))
    sig_target = np.zeros((K, 6, N))
    for c, v in strain.items():
        eps_hist[:, COMPONENTS.index(c)] = _history(v, K, N, f"driver.strain.{c}")
    for c, v in stress.items():
        sig_target[:, COMPONENTS.index(c)] = _history(v, K, N, f"driver.stress.{c}")

    st = material.init_state(N) if state is None else state
    out = {k: np.zeros((K, 6, N)) for k in ("stress", "strain", "eps_in")}
    out.update({k: np.zeros((K, N)) for k in ("eps_in_eq", "w_in")})
    iters = np.zeros(K, int)
    eps = np.zeros((6, N))
    t_prev = time[0]
    for k in range(K):
        dt = time[k] - t_prev if k else 0.0
        eps = eps.copy()
        eps[fixed] = eps_hist[k, fixed]
        sig, new, iters[k] = _equilibrate(material, st, eps, Tn[k], dt, fixed, sig_target[k], time[k], atol, rtol,
                                          max_iter)
        st = new
        out["stress"][k], out["strain"][k], out["eps_in"][k] = sig, eps, new["eps_in"]
        out["eps_in_eq"][k], out["w_in"][k] = new["eps_in_eq"], new["w_in"]
        t_prev = time[k]
    res = {"time": time, "temperature": Tn, **out, "iterations": iters, "state": st}
    if squeeze:
        for k in ("temperature", "stress", "strain", "eps_in", "eps_in_eq", "w_in"):
            res[k] = res[k][..., 0]
    return res


def _equilibrate(material, st, eps, T, dt, fixed, sig_target, t, atol, rtol, max_iter):
    """One increment: Newton on the stress-controlled strain components of eps (updated in place) with the
    material's tangent, from the converged state st. Returns (stress, new state, iterations)."""
    free = np.array([i for i in range(6) if i not in fixed])
    for it in range(max_iter + 1):
        sig, D, new = material.update(st, eps, T, dt)
        if not free.size:
            break
        r = sig[free] - sig_target[free]
        # round-off floor of a stress computed as D eps (large stiffness x strain cancelling)
        floor = 1e-14 * np.max(np.abs(D)) * np.max(np.abs(eps))
        if np.max(np.abs(r)) <= atol + rtol * np.max(np.abs(sig)) + floor:
            break
        if it == max_iter:
            raise ConvergenceError(f"driver: stress-controlled components did not converge at t = {t}"
                                   f" (|r| = {np.max(np.abs(r)):.3e} MPa after {max_iter} iterations)",
                                   {"time": t, "residual": float(np.max(np.abs(r)))})
        N = eps.shape[1]
        D = np.broadcast_to(D[:, :, None], (6, 6, N)) if D.ndim == 2 else D
        A = np.moveaxis(D[np.ix_(free, free)], 2, 0)                 # (N, nf, nf)
        eps[free] -= np.linalg.solve(A, np.moveaxis(r, 1, 0)[..., None])[..., 0].T
    return sig, new, it
