"""The 3D package model (`[model] kind = "package3d"`): a quarter of the N x N array -- die, build-up, every
joint with its pad design and solder shape, board pads and mask, and the board extending beyond the die.

Why a quarter and not an octant: the octant's diagonal symmetry plane cuts the diagonal joints in half and needs a
linear constraint on the displacement normal to the diagonal (u_x - u_y = 0 there), which fe.problem.Constraint
(components of dofs) does not express; the quarter needs only u_x = 0 on x = 0 and u_y = 0 on y = 0, at twice the
octant's size. For an even N (the only case supported) the symmetry planes run between joint rows, so no joint is
cut. Rigid motion: the symmetry planes fix u_x, u_y and the rotations; u_z is held at one board-bottom point
(the package centre); the board is otherwise free to warp.

Coordinates as joint3d: z up, board laminate surface z = 0, die on top face down, package centre at x = y = 0;
joint k = i*M + j (M = N/2) at ((i + 1/2) pitch, (j + 1/2) pitch), i, j = 0..M-1: joint 0 nearest the centre,
joint M^2 - 1 the corner joint. Each joint is the joint3d joint (wlcsp.geometry.build.joint_shapes_3d: the
revolved pad columns, the solder cap, the interface-layer zones) translated to its position, so every joint has
its design's pads and solder shape, named `solder/joint<k>/...` with the leaves of wlcsp.regions.

Thin layers over large areas (model.buildup): "layers" (default) keeps every far-field layer (passivation, the PI
layers, the solder mask) as a full-area slab, meshed at joint_size in-plane (flat tetrahedra in the micrometre
layers; quality figures in the report); "merged" merges them away from the joint columns (radius: the pad's) into
the die and the board (polymer -> silicon, mask -> FR-4): 40 % fewer DOF and 3x faster, but it stiffens the
build-up between the joints. Measured (benchmarks/bench_package3d.py buildup: 4 x 4 array on the 3.5 mm die,
flat design, one JESD22-A104 G cycle on the grid's steps, joint_size 0.025 mm; 88.6k vs 145.6k DOF, 283 vs
912 s): ΔW per cycle of the conformal die layer merged/layers = 1.68 (joint 0, DNP 0.28 mm), 1.30-1.31 (DNP
0.63 mm), 1.15 (corner joint, DNP 0.85 mm) -- the ranking is kept, the values are not: hence "layers" by default.
The critical joint is re-solved in a submodel with the exact stack of its cell (workflows/submodel.py).

Facet groups: `sym_x` (x = 0), `sym_y` (y = 0), `die_top`, `board_bottom`.

The submodel window (build_submodel_window, model.submodel_margin > 0): the same construction inside a box around
the critical joint whose cut planes lie at pitch/2 + margin from its axis (between joint rows: design.
check_submodel_margin), clipped by the quarter's symmetry planes, the die edge and the board end; the critical
joint and its pitch cell meshed at mesh.size_fine_3d (graded as the joint3d cell), the neighbouring joints in
the window at joint_size, all at the submodel's element order. It moves the cut faces one pitch cell further out
for issue 13's St-Venant check (benchmarks/bench_package3d.py stvenant).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fem_wlp.errors import InputError
from fem_wlp.wlcsp.design import (Design, Geometry, MeshSizes, check_combination, check_package_array,
                                  check_submodel_margin)
from fem_wlp.wlcsp.geometry.mesh_report import finish_report
from fem_wlp.wlcsp.geometry.mesher import MeshResult, _generate, _GmshSession
from fem_wlp.wlcsp.geometry.solder import Joint, solve_joint

BUILDUP = ("merged", "layers")
#: the model kind whose joint the package model re-uses (cell type, region measures, joint shape)
JOINT_KIND = "joint3d"


def joint_positions(geometry: Geometry) -> list[tuple[float, float]]:
    """(x, y) of the joints of the quarter, index k = i*M + j."""
    m = geometry.array_size // 2
    p = geometry.pitch
    return [((i + 0.5) * p, (j + 0.5) * p) for i in range(m) for j in range(m)]


def check_package(geometry: Geometry, joint_size: float, buildup: str, key_prefix: str = "model") -> None:
    """What only the package model needs: an even array that fits the die with a full pitch cell around every
    joint (the submodel cell: wlcsp.design.check_package_array), a known build-up approximation, a joint mesh
    size."""
    check_package_array(geometry)
    if buildup not in BUILDUP:
        raise InputError(f"{key_prefix}.buildup", buildup, " | ".join(BUILDUP))
    if not (isinstance(joint_size, (int, float)) and 5e-4 <= joint_size <= geometry.pitch / 2):
        raise InputError(f"{key_prefix}.joint_size", joint_size, f"a size in [0.0005, pitch/2 = "
                         f"{geometry.pitch / 2}] mm")


@dataclass(frozen=True)
class Window:
    """A submodel window of the quarter: x0 < x < x1, y0 < y < y1 (clipped to the quarter, the die and the board),
    around joint `joint` (None: the whole quarter), meshed at element order `order`."""
    x0: float
    x1: float
    y0: float
    y1: float
    joint: int | None
    order: int = 1


def submodel_window(geometry: Geometry, joint: int, margin: float, order: int) -> Window:
    """The window whose cut planes lie at pitch/2 + margin from joint `joint`'s axis."""
    x, y = joint_positions(geometry)[joint]
    h = geometry.pitch / 2 + margin
    return Window(x - h, x + h, y - h, y + h, joint, order)


