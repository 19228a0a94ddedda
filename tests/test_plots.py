"""Plots and report of a results folder: a tiny synthetic folder (2D mesh VTU snapshots, layers.csv, summary.json)
written here, then `make_plots`, `write_report` and `fem-wlp plot DIR`."""
import json
from pathlib import Path

import meshio
import numpy as np
import pytest

from fem_wlp.cli.main import main
from fem_wlp.reporting.plots import make_plots
from fem_wlp.wlcsp.profiles import profile_from_spec
from fem_wlp.reporting.report import write_report

LOAD = {"profile": "JESD22-A104-G", "cycles": 2, "stress_free_temperature": 217.0}
REGIONS = ["die", "pi1", "cu_wiring", "solder", "board_pad", "solder_mask", "board"]
CAVEATS = {
    "syed_energy": "Syed's constants were fitted to accumulated creep energy from a Garofalo-type model; "
                   "absolute lives are order-of-magnitude, compare designs by life ratio.",
    "engelmaier": "Engelmaier is a closed-form estimate, used as a sanity envelope.",
}


def _mesh(n=10):
    """A structured triangle mesh of one joint: board, pad/mask, ball (no air cells), copper/PI, die."""
    x, y = np.meshgrid(np.linspace(0, 1, n + 1), np.linspace(0, 1, n + 1))
    pts = np.column_stack([x.ravel(), y.ravel(), np.zeros(x.size)])
    idx = lambda i, j: j * (n + 1) + i  # noqa: E731
    tris = []
    for j in range(n):
        for i in range(n):
            a, b, c, d = idx(i, j), idx(i + 1, j), idx(i + 1, j + 1), idx(i, j + 1)
            tris += [[a, b, c], [a, c, d]]
    tris = np.array(tris)
    cx, cy = pts[tris, 0].mean(1), pts[tris, 1].mean(1)
    reg = np.full(len(tris), -1)
    reg[cy < 0.2] = REGIONS.index("board")
    band = (cy >= 0.2) & (cy < 0.3)
    reg[band & (cx > 0.3) & (cx < 0.7)] = REGIONS.index("board_pad")
    reg[band & ~((cx > 0.3) & (cx < 0.7))] = REGIONS.index("solder_mask")
    reg[(cy >= 0.3) & (cy < 0.7) & (cx > 0.2) & (cx < 0.8)] = REGIONS.index("solder")
    band = (cy >= 0.7) & (cy < 0.8)
    reg[band & (cx > 0.3) & (cx < 0.7)] = REGIONS.index("cu_wiring")
    reg[band & ~((cx > 0.3) & (cx < 0.7))] = REGIONS.index("pi1")
    reg[cy >= 0.8] = REGIONS.index("die")
    keep = reg >= 0
    return pts, tris[keep], reg[keep]


def _case(name, dW, ratio, status="ok"):
    if status != "ok":
        return {"name": name, "design": name, "status": "failed",
                "error": {"type": "ConvergenceError", "message": "Newton did not converge at t = 1234 s"}}
    ms = {r: {"von_mises": 100.0 + i, "von_mises_at": [0.5, 0.5], "max_principal": 50.0 + i,
              "max_principal_at": [0.5, 0.5]} for i, r in enumerate(REGIONS)}
    joint = {"joint": 0}
    for layer, f in (("die_layer", 1.0), ("board_layer", 0.8), ("whole", 0.7)):
        joint[layer] = {"dW_MPa": dW * f, "deps_in": dW * f / 25,
                        "per_cycle": [{"cycle": 1, "dW_MPa": dW * f * 1.1, "deps_in": dW * f / 22},
                                      {"cycle": 2, "dW_MPa": dW * f, "deps_in": dW * f / 25}], "warning": None}
    return {
        "name": name, "design": name, "status": "ok", "critical_joint": 0, "critical_layer": "die_layer",
        "dW_per_cycle_MPa": dW, "deps_in_per_cycle": dW / 25,
        "per_cycle": [{"cycle": 1, "dW_MPa": dW * 1.1, "deps_in": dW / 22}, {"cycle": 2, "dW_MPa": dW, "deps_in": dW / 25}],
        "life_cycles": {"syed_energy": 3000.0 * ratio, "engelmaier": 300.0},
        "life_ratio_vs_baseline": ratio, "life_ratios_vs_baseline": {"syed_energy": ratio, "engelmaier": 1.0},
        "baseline_case": "flat", "max_stress_MPa": ms, "joints": [joint],
        "warnings": ["solder/joint0/die_layer: ΔW: cycles 1 and 2 differ by 10 % (> 5 %): not stabilised"],
        "life_inputs": {"dnp_mm": 0.5, "standoff_mm": 0.2}, "life_caveats": CAVEATS,
        "mesh": {"joint_positions": [0.5], "cell_type": "triangle"},
        "dofs": 500, "increments": 40, "newton_iterations": 90, "wall_time_s": 1.5,
    }


