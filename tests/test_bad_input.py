"""Bad input never escapes as a traceback, a hang or a silent no-op (issue 11, item 4).

One regression test per case of the issue's list "tried as a new user would, with 133 malformed studies".
The contract of the CLI (README): bad input exits with code 2 and prints ONE line on stderr,
``fem-wlp <command>: error: ...``, that names the offending key (and the value); nothing is written into
``--out`` by a study that `check` rejects; no case of the list hangs. The studies are the shipped ones
(studies/), changed with ``--set`` or rewritten into tmp_path; `check` is cheap, so most tests use it.

A genuine solver failure is not bad input: a non-physical material (solder CTE 0.01 /K) must end as a
recorded convergence failure (exit 1) with the last converged state in case.json, like a Newton failure.
"""
from __future__ import annotations

import errno
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fem_wlp.cli.main import main

ROOT = Path(__file__).resolve().parent.parent
STUDIES = ROOT / "studies"
FLAGSHIP = STUDIES / "flat_vs_embossed_vs_recessed.toml"     # designs.0 flat, .1 embossed, .2 recessed
STRIP = STUDIES / "bimaterial_strip.toml"                    # mesh-file study, constraints.0/.1
PREBUILT = 'model.meshes="../meshes"'                        # the committed benchmark meshes (no gmsh)
MESHES = (ROOT / "meshes").as_posix()
#: a small, fast generated-geometry study: one axisymmetric flat joint on the committed mesh, one coarse cycle
AXISYM_ONE = f"""
[study]
name = "axisym-one"
baseline = "flat"
[model]
kind = "axisym"
meshes = "{MESHES}"
[[designs]]
name = "flat"
kind = "flat"
[mesh]
size_fine = 0.008
size_layer = 0.006
size_fine_3d = 0.016
size_coarse = 0.2
grading_distance = 0.2
[load]
stress_free_temperature = 217.0
profile = "JESD22-A104-G"
cycles = 1
max_dT = 20
min_dwell_steps = 2
[output]
fields = "last"
"""


# ----------------------------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------------------------
def cli(capsys, *argv) -> tuple[int, str, str]:
    """Run `fem-wlp argv` in-process; (exit code, stdout, stderr). An exception escaping main() fails the test
    with its traceback (that is the bug being reported)."""
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:                      # argparse
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def assert_input_error(result, command: str, *names: str) -> str:
    """Exit 2, no traceback, stderr is one line `fem-wlp <command>: error: ...` naming every one of `names`."""
    code, out, err = result
    assert "Traceback" not in out + err, err
    assert code == 2, (code, out[-2000:], err[-2000:])
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, f"expected one message line on stderr, got {len(lines)}:\n{err}"
    msg = lines[0]
    assert msg.startswith(f"fem-wlp {command}: error:"), msg
    for n in names:
        assert n in msg, f"{n!r} not named in: {msg}"
    return msg


def sets(*assignments: str) -> list[str]:
    out = []
    for a in assignments:
        out += ["--set", a]
    return out


def check(capsys, study=FLAGSHIP, *assignments):
    return cli(capsys, "check", study, *sets(*assignments))


def run(capsys, out: Path, study=FLAGSHIP, *assignments, workers=1):
    return cli(capsys, "run", study, "--out", out, "--quiet", "--workers", str(workers), *sets(*assignments))


def assert_nothing_written(out: Path):
    assert not out.exists() or not any(out.iterdir()), sorted(p.name for p in out.iterdir())


def flagship_text() -> str:
    return FLAGSHIP.read_text()