def build_submodel_window(geometry: Geometry, design: Design, mesh: MeshSizes, out_dir, joint: int, margin: float,
                          joint_size: float = 0.025) -> MeshResult:
    """The submodel of joint `joint` with its cut faces at pitch/2 + margin from its axis (design.
    check_submodel_margin): the package model's construction (full-area build-up layers) inside the window, the
    critical joint (named joint0) and its pitch cell at mesh.size_fine_3d, the neighbouring joints in the window
    (`neighbour<k>`, bulk solder only) at joint_size, at element order mesh.order; in the global model's
    coordinates. Facet groups die_top, board_bottom, die_side, board_side (the cut faces, see _window_facets).
    Writes `<design>_submodel.msh` / `.vtu`."""
    check_package(geometry, joint_size, "layers")
    check_submodel_margin(geometry, margin)
    check_combination(geometry, design, mesh, JOINT_KIND)
    j = solve_joint(geometry, design, mesh.fine(JOINT_KIND), segmented=True)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    msh, vtu = out_dir / f"{design.name}_submodel.msh", out_dir / f"{design.name}_submodel.vtu"
    t0 = time.perf_counter()
    win = submodel_window(geometry, joint, margin, mesh.order)
    try:
        with _GmshSession() as gmsh:
            rep = _build(gmsh, geometry, design, mesh, j, joint_size, "layers", msh, window=win)
    except InputError:
        raise
    except Exception as exc:   # never a raw gmsh traceback
        raise RuntimeError(f"meshing failed for design '{design.name}' (package3d submodel): {exc}") from None
    rep = finish_report(rep, msh, vtu, JOINT_KIND, mesh.order, j)
    rep.update({"model": "package3d-submodel", "window_mm": [win.x0, win.x1, win.y0, win.y1],
                "margin_mm": margin, "time_total_s": round(time.perf_counter() - t0, 3)})
    return MeshResult(msh, vtu, rep)


def build_package3d(geometry: Geometry, design: Design, mesh: MeshSizes, out_dir, joint_size: float = 0.025,
                    buildup: str = "layers") -> MeshResult:
    """Build, mesh and write `<design>_package3d.msh` (MSH 4.1, linear tetrahedra) and `.vtu`; return paths and a
    report (with `joint_positions`: [[x, y], ...] per joint index, `dnp_mm`)."""
    check_package(geometry, joint_size, buildup)
    # the design against the [mesh] sizes (those of the submodel, which resolves the thin layers); the global
    # joints are meshed at joint_size, coarser than the thinnest layers (flat elements there, see the report's
    # quality figures)
    check_combination(geometry, design, mesh, JOINT_KIND)
    msizes = mesh
    j = solve_joint(geometry, design, mesh.fine(JOINT_KIND), segmented=True)   # the submodel's joint shape
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{design.name}_package3d"
    msh, vtu = out_dir / f"{stem}.msh", out_dir / f"{stem}.vtu"
    t0 = time.perf_counter()
    try:
        with _GmshSession() as gmsh:
            rep = _build(gmsh, geometry, design, msizes, j, joint_size, buildup, msh)
    except InputError:
        raise
    except Exception as exc:   # never a raw gmsh traceback
        raise RuntimeError(f"meshing failed for design '{design.name}' (model package3d): {exc}") from None
    rep = finish_report(rep, msh, vtu, JOINT_KIND, 1, j)
    rep["model"] = "package3d"
    rep["time_total_s"] = round(time.perf_counter() - t0, 3)
    return MeshResult(msh, vtu, rep)


