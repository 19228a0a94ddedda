"""Read a CalculiX `.dat` file (the *NODE PRINT / *EL PRINT tables) and map it onto fem_wlp's mesh.

`read_dat(path)` returns every block as numpy arrays by quantity and time:

    res = read_dat("model.dat")
    res.times                       # sorted output times (ccx total time)
    res.U[k]                        # (nnodes, 3) displacements at res.times[k] (rows by ccx node id order)
    res.block("stresses", t)        # (elem ids, ip ids, values (n, 6))

`map_to_model(res, maps, disc)` (maps = `calculix.deck_maps(model)`) gives, per output time, fem_wlp-ordered
arrays:

- `u`: the fem_wlp global displacement vector (scalar dof s, component c -> s*nc + c); ccx node id = dof + 1;
- `S_elem`: (nel, 6) Mandel stress (shear x sqrt 2) averaged over each element's ccx integration points, in fem_wlp
  element order; `peeq_elem`: (nel,) likewise for PEEQ (ccx reports CEEQ as PEEQ);
- `S_qp[region]` / `peeq_qp[region]`: (6, nel*nqp) at fem_wlp's quadrature points (same order as the solver's
  `states[region]["stress"]`), where every fem_wlp point has ccx points at the same location: matched by the
  integration-point coordinates ccx prints (COORD). 2D elements are expanded to 3D by ccx (CPE3 -> 2 points,
  CPE4 -> 8, CPE6 -> 9, CAX...): their points lie off the mid-plane, so the ccx points with the same in-plane
  coordinates (x, y) -- or, for CAX, the same (r, y) -- are averaged (the "mid-plane" value; exact for plane strain,
  whose solution does not vary through the thickness). When the rules differ (e.g. fem_wlp's 3-point axisymmetric
  triangle vs ccx's 1-in-plane-point CAX3), `S_qp` is None and only the element averages are comparable.
- CAX stresses are rotated from the expanded wedge's global axes back to (r, z, hoop) at each point (the points of
  the +-1 degree wedge lie off the x-y plane, where global xx mixes radial and hoop stress).
"""
from __future__ import annotations

import io
import json
import os
import re
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

SQ2 = np.sqrt(2.0)
_HEAD = re.compile(r"^ (?P<name>[a-z][a-z .]*?) \((?P<cols>[^)]*)\)\s*for set (?P<set>\S+) and time\s+(?P<t>\S+)\s*$")
_KEYS = {"displacements": "U", "stresses": "S", "equivalent plastic strain": "PEEQ", "global coordinates": "COORD",
         "total strain": "E", "mechanical strain": "ME"}


@dataclass
class DatResults:
    """Blocks of a .dat file: data[key][time] = array (rows as printed: id columns then values).
    Stresses are converted to MPa with the deck's stress_scale (from the `<stem>.fem_wlp.json` written next to
    the deck by `write_deck`; 1 when absent)."""

    data: dict = field(default_factory=dict)
    stress_scale: float = 1.0

    @property
    def times(self) -> np.ndarray:
        ts = set()
        for d in self.data.values():
            ts |= set(d)
        return np.array(sorted(ts))

    def at(self, key: str, t: float) -> np.ndarray | None:
        d = self.data.get(key, {})
        if not d:
            return None
        ts = np.array(sorted(d))
        k = int(np.argmin(np.abs(ts - t)))
        if abs(ts[k] - t) > 1e-6 * max(1.0, abs(t)):
            return None
        return d[ts[k]]


def read_dat(path) -> DatResults:
    """Parse every table of a ccx .dat file. Blocks of the same quantity and time (several sets) are stacked;
    a time printed twice (the end of one step and the start of the next) keeps the last block."""
    res = DatResults()
    side = Path(path).with_suffix(".fem_wlp.json")
    if side.is_file():
        res.stress_scale = float(json.loads(side.read_text()).get("stress_scale", 1.0))
    lines = Path(path).read_text().splitlines()
    i, n = 0, len(lines)
    while i < n:
        m = _HEAD.match(lines[i])
        if not m:
            i += 1
            continue
        key = _KEYS.get(m.group("name").strip(), m.group("name").strip())
        t = float(m.group("t"))
        i += 1
        while i < n and not lines[i].strip():
            i += 1
        j = i
        while j < n and lines[j].strip() and not _HEAD.match(lines[j]):
            j += 1
        text = "\n".join(lines[i:j])
        arr = np.loadtxt(io.StringIO(text), ndmin=2) if text.strip() else np.zeros((0, 0))
        if key == "S" and arr.size and res.stress_scale != 1.0:
            arr[:, 2:] *= res.stress_scale
        d = res.data.setdefault(key, {})
        prev = d.get(t)
        d[t] = arr if prev is None or _same_ids(prev, arr) else np.vstack([prev, arr])
        i = j
    return res


