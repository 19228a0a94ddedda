"""CalculiX (ccx 2.20) / Abaqus-style input decks of fem_wlp models.

`write_deck(model, times, path)` writes a deck that `ccx` runs unchanged:

- nodes: one ccx node per fem_wlp *scalar dof* (node id = dof + 1), so first-order meshes export their vertices and
  second-order models their vertices plus the mid-edge dofs (`Discretization.dof_x`) as mid-side nodes;
- elements: fem_wlp element e -> ccx element e + 1; tri3 -> CPE3/CAX3, tri6 -> CPE6/CAX6, quad4 -> CPE4/CAX4,
  tet4 -> C3D4, tet10 -> C3D10, hex8 -> C3D8 (corner order converted to the ccx convention, elements with a
  negative Jacobian in that convention are flipped); 9-node quads / 27-node hexes have no ccx counterpart;
- *ELSET per material region (E_<region>) and per mesh leaf (L_<leaf>), *NSET per named boundary (B_<name>);
- *MATERIAL: isotropic *ELASTIC with its E(T) table (temperatures in K), anisotropic elastic as TYPE=ANISO in mesh
  axes, *EXPANSION (secant, ZERO = T_alpha in K: the same convention as fem_wlp), Norton as *CREEP (A(T) =
  A exp(-Q/RT) tabulated, see the comment written into the deck), J2 as *PLASTIC (ISOTROPIC or KINEMATIC);
- unbonded interfaces (model.contacts, fe/contact.py): *SURFACE per side, *CONTACT PAIR TYPE=SURFACE TO SURFACE,
  SMALL SLIDING, *SURFACE BEHAVIOR PRESSURE-OVERCLOSURE=LINEAR with fem_wlp's penalty stiffness, *FRICTION
  (linear and quadratic elements: tri6/tet10 faces are named by their corners as tri3/tet4 faces);
- *BOUNDARY: fixed components in the model definition, prescribed ones in the steps with an *AMPLITUDE;
- *INITIAL CONDITIONS, TYPE=TEMPERATURE = T0 (stress-free) and the uniform temperature history as an amplitude of
  ABSOLUTE temperatures (K) with reference value 1.0 on *TEMPERATURE (ccx multiplies absolute temperatures);
- steps: *STATIC (elastic, plastic) or *VISCO with CETOL (creep: creep is off in *STATIC), DIRECT fixed increments
  equal to the intervals of `times` (one *STEP per run of equal intervals; amplitudes in TOTAL TIME);
- output: *NODE PRINT U and *EL PRINT S (+ PEEQ for inelastic models; ccx reports CEEQ as PEEQ) at the output times,
  plus the integration-point coordinates (COORD) so that `ccx_results` can map the points back.

Temperatures are °C in fem_wlp and K in the deck (T + 273.15).
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import skfem
from scipy.optimize import brentq

from fem_wlp.errors import InputError
from fem_wlp.fe.kinematics import mesh_kind
from fem_wlp.fe.solver import Discretization, SolverSettings
from fem_wlp.materials.base import Expansion
from fem_wlp.materials.elastic import AnisotropicElastic, Orthotropic, axes_rotation
from fem_wlp.materials.norton import Norton
from fem_wlp.materials.plasticity import J2Plastic
from fem_wlp.materials.kinematic import Chaboche

T_ABS = 273.15
#: spacing (K) of the temperature table of a Norton A(T) = A exp(-Q/RT): ccx interpolates A linearly in T, whose
#: relative error is ~ (Q/R dT / T^2)^2 / 8: 0.2 % at 233 K for Q/R = 6500 K with dT = 1 K
CREEP_DT = 1.0


@dataclass
class CCXMaps:
    """How the deck's numbering relates to fem_wlp's."""

    ccx_type: str                  # ccx element type
    conn: np.ndarray               # (nel, nn) scalar dofs of each element in ccx node order
    flipped: np.ndarray            # (nel,) bool: element node order reversed to get a positive Jacobian
    node_x: np.ndarray             # (dim, nnodes) coordinates of the scalar dofs (= ccx nodes)
    formulation: str

    @property
    def nnodes(self) -> int:
        return self.node_x.shape[1]

    @property
    def nelements(self) -> int:
        return self.conn.shape[0]


# ccx corner order of the reference element (same reference cube/square as skfem: [0, 1]^d)
_CCX_HEX = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0], [0, 0, 1], [1, 0, 1], [1, 1, 1], [0, 1, 1]], float)
_CCX_QUAD = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], float)
# ccx mid-side nodes as (corner a, corner b) in ccx corner numbering (0-based)
_MID = {"tri": [(0, 1), (1, 2), (2, 0)],
        "tet": [(0, 1), (1, 2), (2, 0), (0, 3), (1, 3), (2, 3)]}
# node permutation that reverses the orientation (ccx numbering, 0-based)
_FLIP = {"tri3": [0, 2, 1], "tri6": [0, 2, 1, 5, 4, 3], "quad4": [0, 3, 2, 1],
         "tet4": [0, 2, 1, 3], "tet10": [0, 2, 1, 3, 6, 5, 4, 7, 9, 8],
         "hex8": [4, 5, 6, 7, 0, 1, 2, 3]}


def _shape(model) -> str:
    kind = mesh_kind(model.mesh.mesh)[:-1]     # MeshTri, MeshQuad, MeshTet, MeshHex
    base = {"MeshTri": "tri", "MeshQuad": "quad", "MeshTet": "tet", "MeshHex": "hex"}[kind]
    shape = {("tri", 1): "tri3", ("tri", 2): "tri6", ("quad", 1): "quad4", ("tet", 1): "tet4",
             ("tet", 2): "tet10", ("hex", 1): "hex8"}.get((base, model.order))
    if shape is None:
        raise InputError("model.order", model.order,
                         f"order 1 for {base} meshes: CalculiX has no element for fem_wlp's order-{model.order} "
                         f"{base} (9-node quads / 27-node hexes); export tri, tet (order 1 or 2), quad or hex order 1")
    return shape


def ccx_element_type(shape: str, formulation: str, gps_as_plane_strain: bool = False) -> str:
    if formulation == "generalized_plane_strain":
        if not gps_as_plane_strain:
            raise InputError("model.formulation", formulation,
                             "plane_strain, axisymmetric or 3d: CalculiX has no generalized-plane-strain element "
                             "(Abaqus CPEG); export it as plane strain only on request (--gps-as-plane-strain), "
                             "which changes the answer (eps_zz = 0 instead of a free uniform eps_zz)")
        formulation = "plane_strain"
    if formulation == "3d":
        return {"tet4": "C3D4", "tet10": "C3D10", "hex8": "C3D8"}[shape]
    prefix = "CAX" if formulation == "axisymmetric" else "CPE"
    return prefix + {"tri3": "3", "tri6": "6", "quad4": "4"}[shape]


def deck_maps(model, disc=None, gps_as_plane_strain: bool = False) -> CCXMaps:
    """Node/element numbering of the deck of `model` (element connectivity in ccx order, flipped elements)."""
    shape = _shape(model)
    ctype = ccx_element_type(shape, model.formulation, gps_as_plane_strain)
    disc = disc or Discretization(model)
    mesh = model.mesh.mesh
    basis = skfem.Basis(mesh, disc.elem, intorder=1)
    dofs = np.asarray(basis.element_dofs)                 # (nl, nel)
    X = np.asarray(disc.dof_x)                            # (dim, ndofs)
    nv = {"tri": 3, "quad": 4, "tet": 4, "hex": 8}[re.sub(r"\d", "", shape)]
    corners = dofs[:nv]
    if shape in ("quad4", "hex8"):                        # skfem corner order -> ccx corner order
        ref = np.asarray(disc.elem.doflocs)[:nv]
        want = _CCX_QUAD if shape == "quad4" else _CCX_HEX
        perm = [int(np.argmin(np.linalg.norm(ref - w, axis=1))) for w in want]
        corners = corners[perm]
    conn = [corners]
    if shape in ("tri6", "tet10"):                        # mid-side nodes by the nearest edge dof
        edge = dofs[nv:]
        pe = X[:, edge]                                   # (dim, nedge, nel)
        pc = X[:, corners]                                # (dim, nv, nel)
        mids = []
        for a, b in _MID[shape[:3]]:
            m = 0.5 * (pc[:, a] + pc[:, b])               # (dim, nel)
            d = np.linalg.norm(pe - m[:, None, :], axis=0)   # (nedge, nel)
            mids.append(edge[np.argmin(d, axis=0), np.arange(edge.shape[1])])
        conn.append(np.array(mids))
    conn = np.concatenate(conn).T.copy()                  # (nel, nn)
    # orientation in the ccx convention
    p = X[:, conn]                                        # (dim, nel, nn)
    if shape.startswith("tri") or shape == "quad4":
        a, b = (p[:, :, 1] - p[:, :, 0], p[:, :, 2] - p[:, :, 0]) if shape != "quad4" else \
            (p[:, :, 2] - p[:, :, 0], p[:, :, 3] - p[:, :, 1])
        det = a[0] * b[1] - a[1] * b[0]
    else:
        e3 = 4 if shape == "hex8" else 3
        e2 = 3 if shape == "hex8" else 2
        J = np.stack([p[:, :, 1] - p[:, :, 0], p[:, :, e2] - p[:, :, 0], p[:, :, e3] - p[:, :, 0]])
        det = np.einsum("ie,ie->e", J[0], np.cross(J[1].T, J[2].T).T)
    flipped = det < 0
    if flipped.any():
        conn[flipped] = conn[flipped][:, _FLIP[shape]]
    return CCXMaps(ctype, conn, flipped, X, model.formulation)


# ----------------------------------------------------------------------------------------------------------------
# formatting helpers
# ----------------------------------------------------------------------------------------------------------------
def set_name(prefix: str, name: str) -> str:
    """A ccx set/material name: letters, digits and underscores, at most 80 characters (ccx upper-cases it)."""
    s = prefix + re.sub(r"[^A-Za-z0-9_]", "_", name)
    return s[:80]


def _ids(ids, per_line: int = 16) -> list[str]:
    ids = [int(i) for i in ids]
    return [", ".join(str(i) for i in ids[k:k + per_line]) + "," for k in range(0, len(ids), per_line)]


def _g(x: float) -> str:
    return f"{float(x):.10g}"


def _num(x: float) -> str:
    """Full-precision number in at most 20 characters (ccx reads at most 20 characters per field and truncates
    longer ones silently: '-2.17439695914499e-10' became -0.217 in a node coordinate)."""
    s = f"{float(x):.15g}"
    if len(s) > 20:
        s = f"{float(x):.12e}"
    return s


def _pairs(t, v, per_line: int = 4) -> list[str]:
    items = [f"{_g(a)}, {_g(b)}" for a, b in zip(t, v)]
    return [", ".join(items[k:k + per_line]) for k in range(0, len(items), per_line)]


# ----------------------------------------------------------------------------------------------------------------
# materials
# ----------------------------------------------------------------------------------------------------------------
def _temperature_range(model, times) -> tuple[float, float]:
    T = [model.temperature.T0]
    tm = model.temperature
    if tm.history is not None:
        ts = np.unique(np.concatenate([np.asarray(times, float), np.asarray(tm.corners, float)]))
        T += [float(tm.history(t)) for t in ts]
    return min(T), max(T)


def norton_fit(mat, T_range, rate_range=(1e-7, 1e-3), nT=12, nrate=9) -> dict:
    """Least-squares Norton law rate = A exp(-Q/RT) sigma^n fitted to a creep/viscoplastic law over T_range (°C):
    Anand by its steady state sigma*(rate, T), Garofalo by its rate(sigma, T) -- regression of ln sigma on
    [1, ln rate, 1/T_K] at nT temperatures x nrate rates. Returns A, n, Q_over_R and the rms/max stress error."""
    Ts = np.linspace(T_range[0], T_range[1], nT) if T_range[1] > T_range[0] else np.array([T_range[0]])
    rates = np.logspace(math.log10(rate_range[0]), math.log10(rate_range[1]), nrate)
    TT, RR = (g.ravel() for g in np.meshgrid(Ts, rates))
    if hasattr(mat, "saturation_stress"):
        S = np.asarray(mat.saturation_stress(RR, TT), float)
    else:
        S = np.array([brentq(lambda s, T=T, r=r: math.log(float(mat.rate(s, T))) - math.log(r), 1e-6, 1e4)
                      for T, r in zip(TT, RR)])
    cols = [np.ones_like(TT), np.log(RR)] + ([1.0 / (TT + T_ABS)] if Ts.size > 1 else [])
    b = np.linalg.lstsq(np.column_stack(cols), np.log(S), rcond=None)[0]
    n = 1.0 / b[1]
    Q = b[2] * n if Ts.size > 1 else 0.0
    A = math.exp(-b[0] * n)
    S_fit = (RR / A * np.exp(Q / (TT + T_ABS))) ** (1.0 / n)
    err = S_fit / S - 1.0
    return {"A": A, "n": n, "Q_over_R": Q, "rms_rel_err": float(np.sqrt(np.mean(err ** 2))),
            "max_rel_err": float(np.max(np.abs(err))), "T_range_C": [float(Ts[0]), float(Ts[-1])],
            "rate_range": list(rate_range)}


def _voigt_aniso(C_mandel) -> list[float]:
    """Mandel 6x6 (xx, yy, zz, xy, xz, yz) -> the 21 ccx TYPE=ANISO constants D1111, D1122, D2222, D1133, D2233,
    D3333, D1112, D2212, D3312, D1212, D1113, D2213, D3313, D1213, D1313, D1123, D2223, D3323, D1223, D1323,
    D2323 (tensor components: the Mandel shear rows/columns carry sqrt(2))."""
    w = np.array([1, 1, 1, math.sqrt(2), math.sqrt(2), math.sqrt(2)])
    D = np.asarray(C_mandel, float) / np.outer(w, w)
    order = [(0, 0), (0, 1), (1, 1), (0, 2), (1, 2), (2, 2), (0, 3), (1, 3), (2, 3), (3, 3), (0, 4), (1, 4), (2, 4),
             (3, 4), (4, 4), (0, 5), (1, 5), (2, 5), (3, 5), (4, 5), (5, 5)]
    return [float(D[i, j]) for i, j in order]


def _lines8(values) -> list[str]:
    vals = [_g(v) for v in values]
    return [", ".join(vals[k:k + 8]) for k in range(0, len(vals), 8)]


def creep_law(region, mat, model, times, nearest_native=False):
    """(A, n, Q_over_R, fit report or None) of the Norton law written for a material, None if it does not creep."""
    if isinstance(mat, Norton):
        return mat.A, mat.n, mat.Q_over_R, None
    if mat.elastic or isinstance(mat, (J2Plastic, Chaboche)):
        return None
    if not nearest_native:
        raise InputError(f"materials.{region}", mat.model,
                         "a model CalculiX has natively (elastic, orthotropic, cubic, norton, plastic)",
                         message=f"materials.{region}: CalculiX has no native '{mat.model}' law; export "
                                 "with --nearest-native to write the nearest native law (a Norton *CREEP "
                                 "fitted to it; the deck says so), or use a Norton material")
    fit = norton_fit(mat, _temperature_range(model, times))
    return fit["A"], fit["n"], fit["Q_over_R"], fit


#: ccx 2.20 clamps the Norton coefficient from below (incplas.f: "if(xxa.lt.1.d-20) xxa=1.d-20"), so a deck whose
#: A exp(-Q/RT) falls below ~1e-20 1/(s MPa^n) (SAC305 Norton fits at low temperature: ~1e-25) is written in a
#: larger stress unit (GPa or TPa with kN or MN), which multiplies A by scale^n
A_FLOOR = 1e-20


def stress_scale_for(laws, T_range) -> float:
    """Smallest stress unit 10^(3k) MPa (k >= 0) that keeps every Norton A(T) >= 100 x ccx's floor."""
    lo, hi = T_range
    scale = 1.0
    for A, n, Q in laws:
        Amin = A * math.exp(-Q / (min(lo, hi) - 1.0 + T_ABS)) if Q > 0 else A
        while Amin * scale ** n < 100 * A_FLOOR and scale < 1e12:
            scale *= 1000.0
    return scale


