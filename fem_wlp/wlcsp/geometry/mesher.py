"""build_mesh: geometry + design + model -> conforming gmsh mesh with named regions, .msh 4.1 + .vtu + report."""
from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fem_wlp.wlcsp.design import MODELS, Design, Geometry, MeshSizes, check_combination
from fem_wlp.errors import InputError
from fem_wlp.wlcsp.geometry.mesh_report import finish_report
from fem_wlp.wlcsp.geometry.solder import Joint, solve_joint


@dataclass
class MeshResult:
    msh: Path
    vtu: Path
    report: dict = field(default_factory=dict)


class _GmshSession:
    """initialize gmsh if nobody else did (and finalize it afterwards); otherwise work in a private model."""

    def __enter__(self):
        import gmsh
        self.gmsh = gmsh
        self.owner = not gmsh.isInitialized()
        if self.owner:
            # no SIGINT handler: meshing also runs in worker threads (Dask), where Python forbids signals
            gmsh.initialize(readConfigFiles=False, interruptible=False)
        else:
            self.prev_model = gmsh.model.getCurrent()
        gmsh.option.setNumber("General.Terminal", 0)
        gmsh.model.add(f"fem_wlp_{id(self)}")
        return gmsh

    def __exit__(self, *exc):
        gmsh = self.gmsh
        try:
            gmsh.model.remove()
        except Exception:
            pass
        if self.owner:
            gmsh.finalize()
        else:
            try:
                gmsh.model.setCurrent(self.prev_model)
            except Exception:
                pass
        return False


def joints_for(geometry: Geometry, design: Design, mesh: MeshSizes, model: str) -> tuple[Joint, list[float]]:
    """The joint shape and the joint axis positions of a model."""
    j = solve_joint(geometry, design, mesh.fine(model), segmented=(model == "joint3d"))
    if model == "slice2d":
        return j, geometry.diagonal_dnp()
    return j, [0.0]


def _set_sizes(gmsh, model, j: Joint, groups, geometry, mesh: MeshSizes, x_die, x_board, dim):
    f = gmsh.model.mesh.field
    fine = mesh.fine(model)
    solder = [t for lab, ts in groups.items() if lab.startswith(("solder/", "imc/")) for t in ts]
    metal = [t for lab, ts in groups.items() if lab.split("/")[0] in ("cu_wiring", "ubm", "board_pad", "pi2")
             and "/joint" in lab for t in ts]
    bnd = gmsh.model.getBoundary([(dim, t) for t in solder], combined=False, oriented=False)
    bnd_tags = sorted({abs(t) for _, t in bnd})
    fields = []
    if dim == 2:
        dist = f.add("Distance")
        f.setNumbers(dist, "CurvesList", bnd_tags)
        f.setNumber(dist, "Sampling", 200)
        thr = f.add("Threshold")
        f.setNumber(thr, "InField", dist)
        f.setNumber(thr, "SizeMin", fine)
        f.setNumber(thr, "SizeMax", mesh.size_coarse)
        f.setNumber(thr, "DistMin", 0.5 * fine)
        f.setNumber(thr, "DistMax", mesh.grading_distance)
        fields.append(thr)
    else:
        # 3D: fine over the whole (small) cell between die face and board surface, growing linearly with the
        # distance above the silicon face / below the laminate (a distance-to-surfaces field is much slower:
        # benchmarks/README.md)
        zt, zb = j.y_face, 0.0
        slope = (mesh.size_coarse - fine) / mesh.grading_distance
        me = f.add("MathEval")
        f.setString(me, "F", f"Min({mesh.size_coarse}, {fine} + {slope}*Max(0, Max(z - {zt}, {zb} - z)))")
        fields.append(me)
    if dim == 2:   # (in 3D a point-in-volume Constant field slows HXT down badly; MathEval covers it)
        c = f.add("Constant")
        f.setNumber(c, "VIn", fine)
        f.setNumber(c, "VOut", mesh.size_coarse)
        f.setNumbers(c, "SurfacesList", solder + metal)
        fields.append(c)
    # thin build-up bands (die side and board side)
    y_top = j.y_face
    y_bot = j.y_of_depth(max(r.hi for r in j.die.rects + j.die.imc)) - 1e-6
    band = mesh.size_layer if dim == 2 else fine
    h = geometry.pitch / 2
    for (y0, y1, xmax) in ((y_bot, y_top, x_die), (0.0, max(r.hi for r in j.board.rects + j.board.imc)
                                                      if j.board.rects else j.board.base, x_board)):
        b = f.add("Box")
        f.setNumber(b, "VIn", min(band, fine) if dim == 3 else band)
        f.setNumber(b, "VOut", mesh.size_coarse)
        if dim == 2:
            f.setNumber(b, "XMin", -1.0)
            f.setNumber(b, "XMax", xmax + 1.0)
            f.setNumber(b, "YMin", y0)
            f.setNumber(b, "YMax", y1)
        else:
            f.setNumber(b, "XMin", -h - 1)
            f.setNumber(b, "XMax", h + 1)
            f.setNumber(b, "YMin", -h - 1)
            f.setNumber(b, "YMax", h + 1)
            f.setNumber(b, "ZMin", y0)
            f.setNumber(b, "ZMax", y1)
        f.setNumber(b, "Thickness", min(mesh.grading_distance, 0.05))
        fields.append(b)
    m = f.add("Min")
    f.setNumbers(m, "FieldsList", fields)
    f.setAsBackgroundMesh(m)
    for opt, val in (("Mesh.MeshSizeExtendFromBoundary", 0), ("Mesh.MeshSizeFromPoints", 0),
                     ("Mesh.MeshSizeFromCurvature", 0), ("Mesh.MeshSizeMin", min(fine, band) / 4),
                     ("Mesh.MeshSizeMax", mesh.size_coarse)):
        gmsh.option.setNumber(opt, val)


