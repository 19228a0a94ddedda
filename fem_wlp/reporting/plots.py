"""Pictures of a reliability-study results folder (the only module that imports matplotlib; Agg backend).

`make_plots(outdir)` reads ``summary.json``, ``study_as_run.json`` and ``cases/<name>/`` (``layers.csv``,
``fields.pvd`` + ``fields/*.vtu``, ``mesh/*.msh``) and writes PNGs into ``outdir/plots/``:

- ``stress_von_mises.png``, ``stress_max_principal.png``: stress maps at the cold and hot extremes of the last
  cycle (the snapshots at the end of the cold and hot dwells), designs side by side, one colour scale per row
  (quantity and extreme), on the deformed shape, zoomed on the critical joint and its pad;
- ``inelastic_strain.png``: accumulated equivalent inelastic strain in the solder, same layout;
- ``dW_last_cycle_map.png``: inelastic work density dissipated in the last cycle (solder), when the folder has
  the snapshots at the start and the end of the last cycle;
- ``hysteresis.png``: volume-averaged shear stress vs engineering shear strain of the critical interface layer
  of the critical joint, one colour per design, last cycle bold, earlier cycles faint;
- ``dW_per_cycle.png``: ΔW and Δε_in per cycle per design (bars), life ratio vs the baseline on the bars;
- ``temperature_profile.png``: the thermal profile with the cycle boundaries and the snapshot times used;
- ``dW_vs_dnp.png``: ΔW per joint vs distance to the neutral point, per design and interface layer (slice2d).
- ``sweep.png``: ΔW and the life ratio against every swept parameter (studies with a [sweep]).

Mesh regions: the VTU ``region`` cell ids index ``list(case["max_stress_MPa"])`` (the order of the case's
material regions); the joint-level leaves (``solder/joint3/die_layer``, ``board_pad/joint3`` ...) come from the
case's ``.msh`` (its element indices are the VTU cell indices). Without the ``.msh`` the joint of a solder cell
is the nearest joint axis.
"""
from __future__ import annotations

import contextlib
import csv
import io
import math
import multiprocessing as mp
import os
import sys
import textwrap
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
from matplotlib import colors as mcolors  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.collections import LineCollection, PolyCollection  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import FuncFormatter, NullFormatter, NullLocator  # noqa: E402
from matplotlib.tri import Triangulation  # noqa: E402

from fem_wlp.errors import InputError  # noqa: E402
from fem_wlp.fe.mesh import load as load_mesh  # noqa: E402
from fem_wlp.io.results import damaged, read_json, read_summary  # noqa: E402
from fem_wlp.reporting.package3d_plots import plot_package3d  # noqa: E402
from fem_wlp.study.cases import case_folder_name  # noqa: E402
from fem_wlp.study.spec import DEFAULT_MAX_CYCLES  # noqa: E402
from fem_wlp.wlcsp.profiles import profile_from_spec  # noqa: E402

DPI = 130
DESIGN_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf")
BUILDUP = ("passivation", "pi1", "pi2", "pi3", "cu_wiring", "ubm")


# ----------------------------------------------------------------------------------------------------------------
# reading a results folder
# ----------------------------------------------------------------------------------------------------------------
def warn(text: str):
    """A plot (or part of one) that cannot be drawn: one line on stderr; the other plots are still drawn."""
    print(f"fem-wlp: warning: {text}", file=sys.stderr)


def load_profile(outdir):
    """The temperature profile of the study as run, or None (with a warning when study_as_run.json is damaged)."""
    f = Path(outdir) / "study_as_run.json"
    if not f.is_file():
        return None
    try:
        study = read_json(f)
    except InputError as exc:
        warn(f"{exc}; the plots are drawn without the thermal profile")
        return None
    try:
        load = dict(study["load"])
        if load.get("cycles") == "auto":        # the profile of the most cycles; the cases ran part of it
            load["cycles"] = load.get("max_cycles", DEFAULT_MAX_CYCLES)
        return profile_from_spec(load)
    except Exception:                                  # a folder from another version: plots without it
        return None


def case_dir(outdir, name: str) -> Path:
    return Path(outdir) / "cases" / case_folder_name(name)


def read_layers(path) -> dict[str, np.ndarray]:
    """layers.csv -> {column: float array}; InputError naming the file when it is not a complete numeric table."""
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
    except OSError as exc:
        raise damaged(path, f"cannot be read ({exc.strerror or exc})") from None
    except (UnicodeDecodeError, csv.Error):
        raise damaged(path, "is not a CSV text table") from None
    if not rows:
        return {}
    head, body = rows[0], rows[1:]
    bad = next((i for i, r in enumerate(body) if len(r) != len(head)), None)
    if bad is not None:
        raise damaged(path, f"row {bad + 2} has {len(body[bad])} values for {len(head)} columns (truncated?)")
    try:
        data = np.array([[float(v) if v not in ("", "nan") else np.nan for v in r] for r in body], dtype=float)
    except ValueError as exc:
        raise damaged(path, f"holds a value that is not a number ({exc})") from None
    data = data.reshape(len(body), len(head))
    return {h: data[:, i] for i, h in enumerate(head)}


def read_pvd(path) -> list[tuple[float, Path]]:
    """[(time, vtu path)] of a .pvd collection, sorted by time."""
    path = Path(path)
    try:
        root = ET.parse(path).getroot()
        out = [(float(ds.get("timestep")), path.parent / ds.get("file")) for ds in root.iter("DataSet")]
    except (ET.ParseError, OSError, UnicodeDecodeError):
        raise damaged(path, "is not a readable ParaView collection (XML)") from None
    except (TypeError, ValueError):
        raise damaged(path, "has a DataSet without a numeric timestep or a file") from None
    return sorted(out, key=lambda x: x[0])


class _RawVTU:
    """The parts of a meshio.Mesh that read_snapshot uses, read from fem_wlp's own raw-appended VTU."""

    def __init__(self, points, cells, point_data, cell_data):
        self.points, self.cells, self.point_data, self.cell_data = points, cells, point_data, cell_data


_VTU_DTYPES = {"Float64": "<f8", "Float32": "<f4", "Int64": "<i8", "Int32": "<i4", "UInt8": "u1"}
_VTU_CELLS = {5: "triangle", 10: "tetra", 22: "triangle6", 24: "tetra10", 9: "quad", 12: "hexahedron"}


