"""Package3d benchmark (issue 13): the global model of every joint and the submodel of the critical joint.

    python benchmarks/bench_package3d.py time [--set key=value ...]   # the shipped study (3 designs x 3 cycles)
    python benchmarks/bench_package3d.py buildup [--array 4]         # effect of model.buildup on the joints' ΔW

`time` prints, per case, the DOF, elements, increments, Newton iterations of the global model and of the
submodel, and the wall time of each phase (global mesh, global solve, submodel mesh, submodel solve). Run the
full-size study once (it takes long on 2 shared cores); `--set` overrides make smaller variants.
`buildup` runs the flat design's global model only (model.submodel = false, 1 cycle) with the far-field
build-up merged into die and board ("merged", the default) and with full-area layers ("layers"), and prints every
joint's ΔW per cycle (conformal die layer) under both: the effect of the approximation.

Writes results under /tmp/fem_wlp_bench_package3d/.
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
STUDY = ROOT / "studies" / "package3d_flat_vs_embossed_vs_recessed.toml"
OUT = Path("/tmp/fem_wlp_bench_package3d")


def run(out: Path, sets: list[str], study: Path = STUDY) -> tuple[float, dict]:
    cmd = [sys.executable, "-m", "fem_wlp.cli.main", "run", str(study), "--out", str(out), "--quiet",
           "--workers", "1"]
    for s in sets:
        cmd += ["--set", s]
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if p.returncode not in (0, 1):
        raise SystemExit(p.stderr)
    return wall, json.loads((out / "summary.json").read_text())


def _fmt(x, spec=".4f"):
    return format(x, spec) if isinstance(x, (int, float)) else "-"


def cmd_time(a):
    wall, s = run(OUT / "time", a.set)
    print(f"package3d study: wall {wall:.1f} s on {os.cpu_count()} cores (load {os.getloadavg()[0]:.2f}), "
          f"overrides {a.set or 'none'}")
    print(f"{'case':<10}{'model':<10}{'dofs':>9}{'elems':>9}{'incr':>6}{'newton':>8}{'mesh s':>8}{'solve s':>9}"
          f"{'ΔW MPa':>9}{'Δε_in':>10}")
    for c in s["cases"]:
        ph = c.get("timing_phases_s", {})
        g, sub = c.get("global") or {}, c.get("submodel") or {}
        cj = g.get("critical_joint")
        gdw = next((j["dW_per_cycle_MPa"] for j in g.get("joints", []) if j["index"] == cj), None)
        print(f"{c['name']:<10}{'global':<10}{g.get('dofs', 0):>9}{g.get('elements', 0):>9}"
              f"{g.get('increments', 0):>6}{g.get('newton_iterations', 0):>8}{_fmt(ph.get('global_mesh'), '.1f'):>8}"
              f"{_fmt(ph.get('global_solve'), '.1f'):>9}{_fmt(gdw):>9}{'':>10}  critical joint {cj}")
        print(f"{'':<10}{'submodel':<10}{sub.get('dofs', 0):>9}{sub.get('elements', 0):>9}"
              f"{sub.get('increments', 0):>6}{sub.get('newton_iterations', 0):>8}"
              f"{_fmt(ph.get('submodel_mesh'), '.1f'):>8}{_fmt(ph.get('submodel_solve'), '.1f'):>9}"
              f"{_fmt(sub.get('dW_per_cycle_MPa')):>9}{_fmt(sub.get('deps_in_per_cycle'), '.5f'):>10}"
              f"  {c['status']}, life ratio {_fmt(c.get('life_ratio_vs_baseline'), '.3f')}")


def cmd_buildup(a):
    text = STUDY.read_text()
    second = text.index("[[designs]]", text.index("[[designs]]") + 1)
    study = OUT / "flat_only.toml"
    OUT.mkdir(parents=True, exist_ok=True)
    study.write_text(text[:second] + text[text.index("[mesh]"):])
    die = max(3.5, a.array * 0.4)
    base = [f"geometry.array_size={a.array}", f"geometry.die_size={die}", "model.submodel=false", "load.cycles=1",
            'output.fields="last"'] + a.set
    res = {}
    for b in ("merged", "layers"):
        wall, s = run(OUT / f"buildup_{b}", base + [f'model.buildup="{b}"'], study)
        c = s["cases"][0]
        res[b] = (wall, c)
        print(f"buildup {b}: status {c['status']}, dofs {c['global']['dofs']}, wall {wall:.1f} s")
    print(f"{'joint':>6}{'dnp mm':>8}{'merged':>10}{'layers':>10}{'merged/layers':>15}")
    for jm, jl in zip(res["merged"][1]["global"]["joints"], res["layers"][1]["global"]["joints"]):
        m, ly = jm["dW_per_cycle_MPa"], jl["dW_per_cycle_MPa"]
        print(f"{jm['index']:>6}{jm['dnp_mm']:>8.3f}{_fmt(m):>10}{_fmt(ly):>10}"
              f"{_fmt(m / ly if m and ly else None, '.3f'):>15}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("time")
    t.add_argument("--set", action="append", default=[])
    b = sub.add_parser("buildup")
    b.add_argument("--array", type=int, default=4)
    b.add_argument("--set", action="append", default=[])
    a = ap.parse_args()
    {"time": cmd_time, "buildup": cmd_buildup}[a.cmd](a)


if __name__ == "__main__":
    main()
