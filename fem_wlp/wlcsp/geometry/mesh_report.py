"""Read a written mesh back with meshio, check the names, measure region sizes, write the .vtu.

Region sizes: slice2d -> areas (mm^2, the solder per joint is compared with the analytic axial section);
axisym -> volumes of revolution 2*pi*sum(A_e * r_centroid) (mm^3, exact for straight-sided triangles);
joint3d -> tetra volumes (mm^3).  Second-order elements are measured on their corner nodes.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

#: meshio cell type of the mesh written for (model kind, element order)
CELL_TYPES = {("slice2d", 1): "triangle", ("slice2d", 2): "triangle6", ("axisym", 1): "triangle",
              ("axisym", 2): "triangle6", ("joint3d", 1): "tetra", ("joint3d", 2): "tetra10"}


def read_regions(msh: Path, model: str, order: int):
    """(points, cells (n, k) of the model's cell type, {leaf name: cell indices}, {facet name: n facets})."""
    import meshio      # slow to import: only once a mesh was written

    m = meshio.read(msh)
    ctype = CELL_TYPES[(model, order)]
    blocks = [i for i, c in enumerate(m.cells) if c.type == ctype]
    cells = np.concatenate([m.cells[i].data for i in blocks])
    offsets = np.cumsum([0] + [len(m.cells[i].data) for i in blocks])
    regions, facets = {}, {}
    for name, per_block in m.cell_sets.items():
        if name.startswith("gmsh:"):
            continue
        idx = [np.asarray(per_block[i], dtype=np.int64) + offsets[n] for n, i in enumerate(blocks)
               if per_block[i] is not None and len(per_block[i])]
        if idx:
            regions[name] = np.concatenate(idx)
        else:
            facets[name] = int(sum(len(a) for a in per_block if a is not None))
    return m, cells, regions, facets


def cell_measures(points, cells, model):
    p = points
    if model == "joint3d":
        a, b, c, d = (p[cells[:, i]] for i in range(4))
        return np.abs(np.einsum("ij,ij->i", np.cross(b - a, c - a), d - a)) / 6.0
    a, b, c = (p[cells[:, i], :2] for i in range(3))
    area = 0.5 * np.abs((b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (c[:, 0] - a[:, 0]) * (b[:, 1] - a[:, 1]))
    if model == "axisym":
        rc = (a[:, 0] + b[:, 0] + c[:, 0]) / 3.0
        return 2 * np.pi * area * rc
    return area


def finish_report(rep: dict, msh: Path, vtu: Path, model: str, order: int, joint) -> dict:
    import meshio      # slow to import: only once a mesh was written

    m, cells, regions, facets = read_regions(msh, model, order)
    meas = cell_measures(m.points, cells, model)
    region_id = np.full(len(cells), -1, dtype=np.int32)
    names = sorted(regions)
    for i, name in enumerate(names):
        if np.any(region_id[regions[name]] >= 0):
            raise RuntimeError(f"region {name} overlaps another leaf")
        region_id[regions[name]] = i
    if np.any(region_id < 0):
        raise RuntimeError("some cells belong to no region")
    meshio.write(vtu, meshio.Mesh(m.points, [(CELL_TYPES[(model, order)], cells)],
                                  cell_data={"region": [region_id]}), binary=True)
    sizes = {n: float(meas[regions[n]].sum()) for n in names}
    tops = {}
    for n, v in sizes.items():
        tops[n.split("/")[0]] = tops.get(n.split("/")[0], 0.0) + v
    unit = "mm^2" if model == "slice2d" else "mm^3"
    solder = {}
    joints = sorted({n.split("/")[1] for n in names if n.startswith("solder/")})
    expected = joint.A_section if model == "slice2d" else joint.V_requested
    for jn in joints:
        # with an intermetallic layer, solder + IMC hold the joint's solder volume (stack.py)
        got = sum(v for n, v in sizes.items() if n.startswith(f"solder/{jn}/") or n == f"imc/{jn}")
        exp = expected
        if model == "slice2d" and rep["joint_positions"][int(jn[5:])] < joint.max_diameter / 2:
            exp = expected / 2 if rep["joint_positions"][int(jn[5:])] == 0 else expected
        solder[jn] = {"requested": exp, "meshed": got, "rel_error": (got - exp) / exp}
    rep.update({"cell_type": CELL_TYPES[(model, order)], "order": order, "measure_unit": unit,
                "region_sizes": sizes, "material_sizes": tops, "regions": names,
                "facet_group_counts": facets, "solder": solder,
                "solder_measure": "axial-section area" if model == "slice2d" else "volume",
                "joint": joint.report(), "msh": str(msh), "vtu": str(vtu),
                "region_ids": {i: n for i, n in enumerate(names)}})
    return rep
