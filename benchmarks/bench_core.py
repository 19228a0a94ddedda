"""Core performance benchmark (issue 2): DOF, mesh read, setup (operators + pattern + static assembly),
factorization / AMG setup, solve, result writing, end-to-end thermoelastic run time and peak memory, 2D and 3D;
separately, the re-assembly with new quadrature-point tangents (what a Newton iteration of an inelastic model does).

Problem (as ../shared/reference/solvers.md): unit box/square, two materials split at mid-height (Cu-like
E 120 GPa, nu 0.34, alpha 17e-6 / SAC-like 45 GPa, 0.36, 21e-6), bottom clamped, uniform dT = -100 K.
The mesh is written to a gmsh .msh 4.1 file first (untimed); the end-to-end time `e2e_s` is then what CalculiX's
wall time covers: read the mesh file (fem_wlp.fe.mesh.load), set up and assemble, solve, write the results (one VTU
with the displacement and the element stress/strain fields, as the study pipeline writes). `run_s` is setup + solve
(no read, no write, no re-assembly). Each size runs in a fresh process so that peak memory is per case; peak_MiB
is the process peak at the end of the end-to-end part (the re-assembly runs after it).

    python benchmarks/bench_core.py                 # default table (2D and 3D, 50k-500k DOF)
    python benchmarks/bench_core.py --sizes 3d:p1:200000 2d:p1:200000
    python benchmarks/bench_core.py --skfem          # also time scikit-fem's generic form assembly
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np

DEFAULT = ["2d:p1:50000", "2d:p2:50000", "2d:p1:200000", "2d:p2:200000", "2d:p1:1000000",
           "3d:p1:50000", "3d:p2:50000", "3d:p1:200000", "3d:p2:200000", "3d:p1:500000"]


def build(dim, order, ndof):
    import skfem

    if dim == 2:
        nodes = ndof / 2 if order == 1 else ndof / 2 / 4
        n = int(round(np.sqrt(nodes))) - 1
        m = skfem.MeshTri.init_tensor(np.linspace(0, 1, n + 1), np.linspace(0, 1, n + 1))
    else:
        nodes = ndof / 3 if order == 1 else ndof / 3 / 8
        n = int(round(nodes ** (1 / 3))) - 1
        m = skfem.MeshTet.init_tensor(*(np.linspace(0, 1, n + 1),) * 3)
    up = lambda x: x[-1] > 0.5
    m = m.with_subdomains({"cu": lambda x: ~up(x), "sac": up}).with_boundaries(
        {"bottom": lambda x: np.isclose(x[-1], 0.0)})
    return m


def write_msh(m, path):
    """The scikit-fem mesh as a binary gmsh .msh 4.1 file: one physical group per subdomain and per boundary."""
    import gmsh

    gmsh.initialize(interruptible=False)
    try:
        gmsh.option.setNumber("General.Terminal", 0)
        gmsh.model.add("bench")
        dim = m.dim()
        vtype, ftype = (4, 2) if dim == 3 else (2, 1)           # gmsh element types: tet4/tri3, tri3/line2
        groups = [(n, dim, vtype, m.t[:, e].T) for n, e in m.subdomains.items()]
        groups += [(n, dim - 1, ftype, m.facets[:, f].T) for n, f in m.boundaries.items()]
        for k, (name, d, _, _) in enumerate(groups, start=1):
            gmsh.model.addDiscreteEntity(d, k)
            gmsh.model.addPhysicalGroup(d, [k], k, name=name)
        n = m.p.shape[1]
        gmsh.model.mesh.addNodes(dim, 1, np.arange(1, n + 1), np.vstack([m.p, np.zeros((3 - dim, n))]).T.ravel())
        for k, (_, _, et, conn) in enumerate(groups, start=1):
            gmsh.model.mesh.addElementsByType(k, et, [], (conn + 1).ravel())
        gmsh.option.setNumber("Mesh.Binary", 1)
        gmsh.write(str(path))
    finally:
        gmsh.finalize()


def case(spec, with_skfem=False):
    import tempfile
    from pathlib import Path

    from fem_wlp.materials import material_from_spec
    from fem_wlp.fe.mesh import load
    from fem_wlp.fe.postprocess import cell_fields, point_displacements
    from fem_wlp.fe.problem import Model, Temperature, boundary_constraint
    from fem_wlp.io.results import write_vtu
    from fem_wlp.fe.solver.discretization import Discretization
    from fem_wlp.fe.solver import run

    dim, el, ndof = spec.split(":")
    dim, order, ndof = int(dim[0]), int(el[1]), int(ndof)
    m = build(dim, order, ndof)
    tmp = Path(tempfile.mkdtemp(prefix="bench_core_"))
    write_msh(m, tmp / "mesh.msh")
    form = "3d" if dim == 3 else "plane_strain"
    fix = ["x", "y", "z"] if dim == 3 else ["x", "y"]

    t0 = time.perf_counter()                       # --- end to end: read, set up + assemble, solve, write
    fm = load(tmp / "mesh.msh")
    mats = {"cu": material_from_spec("cu", {"E": 120000.0, "nu": 0.34, "alpha": 17e-6}),
            "sac": material_from_spec("sac", {"E": 45000.0, "nu": 0.36, "alpha": 21e-6})}
    model = Model(fm, form, mats, (boundary_constraint(fm, "bottom", fix, formulation=form),),
                  Temperature.uniform_step(25.0, -75.0), order=order)
    t1 = time.perf_counter()
    disc = Discretization(model)
    t2 = time.perf_counter()
    frames = list(run(model, [0.0, 1.0], disc=disc))
    t3 = time.perf_counter()
    write_vtu(tmp / "result.vtu", disc, frames[-1], cell_fields(disc, frames[-1]),
              {"displacement": point_displacements(disc, frames[-1])})
    t4 = time.perf_counter()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    # re-assembly of every region with per-QP (6,6,N) tangents (what a Newton iteration does)
    tangents = {i: np.broadcast_to(disc.materials[i].stiffness(0.0)[:, :, None], (6, 6, o.npoints)).copy()
                for i, o in enumerate(disc.ops)}
    t5 = time.perf_counter()
    K, _, _ = disc.asm.matrix([disc.asm.contribution(i, D) for i, D in tangents.items()])
    t_reasm = time.perf_counter() - t5
    for f in tmp.iterdir():
        f.unlink()
    tmp.rmdir()
    out = {"case": spec, "dofs": int(disc.ndof), "elements": int(m.t.shape[1]), "nnz": int(K.nnz),
           "read_s": t1 - t0, "setup_s": t2 - t1, "reassembly_s": t_reasm, "solver": disc.linear.name,
           "factor_s": disc.linear.stats["time_factor_s"], "solve_s": disc.linear.stats["time_solve_s"],
           "newton_its": int(frames[-1].iterations), "run_s": t3 - t1, "write_s": t4 - t3, "e2e_s": t4 - t0,
           "peak_MiB": peak}
    if with_skfem:
        import skfem
        from skfem.helpers import ddot, sym_grad, trace, eye

        e = skfem.ElementVector(disc.elem, dim)
        ib = skfem.Basis(m, e, intorder=disc.intorder)

        @skfem.BilinearForm
        def k(u, v, w):
            eps = sym_grad(u)
            return ddot(2 * 40000.0 * eps + 60000.0 * eye(trace(eps), dim), sym_grad(v))

        t0 = time.perf_counter()
        k.assemble(ib)
        out["skfem_generic_s"] = time.perf_counter() - t0
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", nargs="*", default=DEFAULT)
    ap.add_argument("--skfem", action="store_true")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.one:
        print(json.dumps(case(a.one, a.skfem)))
        return
    cols = ["case", "dofs", "elements", "read_s", "setup_s", "solver", "factor_s", "solve_s", "write_s", "run_s",
            "e2e_s", "peak_MiB", "reassembly_s"] + (["skfem_generic_s"] if a.skfem else [])
    print(" | ".join(f"{c:>12}" for c in cols))
    for s in a.sizes:
        cmd = [sys.executable, __file__, "--one", s] + (["--skfem"] if a.skfem else [])
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode != 0:
            print(f"{s}: failed: {p.stderr.strip().splitlines()[-1] if p.stderr else p.returncode}")
            continue
        r = json.loads(p.stdout.strip().splitlines()[-1])
        print(" | ".join(f"{r[c]:>12.3f}" if isinstance(r[c], float) else f"{r[c]:>12}" for c in cols), flush=True)


if __name__ == "__main__":
    main()