def _same_ids(a, b) -> bool:
    """A repeated block (same rows) replaces the previous one; a different set is appended."""
    return a.shape == b.shape and np.array_equal(a[:, :2], b[:, :2])


def mandel(S):
    """ccx stress rows (..., 6) tensor shears -> Mandel (..., 6) (shear x sqrt 2)."""
    out = np.array(S, float, copy=True)
    out[..., 3:] *= SQ2
    return out


def _cax_to_cylindrical(S, X):
    """Stress rows (n, 6) (xx, yy, zz, xy, xz, yz; tensor shears) at points X (n, 3) of an expanded CAX wedge ->
    (rr, zz_axial, hoop, r-axial, r-hoop, axial-hoop) in the fem_wlp axisymmetric order (x=r, y=axial, z=hoop)."""
    th = np.arctan2(X[:, 2], X[:, 0])
    c, s = np.cos(th), np.sin(th)
    sxx, syy, szz, sxy, sxz, syz = S.T
    srr = c * c * sxx + s * s * szz + 2 * c * s * sxz
    stt = s * s * sxx + c * c * szz - 2 * c * s * sxz
    srt = -c * s * sxx + c * s * szz + (c * c - s * s) * sxz
    sry = c * sxy + s * syz
    sty = -s * sxy + c * syz
    return np.column_stack([srr, syy, stt, sry, srt, sty])


@dataclass
class Mapped:
    """ccx results at one time on fem_wlp's numbering."""

    time: float
    u: np.ndarray | None                 # fem_wlp global displacement vector
    S_elem: np.ndarray | None            # (nel, 6) Mandel, element averages of the ccx points
    peeq_elem: np.ndarray | None         # (nel,)
    S_qp: dict | None                    # region -> (6, nel*nqp) Mandel at fem_wlp quadrature points
    peeq_qp: dict | None


#: half-angle of ccx's CAX wedge (the 2D element is expanded to a 2 degree wedge about the y axis)
CAX_HALF_ANGLE = np.radians(1.0)


def map_to_model(res: DatResults, maps, disc, t: float, cax_radial_correction: bool = True) -> Mapped:
    """ccx results at ccx time t mapped onto fem_wlp's dofs, elements and quadrature points (see module doc).

    cax_radial_correction: for CAX elements ccx prints, for each 2D node, the mean x-displacement of its two
    expanded nodes at +-1 degree, i.e. u_r cos(1 deg); divide by cos(1 deg) to get u_r (measured: removes the
    1.5e-4 relative offset of the radial displacements)."""
    nc = disc.nc
    U = res.at("U", t)
    u = None
    if U is not None:
        ids = U[:, 0].astype(np.int64) - 1
        full = np.full((maps.nnodes, 3), np.nan)
        full[ids] = U[:, 1:4]
        if maps.formulation == "axisymmetric" and cax_radial_correction:
            full[:, 0] /= np.cos(CAX_HALF_ANGLE)
        u = full[:, :nc].ravel()
    S, P, C = res.at("S", t), res.at("PEEQ", t), res.at("COORD", t)
    S_elem = peeq_elem = S_qp = peeq_qp = None
    if S is not None:
        el = S[:, 0].astype(np.int64) - 1
        vals = S[:, 2:8].copy()
        Xc = C[:, 2:5] if C is not None and C.shape[0] == S.shape[0] else None
        if maps.formulation == "axisymmetric" and Xc is not None:
            vals = _cax_to_cylindrical(vals, Xc)
        vals = mandel(vals)
        nel = maps.nelements
        cnt = np.bincount(el, minlength=nel).astype(float)
        S_elem = np.stack([np.bincount(el, vals[:, k], minlength=nel) for k in range(6)], axis=1)
        with np.errstate(invalid="ignore"):
            S_elem /= cnt[:, None]
        pv = None
        if P is not None and P.shape[0] == S.shape[0]:
            pv = P[:, 2]
            peeq_elem = np.bincount(el, pv, minlength=nel) / np.where(cnt > 0, cnt, np.nan)
        if Xc is not None:
            S_qp, peeq_qp = _to_quadrature_points(el, Xc, vals, pv, maps, disc)
    return Mapped(t, u, S_elem, peeq_elem, S_qp, peeq_qp)


