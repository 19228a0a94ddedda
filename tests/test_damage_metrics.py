"""Design-independent damage metrics (issue 12 item 3), crack-path Darveaux (item 4) and the fixes of item 5:
averaging over named element sets against hand-computed averages, the hot-spot selection, the headline rule
and its fallback, Engelmaier from the cycles, the primary model that follows the solder, bad input."""
from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import skfem

from fem_wlp.cli.main import main
from fem_wlp.fe.mesh import FEMesh
from fem_wlp.fe.problem import Model, Temperature, boundary_constraint
from fem_wlp.fe.solver import Discretization
from fem_wlp.materials import material_from_spec
from fem_wlp.study.load import load_study
from fem_wlp.study.spec import FatigueSpec
from fem_wlp.wlcsp.fatigue import Darveaux, Engelmaier, hotspot_set, solder_caveat
from fem_wlp.wlcsp.profiles import profile_from_spec
from fem_wlp.workflows.evaluate import (cycle_temperatures, damage_metrics, headline, hotspot_metrics,
                                        joint_metrics, lives)
from fem_wlp.workflows.observers import ELEMENT_CYCLES_FILE, LayerTracker

STUDIES = Path(__file__).resolve().parents[1] / "studies"
FLAGSHIP = STUDIES / "flat_vs_embossed_vs_recessed.toml"
SNPB = STUDIES / "snpb_flat_vs_embossed.toml"


# ---------------------------------------------------------------------------------------------------------------
# a small mesh-file-like model of one joint with named layers (the planar layer regions named here)
# ---------------------------------------------------------------------------------------------------------------
def _joint_mesh(n=8):
    """Unit square of solder, n x n quads (element size 1/n): leaves solder/joint0/die_layer (top band,
    x < 0.5), solder/joint0/die_planar_layer (top band, x > 0.5), solder/joint0/board_layer (bottom band) and
    solder/joint0/bulk. The leaves are disjoint (the top band is split between the two layer names)."""
    m = skfem.MeshQuad.init_tensor(np.linspace(0, 1, n + 1), np.linspace(0, 1, n + 1))
    c = m.p[:, m.t].mean(axis=1)
    top, bottom = c[1] > 1 - 2.0 / n, c[1] < 1.0 / n
    leaves = {"solder/joint0/die_layer": np.flatnonzero(top & (c[0] < 0.5)),
              "solder/joint0/die_planar_layer": np.flatnonzero(top & (c[0] > 0.5)),
              "solder/joint0/board_layer": np.flatnonzero(bottom),
              "solder/joint0/bulk": np.flatnonzero(~top & ~bottom)}
    m = m.with_boundaries({"bottom": lambda x: np.isclose(x[1], 0.0)})
    return FEMesh.from_skfem(m, leaves=leaves)


def _frame(disc, t, field):
    """A frame at time t whose solder w_in and eps_in_eq at the quadrature points are field(x, y)."""
    ops = disc.ops[0]
    x, y = ops.x[0], ops.x[1]
    w, e = field(x, y)
    n = ops.w.size
    states = {disc.names[0]: {"stress": np.zeros((6, n)), "w_in": w.ravel(), "eps_in_eq": e.ravel()}}
    return SimpleNamespace(time=t, u=np.zeros(disc.ndof), ezz=0.0, states=states)


@pytest.fixture(scope="module")
def joint():
    fm = _joint_mesh()
    form = "plane_strain"
    model = Model(fm, form, {"solder": material_from_spec("solder", "SAC305_elastic")},
                  (boundary_constraint(fm, "bottom", ["x", "y"], formulation=form),),
                  Temperature.uniform_step(125.0, 25.0))
    return Discretization(model)


