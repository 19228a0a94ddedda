"""No hidden global state: importing fem_wlp (any module of it) leaves the process environment unchanged, and
the thread limits are set only by an explicit call of fem_wlp.runtime.limit_threads."""
import os
import subprocess
import sys
import textwrap

import pytest

from fem_wlp import runtime

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _python(code: str, env: dict | None = None) -> subprocess.CompletedProcess:
    env = {**(os.environ if env is None else env), "PYTHONPATH": ROOT}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          env=env, timeout=300)


def test_importing_every_module_leaves_the_environment_unchanged():
    env = {k: v for k, v in os.environ.items() if k not in runtime.THREAD_VARS}
    r = _python("""
        import importlib, os, pkgutil
        before = dict(os.environ)
        import fem_wlp
        assert dict(os.environ) == before, "import fem_wlp"
        names = sorted(m.name for m in pkgutil.walk_packages(fem_wlp.__path__, "fem_wlp."))
        assert len(names) > 40 and "fem_wlp.fe.kernels" in names and "fem_wlp.workflows.parallel" in names
        for name in names:
            importlib.import_module(name)
            changed = {k for k in set(before) | set(os.environ) if before.get(k) != os.environ.get(k)}
            assert not changed, (name, changed)
        print(len(names))
    """, env)
    assert r.returncode == 0, r.stderr
    assert int(r.stdout.split()[-1]) > 40


def test_cli_entry_limits_openblas_before_numpy_loads():
    """main() sets OPENBLAS_NUM_THREADS=1 (unless set) before any subcommand module imports numpy; MKL stays free."""
    env = {k: v for k, v in os.environ.items() if k not in runtime.THREAD_VARS}
    r = _python("""
        import os, sys
        import fem_wlp.cli.main as m
        assert "numpy" not in sys.modules, "cli/main.py imports numpy at module level"
        seen = {}
        real = m.build_parser
        def spy(argv=None):
            seen["numpy"] = "numpy" in sys.modules
            seen["env"] = {v: os.environ.get(v) for v in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
            return real(argv)
        m.build_parser = spy
        try:
            m.main(["--version"])
        except SystemExit:
            pass
        assert seen == {"numpy": False, "env": {"OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": None}}, seen
    """, env)
    assert r.returncode == 0, r.stderr


def test_limit_threads(monkeypatch):
    for v in runtime.THREAD_VARS:
        monkeypatch.delenv(v, raising=False)
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "3")
    runtime.limit_threads()                      # the environment's own setting wins
    assert os.environ["OPENBLAS_NUM_THREADS"] == "3" and "MKL_NUM_THREADS" not in os.environ
    runtime.limit_threads(2)                     # a worker: every variable, replacing inherited values
    assert {v: os.environ[v] for v in runtime.THREAD_VARS} == dict.fromkeys(runtime.THREAD_VARS, "2")
    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(ValueError, match="limit_threads"):
            runtime.limit_threads(bad)


def test_cli_imports_only_the_chosen_command():
    """`fem-wlp materials` and `--help` do not load the engine (numpy, numba, the workflows)."""
    r = _python("""
        import sys
        import fem_wlp.cli.main as m
        m.build_parser(["--help"])
        assert "numpy" not in sys.modules
        parser = m.build_parser(["materials"])
        assert "fem_wlp.workflows.study" not in sys.modules and "numba" not in sys.modules, sorted(sys.modules)
        assert parser.parse_args(["materials"])._run is not None
    """)
    assert r.returncode == 0, r.stderr


def test_in_child_returns_propagates_and_survives_a_segfault():
    """runtime.in_child: the value of fn from a spawned process; fn's InputError arrives with its key; a child
    that segfaults (ctypes.string_at(0) reads address 0) fails the call with RuntimeError after the retries,
    and the caller lives on."""
    import ctypes
    import math

    from fem_wlp.errors import InputError
    from fem_wlp.runtime import in_child
    from fem_wlp.wlcsp.design import Geometry

    before = dict(os.environ)
    assert in_child(math.hypot, 3.0, 4.0, env={"FEM_WLP_TEST_VAR": "1"}) == 5.0
    assert dict(os.environ) == before                  # the child's environment is not left in the parent
    with pytest.raises(InputError) as e:
        in_child(Geometry, pitch=-1.0)
    assert e.value.key == "geometry.pitch"
    with pytest.raises(RuntimeError, match="crashed 2 times"):
        in_child(ctypes.string_at, 0, what="reading address 0")
