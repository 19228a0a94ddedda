"""Problem definition, apart from solver settings: mesh, formulation, materials per region, constraints, loads.

Everything here is immutable and validated on construction; `solver.py` discretizes and solves it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from fem_wlp.errors import InputError
from fem_wlp.fe.kinematics import FORMULATIONS, ncomp
from fem_wlp.materials.base import Material
from fem_wlp.fe.mesh import FEMesh

AXES = {"x": 0, "y": 1, "z": 2}


@dataclass(frozen=True)
class History:
    """A value as a function of time: a constant or a (time s, value) table, linear in between (held outside)."""

    t: tuple[float, ...]
    v: tuple[float, ...]

    @classmethod
    def of(cls, key: str, value) -> "History":
        if isinstance(value, History):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return cls((0.0,), (float(value),))
        try:
            rows = [(float(a), float(b)) for a, b in value]
        except (TypeError, ValueError):
            raise InputError(key, value, "a number or a table [[time_s, value], ...]") from None
        if not rows or any(b[0] <= a[0] for a, b in zip(rows, rows[1:])):
            raise InputError(key, value, "a table [[time_s, value], ...] with increasing times")
        return cls(tuple(r[0] for r in rows), tuple(r[1] for r in rows))

    def __call__(self, t: float) -> float:
        return float(np.interp(t, self.t, self.v))

    @property
    def corners(self) -> tuple[float, ...]:
        """Times (s) where the rate of the value changes: every table time (none for a constant). The study's
        time grid contains them (LoadSpec.time_grid), with small steps after each."""
        return self.t if len(self.t) > 1 else ()


@dataclass(frozen=True)
class Constraint:
    """Prescribed displacement components on a set of mesh vertices.

    `value(t, x)` gives the prescribed displacement of each constrained node (x: (dim, n) coordinates), so a
    constraint can be fixed (0), follow a time table, or follow a field (e.g. free thermal expansion of the die
    about the neutral point in a 3D joint model).
    """

    label: str
    components: tuple[int, ...]
    facets: np.ndarray | None = None   # boundary facets: every dof of the facets (vertices, edge and face dofs)
    nodes: np.ndarray | None = None    # or mesh vertices
    value: Callable | None = None      # (t, x (dim, n)) -> (ncomp_fixed, n) or broadcastable; None = zero
    corners: tuple[float, ...] = ()


@dataclass(frozen=True)
class Temperature:
    """Temperature load: T0 is the stress-free temperature; T(t, x) the temperature at time t, points x."""

    T0: float
    history: Callable[[float], float] | None = None        # uniform T(t)
    field: Callable | None = None                           # T(t, x) with x (dim, ...) -> (...)
    corners: tuple[float, ...] = ()
    #: per-region stress-free temperatures ((region, T0), ...) overriding T0 (a process history: each layer
    #: stress-free at its own cure/plating/joining temperature)
    T0_regions: tuple[tuple[str, float], ...] = ()

    def T0_of(self, region: str) -> float:
        """The stress-free temperature of a material region (its own, else T0)."""
        return dict(self.T0_regions).get(region, self.T0)

    def at(self, t: float, x: np.ndarray) -> np.ndarray:
        if self.field is not None:
            return np.broadcast_to(np.asarray(self.field(t, x), float), x.shape[1:])
        T = self.T0 if self.history is None else self.history(t)
        return np.full(x.shape[1:], float(T))

    @classmethod
    def uniform_step(cls, T0: float, T1: float, t1: float = 1.0) -> "Temperature":
        """Linear change from T0 at t = 0 to T1 at t = t1 (one thermoelastic step)."""
        return cls(T0, History((0.0, t1), (T0, T1)), corners=(0.0, t1))


@dataclass(frozen=True)
class InitialState:
    """Where a model starts: displacements (and the generalized-plane-strain e_zz) and material states at the first
    time, e.g. the end of an earlier stage of a process history. The `activated` regions join at that moment
    (element activation): their strain is measured from the starting displacement, so they start stress-free
    (mechanical strain eps(u - u0) - eps_th(T, T0_region)); the other regions' strain is measured from u = 0 as
    usual, and they start with `states` (regions not in it start from their material's initial state)."""

    u: np.ndarray
    ezz: float = 0.0
    states: dict = field(default_factory=dict)
    activated: tuple[str, ...] = ()


@dataclass(frozen=True)
class Model:
    mesh: FEMesh
    formulation: str
    materials: dict                  # region name -> Material
    constraints: tuple[Constraint, ...] = ()
    temperature: Temperature = field(default_factory=lambda: Temperature(25.0))
    order: int = 1
    intorder: int | None = None
    name: str = "model"
    initial: InitialState | None = None
    contacts: tuple = ()             # fe.contact.Contact per unbonded interface (mesh split by split_interface);
                                     # empty: every interface bonded (the discretization is then unchanged)
    #: out-of-plane width (thickness) of regions of a plane-strain / generalized-plane-strain model, as
    #: ((region, width), ...): every volume integral over the region's elements -- stiffness, internal force, the
    #: generalized-plane-strain out-of-plane force balance, thermal load -- and the contact weight of an
    #: unbonded interface facet (the narrower side's) is multiplied by its width. A region in none: width 1 (the
    #: unit depth of a 2D model); () leaves the discretization exactly as without widths. A later entry wins
    #: where regions overlap. Widths are dimensionless (relative to the model's unit out-of-plane depth).
    widths: tuple[tuple[str, float], ...] = ()

    def __post_init__(self):
        if self.formulation not in FORMULATIONS:
            raise InputError("model.formulation", self.formulation, ", ".join(FORMULATIONS))
        if self.order not in (1, 2):
            raise InputError("model.order", self.order, "1 or 2")
        for r, m in self.materials.items():
            if not isinstance(m, Material):
                raise TypeError(f"materials[{r!r}] is not a Material")
        for r, _ in self.temperature.T0_regions:
            if r not in self.materials:
                raise InputError("temperature.T0_regions", r, "a material region: " + ", ".join(self.materials))
        if self.widths:
            if self.formulation not in ("plane_strain", "generalized_plane_strain"):
                raise InputError("widths", self.formulation, "plane_strain or generalized_plane_strain (an "
                                 "out-of-plane width only exists in a planar 2D model)")
            for r, w in self.widths:
                self.mesh.region(r, key="widths")
                if isinstance(w, bool) or not isinstance(w, (int, float)) or not (0.0 < w < float("inf")):
                    raise InputError(f"widths.{r}", w, "a finite width > 0")
        if self.initial is not None:
            for r in tuple(self.initial.activated) + tuple(self.initial.states):
                if r not in self.materials:
                    raise InputError("initial", r, "a material region: " + ", ".join(self.materials))

    @property
    def ncomp(self) -> int:
        return ncomp(self.formulation)

    @property
    def corners(self) -> tuple[float, ...]:
        """Every corner time (s) of the model's prescribed histories: the temperature's and the constraints'."""
        return tuple(sorted(set(self.temperature.corners).union(*[set(c.corners) for c in self.constraints])))

    def element_widths(self) -> np.ndarray | None:
        """Out-of-plane width of every element (nelements,), or None when the model gives no widths (then no
        weight is applied at all: results are bit-identical to a model without widths)."""
        if not self.widths:
            return None
        w = np.ones(self.mesh.nelements)
        for r, v in self.widths:
            w[self.mesh.region(r, key="widths")] = float(v)
        return w

    @property
    def thickness_axis(self) -> int:
        return 2 if self.formulation == "3d" else 1


def boundary_constraint(mesh: FEMesh, boundary: str, fix, value=None, key: str = "constraints",
                        formulation: str = "3d") -> Constraint:
    """Fix components `fix` (["x", "y", ...]) of the vertices on a named boundary."""
    comps = _components(fix, key, formulation)
    facets = mesh.boundary(boundary, key=f"{key}.boundary")
    return Constraint(f"boundary {boundary}", comps, facets=facets, value=value)


def point_constraint(mesh: FEMesh, point, fix, value=None, key: str = "constraints",
                     formulation: str = "3d") -> tuple[Constraint, dict]:
    """Fix components at the vertex nearest to `point`; returns the constraint and a report of the node used."""
    comps = _components(fix, key, formulation)
    node, dist = mesh.nearest_node(point)
    at = mesh.mesh.p[:, node].tolist()
    return (Constraint(f"point {list(point)} -> node {node}", comps, nodes=np.array([node]), value=value),
            {"point": list(point), "node": node, "node_coordinates": at, "distance": dist})


def _components(fix, key, formulation):
    names = ("x", "y", "z") if formulation == "3d" else ("x", "y")
    if isinstance(fix, str):
        fix = [fix]
    if not isinstance(fix, (list, tuple)) or not fix or any(c not in names for c in fix):
        raise InputError(f"{key}.fix", fix, "a list of components from " + ", ".join(names))
    return tuple(sorted({AXES[c] for c in fix}))