def material_cards(region: str, mat, model, times, nearest_native: bool = False,
                   thickness_axis: int = 2, scale: float = 1.0) -> list[str]:
    """*MATERIAL block of one region (stresses in units of `scale` MPa)."""
    name = set_name("M_", region)
    out = [f"** material of region '{region}': fem_wlp model '{mat.model}'"
           + (f" ({mat.source[:100]})" if getattr(mat, "source", "") else ""),
           f"*MATERIAL, NAME={name}"]
    law = creep_law(region, mat, model, times, nearest_native)
    creep = None if law is None else {"A": law[0], "n": law[1], "Q_over_R": law[2]}
    if law is not None and law[3] is not None:
        out += _fit_comment(mat, law[3])
    if _orientation(mat, thickness_axis) is not None:
        out += _engineering_constants_cards(region, mat.oriented(thickness_axis), scale)
        # with an *ORIENTATION ccx reads TYPE=ORTHO expansion in the local (material) axes too
        exp = Expansion(tuple(mat.alpha_material), mat.expansion.T_alpha)
    elif isinstance(mat, AnisotropicElastic):
        m = mat.oriented(thickness_axis) if hasattr(mat, "oriented") else mat
        out += ["** anisotropic elasticity as TYPE=ANISO in mesh (global) axes"
                + (" -- for CAX elements the hoop axis is z" if model.formulation == "axisymmetric" else ""),
                "*ELASTIC, TYPE=ANISO"]
        out += _lines8(np.array(_voigt_aniso(m.stiffness(model.temperature.T0))) / scale)
        exp = m.expansion
    else:
        exp = mat.expansion
        out += _isotropic_cards(mat, creep, _temperature_range(model, times), scale)
    return out + _expansion_cards(exp)


