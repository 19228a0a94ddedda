"""The 2D slice with unit and with equivalent joint-row width (model.slice_width) against the 3D package model
(issue 13 item 4).

    python benchmarks/bench_slice_width.py [--array 2] [--die 1.0] [--ext 0.3] [--cycles 1] [--max-dT 40]

One design (the shipped package3d study's first, the polymer-defined flat pad) at the coarse package3d
setting of tests/test_package3d.py (a 2 x 2 array on a 1 mm die, board 0.3 mm beyond it, one JESD22-A104 G cycle
on a 40 °C grid, linear submodel), three runs with the same design, load, materials and contact settings:

1. package3d with model.compare_with = ["slice2d"] and model.slice_width = "equivalent" (the compare_with
   slice carries the study's width: its model_comparison row says which);
2. slice2d, model.slice_width = "unit" (the slice as it was);
3. slice2d, model.slice_width = "equivalent" (must give the compare_with row of run 1: checked).

Printed per model: the joint's out-of-plane width; ΔW per cycle of the corner joint over its conformal die-side
layer (the rule the package3d global model reports per joint, comparable across models) and the model's
headline ΔW (the study's averaging rule; package3d: its submodel); the die-to-board relative displacement at
the corner joint between the hot and the cold extreme of the last cycle (silicon face minus laminate surface on
the joint axis, along the diagonal) as a fraction of the free mismatch (alpha_die - alpha_board) dT x DNP.
Reference: the package3d global model (its joints are coarse: model.joint_size 0.025 mm) and its submodel.

Writes under /tmp/fem_wlp_bench_slice_width/.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import time
from pathlib import Path

import numpy as np

from fem_wlp.io.results import read_history
from fem_wlp.materials import material_from_spec
from fem_wlp.reporting.plots import read_mesh_file, read_pvd
from fem_wlp.study.load import load_study
from fem_wlp.wlcsp.geometry import joints_for
from fem_wlp.workflows.study import run_study_file

ROOT = Path(__file__).resolve().parent.parent
STUDY = ROOT / "studies" / "package3d_flat_vs_embossed_vs_recessed.toml"
OUT = Path("/tmp/fem_wlp_bench_slice_width")


def _studies(out: Path) -> tuple[Path, Path]:
    """The shipped package3d study with its first design only, and the same as a slice2d study ([model] replaced:
    the package3d keys do not apply to the slice)."""
    text = STUDY.read_text()
    first_end = text.index("[[designs]]", text.index("[[designs]]") + 1)
    p3d = text[:first_end] + text[text.index("[mesh]"):]
    m0 = p3d.index("[model]")
    m1 = p3d.index("[geometry]")
    sl = p3d[:m0] + '[model]\nkind = "slice2d"\n\n' + p3d[m1:]
    out.mkdir(parents=True, exist_ok=True)
    (out / "p3d.toml").write_text(p3d)
    (out / "slice.toml").write_text(sl)
    return out / "p3d.toml", out / "slice.toml"


def _run(study: Path, out: Path, sets: list[str]) -> tuple[float, dict]:
    t0 = time.perf_counter()
    rc = run_study_file(str(study), str(out), overrides=sets, workers=1, scheduler=None, quiet=True)
    wall = time.perf_counter() - t0
    if rc not in (0, 1):
        raise SystemExit(f"run of {study} failed with exit {rc}")
    return wall, json.loads((out / "summary.json").read_text())


def _extremes(case_dir: Path, prof) -> dict[str, tuple[float, float, Path]]:
    """{"hot", "cold"}: (time, T, vtu) of the last snapshot at the last cycle's highest / lowest temperature."""
    snaps = read_pvd(case_dir / "fields.pvd")
    h = read_history(case_dir / "history.csv")
    times = np.asarray(h["time_s"], float)
    last = max(int(prof.cycle_of(t)) for t, _ in snaps)
    cand = [(t, float(prof.T(t)), f) for t, f in snaps if int(prof.cycle_of(t)) == last and
            np.any(np.isclose(times, t, rtol=1e-9, atol=1e-6))]
    Tmax, Tmin = max(c[1] for c in cand), min(c[1] for c in cand)
    return {"hot": [c for c in cand if c[1] >= Tmax - 1e-9][-1], "cold": [c for c in cand if c[1] <= Tmin + 1e-9][-1]}


def _axis_u(vtu: Path, axis_xy, plane: float, vertical: int) -> float:
    """Displacement along the diagonal (the joint's direction from the package centre) of the vertex on the plane
    `plane` (y in 2D, z in 3D; the nearest vertex plane) nearest to the joint axis."""
    m = read_mesh_file(vtu)
    p, u = np.asarray(m.points), np.asarray(m.point_data["displacement"])
    zs = p[:, vertical]
    z0 = zs[np.argmin(np.abs(zs - plane))]
    on = np.flatnonzero(np.abs(zs - z0) < 1e-7)
    if vertical == 1:                                  # slice: x along the diagonal
        k = on[np.argmin(np.abs(p[on, 0] - axis_xy[0]))]
        return float(u[k, 0])
    d = np.hypot(p[on, 0] - axis_xy[0], p[on, 1] - axis_xy[1])
    k = on[np.argmin(d)]
    r = math.hypot(*axis_xy)
    return float((u[k, 0] * axis_xy[0] + u[k, 1] * axis_xy[1]) / r)


def _free_strain(spec, region: str, T: float, axis: int) -> float:
    mat = material_from_spec(region, spec.materials[region])
    if hasattr(mat, "oriented"):
        mat = mat.oriented(axis)
    return float(mat.thermal_strain(np.array([T]), spec.load.stress_free_temperature)[0, 0])


