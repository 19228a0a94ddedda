"""Cross-check of the planar damage layers (issue 12): per-cycle ΔW of the critical joint averaged over its
die-side planar layer and its conformal layer, re-computed from a finished slice2d run's corner field snapshots
(cell data w_in, area-weighted like the layer observers).  The conformal column must equal the run's ΔW
(summary.json) -- the check that the post-processing is the observers' -- and the planar column is then what
an observer of solder/joint<k>/die_planar_layer gives.

    python benchmarks/bench_planar_posthoc.py OUT_DIR STUDY.toml [CYCLES]

OUT_DIR: a `fem-wlp run` output with output.fields = "corners" (or "all"); CYCLES: the cycles it ran.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import meshio
import numpy as np

from fem_wlp.study.load import load_study
from fem_wlp.wlcsp.geometry.mesh_report import cell_measures, read_regions
from fem_wlp.wlcsp.regions import joint_region, layer_leaves, planar_layer


def case_rows(out: Path, case: dict, bounds) -> dict:
    cd = out / "cases" / case["name"]
    pvd = (cd / "fields.pvd").read_text()
    snaps = [(float(t), cd / f) for t, f in re.findall(r'timestep="([^"]+)".*?file="([^"]+)"', pvd)]
    m, cells, leaves, _ = read_regions(next((cd / "mesh").glob("*.msh")), "slice2d", 1)
    area = cell_measures(m.points, cells, "slice2d")
    j = case["critical_joint"]
    sets = {"planar": layer_leaves(leaves, planar_layer(j, "die")),
            "conformal": layer_leaves(leaves, joint_region(j, "die_layer"))}

    def avg(t, idx):
        tt, f = min(snaps, key=lambda s: abs(s[0] - t))
        if abs(tt - t) > 1e-3 * max(1.0, t):
            raise SystemExit(f"{case['name']}: no field snapshot at t = {t} s (output.fields = 'corners' needed)")
        w = meshio.read(f).cell_data["w_in"][0]
        return float((w[idx] * area[idx]).sum() / area[idx].sum())

    rows = {}
    for k, names in sets.items():
        if not names:
            rows[k] = None
            continue
        idx = np.concatenate([leaves[n] for n in names])
        rows[k] = [avg(b1, idx) - avg(b0, idx) for b0, b1 in bounds]
    return rows


def main(argv):
    out, study = Path(argv[0]), load_study(argv[1])
    n = int(argv[2]) if len(argv) > 2 else None
    bounds = study.profile.cycle_bounds[:n]
    summ = json.loads((out / "summary.json").read_text())
    base = summ.get("baseline")
    res = {c["name"]: (c, case_rows(out, c, bounds)) for c in summ["cases"] if c.get("status") == "ok"}
    print(f"{'case':<12}{'planar ΔW/cycle (MPa)':>36}{'conformal':>30}{'run':>10}{'ratio pl.':>10}{'ratio conf.':>12}")
    for name, (c, r) in res.items():
        b = res.get(base, (None, r))[1]
        rp = b["planar"][-1] / r["planar"][-1] if r["planar"] else float("nan")
        rc = b["conformal"][-1] / r["conformal"][-1]
        print(f"{name:<12}{' '.join(f'{x:.5f}' for x in (r['planar'] or [])):>36}"
              f"{' '.join(f'{x:.5f}' for x in r['conformal']):>30}{c['dW_per_cycle_MPa']:>10.5f}{rp:>10.4f}{rc:>12.4f}")
    print("ratio = baseline ΔW / case ΔW of the last cycle (= the Syed-energy life ratio, life ∝ 1/ΔW)")


if __name__ == "__main__":
    main(sys.argv[1:])