def _orientation(mat, thickness_axis: int):
    """(a, b) of the *ORIENTATION (material axes 1, 2 in mesh coordinates) of a temperature-dependent
    orthotropic material, which is exported as ENGINEERING CONSTANTS in material axes; None for the others
    (written in mesh axes)."""
    if not (isinstance(mat, Orthotropic) and mat.temperature_dependent):
        return None
    R = axes_rotation(thickness_axis, mat.rotation_deg)
    return R[:, 0], R[:, 1]


def _engineering_constants_cards(region: str, mat, scale: float) -> list[str]:
    """*ELASTIC, TYPE=ENGINEERING CONSTANTS with one row per table temperature (ccx interpolates the constants
    linearly in T, as fem_wlp does) and the *ORIENTATION that maps material axes to the mesh (ccx: local z = a x b,
    which may be -axis 3: irrelevant for an orthotropic material)."""
    a, b = _orientation(mat, mat.thickness_axis)
    temps = sorted(set().union(*(set(t.T) for t in mat.constants if not t.constant)))
    out = ["** orthotropic with temperature tables: engineering constants in material axes (1, 2 in-plane, "
           "3 through-thickness) and an *ORIENTATION",
           "*ELASTIC, TYPE=ENGINEERING CONSTANTS"]
    for t in temps:
        v = [float(c(t)) for c in mat.constants]
        v = [x / scale if k in (0, 1, 2, 6, 7, 8) else x for k, x in enumerate(v)]
        out += [", ".join(_g(x) for x in v[:8]), f"{_g(v[8])}, {_g(t + T_ABS)}"]
    out += [f"*ORIENTATION, NAME={set_name('OR_', region)}, SYSTEM=RECTANGULAR",
            ", ".join(_g(x) for x in list(a) + list(b))]
    return out