def _read_raw_vtu(path):
    """A VTU written by fem_wlp.io.results._write_vtu_raw (one raw AppendedData block, UInt64 byte counts), read
    by offsets into one buffer: ~20x faster than meshio's general reader, which dominated the loading of the
    maps (benchmarks/README.md). None for any other VTU (compressed, base64, another writer): meshio reads it."""
    buf = Path(path).read_bytes()
    head_end = buf.find(b'<AppendedData encoding="raw">')
    if (head_end < 0 or b'header_type="UInt64"' not in buf[:300] or b"compressor" in buf[:head_end]
            or not buf.startswith(b'<?xml version="1.0"?>\n<VTKFile type="UnstructuredGrid"')):
        return None
    start = buf.index(b"_", head_end) + 1
    root = ET.fromstring(buf[:head_end].decode() + "</VTKFile>")

    def array(el):
        off = start + int(el.get("offset"))
        nbytes = int(np.frombuffer(buf, "<u8", 1, off)[0])
        a = np.frombuffer(buf, _VTU_DTYPES[el.get("type")], nbytes // np.dtype(_VTU_DTYPES[el.get("type")]).itemsize,
                          off + 8)
        nc = int(el.get("NumberOfComponents", "1"))
        return a.reshape(-1, nc) if nc > 1 else a

    piece = root.find("UnstructuredGrid/Piece")
    points = array(piece.find("Points/DataArray"))
    cells = {el.get("Name"): array(el) for el in piece.find("Cells")}
    types = np.unique(cells["types"])
    if types.size != 1 or int(types[0]) not in _VTU_CELLS or cells["offsets"].size == 0:
        return None
    k = int(cells["offsets"][0])
    block = type("CellBlock", (), {})()
    block.type, block.data = _VTU_CELLS[int(types[0])], cells["connectivity"].reshape(-1, k)
    pdata = {el.get("Name"): array(el) for el in piece.find("PointData")}
    cdata = {el.get("Name"): [array(el)] for el in piece.find("CellData")}
    return _RawVTU(points, [block], pdata, cdata)


def read_mesh_file(path):
    """meshio.read, with an unreadable file as an InputError naming it (meshio prints and exits on those). fem_wlp's
    own uncompressed VTU files are read directly (_read_raw_vtu)."""
    if str(path).endswith(".vtu"):
        try:
            raw = _read_raw_vtu(path)
        except Exception:          # not what _write_vtu_raw writes after all: meshio decides (and reports)
            raw = None
        if raw is not None:
            return raw
    import meshio      # slow to import; only the field maps need it

    try:
        with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
            return meshio.read(str(path))
    except SystemExit:                                # meshio's answer to a file it cannot parse
        raise damaged(path, "is not a readable mesh/VTU file") from None
    except Exception as exc:
        raise damaged(path, f"is not a readable mesh/VTU file ({type(exc).__name__}: {str(exc)[:120]})") from None


def _critical_layer(case: dict) -> tuple[int, str]:
    """(joint, layer) of the headline's critical layer; for the hot-spot rule (no layer history) the conformal
    rule's critical layer."""
    k, layer = int(case.get("critical_joint") or 0), case.get("critical_layer") or "die_layer"
    if layer == "hotspot":
        m = (case.get("metrics") or {}).get("conformal") or {}
        k, layer = int(m.get("critical_joint") or k), m.get("critical_layer") or "die_layer"
    return k, layer


def layer_key(joint: int, layer: str) -> str:
    return f"solder/joint{joint}" if layer in (None, "", "whole") else f"solder/joint{joint}/{layer}"


@dataclass
class Snapshot:
    time: float
    points: np.ndarray            # (n, 3)
    cells: np.ndarray             # (nc, k)
    cell_type: str
    disp: np.ndarray              # (n, 3)
    data: dict                    # cell data name -> (nc,) or (nc, 9)


def read_snapshot(path, time: float) -> Snapshot:
    m = read_mesh_file(path)
    i = next((k for k, c in enumerate(m.cells) if c.type in ("triangle", "tetra", "triangle6", "tetra10")), None)
    if i is None:
        raise damaged(path, "has no triangle or tetrahedron cells")
    block = m.cells[i]
    cells = block.data
    if block.type == "triangle6":
        cells = cells[:, :3]
    elif block.type == "tetra10":
        cells = cells[:, :4]
    data = {k: np.asarray(v[i]) for k, v in m.cell_data.items()}
    disp = np.asarray(m.point_data.get("displacement", np.zeros_like(m.points)))
    if disp.shape[1] < 3:
        disp = np.hstack([disp, np.zeros((len(disp), 3 - disp.shape[1]))])
    return Snapshot(time, np.asarray(m.points, float), np.asarray(cells), block.type.rstrip("0123456789"),
                    disp, data)


@dataclass
class CaseFields:
    """What the maps need of one case: cold/hot snapshots of the last cycle and region labels per cell."""

    name: str
    case: dict
    cold: Snapshot | None = None
    hot: Snapshot | None = None
    cycle_start: Snapshot | None = None
    cycle_end: Snapshot | None = None
    last_cycle: int = 0
    region_names: list = field(default_factory=list)
    region: np.ndarray | None = None          # (nc,) material region id
    joint_cells: np.ndarray | None = None     # bool (nc,): solder + pads + build-up copper of the critical joint
    joint_solder: np.ndarray | None = None    # bool (nc,): solder of the critical joint
    crit_layer: np.ndarray | None = None      # bool (nc,): the critical interface layer


def _snapshot_choice(times: list[float], prof):
    """Indices (cold, hot, start, end) of the snapshots: the end of the cold and hot dwells of the last cycle
    present; start and end of that cycle (None when absent)."""
    t = np.asarray(times)
    tol = 1e-6 * max(1.0, float(t.max()) if t.size else 1.0) + 1e-3
    if prof is not None:
        bounds = np.asarray(prof.cycle_bounds, float).reshape(-1, 2)
        # the last cycle for which we have snapshots inside it
        for k in range(len(bounds) - 1, -1, -1):
            t0, t1 = bounds[k]
            inside = np.nonzero((t > t0 + tol) & (t <= t1 + tol))[0]
            if inside.size:
                break
        else:
            inside, k = np.arange(t.size), -1
        T = np.array([prof.T(x) for x in t[inside]])
        cold = inside[np.nonzero(np.isclose(T, T.min(), atol=1e-6))[0][-1]]
        hot = inside[np.nonzero(np.isclose(T, T.max(), atol=1e-6))[0][-1]]
        start = end = None
        if k >= 0:
            s = np.nonzero(np.abs(t - bounds[k][0]) <= tol)[0]
            e = np.nonzero(np.abs(t - bounds[k][1]) <= tol)[0]
            start = int(s[-1]) if s.size else None
            end = int(e[-1]) if e.size else None
        return int(cold), int(hot), start, end, k + 1
    return None, None, None, None, 0


def load_case_fields(outdir, case: dict, prof) -> CaseFields | None:
    """The snapshots the maps of one case need, or None (with a warning) when the case has no field snapshots.
    A damaged file (fields.pvd, a VTU used) is an InputError naming it."""
    d = case_dir(outdir, case["name"])
    pvd = d / "fields.pvd"
    if not pvd.is_file():
        warn(f"{pvd if d.is_dir() else d} is missing: no field maps of case '{case['name']}'")
        return None
    series = read_pvd(pvd)
    missing = [p for _, p in series if not p.is_file()]
    if missing:
        warn(f"{len(missing)} of the {len(series)} snapshots of {pvd} are missing (first: {missing[0]}); "
             "the maps use the others")
    series = [(t, p) for t, p in series if p.is_file()]
    if not series:
        return None
    times = [t for t, _ in series]
    if prof is None:        # no profile: temperature from the snapshots themselves, last cycle unknown
        snaps = [read_snapshot(p, t) for t, p in series]
        T = np.array([float(np.median(s.data["temperature"])) if "temperature" in s.data else 0.0 for s in snaps])
        cold = int(np.nonzero(T == T.min())[0][-1])
        hot = int(np.nonzero(T == T.max())[0][-1])
        cf = CaseFields(case["name"], case, snaps[cold], snaps[hot])
    else:
        cold, hot, start, end, last = _snapshot_choice(times, prof)
        cache = {}

        def snap(i):
            if i is None:
                return None
            if i not in cache:
                cache[i] = read_snapshot(series[i][1], series[i][0])
            return cache[i]

        cf = CaseFields(case["name"], case, snap(cold), snap(hot), snap(start), snap(end), last)
    _label_regions(outdir, cf)
    return cf