def relative_displacement(case_dir: Path, spec, axis_xy, y_face: float, vertical: int) -> dict:
    """Die-to-board relative displacement at the joint between the hot and cold extremes, and the free mismatch."""
    ex = _extremes(case_dir, spec.profile)
    rel, free = {}, {}
    dnp = math.hypot(*axis_xy) if vertical == 2 else axis_xy[0]
    for k, (_t, T, f) in ex.items():
        rel[k] = _axis_u(f, axis_xy, y_face, vertical) - _axis_u(f, axis_xy, 0.0, vertical)
        free[k] = (_free_strain(spec, "die", T, vertical) - _free_strain(spec, "board", T, vertical)) * dnp
    d_rel, d_free = rel["hot"] - rel["cold"], free["hot"] - free["cold"]
    return {"T_hot": ex["hot"][1], "T_cold": ex["cold"][1], "relative_um": 1e3 * d_rel, "free_um": 1e3 * d_free,
            "fraction": d_rel / d_free}


def _corner_die_layer(case: dict) -> float | None:
    j = max(case.get("joints") or [], key=lambda e: int(e["joint"]), default=None)
    return ((j or {}).get("die_layer") or {}).get("dW_MPa")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--array", type=int, default=2)
    ap.add_argument("--die", type=float, default=1.0)
    ap.add_argument("--ext", type=float, default=0.3)
    ap.add_argument("--cycles", type=int, default=1)
    ap.add_argument("--max-dT", type=float, default=40.0)
    a = ap.parse_args(argv)
    out = OUT / f"a{a.array}_c{a.cycles}"
    p3d, sl = _studies(out)
    common = [f"geometry.array_size={a.array}", f"geometry.die_size={a.die}", f"geometry.board_extension={a.ext}",
              f"load.cycles={a.cycles}", f"load.max_dT={a.max_dT}", "load.min_dwell_steps=2",
              'output.fields="corners"', 'solver.step_control="grid"']
    runs = {}
    wall, s = _run(p3d, out / "package3d", common + ["model.submodel_order=1", 'model.compare_with=["slice2d"]',
                                                       'model.slice_width="equivalent"'])
    runs["package3d"] = (wall, s)
    for w in ("unit", "equivalent"):
        runs[w] = _run(sl, out / f"slice_{w}", common + [f'model.slice_width="{w}"'])
    load = os.getloadavg()[0]
    # geometry of the corner joint
    c3 = runs["package3d"][1]["cases"][0]
    specs = load_study(p3d, overrides=common)
    j, _ = joints_for(specs.geometry, specs.designs[0], specs.mesh, "slice2d")
    cj = c3["global"]["critical_joint"]
    xy = c3["mesh"]["joint_xy_mm"][-1]                  # the joint farthest from the centre (the corner)
    rows = []
    g3 = relative_displacement(out / "package3d" / "cases" / c3["name"] / "global", specs, xy, j.y_face, 2)
    gdw = c3["global"]["joints"][-1]["dW_per_cycle_MPa"]
    rows.append(("package3d global", "3D", gdw, None, g3))
    rows.append(("package3d submodel", "3D", None, c3["submodel"]["dW_per_cycle_MPa"], None))
    for w in ("unit", "equivalent"):
        c = runs[w][1]["cases"][0]
        sspec = load_study(sl, overrides=common + [f'model.slice_width="{w}"'])
        dnp = c["mesh"]["joint_positions"][-1]
        d = relative_displacement(out / f"slice_{w}" / "cases" / c["name"], sspec, (dnp, 0.0), j.y_face, 1)
        width = (c.get("slice_width") or {}).get("width", 1.0)
        rows.append((f"slice2d {w}", f"{width:.4f}", _corner_die_layer(c), c["dW_per_cycle_MPa"], d))
    comp = {r["model"]: r for r in c3.get("model_comparison") or []}
    sub = c3["submodel"]["dW_per_cycle_MPa"]
    print(f"slice width vs package3d: array {a.array}x{a.array}, die {a.die} mm, board +{a.ext} mm, "
          f"{a.cycles} JESD22-A104 G cycle(s) on a {a.max_dT:g} °C grid, flat polymer-defined pad; corner joint "
          f"DNP {math.hypot(*xy):.4f} mm (critical joint {cj}); wall package3d {runs['package3d'][0]:.0f} s, slices "
          f"{runs['unit'][0]:.0f} / {runs['equivalent'][0]:.0f} s (load {load:.2f})")
    print(f"{'model':<20}{'width':>8}{'ΔW die layer':>14}{'/ global':>10}{'ΔW headline':>13}{'/ submodel':>12}"
          f"{'Δu_rel µm':>11}{'free µm':>9}{'fraction':>10}")
    for name, width, dl, hd, d in rows:
        f = (lambda x, s=".4f": format(x, s) if isinstance(x, (int, float)) else "-")
        print(f"{name:<20}{width:>8}{f(dl):>14}{f(dl / gdw if dl else None, '.3f'):>10}{f(hd):>13}"
              f"{f(hd / sub if hd and sub else None, '.3f'):>12}{f(d and d['relative_um'], '.3f'):>11}"
              f"{f(d and d['free_um'], '.3f'):>9}{f(d and d['fraction'], '.3f'):>10}")
    sw = comp.get("slice2d") or {}
    eq = runs["equivalent"][1]["cases"][0]["dW_per_cycle_MPa"]
    print(f"compare_with row: slice2d {sw.get('slice_width')}, ΔW {sw.get('dW_per_cycle_MPa')} "
          f"({'equal to' if sw.get('dW_per_cycle_MPa') == eq else 'DIFFERENT from'} the standalone equivalent run "
          f"{eq}); hot / cold {g3['T_hot']:g} / {g3['T_cold']:g} °C")


if __name__ == "__main__":
    main()