def _fit_comment(mat, fit: dict) -> list[str]:
    """The comment of a law exported as its nearest native one (a fitted Norton creep law)."""
    out = [f"** NOT NATIVE: CalculiX has no '{mat.model}' law. Exported (--nearest-native) as Norton creep",
           f"**   rate = A exp(-Q/RT) sigma^n with A = {fit['A']:.6g} 1/(s MPa^n), n = {fit['n']:.6g}, "
           f"Q/R = {fit['Q_over_R']:.6g} K,",
           f"**   least-squares fit of ln(stress) to the {'steady state of the ' if mat.model == 'anand' else ''}"
           f"{mat.model} law over T = {fit['T_range_C'][0]:g}..{fit['T_range_C'][1]:g} C and rates "
           f"{fit['rate_range'][0]:g}..{fit['rate_range'][1]:g} 1/s: rms stress error "
           f"{100 * fit['rms_rel_err']:.1f} %, max {100 * fit['max_rel_err']:.1f} %."]
    if mat.model == "anand":
        out.append("**   Anand's evolving deformation resistance (transient hardening) is not represented.")
    return out


def _isotropic_cards(mat, creep: dict | None, T_range: tuple[float, float], scale: float) -> list[str]:
    """*ELASTIC (E(T) table), *PLASTIC of a J2 material, *CREEP of a Norton law (A(T) tabulated)."""
    T_lo, T_hi = T_range
    out = []
    Tk = list(mat.E.T) if not mat.E.constant else []
    if creep is not None and (creep["Q_over_R"] != 0.0 or Tk):
        # one common temperature grid for *ELASTIC and *CREEP (ccx interpolates the creep data onto the
        # *ELASTIC temperatures)
        grid = set(Tk)
        if creep["Q_over_R"] != 0.0:
            lo, hi = math.floor(T_lo) - 1.0, math.ceil(T_hi) + 1.0
            grid |= set(np.linspace(lo, hi, int(round((hi - lo) / CREEP_DT)) + 1).tolist())
        Tk = sorted(grid)
    out.append("*ELASTIC")
    if not Tk:
        out.append(f"{_g(mat.E.v[0] / scale)}, {_g(mat.nu)}")
    else:
        out += [f"{_g(mat.E(t) / scale)}, {_g(mat.nu)}, {_g(t + T_ABS)}" for t in Tk]
    if isinstance(mat, J2Plastic):
        out.append(f"*PLASTIC, HARDENING={'KINEMATIC' if mat.hardening == 'kinematic' else 'ISOTROPIC'}")
        P, Y, H = list(mat.p_points), list(mat.y_points), list(mat.slopes)
        pts = list(zip(Y, P))
        if H[-1] > 0:            # linear hardening beyond the last point: extend to a large plastic strain
            p_end = max(1.0, 10 * P[-1])
            pts.append((Y[-1] + H[-1] * (p_end - P[-1]), p_end))
        out += [f"{_g(sy / scale)}, {_g(p)}" for sy, p in pts]
        out.append("** yield stress is temperature independent in fem_wlp (no temperature column)")
    if isinstance(mat, Chaboche):
        out += _chaboche_cards(mat, scale)
    if creep is not None:
        A, n, Q = creep["A"], creep["n"], creep["Q_over_R"]
        A = A * scale ** n                       # A in 1/(s unit^n)
        if Q != 0.0 or Tk:
            out.append(f"** Norton A(T) = {A:.6g} exp(-{Q:g}/T_K) (1/(s unit^n)) tabulated every {CREEP_DT:g} K "
                       "over the model's temperature range (and at the *ELASTIC temperatures); ccx interpolates A "
                       "linearly in T between the points (rel. error ~ (Q/R dT/T^2)^2/8) and holds it outside")
            out.append("*CREEP, LAW=NORTON")
            out += [f"{A * math.exp(-Q / (t + T_ABS)):.10e}, {_g(n)}, 0., {_g(t + T_ABS)}" for t in Tk]
        else:
            out.append("*CREEP, LAW=NORTON")
            out.append(f"{A:.10e}, {_g(n)}, 0.")
    return out