def _label_regions(outdir, cf: CaseFields):
    s = cf.cold or cf.hot
    nc = len(s.cells)
    names = list(cf.case.get("max_stress_MPa") or {})
    region = s.data.get("region")
    cf.region_names = names
    cf.region = np.asarray(region, int) if region is not None else np.zeros(nc, int)
    k, layer = _critical_layer(cf.case)
    leaves = None
    msh = sorted((case_dir(outdir, cf.name) / "mesh").glob("*.msh"))
    if msh:
        leaves = _mesh_leaves(msh[0], nc)
    cent = s.points[s.cells].mean(axis=1)
    if leaves is not None:
        # the VTU region ids in the order of the case's regions: verify on the leaves, remap if they disagree
        ids = np.full(nc, -1)
        for i, n in enumerate(names):
            for leaf, idx in leaves.items():
                if leaf == n or leaf.startswith(n + "/"):
                    ids[idx] = i
        if (ids >= 0).all():
            cf.region = ids
        pick = lambda prefix: np.isin(np.arange(nc), np.concatenate(  # noqa: E731
            [v for lf, v in leaves.items() if lf == prefix or lf.startswith(prefix + "/")] or [np.zeros(0, int)]))
        cf.joint_solder = pick(f"solder/joint{k}")
        joint = cf.joint_solder.copy()
        for reg in ("board_pad", "cu_wiring", "ubm", "pi2/ring"):
            joint |= pick(f"{reg}/joint{k}")
        cf.joint_cells = joint
        cf.crit_layer = pick(layer_key(k, layer))
    else:
        solder = cf.region == names.index("solder") if "solder" in names else np.zeros(nc, bool)
        pos = (cf.case.get("mesh") or {}).get("joint_positions")
        if pos and s.cell_type == "triangle":
            near = np.argmin(np.abs(cent[:, :1] - np.asarray(pos)[None, :]), axis=1)
            cf.joint_solder = solder & (near == k)
        else:
            cf.joint_solder = solder
        cf.joint_cells = cf.joint_solder.copy()
        if cf.joint_solder.any():                   # the pads: pad/copper cells over the ball's footprint
            xs = s.points[s.cells[cf.joint_solder]][..., 0]
            pads = np.isin(cf.region, [i for i, n in enumerate(names) if n in ("board_pad", "cu_wiring", "ubm")])
            cf.joint_cells |= pads & (cent[:, 0] > xs.min()) & (cent[:, 0] < xs.max())
        cf.crit_layer = None
    if not cf.joint_solder.any():
        cf.joint_solder = np.ones(nc, bool)
        cf.joint_cells = cf.joint_solder


def _mesh_leaves(msh: Path, ncells: int) -> dict | None:
    """Named leaves (joint-level regions) of a case's .msh when its elements are the VTU cells, else None (the
    maps then locate the joint by the nearest joint axis). An unparsable file is an InputError naming it."""
    try:
        # the gmsh reader prints an empty line; meshio prints its error and raises SystemExit on an unparsable file
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            fem = load_mesh(msh)
    except SystemExit:
        raise damaged(msh, "is not a readable mesh file") from None
    except Exception as exc:                            # readable but not a mesh with named regions
        warn(f"{msh}: no named regions ({type(exc).__name__}: {exc}); joints located by the nearest axis")
        return None
    return fem.leaves if fem.nelements == ncells else None


# ----------------------------------------------------------------------------------------------------------------
# map geometry: zoom window, magnification, projection (2D as is; 3D slab through the joint axis)
# ----------------------------------------------------------------------------------------------------------------
def _is3d(s: Snapshot) -> bool:
    return s.cell_type == "tetra"


def _plane_axes(s: Snapshot):
    """Indices of the horizontal and vertical coordinates of the picture."""
    return (0, 2) if _is3d(s) else (0, 1)


def _window(cf: CaseFields) -> np.ndarray:
    """[x0, x1, y0, y1] around the critical joint: its ball and pads, from below the board pad to the die."""
    s = cf.cold or cf.hot
    a, b = _plane_axes(s)
    P = s.points[s.cells[cf.joint_cells]].reshape(-1, 3)
    x0, x1, y0, y1 = P[:, a].min(), P[:, a].max(), P[:, b].min(), P[:, b].max()
    # extend up to the die (the whole build-up) when the regions are known
    up = [i for i, n in enumerate(cf.region_names) if n in BUILDUP + ("die",)]
    if up:
        cent = s.points[s.cells].mean(axis=1)
        near = (cent[:, a] > x0) & (cent[:, a] < x1) & np.isin(cf.region, up)
        if "die" in cf.region_names:
            die = cf.region == cf.region_names.index("die")
            if (near & die).any():
                y1 = max(y1, s.points[s.cells[near & die]][..., b].min())
        elif near.any():
            y1 = max(y1, s.points[s.cells[near]][..., b].max())
    w, h = x1 - x0, y1 - y0
    return np.array([x0 - 0.15 * w, x1 + 0.15 * w, y0 - 0.12 * h, y1 + 0.12 * h])


def _nice(x: float) -> float:
    """Largest of 1, 2, 5 x 10^k not above x (>= 1)."""
    if not np.isfinite(x) or x <= 1:
        return 1.0
    e = 10 ** math.floor(math.log10(x))
    for m in (5, 2, 1):
        if m * e <= x:
            return float(m * e)
    return float(e)


def _rel_disp(cf: CaseFields, s: Snapshot) -> np.ndarray:
    """Displacement relative to the mean displacement of the critical joint's solder (its rigid translation)."""
    nodes = np.unique(s.cells[cf.joint_solder])
    return s.disp - s.disp[nodes].mean(axis=0)


def _magnification(fields: list[CaseFields], win: np.ndarray) -> float:
    """One magnification for all maps: the largest relative displacement in the window drawn as ~6 % of it."""
    size = max(win[1] - win[0], win[3] - win[2])
    umax = 0.0
    for cf in fields:
        for s in (cf.cold, cf.hot):
            if s is None:
                continue
            a, b = _plane_axes(s)
            P = s.points
            inwin = (P[:, a] >= win[0]) & (P[:, a] <= win[1]) & (P[:, b] >= win[2]) & (P[:, b] <= win[3])
            u = _rel_disp(cf, s)[inwin][:, [a, b]]
            if u.size:
                umax = max(umax, float(np.abs(u).max()))
    return _nice(0.06 * size / umax) if umax > 0 else 1.0