def _boundaries(gmsh, model, j: Joint, geometry, x_die, x_board):
    """Facet groups by bounding boxes (exact plane positions)."""
    e = 1e-6
    g = geometry
    ymin, ymax = -g.board_thickness, j.y_face + g.die_thickness
    y_gap = 0.5 * (j.y_t + j.y_b)     # die-side stack is above, board-side below
    bb = gmsh.model.getEntitiesInBoundingBox
    if model in ("slice2d", "axisym"):
        def curves(x0, y0, x1, y1):
            return [t for d, t in bb(x0 - e, y0 - e, -e, x1 + e, y1 + e, e, 1)]
        out = {"board_bottom": curves(-1, ymin, x_board + 1, ymin), "die_top": curves(-1, ymax, x_die + 1, ymax)}
        if model == "slice2d":
            out["symmetry"] = curves(0, ymin, 0, ymax)
            out["board_end"] = curves(x_board, ymin, x_board, y_gap)
            out["die_end"] = curves(x_die, y_gap, x_die, ymax)
        else:
            out["axis"] = curves(0, ymin, 0, ymax)
            out["outer_die"] = curves(x_die, y_gap, x_die, ymax)
            out["outer_board"] = curves(x_die, ymin, x_die, y_gap)
        return out, 1
    h = g.pitch / 2

    def surfs(x0, y0, z0, x1, y1, z1):
        return [t for d, t in bb(x0 - e, y0 - e, z0 - e, x1 + e, y1 + e, z1 + e, 2)]
    out = {"die_top": surfs(-h, -h, ymax, h, h, ymax), "board_bottom": surfs(-h, -h, ymin, h, h, ymin)}
    for name, z0, z1 in (("die_side", y_gap, ymax), ("board_side", ymin, y_gap)):
        tags = []
        for box in ((-h, -h, z0, -h, h, z1), (h, -h, z0, h, h, z1), (-h, -h, z0, h, -h, z1), (-h, h, z0, h, h, z1)):
            tags += surfs(*box)
        out[name] = sorted(set(tags))
    return out, 2


