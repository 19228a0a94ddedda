"""The results folder: summary.json, provenance.json, history.csv, fields (VTU + a ParaView .pvd series).

Files are written atomically (temporary file + rename), so an interrupted or failed run never corrupts what was
already written, and nothing else in the folder is touched.
"""
from __future__ import annotations

import csv
import datetime as _dt
import json
import os
import platform
import subprocess
import sys
import weakref
from pathlib import Path

import numpy as np
import skfem

from fem_wlp import __version__
from fem_wlp.errors import InputError


def _default(o):
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serializable: {type(o)}")


def write_json(path, data):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, default=_default) + "\n")
    os.replace(tmp, path)


def write_text(path, text: str):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


# ----------------------------------------------------------------------------------------------------------------
# reading a results folder back (fem-wlp plot): a damaged file is one InputError naming it
# ----------------------------------------------------------------------------------------------------------------
def damaged(path, what: str) -> InputError:
    """The error of a damaged file of a results folder: names the file and what is wrong with it."""
    return InputError(str(path), None, message=f"{path} {what}: the results folder is damaged (restore the "
                                               "file or rerun the study)")


def read_json(path):
    """A JSON file of a results folder; InputError naming the file when it cannot be read or parsed."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise damaged(path, f"cannot be read ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise damaged(path, "is not UTF-8 text") from None
    except ValueError as exc:
        raise damaged(path, f"is not valid JSON ({exc})") from None


def read_summary(outdir) -> dict:
    """summary.json of a results folder, checked for the shape every reader relies on (a table; `cases`, when
    present, a list of tables with a name)."""
    f = Path(outdir) / "summary.json"
    s = read_json(f)
    if not isinstance(s, dict):
        raise damaged(f, f"holds a {type(s).__name__}, not the summary table")
    cases = s.get("cases", [])
    if not isinstance(cases, list):
        raise damaged(f, f"has cases = {cases!r:.60}, not a list of cases")
    for i, c in enumerate(cases):
        if not isinstance(c, dict) or not isinstance(c.get("name"), str) or not c["name"]:
            raise damaged(f, f"has a case without a name (cases[{i}] = {c!r:.60})")
    return s


def git_commit() -> str | None:
    here = Path(__file__).resolve().parent.parent
    try:
        out = subprocess.run(["git", "-C", str(here), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5)
        if out.returncode != 0:
            return None
        dirty = subprocess.run(["git", "-C", str(here), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return out.stdout.strip() + ("-dirty" if dirty else "")
    except Exception:
        return None


def versions() -> dict:
    out = {"fem_wlp": __version__, "python": sys.version.split()[0]}
    for mod in ("numpy", "scipy", "skfem", "meshio", "gmsh", "pyamg", "pypardiso", "matplotlib"):
        try:
            m = __import__(mod)
            out[mod] = getattr(m, "__version__", getattr(m, "GMSH_API_VERSION", "?"))
        except Exception:
            out[mod] = None
    return out


def provenance(start: _dt.datetime, end: _dt.datetime | None = None, extra: dict | None = None) -> dict:
    return {"fem_wlp_version": __version__, "git_commit": git_commit(), "versions": versions(),
            "platform": {"system": platform.platform(), "machine": platform.machine(),
                         "processor": platform.processor(), "cpus": os.cpu_count(), "node": platform.node()},
            "command": sys.argv, "start": start.isoformat(timespec="seconds"),
            "end": end.isoformat(timespec="seconds") if end else None,
            "peak_rss_MiB": _peak_rss_mib(),
            **(extra or {})}


def _peak_rss_mib() -> float:
    try:
        import resource     # Unix only

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    except Exception:
        return float("nan")


def now() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc)


class HistoryWriter:
    """history.csv: one row per converged increment; columns fixed by the first row."""

    def __init__(self, path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._f = None
        self._w = None

    def write(self, row: dict):
        if self._w is None:
            self._f = open(self.path, "w", newline="")
            self._w = csv.DictWriter(self._f, fieldnames=list(row))
            self._w.writeheader()
        self._w.writerow({k: (f"{v:.9g}" if isinstance(v, float) else v) for k, v in row.items()})
        self._f.flush()

    def close(self):
        if self._f:
            self._f.close()


def read_history(path) -> dict:
    """history.csv -> {column: np.ndarray}."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return {}
    return {k: np.array([float(r[k]) for r in rows]) for k in rows[0]}


#: VTK cell types and corner counts of the linear cells written (P1/Q1 runs, and hexahedra of any order)
VTK_CELLS = {"MeshTri": (5, 3), "MeshQuad": (9, 4), "MeshTet": (10, 4), "MeshHex": (12, 8)}

