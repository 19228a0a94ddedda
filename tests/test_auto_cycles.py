"""load.cycles = "auto": the cases of a study advance in lockstep, cycle by cycle, and all stop after the first
cycle k >= 2 at which every design's primary-life ratio to the baseline (both at cycle k) changed by less than
load.cycles_rtol from cycle k-1; at most load.max_cycles. The changes recorded are those of the per-cycle lives
in summary.json (one definition: wlcsp.fatigue.relative_change)."""
import json

import pytest

from fem_wlp.cli.main import main

from test_studies import STUDIES

# the axisymmetric joint on the coarse grid (~1 s per cycle per design): recessed/flat primary-life ratio changes
# by -11.9 % (cycle 1 -> 2), -2.6 % (2 -> 3), -1.1 % (3 -> 4); flat's own life by 72 / 8.3 / 3.5 %
# (bonded interfaces: the numbers above; with the default solder/polymer contact the ratio settles a cycle sooner)
FAST = ["load.max_dT=20", "load.min_dwell_steps=2", 'solver.step_control="grid"', 'output.fields="none"',
        "contact.bonded_everywhere=true"]
TWO = 'designs=[{name="flat", kind="flat"}, {name="recessed", kind="recessed"}]'


def _run(out, *sets):
    args = ["run", str(STUDIES / "axisym_joint.toml"), "--out", str(out), "--quiet", "--set", 'load.cycles="auto"']
    for s in FAST + list(sets):
        args += ["--set", s]
    assert main(args) == 0
    return json.loads((out / "summary.json").read_text())


@pytest.fixture(scope="module")
def lockstep(tmp_path_factory):
    return _run(tmp_path_factory.mktemp("auto"), TWO, "load.max_cycles=6", "load.cycles_rtol=0.05")


def test_lockstep_stops_when_every_ratio_is_stable(lockstep):
    s = lockstep
    assert s["cycles"] == "auto" and s["max_cycles"] == 6 and s["cycles_rtol"] == 0.05
    # the profile is built for max_cycles (the longest run); its description says so
    assert "per cycle × 6" in s["profile"] and "load.cycles = 'auto': at most 6 cycles" in s["profile"]
    cases = {c["name"]: c for c in s["cases"]}
    assert {n: c["cycles_run"] for n, c in cases.items()} == {"flat": 3, "recessed": 3}    # equal cycles
    rec, flat = cases["recessed"], cases["flat"]
    assert rec["auto_cycles"]["criterion"] == "life ratio" and rec["auto_cycles"]["stabilised"]
    ch = [x["ratio_change"] for x in rec["auto_cycles"]["ratio_changes"]]
    assert abs(ch[-1]) < 0.05 and all(abs(x) >= 0.05 for x in ch[:-1])      # the first stable cycle
    # the changes are those of the per-cycle lives and of the study's per-cycle ratio table
    lr = [p["life_primary"] / q["life_primary"] for p, q in zip(rec["per_cycle"], flat["per_cycle"])]
    assert [p["life_ratio_vs_baseline"] for p in rec["per_cycle"]] == pytest.approx(lr, rel=1e-12)
    for x, k in zip(ch, (2, 3)):
        assert x == pytest.approx(lr[k - 1] / lr[k - 2] - 1, rel=1e-9)
    assert rec["life_ratio_vs_baseline"] == pytest.approx(lr[-1], rel=1e-12)
    assert not any("not stabilised after" in w for w in rec.get("warnings") or [])


def test_not_stabilised_at_max_cycles_warns(tmp_path):
    s = _run(tmp_path, TWO, "load.max_cycles=2")
    for c in s["cases"]:
        assert c["cycles_run"] == 2 and not c["auto_cycles"]["stabilised"]
        assert any("not stabilised after 2 cycles" in w for w in c["warnings"])


def test_one_design_judges_its_own_life(tmp_path):
    s = _run(tmp_path, 'designs=[{name="flat", kind="flat"}]', "load.cycles_rtol=0.1")
    (c,) = s["cases"]
    assert c["auto_cycles"]["criterion"] == "own life" and c["cycles_run"] == 3     # 72 %, then 8.3 % < 10 %


@pytest.mark.parametrize("override, key", [
    ('load.cycles="often"', "load.cycles"),
    ("load.max_cycles=4", "load.max_cycles"),                 # without cycles = "auto"
    ("load.cycles_rtol=0.01", "load.cycles_rtol"),
])
def test_auto_cycles_bad_input(capsys, override, key):
    assert main(["check", str(STUDIES / "axisym_joint.toml"), "--set", override]) == 2
    assert key in capsys.readouterr().err


@pytest.mark.parametrize("extra, key", [(["load.max_cycles=1"], "load.max_cycles"),
                                        (["load.cycles_rtol=0"], "load.cycles_rtol")])
def test_auto_cycles_bad_limits(capsys, extra, key):
    args = ["check", str(STUDIES / "axisym_joint.toml"), "--set", 'load.cycles="auto"']
    for e in extra:
        args += ["--set", e]
    assert main(args) == 2
    assert key in capsys.readouterr().err


def test_auto_cycles_not_in_a_mesh_file_study(capsys, tmp_path):
    text = (STUDIES / "bimaterial_strip.toml").read_text()
    text = text.replace("temperature = 25.0 ", 'profile = "JESD22-A104-G"\ncycles = "auto"\n#')
    text = text.replace('mesh = "strip.msh"', f'mesh = "{(STUDIES / "strip.msh").as_posix()}"')
    (tmp_path / "s.toml").write_text(text)
    assert main(["check", str(tmp_path / "s.toml")]) == 2
    assert "load.cycles" in capsys.readouterr().err