class _Drawn:
    """The cells of one snapshot inside the window, in picture coordinates."""

    def __init__(self, cf: CaseFields, s: Snapshot, win: np.ndarray, mag: float):
        a, b = _plane_axes(s)
        self.is3d = _is3d(s)
        P = s.points + mag * _rel_disp(cf, s)
        cent0 = s.points[s.cells].mean(axis=1)
        pad = 0.1 * (win[1] - win[0])
        sel = ((cent0[:, a] > win[0] - pad) & (cent0[:, a] < win[1] + pad)
               & (cent0[:, b] > win[2] - pad) & (cent0[:, b] < win[3] + pad))
        if self.is3d:
            # a slab through the joint axis: |y - y_axis| < 1.5 x the mean cell size of the joint's solder
            jc = s.points[s.cells[cf.joint_solder]]
            y_axis = float(jc[..., 1].mean())
            ext = np.ptp(jc[..., 1], axis=1).mean() if len(jc) else 0.01
            sel &= np.abs(cent0[:, 1] - y_axis) < 1.5 * ext
            self.y_axis = y_axis
        self.sel = np.nonzero(sel)[0]
        self.cells = s.cells[self.sel]
        self.xy = P[:, [a, b]]
        self.region = cf.region[self.sel]
        self.crit = cf.crit_layer[self.sel] if cf.crit_layer is not None else None
        if self.is3d:
            order = np.argsort(-np.abs(cent0[self.sel, 1] - self.y_axis))   # nearest to the plane drawn last
            self.sel, self.cells, self.region = self.sel[order], self.cells[order], self.region[order]
            if self.crit is not None:
                self.crit = self.crit[order]
        else:
            self.tri = Triangulation(self.xy[:, 0], self.xy[:, 1], self.cells)

    def draw(self, ax, values, cmap, norm, mask=None):
        """Cell values; cells where mask is False drawn light grey."""
        v = np.asarray(values)[self.sel]
        show = np.ones(len(self.sel), bool) if mask is None else np.asarray(mask)[self.sel]
        if self.is3d:
            polys = []
            for c in self.cells:
                for f in ((0, 1, 2), (0, 1, 3), (0, 2, 3), (1, 2, 3)):
                    polys.append(self.xy[c[list(f)]])
            vv = np.repeat(v, 4)
            sh = np.repeat(show, 4)
            grey = PolyCollection([p for p, k in zip(polys, sh) if not k], facecolors="0.85", edgecolors="none")
            col = PolyCollection([p for p, k in zip(polys, sh) if k], cmap=cmap, norm=norm, edgecolors="none")
            col.set_array(vv[sh])
            ax.add_collection(grey)
            ax.add_collection(col)
            return col
        if (~show).any():
            t2 = Triangulation(self.xy[:, 0], self.xy[:, 1], self.cells, mask=show)
            ax.tripcolor(t2, facecolors=np.zeros(len(self.cells)), cmap=mcolors.ListedColormap(["0.85"]),
                         antialiased=False)
        t1 = Triangulation(self.xy[:, 0], self.xy[:, 1], self.cells, mask=~show)
        # no antialiasing: a mesh of thousands of cells fills faster and shows no seams between cells
        return ax.tripcolor(t1, facecolors=np.where(show, v, 0.0), cmap=cmap, norm=norm, antialiased=False)

    def outlines(self, ax):
        """Material boundaries (black) and the critical averaging layer (dashed) -- 2D only."""
        if self.is3d:
            return
        e = np.concatenate([self.cells[:, [0, 1]], self.cells[:, [1, 2]], self.cells[:, [2, 0]]])
        owner = np.tile(np.arange(len(self.cells)), 3)
        e = np.sort(e, axis=1)
        key = e[:, 0].astype(np.int64) * (int(e.max()) + 1) + e[:, 1]
        order = np.argsort(key, kind="stable")
        key, e, owner = key[order], e[order], owner[order]
        same = np.nonzero(key[1:] == key[:-1])[0]
        i, j = owner[same], owner[same + 1]
        diff = self.region[i] != self.region[j]
        segs = self.xy[e[same[diff]]]
        ax.add_collection(LineCollection(segs, colors="k", linewidths=0.5, alpha=0.8))
        if self.crit is not None and self.crit.any():
            cd = self.crit[i] != self.crit[j]
            segs = self.xy[e[same[cd]]]
            ax.add_collection(LineCollection(segs, colors="w", linewidths=0.9, linestyles=(0, (3, 2))))


