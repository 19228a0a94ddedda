"""The typed study, the loader and the case expansion (fem_wlp.study), the key reference, and the parent-death
rule of the pool workers. Fast: no case is solved here."""
from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from fem_wlp.errors import InputError
from fem_wlp.fe.solver import SolverSettings
from fem_wlp.study.cases import case_folder_name, expand
from fem_wlp.study.keys import SPEC_TABLES, keys_markdown
from fem_wlp.study.load import apply_override, load_study, parse_value, read_study_file
from fem_wlp.study.spec import LoadSpec, SolverSpec, Study
from fem_wlp.wlcsp.profiles import DEFAULT_MAX_DT, DEFAULT_MIN_DWELL_STEPS
from fem_wlp.wlcsp.regions import joint_index, joint_region, joints_of

ROOT = Path(__file__).resolve().parent.parent
STUDIES = ROOT / "studies"
FLAGSHIP = STUDIES / "flat_vs_embossed_vs_recessed.toml"
SWEEP = STUDIES / "sweep_ring_and_recess.toml"
STRIP = STUDIES / "bimaterial_strip.toml"


def error_of(fn, *a, **kw) -> InputError:
    with pytest.raises(InputError) as info:
        fn(*a, **kw)
    return info.value


# ---------------------------------------------------------------------------------------------------------------
# the key reference
# ---------------------------------------------------------------------------------------------------------------
def test_docs_study_keys_is_up_to_date():
    """docs/study-keys.md is generated: regenerate with `fem-wlp check --keys > docs/study-keys.md`."""
    assert (ROOT / "docs" / "study-keys.md").read_text(encoding="utf-8") == keys_markdown()


def test_every_accepted_key_is_documented():
    text = keys_markdown()
    for title, cls in SPEC_TABLES:
        section = text.split(f"## {title}", 1)[1].split("\n## ", 1)[0]
        for f in dataclasses.fields(cls):
            if f.metadata:
                assert f"| `{f.name}` |" in section, (title, f.name)


# ---------------------------------------------------------------------------------------------------------------
# defaults in one place
# ---------------------------------------------------------------------------------------------------------------
def test_defaults_come_from_one_place():
    assert SolverSpec().settings() == SolverSettings()
    f = {x.name: x.default for x in dataclasses.fields(LoadSpec)}
    assert (f["max_dT"], f["min_dwell_steps"]) == (DEFAULT_MAX_DT, DEFAULT_MIN_DWELL_STEPS)
    s = load_study(FLAGSHIP)
    assert s.output.fields == "corners" and s.output.compression == "none"
    assert s.fatigue.primary == "syed_energy" and s.baseline == "flat"


def test_study_is_frozen_and_typed():
    s = load_study(FLAGSHIP)
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.info = None
    assert s.kind == "slice2d" and [d.name for d in s.designs] == ["flat", "embossed", "recessed", "flat_ubm"]
    assert s.load.max_dT == 5.0 and s.profile.cycles == 3 and s.mesh.size_fine == 0.008


# ---------------------------------------------------------------------------------------------------------------
# the loader
# ---------------------------------------------------------------------------------------------------------------
def test_set_overrides():
    data = {"designs": [{"name": "a"}, {"name": "b"}], "load": {"cycles": 3}}
    apply_override(data, "designs.1.name=c")
    apply_override(data, "load.cycles=2")
    apply_override(data, "solver.rtol=1e-6")
    assert data["designs"][1]["name"] == "c" and data["load"]["cycles"] == 2 and data["solver"]["rtol"] == 1e-6
    assert parse_value("[1, 2]") == [1, 2] and parse_value("axisym") == "axisym" and parse_value("true") is True
    for bad in ("=3", "novalue", "designs.7.name=x", "load.cycles.x=1", "load..cycles=1", " =1"):
        assert error_of(apply_override, data, bad).key == "--set", bad