def test_layer_average_over_named_sets_is_the_hand_computed_average(joint):
    # w_in = x, eps_in_eq = y (linear: integrated exactly). Hand: die_layer = [0, 0.5] x [0.75, 1] -> mean
    # x 0.25, y 0.875; die_planar_layer = [0.5, 1] x [0.75, 1] -> 0.75, 0.875; board_layer = [0, 1] x [0, 1/8]
    # -> 0.5, 1/16; the whole joint -> 0.5, 0.5
    tr = LayerTracker(joint, "slice2d")
    row = tr.row(_frame(joint, 1.0, lambda x, y: (x, y)))
    expect = {"die_layer": (0.25, 0.875), "die_planar_layer": (0.75, 0.875), "board_layer": (0.5, 1 / 16)}
    for layer, (w, e) in expect.items():
        assert row[f"solder/joint0/{layer}.w_in"] == pytest.approx(w, abs=1e-12), layer
        assert row[f"solder/joint0/{layer}.eps_in_eq"] == pytest.approx(e, abs=1e-12), layer
    assert row["solder/joint0.w_in"] == pytest.approx(0.5, abs=1e-12)
    assert "solder/joint0/board_planar_layer.w_in" not in row          # not in this mesh: not tracked


def _hist(rows):
    keys = rows[0].keys()
    return {k: np.array([r[k] for r in rows]) for k in keys}


def _study(rule="planar", hotspot_volume=None, kind="slice2d", bounds=((1.0, 2.0), (2.0, 3.0))):
    return SimpleNamespace(kind=kind, geometry=None, profile=SimpleNamespace(cycle_bounds=np.array(bounds)),
                           fatigue=SimpleNamespace(averaging=rule, hotspot_volume=hotspot_volume))


def _run_cycles(disc, tmp_path, fields):
    """Feed frames at t = 1, 2, 3 (cycle bounds: cycles 1 = (1, 2], 2 = (2, 3]) to a tracker; returns the
    layer history and the per-element file."""
    tr = LayerTracker(disc, "slice2d", cycle_bounds=np.array([[1.0, 2.0], [2.0, 3.0]]))
    rows = []
    for t, f in zip((1.0, 1.5, 2.0, 3.0), fields):
        r = tr.row(_frame(disc, t, f))
        rows.append({"time_s": t, "cycle": 0 if t <= 1 else 1 if t <= 2 else 2, **r})
    path = tmp_path / ELEMENT_CYCLES_FILE
    assert tr.save(path)
    return _hist(rows), path


def test_three_rules_and_hotspot_selection(joint, tmp_path):
    # accumulated w_in: 0 at t = 1; a bump around (0.9, 0.95) growing by the same amount each cycle
    bump = lambda x, y: np.exp(-((x - 0.9) ** 2 + (y - 0.95) ** 2) / 0.02)          # noqa: E731
    fields = [lambda x, y: (0 * x, 0 * x), lambda x, y: (0.5 * bump(x, y), 0.01 * bump(x, y)),
              lambda x, y: (bump(x, y), 0.02 * bump(x, y)), lambda x, y: (2 * bump(x, y), 0.04 * bump(x, y))]
    h, path = _run_cycles(joint, tmp_path, fields)
    prof = SimpleNamespace(cycle_bounds=np.array([[1.0, 2.0], [2.0, 3.0]]))
    per_joint = joint_metrics(h, prof)
    target = 3.5 / 64                                   # 3.5 elements of 1/64
    spec = _study(hotspot_volume=target)
    m = damage_metrics(spec, per_joint, path)
    assert m["planar"]["available"] and m["planar"]["critical_layer"] == "die_planar_layer"
    assert m["conformal"]["available"] and m["conformal"]["critical_layer"] == "die_layer"
    hot = m["hotspot"]
    # the set: the element containing the peak (0.875..1 x 0.875..1) first, then its nearest neighbours until the
    # volume reaches the target: within one element of it
    assert target <= hot["volume_mm3"] < target + 1 / 64 + 1e-12 and hot["elements"] == 4
    assert hot["at"] == pytest.approx([0.9375, 0.9375])
    # hand: the per-cycle ΔW of the set is the volume average of the bump increments over the 4 elements -- the
    # same in both cycles; more than the planar layer's average, which is more than the conformal layer's
    assert [p["cycle"] for p in hot["per_cycle"]] == [1, 2]
    assert hot["per_cycle"][0]["dW_MPa"] == pytest.approx(hot["per_cycle"][1]["dW_MPa"], rel=1e-12)
    assert hot["dW_per_cycle_MPa"] > m["planar"]["dW_per_cycle_MPa"] > m["conformal"]["dW_per_cycle_MPa"]
    assert hot["dW_per_cycle_MPa"] == pytest.approx(hot["deps_in_per_cycle"] / 0.02, rel=1e-12)
    rule, head, note = headline("hotspot", m)
    assert rule == "hotspot" and head is hot and note is None


