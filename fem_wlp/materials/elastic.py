"""Anisotropic elastic materials: orthotropic (FR-4 laminates) and cubic (single-crystal silicon).

Material axes 1, 2 lie in the plane of the layer, axis 3 is the through-thickness direction. The model builder
orients a material to the mesh with `oriented(thickness_axis)`: thickness along mesh y for 2D and axisymmetric
models (x = in-plane / radial, y = up), along mesh z for 3D models. A cubic crystal may also be turned by
`rotation_deg` about the thickness axis (0: crystal <100> along mesh x; 45: <110> along x).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import ClassVar

import numpy as np

from fem_wlp.errors import InputError
from fem_wlp.materials.base import (SQ2, Expansion, Material, check_keys, describe_sources, expansion_table,
                                    from_tensor, matvec, number, positive, table, to_tensor)

W6 = np.array([1.0, 1.0, 1.0, SQ2, SQ2, SQ2])   # Voigt (engineering shear) -> Mandel scaling


def mandel_rotation(R):
    """6x6 orthogonal Q with sigma'_M = Q sigma_M for the tensor rotation sigma' = R sigma R^T."""
    Q = np.empty((6, 6))
    for J in range(6):
        e = np.zeros(6)
        e[J] = 1.0
        Q[:, J] = from_tensor(R @ to_tensor(e) @ R.T)
    return Q


def axes_rotation(thickness_axis: int, rotation_deg: float = 0.0):
    """R mapping material axes (1, 2, 3 = thickness) to mesh axes, with a turn about the thickness axis."""
    c, s = np.cos(np.radians(rotation_deg)), np.sin(np.radians(rotation_deg))
    turn = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    # permutation: material 1 -> first in-plane mesh axis, 2 -> second, 3 -> thickness axis
    inplane = [a for a in range(3) if a != thickness_axis]
    P = np.zeros((3, 3))
    P[inplane[0], 0] = P[inplane[1], 1] = P[thickness_axis, 2] = 1.0
    return P @ turn


@dataclass(frozen=True)
class AnisotropicElastic(Material):
    """Linear elastic with a constant Mandel stiffness in mesh axes (set by `oriented`)."""

    C_material: tuple = ()          # 6x6 Mandel stiffness in material axes, as nested tuples
    alpha_material: tuple = ()      # three Tables (axes 1, 2, 3)
    thickness_axis: int = 2
    rotation_deg: float = 0.0

    def oriented(self, thickness_axis: int) -> "AnisotropicElastic":
        # expansion: orthotropic alpha rotates like a strain; only axis permutations and turns about the
        # thickness axis with equal in-plane alpha are supported (checked on construction).
        perm = np.abs(axes_rotation(thickness_axis)).T.argmax(axis=0)   # mesh axis -> material axis
        axes = tuple(self.alpha_material[m] for m in perm)
        return replace(self, thickness_axis=thickness_axis, expansion=Expansion(axes, self.expansion.T_alpha))

    @property
    def elastic(self) -> bool:
        return True

    def stiffness(self, T):
        R = axes_rotation(self.thickness_axis, self.rotation_deg)
        Q = mandel_rotation(R)
        return Q @ np.array(self.C_material) @ Q.T

    def update(self, state, eps_mech, T, dt):
        D = self.stiffness(T)
        sig = matvec(D, eps_mech)
        return sig, D, {**state, "stress": sig}


ORTHO_KEYS = {"E1", "E2", "E3", "nu12", "nu13", "nu23", "G12", "G13", "G23",
              "alpha1", "alpha2", "alpha3", "T_alpha"}


@dataclass(frozen=True)
class Orthotropic(AnisotropicElastic):
    """Orthotropic elastic (engineering constants, axes 1, 2 in-plane, 3 through-thickness)."""

    model: ClassVar[str] = "orthotropic"
    constants: tuple = ()

    @classmethod
    def from_spec(cls, name: str, spec: dict) -> "Orthotropic":
        check_keys(name, spec, ORTHO_KEYS, ORTHO_KEYS - {"T_alpha"})
        p = f"materials.{name}"
        E1, E2, E3, G12, G13, G23 = (positive(f"{p}.{k}", spec[k]) for k in ("E1", "E2", "E3", "G12", "G13", "G23"))
        n12, n13, n23 = (number(f"{p}.{k}", spec[k], -1.0, 1.0) for k in ("nu12", "nu13", "nu23"))
        S = np.zeros((6, 6))                      # Voigt compliance, shear order 12, 13, 23
        S[0, 0], S[1, 1], S[2, 2] = 1 / E1, 1 / E2, 1 / E3
        S[0, 1] = S[1, 0] = -n12 / E1
        S[0, 2] = S[2, 0] = -n13 / E1
        S[1, 2] = S[2, 1] = -n23 / E2
        S[3, 3], S[4, 4], S[5, 5] = 1 / G12, 1 / G13, 1 / G23
        if np.any(np.linalg.eigvalsh(S) <= 0):
            raise InputError(p, {k: spec[k] for k in ("nu12", "nu13", "nu23")},
                             "engineering constants with a positive-definite compliance")
        C = np.linalg.inv(S) * np.outer(W6, W6)
        alphas = tuple(expansion_table(f"{p}.{k}", spec[k]) for k in ("alpha1", "alpha2", "alpha3"))
        T_alpha = number(f"{p}.T_alpha", spec.get("T_alpha", 25.0), -273.15, 1000.0)
        return cls(name=name, E=table(f"{p}.E1", E1), nu=n12,
                   expansion=Expansion(alphas, T_alpha), source=describe_sources(spec),
                   C_material=tuple(map(tuple, C)), alpha_material=alphas,
                   constants=(E1, E2, E3, n12, n13, n23, G12, G13, G23))

    def describe(self):
        E1, E2, E3, n12, n13, n23, G12, G13, G23 = self.constants
        return {"model": self.model, "E1/E2/E3 [MPa]": f"{E1:g}/{E2:g}/{E3:g}",
                "nu12/nu13/nu23": f"{n12:g}/{n13:g}/{n23:g}", "G12/G13/G23 [MPa]": f"{G12:g}/{G13:g}/{G23:g}",
                "alpha1/2/3 [1/K]": [a.describe() for a in self.alpha_material], "source": self.source}


CUBIC_KEYS = {"C11", "C12", "C44", "alpha", "T_alpha", "rotation_deg"}


@dataclass(frozen=True)
class Cubic(AnisotropicElastic):
    """Cubic single crystal (silicon): C11, C12, C44 in crystal axes <100>."""

    model: ClassVar[str] = "cubic"
    constants: tuple = ()

    @classmethod
    def from_spec(cls, name: str, spec: dict) -> "Cubic":
        check_keys(name, spec, CUBIC_KEYS, {"C11", "C12", "C44", "alpha"})
        p = f"materials.{name}"
        C11, C12, C44 = (positive(f"{p}.{k}", spec[k]) for k in ("C11", "C12", "C44"))
        if not (C11 > abs(C12) and C11 + 2 * C12 > 0):
            raise InputError(f"{p}.C12", C12, "C11 > |C12| and C11 + 2 C12 > 0 (positive-definite stiffness)")
        C = np.zeros((6, 6))
        C[:3, :3] = C12
        C[0, 0] = C[1, 1] = C[2, 2] = C11
        C[3, 3] = C[4, 4] = C[5, 5] = 2 * C44      # Mandel shear
        a = expansion_table(f"{p}.alpha", spec["alpha"])
        T_alpha = number(f"{p}.T_alpha", spec.get("T_alpha", 25.0), -273.15, 1000.0)
        E100 = (C11 - C12) * (C11 + 2 * C12) / (C11 + C12)
        return cls(name=name, E=table(f"{p}.C11", E100), nu=C12 / (C11 + C12),
                   expansion=Expansion((a,), T_alpha), source=describe_sources(spec),
                   C_material=tuple(map(tuple, C)), alpha_material=(a, a, a),
                   rotation_deg=number(f"{p}.rotation_deg", spec.get("rotation_deg", 0.0), -360, 360),
                   constants=(C11, C12, C44))

    def oriented(self, thickness_axis: int) -> "Cubic":
        return replace(self, thickness_axis=thickness_axis)

    def describe(self):
        C11, C12, C44 = self.constants
        return {"model": self.model, "C11/C12/C44 [MPa]": f"{C11:g}/{C12:g}/{C44:g}",
                "rotation_deg": self.rotation_deg, "alpha [1/K]": self.expansion.axes[0].describe(),
                "source": self.source}