def build_mesh(geometry: Geometry, design: Design, model: str, mesh_sizes: MeshSizes | None = None,
               out_dir=".", binary: bool = False) -> MeshResult:
    """Build, mesh and write ``<design>_<model>.msh`` (MSH 4.1) and ``.vtu``; return paths and a report.

    ``binary``: write the .msh in binary MSH 4.1 (about 3x smaller; meshio reads both).
    Raises InputError for impossible inputs (before gmsh is called) and RuntimeError naming the design if
    gmsh fails."""
    mesh = mesh_sizes or MeshSizes()
    if model not in MODELS:
        raise InputError("model.kind", model, " | ".join(MODELS))
    if model == "package3d":      # its own builder (wlcsp.geometry.package3d), run by its case workflow
        raise InputError("model.kind", model, "slice2d | axisym | joint3d (package3d is meshed when its study runs)")
    check_combination(geometry, design, mesh, model)
    j, xs = joints_for(geometry, design, mesh, model)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{design.name}_{model}"
    msh, vtu = out_dir / f"{stem}.msh", out_dir / f"{stem}.vtu"
    t0 = time.perf_counter()
    try:
        with _GmshSession() as gmsh:
            gmsh.option.setNumber("Mesh.Binary", 1 if binary else 0)
            rep = _build(gmsh, geometry, design, model, mesh, j, xs, msh)
    except InputError:
        raise
    except Exception as exc:   # never a raw gmsh traceback
        raise RuntimeError(f"meshing failed for design '{design.name}' (model {model}): {exc}") from None
    t_mesh = time.perf_counter() - t0
    rep = finish_report(rep, msh, vtu, model, mesh.order, j)
    rep["time_total_s"] = round(time.perf_counter() - t0, 3)
    rep["time_gmsh_s"] = round(t_mesh, 3)
    return MeshResult(msh, vtu, rep)


def _build(gmsh, geometry, design, model, mesh, j: Joint, xs, msh: Path) -> dict:
    t0 = time.perf_counter()
    asm, dim, x_die, x_board = _shapes(gmsh, geometry, design, model, j, xs)
    groups = asm.fragment()
    t_geo = time.perf_counter() - t0
    for lab in sorted(groups):
        gmsh.model.addPhysicalGroup(dim, sorted(groups[lab]), name=lab)
    facets, fdim = _boundaries(gmsh, model, j, geometry, x_die, x_board)
    for name, tags in facets.items():
        if not tags:
            raise RuntimeError(f"boundary '{name}' not found")
        gmsh.model.addPhysicalGroup(fdim, tags, name=name)
    _set_sizes(gmsh, model, j, groups, geometry, mesh, x_die, x_board, dim)
    t1 = time.perf_counter()
    how = _generate(gmsh, dim, mesh.order)
    t_mesh = time.perf_counter() - t1
    types, etags, _ = gmsh.model.mesh.getElements(dim)
    if len(types) != 1:
        raise RuntimeError(f"expected one element type, got {list(types)}")
    q = np.asarray(gmsh.model.mesh.getElementQualities(etags[0], "gamma"))
    gmsh.option.setNumber("Mesh.MshFileVersion", 4.1)
    gmsh.option.setNumber("Mesh.SaveAll", 0)
    gmsh.write(str(msh))
    return {"model": model, "design": design.name, "kind": design.kind, "dim": dim,
            "time_geometry_s": round(t_geo, 3), "time_mesh_s": round(t_mesh, 3),
            "n_elements": int(len(etags[0])), "n_nodes": int(len(gmsh.model.mesh.getNodes()[0])),
            "quality_gamma_min": float(q.min()), "quality_gamma_mean": float(q.mean()),
            "quality_gamma_p01": float(np.quantile(q, 0.01)),
            "n_elements_gamma_below_0.01": int((q < 0.01).sum()),
            "joint_positions": [float(x) for x in xs], "facet_groups": sorted(facets),
            "x_die_end": x_die, "x_board_end": x_board, **({"mesher_3d": how} if how else {})}