#: quadratic VTK cells of P2/Q2 runs: (VTK type, meshio name, per VTK node the local mesh vertices whose mean is
#: its position on a straight-sided element). VTK's node order (vtkQuadraticTriangle, vtkQuadraticTetra,
#: vtkBiQuadraticQuad): the vertices, then the edge midpoints of (0,1), (1,2), (2,0) [triangle]; (0,1), (1,2),
#: (2,0), (0,3), (1,3), (2,3) [tetrahedron]; (0,1), (1,2), (2,3), (3,0) and the centre [quadrilateral].
#: scikit-fem numbers the vertices of these cells as VTK does. Hexahedra (27 nodes) are not written quadratic:
#: their VTK face order is not verified here, and their vertices are written as for P1.
VTK_QUADRATIC = {
    "MeshTri": (22, "triangle6", ((0,), (1,), (2,), (0, 1), (1, 2), (2, 0))),
    "MeshTet": (24, "tetra10", ((0,), (1,), (2,), (3,), (0, 1), (1, 2), (2, 0), (0, 3), (1, 3), (2, 3))),
    "MeshQuad": (28, "quad9", ((0,), (1,), (2,), (3,), (0, 1), (1, 2), (2, 3), (3, 0), (0, 1, 2, 3))),
}
_MESHIO_LINEAR = {5: "triangle", 9: "quad", 10: "tetra", 12: "hexahedron"}
_CELLS_CACHE: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def vtk_cells(disc) -> tuple[np.ndarray, np.ndarray, int, str]:
    """(points (N, 3), cells (nel, nodes), VTK type, meshio type) of a discretization's VTU output.

    P1/Q1 (and hexahedra): the mesh vertices and linear cells. P2/Q2 triangles, tetrahedra and quadrilaterals: every
    node of the discretization (vertices first, then scikit-fem's edge/face/interior nodes, i.e. the displacement
    vector's node order) and quadratic cells whose node order is VTK's: each VTK node is matched, per element, to
    the element's own node nearest to the VTK position (vertex, edge midpoint, centre) -- on straight-sided elements
    they coincide; on curved (second-order geometry) elements the midside node is the nearest."""
    hit = _CELLS_CACHE.get(disc)
    if hit is not None:
        return hit
    mesh = disc.model.mesh.mesh
    kind = type(mesh).__name__.rstrip("12")
    vtk_type, nv = VTK_CELLS[kind]
    nodes = np.asarray(disc.dof_x)
    if kind not in VTK_QUADRATIC or nodes.shape[1] == mesh.nvertices:
        pts, cells, ctype = mesh.p[:, : mesh.nvertices].T, mesh.t[:nv].T, _MESHIO_LINEAR[vtk_type]
    else:
        vtk_type, ctype, spec = VTK_QUADRATIC[kind]
        # the scalar basis's element-node map: the node numbering of Discretization's dofs (fe.kinematics.scalar_dofs)
        edofs = skfem.Basis(mesh, disc.elem, intorder=1).element_dofs          # (nloc, nel)
        if edofs.shape[0] != len(spec):
            raise ValueError(f"{kind} with {edofs.shape[0]} nodes per element: no quadratic VTK cell")
        X = nodes[:, edofs]                                                     # (dim, nloc, nel)
        V = mesh.p[:, mesh.t[:nv]]                                              # (dim, nv, nel)
        Y = np.stack([V[:, list(vs)].mean(axis=1) for vs in spec], axis=1)     # (dim, nvtk, nel)
        d2 = ((Y[:, :, None, :] - X[:, None, :, :]) ** 2).sum(axis=0)          # (nvtk, nloc, nel)
        loc = np.argmin(d2, axis=1)                                             # (nvtk, nel)
        cells = np.take_along_axis(edofs, loc, axis=0).T
        if np.any(np.sort(loc, axis=0) != np.arange(len(spec))[:, None]):
            raise ValueError(f"{kind}: the quadratic nodes of some elements could not be matched to VTK's order")
        pts = nodes.T
    pts = np.asarray(pts, np.float64)
    if pts.shape[1] == 2:
        pts = np.column_stack([pts, np.zeros(len(pts))])
    out = (pts, np.ascontiguousarray(cells), vtk_type, ctype)
    _CELLS_CACHE[disc] = out
    return out


def node_displacements(disc, frame) -> np.ndarray:
    """Displacement at every point of `vtk_cells` as (N, 3): all nodes of a P2/Q2 run, the vertices otherwise."""
    n = len(vtk_cells(disc)[0])
    u = frame.u.reshape(-1, disc.nc)[:n]
    return u.copy() if disc.nc == 3 else np.column_stack([u, np.zeros(n)])


