"""Norton (power-law) creep with an Arrhenius term, and the radial-return machinery shared by every isotropic
inelastic model of the package (Norton, Garofalo, Anand, J2 plasticity).

Norton:   eps_dot_eq = A exp(-Q/(R T_K)) sigma_vm^n,   flow  eps_dot_in = (3/2) eps_dot_eq s / sigma_vm
          A in 1/(s MPa^n), n > 0, Q_over_R in K (0 = no temperature dependence), T_K = T + 273.15.

Integration (backward Euler, radial return, isotropic elasticity at the end-of-increment temperature):
    trial     s_tr = 2G dev(eps_mech - eps_in_n),   q_tr = sqrt(3/2) |s_tr|,   N = s_tr / |s_tr|
    unknown   dp >= 0 (equivalent inelastic strain increment),  q = q_tr - 3G dp
    residual  dp = dt f(q)     solved in log form  L(y) = y - ln dt - ln f(q_tr - 3G e^y) = 0,  y = ln dp,
              which is strictly increasing in y and has the bracket
                  ln min(dt f(q_tr/2), dp_max/2) <= y <= ln min(dt f(q_tr), dp_max),   dp_max = q_tr / 3G,
              so a safeguarded Newton (a Newton step that leaves the bracket is replaced by bisection) converges
              for any step size, any stress and any n; ln f is evaluated in log form (no overflow).
    update    sigma = K tr(eps_e) I + s_tr - sqrt(6) G dp N,   d eps_in = sqrt(3/2) dp N
    tangent   D = 3K IVOL + 2G theta IDEV + 2G (c - theta) N x N,  theta = 1 - 3G dp / q_tr,
              c = 1 - 3G d(dp)/d(q_tr) = 1 / (1 + 3G dt f'(q))      (consistent algorithmic tangent)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from fem_wlp.errors import ConvergenceError
from fem_wlp.materials.base import (I6, Material, add_isotropic, check_keys, dev, isotropic_common, norm, number, positive,
                   ISOTROPIC_KEYS)

T_ABS = 273.15
SQ32 = np.sqrt(1.5)
SQ6 = np.sqrt(6.0)
LN2 = np.log(2.0)
#: local Newton: tolerance on the increment of ln(dp) (= relative tolerance on dp) and iteration cap
LOCAL_TOL = 1e-13
LOCAL_MAX_ITER = 200


# ----------------------------------------------------------------------------------------------------------------
# shared helpers
# ----------------------------------------------------------------------------------------------------------------
def log_sinh(u):
    """ln sinh(u) for u > 0, without overflow (any u) and accurate for small u:
    ln sinh(u) = u - ln 2 + ln(1 - e^(-2u)), 1 - e^(-2u) = -expm1(-2u)."""
    return u - LN2 + np.log(-np.expm1(-2.0 * u))


def coth(u):
    """coth(u) for u > 0 (1/u for tiny u, 1 for large u)."""
    return 1.0 / np.tanh(u)


def temperature_array(T, n):
    T = np.asarray(T, float)
    return np.broadcast_to(T, (n,)).astype(float) if T.ndim <= 1 else T.reshape(n)


def check_strain(eps_mech):
    eps = np.asarray(eps_mech, float)
    if eps.ndim != 2 or eps.shape[0] != 6:
        raise ValueError(f"eps_mech must be a Mandel array shaped (6, N), got {eps.shape}")
    return eps


def elastic_moduli(mat: Material, T, n):
    """Per-point shear and bulk moduli (N,) at temperatures T."""
    E = np.broadcast_to(np.asarray(mat.E(temperature_array(T, n)), float), (n,))
    G = E / (2.0 * (1.0 + mat.nu))
    K = E / (3.0 * (1.0 - 2.0 * mat.nu))
    return G, K


class Trial:
    """Elastic trial state of an isotropic material: volumetric part, deviatoric trial stress and direction."""

    def __init__(self, mat: Material, state: dict, eps_mech, T, shift=None):
        eps = check_strain(eps_mech)
        self.n = n = eps.shape[1]
        self.G, self.K = elastic_moduli(mat, T, n)
        ee = eps - state["eps_in"]
        self.tr = ee[0] + ee[1] + ee[2]
        self.s_tr = 2.0 * self.G * dev(ee)
        xi = self.s_tr if shift is None else self.s_tr - shift       # shifted by a back-stress (kinematic)
        nx = norm(xi)
        self.q_tr = SQ32 * nx
        with np.errstate(invalid="ignore", divide="ignore"):
            self.N = np.where(nx > 0, xi / np.where(nx > 0, nx, 1.0), 0.0)


def finish(mat: Material, state: dict, trial: Trial, dp, c, extra=None, dt=None):
    """Common end of a radial return: stress, consistent tangent and the new state.

    dp (N,) equivalent inelastic strain increment; c (N,) = 1 - 3G d(dp)/d(q_tr) (1 where no flow).
    dt > 0 (rate-dependent models): the state also gets "rate_in" = d eps_in / dt, which is the inelastic strain
    rate (6, N) at the *end* of the increment exactly (backward Euler evaluates the flow rule at the end state);
    the time stepper's local error estimate compares it with the increment (stepping.py).
    """
    G, K, N = trial.G, trial.K, trial.N
    dp = np.asarray(dp, float)
    deps_in = (SQ32 * dp) * N
    sig = (K * trial.tr) * I6[:, None] + trial.s_tr - (SQ6 * G * dp) * N
    with np.errstate(invalid="ignore", divide="ignore"):
        theta = np.where(dp > 0, 1.0 - 3.0 * G * dp / np.where(trial.q_tr > 0, trial.q_tr, 1.0), 1.0)
    c = np.where(dp > 0, c, 1.0)
    # D = 3K IVOL + 2G theta IDEV + 2G (c - theta) N x N, assembled in place
    aN = (2.0 * G * (c - theta)) * N
    D = np.einsum("in,jn->ijn", aN, N)
    add_isotropic(D, K, 2.0 * G * theta)
    new = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in state.items()}
    new["stress"] = sig
    new["eps_in"] = state["eps_in"] + deps_in
    new["eps_in_eq"] = state["eps_in_eq"] + dp
    new["w_in"] = state["w_in"] + 0.5 * np.einsum("in,in->n", state["stress"] + sig, deps_in)
    if dt is not None and dt > 0:
        new["rate_in"] = deps_in / dt
    if extra:
        new.update(extra)
    return sig, D, new


def solve_flow(q_tr, G3, dt, lnf, dlnf, params=(), y0=None, tol=LOCAL_TOL, max_iter=LOCAL_MAX_ITER,
               what="material"):
    """Solve dp = dt f(q_tr - G3 dp) for dp in (0, q_tr/G3) at every point (vectorised safeguarded Newton).

    lnf(q, *params) = ln f(q), dlnf(q, *params) = d ln f / dq > 0; params are per-point arrays (M,).
    Returns (dp, dlnf at the solution, iterations). Works in y = ln dp (see the module docstring); the working
    arrays are compressed to the unconverged points as points converge.
    """
    M = q_tr.size
    lndt = np.log(dt)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ln_dpmax = np.log(q_tr / G3)
        lo = np.minimum(lndt + lnf(0.5 * q_tr, *params), ln_dpmax - LN2)
        hi = np.minimum(lndt + lnf(q_tr, *params), ln_dpmax)
        y = 0.5 * (lo + hi) if y0 is None else np.clip(y0, lo, hi)
        y = np.where(np.isfinite(y), y, ln_dpmax - LN2)
        out_y = np.empty(M)
        idx = np.arange(M)
        qt, g3, p = q_tr, G3, tuple(params)
        it = 0
        while True:
            it += 1
            ey = np.exp(y)
            q = qt - g3 * ey
            L = y - lndt - lnf(q, *p)
            dL = 1.0 + g3 * ey * dlnf(q, *p)
            L = np.where(q > 0, L, np.inf)        # q <= 0 only through round-off at the upper bracket end
            lo = np.where(L < 0, y, lo)
            hi = np.where(L > 0, y, hi)
            step = L / dL
            yn = y - step
            small = np.abs(step) <= tol           # converged (the step may touch a bracket end by round-off)
            bad = ~((yn > lo) & (yn < hi)) & ~small
            yn = np.where(bad, 0.5 * (lo + hi), yn)
            done = small | (L == 0) | (hi - lo <= tol)
            y = np.where(L == 0, y, np.clip(yn, lo, hi))
            if done.all():
                out_y[idx] = y
                break
            if it >= max_iter:
                keep = ~done
                raise ConvergenceError(
                    f"{what}: local return map did not converge in {max_iter} iterations at {keep.sum()} of {M} "
                    "points", {"points": idx[keep][:10].tolist(), "q_tr": qt[keep][:10].tolist()})
            if done.any():
                out_y[idx[done]] = y[done]
                keep = ~done
                idx, y, lo, hi, qt, g3 = idx[keep], y[keep], lo[keep], hi[keep], qt[keep], g3[keep]
                p = tuple(a[keep] for a in p)
        dp = np.exp(out_y)
        q = q_tr - G3 * dp
        d = dlnf(q, *params)
    return dp, d, it


@dataclass(frozen=True)
class CreepLaw(Material):
    """Isotropic elasticity + J2 creep eps_dot_eq = f(sigma_vm, T) (no yield surface), backward Euler.

    Extra state variable: "rate_in" (6, N) inelastic strain rate (1/s, Mandel) at the end of the last increment,
    (3/2) f(sigma_vm) s / sigma_vm at the converged stress; zero in the initial (stress-free) state."""

    state_vars: ClassVar[tuple[str, ...]] = ("rate_in",)
    #: the variables `update` integrates in time (the stepper's BDF2 extrapolates exactly these:
    #: fe/solver/discretization.bdf2_update)
    multistep_vars: ClassVar[tuple[str, ...]] = ("eps_in",)

    # subclasses: per-point parameters of ln f at T_K, ln f(q, *params), d ln f/dq
    def _rate_params(self, T_K) -> tuple:
        raise NotImplementedError

    @staticmethod
    def _lnf(q, *params):
        raise NotImplementedError

    @staticmethod
    def _dlnf(q, *params):
        raise NotImplementedError

    def rate(self, sigma_vm, T):
        """Equivalent creep rate (1/s) at von Mises stress sigma_vm (MPa) and T (°C)."""
        sigma_vm, T = np.broadcast_arrays(np.asarray(sigma_vm, float), np.asarray(T, float))
        p = self._rate_params(T + T_ABS)
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            return np.exp(self._lnf(sigma_vm, *p))

    def init_state(self, n: int) -> dict:
        return {**super().init_state(n), "rate_in": np.zeros((6, n))}

    def update(self, state, eps_mech, T, dt):
        tr = Trial(self, state, eps_mech, T)
        n = tr.n
        dp = np.zeros(n)
        c = np.ones(n)
        extra = None
        if dt > 0:
            idx = np.flatnonzero(tr.q_tr > 0)
            if idx.size:
                T_K = temperature_array(T, n)[idx] + T_ABS
                params = tuple(np.broadcast_to(np.asarray(a, float), idx.shape) for a in self._rate_params(T_K))
                G3 = 3.0 * tr.G[idx]
                d, dl, _ = solve_flow(tr.q_tr[idx], G3, dt, self._lnf, self._dlnf, params,
                                      what=f"materials.{self.name} ({self.model})")
                dp[idx] = d
                # c = 1/(1 + 3G dt f'(q)), dt f'(q) = dt f(q) dlnf(q) = dp dlnf(q) at the solution
                with np.errstate(invalid="ignore", over="ignore"):
                    r = G3 * d * dl
                c[idx] = np.where(np.isfinite(r), 1.0 / (1.0 + r), 0.0)
        elif dt < 0:
            raise ValueError(f"dt = {dt} < 0")
        else:     # dt = 0: the instantaneous (elastic) response; the rate at its stress, f(q_tr) (3/2) s/q
            extra = {"rate_in": (SQ32 * self.rate(tr.q_tr, temperature_array(T, n))) * tr.N}
        return finish(self, state, tr, dp, c, extra, dt=dt)


# ----------------------------------------------------------------------------------------------------------------
# Norton
# ----------------------------------------------------------------------------------------------------------------
NORTON_KEYS = ISOTROPIC_KEYS | {"A", "n", "Q_over_R"}


@dataclass(frozen=True)
class Norton(CreepLaw):
    """Norton power-law creep eps_dot_eq = A exp(-Q_over_R / T_K) sigma_vm^n with isotropic E(T), nu."""

    A: float = 0.0            # 1/(s MPa^n)
    n: float = 1.0
    Q_over_R: float = 0.0     # K
    model: ClassVar[str] = "norton"
    update_cost: ClassVar[float] = 8.8e-07   # s per point (base.Material.update_cost)

    @classmethod
    def from_spec(cls, name: str, spec: dict) -> "Norton":
        check_keys(name, spec, NORTON_KEYS, {"E", "nu", "alpha", "A", "n"})
        p = f"materials.{name}"
        return cls(**isotropic_common(name, spec), A=positive(f"{p}.A", spec["A"]),
                   n=positive(f"{p}.n", spec["n"]),
                   Q_over_R=number(f"{p}.Q_over_R", spec.get("Q_over_R", 0.0), 0.0, 1e6))

    def _rate_params(self, T_K):
        return (np.log(self.A) - self.Q_over_R / np.asarray(T_K, float), np.full(np.shape(T_K), self.n))

    @staticmethod
    def _lnf(q, lnA, n):
        return lnA + n * np.log(q)

    @staticmethod
    def _dlnf(q, lnA, n):
        return n / q

    def describe(self):
        return {**super().describe(), "A [1/(s MPa^n)]": self.A, "n": self.n, "Q_over_R [K]": self.Q_over_R}
