"""Garofalo (hyperbolic-sine) creep with isotropic elasticity (ANSYS TB,CREEP TBOPT = 8):

    eps_dot_eq = C1 [sinh(C2 sigma_vm)]^C3 exp(-Q_over_R / T_K),   eps_dot_in = (3/2) eps_dot_eq s / sigma_vm
    C1 (1/s) > 0, C2 (1/MPa) > 0, C3 > 0, Q_over_R (K) >= 0.

Backward-Euler radial return with the consistent tangent, shared with Norton (see `norton.py`). The rate is
evaluated in log form, ln f = ln C1 - Q/RT + C3 ln sinh(C2 q), with ln sinh(u) = u - ln 2 + ln(1 - e^(-2u)) for
large u, so no sinh overflow for any trial stress; d ln f/dq = C3 C2 coth(C2 q).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from fem_wlp.materials.base import ISOTROPIC_KEYS, check_keys, isotropic_common, number, positive
from fem_wlp.materials.norton import CreepLaw, coth, log_sinh

GAROFALO_KEYS = ISOTROPIC_KEYS | {"C1", "C2", "C3", "Q_over_R"}


@dataclass(frozen=True)
class Garofalo(CreepLaw):
    """Hyperbolic-sine creep eps_dot_eq = C1 sinh(C2 sigma_vm)^C3 exp(-Q_over_R/T_K)."""

    C1: float = 0.0          # 1/s
    C2: float = 1.0          # 1/MPa
    C3: float = 1.0
    Q_over_R: float = 0.0    # K
    model: ClassVar[str] = "garofalo"
    update_cost: ClassVar[float] = 6.0e-07   # s per point (base.Material.update_cost)

    @classmethod
    def from_spec(cls, name: str, spec: dict) -> "Garofalo":
        check_keys(name, spec, GAROFALO_KEYS, {"E", "nu", "alpha", "C1", "C2", "C3", "Q_over_R"})
        p = f"materials.{name}"
        return cls(**isotropic_common(name, spec), C1=positive(f"{p}.C1", spec["C1"]),
                   C2=positive(f"{p}.C2", spec["C2"]), C3=positive(f"{p}.C3", spec["C3"]),
                   Q_over_R=number(f"{p}.Q_over_R", spec["Q_over_R"], 0.0, 1e6))

    def _rate_params(self, T_K):
        T_K = np.asarray(T_K, float)
        return (np.log(self.C1) - self.Q_over_R / T_K, np.full(T_K.shape, self.C2), np.full(T_K.shape, self.C3))

    @staticmethod
    def _lnf(q, lnC, C2, C3):
        return lnC + C3 * log_sinh(C2 * q)

    @staticmethod
    def _dlnf(q, lnC, C2, C3):
        return C3 * C2 * coth(C2 * q)

    def describe(self):
        return {**super().describe(), "C1 [1/s]": self.C1, "C2 [1/MPa]": self.C2, "C3": self.C3,
                "Q_over_R [K]": self.Q_over_R}