# ----------------------------------------------------------------------------------------------------------------
# figures
# ----------------------------------------------------------------------------------------------------------------
def _fig(w, h):
    fig = Figure(figsize=(w, h), dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


def _save(fig, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tight = fig.get_layout_engine() is None          # constrained-layout figures are already tight
    fig.savefig(path, dpi=DPI, bbox_inches="tight" if tight else None)
    return path


def _ok_cases(summary):
    return [c for c in summary.get("cases", []) if c.get("status") == "ok"]


def _colors(summary):
    return {c["name"]: DESIGN_COLORS[i % len(DESIGN_COLORS)] for i, c in enumerate(summary.get("cases", []))}


def _solder_mask(cf):
    if "solder" in cf.region_names:
        return cf.region == cf.region_names.index("solder")
    return np.ones(len(cf.region), bool)


def _norm(allv, scale):
    """Colour normalisation of a scale group and the colorbar extension."""
    allv = allv[np.isfinite(allv)]
    if allv.size == 0:
        allv = np.zeros(1)
    lo, hi = np.percentile(allv, [0.5, 99.5])
    if scale in ("diverging", "symlog"):
        lim = max(abs(lo), abs(hi), 1e-12)
        if scale == "symlog" and lim > 20:
            norm = mcolors.SymLogNorm(linthresh=max(lim / 15, 1.0), linscale=0.5, vmin=-lim, vmax=lim, base=10)
        else:
            norm = mcolors.TwoSlopeNorm(0.0, -lim, lim)
        ext = ("min" if allv.min() < -lim else "") + ("max" if allv.max() > lim else "")
        return norm, "RdBu_r", {"minmax": "both", "": "neither"}.get(ext, ext)
    hi = hi if hi > 0 else 1e-12
    if scale == "log":
        lo = max(float(np.percentile(allv, 2)), hi / 300.0)
        norm = mcolors.LogNorm(lo, hi)
        ext = ("min" if allv.min() < lo else "") + ("max" if allv.max() > hi else "")
        return norm, "turbo", {"minmax": "both", "": "neither"}.get(ext, ext)
    lo = 0.0 if allv.min() >= 0 else lo
    hi = hi if hi > lo else lo + 1e-12
    return mcolors.Normalize(lo, hi), ("viridis" if scale == "solder" else "turbo"), \
        ("max" if allv.max() > hi else "neither")


def _log_ticks(cb, norm):
    """Plain-number ticks 1-2-5 on a log / symmetric-log colorbar."""
    lo, hi = norm.vmin, norm.vmax
    base = [m * 10.0 ** e for e in range(-3, 5) for m in (1, 2, 5)]
    if isinstance(norm, mcolors.LogNorm):
        ticks = [t for t in base if lo <= t <= hi]
    else:
        lt = norm.linthresh
        pos = [t for t in base if lt <= t <= hi]
        ticks = sorted([-t for t in pos] + [0.0] + pos)
        if len(pos) > 5:                                # keep it readable
            ticks = sorted([-t for t in pos[::2]] + [0.0] + pos[::2])
    cb.set_ticks(ticks)
    cb.ax.yaxis.set_minor_locator(NullLocator())
    cb.ax.xaxis.set_minor_locator(NullLocator())
    cb.ax.yaxis.set_minor_formatter(NullFormatter())
    cb.ax.xaxis.set_minor_formatter(NullFormatter())
    cb.formatter = FuncFormatter(lambda v, _: f"{v:g}")
    cb.update_ticks()


def _maps_figure(fields, snaps, labels, *, values, title, unit, win, mag, path, scale="linear", solder_only=False,
                 transpose=False, what="critical joint {k} and its pads", note="", short_labels=None):
    """Maps of `values(cf, snapshot)`: one panel per design and snapshot, ONE colour scale per snapshot (e.g. the
    cold and the hot extreme) shared by all designs. Columns = designs (rows = snapshots); transpose: rows =
    designs, columns = snapshots (for wide, flat windows)."""
    nd, ns = len(fields), len(snaps)
    s0 = fields[0].cold or fields[0].hot
    is3d = _is3d(s0)
    kind = fields[0].case.get("kind")
    aspect = (win[3] - win[2]) / (win[1] - win[0])
    nr, nc = (nd, ns) if transpose else (ns, nd)
    pw = 5.6 if transpose else 3.4
    fig = _fig(pw * nc + 1.2, pw * aspect * nr + 0.55 * nr + 1.3)
    fig.set_layout_engine("constrained")
    axes = fig.subplots(nr, nc, squeeze=False)
    for si, (snap, label) in enumerate(zip(snaps, labels)):
        group = []
        for cf in fields:
            s = snap(cf)
            if s is None:
                group.append(None)
                continue
            d = _Drawn(cf, s, win, mag)
            v = np.asarray(values(cf, s), float)
            m = _solder_mask(cf) if solder_only else np.ones(len(v), bool)
            group.append((d, v, m, s))
        vis = [g[1][g[0].sel][g[2][g[0].sel]] for g in group if g is not None]
        norm, cmap, extend = _norm(np.concatenate(vis) if vis else np.zeros(1), scale)
        mappable, panel_axes = None, []
        for di, (cf, g) in enumerate(zip(fields, group)):
            ax = axes[di, si] if transpose else axes[si, di]
            panel_axes.append(ax)
            if g is None:
                ax.text(0.5, 0.5, "no snapshot", ha="center", va="center", transform=ax.transAxes)
                ax.set_axis_off()
                continue
            mappable = _map_panel(ax, cf, g, cmap, norm, win, scale, unit,
                                  f"{cf.name}, {label}" if transpose else cf.name, solder_only, transpose) \
                or mappable
            xl, yl = _map_axes(kind, is3d)
            if transpose:
                if si == 0:
                    ax.set_ylabel(yl, fontsize=8)
                if di == nd - 1:
                    ax.set_xlabel(xl, fontsize=8)
            else:
                if di == 0:
                    ax.set_ylabel(f"{label}\n{yl}", fontsize=8.5)
                if si == ns - 1:
                    ax.set_xlabel(xl, fontsize=8)
        if mappable is not None:
            _map_colorbar(fig, mappable, panel_axes, norm, extend, scale, transpose,
                          f"{title}, {short_labels[si] if short_labels else label.split(':')[0]}", unit)
    k = fields[0].case.get("critical_joint")
    where = ("slab |y − y_axis| < 1.5 cell sizes through the joint axis, projected on x–z" if is3d else
             "axisymmetric model, r–z section" if kind == "axisym" else "2D slice along the package diagonal")
    fig.suptitle(f"{title} — {what.format(k=k)} ({where})\n"
                 f"deformed shape, displacement × {mag:g} (relative to the joint's mean translation, from the "
                 f"stress-free state){note}", fontsize=9.5)
    return _save(fig, path)


def _map_axes(kind: str | None, is3d: bool) -> tuple[str, str]:
    """(x label, y label) of the map panels for the model kind."""
    if is3d:
        return "x (mm, joint cell, axis at 0)", "z (mm)"
    if kind == "axisym":
        return "r (mm, from the joint axis)", "z (mm)"
    return "x (mm, from the neutral point)", "y (mm)"


def _map_panel(ax, cf: CaseFields, g, cmap, norm, win, scale: str, unit: str, name: str, solder_only: bool,
               transpose: bool):
    """One map panel: the cells in the window, material outlines, the extremes in the title; the mappable."""
    d, v, m, s = g
    mappable = d.draw(ax, v, cmap, norm, mask=None if not solder_only else m)
    d.outlines(ax)
    ax.set_xlim(win[0], win[1])
    ax.set_ylim(win[2], win[3])
    ax.set_aspect("equal")
    vv = v[d.sel][m[d.sel]]
    ext = (f"min {np.nanmin(vv):.3g}, max {np.nanmax(vv):.3g}" if scale in ("diverging", "symlog")
           else f"max {np.nanmax(vv):.3g}")
    ext += f" {unit}" if unit and unit != "-" else ""
    ax.set_title(f"{name}: {ext}" if transpose else f"{name}  ({ext})", fontsize=8.5)
    ax.tick_params(labelsize=7)
    return mappable


def _map_colorbar(fig, mappable, panel_axes, norm, extend: str, scale: str, transpose: bool, what: str, unit: str):
    """The colour bar shared by the panels of one snapshot row (or column)."""
    cb = fig.colorbar(mappable, ax=panel_axes, shrink=0.95, extend=extend,
                      location="bottom" if transpose else "right", aspect=30 if transpose else 20)
    sc = {"log": ", log scale", "symlog": ", symmetric log scale"}.get(scale, "")
    cb.set_label(f"{what} ({unit}{sc})" if unit else f"{what}{sc}", fontsize=8)
    if scale in ("log", "symlog"):
        _log_ticks(cb, norm)
    cb.ax.tick_params(labelsize=7)


def _pad_window(cf: CaseFields, win: np.ndarray) -> np.ndarray | None:
    """[x0, x1, y0, y1] of the die-side pad stack of the critical joint (build-up copper, PI, top of the ball)."""
    s = cf.cold or cf.hot
    if _is3d(s) or "die" not in cf.region_names:
        return None
    cu = [i for i, n in enumerate(cf.region_names) if n in ("cu_wiring", "ubm")]
    stack = cf.joint_cells & np.isin(cf.region, cu)
    if not stack.any():
        return None
    P = s.points[s.cells[stack]]
    x0, x1, yb = P[..., 0].min(), P[..., 0].max(), P[..., 1].min()
    cent = s.points[s.cells].mean(axis=1)
    die = (cf.region == cf.region_names.index("die")) & (cent[:, 0] > x0) & (cent[:, 0] < x1)
    if not die.any():
        return None
    yt = s.points[s.cells[die]][..., 1].min()
    h = yt - yb
    w = x1 - x0
    return np.array([x0 - 0.04 * w, x1 + 0.04 * w, yb - 0.8 * h, yt + 0.25 * h])


def plot_maps(summary, fields: list[CaseFields], plots: Path, only=None) -> list[Path]:
    """The map figures (MAP_FIGURES); `only`: the names to draw (default all)."""
    want = lambda name: only is None or name in only
    fields = [f for f in fields if f is not None and (f.cold is not None or f.hot is not None)]
    if not fields:
        return []
    wins = np.array([_window(cf) for cf in fields])
    win = np.array([wins[:, 0].min(), wins[:, 1].max(), wins[:, 2].min(), wins[:, 3].max()])
    mag = _magnification(fields, win)
    last = max(cf.last_cycle for cf in fields)

    def temp(cf, which):
        s = getattr(cf, which)
        return float(np.median(s.data["temperature"])) if s is not None and "temperature" in s.data else None

    Tc, Th = temp(fields[0], "cold"), temp(fields[0], "hot")
    cyc = f", cycle {last}" if last else ""
    labels = [f"cold: end of cold dwell{cyc}" + (f", {Tc:.0f} °C" if Tc is not None else ""),
              f"hot: end of hot dwell{cyc}" + (f", {Th:.0f} °C" if Th is not None else "")]
    snaps = [lambda cf: cf.cold, lambda cf: cf.hot]
    short = ["cold", "hot"]
    out = []
    lines = "\nblack lines: material boundaries; white dashes: the critical averaging layer"
    clip = "\ncolour scale clipped at the 0.5/99.5 % percentiles of the visible cells; true extremes in the panel titles"
    q = {"von_mises": ("von Mises stress", "log"), "max_principal": ("Max principal stress", "symlog")}
    for key, (title, sc) in q.items():
        if not want(f"stress_{key}"):
            continue
        out.append(_maps_figure(fields, snaps, labels, values=lambda cf, s, key=key: s.data[key], title=title,
                                unit="MPa", win=win, mag=mag, path=plots / f"stress_{key}.png", scale=sc,
                                note=lines + clip))
    pwins = [_pad_window(cf, win) for cf in fields]
    if all(p is not None for p in pwins):
        pw = np.array(pwins)
        pwin = np.array([pw[:, 0].min(), pw[:, 1].max(), pw[:, 2].min(), pw[:, 3].max()])
        for key, (title, sc) in q.items():
            if not want(f"stress_pad_{key}"):
                continue
            out.append(_maps_figure(fields, snaps, short, values=lambda cf, s, key=key: s.data[key], title=title,
                                    unit="MPa", win=pwin, mag=mag, path=plots / f"stress_pad_{key}.png",
                                    scale="diverging" if sc == "symlog" else "linear", transpose=True,
                                    what="die-side pad stack of critical joint {k}",
                                    note=lines + clip + f"\ncold = {labels[0][6:]}, hot = {labels[1][5:]}"))
    if want("inelastic_strain") and all("eps_in_eq" in (cf.cold or cf.hot).data for cf in fields):
        out.append(_maps_figure(fields, snaps, labels, values=lambda cf, s: s.data["eps_in_eq"],
                                title="Accumulated equiv. inelastic strain", unit="-", win=win, mag=mag,
                                path=plots / "inelastic_strain.png", scale="solder", solder_only=True,
                                what="solder of critical joint {k}",
                                note=lines + "; other materials grey; accumulated since the stress-free state"))
    have = [cf for cf in fields if cf.cycle_start is not None and cf.cycle_end is not None
            and "w_in" in cf.cycle_end.data]
    if want("dW_last_cycle_map") and have and len(have) == len(fields):
        out.append(_maps_figure(fields, [lambda cf: cf.cycle_end], [f"cycle {last}"],
                                values=lambda cf, s: cf.cycle_end.data["w_in"] - cf.cycle_start.data["w_in"],
                                title="Inelastic work density dissipated in the last cycle", unit="MPa", win=win,
                                mag=mag, path=plots / "dW_last_cycle_map.png", scale="solder", solder_only=True,
                                what="solder of critical joint {k}",
                                note=lines + "; other materials grey; shape at the end of the cycle"))
    return out


def plot_hysteresis(summary, layers: dict, plots: Path) -> Path | None:
    """Shear stress vs shear strain of the critical layer; layers: case name -> its layers.csv columns (or None)."""
    fig = _fig(7.5, 5.2)
    ax = fig.subplots()
    col = _colors(summary)
    drawn = False
    labels = set()
    for c in _ok_cases(summary):
        L = layers.get(c["name"])
        if not L:
            continue
        k, layer = _critical_layer(c)
        key = layer_key(k, layer)
        if key + ".tau" not in L:
            continue
        cyc, tau, gam = L["cycle"].astype(int), L[key + ".tau"], L[key + ".gamma"]
        last = int(cyc.max())
        labels.add(f"joint {k} {layer.replace('_', ' ')}")
        for n in range(0, last + 1):
            sel = np.nonzero(cyc == n)[0]
            if sel.size == 0:
                continue
            if sel[0] > 0:                      # connect to the previous row (cycle n starts where n-1 ended)
                sel = np.concatenate([[sel[0] - 1], sel])
            if n == last:
                ax.plot(gam[sel] * 100, tau[sel], "-", color=col[c["name"]], lw=2.0,
                        label=f"{c['name']} (joint {k}, {layer.replace('_', ' ')}), cycle {n}")
                ax.plot(gam[sel[0]] * 100, tau[sel[0]], "o", color=col[c["name"]], ms=5)
            else:
                lab = None
                if n == 0:
                    lab = f"{c['name']}: cooling from the stress-free state"
                elif n == 1:
                    lab = f"{c['name']}: earlier cycles"
                ax.plot(gam[sel] * 100, tau[sel], "-" if n else ":", color=col[c["name"]], lw=0.9,
                        alpha=0.35 if n else 0.5, label=lab)
        drawn = True
    if not drawn:
        return None
    ax.axhline(0, color="0.6", lw=0.6)
    ax.set_xlabel("volume-averaged engineering shear strain γ (%)")
    ax.set_ylabel("volume-averaged shear stress τ (MPa)")
    ax.set_title("Hysteresis of the critical interface layer of the critical joint\n"
                 "(shear in the joint's shear plane; bold = last cycle, dot = its start; faint = earlier cycles;\n"
                 "the loop closes only once the response has stabilised)", fontsize=9.5)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7.5, loc="best")
    return _save(fig, plots / "hysteresis.png")


def plot_dW_bars(summary, plots: Path) -> Path | None:
    cases = summary.get("cases", [])
    if not cases:
        return None
    col = _colors(summary)
    primary = summary.get("primary_life_model", "")
    base = summary.get("baseline", "")
    fig = _fig(max(6.5, 1.9 * len(cases) + 3), 4.6)
    ax1, ax2 = fig.subplots(1, 2)
    names = [c["name"] for c in cases]
    x = np.arange(len(cases))
    for ax, key, sub, lab in ((ax1, "dW_per_cycle_MPa", "dW_MPa", "ΔW per cycle (MPa = mJ/mm³)"),
                              (ax2, "deps_in_per_cycle", "deps_in", "Δε_in per cycle (-)")):
        vals = [c.get(key) if c.get("status") == "ok" else None for c in cases]
        top = max([v for v in vals if v] or [1.0])
        for i, (c, v) in enumerate(zip(cases, vals)):
            if v is None:
                ax.bar(i, 0.15 * top, color="none", edgecolor="0.5", hatch="//")
                ax.text(i, 0.17 * top, c.get("status", "failed"), ha="center", va="bottom", fontsize=8, color="0.3")
                continue
            ax.bar(i, v, color=col[c["name"]], alpha=0.85)
            pcs = [p.get(sub) for p in (c.get("per_cycle") or [])]
            if len(pcs) > 1:                      # earlier cycles as ticks: is the last cycle stabilised?
                for j, pv in enumerate(pcs[:-1]):
                    if pv is not None:
                        ax.plot([i - 0.3, i + 0.3], [pv, pv], color="k", lw=0.8, alpha=0.35 + 0.5 * j / len(pcs))
            txt = f"{v:.3g}"
            if ax is ax1:
                r = c.get("life_ratio_vs_baseline")
                if c["name"] == c.get("baseline_case", base):
                    txt += "\nbaseline"
                elif r is not None:
                    txt += f"\nlife × {r:.2f}"
            ax.text(i, v, txt, ha="center", va="bottom", fontsize=8)
        ax.set_xticks(x, names, rotation=20 if max(len(n) for n in names) > 10 else 0, fontsize=8)
        ax.set_ylabel(lab)
        ax.set_ylim(0, top * 1.25)
        ax.grid(axis="y", alpha=0.3)
    rule = summary.get("averaging") or "conformal"
    ax1.set_title(f"ΔW, critical joint, {rule} averaging (last cycle)\nlife ratio vs {base} ({primary})",
                  fontsize=9)
    ax2.set_title(f"Δε_in, critical joint, {rule} averaging (last cycle)", fontsize=9)
    if any(len(c.get("per_cycle") or []) > 1 for c in cases):
        fig.text(0.5, -0.02, "thin black lines: earlier cycles (stabilisation check)", ha="center", fontsize=8)
    fig.tight_layout()
    return _save(fig, plots / "dW_per_cycle.png")


def plot_dW_vs_dnp(summary, plots: Path) -> Path | None:
    if summary.get("model") in ("axisym", "joint3d"):       # one joint: no DNP axis to plot against
        return None
    col = _colors(summary)
    fig = _fig(7, 4.6)
    ax = fig.subplots()
    drawn = False
    for c in _ok_cases(summary):
        pos = (c.get("mesh") or {}).get("joint_positions")
        joints = c.get("joints") or []
        if not pos or not joints or len(pos) < len(joints):
            continue
        for layer, ls, mk in (("die_layer", "-", "o"), ("board_layer", "--", "s")):
            xs, ys = [], []
            for j in joints:
                v = (j.get(layer) or {}).get("dW_MPa")
                if v is not None:
                    xs.append(pos[int(j["joint"])])
                    ys.append(v)
            if xs:
                ax.plot(xs, ys, ls, marker=mk, color=col[c["name"]], ms=5,
                        label=f"{c['name']}, {layer.replace('_', ' ')}")
                drawn = True
        k = c.get("critical_joint")
        if k is not None and c.get("dW_per_cycle_MPa") is not None and k < len(pos):
            ax.plot(pos[k], c["dW_per_cycle_MPa"], "*", color=col[c["name"]], ms=14, mec="k", mew=0.6)
    if not drawn:
        return None
    ax.set_xlabel("distance of the joint axis from the neutral point, DNP (mm)")
    ax.set_ylabel("ΔW per cycle (MPa)")
    ax.set_title("ΔW per joint vs DNP (last cycle); ★ = critical joint and layer", fontsize=10)
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7.5, ncol=2)
    return _save(fig, plots / "dW_vs_dnp.png")


