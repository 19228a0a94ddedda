"""Thermal-cycle benchmark (issue 4): a ~50k-DOF 2D generalized-plane-strain cross-section of a die on a board
joined by a row of SAC305 (Anand) joints, 3 cycles of JESD22-A104 G, stress-free at 217 °C.

Prints wall time, increments, Newton iterations, cutbacks, time per phase (Discretization.timing), residual
histories of a few increments, and the ratio of the total time to one linear elastic solve of the same model
(same mesh, all-elastic materials, one increment, fresh Discretization including setup). Target (issue 4): the
3-cycle run costs at most 50 linear elastic solves. Not a timed test: the machine may be shared, so the load
average is printed before and after.

    python benchmarks/bench_cycle.py                  # the 50k-DOF 3-cycle run
    python benchmarks/bench_cycle.py --nx 60          # a smaller mesh (nx elements across the half width)
    python benchmarks/bench_cycle.py --reuse          # keep factorizations as CG preconditioners
    python benchmarks/bench_cycle.py --condense off   # factorize the whole model every iteration
    python benchmarks/bench_cycle.py --grid           # the grid's steps (solver.step_control = "grid"), no error
                                                      # control; --tolerance 1e-6: the controlled run's bound
    python benchmarks/bench_cycle.py --study          # longer versions of the convergence tests of
                                                      # tests/test_verification_inelastic.py (mesh r = 2..16,
                                                      # max_dT = 10 ... 1.25 °C)
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from fem_wlp.runtime import limit_threads

limit_threads()          # before numpy loads: OpenBLAS on one thread, as the fem-wlp command does

import numpy as np  # noqa: E402
import skfem  # noqa: E402

from fem_wlp.materials import material_from_spec
from fem_wlp.fe.mesh import FEMesh
from fem_wlp.fe.postprocess import region_averages
from fem_wlp.fe.problem import Model, Temperature, boundary_constraint, point_constraint
from fem_wlp.wlcsp.profiles import profile_from_spec
from fem_wlp.fe.solver.discretization import Discretization
from fem_wlp.fe.solver.settings import SolverSettings
from fem_wlp.fe.solver import run

HALF_W, H_BOARD, H_JOINT, H_DIE = 2.0, 0.5, 0.1, 0.3     # mm
PITCH, JOINT_W = 0.4, 0.2                               # joints centred at 0.2 + 0.4 k, k = 0..4
ELASTIC_SOLDER = {"model": "elastic", "E": 46500.0, "nu": 0.40, "alpha": 22.5e-6}


def joint_row_mesh(nx: int = 120) -> FEMesh:
    """Q-mesh of the half cross-section (x >= 0, symmetry at x = 0); the gaps between joints are removed.
    nx elements across the half width (multiple of 20 so that joint edges are on grid lines)."""
    assert nx % 20 == 0
    dx = HALF_W / nx
    ny_b, ny_j, ny_d = (max(2, int(round(h / dx * f))) for h, f in ((H_BOARD, 0.8), (H_JOINT, 1.7), (H_DIE, 0.9)))
    ys = np.concatenate([np.linspace(0, H_BOARD, ny_b + 1), np.linspace(H_BOARD, H_BOARD + H_JOINT, ny_j + 1)[1:],
                         np.linspace(H_BOARD + H_JOINT, H_BOARD + H_JOINT + H_DIE, ny_d + 1)[1:]])
    m = skfem.MeshQuad.init_tensor(np.linspace(0, HALF_W, nx + 1), ys)
    c = m.p[:, m.t].mean(axis=1)
    in_layer = (c[1] > H_BOARD) & (c[1] < H_BOARD + H_JOINT)
    in_joint = np.abs(((c[0] - PITCH / 2) + PITCH / 2) % PITCH - PITCH / 2) < JOINT_W / 2
    m = m.remove_elements(np.flatnonzero(in_layer & ~in_joint))
    m = m.with_subdomains({"board": lambda x: x[1] < H_BOARD,
                           "solder": lambda x: (x[1] > H_BOARD) & (x[1] < H_BOARD + H_JOINT),
                           "die": lambda x: x[1] > H_BOARD + H_JOINT})
    return FEMesh.from_skfem(m.with_boundaries({"sym": lambda x: np.isclose(x[0], 0.0)}))


def model(fm: FEMesh, solder, temperature) -> Model:
    f_ = "generalized_plane_strain"
    mats = {"board": material_from_spec("board", "FR4"), "solder": material_from_spec("solder", solder),
            "die": material_from_spec("die", "Si")}
    c1 = boundary_constraint(fm, "sym", ["x"], formulation=f_)
    c2, _ = point_constraint(fm, [0.0, 0.0], ["y"], formulation=f_)
    return Model(fm, f_, mats, (c1, c2), temperature, order=2)


def elastic_solve_time(fm: FEMesh) -> tuple[float, int]:
    """One linear elastic solve of the same model: fresh Discretization (setup) + one 217 -> 25 °C increment."""
    t0 = time.perf_counter()
    mod = model(fm, ELASTIC_SOLDER, Temperature.uniform_step(217.0, 25.0))
    disc = Discretization(mod, SolverSettings())
    frames = list(run(mod, [0.0, 1.0], disc=disc))
    return time.perf_counter() - t0, frames[-1].iterations


def cycle_benchmark(nx: int, cycles: int, reuse: bool = False, condense: str = "auto", rtol: float | None = None,
                    all_regions: bool = False, grid: bool = False, tolerance: float | None = None):
    load0 = os.getloadavg()
    fm = joint_row_mesh(nx)
    # warm-up (imports, MKL/pypardiso initialisation) so that neither timing pays it
    elastic_solve_time(joint_row_mesh(20))
    t_el = min(elastic_solve_time(fm)[0] for _ in range(3))
    prof = profile_from_spec({"profile": "JESD22-A104-G", "cycles": cycles, "stress_free_temperature": 217.0})
    mod = model(fm, "SAC305", Temperature(217.0, prof.T, corners=tuple(prof.corners)))
    t0 = time.perf_counter()
    kw = {} if rtol is None else {"rtol": rtol}
    kw["step_control"] = "grid" if grid else "error"
    if tolerance is not None:
        kw["tolerance"] = tolerance
    disc = Discretization(mod, SolverSettings(reuse_factorization=reuse, condense=condense, **kw))
    times = prof.steps()
    per_cycle, shown, hist = {}, [], []
    last_print = 0.0
    for f in run(mod, times, disc=disc):
        # the benchmark's consumer reads the solder; --all-regions reads every region as history.csv does,
        # which completes each condensed frame (interior recovery + elastic stresses)
        avg = region_averages(disc, f, regions=None if all_regions else ("solder",))
        hist.append((f.time, avg["solder.w_in"], avg["solder.eps_in_eq"]))
        if f.index in (1, 2) or (len(f.residuals) >= 4 and len(shown) < 6):
            shown.append((f.index, round(float(f.time), 1), f.cutbacks, ["%.1e" % r for r in f.residuals]))
        if time.perf_counter() - last_print > 10.0:
            last_print = time.perf_counter()
            print(f"  t = {f.time:7.0f} s  cycle {prof.cycle_of(f.time)}  T = {prof.T(f.time):6.1f} °C  "
                  f"increment {f.index}  wall {last_print - t0:6.1f} s", file=sys.stderr, flush=True)
    wall = time.perf_counter() - t0
    load1 = os.getloadavg()
    ht = np.array([h[0] for h in hist])
    for k, (ta, tb) in enumerate(prof.cycle_bounds):
        wa = np.interp(ta, ht, [h[1] for h in hist])
        wb = np.interp(tb, ht, [h[1] for h in hist])
        per_cycle[k + 1] = wb - wa
    c = disc.counts
    print(f"\n3-cycle Anand thermal-cycle benchmark: die/5 SAC305 joints/board, GPS, Q2, "
          f"{disc.ndof} DOF (+1), {fm.nelements} elements, JESD22-A104-G x {cycles}, from 217 °C, "
          f"reuse_factorization={reuse}, condense={condense} "
          f"({'used' if disc.condensation() else 'not used'}), rtol={disc.settings.rtol:g}, "
          f"step_control={disc.settings.step_control}"
          + (f" (tolerance {disc.settings.tolerance:g})" if disc.settings.step_control == "error" else "") + ", "
          f"consumer reads {'every region' if all_regions else 'the solder'}")
    print(f"load average before {tuple(round(x, 2) for x in load0)}, after {tuple(round(x, 2) for x in load1)}, "
          f"{os.cpu_count()} CPUs")
    rows = [("DOF", f"{disc.ndof}"), ("grid times", f"{len(times) - 1}"),
            ("increments (converged)", f"{c['increments']}"), ("cutbacks", f"{c['cutbacks']}"),
            ("rejected (error control)", f"{c.get('rejected', 0)}"),
            ("Newton iterations", f"{c['newton_iterations']}"),
            ("iterations / increment", f"{c['newton_iterations'] / max(c['increments'], 1):.2f}"),
            ("tangent assemblies", f"{c['assemblies']}"),
            ("linear solver", f"{disc.linear.stats}"),
            ("wall time, total (s)", f"{wall:.1f}")]
    rows += [(f"  {k} (s)", f"{v:.1f}") for k, v in disc.timing.items()]
    rows += [("  other (s)", f"{wall - sum(disc.timing.values()):.1f}"),
             ("one linear elastic solve incl. setup (s)", f"{t_el:.2f}"),
             ("total / elastic solve", f"{wall / t_el:.1f}   (target <= 50)")]
    rows += [(f"solder dW_in cycle {k} (MPa)", f"{v:.5f}") for k, v in per_cycle.items()]
    w = max(len(r[0]) for r in rows)
    for a, b in rows:
        print(f"{a:<{w}}  {b}")
    print("residual histories (increment, time s, cutbacks, relative residual per Newton iteration):")
    for s in shown:
        print("  ", s)


def convergence_study():
    """Longer versions of the time-step and mesh studies of the test suite (1 cycle, sandwich)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from test_verification_inelastic import cycle_run

    def order(d):
        d = np.asarray(d)
        return [float(np.log2(abs(d[i + 1] - d[i]) / abs(d[i + 2] - d[i + 1]))) for i in range(len(d) - 2)]

    dts = [(10.0, 5), (5.0, 10), (2.5, 20), (1.25, 40), (0.625, 80)]
    dW = []
    for dT, n in dts:
        t0 = time.perf_counter()
        r = cycle_run(2, dT, n)
        dW.append(r["dW"])
        print(f"time: max_dT {dT:6.3f} °C  increments {r['counts']['increments']:5d}  dW {r['dW']:.6f} MPa  "
              f"({time.perf_counter() - t0:.1f} s)")
    print("observed orders (time):", [round(x, 3) for x in order(dW)])
    dW = []
    for lev in (1, 2, 4, 8, 16):
        t0 = time.perf_counter()
        r = cycle_run(lev, 10.0, 5)
        dW.append(r["dW"])
        print(f"mesh: r {lev:3d}  {r['ndof']:7d} DOF  dW {r['dW']:.6f} MPa  ({time.perf_counter() - t0:.1f} s)")
    print("observed rates (mesh):", [round(x, 3) for x in order(dW)])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nx", type=int, default=120, help="elements across the half width (multiple of 20)")
    ap.add_argument("--cycles", type=int, default=3)
    ap.add_argument("--reuse", action="store_true", help="SolverSettings(reuse_factorization=True)")
    ap.add_argument("--study", action="store_true", help="time-step and mesh convergence studies instead")
    ap.add_argument("--condense", default="auto", choices=("auto", "on", "off"),
                    help="static condensation of the elastic die and board (SolverSettings.condense)")
    ap.add_argument("--rtol", type=float, default=None, help="Newton tolerance (default: SolverSettings)")
    ap.add_argument("--grid", action="store_true", help='solver.step_control = "grid" (no error control)')
    ap.add_argument("--tolerance", type=float, default=None, help="solver.tolerance of the controlled run")
    ap.add_argument("--all-regions", action="store_true",
                    help="read every region's averages per increment (as history.csv), not only the solder's")
    a = ap.parse_args()
    if a.study:
        convergence_study()
    else:
        cycle_benchmark(a.nx, a.cycles, a.reuse, a.condense, a.rtol, a.all_regions, a.grid, a.tolerance)


if __name__ == "__main__":
    main()
