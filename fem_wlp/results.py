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
from pathlib import Path

import numpy as np

from . import __version__


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
        import resource

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


def write_vtu(path, disc, frame, fields: dict, point_data: dict, compression: str = "none"):
    """One VTU with linear cells (vertices of quadratic elements), point and cell data; binary, uncompressed by
    default (`[output] compression = "zlib"` for ~2x smaller files: zlib took 2.0 of the 2.4 s of writing a
    200k-DOF 3D result)."""
    import meshio

    mesh = disc.model.mesh.mesh
    kind = type(mesh).__name__.rstrip("12")
    ctype, nv = {"MeshTri": ("triangle", 3), "MeshQuad": ("quad", 4), "MeshTet": ("tetra", 4),
                 "MeshHex": ("hexahedron", 8)}[kind]
    pts = mesh.p[:, : mesh.nvertices].T
    if pts.shape[1] == 2:
        pts = np.column_stack([pts, np.zeros(len(pts))])
    t = mesh.t[:nv].T     # scikit-fem and VTK share the corner ordering of these cells
    cd = {}
    for k, v in fields.items():
        v = np.asarray(v)
        cd[k] = [v.reshape(len(v), 9) if v.ndim == 3 else v]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".tmp" + path.suffix)
    meshio.write(tmp, meshio.Mesh(pts, [(ctype, t)], point_data=point_data, cell_data=cd), binary=True,
                 compression=None if compression == "none" else compression)
    os.replace(tmp, path)


def write_pvd(path, entries: list[tuple[float, str]]):
    """ParaView collection of VTU files with their times."""
    lines = ['<?xml version="1.0"?>', '<VTKFile type="Collection" version="0.1">', "  <Collection>"]
    lines += [f'    <DataSet timestep="{t:.9g}" group="" part="0" file="{f}"/>' for t, f in entries]
    lines += ["  </Collection>", "</VTKFile>", ""]
    write_text(path, "\n".join(lines))