def _write_case(root, name, prof, scale):
    d = root / "cases" / name
    (d / "fields").mkdir(parents=True)
    pts, tris, reg = _mesh()
    cx, cy = pts[tris, 0].mean(1), pts[tris, 1].mean(1)
    solder = reg == REGIONS.index("solder")
    times = sorted({s.t1 for s in prof.segments})
    lines = []
    for k, t in enumerate(times):
        T = prof.T(t)
        dT = T - 217.0
        u = np.column_stack([-1e-3 * dT * pts[:, 1] * scale, 2e-4 * dT * pts[:, 0], np.zeros(len(pts))])
        vm = np.abs(dT) * (0.5 + cx + 2 * cy) * scale
        mp = dT * (cx - 0.5) * scale
        eps = solder * (k + 1) * 0.002 * (1 + cy) * scale
        w = solder * (k + 1) * 0.05 * (1 + cy) * scale
        stress = np.zeros((len(tris), 9))
        stress[:, 0] = mp
        m = meshio.Mesh(pts, [("triangle", tris)], point_data={"displacement": u},
                        cell_data={"stress": [stress], "von_mises": [vm], "max_principal": [mp],
                                   "region": [reg.astype(np.int32)], "eps_in_eq": [eps], "w_in": [w],
                                   "temperature": [np.full(len(tris), T)]})
        f = f"fields/step_{k:05d}.vtu"
        meshio.write(str(d / f), m)
        lines.append(f'    <DataSet timestep="{t:g}" group="" part="0" file="{f}"/>')
    (d / "fields.pvd").write_text('<?xml version="1.0"?>\n<VTKFile type="Collection" version="0.1">\n'
                                  "  <Collection>\n" + "\n".join(lines) + "\n  </Collection>\n</VTKFile>\n")
    t = np.linspace(0, prof.duration, 200)
    T = prof.T(t)
    cyc = prof.cycle_of(t)
    tau = scale * (T.max() - T) / 20
    gam = 0.01 * np.sin(2 * np.pi * t / prof.cycle_duration) + 1e-5 * t * scale
    head = ["time_s", "temperature_C", "cycle"]
    cols = [t, T, cyc]
    for layer in ("solder/joint0/die_layer", "solder/joint0/board_layer", "solder/joint0"):
        for q, v in (("w_in", t * 1e-4), ("eps_in_eq", t * 1e-6), ("von_mises", tau * 1.7), ("tau", tau),
                     ("gamma", gam)):
            head.append(f"{layer}.{q}")
            cols.append(v)
    rows = np.column_stack(cols)
    (d / "layers.csv").write_text(",".join(head) + "\n" + "\n".join(",".join(f"{v:.9g}" for v in r) for r in rows))
    (d / "case.json").write_text(json.dumps({"name": name}))


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    root = tmp_path_factory.mktemp("results")
    prof = profile_from_spec(LOAD)
    cases = [_case("flat", 0.16, 1.0), _case("embossed", 0.19, 0.87), _case("broken", None, None, "failed")]
    summary = {"study": "tiny", "fem_wlp_version": "0", "model": "slice2d", "profile": prof.describe(),
               "cycles": 2, "baseline": "flat", "primary_life_model": "syed_energy", "cases": cases, "notes": []}
    (root / "summary.json").write_text(json.dumps(summary))
    (root / "study_as_run.json").write_text(json.dumps({"load": LOAD, "designs": [{"name": "flat", "kind": "flat"}]}))
    _write_case(root, "flat", prof, 1.0)
    _write_case(root, "embossed", prof, 1.3)
    written = make_plots(root)
    return root, written