def test_planar_unavailable_falls_back_to_conformal_with_a_warning():
    prof = SimpleNamespace(cycle_bounds=np.array([[1.0, 2.0]]))
    h = {"time_s": np.array([1.0, 2.0]), "cycle": np.array([0, 1])}
    for layer, dw in (("die_layer", 0.2), ("board_layer", 0.1)):
        h[f"solder/joint0/{layer}.w_in"] = np.array([0.0, dw])
        h[f"solder/joint0/{layer}.eps_in_eq"] = np.array([0.0, dw / 25])
    m = damage_metrics(_study(), joint_metrics(h, prof), Path("/nonexistent") / ELEMENT_CYCLES_FILE)
    assert not m["planar"]["available"] and "no planar damage layers" in m["planar"]["reason"]
    assert not m["hotspot"]["available"]
    rule, head, note = headline("planar", m)
    assert rule == "conformal" and head["dW_per_cycle_MPa"] == pytest.approx(0.2)
    assert "falls back to the conformal" in note


def test_hotspot_set_properties():
    rng = np.random.default_rng(3)
    c = rng.random((2, 500))
    vol = rng.uniform(0.5, 1.5, 500) * 1e-3
    dW = rng.random(500)
    for target in (1e-3, 0.01, 0.1):
        sel = hotspot_set(c, vol, dW, target)
        V = vol[sel].sum()
        assert sel[0] == np.argmax(dW)                            # contains the max (first)
        assert target <= V < target + vol[sel[-1]]                # within one element of the target
        d = np.linalg.norm(c - c[:, sel[:1]], axis=0)
        assert d[sel].max() <= np.delete(d, sel).min()            # the nearest elements
    assert hotspot_set(c, vol, dW, 10.0).size == 500              # larger than the set: all of it


def test_hotspot_without_complete_cycle(joint, tmp_path):
    h, path = _run_cycles(joint, tmp_path, [lambda x, y: (x, y)] * 4)
    spec = _study(bounds=((5.0, 6.0),))                          # bounds never recorded
    assert not hotspot_metrics(spec, path)["available"]


# ---------------------------------------------------------------------------------------------------------------
# lives: Engelmaier from the cycles, Darveaux along the crack path, the primary model follows the solder
# ---------------------------------------------------------------------------------------------------------------
MESH_REPORT = {"joint_positions": [0.283, 0.849, 1.414, 1.98], "standoff": 0.18,
               "joint": {"contact_radius_die": 0.1075, "contact_radius_board": 0.1}}


def test_engelmaier_takes_the_cycle_swing_not_the_stress_free_start():
    s = load_study(FLAGSHIP)
    prof = profile_from_spec({"profile": "JESD22-A104-G", "cycles": 3, "stress_free_temperature": 217.0})
    assert cycle_temperatures(prof) == (-40.0, 125.0)
    m = {"dW_per_cycle_MPa": 0.13, "deps_in_per_cycle": 0.0057, "per_cycle": []}
    out = lives(s, MESH_REPORT, 3, "die", m)
    li = out["life_inputs"]
    assert li["dT_K"] == 165.0 and li["T_sj_C"] == 42.5                  # JESD22-A104 G: -40/125 °C
    # hand computation, SAC set (the flagship's solder): c = -0.430 - 6.3e-4 T_sj + 1.82e-2 ln(1 + 400/15),
    # Δγ = L_D Δα ΔT / h, Nf = ½ (Δγ / (2 · 0.275))^(1/c)
    c = -0.430 - 6.3e-4 * 42.5 + 1.82e-2 * math.log(1 + 400 / 15)
    dg = 1.98 * li["delta_alpha_per_K"] * 165.0 / 0.18
    assert li["delta_gamma"] == pytest.approx(dg, rel=1e-12)
    assert out["life_cycles"]["engelmaier"] == pytest.approx(0.5 * (dg / 0.55) ** (1 / c), rel=1e-12)
    # the bug: from the whole profile (217 °C start) ΔT = 257 K and T_sj = 88.5 °C gave a far shorter life
    eng = Engelmaier.for_alloy("SAC")
    assert eng.life(dg * 257 / 165, 88.5, 15.0) < 0.3 * out["life_cycles"]["engelmaier"]