def _to_quadrature_points(el, Xc, vals, pv, maps, disc):
    """Average the ccx points of each element that share a fem_wlp quadrature point's (in-plane) location."""
    dim = disc.ops[0].x.shape[0]
    if maps.formulation == "axisymmetric":
        key = np.column_stack([np.hypot(Xc[:, 0], Xc[:, 2]), Xc[:, 1]])
    else:
        key = Xc[:, :dim]
    order = np.argsort(el, kind="stable")
    el_s = el[order]
    starts = np.searchsorted(el_s, np.arange(maps.nelements))
    ends = np.searchsorted(el_s, np.arange(maps.nelements), side="right")
    S_qp, P_qp = {}, ({} if pv is not None else None)
    for name, op in zip(disc.names, disc.ops):
        x = op.x                                             # (dim, nel, nqp)
        nel_r, nqp = x.shape[1], x.shape[2]
        out = np.empty((6, nel_r, nqp))
        pout = np.empty((nel_r, nqp)) if pv is not None else None
        for i, e in enumerate(op.elements):
            rows = order[starts[e]:ends[e]]
            if rows.size == 0:
                return None, None
            d = np.linalg.norm(key[rows][:, None, :] - x[:, i, :].T[None, :, :], axis=2)   # (nccx, nqp)
            xe = maps.node_x[:, maps.conn[e]]
            h = float(np.max(np.ptp(xe, axis=1)))              # element size
            # ccx's CAX wedge is a chord of the arc: its points sit ~1e-4 h off fem_wlp's (r, z)
            if np.any(d.min(axis=0) > 2e-3 * h):               # a fem_wlp point without a ccx point
                return None, None
            near = d <= d.min(axis=0, keepdims=True) + 1e-3 * h
            w = near / near.sum(axis=0, keepdims=True)          # average of the coinciding ccx points
            out[:, i, :] = vals[rows].T @ w
            if pout is not None:
                pout[i] = pv[rows] @ w
        S_qp[name] = out.reshape(6, -1)
        if P_qp is not None:
            P_qp[name] = pout.reshape(-1)
    return S_qp, P_qp


def element_average(disc, region_values: dict) -> np.ndarray:
    """fem_wlp values per quadrature point {region: (..., nel*nqp)} -> arithmetic means per element
    (nel_total, ...) in fem_wlp element order (comparable with `Mapped.S_elem` when both codes use rules with
    equal weights per element, i.e. straight-sided elements)."""
    nel = disc.model.mesh.nelements
    first = next(iter(region_values.values()))
    lead = first.shape[:-1]
    out = np.full((nel,) + lead, np.nan)
    for name, op in zip(disc.names, disc.ops):
        v = np.asarray(region_values[name])
        nqp = op.x.shape[2]
        v = v.reshape(lead + (op.elements.size, nqp)).mean(axis=-1)
        out[op.elements] = np.moveaxis(v, -1, 0)
    return out


def run_ccx(inp, nproc: int | None = None, timeout: float | None = None, ccx: str = "ccx") -> dict:
    """Run `ccx -i <stem>` in the deck's folder; returns {"returncode", "wall_s", "log", "dat"}. Raises
    RuntimeError with the end of the log when ccx reports an error."""
    inp = Path(inp)
    env = dict(os.environ)
    if nproc:
        env.update({"OMP_NUM_THREADS": str(nproc), "CCX_NPROC_EQUATION_SOLVER": str(nproc),
                    "CCX_NPROC_RESULTS": str(nproc), "CCX_NPROC_STIFFNESS": str(nproc)})
    t0 = time.perf_counter()
    p = subprocess.run([ccx, "-i", inp.stem], cwd=inp.parent, env=env, capture_output=True, text=True,
                       timeout=timeout)
    wall = time.perf_counter() - t0
    log = p.stdout + p.stderr
    (inp.parent / (inp.stem + ".log")).write_text(log)
    if p.returncode != 0 or "*ERROR" in log:
        tail = "\n".join([ln for ln in log.splitlines() if ln.strip()][-15:])
        raise RuntimeError(f"ccx failed on {inp} (exit {p.returncode}):\n{tail}")
    return {"returncode": p.returncode, "wall_s": wall, "log": log, "dat": inp.with_suffix(".dat")}