def _shapes(gmsh, geometry, design, model, j: Joint, xs):
    """The OCC shapes of the model (joints, build-up, die, board); returns (assembly, dim, x_die, x_board)."""
    from fem_wlp.wlcsp.geometry import build as B     # imports gmsh (heavy): only when a mesh is built
    if model == "joint3d":
        dim = 3
        asm = B.Assembly(3)
        B.joint_shapes_3d(asm, j, design, geometry)
        B.far_field_3d(asm, j, geometry)
        x_die = x_board = geometry.pitch / 2
    else:
        dim = 2
        asm = B.Assembly(2)
        if model == "slice2d":
            x_die = geometry.die_size / math.sqrt(2)
            x_board = x_die + geometry.board_extension
        else:
            x_die = x_board = geometry.pitch / 2
        for k, xk in enumerate(xs):
            B.joint_shapes_2d(asm, j, design, k, xk, 0.0, x_die, model == "axisym")
        B.far_field_2d(asm, j, geometry, x_die, x_board)
    gmsh.model.occ.synchronize()
    return asm, dim, x_die, x_board


def _generate(gmsh, dim: int, order: int, threads: int = 0, last_resort: str = "netgen") -> str:
    """Mesh the model (2D: Delaunay, gamma > 0.25 here; 3D: HXT with sliver removal on `threads` threads, 0: all,
    `last_resort` as remove_slivers), then raise the order. Returns what produced the 3D mesh ("" in 2D)."""
    gmsh.option.setNumber("Mesh.Algorithm", 5 if dim == 2 else 6)
    if dim == 3:
        gmsh.option.setNumber("Mesh.Algorithm3D", 10)
        # threads: multithreaded HXT gives a different mesh on every run (the flat joint3d cell at 0.0134 mm:
        # 56,999 / 57,026 / 57,125 tets in three runs) -- so joint3d results are reproducible to the mesh noise
        # only; one thread is reproducible (identical .msh twice) but meshed the metal-edge flat cell of
        # tests/test_geometry.py far worse (gamma 1st percentile 0.011 against 0.05-0.09 on two threads), so the
        # joint cells stay multithreaded; package3d's many-joint model meshes on one thread (multithreaded HXT
        # crashed it now and then: "double free or corruption" inside gmsh)
        # 0 is passed as a count (available_cores), not as gmsh's 0 ("OpenMP's current setting"): once a process
        # meshed on one thread (package3d, threads=1), OpenMP's setting stays 1 for every later mesh in that
        # process -- the cause found for session 7's flaky test_geometry run (the metal-edge cell meshed
        # single-threaded)
        # (where OMP_NUM_THREADS is set -- package3d's meshing children, workflows/submodel.MESH_ENV -- gmsh's 0 as
        # before: an explicit 1 there gave another mesh of the same cell, 172,887 against 172,908 DOF)
        if not threads and "OMP_NUM_THREADS" not in os.environ:
            threads = available_cores()
        gmsh.option.setNumber("General.NumThreads", threads)
        # HXT's sliver optimisation cannot lift the flat tets of micrometre layers to the default 0.3 and
        # then spends minutes trying; optimise only the really bad ones
        gmsh.option.setNumber("Mesh.OptimizeThreshold", 0.05)
    gmsh.model.mesh.generate(dim)
    how = remove_slivers(gmsh, last_resort=last_resort) if dim == 3 else ""
    if order == 2:
        gmsh.option.setNumber("Mesh.SecondOrderLinear", 0)
        gmsh.model.mesh.setOrder(2)
    return how


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity, which a container or `taskset` may narrow)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:            # not on Linux
        return os.cpu_count() or 1


