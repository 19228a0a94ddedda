"""Console output of `fem-wlp run`: the table of a study's cases and the summary of a mesh-file study."""
from __future__ import annotations

import sys


def print_table(s: dict):
    print(f"\n{s['study']}: {s['model']}, {s['profile']}")
    used = sorted({(c.get("averaging") or {}).get("used") for c in s["cases"]} - {None})
    if used:
        print(f"ΔW averaging: {'/'.join(used)}" + (f" (fatigue.averaging = {s.get('averaging')!r} not available: "
                                                    "see report.md)" if s.get("averaging") not in used else ""))
    print(f"{'case':<28}{'status':<8}{'joint':>6}{'layer':>13}{'ΔW MPa':>10}{'Δε_in':>10}"
          f"{'N_f (' + s['primary_life_model'] + ')':>24}{'ratio':>8}{'time s':>8}")
    for c in s["cases"]:
        n = (c.get("life_cycles") or {}).get(s["primary_life_model"])
        r = c.get("life_ratio_vs_baseline")
        print(f"{c['name']:<28}{c['status']:<8}{str(c.get('critical_joint', '')):>6}"
              f"{str(c.get('critical_layer', '')):>13}{_f(c.get('dW_per_cycle_MPa')):>10}"
              f"{_f(c.get('deps_in_per_cycle')):>10}{_f(n, '.0f'):>24}{_f(r, '.3f'):>8}"
              f"{_f(c.get('wall_time_s'), '.1f'):>8}")


def print_failures(failed: list[dict]):
    print("fem-wlp run: failed case(s): " + "; ".join(f"{c['name']}: {(c.get('error') or {}).get('message', '?')}"
                                                   for c in failed), file=sys.stderr)


def print_mesh_file_summary(s: dict):
    print(f"{s['study']}: {s['status']} — {s['elements']} elements, {s['dofs']} dofs, "
          f"{s['increments']} increments, {s['newton_iterations']} Newton iterations, "
          f"solver {s['linear_solver']}, wall {s['timing_s']['wall']:.2f} s")
    print(f"{'region':<24}{'volume mm3':>12}{'max vM MPa':>12}{'max princ MPa':>15}")
    for n, r in s["regions"].items():
        o = r.get("over_history") or {}
        print(f"{n:<24}{r['volume_mm3']:12.4g}{o.get('max_von_mises_MPa', float('nan')):12.4g}"
              f"{o.get('max_principal_MPa', float('nan')):15.4g}")


def _f(v, fmt=".4g"):
    return "—" if v is None else format(v, fmt)