def _build(gmsh, g: Geometry, design, mesh: MeshSizes, j: Joint, hj: float, buildup: str, msh: Path,
           window: Window | None = None) -> dict:
    """The quarter (window None) or the submodel window (every joint whose axis lies in it; its critical joint
    named joint0 with its interface-layer zones, the others `neighbour<k>` without zones, so that the layer
    tracking and the evaluation see the critical joint only)."""
    from fem_wlp.wlcsp.geometry import build as B     # imports gmsh (heavy): only when a mesh is built
    t0 = time.perf_counter()
    occ = gmsh.model.occ
    asm = B.Assembly(3)
    pos = joint_positions(g)
    xd = g.die_size / 2
    xb = xd + g.board_extension
    w = window or Window(0.0, xb, 0.0, xb, None, 0)
    for k, (x, y) in enumerate(pos):
        if not (w.x0 < x < w.x1 and w.y0 < y < w.y1):
            continue
        name = f"joint{k}" if window is None else ("joint0" if k == w.joint else f"neighbour{k}")
        one = B.Assembly(3)
        B.joint_shapes_3d(one, j, design, g)
        tags = [(3, t) for *_, ts in one.items for t in ts] + [(3, t) for _, ts in one.zones for t in ts]
        occ.translate(tags, x, y, 0.0)
        for prio, _seq, lab, ts in one.items:
            asm.items.append((prio, len(asm.items), lab.replace("/joint0", f"/{name}"), ts))
        if name.startswith("joint"):
            asm.zones.extend(one.zones)
        else:
            occ.remove([(3, t) for _, ts in one.zones for t in ts], recursive=True)
    z_top = j.y_face + g.die_thickness
    z_bu = min(j.y_of_depth(d1) for _, _, d1 in j.die.far) if j.die.far else j.y_face
    z_mask = max(y1 for _, _, y1 in j.board.far) if j.board.far else 0.0

    def box(x1, z0, z1):
        xa, ya = max(w.x0, 0.0), max(w.y0, 0.0)
        return [(3, occ.addBox(xa, ya, z0, min(x1, w.x1) - xa, min(x1, w.y1) - ya, z1 - z0))]
    if buildup == "merged":
        asm.add("far", "die", box(xd, z_bu, z_top))
        asm.add("far", "board", box(xb, -g.board_thickness, z_mask))
    else:
        asm.add("far", "die", box(xd, j.y_face, z_top))
        for lab, d0, d1 in j.die.far:
            asm.add("far", "pi2/field" if lab == "pi2" and j.die_ring.ring else lab,
                    box(xd, j.y_of_depth(d1), j.y_of_depth(d0)))
        for lab, y0, y1 in j.board.far:
            asm.add("far", lab, box(xb, y0, y1))
        asm.add("far", "board", box(xb, -g.board_thickness, 0.0))
    occ.synchronize()
    groups = asm.fragment()
    t_geo = time.perf_counter() - t0
    for lab in sorted(groups):
        gmsh.model.addPhysicalGroup(3, sorted(groups[lab]), name=lab)
    e = 1e-6

    def bb(*box_dim):
        """Surfaces in a box that bound a volume (the revolve profiles of the joint shapes stay behind as free
        surfaces at the origin's x-z plane, not part of the model)."""
        return [(d, t) for d, t in gmsh.model.getEntitiesInBoundingBox(*box_dim)
                if len(gmsh.model.getAdjacencies(d, t)[0]) > 0]
    z_lo = -g.board_thickness
    if window is None:
        facets = {"sym_x": [t for _, t in bb(-e, -e, z_lo - e, e, xb + e, z_top + e, 2)],
                  "sym_y": [t for _, t in bb(-e, -e, z_lo - e, xb + e, e, z_top + e, 2)],
                  "die_top": [t for _, t in bb(-e, -e, z_top - e, xd + e, xd + e, z_top + e, 2)],
                  "board_bottom": [t for _, t in bb(-e, -e, z_lo - e, xb + e, xb + e, z_lo + e, 2)]}
    else:
        facets = _window_facets(bb, w, 0.5 * (j.y_t + j.y_b), z_lo, z_top, xd, xb, e)
    for name, tags in facets.items():
        if not tags:
            raise RuntimeError(f"boundary '{name}' not found")
        gmsh.model.addPhysicalGroup(2, tags, name=name)
    # sizes: hj in the gap and the build-up (every joint alike), growing linearly above the die face and below
    # the laminate surface to size_coarse over grading_distance (as joint3d)
    f = gmsh.model.mesh.field
    slope = (mesh.size_coarse - hj) / mesh.grading_distance
    me = f.add("MathEval")
    dz = f"Max(0, Max(z - {j.y_face}, {z_mask} - z))"
    size = f"{hj} + {slope}*{dz}"
    if window is not None:
        # the critical joint's pitch cell at mesh.size_fine_3d (graded as the joint3d cell: the same slope out of
        # the gap, and out of the cell in x, y), the neighbours at joint_size
        xc, yc = pos[w.joint]
        fine = mesh.size_fine_3d
        fslope = (mesh.size_coarse - fine) / mesh.grading_distance
        dxy = f"Max(0, Max(Fabs(x - {xc}), Fabs(y - {yc})) - {g.pitch / 2})"
        size = f"Min({size}, {fine} + {fslope}*Max({dz}, {dxy}))"
    f.setString(me, "F", f"Min({mesh.size_coarse}, {size})")
    f.setAsBackgroundMesh(me)
    hmin = hj / 8 if window is None else min(hj, mesh.size_fine_3d) / 8
    for opt, val in (("Mesh.MeshSizeExtendFromBoundary", 0), ("Mesh.MeshSizeFromPoints", 0),
                     ("Mesh.MeshSizeFromCurvature", 0), ("Mesh.MeshSizeMin", hmin),
                     ("Mesh.MeshSizeMax", mesh.size_coarse)):
        gmsh.option.setNumber(opt, val)
    t1 = time.perf_counter()
    # one thread: see _generate; Delaunay 3D, not Netgen, after HXT's re-meshes: see remove_slivers
    how = _generate(gmsh, 3, 1 if window is None else window.order, threads=1, last_resort="delaunay")
    t_mesh = time.perf_counter() - t1
    types, etags, _ = gmsh.model.mesh.getElements(3)
    q = np.asarray(gmsh.model.mesh.getElementQualities(etags[0], "gamma"))
    gmsh.option.setNumber("Mesh.MshFileVersion", 4.1)
    gmsh.option.setNumber("Mesh.SaveAll", 0)
    gmsh.write(str(msh))
    return {"model": "package3d", "design": design.name, "kind": design.kind, "dim": 3,
            "time_geometry_s": round(t_geo, 3), "time_mesh_s": round(t_mesh, 3),
            "n_elements": int(len(etags[0])), "n_nodes": int(len(gmsh.model.mesh.getNodes()[0])),
            "quality_gamma_min": float(q.min()), "quality_gamma_mean": float(q.mean()),
            "quality_gamma_p01": float(np.quantile(q, 0.01)), "mesher_3d": how,
            "joint_positions": [[float(a), float(b)] for a, b in pos],
            "dnp_mm": [float(math.hypot(a, b)) for a, b in pos],
            "facet_groups": sorted(facets), "x_die_end": xd, "x_board_end": xb, "buildup": buildup,
            "joint_size": hj}