def test_darveaux_path_and_projected_lives():
    s = load_study(SNPB)
    rep = {**MESH_REPORT, "facts": {"crack_path_die_mm": 0.264, "crack_path_board_mm": 0.2}}
    m = {"dW_per_cycle_MPa": 0.1, "deps_in_per_cycle": 0.004, "per_cycle": []}
    out = lives(s, rep, 3, "die", m)
    d = Darveaux.snpb()
    assert out["life_cycles"]["darveaux"] == pytest.approx(d.initiation(0.1) + 0.215 / d.growth_rate(0.1), rel=1e-12)
    assert out["life_cycles"]["darveaux_path"] == pytest.approx(d.initiation(0.1) + 0.264 / d.growth_rate(0.1),
                                                                rel=1e-12)
    assert out["life_inputs"]["crack_length_mm"] == 0.215 and out["life_inputs"]["crack_path_mm"] == 0.264
    assert "not validated" in out["life_caveats"]["darveaux_path"]
    assert "darveaux_path" not in lives(s, MESH_REPORT, 3, "die", m)["life_cycles"]   # no path: not reported


def test_primary_model_follows_the_solder():
    assert FatigueSpec.from_table({}, "Sn63Pb37").primary == "darveaux"
    assert FatigueSpec.from_table({}, "SAC305").primary == "syed_energy"
    assert FatigueSpec.from_table({"models": ["syed_energy"]}, "Sn63Pb37").primary == "syed_energy"
    assert "SAC" in solder_caveat("syed_energy", "Sn63Pb37") and solder_caveat("syed_energy", "SAC305") == ""
    f = FatigueSpec.from_table({"averaging": "hotspot", "hotspot_volume": 1e-4}, "SAC305")
    assert (f.averaging, f.hotspot_volume, f.models[0]) == ("hotspot", 1e-4, "syed_energy")
    assert FatigueSpec.from_table({}, "SAC305").averaging == "planar"


# ---------------------------------------------------------------------------------------------------------------
# bad input: exit 2 naming the key
# ---------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("setting, names", [
    ("fatigue.averaging=mean", ["fatigue.averaging", "planar | conformal | hotspot"]),
    ("fatigue.hotspot_volume=-1", ["fatigue.hotspot_volume", "> 0"]),
    ("fatigue.hotspot_volume=0.5", ["fatigue.hotspot_volume", "interface layer"]),   # > 2 a t = 0.005 mm²
])
def test_bad_metric_keys_exit_2(setting, names, capsys):
    assert main(["check", str(FLAGSHIP), "--set", setting]) == 2
    err = capsys.readouterr().err
    for n in names:
        assert n in err, (n, err)


def test_region_work_per_cycle(tmp_path):
    """Per-region inelastic work per cycle from history.csv: increments of the region's volume-average w_in over
    each complete cycle; regions without inelastic work are left out; an incomplete last cycle is not used."""
    from types import SimpleNamespace

    from fem_wlp.io.results import HistoryWriter
    from fem_wlp.workflows.evaluate import region_work_per_cycle

    w = HistoryWriter(tmp_path / "history.csv")
    t = np.linspace(0.0, 2.5, 26)                    # cycles (0, 1], (1, 2], (2, 3]: the third stops at 2.5
    cyc = np.maximum(np.ceil(t - 1e-9).astype(int), 1)   # a cycle's end row belongs to it (Profile.cycle_of)
    for ti, k in zip(t, cyc):
        w.write({"time_s": ti, "cycle": int(k), "solder.w_in": 0.3 * ti, "cu.w_in": min(ti, 1.0) * 0.2 + 0.01 * ti,
                 "die.w_in": 0.0})
    w.close()
    prof = SimpleNamespace(cycle_bounds=np.array([[0.0, 1.0], [1.0, 2.0], [2.0, 3.0]]))
    out = region_work_per_cycle(tmp_path / "history.csv", prof)
    assert set(out) == {"solder", "cu"}
    # cycle k runs from the last row of cycle k-1 (t = k-1) to its own end (t = k): the third is left out
    assert out["solder"] == pytest.approx([0.3, 0.3])
    assert out["cu"] == pytest.approx([0.2 + 0.01, 0.01])