def write(tmp_path: Path, text: str, name: str = "study.toml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def _limit_memory():                               # for the subprocess tests: a runaway allocation fails fast
    resource.setrlimit(resource.RLIMIT_AS, (8 << 30, 8 << 30))


def cli_subprocess(argv, timeout: float):
    """Run the CLI in a fresh interpreter with a wall-time bound and an 8 GB address-space cap; returns
    (exit code, stdout, stderr, seconds). A run over the bound is killed and fails the test as a hang."""
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    t0 = time.monotonic()
    try:
        p = subprocess.run([sys.executable, "-m", "fem_wlp.cli.main", *map(str, argv)], capture_output=True,
                           text=True, timeout=timeout, env=env, preexec_fn=_limit_memory)
    except subprocess.TimeoutExpired:
        pytest.fail(f"fem-wlp {' '.join(map(str, argv))} did not finish within {timeout} s (hang)")
    return p.returncode, p.stdout, p.stderr, time.monotonic() - t0


# ----------------------------------------------------------------------------------------------------------------
# tracebacks
# ----------------------------------------------------------------------------------------------------------------
def test_design_without_name(tmp_path, capsys):
    """a [[designs]] table without `name`"""
    text = flagship_text().replace('name = "embossed"', "", 1)
    assert 'name = "embossed"' not in text
    study = write(tmp_path, text)
    assert_input_error(check(capsys, study), "check", "designs", "name")


def test_design_name_is_a_list(capsys):
    """--set 'designs.1.name=[1]'"""
    assert_input_error(check(capsys, FLAGSHIP, "designs.1.name=[1]"), "check", "name", "[1]")


def test_geometry_is_a_number(capsys):
    """--set geometry=5"""
    assert_input_error(check(capsys, FLAGSHIP, "geometry=5"), "check", "geometry", "5")


def test_model_kind_is_a_list(capsys):
    """--set 'model.kind=["slice2d"]'"""
    assert_input_error(check(capsys, FLAGSHIP, 'model.kind=["slice2d"]'), "check", "model.kind")


def test_material_library_is_a_list(capsys):
    """--set 'materials.solder={library=["SAC305"]}'"""
    assert_input_error(check(capsys, FLAGSHIP, 'materials.solder={library=["SAC305"]}'), "check",
                       "materials.solder")


def test_cycles_infinite(capsys):
    """load.cycles = inf (OverflowError)"""
    assert_input_error(check(capsys, FLAGSHIP, "load.cycles=inf"), "check", "load.cycles", "inf")


def test_study_file_not_utf8(tmp_path, capsys):
    """a study file that is not valid UTF-8"""
    study = tmp_path / "latin1.toml"
    study.write_bytes(flagship_text().replace('name = "flat-vs-embossed-vs-recessed"', 'name = "caf\xe9"')
                      .encode("latin-1"))
    msg = assert_input_error(check(capsys, study), "check")
    assert str(study) in msg or study.name in msg, msg


def test_area_rule_with_text_gap_angle(capsys):
    """area_rule = true with a non-numeric ring_gap_angle"""
    result = check(capsys, FLAGSHIP, "designs.1.area_rule=true", "designs.1.ring_segments=4",
                   'designs.1.ring_gap_angle="x"')
    assert_input_error(result, "check", "ring_gap_angle")


def test_sweep_range_with_text_start(capsys):
    """a sweep range {start = "a", stop = 0.2, num = 3}"""
    result = check(capsys, FLAGSHIP, 'sweep.design.ring_outer_diameter={start="a", stop=0.2, num=3}')
    assert_input_error(result, "check", "sweep.design.ring_outer_diameter")


def test_run_out_under_a_file(tmp_path, capsys):
    """--out under a file"""
    f = tmp_path / "afile"
    f.write_text("not a folder")
    assert_input_error(run(capsys, f / "results"), "run", "--out")
    assert f.read_text() == "not a folder"


def test_run_out_on_read_only_file_system(tmp_path, capsys, monkeypatch):
    """--out on a read-only file system (simulated: every mkdir below ro/ fails with EROFS, as on a read-only
    mount; the tests run as root, for whom permission bits do not stop a write)"""
    ro = tmp_path / "ro"
    ro.mkdir()
    real_mkdir = os.mkdir

    def mkdir(path, *a, **k):
        if str(path).startswith(str(ro)):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
        return real_mkdir(path, *a, **k)

    monkeypatch.setattr(os, "mkdir", mkdir)
    assert_input_error(run(capsys, ro / "results"), "run", "--out")


def test_export_out_is_a_file(tmp_path, capsys):
    """export --out naming an existing file"""
    f = tmp_path / "afile"
    f.write_text("x")
    assert_input_error(cli(capsys, "export", STRIP, "--out", f), "export", "--out")


def test_mesh_out_is_a_file(tmp_path, capsys):
    """mesh --out naming an existing file"""
    f = tmp_path / "afile"
    f.write_text("x")
    assert_input_error(cli(capsys, "mesh", FLAGSHIP, "--out", f, "--no-pictures"), "mesh", "--out")


@pytest.mark.parametrize("damage", ['{"study": "x", "cases": [', "[1, 2]", '{"study": "x", "cases": 5}', "\xff\xfe"],
                         ids=["truncated", "a-list", "cases-not-a-list", "not-utf8"])
def test_plot_corrupt_summary(tmp_path, capsys, damage):
    """plot on a folder with a corrupt summary.json: says what is damaged"""
    (tmp_path / "summary.json").write_bytes(damage.encode("latin-1"))
    assert_input_error(cli(capsys, "plot", tmp_path), "plot", "summary.json")


@pytest.mark.parametrize("what", ["missing", "a-folder"])
def test_study_path_not_a_file(tmp_path, capsys, what):
    """an unreadable study path (missing, or a folder) is one message naming it, for every command"""
    study = tmp_path / "study.toml"
    if what == "a-folder":
        study.mkdir()
    for argv in (["check", study], ["run", study, "--out", tmp_path / "out"], ["mesh", study, "--out", tmp_path / "m"],
                 ["export", study, "--out", tmp_path / "e"]):
        msg = assert_input_error(cli(capsys, *argv), argv[0])
        assert str(study) in msg, msg
    assert not (tmp_path / "out").exists() and not (tmp_path / "m").exists() and not (tmp_path / "e").exists()


def test_constraint_point_with_text(capsys):
    """a constraint point = [1e9, "a"]"""
    msg = assert_input_error(check(capsys, STRIP, 'constraints.1.point=[1e9, "a"]'), "check", "point")
    assert "constraints" in msg, msg


def test_design_name_300_characters(tmp_path, capsys):
    """a 300-character design name (too long for a case folder): rejected by check, nothing run"""
    long = "e" * 300
    assert_input_error(check(capsys, FLAGSHIP, f'designs.1.name="{long}"'), "check", "name")
    out = tmp_path / "out"
    assert_input_error(run(capsys, out, FLAGSHIP, f'designs.1.name="{long}"', PREBUILT), "run", "name")
    assert_nothing_written(out)


# ----------------------------------------------------------------------------------------------------------------
# hangs (a fresh interpreter with a time bound: a hang must not take the test session with it)
# ----------------------------------------------------------------------------------------------------------------
def test_cycles_one_billion_does_not_hang():
    """load.cycles = 1000000000: rejected (an upper bound), within 30 s"""
    code, out, err, secs = cli_subprocess(["check", FLAGSHIP, "--set", "load.cycles=1000000000"], timeout=30)
    assert_input_error((code, out, err), "check", "load.cycles")


def test_sweep_step_tiny_does_not_hang():
    """a sweep range with step = 1e-12 (1e11 points: memory error): rejected (an upper bound), within 30 s"""
    code, out, err, secs = cli_subprocess(
        ["check", FLAGSHIP, "--set", "sweep.design.ring_outer_diameter={start=0.11, stop=0.15, step=1e-12}"],
        timeout=30)
    assert_input_error((code, out, err), "check", "sweep.design.ring_outer_diameter")


# ----------------------------------------------------------------------------------------------------------------
# silent no-ops
# ----------------------------------------------------------------------------------------------------------------
def test_sweep_key_typo_in_parameter(tmp_path, capsys):
    """sweep.design.ring_outr_diameter (no design has it): an error, not identical cases and exit 0"""
    bad = "sweep.design.ring_outr_diameter=[0.11, 0.13]"
    assert_input_error(check(capsys, FLAGSHIP, bad), "check", "ring_outr_diameter")
    out = tmp_path / "out"
    assert_input_error(run(capsys, out, FLAGSHIP, bad, PREBUILT), "run", "ring_outr_diameter")
    assert_nothing_written(out)


def test_sweep_key_typo_in_design_name(capsys):
    """sweep.designs.embosed.ring_outer_diameter (no design 'embosed')"""
    bad = "sweep.designs.embosed.ring_outer_diameter=[0.11, 0.13]"
    assert_input_error(check(capsys, FLAGSHIP, bad), "check", "embosed")


def test_fatigue_models_is_a_string(capsys):
    """fatigue.models = "syed_strain" (a string, not a list): accepted today and the headline has no ratio"""
    assert_input_error(check(capsys, FLAGSHIP, 'fatigue.models="syed_strain"'), "check", "fatigue.models")


# ----------------------------------------------------------------------------------------------------------------
# silent corruption
# ----------------------------------------------------------------------------------------------------------------
def test_case_folder_names_collide(tmp_path, capsys):
    """designs named a*b and a:b both write to cases/a_b/: an error before anything runs"""
    bad = ('designs.0.name="a*b"', 'designs.1.name="a:b"', 'study.baseline="a*b"')
    msg = assert_input_error(check(capsys, FLAGSHIP, *bad), "check", "name")
    assert "a*b" in msg or "a:b" in msg, msg
    out = tmp_path / "out"
    assert_input_error(run(capsys, out, FLAGSHIP, *bad, PREBUILT), "run", "name")
    assert_nothing_written(out)


# ----------------------------------------------------------------------------------------------------------------
# checked too late: `check` rejects them, and `run` stops before writing anything
# ----------------------------------------------------------------------------------------------------------------
def test_meshes_folder_missing_checked_before_run(tmp_path, capsys):
    """model.meshes = "nope" """
    assert_input_error(check(capsys, FLAGSHIP, 'model.meshes="nope"'), "check", "model.meshes", "nope")
    out = tmp_path / "out"
    assert_input_error(run(capsys, out, FLAGSHIP, 'model.meshes="nope"'), "run", "model.meshes")
    assert_nothing_written(out)


def test_max_dT_zero_checked_before_run(tmp_path, capsys):
    """load.max_dT = 0 (and the message names load.max_dT, not solver.max_dT)"""
    msg = assert_input_error(check(capsys, FLAGSHIP, "load.max_dT=0"), "check", "load.max_dT")
    assert "solver.max_dT" not in msg, msg
    out = tmp_path / "out"
    assert_input_error(run(capsys, out, FLAGSHIP, "load.max_dT=0", PREBUILT), "run", "load.max_dT")
    assert_nothing_written(out)


def test_3d_mesh_too_coarse_for_layers_checked_before_run(tmp_path, capsys):
    """a 3D mesh size too coarse for the build-up: the embossed joint3d cell at mesh.size_fine_3d = 0.03 with a
    2 um passivation passes today's layer rule (0.002 >= 0.03 / 16), gmsh then leaves degenerate elements
    (gamma min 0.000) and the case fails at run time after meshing. `check` must reject the size."""
    study = write(tmp_path, AXISYM_ONE.replace('kind = "axisym"', 'kind = "joint3d"')
                  .replace(f'meshes = "{MESHES}"', "")
                  .replace('name = "flat"\nkind = "flat"', 'name = "emb"\nkind = "embossed"')
                  .replace('baseline = "flat"', 'baseline = "emb"')
                  .replace("size_fine_3d = 0.016", "size_fine_3d = 0.03")
                  + "[geometry]\npassivation_thickness = 0.002\ninterface_layer_thickness = 0.03\n")
    assert_input_error(check(capsys, study), "check", "mesh.size_fine_3d")
    out = tmp_path / "out"
    assert_input_error(run(capsys, out, study), "run", "mesh.size_fine_3d")
    assert_nothing_written(out)


# ----------------------------------------------------------------------------------------------------------------
# poor messages
# ----------------------------------------------------------------------------------------------------------------
def test_empty_study_file(tmp_path, capsys):
    """an empty file: not "model = None is not allowed" but a message that says what is missing ([model])"""
    study = write(tmp_path, "")
    msg = assert_input_error(check(capsys, study), "check", "model")
    assert "None" not in msg, msg


def test_set_without_key(capsys):
    """--set =3"""
    msg = assert_input_error(check(capsys, FLAGSHIP, "=3"), "check", "--set")
    assert "=3" in msg, msg


def test_solver_rtol_text(capsys):
    """solver.rtol = "x": names the key, not Python's comparison error"""
    msg = assert_input_error(check(capsys, FLAGSHIP, 'solver.rtol="x"'), "check", "solver.rtol")
    assert "not supported between" not in msg, msg


def test_interface_layer_thickness_blames_itself(capsys):
    """geometry.interface_layer_thickness = 1 blames geometry.ball_diameter today"""
    msg = assert_input_error(check(capsys, FLAGSHIP, "geometry.interface_layer_thickness=1"), "check",
                             "geometry.interface_layer_thickness")
    assert msg.split("error:", 1)[1].strip().startswith("geometry.interface_layer_thickness"), msg


# ----------------------------------------------------------------------------------------------------------------
# accepted nonsense (sensible bounds on every key)
# ----------------------------------------------------------------------------------------------------------------
def test_die_thickness_1e300(capsys):
    assert_input_error(check(capsys, FLAGSHIP, "geometry.die_thickness=1e300"), "check", "geometry.die_thickness")


def test_stress_free_temperature_1e6(capsys):
    assert_input_error(check(capsys, FLAGSHIP, "load.stress_free_temperature=1e6"), "check",
                       "load.stress_free_temperature")


@pytest.mark.parametrize("assignment, key", [
    ("materials.bottom.E=[[25.0, nan], [125.0, 117000.0]]", "materials.bottom.E"),
    ("materials.bottom.alpha=[[25.0, 17e-6], [nan, 17e-6]]", "materials.bottom.alpha"),
    ("materials.bottom.nu=nan", "materials.bottom.nu"),
])
def test_nan_in_material_table(capsys, assignment, key):
    assert_input_error(check(capsys, STRIP, assignment), "check", key)


# ----------------------------------------------------------------------------------------------------------------
# a non-physical material: no traceback; a non-finite update is a failed increment, recorded if it persists
# ----------------------------------------------------------------------------------------------------------------
def _case(out: Path) -> dict:
    return json.loads((out / "cases" / "flat" / "case.json").read_text())


def test_nonfinite_material_update_is_a_recorded_convergence_failure(tmp_path, capsys):
    """An Anand set whose return map divides by zero at every step size (s0 = s_hat = 1e-300): ZeroDivisionError
    with a traceback and no state in case.json today. Expected: every increment that meets it fails (cutback),
    and at the smallest step the case ends as a recorded convergence failure (exit 1) that names the material,
    with the last converged time and the counters in case.json, like a genuine Newton failure."""
    study = write(tmp_path, AXISYM_ONE)
    out = tmp_path / "out"
    code, stdout, err = run(capsys, out, study, 'materials.solder={library="SAC305", s0=1e-300, s_hat=1e-300}')
    assert "Traceback" not in stdout + err, err
    assert code == 1, (code, err)
    case = _case(out)
    assert case["status"] == "failed"
    error = case["error"]
    assert "ZeroDivisionError" not in error["message"] and "traceback" not in error, error
    assert "convergence" in error["message"] and "materials.solder" in error["message"], error["message"]
    assert error.get("last_converged_time_s") is not None, error
    assert case.get("increments") is not None and case.get("cutbacks", 0) > 0, sorted(case)
    summary = json.loads((out / "summary.json").read_text())
    assert [c["status"] for c in summary["cases"]] == ["failed"]


def test_nonphysical_solder_cte_is_rejected(tmp_path, capsys):
    """The issue's case: solder alpha = 0.01 /K (10,000 ppm/K) ran for 1,600 increments and died in a
    ZeroDivisionError inside the Anand kernel. The kernel point that divided by zero is fixed (its own test in
    test_materials_inelastic.py) and a non-finite update is a failed increment (the test above); the value itself
    is now rejected before anything runs: |alpha| < 1e-3 /K bounds every solid in a package and catches a CTE
    typed in ppm/K."""
    study = write(tmp_path, AXISYM_ONE)
    out = tmp_path / "out"
    assert_input_error(run(capsys, out, study, 'materials.solder={library="SAC305", alpha=0.01}'), "run",
                       "materials.solder.alpha")
    assert_nothing_written(out)


# ----------------------------------------------------------------------------------------------------------------
# worker processes end with their parent
# ----------------------------------------------------------------------------------------------------------------
def _proc_stat(pid: int):
    """(state, parent pid) of a process from /proc, or None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text.rsplit(")", 1)[1].split()             # after "pid (comm)": state, ppid, ...
    return fields[0], int(fields[1])


def _descendants(pid: int) -> list[int]:
    parents = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit() and (st := _proc_stat(int(d.name))):
            parents.setdefault(st[1], []).append(int(d.name))
    out, todo = [], [pid]
    while todo:
        kids = parents.get(todo.pop(), [])
        out += kids
        todo += kids
    return out


def _alive(pid: int) -> bool:
    st = _proc_stat(pid)
    return st is not None and st[0] not in ("Z", "X")    # an unreaped zombie has ended


@pytest.mark.skipif(not Path("/proc/self/stat").is_file(), reason="reads the process table from /proc (Linux)")
def test_sweep_workers_end_when_parent_is_killed(tmp_path):
    """`run --workers 2` killed with SIGKILL: its worker processes must end too (within 20 s), not keep
    solving (and then wait) forever."""
    study = write(tmp_path, AXISYM_ONE.replace("cycles = 1", "cycles = 3").replace("max_dT = 20", "max_dT = 5")
                  .replace("min_dwell_steps = 2", "min_dwell_steps = 10")
                  + '[[designs]]\nname = "embossed"\nkind = "embossed"\n')
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    parent = subprocess.Popen([sys.executable, "-m", "fem_wlp.cli.main", "run", str(study), "--out",
                               str(tmp_path / "out"), "--quiet", "--workers", "2"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers = []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:     # wait for two workers that have started on their cases
            workers = [p for p in _descendants(parent.pid)
                       if b"resource_tracker" not in Path(f"/proc/{p}/cmdline").read_bytes()]
            if len(workers) >= 2 and (tmp_path / "out" / "cases").is_dir():
                break
            assert parent.poll() is None, "the study ended before its workers started"
            time.sleep(0.2)
        assert len(workers) >= 2, "no worker processes started"
        time.sleep(1.0)
        parent.send_signal(signal.SIGKILL)
        parent.wait(10)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and any(_alive(p) for p in workers):
            time.sleep(0.2)
        alive = [p for p in workers if _alive(p)]
        assert not alive, f"{len(alive)} worker process(es) still alive 20 s after the parent was killed"
    finally:
        for p in workers:                        # never leave a solver running on the shared machine
            if _alive(p):
                try:
                    os.kill(p, signal.SIGKILL)
                except OSError:
                    pass
        if parent.poll() is None:
            parent.kill()
        parent.wait(10)
        shutil.rmtree(tmp_path / "out", ignore_errors=True)


# ----------------------------------------------------------------------------------------------------------------
# the CLI's top level (fem_wlp/cli/main.py): what becomes one message, and what must keep its traceback
# ----------------------------------------------------------------------------------------------------------------
def test_cli_usage_errors_exit_2_with_usage(capsys):
    for argv in (["run", str(FLAGSHIP)], ["run"], ["no-such-command"], ["check", "--no-such-flag"]):
        code, out, err = cli(capsys, *argv)
        assert code == 2 and "usage:" in err and "Traceback" not in err, (argv, code, err)


def test_cli_oserror_on_a_user_path_is_one_message(capsys, monkeypatch):
    """The last resort for file-system problems the commands do not name themselves: the path and the reason."""
    import fem_wlp.cli.check

    def denied(args):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), "/data/someone/study.toml")

    monkeypatch.setattr(fem_wlp.cli.check, "run", denied)
    assert_input_error(check(capsys, FLAGSHIP), "check", "/data/someone/study.toml", os.strerror(errno.EACCES))


@pytest.mark.parametrize("exc", [RuntimeError("a bug"), KeyError("a bug"), ZeroDivisionError("a bug"),
                                 OSError(errno.EIO, "I/O error"),      # no path: not the user's input
                                 FileNotFoundError(errno.ENOENT, "missing", "PACKAGE/data.json")])
def test_cli_unexpected_errors_keep_their_traceback(capsys, monkeypatch, exc):
    """A bug (or a file missing from the installed package) is not bad input: it must not become exit 2."""
    import fem_wlp.cli.check

    def broken(args):
        raise exc

    if getattr(exc, "filename", None) == "PACKAGE/data.json":          # a file of the installed package under test
        exc.filename = str(Path(fem_wlp.cli.check.__file__).resolve().parent.parent / "data.json")
    monkeypatch.setattr(fem_wlp.cli.check, "run", broken)
    with pytest.raises(type(exc)):
        main(["check", str(FLAGSHIP)])


def test_cli_closed_stdout_pipe_is_quiet():
    """`fem-wlp check STUDY | head -c0`: the reader closes the pipe; no traceback, no 'Exception ignored'."""
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    p = subprocess.Popen([sys.executable, "-m", "fem_wlp.cli.main", "check", str(FLAGSHIP)], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    p.stdout.close()                               # before the interpreter has even started: every write fails
    err = p.stderr.read().decode()
    code = p.wait(60)
    assert "Traceback" not in err and "Exception ignored" not in err, err
    assert code == 128 + 13, (code, err)
