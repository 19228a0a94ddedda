"""Property: whatever a user does to a shipped study, `fem-wlp check` answers 0 (valid) or 2 (one message), never a
traceback, and within a time bound (issue 11, item 4).

Each example takes one shipped study (studies/*.toml), applies one to three mutations and writes the result as a
TOML file next to a copy of the study's mesh files: change the type of a value (str, int, float, bool, date, list,
table), its shape (scalar <-> list, nested), delete a key or table or list item, duplicate a list item, add an
unknown key, or put in an extreme number (0, -1, +-1e300, nan, +-inf, huge ints, 1e-300) or an empty or long
string. Derandomized, a fixed number of examples per study: deterministic in CI.
"""
from __future__ import annotations

import contextlib
import copy
import datetime
import io
import math
import resource
import shutil
import signal
import string
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from fem_wlp.cli.main import main

ROOT = Path(__file__).resolve().parent.parent
STUDIES = sorted((ROOT / "studies").glob("*.toml"))
EXAMPLES_PER_STUDY = 25                   # x 6 shipped studies = 150 mutated files, + 75 --set examples
TIME_BOUND_S = 10.0                       # per `check`
MEMORY_HEADROOM = 4 << 30                 # address space a `check` may add to the test process


# ----------------------------------------------------------------------------------------------------------------
# a TOML writer (inline tables and arrays; enough for any value tomllib can return)
# ----------------------------------------------------------------------------------------------------------------
def _toml_str(s: str) -> str:
    out = []
    for c in s:
        if c in '"\\':
            out.append("\\" + c)
        elif ord(c) < 0x20 or ord(c) == 0x7F:
            out.append(f"\\u{ord(c):04x}")
        else:
            out.append(c)
    return '"' + "".join(out) + '"'


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return _toml_str(v)
    if isinstance(v, (datetime.datetime, datetime.date, datetime.time)):
        return v.isoformat()
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_toml_str(str(k))} = {_toml_value(x)}" for k, x in v.items()) + "}"
    raise TypeError(f"no TOML form for {type(v).__name__}")


def dumps(data: dict) -> str:
    return "".join(f"{_toml_str(str(k))} = {_toml_value(v)}\n" for k, v in data.items())


# ----------------------------------------------------------------------------------------------------------------
# mutations
# ----------------------------------------------------------------------------------------------------------------
EXTREMES = [0, -1, 1, 0.0, -0.0, 1e300, -1e300, 1e-300, -1e-300, math.nan, math.inf, -math.inf,
            2**63 - 1, -(2**63), 10**30, "", " ", "x" * 300, "nan", "1e300", True, False, [], {}, [[]], [{}],
            [1, "a"], [[25.0, math.nan]], [math.nan], {"library": "SAC305"}, datetime.date(2026, 12, 1)]
#: study words, so that mutations also hit real keys and values (section names, library names, kinds, ...)
WORDS = ["study", "model", "geometry", "designs", "mesh", "materials", "load", "fatigue", "output", "sweep",
         "solver", "constraints", "name", "kind", "flat", "embossed", "recessed", "slice2d", "axisym", "joint3d",
         "SAC305", "Sn63Pb37", "Si", "FR4", "elastic", "anand", "library", "profile", "cycles", "steps", "mode",
         "zip", "product", "design.ring_outer_diameter", "designs.flat.pad_diameter", "geometry.pitch",
         "start", "stop", "num", "step", "fix", "boundary", "point", "x", "y", "left", "corners", "all", "last",
         "auto", "pardiso", "JESD22-A104-G", "models", "syed_energy", "darveaux", "engelmaier", "meshes",
         "../meshes", "strip.msh", "nope.msh", "T_C"]

scalars = st.one_of(
    st.sampled_from(EXTREMES),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12),
    st.sampled_from(WORDS),
    st.booleans(),
)
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4),
    st.dictionaries(st.sampled_from(WORDS) | st.text(string.ascii_lowercase + "_.", min_size=1, max_size=8),
                    inner, max_size=3)), max_leaves=8).map(copy.deepcopy)   # EXTREMES holds mutable objects


