"""load.cycles = "auto": a case runs until its primary life (headline rule) changes by less than half of
load.cycles_rtol between cycles, at most load.max_cycles; the changes it saw are the ones the per-cycle table
gives (one definition: wlcsp.fatigue.relative_change)."""
import json

import pytest

from fem_wlp.cli.main import main
from fem_wlp.wlcsp.fatigue import relative_change

from test_studies import STUDIES

# the axisymmetric joint on the coarse grid: ~1 s per cycle per design; its primary life changes by 72/8/3.5/1.8 %
# (flat) and 70/16/8/4.6 % (embossed) in cycles 2-5, so rtol = 0.2 (stop below 10 %) stops flat after cycle 3
# and embossed after cycle 4 -- different cycle counts, which the study must handle
FAST = ["load.max_dT=20", "load.min_dwell_steps=2", 'solver.step_control="grid"', 'output.fields="none"',
        'designs=[{name="flat", kind="flat"}, {name="embossed", kind="embossed"}]']


@pytest.fixture(scope="module")
def auto_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("auto")
    args = ["run", str(STUDIES / "axisym_joint.toml"), "--out", str(out), "--quiet",
            "--set", 'load.cycles="auto"', "--set", "load.max_cycles=6", "--set", "load.cycles_rtol=0.2"]
    for s in FAST:
        args += ["--set", s]
    assert main(args) == 0
    return json.loads((out / "summary.json").read_text())


def test_auto_cycles_stop_at_the_first_stabilised_cycle(auto_run):
    s = auto_run
    assert s["cycles"] == "auto" and s["max_cycles"] == 6 and s["cycles_rtol"] == 0.2
    runs = {}
    for c in s["cases"]:
        a = c["auto_cycles"]
        ch = [x["life_change"] for x in a["life_changes"]]
        assert a["stabilised"]
        assert abs(ch[-1]) < 0.1 and all(abs(x) >= 0.1 for x in ch[:-1])     # stopped at the first one below
        assert c["cycles_run"] == a["life_changes"][-1]["cycle"] == len(ch) + 1
        # the changes are those of the per-cycle primary lives in summary.json
        life = [p["life_primary"] for p in c["per_cycle"]]
        assert len(life) == c["cycles_run"]
        for k, x in enumerate(ch):
            assert x == pytest.approx(float(relative_change(life[k], life[k + 1])), rel=1e-9)
        runs[c["name"]] = c["cycles_run"]
    assert runs == {"flat": 3, "embossed": 4}


def test_auto_cycles_not_stabilised_warns(tmp_path):
    args = ["run", str(STUDIES / "axisym_joint.toml"), "--out", str(tmp_path), "--quiet",
            "--set", 'load.cycles="auto"', "--set", "load.max_cycles=2"]
    for s in FAST[:-1] + ['designs=[{name="flat", kind="flat"}]']:
        args += ["--set", s]
    assert main(args) == 0
    c = json.loads((tmp_path / "summary.json").read_text())["cases"][0]
    assert c["cycles_run"] == 2 and not c["auto_cycles"]["stabilised"]
    assert any("not stabilised after 2 cycles" in w for w in c["warnings"])


@pytest.mark.parametrize("override, key", [
    ('load.cycles="often"', "load.cycles"),
    ("load.max_cycles=4", "load.max_cycles"),                 # without cycles = "auto"
    ("load.cycles_rtol=0.01", "load.cycles_rtol"),
])
def test_auto_cycles_bad_input(tmp_path, capsys, override, key):
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