def write_vtu(path, disc, frame, fields: dict, point_data: dict, compression: str = "none"):
    """One VTU with cell data (3x3 tensors as 9 components) and point data: linear cells on the vertices for P1/Q1,
    quadratic cells (triangle6, tetra10, quad9; `vtk_cells`) on every node for P2/Q2 -- there a vertex-only
    "displacement" array is replaced by the displacement of every node (`node_displacements`), and any other point
    array must have one row per point. Uncompressed by default, written as raw appended binary (`_write_vtu_raw`);
    with `[output] compression = "zlib"` (smaller files, but zlib dominates the writing time: benchmarks/README.md)
    meshio writes it. The file appears under its name only when complete."""
    pts, t, vtk_type, ctype = vtk_cells(disc)
    nv = disc.model.mesh.mesh.nvertices
    if len(pts) != nv:
        pd = {}
        for k, v in point_data.items():
            v = np.asarray(v)
            if k == "displacement" and len(v) == nv:
                v = node_displacements(disc, frame)
            elif len(v) != len(pts):
                raise ValueError(f"point data {k!r} has {len(v)} rows, not one per node ({len(pts)})")
            pd[k] = v
        point_data = pd
    cd = {}
    for k, v in fields.items():
        v = np.asarray(v)
        cd[k] = v.reshape(len(v), 9) if v.ndim == 3 else v
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".tmp" + path.suffix)
    if compression == "none":
        _write_vtu_raw(tmp, pts, t, vtk_type, point_data, cd)
    else:
        import meshio       # slow to import: only for compressed VTU

        meshio.write(tmp, meshio.Mesh(pts, [(ctype, t)], point_data=point_data,
                                      cell_data={k: [v] for k, v in cd.items()}),
                     binary=True, compression=compression)
    os.replace(tmp, path)


_VTK_TYPES = {np.dtype(np.float64): "Float64", np.dtype(np.float32): "Float32", np.dtype(np.int64): "Int64",
              np.dtype(np.int32): "Int32", np.dtype(np.uint8): "UInt8"}


def _write_vtu_raw(path, points, cells, vtk_type: int, point_data: dict, cell_data: dict):
    """VTK XML UnstructuredGrid with every array in one raw AppendedData block (each array preceded by its
    byte count as UInt64): the arrays go to the file as they are in memory, without the base64 text of meshio's
    binary VTU, which dominated the writing time (benchmarks/README.md). Read by ParaView/VTK and by meshio."""
    arrays, xml = [], []
    offset = 0

    def data_array(name, a, ncomp=None):
        nonlocal offset
        a = np.ascontiguousarray(a)
        if a.dtype not in _VTK_TYPES:
            a = a.astype(np.float64 if a.dtype.kind == "f" else np.int64)
        nc = ncomp if ncomp is not None else (1 if a.ndim == 1 else int(np.prod(a.shape[1:])))
        attr = (f' Name="{name}"' if name else "") + (f' NumberOfComponents="{nc}"' if a.ndim > 1 or nc > 1 else "")
        xml.append(f'<DataArray type="{_VTK_TYPES[a.dtype]}"{attr} format="appended" offset="{offset}"/>')
        arrays.append(a)
        offset += 8 + a.nbytes

    npts, ncells = len(points), len(cells)
    xml.append('<?xml version="1.0"?>')
    xml.append('<VTKFile type="UnstructuredGrid" version="1.0" byte_order="LittleEndian" header_type="UInt64">')
    xml.append(f'<UnstructuredGrid><Piece NumberOfPoints="{npts}" NumberOfCells="{ncells}">')
    xml.append("<Points>")
    data_array("", np.asarray(points, np.float64), 3)
    xml.append("</Points><Cells>")
    data_array("connectivity", np.asarray(cells, np.int64).ravel(), 1)
    data_array("offsets", np.arange(1, ncells + 1, dtype=np.int64) * cells.shape[1], 1)
    data_array("types", np.full(ncells, vtk_type, np.uint8), 1)
    xml.append("</Cells><PointData>")
    for k, v in point_data.items():
        data_array(k, np.asarray(v))
    xml.append("</PointData><CellData>")
    for k, v in cell_data.items():
        data_array(k, np.asarray(v))
    xml.append('</CellData></Piece></UnstructuredGrid><AppendedData encoding="raw">')
    with open(path, "wb") as f:
        f.write(("\n".join(xml) + "\n_").encode())
        for a in arrays:
            f.write(np.uint64(a.nbytes).tobytes())
            f.write(memoryview(a).cast("B"))
        f.write(b"\n</AppendedData></VTKFile>\n")


def write_pvd(path, entries: list[tuple[float, str]]):
    """ParaView collection of VTU files with their times."""
    lines = ['<?xml version="1.0"?>', '<VTKFile type="Collection" version="0.1">', "  <Collection>"]
    lines += [f'    <DataSet timestep="{t:.9g}" group="" part="0" file="{f}"/>' for t, f in entries]
    lines += ["  </Collection>", "</VTKFile>", ""]
    write_text(path, "\n".join(lines))
