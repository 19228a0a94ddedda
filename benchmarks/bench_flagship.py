"""Flagship study benchmark (issue 5): wall time at the default settings, and the mesh-refinement study showing
whether the stabilised ΔW of the critical layer is converged to within 5 %.

    python benchmarks/bench_flagship.py time                  # the flagship as shipped (3 designs, 3 cycles)
    python benchmarks/bench_flagship.py refine [--cycles 2]   # ΔW vs mesh size (size_fine halved twice), P1 and P2

Prints tables; writes results under /tmp/fem_wlp_bench_flagship/.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STUDY = ROOT / "studies" / "flat_vs_embossed_vs_recessed.toml"
OUT = Path("/tmp/fem_wlp_bench_flagship")


def run(out: Path, sets: list[str]) -> tuple[float, dict]:
    cmd = [sys.executable, "-m", "fem_wlp.cli.main", "run", str(STUDY), "--out", str(out), "--quiet"]
    for s in sets:
        cmd += ["--set", s]
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if p.returncode not in (0, 1):
        raise SystemExit(p.stderr)
    return wall, json.loads((out / "summary.json").read_text())


def cmd_time(_a):
    wall, s = run(OUT / "default", [])
    print(f"flagship as shipped: wall {wall:.1f} s on {os.cpu_count()} cores (load {os.getloadavg()[0]:.2f})")
    print(f"{'case':<10}{'dofs':>8}{'incr':>6}{'newton':>8}{'case s':>8}{'ΔW MPa':>10}{'ratio':>8}")
    for c in s["cases"]:
        print(f"{c['name']:<10}{c.get('dofs', 0):>8}{c.get('increments', 0):>6}{c.get('newton_iterations', 0):>8}"
              f"{c.get('wall_time_s', 0):>8.1f}{c.get('dW_per_cycle_MPa') or float('nan'):>10.4f}"
              f"{c.get('life_ratio_vs_baseline') or float('nan'):>8.3f}")


def cmd_refine(a):
    rows = []
    levels = [(0.016, 0.012), (0.008, 0.006), (0.004, 0.003)]
    for order in a.orders:
        for fine, layer in levels[: a.levels]:
            sets = [f"load.cycles={a.cycles}", f"mesh.size_fine={fine}", f"mesh.size_layer={layer}",
                    f"mesh.order={order}", 'output.fields="last"']
            wall, s = run(OUT / f"refine_p{order}_{fine}", sets)
            for c in s["cases"]:
                rows.append((order, fine, c["name"], c.get("dofs"), c.get("dW_per_cycle_MPa"),
                             c.get("life_ratio_vs_baseline"), c.get("wall_time_s")))
            print(f"order {order}, size_fine {fine}: wall {wall:.1f} s", flush=True)
    print(f"\n{'order':>5}{'size_fine':>10}{'case':>10}{'dofs':>8}{'ΔW MPa':>10}{'Δ vs finest':>12}{'ratio':>8}{'s':>8}")
    for r in rows:
        finest = [x for x in rows if x[0] == r[0] and x[2] == r[2]][-1]
        rel = (r[4] - finest[4]) / finest[4] if r[4] and finest[4] else float("nan")
        print(f"{r[0]:>5}{r[1]:>10}{r[2]:>10}{r[3]:>8}{r[4] or float('nan'):>10.4f}{100 * rel:>11.1f}%"
              f"{r[5] or float('nan'):>8.3f}{r[6] or 0:>8.1f}")


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("time")
    r = sub.add_parser("refine")
    r.add_argument("--cycles", type=int, default=2)
    r.add_argument("--levels", type=int, default=3)
    r.add_argument("--orders", type=int, nargs="*", default=[1])
    a = ap.parse_args()
    {"time": cmd_time, "refine": cmd_refine}[a.cmd](a)


if __name__ == "__main__":
    main()