def _paths(node, prefix=()):
    """Every (container path, key) pair: keys of tables and indices of lists, at any depth."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for k, v in items:
        yield prefix, k
        yield from _paths(v, prefix + (k,))


def _at(data, path):
    for k in path:
        data = data[k]
    return data


def mutate(data: dict, draw) -> str:
    """Apply one mutation drawn with `draw`; returns a description (for the failure message)."""
    paths = list(_paths(data))
    op = draw(st.sampled_from(["replace", "replace", "replace", "number", "delete", "add", "wrap", "unwrap",
                               "duplicate", "section"]))
    if op == "section":                            # add or replace a whole top-level table
        key = draw(st.sampled_from(WORDS) | st.text(string.ascii_lowercase, min_size=1, max_size=6))
        data[key] = draw(values)
        return f"{key} = {data[key]!r}"
    if not paths:
        data["study"] = draw(values)
        return f"study = {data['study']!r}"
    path, key = draw(st.sampled_from(paths))
    parent = _at(data, path)
    where = ".".join(map(str, path + (key,)))
    old = copy.deepcopy(parent[key])             # reused below: no shared or cyclic structures
    if op == "replace":
        parent[key] = draw(values)
    elif op == "number":                           # a realistic value made extreme: scaled, negated, off by tiny
        base = old if isinstance(old, (int, float)) and not isinstance(old, bool) else 1.0
        parent[key] = draw(st.sampled_from([base * 1e6, -base, base * 0, base * 1e-9, base + 1e-12, base * 1e300,
                                            int(base) if math.isfinite(base) else 0, str(base)]))
    elif op == "delete":
        del parent[key]
        return f"delete {where}"
    elif op == "add":
        target = old if isinstance(old, dict) else parent if isinstance(parent, dict) else None
        if target is None:
            parent[key] = [old, draw(values)]
        else:
            name = draw(st.sampled_from(WORDS) | st.text(string.ascii_lowercase + "_", min_size=1, max_size=10))
            target[name] = draw(values)
            return f"add {where}.{name} = {target[name]!r}"
    elif op == "wrap":
        parent[key] = copy.deepcopy(draw(st.sampled_from([[old], [old, old], {"value": old}, [[old]]])))
    elif op == "unwrap":
        if isinstance(old, list):
            parent[key] = old[0] if old else None
        elif isinstance(old, dict):
            parent[key] = next(iter(old.values())) if old else None
        else:
            parent[key] = str(old)
        if parent[key] is None:
            del parent[key]
            return f"delete (unwrap) {where}"
    elif op == "duplicate":
        if isinstance(parent, list):
            parent.append(old)
        elif isinstance(old, list) and old:
            parent[key] = old + [copy.deepcopy(old[-1])]
        else:
            parent[key] = [old, copy.deepcopy(old)]
    return f"{where}: {old!r} -> {parent.get(key) if isinstance(parent, dict) else parent[key]!r}"


# ----------------------------------------------------------------------------------------------------------------
# the property
# ----------------------------------------------------------------------------------------------------------------
class CheckTimedOut(BaseException):
    """Raised by the alarm: a BaseException, so that no `except Exception` in the code under test swallows it."""


def _alarm(signum, frame):
    raise CheckTimedOut(f"fem-wlp check took longer than {TIME_BOUND_S} s")


@contextlib.contextmanager
def bounded(seconds: float):
    """Wall-time bound (SIGALRM) and an address-space cap (a runaway allocation fails, not the machine)."""
    old_handler = signal.signal(signal.SIGALRM, _alarm)
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    with open("/proc/self/statm") as fh:
        vm = int(fh.read().split()[0]) * resource.getpagesize()
    cap = vm + MEMORY_HEADROOM
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old_handler)
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """A folder with the studies' side files (mesh files, the committed meshes/ folder as ../meshes)."""
    base = tmp_path_factory.mktemp("mutated")
    d = base / "studies"
    d.mkdir()
    for f in (ROOT / "studies").iterdir():
        if f.suffix != ".toml":
            shutil.copy(f, d / f.name)
    (base / "meshes").symlink_to(ROOT / "meshes")
    return d


