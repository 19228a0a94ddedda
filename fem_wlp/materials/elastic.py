"""Anisotropic elastic materials: orthotropic (FR-4 laminates; constants may be temperature tables, with a glass
transition Tg for the CTEs) and cubic (single-crystal silicon).

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
from fem_wlp.tables import Table

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

    update_cost: ClassVar[float] = 8.0e-9   # s per point (base.Material.update_cost): a constant stiffness

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


ORTHO_CONSTANTS = ("E1", "E2", "E3", "nu12", "nu13", "nu23", "G12", "G13", "G23")
ORTHO_ALPHAS = ("alpha1", "alpha2", "alpha3")
ORTHO_ABOVE_TG = tuple(f"{a}_above_Tg" for a in ORTHO_ALPHAS)
ORTHO_KEYS = set(ORTHO_CONSTANTS) | set(ORTHO_ALPHAS) | {"T_alpha", "Tg"} | set(ORTHO_ABOVE_TG)
#: temperature span (°C) of the secant-CTE tables built from an instantaneous CTE with a jump at Tg, and their
#: node spacing above Tg (the secant bends there; linear interpolation between nodes h apart errs by at most
#: h^2/8 |alpha_sec''| <= h^2/8 * 2 (alpha_above - alpha_below) / (Tg - T_alpha)^2: 1.2e-8 1/K with h = 2 K for
#: FR-4's through-thickness jump 84 -> 336 ppm/K at Tg = 170 °C, i.e. 2.3e-6 of thermal strain from 217 °C to 25 °C
#: out of 2.8e-2)
TG_TABLE_RANGE = (-65.0, 300.0)
TG_TABLE_STEP = 2.0


def secant_alpha_table(alpha_below: float, alpha_above: float, Tg: float, T_alpha: float):
    """Secant-CTE table about T_alpha (< Tg) of an instantaneous CTE alpha_below below Tg and alpha_above above:
    alpha_sec(T) = (1/(T - T_alpha)) int_T_alpha^T alpha dT' -- alpha_below up to Tg, then
    (alpha_below (Tg - T_alpha) + alpha_above (T - Tg)) / (T - T_alpha). Nodes at TG_TABLE_RANGE[0], T_alpha, Tg
    and every TG_TABLE_STEP above Tg up to TG_TABLE_RANGE[1]; the thermal strain alpha_sec (T - T_alpha) is exact
    at the nodes."""
    lo, hi = TG_TABLE_RANGE
    temps = {lo, T_alpha, Tg}
    t = Tg + TG_TABLE_STEP
    while t <= hi + 1e-9:
        temps.add(t)
        t += TG_TABLE_STEP
    rows = []
    for T in sorted(temps):
        a = alpha_below if T <= Tg else (alpha_below * (Tg - T_alpha) + alpha_above * (T - Tg)) / (T - T_alpha)
        rows.append([T, a])
    return rows


def _ortho_compliance(E1, E2, E3, n12, n13, n23, G12, G13, G23):
    """Voigt compliance (6, 6[, M]), shear order 12, 13, 23, of engineering constants (numbers or arrays (M,))."""
    vals = np.broadcast_arrays(*(np.asarray(v, float) for v in (E1, E2, E3, n12, n13, n23, G12, G13, G23)))
    E1, E2, E3, n12, n13, n23, G12, G13, G23 = vals
    S = np.zeros((6, 6) + E1.shape)
    S[0, 0], S[1, 1], S[2, 2] = 1 / E1, 1 / E2, 1 / E3
    S[0, 1] = S[1, 0] = -n12 / E1
    S[0, 2] = S[2, 0] = -n13 / E1
    S[1, 2] = S[2, 1] = -n23 / E2
    S[3, 3], S[4, 4], S[5, 5] = 1 / G12, 1 / G13, 1 / G23
    return S


@dataclass(frozen=True)
class Orthotropic(AnisotropicElastic):
    """Orthotropic elastic (engineering constants, axes 1, 2 in-plane, 3 through-thickness), each constant a
    number or a [[T_C, value], ...] table; the stiffness is computed at the nodes of the tables (their union)
    and interpolated linearly in T between them (material_stiffness), as CalculiX does with
    *ELASTIC, TYPE=ENGINEERING CONSTANTS rows.

    A glass transition: `Tg` (°C) with `alpha1/2/3` the instantaneous CTEs below Tg (numbers) and
    `alpha1/2/3_above_Tg` those above (default: no jump). They are integrated to secant tables about T_alpha
    (secant_alpha_table), the form base.Expansion uses. Moduli above Tg come from the modulus tables (their
    range must contain Tg).
    """

    model: ClassVar[str] = "orthotropic"
    constants: tuple = ()             # nine Tables, ORTHO_CONSTANTS order
    Tg: float | None = None

    @classmethod
    def from_spec(cls, name: str, spec: dict) -> "Orthotropic":
        check_keys(name, spec, ORTHO_KEYS, set(ORTHO_CONSTANTS) | set(ORTHO_ALPHAS))
        p = f"materials.{name}"
        tabs = {}
        for k in ORTHO_CONSTANTS:
            if k.startswith("nu"):
                tabs[k] = Table.of(f"{p}.{k}", spec[k], lower=-1.0, upper=1.0)
            else:
                tabs[k] = table(f"{p}.{k}", spec[k], positive=True)
        temps = sorted(set().union(*(set(t.T) for t in tabs.values() if not t.constant)))
        # positive-definite compliance at every node (the stiffness between nodes is a convex combination of the
        # node stiffnesses, so it is positive definite too)
        check_T = temps if temps else [0.0]
        S = _ortho_compliance(*(tabs[k](np.array(check_T)) for k in ORTHO_CONSTANTS))
        if np.any(np.linalg.eigvalsh(np.moveaxis(S, -1, 0)) <= 0):
            raise InputError(p, {k: spec[k] for k in ("nu12", "nu13", "nu23")},
                             "engineering constants with a positive-definite compliance (at every temperature)")
        C = np.linalg.inv(_ortho_compliance(*(tabs[k].v[0] for k in ORTHO_CONSTANTS))) * np.outer(W6, W6)
        T_alpha = number(f"{p}.T_alpha", spec.get("T_alpha", 25.0), -273.15, 1000.0)
        Tg = None
        if "Tg" in spec:
            lo, hi = TG_TABLE_RANGE
            Tg = number(f"{p}.Tg", spec["Tg"])
            if temps and not (temps[0] <= Tg <= temps[-1]):
                raise InputError(f"{p}.Tg", spec["Tg"], f"a temperature inside the modulus tables' range "
                                 f"[{temps[0]:g}, {temps[-1]:g}] °C")
            if not (max(T_alpha, lo) < Tg < hi):
                raise InputError(f"{p}.Tg", spec["Tg"], f"a temperature in ({max(T_alpha, lo):g}, {hi:g}) °C "
                                 "(above T_alpha, inside the secant-table range)")
            alphas = []
            for a, above in zip(ORTHO_ALPHAS, ORTHO_ABOVE_TG):
                below = spec[a]
                if isinstance(below, bool) or not isinstance(below, (int, float)):
                    raise InputError(f"{p}.{a}", below, "a number (the instantaneous CTE below Tg) when Tg is "
                                     "given")
                a1 = expansion_table(f"{p}.{a}", below).v[0]
                a2 = expansion_table(f"{p}.{above}", spec.get(above, below)).v[0]
                alphas.append(expansion_table(f"{p}.{a}", secant_alpha_table(a1, a2, Tg, T_alpha)))
            alphas = tuple(alphas)
        else:
            for above in ORTHO_ABOVE_TG:
                if above in spec:
                    raise InputError(f"{p}.{above}", spec[above], "only together with Tg")
            alphas = tuple(expansion_table(f"{p}.{k}", spec[k]) for k in ORTHO_ALPHAS)
        E1 = tabs["E1"]
        if temps and E1.constant:
            # a two-node E marks the material temperature-dependent for the solver (static regions are those
            # with E.constant, fe/solver/discretization.py), although only other constants vary
            E1 = Table((temps[0], temps[-1]), (E1.v[0], E1.v[0]))
        return cls(name=name, E=E1, nu=tabs["nu12"].v[0],
                   expansion=Expansion(alphas, T_alpha), source=describe_sources(spec),
                   C_material=tuple(map(tuple, C)), alpha_material=alphas,
                   constants=tuple(tabs[k] for k in ORTHO_CONSTANTS), Tg=Tg)

    @property
    def temperature_dependent(self) -> bool:
        return not all(t.constant for t in self.constants)

    @property
    def nodes(self) -> tuple[float, ...]:
        """The temperatures of the constants' tables (union)."""
        return tuple(sorted(set().union(*(set(t.T) for t in self.constants if not t.constant))))

    def node_stiffness(self):
        """Mandel stiffness in material axes at the table nodes, (6, 6, K)."""
        Tn = np.array(self.nodes)
        S = _ortho_compliance(*(t(Tn) for t in self.constants))
        C = np.linalg.inv(np.moveaxis(S, -1, 0))                         # (K, 6, 6)
        return np.moveaxis(C, 0, -1) * np.outer(W6, W6)[:, :, None]

    def material_stiffness(self, T):
        """Mandel stiffness in material axes at temperatures T (M,) -> (6, 6, M): the stiffness of the constants
        at the table nodes, interpolated linearly in T between them and held outside -- what CalculiX does with
        *ELASTIC, TYPE=ENGINEERING CONSTANTS rows (measured: interpolating the constants instead and inverting
        differs from ccx by 3e-4 in u between the nodes, tests/test_calculix.py)."""
        T = np.atleast_1d(np.asarray(T, float))
        Tn = np.array(self.nodes)
        Dn = self.node_stiffness()
        Tc = np.clip(T, Tn[0], Tn[-1])
        k = np.clip(np.searchsorted(Tn, Tc, side="right") - 1, 0, Tn.size - 2)
        w = (Tc - Tn[k]) / (Tn[k + 1] - Tn[k])
        return Dn[:, :, k] * (1.0 - w) + Dn[:, :, k + 1] * w

    def stiffness(self, T):
        if not self.temperature_dependent:
            return super().stiffness(T)
        T = np.atleast_1d(np.asarray(T, float))
        # the temperature field is uniform or nearly so: invert once per distinct temperature
        Tu, inv = np.unique(T, return_inverse=True)
        Q = mandel_rotation(axes_rotation(self.thickness_axis, self.rotation_deg))
        D = np.einsum("ij,jkm,lk->ilm", Q, self.material_stiffness(Tu), Q)
        return D[:, :, inv.ravel()]

    def describe(self):
        E1, E2, E3, n12, n13, n23, G12, G13, G23 = (t.describe() for t in self.constants)
        d = {"model": self.model, "E1/E2/E3 [MPa]": f"{E1}/{E2}/{E3}",
             "nu12/nu13/nu23": f"{n12}/{n13}/{n23}", "G12/G13/G23 [MPa]": f"{G12}/{G13}/{G23}",
             "alpha1/2/3 [1/K]": [a.describe() for a in self.alpha_material], "source": self.source}
        if self.Tg is not None:
            d["Tg [°C]"] = self.Tg
        return d


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
