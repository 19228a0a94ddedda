"""Rate-independent J2 plasticity with nonlinear kinematic hardening (Armstrong–Frederick / Chaboche), a
temperature-dependent yield stress sigma_y(T) and modulus E(T), and optional linear isotropic hardening.

Study keys (`model = "chaboche"`):
    E, nu, alpha, T_alpha  isotropic elasticity and expansion (E and alpha may be [[T_C, value], ...] tables)
    yield_stress           MPa, the size of the elastic domain sigma_y(T) > 0: a number or [[T_C, MPa], ...]
    C                      MPa, kinematic moduli C_k >= 0 of the backstresses: a number (one backstress) or a list
    gamma                  dynamic-recovery coefficients gamma_k >= 0 (dimensionless), same length as C;
                           gamma_k = 0 is linear (Prager) kinematic hardening
    hardening_modulus      MPa, linear isotropic hardening H >= 0 of the yield stress (default 0):
                           R(p, T) = sigma_y(T) + H p

Constitutive law (Mandel vectors, `materials/base.py`; X_k deviatoric backstresses, X = sum_k X_k):
    f = sqrt(3/2) |s - X| - R(p, T) <= 0,    d eps_p = sqrt(3/2) dp n,  n = (s - X) / |s - X|
    dX_k = sqrt(2/3) C_k dp n - gamma_k dp X_k     (i.e. (2/3) C_k d eps_p - gamma_k X_k dp in tensor form)
Under uniaxial stress in a constant flow direction s = +-1 the axial backstress X_u = (3/2) X_xx obeys
    X_u = s C/gamma + (X_u0 - s C/gamma) exp(-s gamma (eps_p - eps_p0)),   sigma = X_u + s R
(the closed form tests/test_kinematic_hardening.py checks). C and gamma are temperature-independent: with C(T)
the rate form would need the extra term (dC/dT / C) X dT (Chaboche 2008); no source gives C(T) for copper, so
the model does not offer it.

Backward Euler (radial return with the backstresses at the end of the increment):
    X_k = a_k (X_k,n + sqrt(2/3) C_k dp n),  a_k = 1 / (1 + gamma_k dp)
    xi~(dp) = s_tr - sum_k a_k X_k,n       (s_tr = 2G dev(eps - eps_p,n), G at the end-of-increment T)
    n = xi~ / |xi~|,  and dp solves the scalar equation
    F(dp) = sqrt(3/2) |xi~(dp)| - (3G + sum_k a_k C_k) dp - R(p_n + dp, T) = 0
by Newton from the linear-hardening guess dp_0 = f_tr / (3G + sum C_k + H) (F is concave for the flows that
occur; the iteration is safeguarded by bisection on [0, f_tr / (3G + H)] -- F(0) = f_tr > 0 and
F(f_tr/(3G + H)) <= 0 since |xi~| <= |s_tr - X_n| + sum_k (1 - a_k)|X_k,n| grows more slowly than the subtracted
terms for any admissible state, |X_k| <= sqrt(2/3) C_k / gamma_k).
Consistent tangent (differentiating the discrete equations):
    A = 3G + sum_k a_k^2 C_k + H - sqrt(3/2) n . b,   b = sum_k gamma_k a_k^2 X_k,n
    D = 3K IVOL + 2G [(1 - theta) IDEV + theta n x n] - (6 G^2 / A) [n + (dp/|xi~|) P b] x n,
    theta = sqrt(6) G dp / |xi~|,  P = I - n x n.
The last term is unsymmetric when P b != 0 (a non-radial increment with gamma > 0 and a backstress not
parallel to the trial direction). The assembly keeps only symmetric tangents (fe/kernels.py), so `update`
returns the symmetric part by default (exact for radial increments: Newton stays quadratic there and is
still convergent, not quadratic, in the non-radial case); `symmetric_tangent=False` gives the full one
(the finite-difference test checks both).

The model is rate-independent (`dt` is not used), carries no "rate_in" (the time stepper's local error
estimate does not apply, as for materials/plasticity.py) and its steps are bounded by solver.max_deps_in.
State: the common fields (materials/base.py) + "backstress" (6, N), the sum of the backstresses, and
"backstress_1", ..., "backstress_m" when there are m > 1 of them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from fem_wlp.errors import ConvergenceError, InputError
from fem_wlp.materials.base import (I6, ISOTROPIC_KEYS, add_isotropic, Material, check_keys, isotropic_common, number, table)
from fem_wlp.materials.norton import SQ32, SQ6, Trial, temperature_array

CHABOCHE_KEYS = ISOTROPIC_KEYS | {"yield_stress", "C", "gamma", "hardening_modulus"}
SQ23 = np.sqrt(2.0 / 3.0)
#: local Newton: relative tolerance on dp and iteration cap
LOCAL_TOL = 1e-13
LOCAL_MAX_ITER = 60


def _coefficients(key: str, value) -> tuple[float, ...]:
    """A number or a non-empty list of numbers, each finite and >= 0."""
    vals = value if isinstance(value, (list, tuple)) else [value]
    if not vals:
        raise InputError(key, value, "a number >= 0 or a non-empty list of numbers >= 0")
    out = []
    for v in vals:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v) or v < 0:
            raise InputError(key, value, "a number >= 0 or a non-empty list of numbers >= 0 (MPa for C)")
        out.append(float(v))
    return tuple(out)


@dataclass(frozen=True)
class Chaboche(Material):
    """J2 plasticity, Armstrong–Frederick backstresses (Chaboche superposition), sigma_y(T), E(T)."""

    yield_table: object = None            # Table sigma_y(T) (MPa)
    C: tuple = ()                         # MPa
    gamma: tuple = ()
    hardening_modulus: float = 0.0        # MPa, linear isotropic
    symmetric_tangent: bool = True
    model: ClassVar[str] = "chaboche"
    update_cost: ClassVar[float] = 1.2e-06   # s per point (base.Material.update_cost)
    state_vars: ClassVar[tuple[str, ...]] = ("backstress",)

    @classmethod
    def from_spec(cls, name: str, spec: dict) -> "Chaboche":
        check_keys(name, spec, CHABOCHE_KEYS, {"E", "nu", "alpha", "yield_stress", "C", "gamma"})
        p = f"materials.{name}"
        sy = table(f"{p}.yield_stress", spec["yield_stress"], positive=True)
        C = _coefficients(f"{p}.C", spec["C"])
        g = _coefficients(f"{p}.gamma", spec["gamma"])
        if len(C) != len(g):
            raise InputError(f"{p}.gamma", spec["gamma"], f"as many values as C ({len(C)})")
        H = number(f"{p}.hardening_modulus", spec.get("hardening_modulus", 0.0), 0.0, 1e9)
        return cls(**isotropic_common(name, spec), yield_table=sy, C=C, gamma=g, hardening_modulus=H)

    # -- helpers ----------------------------------------------------------------------------------------------
    @property
    def m(self) -> int:
        return len(self.C)

    def _keys(self) -> list[str]:
        return ["backstress"] if self.m == 1 else [f"backstress_{k + 1}" for k in range(self.m)]

    def yield_stress(self, T):
        """sigma_y(T) (MPa)."""
        return self.yield_table(T)

    def saturation(self) -> float:
        """Uniaxial saturation of the total backstress, sum_k C_k / gamma_k (inf with a linear backstress)."""
        return float(sum(c / g if g > 0 else (np.inf if c > 0 else 0.0) for c, g in zip(self.C, self.gamma)))

    def init_state(self, n: int) -> dict:
        st = {**super().init_state(n), "backstress": np.zeros((6, n))}
        for k in self._keys():
            st[k] = np.zeros((6, n))
        return st

    # -- update -----------------------------------------------------------------------------------------------
    def update(self, state, eps_mech, T, dt):
        keys = self._keys()
        Xn = [state[k] if k in state else np.zeros_like(state["eps_in"]) for k in keys]
        Xsum = Xn[0] if len(Xn) == 1 else np.sum(Xn, axis=0)
        tr = Trial(self, state, eps_mech, T, shift=Xsum)
        n = tr.n
        G, K = tr.G, tr.K
        H = self.hardening_modulus
        Tn = temperature_array(T, n)
        p_n = state["eps_in_eq"]
        R0 = np.broadcast_to(np.asarray(self.yield_stress(Tn), float), (n,)) + H * p_n
        f_tr = tr.q_tr - R0
        plastic = f_tr > 0.0
        dp = np.zeros(n)
        Nd = tr.N.copy()                         # flow direction (unit, deviatoric)
        xnorm = tr.q_tr / SQ32                   # |xi~|
        Afac = np.ones(n)
        Pb = np.zeros((6, n))
        a = [np.ones(n) for _ in keys]
        idx = np.flatnonzero(plastic)
        if idx.size:
            d, nd, xn_, A_, Pb_, a_ = self._return(tr, Xn, R0, idx)
            dp[idx], Nd[:, idx], xnorm[idx], Afac[idx], Pb[:, idx] = d, nd, xn_, A_, Pb_
            for k in range(len(keys)):
                a[k][idx] = a_[k]
        # stress, state
        deps_in = (SQ32 * dp) * Nd
        sig = (K * tr.tr) * I6[:, None] + tr.s_tr - (SQ6 * G * dp) * Nd
        new = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in state.items()}
        new["stress"] = sig
        new["eps_in"] = state["eps_in"] + deps_in
        new["eps_in_eq"] = p_n + dp
        new["w_in"] = state["w_in"] + 0.5 * np.einsum("in,in->n", state["stress"] + sig, deps_in)
        Xnew = [a[k] * (Xn[k] + (SQ23 * self.C[k] * dp) * Nd) for k in range(len(keys))]
        for k, key in enumerate(keys):
            new[key] = Xnew[k]
        new["backstress"] = Xnew[0] if len(Xnew) == 1 else np.sum(Xnew, axis=0)
        D = self._tangent(G, K, dp, Nd, xnorm, Afac, Pb)
        return sig, D, new

    def _return(self, tr, Xn, R0, idx):
        """Scalar Newton (bisection-safeguarded) on F(dp) at the plastic points idx."""
        G3 = 3.0 * tr.G[idx]
        H = self.hardening_modulus
        s_tr = tr.s_tr[:, idx]
        X = [x[:, idx] for x in Xn]
        C = np.array(self.C)
        gam = np.array(self.gamma)
        f_tr = tr.q_tr[idx] - R0[idx]
        R0i = R0[idx]

        def parts(dp):
            a = [1.0 / (1.0 + g * dp) for g in gam]
            xt = s_tr - sum(ak * xk for ak, xk in zip(a, X))
            nx = np.sqrt(np.einsum("in,in->n", xt, xt))
            F = SQ32 * nx - (G3 + sum(ak * c for ak, c in zip(a, C))) * dp - (R0i + H * dp)
            return a, xt, nx, F

        lo = np.zeros(idx.size)
        hi = f_tr / (G3 + H)
        dp = np.clip(f_tr / (G3 + C.sum() + H), lo, hi)
        tol_abs = LOCAL_TOL * np.maximum(hi, 1e-300)
        for _ in range(LOCAL_MAX_ITER):
            a, xt, nx, F = parts(dp)
            hi = np.where(F < 0, dp, hi)
            lo = np.where(F > 0, dp, lo)
            nvec = xt / np.where(nx > 0, nx, 1.0)
            b = sum(g * ak * ak * xk for g, ak, xk in zip(gam, a, X))
            dF = SQ32 * np.einsum("in,in->n", nvec, b) - sum(c * ak * ak for c, ak in zip(C, a)) - G3 - H
            with np.errstate(divide="ignore", invalid="ignore"):
                step = np.where(dF < 0, -F / dF, np.nan)
            new = dp + step
            bad = ~np.isfinite(new) | (new <= lo) | (new >= hi)
            new = np.where(bad, 0.5 * (lo + hi), new)
            done = np.abs(new - dp) <= tol_abs + LOCAL_TOL * np.abs(new)
            dp = new
            if np.all(done):
                break
        else:
            raise ConvergenceError(f"materials.{self.name} (chaboche): local return did not converge in "
                                   f"{LOCAL_MAX_ITER} iterations", {"points": int(idx.size)})
        a, xt, nx, F = parts(dp)
        nvec = xt / np.where(nx > 0, nx, 1.0)
        b = sum(g * ak * ak * xk for g, ak, xk in zip(gam, a, X))
        A = G3 + sum(c * ak * ak for c, ak in zip(C, a)) + H - SQ32 * np.einsum("in,in->n", nvec, b)
        Pb = b - np.einsum("in,in->n", nvec, b) * nvec
        return dp, nvec, nx, A, Pb, a

    def _tangent(self, G, K, dp, Nd, xnorm, A, Pb):
        """D = 3K IVOL + 2G[(1 - theta) IDEV + theta n x n] - (6G^2/A)[n + (dp/|xi~|) P b] x n, (6, 6, N)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            theta = np.where(dp > 0, SQ6 * G * dp / np.where(xnorm > 0, xnorm, 1.0), 0.0)
            c = np.where(dp > 0, 6.0 * G * G / A, 0.0)
            r = np.where(dp > 0, dp / np.where(xnorm > 0, xnorm, 1.0), 0.0)
        left = Nd + r * Pb
        D = np.einsum("in,jn->ijn", (2.0 * G * theta) * Nd, Nd) - np.einsum("in,jn->ijn", c * left, Nd)
        if self.symmetric_tangent:
            D = 0.5 * (D + D.transpose(1, 0, 2))
        add_isotropic(D, K, 2.0 * G * (1.0 - theta))
        return D

    def describe(self):
        d = super().describe()
        d.update({"yield_stress [MPa]": self.yield_table.describe(), "C [MPa]": list(self.C),
                  "gamma": list(self.gamma), "hardening_modulus [MPa]": self.hardening_modulus,
                  "saturation sum C/gamma [MPa]": self.saturation()})
        return d