def _chaboche_cards(mat, scale: float) -> list[str]:
    """*PLASTIC of a chaboche material that CalculiX 2.20 has natively: no kinematic hardening (C = 0), i.e.
    J2 with sigma_y(T) + H p, written as HARDENING=ISOTROPIC with temperature rows.

    Refused: gamma > 0 (ccx has no Armstrong-Frederick law) and C > 0 with gamma = 0 (Prager). ccx 2.20's
    *PLASTIC, HARDENING=KINEMATIC does not give Prager hardening: on one C3D8 cube under a uniaxial strain
    cycle (E = 130 GPa, curve 100 MPa at 0 / 1600 MPa at 1) its plastic tangent is -1517 MPa = -E H/(E - H)
    instead of +E H/(E + H) = +1483 MPa (the stress falls as the plastic strain grows), with or without NLGEOM
    (measured for issue 14; the same cube with HARDENING=ISOTROPIC gives +1483 MPa)."""
    key = f"materials.{mat.name}"
    if any(g > 0 for g in mat.gamma):
        raise InputError(f"{key}.gamma", list(mat.gamma), "0 for a CalculiX export (ccx has no "
                         "Armstrong-Frederick kinematic hardening)")
    if sum(mat.C) > 0:
        raise InputError(f"{key}.C", list(mat.C), "0 for a CalculiX export (ccx 2.20's HARDENING=KINEMATIC "
                         "is not Prager hardening, see io/calculix/deck.py _chaboche_cards)")
    H = mat.hardening_modulus
    p_end = 1.0                         # linear hardening: two points, extended to a large plastic strain
    yt = mat.yield_table
    out = ["** chaboche with C = 0: J2 with sigma_y(T) + H p as isotropic hardening, sigma_y(T) rows",
           "*PLASTIC, HARDENING=ISOTROPIC"]
    rows = [(yt.v[0], None)] if yt.constant else list(zip(yt.v, yt.T))
    for sy, t in rows:
        tc = "" if t is None else f", {_g(t + T_ABS)}"
        out.append(f"{_g(sy / scale)}, 0.{tc}")
        if H > 0:
            out.append(f"{_g((sy + H * p_end) / scale)}, {_g(p_end)}{tc}")
    return out


def _expansion_cards(exp) -> list[str]:
    """*EXPANSION, secant about T_alpha (ccx ZERO=): isotropic or orthotropic, constant or tabulated in T."""
    zero = exp.T_alpha + T_ABS
    axes = exp.axes
    if len(axes) == 1 or all(a == axes[0] for a in axes):
        a = axes[0]
        out = [f"*EXPANSION, TYPE=ISO, ZERO={_g(zero)}"]
        out += [_g(a.v[0])] if a.constant else [f"{_g(v)}, {_g(t + T_ABS)}" for t, v in zip(a.T, a.v)]
        return out
    Ts = sorted(set().union(*[set(a.T) for a in axes if not a.constant]))
    out = [f"*EXPANSION, TYPE=ORTHO, ZERO={_g(zero)}"]
    if not Ts:
        out.append(", ".join(_g(a.v[0]) for a in axes))
    else:
        out += [", ".join(_g(a(t)) for a in axes) + f", {_g(t + T_ABS)}" for t in Ts]
    return out


# ----------------------------------------------------------------------------------------------------------------
# loads
# ----------------------------------------------------------------------------------------------------------------
def _sample_times(times, corners) -> np.ndarray:
    ts = np.unique(np.concatenate([np.asarray(times, float), np.asarray(corners, float)]))
    return ts[(ts >= times[0] - 1e-12) & (ts <= times[-1] + 1e-12)]


def _step_groups(times) -> list[tuple[float, float, int]]:
    """Runs of equal intervals: (dt, period, n) per *STEP."""
    dts = np.diff(np.asarray(times, float))
    groups = []
    k = 0
    while k < dts.size:
        j = k
        while j + 1 < dts.size and abs(dts[j + 1] - dts[k]) <= 1e-9 * dts[k]:
            j += 1
        n = j - k + 1
        groups.append((float(dts[k]), float(times[j + 1] - times[k]), n))
        k = j + 1
    return groups


