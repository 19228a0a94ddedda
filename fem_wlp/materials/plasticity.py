"""Rate-independent J2 (von Mises) plasticity: linear or multilinear isotropic hardening, or linear kinematic
(Prager) hardening. Isotropic elasticity with E(T), constant nu; yield and hardening are temperature-independent.

Study keys (`model = "plastic"`):
    yield_stress       MPa, the initial yield stress sigma_y0 > 0, or a table [[plastic strain, stress], ...]
                       (first plastic strain 0, strictly increasing strains, non-decreasing stresses) for
                       multilinear isotropic hardening; beyond the last point the stress stays constant
    hardening_modulus  MPa, H = d sigma_y / d eps_p >= 0 of linear hardening (default 0: perfectly plastic;
                       not allowed together with a table). The bilinear tangent modulus is E H / (E + H).
    hardening          "isotropic" (default) or "kinematic" (linear Prager: back-stress rate (2/3) H eps_dot_p;
                       tables are isotropic only)

Closed-form radial return (exact for piecewise-linear hardening, any step size):
    xi_tr = s_tr - beta_n,  q_tr = sqrt(3/2)|xi_tr|,  f_tr = q_tr - sigma_y(p_n)
    isotropic: dp solves q_tr - 3G dp = sigma_y(p_n + dp) (the hardening segment holding the root is found
               vectorised, one pass per table row); kinematic: dp = f_tr / (3G + H),
               beta_{n+1} = beta_n + sqrt(2/3) H dp N
    sigma = K tr(eps_e) I + s_tr - sqrt(6) G dp N
Simo–Hughes consistent tangent:
    D = 3K IVOL + 2G theta IDEV + 2G (H/(3G + H) - theta) N x N,  theta = 1 - 3G dp / q_tr,
    H the slope of the active segment.

The model is rate-independent: `dt` is not used (dt = 0 also yields plastically when the strain requires it).
It has no inelastic strain *rate*, so the time stepper's local error estimate (a difference of rates at both ends
of an increment, fe/solver/stepping.py) does not apply: the state carries no "rate_in" and the plastic regions
contribute nothing to it. The closed-form return above is exact for radial paths at any step size; for
non-radial paths the step is bounded by solver.max_deps_in (the coarse guard on the plastic strain increment).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from fem_wlp.errors import InputError
from fem_wlp.materials.base import ISOTROPIC_KEYS, Material, check_keys, isotropic_common, number, positive
from fem_wlp.materials.norton import Trial, finish

PLASTIC_KEYS = ISOTROPIC_KEYS | {"yield_stress", "hardening_modulus", "hardening"}


@dataclass(frozen=True)
class J2Plastic(Material):
    """J2 plasticity with linear/multilinear isotropic or linear kinematic hardening."""

    #: hardening curve sigma_y(p): breakpoints p_k (plastic strain), stresses Y_k and the slope after each point
    p_points: tuple = (0.0,)
    y_points: tuple = (0.0,)
    slopes: tuple = (0.0,)
    hardening: str = "isotropic"
    model: ClassVar[str] = "plastic"
    update_cost: ClassVar[float] = 4.6e-07   # s per point (base.Material.update_cost)
    state_vars: ClassVar[tuple[str, ...]] = ("backstress",)

    @classmethod
    def from_spec(cls, name: str, spec: dict) -> "J2Plastic":
        check_keys(name, spec, PLASTIC_KEYS, {"E", "nu", "alpha", "yield_stress"})
        p = f"materials.{name}"
        hard = spec.get("hardening", "isotropic")
        if hard not in ("isotropic", "kinematic"):
            raise InputError(f"{p}.hardening", hard, '"isotropic" or "kinematic"')
        ys = spec["yield_stress"]
        if isinstance(ys, (list, tuple)):
            if "hardening_modulus" in spec:
                raise InputError(f"{p}.hardening_modulus", spec["hardening_modulus"],
                                 "no hardening_modulus with a multilinear yield_stress table")
            if hard != "isotropic":
                raise InputError(f"{p}.hardening", hard, '"isotropic" with a multilinear yield_stress table')
            try:
                rows = [(float(a), float(b)) for a, b in ys]
            except (TypeError, ValueError):
                raise InputError(f"{p}.yield_stress", ys, "a number or [[plastic strain, stress], ...]") from None
            P = np.array([r[0] for r in rows])
            Y = np.array([r[1] for r in rows])
            if not (P.size >= 1 and P[0] == 0.0 and np.all(np.diff(P) > 0) and np.all(Y > 0)
                    and np.all(np.diff(Y) >= 0) and np.all(np.isfinite(Y)) and np.all(np.isfinite(P))):
                raise InputError(f"{p}.yield_stress", ys,
                                 "a table [[plastic strain, stress], ...] starting at plastic strain 0, strains "
                                 "strictly increasing, stresses > 0 and non-decreasing")
            H = np.append(np.diff(Y) / np.diff(P), 0.0)
            curve = dict(p_points=tuple(P), y_points=tuple(Y), slopes=tuple(H))
        else:
            y0 = positive(f"{p}.yield_stress", ys)
            H = number(f"{p}.hardening_modulus", spec.get("hardening_modulus", 0.0), 0.0, 1e9)
            curve = dict(p_points=(0.0,), y_points=(y0,), slopes=(H,))
        return cls(**isotropic_common(name, spec), hardening=hard, **curve)

    @property
    def yield_stress(self) -> float:
        return self.y_points[0]

    def flow_stress(self, p):
        """Isotropic flow stress sigma_y(p) (MPa) at equivalent plastic strain p."""
        P, Y, H = (np.array(a) for a in (self.p_points, self.y_points, self.slopes))
        p = np.asarray(p, float)
        k = np.clip(np.searchsorted(P, p, side="right") - 1, 0, P.size - 1)
        return Y[k] + H[k] * (p - P[k])

    def init_state(self, n: int) -> dict:
        return {**super().init_state(n), "backstress": np.zeros((6, n))}

    def update(self, state, eps_mech, T, dt):
        kin = self.hardening == "kinematic"
        beta = state.get("backstress")
        tr = Trial(self, state, eps_mech, T, shift=beta if kin else None)
        n = tr.n
        G3 = 3.0 * tr.G
        p_n = state["eps_in_eq"]
        P, Y, H = (np.array(a) for a in (self.p_points, self.y_points, self.slopes))
        sy = Y[0] if kin else self.flow_stress(p_n)
        f = tr.q_tr - sy
        plastic = f > 0.0
        dp = np.zeros(n)
        Hact = np.zeros(n)
        if np.any(plastic):
            if kin:
                Hact[:] = H[0]
                dp = np.where(plastic, f / (G3 + H[0]), 0.0)
            else:
                # the root p of q_tr - 3G (p - p_n) = sigma_y(p); phi is strictly decreasing in p, so the
                # segment whose line meets it inside the segment holds the unique root
                found = ~plastic
                p_new = p_n.copy()
                for k in range(P.size):
                    pk = (tr.q_tr + G3 * p_n - Y[k] + H[k] * P[k]) / (G3 + H[k])
                    upper = P[k + 1] if k + 1 < P.size else np.inf
                    sel = ~found & (pk >= P[k]) & (pk <= upper)
                    p_new = np.where(sel, pk, p_new)
                    Hact = np.where(sel, H[k], Hact)
                    found |= sel
                if not np.all(found):        # round-off exactly at a breakpoint: take the breakpoint segment
                    k = np.clip(np.searchsorted(P, p_n, side="right") - 1, 0, P.size - 1)
                    pk = (tr.q_tr + G3 * p_n - Y[k] + H[k] * P[k]) / (G3 + H[k])
                    p_new = np.where(found, p_new, np.maximum(pk, p_n))
                    Hact = np.where(found, Hact, H[k])
                dp = np.where(plastic, np.maximum(p_new - p_n, 0.0), 0.0)
        c = Hact / (G3 + Hact)
        extra = None
        if beta is not None or kin:
            b = np.zeros((6, n)) if beta is None else beta
            extra = {"backstress": b + (np.sqrt(2.0 / 3.0) * H[0] * dp) * tr.N if kin else b.copy()}
        return finish(self, state, tr, dp, c, extra)

    def describe(self):
        d = super().describe()
        if len(self.p_points) == 1:
            d.update({"yield_stress [MPa]": self.y_points[0], "hardening_modulus [MPa]": self.slopes[0]})
        else:
            d["yield_stress [plastic strain, MPa]"] = [[a, b] for a, b in zip(self.p_points, self.y_points)]
        d["hardening"] = self.hardening
        return d