def assert_check_answers(argv: list[str], what: str) -> None:
    """`fem-wlp check` answers 0 or 2 within the time bound, with no traceback and, for 2, one message line."""
    out, err = io.StringIO(), io.StringIO()
    timed_out, code = False, None
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            with bounded(TIME_BOUND_S):
                code = main(argv)
        except SystemExit as exc:
            code = exc.code
        except CheckTimedOut:
            timed_out = True
    stdout, stderr = out.getvalue(), err.getvalue()
    context = f"{what}\nstdout: {stdout[-500:]}\nstderr: {stderr[-1000:]}"
    assert not timed_out, f"fem-wlp check did not finish within {TIME_BOUND_S} s\n{context}"
    assert "Traceback" not in stdout + stderr, context
    assert code in (0, 2), context
    if code == 2:
        lines = [ln for ln in stderr.splitlines() if ln.strip()]
        assert len(lines) == 1 and lines[0].startswith("fem-wlp check: error:"), context


@pytest.mark.parametrize("study", STUDIES, ids=[s.stem for s in STUDIES])
@settings(max_examples=EXAMPLES_PER_STUDY, derandomize=True, database=None, deadline=None, print_blob=False,
          phases=[Phase.explicit, Phase.generate, Phase.shrink],
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(data=st.data())
def test_check_answers_0_or_2_without_traceback(study, workdir, data):
    doc = tomllib.loads(study.read_text())
    n = data.draw(st.integers(1, 3), label="mutations")
    done = [mutate(doc, data.draw) for _ in range(n)]
    text = dumps(doc)
    assert tomllib.loads(text) is not None            # the writer's output is valid TOML (a test-writer bug if not)
    path = workdir / f"{study.stem}.toml"
    path.write_text(text)
    assert_check_answers(["check", str(path)], f"mutations: {done}\nstudy:\n{text}")


# ----------------------------------------------------------------------------------------------------------------
# the same property for --set overrides (the other way a user changes a study)
# ----------------------------------------------------------------------------------------------------------------
SET_TEXTS = st.one_of(
    st.sampled_from(["1", "-1", "0", "1e300", "-1e300", "1e-300", "nan", "inf", "-inf", "99999999999999999999",
                     '"x"', '""', "[1, 2]", "[]", "{}", "{a = 1}", "true", "", "=", "[", '"', "{", "1979-05-27",
                     "[[25.0, nan]]", '{library = "SAC305"}', '["slice2d"]', "'single'", "x" * 300]),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=10))
SET_STUDIES = [s for s in STUDIES if s.stem in ("flat_vs_embossed_vs_recessed", "bimaterial_strip",
                                                 "sweep_ring_and_recess")]


@pytest.mark.parametrize("study", SET_STUDIES, ids=[s.stem for s in SET_STUDIES])
@settings(max_examples=EXAMPLES_PER_STUDY, derandomize=True, database=None, deadline=None, print_blob=False,
          phases=[Phase.explicit, Phase.generate, Phase.shrink],
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_check_with_set_answers_0_or_2_without_traceback(study, workdir, data):
    doc = tomllib.loads(study.read_text())
    keys = [".".join(map(str, p + (k,))) for p, k in _paths(doc)]
    key = st.one_of(st.sampled_from(keys), st.sampled_from(keys).map(lambda k: k + ".x"),
                    st.sampled_from(keys).map(lambda k: k.rsplit(".", 1)[0] + ".new_key"),
                    st.text(alphabet=string.ascii_lowercase + "._019", max_size=12))
    n = data.draw(st.integers(1, 3), label="overrides")
    overrides = [f"{data.draw(key)}={data.draw(SET_TEXTS)}" for _ in range(n)]
    path = workdir / study.name
    shutil.copy(study, path)
    assert_check_answers(["check", str(path)] + [f"--set={o}" for o in overrides], f"overrides: {overrides}")