def write_deck(model, times, path, settings=None, nearest_native: bool = False, *, output_times=None,
               gps_as_plane_strain: bool = False, cetol: float | None = None, disc=None,
               title: str | None = None) -> Path:
    """Write a CalculiX deck of `model` over the time grid `times` (s) to `path` (.inp added if missing).

    settings: fem_wlp SolverSettings (rtol sets the ccx residual control of inelastic models, max_deps_in the
    default CETOL). nearest_native: export Anand/Garofalo as a fitted Norton law (else InputError).
    output_times: times at which U, S and PEEQ are printed (default: every increment). gps_as_plane_strain: export
    a generalized-plane-strain model as plane strain (not equivalent). cetol: creep tolerance of *VISCO.
    """
    settings = settings or SolverSettings()
    times = np.asarray(times, float)
    if times.ndim != 1 or times.size < 2 or np.any(np.diff(times) <= 0):
        raise InputError("times", times.tolist()[:5], "an increasing time grid with at least two times")
    if model.temperature.field is not None:
        raise InputError("model.temperature", "field", "a uniform temperature history",
                         message="CalculiX export: non-uniform temperature fields T(t, x) are not exported "
                                 "(only a uniform temperature history)")
    if getattr(model, "widths", ()):
        # (one *SOLID SECTION thickness per material region, and a material region may mix widths)
        raise InputError("model.slice_width", "equivalent", "unit for a CalculiX export",
                         message="CalculiX export: regions of an out-of-plane width other than 1 "
                                 "(model.slice_width = 'equivalent') are not exported")
    path = Path(path)
    if path.suffix != ".inp":
        path = path.with_suffix(".inp")
    path.parent.mkdir(parents=True, exist_ok=True)
    disc = disc or Discretization(model, settings)
    maps = deck_maps(model, disc, gps_as_plane_strain)
    t0 = float(times[0])
    laws = [law[:3] for r in disc.names
            if (law := creep_law(r, model.materials[r], model, times, nearest_native)) is not None]
    scale = stress_scale_for(laws, _temperature_range(model, times)) if laws else 1.0
    unit = {1.0: ("MPa", "N"), 1e3: ("GPa", "kN"), 1e6: ("TPa", "MN")}.get(scale, (f"{scale:g} MPa", f"{scale:g} N"))
    L = _header(model, maps, title, scale, unit, t0)
    L += _nodes(maps)
    L += _elements(model, disc, maps)
    L += _boundary_sets(model, disc)
    L += _materials_and_sections(model, disc, maps, times, nearest_native, scale)
    L += _contact_cards(model, disc, maps, scale)
    fixed, step_bc, amps = _constraints(model, disc, times, t0)
    L += fixed
    L += _temperature(model, times, t0)
    L += amps
    L += _steps(model, times, settings, output_times, cetol, step_bc)
    path.write_text("\n".join(L) + "\n")
    path.with_suffix(".fem_wlp.json").write_text(json.dumps(
        {"stress_scale": scale, "time_offset_s": t0, "formulation": model.formulation,
         "ccx_type": maps.ccx_type, "nodes": int(maps.nnodes), "elements": int(maps.nelements),
         "stress_unit": unit[0], "force_unit": unit[1]}, indent=1))
    return path


def _header(model, maps: CCXMaps, title, scale: float, unit: tuple[str, str], t0: float) -> list[str]:
    """Comment lines: what wrote the deck, units and stress scale, formulation and numbering, caveats."""
    L = [f"** {title or model.name}: CalculiX 2.20 deck written by fem_wlp (fem_wlp.io.calculix.deck)",
         f"** units mm, {unit[1]}, {unit[0]}, s; temperatures in K (fem_wlp: deg C + 273.15)",
         f"** fem_wlp stress_scale = {scale:g} (deck stress unit in MPa; ccx_results multiplies S by it)"]
    if scale != 1.0:
        L += [f"** Stresses are in {unit[0]} (forces in {unit[1]}): ccx 2.20 raises a Norton coefficient below 1e-20 "
              "to 1e-20 (incplas.f), and A exp(-Q/RT) of this model falls below that in MPa; in "
              f"{unit[0]} A is multiplied by {scale:g}^n"]
    L += [f"** formulation {model.formulation} -> {maps.ccx_type}; node id = fem_wlp scalar dof + 1, "
          "element id = fem_wlp element index + 1",
          f"** ccx time = fem_wlp time - {_g(t0)} s"]
    if model.formulation == "generalized_plane_strain":
        L.append("** WARNING: generalized plane strain exported as PLANE STRAIN on request (ccx has no GPS "
                 "element): eps_zz = 0 here instead of a free uniform eps_zz; results differ from fem_wlp's")
    if maps.formulation == "axisymmetric":
        L.append("** CAX: x = radial, y = axial; ccx expands to a 2 degree wedge; nodes on the axis are not "
                 "fixed radially unless a constraint says so")
    if maps.flipped.any():
        L.append(f"** {int(maps.flipped.sum())} elements had their node order reversed (positive Jacobian)")
    return L


def _nodes(maps: CCXMaps) -> list[str]:
    """*NODE: one node per scalar dof. Numbers at most 20 characters wide: ccx 2.20 reads at most 20 characters
    per field and silently truncates "-2.17439695914499e-10" to -2.17439695914499e-1 -> "nonpositive jacobian";
    see _num."""
    X = maps.node_x
    L = ["*NODE, NSET=NALL"]
    if X.shape[0] == 2:
        L += [f"{i + 1}, {_num(x)}, {_num(y)}, 0." for i, (x, y) in enumerate(X.T)]
    else:
        L += [f"{i + 1}, {_num(x)}, {_num(y)}, {_num(z)}" for i, (x, y, z) in enumerate(X.T)]
    return L


def _elements(model, disc, maps: CCXMaps) -> list[str]:
    """*ELEMENT blocks, one per material region (ELSET E_<region>), EALL, and one *ELSET per mesh leaf."""
    L = []
    for name, op in zip(disc.names, disc.ops):
        es = set_name("E_", name)
        L.append(f"*ELEMENT, TYPE={maps.ccx_type}, ELSET={es}")
        conn = maps.conn[op.elements] + 1
        for e, row in zip(op.elements, conn):
            L.append(f"{e + 1}, " + ", ".join(str(int(v)) for v in row[:15])
                     + ("," if row.size > 15 else ""))
            if row.size > 15:
                L.append(", ".join(str(int(v)) for v in row[15:]))
    L.append("*ELSET, ELSET=EALL")
    L += [", ".join(set_name("E_", n) for n in disc.names[k:k + 8]) + "," for k in range(0, len(disc.names), 8)]
    for leaf, idx in sorted(model.mesh.leaves.items()):
        if len(idx):
            L.append(f"*ELSET, ELSET={set_name('L_', leaf)}")
            L += _ids(np.sort(np.asarray(idx)) + 1)
    return L