def plot_sweep(summary, plots: Path) -> Path | None:
    """ΔW and the life ratio vs the baseline against every swept parameter (one column per sweep key)."""
    cases = [c for c in _ok_cases(summary) if c.get("sweep")]
    keys = list(dict.fromkeys(k for c in cases for k in c["sweep"]))
    num = [k for k in keys if all(isinstance(c["sweep"].get(k), (int, float)) and not isinstance(
        c["sweep"].get(k), bool) for c in cases)]
    if not cases or not num:
        return None
    col = _colors(summary)
    fig = _fig(4.2 * len(num) + 0.8, 6.4)
    axes = fig.subplots(2, len(num), squeeze=False)
    designs = list(dict.fromkeys(c["design"] for c in cases))
    for j, k in enumerate(num):
        for d in designs:
            cs = sorted((c for c in cases if c["design"] == d), key=lambda c: c["sweep"][k])
            x = [c["sweep"][k] for c in cs]
            col_d = col.get(cs[0]["name"], None) if cs else None
            axes[0, j].plot(x, [c.get("dW_per_cycle_MPa") for c in cs], "o-", color=col_d, label=d)
            r = [c.get("life_ratio_vs_baseline") for c in cs]
            if any(v is not None for v in r):
                axes[1, j].plot(x, [np.nan if v is None else v for v in r], "o-", color=col_d, label=d)
        axes[1, j].set_xlabel(k.split(".")[-1].replace("_", " ") + (" (mm)" if k.startswith("design.") else ""))
        axes[0, j].set_ylabel("ΔW per cycle (MPa)")
        axes[1, j].set_ylabel(f"life ratio vs {summary.get('baseline')} ({summary.get('primary_life_model')})")
        axes[1, j].axhline(1.0, color="0.5", lw=0.8, ls=":")
        for ax in axes[:, j]:
            ax.grid(alpha=0.3)
    axes[0, 0].legend(fontsize=8)
    fig.suptitle(f"Sweep: ΔW ({summary.get('averaging') or 'conformal'} averaging, critical joint, last cycle) "
                 "and life ratio against each swept parameter", fontsize=9.5)
    fig.tight_layout()
    return _save(fig, plots / "sweep.png")