def test_file_problems_are_one_message(tmp_path):
    p = tmp_path / "s.toml"
    assert error_of(read_study_file, p).key == "STUDY"                       # missing
    p.write_bytes("[study]\nname = \"x\"  # 25 \xb0C\n".encode("latin-1"))
    assert "UTF-8" in str(error_of(read_study_file, p))
    p.write_text("[study\n")
    assert "invalid TOML" in str(error_of(read_study_file, p))
    p.write_text("")
    assert "empty" in str(error_of(read_study_file, p))


@pytest.mark.parametrize("override, key", [
    ("geometry=5", "geometry"),
    ('model.kind=["slice2d"]', "model.kind"),
    ('materials.solder={library=["SAC305"]}', "materials.solder.library"),
    ("load.cycles=inf", "load.cycles"),
    ("load.cycles=1000000000", "load.cycles"),
    ("load.max_dT=0", "load.max_dT"),
    ("load.min_dwell_steps=0", "load.min_dwell_steps"),
    ("load.max_dT=1e-6", "load.max_dT"),                                      # a grid of too many increments
    ('solver.rtol="x"', "solver.rtol"),
    ("solver.max_iterations=2.5", "solver.max_iterations"),
    ('fatigue.models="syed_strain"', "fatigue.models"),
    ("geometry.die_thickness=1e300", "geometry.die_thickness"),
    ("load.stress_free_temperature=1e6", "load.stress_free_temperature"),
    ("designs.1.name=[1]", "designs[1].name"),
    ('sweep.design.ring_outer_diameter={start="a", stop=0.2, num=3}', "sweep.design.ring_outer_diameter.start"),
    ("sweep.design.ring_outer_diameter={start=0.11, stop=0.15, step=1e-12}", "sweep.design.ring_outer_diameter.step"),
    ("output.fields=1", "output.fields"),
    ('report.x=1', "report"),
])
def test_bad_values_name_their_key(override, key):
    assert error_of(load_study, FLAGSHIP, [override]).key == key


def test_design_without_name_and_long_names(tmp_path):
    text = FLAGSHIP.read_text(encoding="utf-8").replace('name = "embossed"', "")
    p = tmp_path / "s.toml"
    p.write_text(text, encoding="utf-8")
    assert error_of(load_study, p).key == "designs[1].name"
    assert error_of(load_study, FLAGSHIP, ['designs.1.name="' + "e" * 300 + '"']).key == "designs[1].name"


def test_mesh_file_study_is_one_case():
    s = load_study(STRIP)
    assert not s.generated and s.constraints[1].point == (0.0, 0.0)
    (c,) = expand(s)
    assert c.name == "bimaterial-strip" and c.spec is s
    assert error_of(load_study, STRIP, ['constraints.1.point=[1e9, "a"]']).key == "constraints[1].point"
    assert error_of(load_study, STRIP, ["geometry.pitch=0.4"]).key == "geometry"


# ---------------------------------------------------------------------------------------------------------------
# cases
# ---------------------------------------------------------------------------------------------------------------
def test_sweep_cases_and_labels():
    cases = expand(load_study(SWEEP))
    assert len(cases) == 9
    assert cases[1].name == "embossed@ring_outer_diameter=0.11,recess_depth=0.002"
    assert cases[1].spec.designs[0].ring_outer_diameter == 0.11
    assert cases[0].data["designs"] == [{"name": "flat", "kind": "flat", "pad_edge": "polymer",
                                         "pi2_opening": 0.2}]        # flat has no ring: unchanged
    assert cases[2].spec.designs[0].recess_depth == 0.002


@pytest.mark.parametrize("override, text", [
    ("sweep.design.ring_outr_diameter=[0.11, 0.13]", "ring_outr_diameter"),
    ("sweep.designs.embosed.ring_outer_diameter=[0.11, 0.13]", "embosed"),
    ("sweep.designs.flat.ring_outer_diameter=[0.11, 0.13]", "flat"),
    ("sweep.study.name=['a', 'b']", "study.name"),
])
def test_sweep_keys_that_name_nothing_are_errors(override, text):
    e = error_of(lambda: expand(load_study(FLAGSHIP, [override])))
    assert e.key.startswith("sweep.") and text in str(e)