def _boundary_sets(model, disc) -> list[str]:
    """*NSET B_<name> per named boundary: every scalar dof on its facets."""
    L = []
    sb = skfem.Basis(model.mesh.mesh, disc.elem, intorder=1)
    for bname, facets in sorted(model.mesh.boundaries.items()):
        if len(facets):
            nodes = np.unique(sb.get_dofs(facets=np.asarray(facets)).flatten())
            L.append(f"*NSET, NSET={set_name('B_', bname)}")
            L += _ids(nodes + 1)
    return L


def _materials_and_sections(model, disc, maps: CCXMaps, times, nearest_native: bool, scale: float) -> list[str]:
    """*MATERIAL blocks of every region, then one *SOLID SECTION per region."""
    L = []
    for name in disc.names:
        L += material_cards(name, model.materials[name], model, times, nearest_native, model.thickness_axis, scale)
    for name in disc.names:
        orient = (f", ORIENTATION={set_name('OR_', name)}"
                  if _orientation(model.materials[name], model.thickness_axis) is not None else "")
        L.append(f"*SOLID SECTION, ELSET={set_name('E_', name)}, MATERIAL={set_name('M_', name)}{orient}")
        if maps.formulation != "3d":
            L.append("1.")
    return L


# ccx faces of each element type as corner positions in ccx node order (0-based): face k -> "S{k+1}"
_CCX_FACES = {"tri3": [(0, 1), (1, 2), (2, 0)], "quad4": [(0, 1), (1, 2), (2, 3), (3, 0)],
              "tet4": [(0, 1, 2), (0, 3, 1), (1, 3, 2), (2, 3, 0)],
              "hex8": [(0, 1, 2, 3), (4, 7, 6, 5), (0, 4, 5, 1), (1, 5, 6, 2), (2, 6, 7, 3), (3, 7, 4, 0)]}


def _contact_cards(model, disc, maps: CCXMaps, scale: float) -> list[str]:
    """Unbonded interfaces (model.contacts): per interface an element-face *SURFACE on each side (side B slave,
    side A master), *CONTACT PAIR TYPE=SURFACE TO SURFACE, SMALL SLIDING and a *SURFACE INTERACTION with the
    linear pressure-overclosure of fem_wlp's penalty (slope = the pairs' stiffness per unit area, the same k; its
    mean where the moduli at the pairs vary along the interface) and
    *FRICTION (mu, stick slope = the same k) when the interface has friction. ccx's surface-to-surface contact
    integrates the pressure over the faces, fem_wlp lumps it at the vertex pairs for linear elements (equal for
    uniform pressure) and integrates it at facet Gauss points for quadratic ones (agreement ~1e-7 also where the
    contact ends, tests/test_contact.py)."""
    if not model.contacts:
        return []
    from fem_wlp.fe.mesh import _facets_from_nodes, mesh_facets

    mesh = model.mesh.mesh
    shape = _shape(model)
    faces = _CCX_FACES[{"tri6": "tri3", "tet10": "tet4"}.get(shape, shape)]    # (corner positions: the same)
    facets = mesh_facets(mesh)
    f2t = mesh.f2t
    cs = disc.contact
    L, i0 = [], 0
    for c, npt in zip(model.contacts, cs.sizes):
        pr = c.pairs
        kA = cs.k[i0: i0 + npt] / cs.area[i0: i0 + npt]        # stiffness per unit area (MPa/mm) at the points
        i0 += npt
        kk = float(np.mean(kA)) / scale
        to_b = np.arange(mesh.nvertices)
        to_b[pr.a] = pr.b
        name = set_name("", pr.name)
        L.append(f"** unbonded interface {pr.name}: {pr.size} vertex pairs, friction {c.friction:g}")
        for side, verts in (("A", pr.facets), ("B", to_b[pr.facets])):
            fi = _facets_from_nodes(mesh, verts.T, pr.name, "", "contact")
            el = f2t[0, fi]
            conn = maps.conn[el][:, : max(max(f) for f in faces) + 1]
            want = np.sort(facets[:, fi].T, axis=1)
            L.append(f"*SURFACE, NAME=S{side}_{name}, TYPE=ELEMENT")
            for j, e in enumerate(el):
                hit = [q for q, f in enumerate(faces) if np.array_equal(np.sort(conn[j, list(f)]), want[j])]
                L.append(f"{int(e) + 1}, S{hit[0] + 1}")
        L += [f"*CONTACT PAIR, INTERACTION=I_{name}, TYPE=SURFACE TO SURFACE, SMALL SLIDING",
              f"SB_{name}, SA_{name}",
              f"*SURFACE INTERACTION, NAME=I_{name}",
              "*SURFACE BEHAVIOR, PRESSURE-OVERCLOSURE=LINEAR", f"{_g(kk)}"]
        if c.friction > 0:
            L += ["*FRICTION", f"{_g(c.friction)}, {_g(kk)}"]
    return L