EXPECTED = ["stress_von_mises.png", "stress_max_principal.png", "stress_pad_von_mises.png",
            "stress_pad_max_principal.png", "inelastic_strain.png", "dW_last_cycle_map.png", "hysteresis.png",
            "dW_per_cycle.png", "dW_vs_dnp.png", "temperature_profile.png"]


def test_plots_exist_and_are_not_blank(results):
    import matplotlib.image as mpimg

    results, written = results
    names = {p.name for p in written}
    assert set(EXPECTED) <= names, set(EXPECTED) - names
    for n in EXPECTED:
        f = results / "plots" / n
        assert f.stat().st_size > 10_000, n
        img = mpimg.imread(f)[..., :3]
        assert img.std() > 0.05, n                        # not a blank canvas
        assert (np.abs(img - img.mean(axis=(0, 1))).sum(-1) > 0.3).mean() > 0.01, n


def test_report_has_table_caveats_and_plots(results):
    results, _ = results
    text = write_report(results).read_text()
    assert "| flat | ok | 0 | die side | 0.16 | 0.0064 |" in text
    assert "| embossed | ok | 0 | die side | 0.19 |" in text and "| 0.870 |" in text
    assert "| broken | failed |" in text
    assert "Newton did not converge at t = 1234 s" in text              # the failed case with its error
    assert "order-of-magnitude" in text and "ratios" in text
    assert "Garofalo" in text and "sanity envelope" in text
    assert "generalized plane strain" in text and "bulk specimens" in text
    assert "not stabilised" in text                                     # the stabilisation warning
    assert "| flat | 1 | 0.176 |" in text and "-9.1 %" in text          # per-cycle table with the change
    for n in EXPECTED:
        assert f"](plots/{n})" in text


def test_cli_plot(results, tmp_path, capsys):
    # a light folder (summary and study only, no field snapshots): the CLI redraws what it can and the report
    results, _ = results
    light = tmp_path / "light"
    light.mkdir()
    for f in ("summary.json", "study_as_run.json"):
        (light / f).write_text((results / f).read_text())
    assert main(["plot", str(light)]) == 0
    assert (light / "report.md").is_file()
    assert (light / "plots" / "dW_per_cycle.png").is_file()
    assert main(["plot", str(tmp_path / "nowhere")]) == 2
    assert main(["plot", str(tmp_path)]) == 2
    assert "a results folder with summary.json" in capsys.readouterr().err


def _damaged_copy(results, tmp_path, name):
    import shutil

    d = tmp_path / name
    shutil.copytree(results, d, ignore=shutil.ignore_patterns("plots", "report.md"))
    return d


@pytest.mark.parametrize("what, damage, names", [
    ("truncated summary", lambda d: (d / "summary.json").write_text((d / "summary.json").read_text()[:500]),
     ["summary.json", "not valid JSON"]),
    ("summary not a table", lambda d: (d / "summary.json").write_text("[1, 2]"), ["summary.json", "list"]),
    ("summary not UTF-8", lambda d: (d / "summary.json").write_bytes(b"\xff\xfe\x80{}"), ["summary.json", "UTF-8"]),
    ("case without a name", lambda d: (d / "summary.json").write_text(json.dumps(
        {**json.loads((d / "summary.json").read_text()), "cases": [{"status": "ok"}]})), ["summary.json", "name"]),
    ("truncated layers.csv", lambda d: (d / "cases/flat/layers.csv").write_text(
        (d / "cases/flat/layers.csv").read_text()[:3000]), ["cases/flat/layers.csv", "truncated"]),
    ("layers.csv not numbers", lambda d: (d / "cases/flat/layers.csv").write_text("a,b\n1,x\n"),
     ["cases/flat/layers.csv", "not a number"]),
    ("corrupt VTU", lambda d: [f.write_text("garbage") for f in (d / "cases/embossed/fields").glob("*.vtu")],
     ["cases/embossed/fields/step_", ".vtu", "not a readable"]),
    ("corrupt fields.pvd", lambda d: (d / "cases/flat/fields.pvd").write_text("<VTK"),
     ["cases/flat/fields.pvd", "not a readable"]),
])
def test_cli_plot_damaged_folder_is_one_message(results, tmp_path, capsys, what, damage, names):
    d = _damaged_copy(results[0], tmp_path, "damaged")
    damage(d)
    assert main(["plot", str(d)]) == 2, what
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if "error:" in line]
    assert len(lines) == 1, err
    for n in names:
        assert n in lines[0], (what, lines[0])
    assert "damaged" in lines[0]
    assert not (d / "report.md").exists()