def _window_facets(bb, w: Window, z_gap: float, z_lo: float, z_top: float, xd: float, xb: float, e: float) -> dict:
    """Facet groups of a submodel window: die_top, board_bottom, and its cut faces -- every window plane inside the
    die (die_side, above z_gap) or the board (board_side, below), the planes on the quarter's symmetry planes
    included (driven like the others: the global solution has u_x = 0 there) -- but not the die edge or board
    end (free surfaces)."""
    xa, ya = max(w.x0, 0.0), max(w.y0, 0.0)
    out = {"die_top": [t for _, t in bb(xa - e, ya - e, z_top - e, min(w.x1, xd) + e, min(w.y1, xd) + e,
                                        z_top + e, 2)],
           "board_bottom": [t for _, t in bb(xa - e, ya - e, z_lo - e, min(w.x1, xb) + e, min(w.y1, xb) + e,
                                             z_lo + e, 2)]}
    for name, z0, z1, edge in (("die_side", z_gap, z_top, xd), ("board_side", z_lo, z_gap, xb)):
        x1, y1 = min(w.x1, edge), min(w.y1, edge)
        planes = [(xa, ya, xa, y1)] + ([(x1, ya, x1, y1)] if w.x1 < edge - e else []) + \
                 [(xa, ya, x1, ya)] + ([(xa, y1, x1, y1)] if w.y1 < edge - e else [])
        tags = set()
        for a0, b0, a1, b1 in planes:
            tags.update(t for _, t in bb(a0 - e, b0 - e, z0 - e, a1 + e, b1 + e, z1 + e, 2))
        out[name] = sorted(tags)
    return out

