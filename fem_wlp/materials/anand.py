"""Anand viscoplasticity (Anand 1985; Brown, Kim & Anand 1989), the standard solder model (ANSYS TB,ANAND).

    flow        eps_dot_p = A exp(-Q_over_R / T_K) [sinh(xi sigma_vm / s)]^(1/m),  eps_dot_in = (3/2) eps_dot_p s/sigma_vm
    evolution   s_dot = h0 |1 - s/s*|^a sign(1 - s/s*) eps_dot_p,   s* = s_hat [(eps_dot_p / A) exp(Q_over_R / T_K)]^n
    parameters  s0 (MPa, initial s), Q_over_R (K), A (1/s), xi, m (0 < m <= 1), h0 (MPa), s_hat (MPa), n, a (>= 1)

Implicit (backward Euler) integration of both equations on the radial return of `norton.py`; two scalar unknowns
per point, dp (equivalent inelastic strain increment) and s = s_{n+1}:
    R1(dp, s) = ln dp - ln(dt A_T) - (1/m) ln sinh(xi (q_tr - 3G dp) / s) = 0       A_T = A exp(-Q_over_R/T_K)
    R2(dp, s) = s - s_n - h0 phi(1 - s/s*) dp = 0,  phi(x) = |x|^a sign(x),  s* = s_hat (dp / (dt A_T))^n
Solution scheme (vectorised; never fails for large steps):
  - inner: for a given s, dp(s) from R1 by the bracketed safeguarded Newton of `norton.solve_flow` (R1 is strictly
    monotone in ln dp with a known bracket);
  - outer: Newton on the reduced residual F(s) = R2(dp(s), s) with the exact derivative
    dF/ds = dR2/ds + dR2/d(dp) d(dp)/ds (implicit function theorem on R1), safeguarded by a bracket that always
    holds the root: with S1 = s*(dp(s_n)), F changes sign on [min(s_n, S1), max(s_n, S1)]
    (dp(s) decreases with s and s* increases with dp); a step leaving the bracket is replaced by bisection.
Consistent tangent by the implicit function theorem on (R1, R2) (no autodiff):
    [dR1/d(dp)  dR1/ds] [d(dp)/dq_tr]     [dR1/dq_tr]
    [dR2/d(dp)  dR2/ds] [ds/dq_tr   ] = - [    0    ] ,   c = 1 - 3G d(dp)/dq_tr,
    D = 3K IVOL + 2G theta IDEV + 2G (c - theta) N x N   (see norton.finish).
The iteration is compiled point by point (kernels.py, which first tries Newton on (dp, s) together from the last
increment's rate); tests/reference/anand.py keeps the vectorised numpy form of the scheme above as the reference
it is checked against.
Extra state variables: "s" (N,) deformation resistance (MPa); "rate" (N,) equivalent inelastic strain rate over the
last increment dp/dt (1/s), the starting guess of the next increment's compiled return map; "rate_in" (6, N) the
inelastic strain rate tensor d eps_in/dt at the end of the last increment (the time stepper's error estimate).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from fem_wlp.errors import ConvergenceError, InputError
from fem_wlp.materials import kernels
from fem_wlp.materials.base import ISOTROPIC_KEYS, Material, check_keys, isotropic_common, number, positive
from fem_wlp.materials.norton import LOCAL_MAX_ITER, LOCAL_TOL, T_ABS, Trial, finish, temperature_array

ANAND_PARAMS = ("s0", "Q_over_R", "A", "xi", "m", "h0", "s_hat", "n", "a")
ANAND_KEYS = ISOTROPIC_KEYS | set(ANAND_PARAMS)
#: outer (s) Newton tolerance, relative to s
S_TOL = 1e-12


@dataclass(frozen=True)
class Anand(Material):
    """Anand viscoplasticity with isotropic E(T), constant nu; state variable s."""

    s0: float = 1.0
    Q_over_R: float = 0.0
    A: float = 1.0
    xi: float = 1.0
    m: float = 1.0
    h0: float = 0.0
    s_hat: float = 1.0
    n: float = 0.0
    a: float = 1.0
    model: ClassVar[str] = "anand"
    update_cost: ClassVar[float] = 3.4e-06   # s per point (base.Material.update_cost)
    state_vars: ClassVar[tuple[str, ...]] = ("s", "rate", "rate_in")
    #: the variables `update` integrates in time (BDF2 in the stepper: fe/solver/discretization.bdf2_update)
    multistep_vars: ClassVar[tuple[str, ...]] = ("eps_in", "s")

    @classmethod
    def from_spec(cls, name: str, spec: dict) -> "Anand":
        check_keys(name, spec, ANAND_KEYS, {"E", "nu", "alpha"} | set(ANAND_PARAMS))
        p = f"materials.{name}"
        kw = {k: positive(f"{p}.{k}", spec[k]) for k in ("s0", "A", "xi", "s_hat")}
        kw["Q_over_R"] = number(f"{p}.Q_over_R", spec["Q_over_R"], 0.0, 1e6)
        kw["h0"] = number(f"{p}.h0", spec["h0"], 0.0, 1e12)
        kw["n"] = number(f"{p}.n", spec["n"], 0.0, 1.0)
        a = spec["a"]
        if isinstance(a, bool) or not isinstance(a, (int, float)) or not (a >= 1.0 and np.isfinite(a)):
            raise InputError(f"{p}.a", a, "a number >= 1")
        m = spec["m"]
        if isinstance(m, bool) or not isinstance(m, (int, float)) or not (0.0 < m <= 1.0):
            raise InputError(f"{p}.m", m, "a number with 0 < m <= 1")
        kw["m"] = float(m)
        kw["a"] = float(a)
        return cls(**isotropic_common(name, spec), **kw)

    # -- closed forms (uniaxial, constant inelastic strain rate) ------------------------------------------------
    def saturation_stress(self, rate, T):
        """sigma* = (s_hat/xi) Z^n asinh(Z^m), Z = (rate/A) exp(Q/RT_K) (MPa); T in °C."""
        Z = np.asarray(rate, float) / self.A * np.exp(self.Q_over_R / (np.asarray(T, float) + T_ABS))
        return self.s_hat / self.xi * Z ** self.n * np.arcsinh(Z ** self.m)

    def constant_rate_stress(self, eps_p, rate, T):
        """sigma(eps_p) at constant eps_dot_p = rate (closed form, a != 1, s0 < s*)."""
        Z = np.asarray(rate, float) / self.A * np.exp(self.Q_over_R / (np.asarray(T, float) + T_ABS))
        c = np.arcsinh(Z ** self.m) / self.xi
        ss = self.s_hat * Z ** self.n
        a = self.a
        s = ss - ((ss - self.s0) ** (1 - a) + (a - 1) * self.h0 * ss ** (-a) * np.asarray(eps_p, float)) \
            ** (1 / (1 - a))
        return c * s

    # -- state and update ------------------------------------------------------------------------------------
    def init_state(self, n: int) -> dict:
        return {**super().init_state(n), "s": np.full(n, self.s0), "rate": np.zeros(n), "rate_in": np.zeros((6, n))}

    def update(self, state, eps_mech, T, dt):
        """Backward Euler: the compiled return map (kernels.anand_return_map) at the points that flow."""
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            tr = Trial(self, state, eps_mech, T)
            N = tr.n
            dp = np.zeros(N)
            c = np.ones(N)
            s_new = state["s"].copy()
            if dt < 0:
                raise ValueError(f"dt = {dt} < 0")
            idx = np.flatnonzero(tr.q_tr > 0) if dt > 0 else np.zeros(0, int)
            if idx.size:
                dp[idx], s_new[idx], c[idx] = self._return_map(state, tr, T, dt, idx)
            extra = {"s": s_new, "rate": dp / dt if dt > 0 else np.zeros(N)}
            if dt == 0:       # the instantaneous (elastic) response: the flow rate at its stress and s_n
                T_K = temperature_array(T, N) + T_ABS
                r = self.A * np.exp(-self.Q_over_R / T_K) * np.sinh(self.xi * tr.q_tr / s_new) ** (1.0 / self.m)
                extra["rate_in"] = (np.sqrt(1.5) * np.where(np.isfinite(r), r, 0.0)) * tr.N
            return finish(self, state, tr, dp, c, extra, dt=dt)

    def _return_map(self, state, tr, T, dt, idx):
        """(dp, s_{n+1}, c) at the flowing points idx; ConvergenceError where the kernel reports a failure."""
        T_K = temperature_array(T, tr.n)[idx] + T_ABS
        lnAT = np.log(self.A) - self.Q_over_R / T_K
        rate = state.get("rate")
        y0 = np.log(rate[idx] * dt) if rate is not None else np.full(idx.size, -np.inf)
        d, s, c, status = kernels.anand_return_map(
            tr.q_tr[idx], 3.0 * tr.G[idx], state["s"][idx], lnAT, float(dt), y0, self.xi, self.m, self.h0,
            self.s_hat, self.n, self.a, LOCAL_TOL, S_TOL, LOCAL_MAX_ITER)
        bad = np.flatnonzero(status < 0)
        if bad.size:
            first = int(status[bad[0]])
            what = {kernels.FAILED_FLOW: f"the local return map did not converge in {LOCAL_MAX_ITER} iterations",
                    kernels.FAILED_S: f"the s-iteration did not converge in {LOCAL_MAX_ITER} iterations",
                    kernels.NOT_FINITE: "the return map gave a non-finite result (overflow or division by zero: "
                                        "are the material parameters physical?)"}[first]
            raise ConvergenceError(f"materials.{self.name} (anand): {what} at {bad.size} of {tr.n} points",
                                   {"points": idx[bad[:10]].tolist(), "status": first})
        return d, s, c

    def describe(self):
        return {**super().describe(), "s0 [MPa]": self.s0, "Q_over_R [K]": self.Q_over_R, "A [1/s]": self.A,
                "xi": self.xi, "m": self.m, "h0 [MPa]": self.h0, "s_hat [MPa]": self.s_hat, "n": self.n,
                "a": self.a}