def plot_profile(summary, prof, fields, layers: dict, plots: Path) -> Path | None:
    fig = _fig(8, 3.8)
    ax = fig.subplots()
    if prof is not None:
        knots = sorted({s.t0 for s in prof.segments} | {s.t1 for s in prof.segments})
        t = np.asarray(knots)
        ax.plot(t / 60, [prof.T(x) for x in t], "-", color="C3", lw=1.8)
        for i, (t0, t1) in enumerate(np.asarray(prof.cycle_bounds, float).reshape(-1, 2)):
            ax.axvline(t0 / 60, color="0.5", ls="--", lw=0.8)
            ax.axvline(t1 / 60, color="0.5", ls="--", lw=0.8)
            ax.text((t0 + t1) / 120, prof.T_max + 3, f"cycle {i + 1}", ha="center", va="bottom", fontsize=8)
        if prof.segments and prof.segments[0].cycle == 0:
            s0 = [s for s in prof.segments if s.cycle == 0]
            ax.text((s0[0].t0 + s0[-1].t1) / 120, prof.T_max + 3, "from\nstress-free", ha="center", va="bottom",
                    fontsize=7, color="0.4")
        title = summary.get("profile") or getattr(prof, "name", "")
        t_sf = prof.segments[0].T0 if prof.segments else None
        if t_sf is not None:
            ax.annotate(f"stress-free {t_sf:g} °C", (0, t_sf), xytext=(8, -4), textcoords="offset points",
                        fontsize=8, va="top")
    else:
        c = next(iter(_ok_cases(summary)), None)
        L = layers.get(c["name"]) if c is not None else None
        if not L:
            return None
        ax.plot(L["time_s"] / 60, L["temperature_C"], "-", color="C3", lw=1.8)
        title = summary.get("profile") or "temperature history"
    # the snapshots used for the maps
    cf = next((f for f in fields if f is not None), None)
    if cf is not None:
        for s, lab, colr in ((cf.cold, "cold map", "C0"), (cf.hot, "hot map", "C3")):
            if s is not None:
                T = prof.T(s.time) if prof is not None else float(np.median(s.data.get("temperature", [np.nan])))
                ax.plot(s.time / 60, T, "o", color=colr, ms=8, mec="k", label=f"field snapshot used for the {lab}s")
        ax.legend(fontsize=8, loc="lower right")
    ax.set_xlabel("time (min)")
    ax.set_ylabel("temperature (°C)")
    ax.set_title("\n".join(_wrap(title, 95)), fontsize=9)
    ax.grid(alpha=0.3)
    ax.margins(x=0.01, y=0.12)
    return _save(fig, plots / "temperature_profile.png")