def test_case_folder_names_must_differ():
    assert case_folder_name("a*b") == case_folder_name("a:b") == "a_b"
    assert case_folder_name("embossed@ring_outer_diameter=0.11") == "embossed@ring_outer_diameter=0.11"
    s = load_study(FLAGSHIP, ['designs.0.name="a*b"', 'designs.1.name="a:b"', 'study.baseline="a*b"'])
    e = error_of(expand, s)
    assert e.key == "designs.name" and "a_b" in str(e)


def test_region_names():
    assert joint_region(3, "die_layer") == "solder/joint3/die_layer" and joint_region("joint3") == "solder/joint3"
    assert joints_of(["solder/joint10/die_layer.w_in", "solder/joint2", "die", "time_s"]) == ["joint2", "joint10"]
    assert joint_index("joint10") == 10


def test_study_from_dict_rejects_non_tables():
    assert error_of(Study.from_dict, {"model": 3}).key == "model"
    assert error_of(Study.from_dict, {"designs": {"name": "a"}, "model": {"kind": "axisym"}}).key == "designs"


# ---------------------------------------------------------------------------------------------------------------
# pool workers end with their parent
# ---------------------------------------------------------------------------------------------------------------
PARENT = textwrap.dedent("""
    import multiprocessing as mp, os, sys, time
    from fem_wlp.workflows.parallel import init_worker

    def child(ppid):
        init_worker(None, ppid)
        time.sleep(120)

    if __name__ == "__main__":
        p = mp.get_context("spawn").Process(target=child, args=(os.getpid(),))
        p.start()
        print(p.pid, flush=True)
        time.sleep(120)
""")


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_worker_ends_when_parent_is_killed(tmp_path):
    script = tmp_path / "parent.py"
    script.write_text(PARENT)
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, env=env, text=True)
    child = int(parent.stdout.readline())
    try:
        time.sleep(1.0)                               # the child is in its initializer / sleeping
        assert _alive(child)
        parent.send_signal(signal.SIGKILL)
        parent.wait(10)
        deadline = time.monotonic() + 10
        while _alive(child) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(child), "the worker outlived its parent"
    finally:
        if _alive(child):
            os.kill(child, signal.SIGKILL)
        if parent.poll() is None:
            parent.kill()


def test_study_wide_materials_skip_regions_a_design_lacks():
    """[materials] is study-wide: pi3 (embossed only) and ubm (metal-defined flat only) given for a study are
    skipped by a polymer-defined flat case, whose mesh has neither; a sub-region name the mesh lacks is an error."""
    from fem_wlp.workflows.case import build_case_model

    root = Path(__file__).resolve().parents[1]
    data = {"model": {"kind": "axisym"}, "designs": [{"name": "flat", "kind": "flat"}],
            "materials": {"pi3": "PI_HD4100", "ubm": "Cu_plastic", "pi2": "PI_HD4100"},
            "load": {"stress_free_temperature": 217.0, "profile": "JESD22-A104-G", "cycles": 1}}
    model, _ = build_case_model(Study.from_dict(data, purpose="case"), root / "meshes" / "flat_axisym.msh")
    assert "pi3" not in model.materials and "ubm" not in model.materials
    assert model.materials["pi2"].name == "pi2" and model.materials["pi2"].E.constant      # PI_HD4100: constant E
    data["materials"]["solder/joint7"] = "SAC305"
    with pytest.raises(InputError) as exc:
        build_case_model(Study.from_dict(data, purpose="case"), root / "meshes" / "flat_axisym.msh")
    assert exc.value.key == "materials.solder/joint7"
