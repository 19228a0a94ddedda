"""The material interface and the one array convention used by every constitutive model.

Convention (stated once, asserted at module boundaries):
- Strains and stresses are **Mandel 6-vectors** in the order (xx, yy, zz, xy, xz, yz) -- the Abaqus/CalculiX
  order -- with the shear components scaled by sqrt(2) (tensor shear strain eps_xy * sqrt(2), i.e. engineering
  gamma_xy / sqrt(2)). With this scaling the double contraction sigma:eps is the plain dot product and 4th-order
  tensors are symmetric 6x6 matrices.
- Arrays are shaped (6, N) for vectors and (6, 6, N) for tangents, N = number of material points (the solver
  flattens (elements, quadrature points) of one region into N).
- Temperatures are °C, arrays (N,) or scalars. Times in s. Units mm, N, MPa.

A material is immutable. Its `update` is pure and vectorized:

    stress, tangent, new_state = material.update(state, eps_mech, T, dt)

`eps_mech` is the total *mechanical* strain at the end of the increment (thermal strain already subtracted by the
caller with `material.thermal_strain(T, T0)`), `state` the last converged state (a dict of arrays; never
mutated), `dt` the increment length (s). Inelastic models integrate from `state` over `dt` and return the new
state; the solver commits it after global convergence and discards it on cutback.

Every model's state has at least:
- "stress"     (6, N)  stress at the end of the increment (MPa)
- "eps_in"     (6, N)  inelastic strain tensor (Mandel)
- "eps_in_eq"  (N,)    accumulated equivalent inelastic strain  int sqrt(2/3 deps_in:deps_in)
- "w_in"       (N,)    accumulated inelastic work density int sigma:deps_in (MPa = MJ/m^3)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from fem_wlp.errors import InputError
from fem_wlp.tables import Table

SQ2 = np.sqrt(2.0)
#: Mandel component names in storage order
COMPONENTS = ("xx", "yy", "zz", "xy", "xz", "yz")
#: identity (Kronecker delta) as a Mandel vector
I6 = np.array([1.0, 1.0, 1.0, 0.0, 0.0, 0.0])
#: 4th-order identities as 6x6 Mandel matrices
II6 = np.eye(6)                      # symmetric identity
IVOL = np.outer(I6, I6) / 3.0        # volumetric projector  (1/3) I x I
IDEV = II6 - IVOL                    # deviatoric projector


def trace(v):
    """Trace of Mandel vector(s) (6, ...) -> (...)."""
    return v[0] + v[1] + v[2]


def dev(v):
    """Deviatoric part of Mandel vector(s) (6, ...)."""
    t = trace(v) / 3.0
    out = v.copy()
    out[:3] -= t
    return out


def norm(v):
    """Frobenius norm sqrt(v:v) of Mandel vector(s) (6, ...)."""
    return np.sqrt(np.einsum("i...,i...->...", v, v))


def von_mises(sig):
    """von Mises equivalent stress sqrt(3/2 s:s) of Mandel stress(es) (6, ...)."""
    return np.sqrt(1.5) * norm(dev(sig))


def to_tensor(v):
    """Mandel (6, ...) -> full symmetric tensor (3, 3, ...) (true tensor components)."""
    v = np.asarray(v)
    t = np.empty((3, 3) + v.shape[1:])
    t[0, 0], t[1, 1], t[2, 2] = v[0], v[1], v[2]
    t[0, 1] = t[1, 0] = v[3] / SQ2
    t[0, 2] = t[2, 0] = v[4] / SQ2
    t[1, 2] = t[2, 1] = v[5] / SQ2
    return t


def from_tensor(t):
    """Full symmetric tensor (3, 3, ...) -> Mandel (6, ...)."""
    t = np.asarray(t)
    return np.stack([t[0, 0], t[1, 1], t[2, 2], SQ2 * t[0, 1], SQ2 * t[0, 2], SQ2 * t[1, 2]])


def isotropic_stiffness(E, nu):
    """Mandel stiffness 3K IVOL + 2G IDEV; E, nu scalars -> (6,6), arrays (N,) -> (6,6,N)."""
    E = np.asarray(E, float)
    K = E / (3.0 * (1.0 - 2.0 * nu))
    G = E / (2.0 * (1.0 + nu))
    if E.ndim == 0:
        return 3.0 * K * IVOL + 2.0 * G * IDEV
    return 3.0 * K * IVOL[:, :, None] + 2.0 * G * IDEV[:, :, None]


def add_isotropic(D, K, g2):
    """D += 3K IVOL + g2 IDEV in place, for a (6, 6, N) tangent with per-point K and g2 = 2G x (factor) (N,) --
    the isotropic part of the consistent tangents of the J2-type return maps."""
    off = K - g2 / 3.0
    for i in range(3):
        for j in range(3):
            D[i, j] += off
        D[i, i] += g2
        D[i + 3, i + 3] += g2
    return D


def matvec(D, v):
    """(6,6[,N]) @ (6,N) -> (6,N)."""
    if D.ndim == 2:
        return D @ v
    return np.einsum("ijn,jn->in", D, v)


@dataclass(frozen=True)
class Expansion:
    """Thermal expansion: secant coefficients (1/K) about `T_alpha` (°C), one per material axis.

    eps_th(T) = alpha(T) (T - T_alpha) - alpha(T0) (T0 - T_alpha)   (CalculiX *EXPANSION, ZERO=T_alpha form),
    zero at the stress-free temperature T0. With a constant alpha this is alpha (T - T0).
    `axes` holds three tables (x, y, z of the mesh) for orthotropic expansion, one table for isotropic.
    """

    axes: tuple[Table, ...]
    T_alpha: float = 25.0

    def strain(self, T, T0):
        """Thermal strain as Mandel (6, N) at temperatures T (N,) from the stress-free temperature T0."""
        T = np.atleast_1d(np.asarray(T, float))
        out = np.zeros((6, T.size))
        for i in range(3):
            a = self.axes[min(i, len(self.axes) - 1)]
            out[i] = a(T) * (T - self.T_alpha) - a(T0) * (T0 - self.T_alpha)
        return out


@dataclass(frozen=True)
class Material:
    """Base class: linear elastic, isotropic, E(T) and alpha(T) tables. Subclasses add inelasticity."""

    name: str
    E: Table
    nu: float
    expansion: Expansion
    source: str = ""
    model: ClassVar[str] = "elastic"
    #: state variables this model carries besides the common ones
    state_vars: ClassVar[tuple[str, ...]] = ()
    #: seconds per quadrature point of `update` on one thread (fe/solver/cost.py: modified Newton's estimate of
    #: an iteration's cost): 0.7 x a 20,000-point update from a fresh state at 1e-3 random strain over 10 s, the
    #: factor that fits the updates timed in a run (session 12, see fe/solver/cost.py)
    update_cost: ClassVar[float] = 4.0e-8

    # -- elastic part -------------------------------------------------------------------------------------------
    @property
    def elastic(self) -> bool:
        return type(self).update is Material.update

    def stiffness(self, T):
        """Elastic Mandel stiffness at T: (6,6) when E is constant, else (6,6,N)."""
        if self.E.constant:
            return isotropic_stiffness(self.E.v[0], self.nu)
        return isotropic_stiffness(self.E(np.atleast_1d(T)), self.nu)

    def thermal_strain(self, T, T0):
        return self.expansion.strain(T, T0)

    # -- state and update ---------------------------------------------------------------------------------------
    def init_state(self, n: int) -> dict:
        return {"stress": np.zeros((6, n)), "eps_in": np.zeros((6, n)),
                "eps_in_eq": np.zeros(n), "w_in": np.zeros(n)}

    def update(self, state: dict, eps_mech, T, dt: float):
        """Elastic: sigma = C(T) eps_mech. Returns (stress (6,N), tangent (6,6[,N]), new state)."""
        D = self.stiffness(T)
        sig = matvec(D, eps_mech)
        return sig, D, {**state, "stress": sig}

    # -- description ----------------------------------------------------------------------------------------------
    def describe(self) -> dict:
        """Parameters with units, for `fem-wlp materials` and the provenance record."""
        return {"model": self.model, "E [MPa]": self.E.describe(), "nu": self.nu,
                "alpha [1/K]": [a.describe() for a in self.expansion.axes],
                "source": self.source}


#: descriptive keys every material spec may carry: `source` (one line), `sources` ({parameter: source}),
#: `description`
META_KEYS = {"model", "source", "sources", "description"}


def check_keys(name: str, spec: dict, allowed: set[str], required: set[str]):
    """Raise InputError for unknown or missing keys of material `name`."""
    prefix = f"materials.{name}"
    allowed = set(allowed) | META_KEYS
    for k in spec:
        if k not in allowed:
            raise InputError(f"{prefix}.{k}", spec[k], "one of " + ", ".join(sorted(allowed)))
    for k in sorted(required):
        if k not in spec:
            raise InputError(f"{prefix}.{k}", None, "a value is required",
                             message=f"{prefix}.{k} is missing (model '{spec.get('model', 'elastic')}' needs "
                                     + ", ".join(sorted(required)) + ")")


def positive(key: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(key, value, "a number > 0")
    if not value > 0:
        raise InputError(key, value, "a number > 0")
    return float(value)


def number(key: str, value, lo=None, hi=None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(key, value, "a number")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise InputError(key, value, f"a number in [{lo}, {hi}]")
    return float(value)


def poisson(key: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (-1.0 < value < 0.5):
        raise InputError(key, value, "a number with -1 < nu < 0.5")
    return float(value)


def table(key: str, value, positive: bool = False) -> Table:
    """A material property table (a number or [[T_C, value], ...]) with finite temperatures and values."""
    return Table.of(key, value, positive=positive)


#: |alpha| bound (1/K): 1000 ppm/K is above the CTE of any solid in a package (elastomers and polymers above Tg
#: stay below ~300 ppm/K); it catches a CTE typed in ppm/K or percent instead of 1/K
ALPHA_BOUND = 1e-3


def expansion_table(key: str, value) -> Table:
    """A secant-CTE table (1/K), |alpha| < ALPHA_BOUND."""
    t = Table.of(key, value)
    if np.any(np.abs(t.v) >= ALPHA_BOUND):
        raise InputError(key, value, f"a CTE in 1/K with |alpha| < {ALPHA_BOUND:g} (17 ppm/K is 17e-6)")
    return t


ISOTROPIC_KEYS = {"E", "nu", "alpha", "T_alpha"}


def isotropic_common(name: str, spec: dict) -> dict:
    """Validated keyword arguments of `Material` from an isotropic spec (E, nu, alpha tables)."""
    p = f"materials.{name}"
    return dict(
        name=name,
        E=table(f"{p}.E", spec["E"], positive=True),
        nu=poisson(f"{p}.nu", spec["nu"]),
        expansion=Expansion((expansion_table(f"{p}.alpha", spec["alpha"]),),
                            number(f"{p}.T_alpha", spec.get("T_alpha", 25.0), -273.15, 1000.0)),
        source=describe_sources(spec),
    )


def describe_sources(spec: dict) -> str:
    """One string of the spec's `source` and per-parameter `sources`."""
    parts = [str(spec["source"])] if spec.get("source") else []
    parts += [f"{k}: {v}" for k, v in (spec.get("sources") or {}).items()]
    return "; ".join(parts)


def elastic_from_spec(name: str, spec: dict) -> Material:
    """Isotropic linear elastic material from a study/library spec."""
    check_keys(name, spec, ISOTROPIC_KEYS, {"E", "nu", "alpha"})
    return Material(**isotropic_common(name, spec))