def test_cli_plot_missing_pieces_skip_with_a_warning(results, tmp_path, capsys):
    import shutil

    d = _damaged_copy(results[0], tmp_path, "partial")
    (d / "cases/flat/layers.csv").unlink()                      # no hysteresis of flat
    (d / "cases/embossed/fields.pvd").unlink()                  # no maps of embossed
    (d / "provenance.json").write_text("{")                     # report without the provenance details
    assert main(["plot", str(d)]) == 0
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "cases/flat/layers.csv is missing" in err
    assert "cases/embossed/fields.pvd is missing" in err
    assert "provenance.json is not valid JSON" in err
    assert (d / "plots" / "hysteresis.png").is_file()           # embossed's
    assert (d / "plots" / "stress_von_mises.png").is_file()     # flat's maps
    assert "## Provenance" in (d / "report.md").read_text()
    shutil.rmtree(d / "cases/embossed")                         # a whole case folder missing
    (d / "plots" / "hysteresis.png").unlink()
    assert main(["plot", str(d)]) == 0
    err = capsys.readouterr().err
    assert "cases/embossed is missing" in err and "Traceback" not in err
    assert not (d / "plots" / "hysteresis.png").exists()        # no case has layers any more
    assert (d / "plots" / "dW_per_cycle.png").is_file()


def test_serial_and_two_process_plots_write_the_same_files(results, tmp_path):
    d1 = _damaged_copy(results[0], tmp_path, "serial")
    d2 = _damaged_copy(results[0], tmp_path, "forked")
    one = make_plots(d1, workers=1)
    two = make_plots(d2, workers=2)
    assert [p.name for p in one] == [p.name for p in two]
    assert [p.name for p in two] == [p.name for p in results[1]]


def test_sweep_report_shows_a_twin_baseline_once_and_plots_against_the_parameter(results, tmp_path):
    results, _ = results
    base = json.loads((results / "summary.json").read_text())
    cases = []
    for p, dWf, dWe in ((0.11, 0.16, 0.19), (0.13, 0.16, 0.18), (0.15, 0.16, 0.17)):
        sw = {"design.ring_outer_diameter": p}
        f = {**_case(f"flat@ring_outer_diameter={p}", dWf, 1.0), "design": "flat", "sweep": sw,
             "baseline_case": f"flat@ring_outer_diameter={p}"}
        if p != 0.11:
            f["same_as"] = "flat@ring_outer_diameter=0.11"
        e = {**_case(f"embossed@ring_outer_diameter={p}", dWe, dWf / dWe), "design": "embossed", "sweep": sw,
             "baseline_case": f"flat@ring_outer_diameter={p}"}
        cases += [f, e]
    d = tmp_path / "sweep"
    d.mkdir()
    (d / "summary.json").write_text(json.dumps({**base, "model": "axisym", "cases": cases}))
    (d / "study_as_run.json").write_text((results / "study_as_run.json").read_text())
    written = {p.name for p in make_plots(d)}
    assert "sweep.png" in written and "dW_vs_dnp.png" not in written      # axisym: one joint, no DNP axis
    text = write_report(d).read_text()
    for section in ("## Comparison", "## Stresses", "## Provenance"):       # the baseline once in every table
        part = text.split(section)[1].split("\n## ")[0]
        tables = [b for b in part.split("\n\n") if b.startswith("| design")]
        assert tables, section
        for t in tables:
            assert t.count("| flat@ring_outer_diameter=") == 1, (section, t)
            assert t.count("| embossed@ring_outer_diameter=") == 3, (section, t)
    assert "flat@ring_outer_diameter=0.11 is shown once" in text
    assert "](plots/sweep.png)" in text