def _wrap(text: str, width: int) -> list[str]:
    return textwrap.wrap(text, width) or [""]


# ----------------------------------------------------------------------------------------------------------------
#: the map figures of `plot_maps`, by file name
MAP_FIGURES = ("stress_von_mises", "stress_max_principal", "stress_pad_von_mises", "stress_pad_max_principal",
               "inelastic_strain", "dW_last_cycle_map")
#: two groups of about equal drawing time (the maps dominate: matplotlib text and layout)
PLOT_GROUPS = (("stress_von_mises", "stress_pad_von_mises", "inelastic_strain", "lines"),
               ("stress_max_principal", "stress_pad_max_principal", "dW_last_cycle_map"))


def make_plots(outdir, workers: int | None = None) -> list[Path]:
    """Write every plot of a results folder into outdir/plots/; returns the files written. The folder is read
    once, here: a damaged file is an InputError naming it; a missing piece (a case without field snapshots) or a
    plot that cannot be drawn is skipped with a warning on stderr, the others are still drawn. With two or more
    cores (and fork available) the figures are drawn by two processes, half each: this one and a forked child
    that inherits the loaded data (see benchmarks/README.md for the time saved)."""
    data = _PlotData(Path(outdir))
    ncpu = os.cpu_count() or 1
    workers = min(2, ncpu) if workers is None else workers
    if workers <= 1 or "fork" not in mp.get_all_start_methods():
        return [p for g in PLOT_GROUPS for p in data.draw(g)]
    return _draw_in_two_processes(data, mp.get_context("fork"))


def _draw_in_two_processes(data: _PlotData, ctx) -> list[Path]:
    """The first group in a forked child (it inherits `data` through the fork: nothing is pickled), the others
    here; a child that fails is redrawn here."""
    first, rest = PLOT_GROUPS[0], PLOT_GROUPS[1:]
    try:
        recv, send = ctx.Pipe(duplex=False)
        child = ctx.Process(target=_draw_child, args=(data, first, send), daemon=True)
        child.start()
        send.close()
    except Exception as exc:                          # cannot fork: draw everything here
        print(f"fem-wlp: note: parallel plotting failed ({type(exc).__name__}: {exc}); drawing serially",
              file=sys.stderr)
        return [p for g in PLOT_GROUPS for p in data.draw(g)]
    mine = [p for g in rest for p in data.draw(g)]
    try:
        theirs = [Path(p) for p in recv.recv()]
    except (EOFError, OSError):                       # the child died without an answer
        theirs = None
    child.join()
    if theirs is None:
        print(f"fem-wlp: note: parallel plotting failed (exit code {child.exitcode}); drawing serially",
              file=sys.stderr)
        theirs = data.draw(first)
    return theirs + mine


def _draw_child(data: _PlotData, group, send):
    """Body of the forked child: draw one group, send back the paths written."""
    send.send([str(p) for p in data.draw(group)])
    send.close()


class _PlotData:
    """What the figures read from a results folder (summary, profile, layer histories, field snapshots), loaded
    and checked once."""

    def __init__(self, outdir: Path):
        self.outdir = outdir
        self.summary = read_summary(outdir)
        self.prof = load_profile(outdir)
        self.plots = outdir / "plots"
        self.plots.mkdir(parents=True, exist_ok=True)
        ok = _ok_cases(self.summary)
        self.layers = {c["name"]: self._layers(c) for c in ok}
        self.fields = [self._attempt([], f"fields of {c['name']}", load_case_fields, outdir, c, self.prof,
                                     keep=False) for c in ok]

    def _layers(self, case) -> dict | None:
        d = case_dir(self.outdir, case["name"])
        f = d / "layers.csv"
        if not f.is_file():
            warn(f"{f if d.is_dir() else d} is missing: case '{case['name']}' has no hysteresis")
            return None
        return read_layers(f)

    @staticmethod
    def _attempt(written, what, fn, *args, keep=True):
        try:
            r = fn(*args)
        except InputError:                            # a damaged file: one message naming it, nothing drawn
            raise
        except Exception as exc:                      # one broken plot must not cost the others
            warn(f"plot {what} failed: {type(exc).__name__}: {exc}")
            return None
        if not keep:
            return r
        if isinstance(r, (list, tuple)):
            written.extend(p for p in r if p)
        elif r:
            written.append(r)
        return r

    def draw(self, group) -> list[Path]:
        """The figures of one group: names of MAP_FIGURES, and "lines" (hysteresis, ΔW bars, ΔW vs DNP,
        temperature profile)."""
        written: list[Path] = []
        s, plots = self.summary, self.plots
        maps = [g for g in group if g in MAP_FIGURES]
        if maps:
            self._attempt(written, "stress maps", plot_maps, s, [f for f in self.fields if f is not None], plots,
                          set(maps))
        if "lines" in group:
            self._attempt(written, "hysteresis", plot_hysteresis, s, self.layers, plots)
            self._attempt(written, "ΔW bars", plot_dW_bars, s, plots)
            self._attempt(written, "ΔW vs DNP", plot_dW_vs_dnp, s, plots)
            self._attempt(written, "sweep", plot_sweep, s, plots)
            self._attempt(written, "temperature profile", plot_profile, s, self.prof, self.fields, self.layers,
                          plots)
            self._attempt(written, "package3d", plot_package3d, self.outdir, s, plots)
        return written