def _constraints(model, disc, times, t0: float) -> tuple[list[str], list[str], list[str]]:
    """(model-definition lines: node sets and fixed *BOUNDARY; step lines: prescribed *BOUNDARY; *AMPLITUDEs).
    A prescribed component whose values are separable in time and node gets one amplitude, else one per node."""
    L: list[str] = []
    step_bc: list[str] = []
    amps: list[str] = []
    for k, (c, (sd, _)) in enumerate(zip(model.constraints, disc.cdofs)):
        ns = f"C{k + 1}"
        L.append(f"** constraint {k + 1}: {c.label}, components {[ 'xyz'[i] for i in c.components]}")
        L.append(f"*NSET, NSET={ns}")
        L += _ids(np.asarray(sd) + 1)
        if c.value is None:
            L.append("*BOUNDARY")
            L += [f"{ns}, {i + 1}, {i + 1}" for i in c.components]
            continue
        tc = _sample_times(times, c.corners)
        x = disc.dof_x[:, sd]
        V = np.stack([np.broadcast_to(np.asarray(c.value(t, x), float), (len(c.components), sd.size))
                      for t in tc])                            # (nt, ncomp, nnodes)
        for j, comp in enumerate(c.components):
            M = V[:, j, :]
            U, S, Wt = np.linalg.svd(M, full_matrices=False)
            if S[0] == 0.0:
                step_bc += ["*BOUNDARY, OP=MOD", f"{ns}, {comp + 1}, {comp + 1}, 0."]
                continue
            if S.size < 2 or S[1] <= 1e-12 * S[0]:             # separable: amplitude(t) x value(node)
                a = U[:, 0] * S[0]
                b = Wt[0]
                s = float(np.max(np.abs(a)))
                a, b = a / s, b * s
                an = f"A_C{k + 1}_{comp + 1}"
                amps += [f"*AMPLITUDE, NAME={an}, TIME=TOTAL TIME"] + _pairs(tc - t0, a)
                step_bc.append(f"*BOUNDARY, AMPLITUDE={an}")
                step_bc += [f"{int(n) + 1}, {comp + 1}, {comp + 1}, {_num(v)}" for n, v in zip(sd, b)]
            else:                                              # one amplitude per node
                for i, n in enumerate(sd):
                    an = f"A_C{k + 1}_{comp + 1}_{int(n) + 1}"
                    amps += [f"*AMPLITUDE, NAME={an}, TIME=TOTAL TIME"] + _pairs(tc - t0, M[:, i])
                    step_bc += [f"*BOUNDARY, AMPLITUDE={an}", f"{int(n) + 1}, {comp + 1}, {comp + 1}, 1."]
    return L, step_bc, amps


def _temperature(model, times, t0: float) -> list[str]:
    """Initial (stress-free) temperature and the uniform history as an amplitude of absolute temperatures."""
    ts = _sample_times(times, model.temperature.corners)
    T0 = model.temperature.T0
    L = ["*INITIAL CONDITIONS, TYPE=TEMPERATURE", f"NALL, {_g(T0 + T_ABS)}"]
    hist = model.temperature.history
    Tvals = np.array([hist(t) if hist is not None else T0 for t in ts]) + T_ABS
    L += ["** temperature history: ABSOLUTE temperatures (K) in the amplitude, reference value 1.0 on *TEMPERATURE",
          "*AMPLITUDE, NAME=TEMP, TIME=TOTAL TIME"] + _pairs(ts - t0, Tvals)
    return L


def _steps(model, times, settings, output_times, cetol, step_bc: list[str]) -> list[str]:
    """One *STEP per run of equal intervals: *VISCO (creep) or *STATIC with DIRECT fixed increments, the
    temperature, the prescribed boundary values and the output requests."""
    mats = model.materials
    inelastic = [r for r, m in mats.items() if not m.elastic]
    creep = [r for r, m in mats.items() if not m.elastic and m.model not in ("plastic", "chaboche")]
    L = []
    # output times: DIRECT collides with *TIME POINTS in ccx, so every step prints with a FREQUENCY that hits its
    # output increments (and ccx prints the last increment of a step anyway)
    ot = None
    if output_times is not None:
        ot = np.asarray(output_times, float)
        ot = np.unique(np.argmin(np.abs(times[:, None] - ot[None, :]), axis=0))     # grid indices
    el_keys = "S, COORD" + (", PEEQ" if inelastic else "")
    # stresses in global axes where a section has an *ORIENTATION (ccx prints local ones otherwise)
    glob = ", GLOBAL=YES" if any(_orientation(m, model.thickness_axis) is not None for m in mats.values()) else ""
    if creep:
        ce = cetol if cetol is not None else settings.max_deps_in
        L.append(f"** creep in regions {', '.join(creep)}: *VISCO (creep is off in *STATIC), CETOL = {ce:g} "
                 "(creep strain increment tolerance; with DIRECT the increments are fixed)")
    k0 = 0
    for s, (dt, period, n) in enumerate(_step_groups(times)):
        if ot is None:
            out_param = "FREQUENCY=1"
        else:
            js = [int(k - k0) for k in ot if k0 < k <= k0 + n]
            out_param = f"FREQUENCY={math.gcd(*js) if js else n}"
        k0 += n
        L.append(f"** step {s + 1}: {n} fixed increments of {_g(dt)} s")
        L.append("*STEP, INC=10000000" + (", NLGEOM=NO" if inelastic else ""))
        if creep:
            L += [f"*VISCO, CETOL={_g(ce)}, DIRECT", f"{_g(dt)}, {_g(period)}, {_g(dt)}, {_g(dt)}"]
        else:
            L += ["*STATIC, DIRECT", f"{_g(dt)}, {_g(period)}, {_g(dt)}, {_g(dt)}"]
        if inelastic:
            r = min(max(settings.rtol, 1e-6), 5e-3)
            L += ["** residual control tightened towards fem_wlp's rtol (ccx default 0.005; below ~1e-6 ccx's "
                  "local creep/plasticity tolerance, 1e-4 relative, keeps it from converging)",
                  "*CONTROLS, PARAMETERS=FIELD", f"{_g(r)}, {_g(r)}",
                  "*CONTROLS, PARAMETERS=TIME INCREMENTATION", "30, 40, 40, 100"]
        L += ["*TEMPERATURE, AMPLITUDE=TEMP", "NALL, 1."]
        L += step_bc
        L += [f"*NODE PRINT, NSET=NALL, {out_param}", "U", f"*EL PRINT, ELSET=EALL, {out_param}{glob}", el_keys,
              "*END STEP"]
    return L