def test_map_axes_fit_the_model_kind():
    from fem_wlp.reporting.plots import _map_axes

    assert _map_axes("axisym", False) == ("r (mm, from the joint axis)", "z (mm)")
    assert "neutral point" in _map_axes("slice2d", False)[0]
    assert "joint cell" in _map_axes("joint3d", True)[0]


def test_report_lists_what_differs_between_designs():
    """The 'What differs' section tabulates each case's geometry facts and names, per design, the facts that
    differ from the baseline's by more than 1 % (issue 12 item 6)."""
    from fem_wlp.reporting import report as R

    geo = {"wetted_diameter_die_mm": 0.2, "wetted_diameter_board_mm": 0.2, "pad_edge": "polymer",
           "standoff_mm": 0.18, "solder_height_mm": 0.163, "relief_height_mm": 0.008, "solder_volume_mm3": 0.00818,
           "relief_solder_volume_mm3": 0.00025, "crack_path_die_mm": 0.216, "crack_path_board_mm": 0.25}
    cases = [{"name": "flat", "status": "ok", "baseline_case": "flat", "geometry": geo},
             {"name": "ubm", "status": "ok", "baseline_case": "flat",
              "geometry": {**geo, "pad_edge": "metal", "standoff_mm": 0.186, "crack_path_die_mm": 0.2161}}]
    r = R._Results(outdir=Path("."), summary={"model": "slice2d"}, study={"study": {"match": ["wetted_diameter"]}},
                   prov={}, cases=cases, ok=cases, failed=[], primary="syed_energy", base="flat", models=[])
    text = "\n".join(R._differences(r))
    assert "held equal by `[study] match`: wetted_diameter" in text
    assert "| ubm | 0.2 | 0.2 | metal | 0.186 |" in text
    line = next(ln for ln in text.splitlines() if ln.startswith("- `ubm`"))
    assert "pad edge" in line and "standoff" in line and "crack path" not in line   # 0.05 % is not a difference
    assert R._differences(R._Results(**{**r.__dict__, "ok": [{"name": "x", "status": "ok"}]})) == []


def test_raw_vtu_reader_matches_meshio(tmp_path):
    """The maps' reader of fem_wlp's own raw-appended VTU (plots._read_raw_vtu) returns what meshio reads from the
    same file, array by array; a VTU of another writer (meshio's base64) is left to meshio (None)."""
    import meshio

    from fem_wlp.io.results import _write_vtu_raw
    from fem_wlp.reporting.plots import _read_raw_vtu, read_mesh_file

    rng = np.random.default_rng(0)
    pts = rng.random((7, 3))
    tris = np.array([[0, 1, 2], [2, 3, 4], [4, 5, 6]])
    pdata = {"displacement": rng.random((7, 3))}
    cdata = {"stress": rng.random((3, 9)), "von_mises": rng.random(3), "region": np.array([0, 2, 1], np.int32)}
    f = tmp_path / "raw.vtu"
    _write_vtu_raw(f, pts, tris, 5, pdata, cdata)
    a, b = _read_raw_vtu(f), meshio.read(str(f))
    assert read_mesh_file(f).__class__ is a.__class__
    assert np.array_equal(a.points, b.points) and a.cells[0].type == b.cells[0].type == "triangle"
    assert np.array_equal(a.cells[0].data, b.cells[0].data)
    assert a.point_data.keys() == b.point_data.keys() and a.cell_data.keys() == b.cell_data.keys()
    assert all(np.array_equal(a.point_data[k], b.point_data[k]) for k in a.point_data)
    assert all(np.array_equal(a.cell_data[k][0], b.cell_data[k][0]) and a.cell_data[k][0].dtype ==
               b.cell_data[k][0].dtype for k in a.cell_data)
    g = tmp_path / "meshio.vtu"
    meshio.write(str(g), b)
    assert _read_raw_vtu(g) is None and isinstance(read_mesh_file(g), meshio.Mesh)