def remove_slivers(gmsh, attempts: int = 6, last_resort: str = "netgen", good: float = 1e-3) -> str:
    """After a 3D generate: gmsh's own tet optimiser removes most slivers HXT leaves (< 0.05 gamma). A flat tet
    spanning a planar quad of a micrometre-high cylindrical band (pad edges) can survive: then re-mesh with a
    different Delaunay perturbation (Mesh.RandomFactor) and optimise again, up to `attempts` meshes in all, then
    the last resort. (Until session 7 the last re-mesh was neither optimised nor checked: the recessed joint3d
    cell at mesh.size_fine_3d = 0.0134 mm kept two zero-volume tets, 1e-23 mm^3, in the 1 um passivation; fe.mesh
    now refuses such a mesh.) A mesh passes when its smallest gamma exceeds `good`.

    last_resort "netgen": Netgen's optimiser on the last mesh (the joint cells). "delaunay": gmsh's Delaunay 3D
    mesher instead of HXT, once per 2D algorithm (5, 1, 6 as above), keeping the first mesh that passes or else
    the best of them (the largest smallest gamma, re-meshed with its settings) -- for the many-joint package
    model, where Netgen crashed libgmsh ("free(): invalid size" in its SwapImprove; session 11) and every HXT
    mesh of the full-size embossed quarter kept a zero-volume tet on the relief's walls in the solder's
    die-side layer (gamma 0: fe.mesh refuses it), while Delaunay's have gamma >= 3e-6 (measured, 8 x 8
    quarter at joint_size 0.025). Returns what produced the mesh (for the mesh report)."""
    for attempt in range(attempts):
        qmin = _optimise(gmsh)
        if qmin > good:
            return "hxt" if attempt == 0 else f"hxt, re-meshed {attempt} times for slivers"
        if attempt == attempts - 1:
            break
        gmsh.option.setNumber("Mesh.RandomFactor", 1e-9 * (3 + 7 * attempt))
        _remesh(gmsh, (5, 1, 6)[attempt % 3])
    if last_resort == "netgen":
        # still a sliver after every re-mesh: Netgen's optimiser as the last resort (it splits and swaps: the
        # element count grows, and run first it turned a sliver of test_geometry's metal-edge flat cell into
        # a poor mesh throughout, gamma 1st percentile 0.011, where a re-mesh gives 0.06)
        gmsh.model.mesh.optimize("Netgen")
        return f"hxt, re-meshed {attempts - 1} times for slivers, then Netgen's optimiser"
    if last_resort != "delaunay":
        raise ValueError(f"remove_slivers: last_resort = {last_resort!r}; allowed: netgen | delaunay")
    gmsh.option.setNumber("Mesh.Algorithm3D", 1)
    tried = []
    for alg in (5, 1, 6):
        _remesh(gmsh, alg)
        tried.append((_optimise(gmsh), alg))
        if tried[-1][0] > good:
            break
    qmin, alg = max(tried)
    if alg != tried[-1][1]:                        # the best was not the last: mesh it again
        _remesh(gmsh, alg)
        _optimise(gmsh)
    gmsh.option.setNumber("Mesh.Algorithm3D", 10)
    return (f"hxt, re-meshed {attempts - 1} times for slivers, then Delaunay 3D (2D algorithm {alg}, smallest "
            f"gamma {qmin:.2g})")


def _remesh(gmsh, alg2d: int) -> None:
    """Clear the mesh and generate it again in 3D with the 2D algorithm alg2d (the other options as set)."""
    gmsh.model.mesh.clear()
    gmsh.option.setNumber("Mesh.Algorithm", alg2d)
    gmsh.model.mesh.generate(3)


def _optimise(gmsh) -> float:
    """gmsh's tet optimiser, up to three passes while a tet has gamma <= 0.02; the smallest gamma after it."""
    for _ in range(3):
        gmsh.model.mesh.optimize("")
        _, et, _ = gmsh.model.mesh.getElements(3)
        qmin = min(gmsh.model.mesh.getElementQualities(et[0], "gamma"))
        if qmin > 0.02:
            break
    return qmin
