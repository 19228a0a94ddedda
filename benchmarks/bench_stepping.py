"""Error-controlled against fixed time stepping (issue 15 items 3, 4): Anand Delta W per cycle at fixed steps of
10 / 5 / 2.5 °C (5 / 10 / 20 steps per dwell, solver.step_control = "grid"), the value extrapolated from them
(Richardson with the observed order), and the controlled run (default settings: the 5 °C / 10-step grid as upper
bounds, solver.tolerance), with each run's error against the extrapolated value and its cost (increments,
Newton iterations, wall time). Not a timed test: the machine may be shared (the load average is printed).

    python benchmarks/bench_stepping.py sandwich             # the 1-cycle sandwich of test_verification_inelastic
    python benchmarks/bench_stepping.py cycle [--nx 60]      # the bench_cycle joint-row model, 3 cycles
    python benchmarks/bench_stepping.py flagship             # the flagship study (3 designs, 3 cycles; minutes)
    ... --tolerance 1e-6 --tolerance 3e-7                    # controlled runs at these tolerances (default: the
                                                             # SolverSettings default)
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from fem_wlp.runtime import limit_threads

limit_threads()          # before numpy loads: OpenBLAS on one thread, as the fem-wlp command does

import numpy as np  # noqa: E402

from fem_wlp.fe.postprocess import region_averages  # noqa: E402
from fem_wlp.fe.problem import Temperature  # noqa: E402
from fem_wlp.fe.solver import SolverSettings, run  # noqa: E402
from fem_wlp.fe.solver.discretization import Discretization  # noqa: E402
from fem_wlp.wlcsp.profiles import profile_from_spec  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
FIXED = ((10.0, 5), (5.0, 10), (2.5, 20))          # (max_dT °C, min_dwell_steps)
GRID = SolverSettings(step_control="grid")


def extrapolate(d):
    """Richardson from three step sizes halved twice: (value, observed order)."""
    d = np.asarray(d, float)
    p = float(np.log2((d[1] - d[0]) / (d[2] - d[1])))
    return float(d[2] + (d[2] - d[1]) / (2 ** p - 1)), p


def solve(model, prof, settings, max_dT, dwell, cycle):
    disc = Discretization(model, settings)
    ta, tb = prof.cycle_bounds[cycle]
    w = {}
    t0 = time.perf_counter()
    for f in run(model, prof.steps(max_dT=max_dT, min_dwell_steps=dwell), disc=disc):
        for tt in (ta, tb):
            if abs(f.time - tt) < 1e-6:
                w[tt] = region_averages(disc, f, regions=("solder",))["solder.w_in"]
    c = disc.counts
    return {"dW": w[tb] - w[ta], "increments": c["increments"], "newton": c["newton_iterations"],
            "rejected": c.get("rejected", 0), "wall": time.perf_counter() - t0}


def table(title, rows, ext, order):
    print(f"\n{title}\nextrapolated dW = {ext:.6f} MPa (observed order {order:.3f}); load average "
          f"{tuple(round(x, 2) for x in os.getloadavg())}")
    print(f"{'run':<26}{'dW MPa':>11}{'error':>9}{'incr':>7}{'rejected':>9}{'newton':>8}{'wall s':>8}")
    for name, r in rows:
        print(f"{name:<26}{r['dW']:>11.6f}{100 * (r['dW'] / ext - 1):>8.3f}%{r['increments']:>7}{r['rejected']:>9}"
              f"{r['newton']:>8}{r['wall']:>8.1f}")


def model_runs(title, model, prof, cycle, tolerances):
    rows = [(f"fixed {dT:g} °C / {n} dwell", solve(model, prof, GRID, dT, n, cycle)) for dT, n in FIXED]
    ext, p = extrapolate([r["dW"] for _, r in rows])
    for tol in tolerances:
        st = SolverSettings() if tol is None else SolverSettings(tolerance=tol)
        rows.append((f"controlled tol {st.tolerance:g}", solve(model, prof, st, 5.0, 10, cycle)))
    table(title, rows, ext, p)


def cmd_sandwich(a):
    sys.path.insert(0, str(ROOT / "tests"))
    from test_verification_inelastic import PROFILE, sandwich_model

    model_runs("sandwich (tests/test_verification_inelastic.py, r = 2), 1 JESD22-A104-G cycle from 217 °C",
               sandwich_model(2), PROFILE, 0, a.tolerance)


def cmd_cycle(a):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench_cycle import joint_row_mesh, model

    prof = profile_from_spec({"profile": "JESD22-A104-G", "cycles": a.cycles, "stress_free_temperature": 217.0})
    mod = model(joint_row_mesh(a.nx), "SAC305", Temperature(217.0, prof.T, corners=tuple(prof.corners)))
    model_runs(f"bench_cycle joint row (nx {a.nx}), dW of cycle {a.cycles} of {a.cycles}", mod, prof,
               a.cycles - 1, a.tolerance)


def flagship_run(out: Path, sets: list[str]):
    cmd = [sys.executable, "-m", "fem_wlp.cli.main", "run", str(ROOT / "studies" / "flat_vs_embossed_vs_recessed.toml"),
           "--out", str(out), "--quiet", "--set", 'output.fields="none"']
    for s in sets:
        cmd += ["--set", s]
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode not in (0, 1):
        raise SystemExit(p.stderr)
    s = json.loads((out / "summary.json").read_text())
    return time.perf_counter() - t0, {c["name"]: c for c in s["cases"]}


def cmd_flagship(a):
    out = Path(a.out)
    runs = []
    for dT, n in FIXED:
        runs.append((f"fixed {dT:g} °C / {n} dwell",
                     flagship_run(out / f"fixed{dT:g}", ['solver.step_control="grid"', f"load.max_dT={dT}",
                                                        f"load.min_dwell_steps={n}"])))
    for tol in a.tolerance:
        sets = [] if tol is None else [f"solver.tolerance={tol}"]
        runs.append((f"controlled tol {tol if tol is not None else SolverSettings().tolerance:g}",
                     flagship_run(out / f"controlled{tol}", sets)))
    designs = list(runs[0][1][1])
    for d in designs:
        rows = [(name, {"dW": cases[d]["dW_per_cycle_MPa"], "increments": cases[d]["increments"], "rejected": 0,
                        "newton": cases[d]["newton_iterations"], "wall": cases[d]["wall_time_s"]})
                for name, (_, cases) in runs]
        ext, p = extrapolate([r["dW"] for _, r in rows[:3]])
        table(f"flagship, design {d}: dW per cycle of the critical layer (3rd cycle)", rows, ext, p)
    print("\nlife ratios vs flat (Syed energy):")
    for name, (wall, cases) in runs:
        print(f"  {name:<26}" + "  ".join(f"{d} {cases[d].get('life_ratio_vs_baseline') or float('nan'):.4f}"
                                          for d in designs) + f"   study wall {wall:.1f} s")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=("sandwich", "cycle", "flagship"))
    ap.add_argument("--tolerance", type=float, action="append", help="controlled run(s) at this solver.tolerance")
    ap.add_argument("--nx", type=int, default=60, help="cycle: elements across the half width (multiple of 20)")
    ap.add_argument("--cycles", type=int, default=3)
    ap.add_argument("--out", default="/tmp/fem_wlp_bench_stepping")
    a = ap.parse_args()
    a.tolerance = a.tolerance or [None]
    {"sandwich": cmd_sandwich, "cycle": cmd_cycle, "flagship": cmd_flagship}[a.what](a)


if __name__ == "__main__":
    main()
