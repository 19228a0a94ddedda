"""Thermal profiles: step strings (table), presets, corners, time grid, cycles, round trip, study keys."""
import dataclasses

import numpy as np
import pytest

from fem_wlp.errors import InputError
from fem_wlp.wlcsp.profiles import (DEFAULT_RAMP_RATE, PRESETS, Profile, Step, get_preset, parse_step,
                             profile_from_spec)


# ---- step strings --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, expected", [
    ("Ramp to 125 oC at 10 oC/min", Step("ramp", T=125.0, rate=10 / 60)),
    ("ramp to -40 °C at 0.5 °C/s", Step("ramp", T=-40.0, rate=0.5)),
    ("Ramp to 398.15 K at 10 K/min", Step("ramp", T=125.0, rate=10 / 60)),
    ("Ramp to -40 oC in 16.5 min", Step("ramp", T=-40.0, duration=990.0)),
    ("Ramp to -40C over 990 s", Step("ramp", T=-40.0, duration=990.0)),
    ("Ramp to 25 oC", Step("ramp", T=25.0)),
    ("Heat to 125 oC at 10 oC/min", Step("ramp", T=125.0, rate=10 / 60, direction="heat")),
    ("Cool to -40 oC in 10 min", Step("ramp", T=-40.0, duration=600.0, direction="cool")),
    ("Dwell for 15 min", Step("dwell", duration=900.0)),
    ("  DWELL   for 15 min. ", Step("dwell", duration=900.0)),
    ("Hold for 30 sec", Step("dwell", duration=30.0)),
    ("Soak for 1 h", Step("dwell", duration=3600.0)),
    ("Dwell", Step("dwell")),
    ("Hold at 25 oC for 100 s", Step("hold", T=25.0, duration=100.0)),
    ("Dwell at 125 °C for 15 min", Step("hold", T=125.0, duration=900.0)),
])
def test_parse_step(text, expected):
    st = parse_step(text)
    for f in ("kind", "T", "rate", "duration", "direction"):
        a, b = getattr(st, f), getattr(expected, f)
        assert (a == pytest.approx(b, abs=1e-12)) if isinstance(b, float) else a == b, f
    assert st.text == text


@pytest.mark.parametrize("text, fragment", [
    ("Ramp 125 oC", "allowed: a step 'Ramp to <T> at <rate>'"),
    ("Jump to 125 oC", "allowed: a step"),
    ("Dwell for", "allowed: a step"),
    ("Ramp to 125 oF at 10 oC/min", "a temperature such as"),
    ("Ramp to 125 oC at 10 oC", "a rate such as"),
    ("Ramp to 125 oC at -10 oC/min", "a rate > 0"),
    ("Ramp to 125 oC in 0 s", "a duration > 0"),
    ("Dwell for 15 parsecs", "a duration such as"),
    ("Hold at 25 oC", "allowed: a step"),
    ("Hold at hot for 10 s", "a temperature such as"),
])
def test_parse_step_errors(text, fragment):
    with pytest.raises(InputError) as e:
        parse_step(text, key="load.steps[3]")
    assert str(e.value).startswith(f"load.steps[3] = {text!r}")
    assert fragment in str(e.value)
    assert e.value.key == "load.steps[3]"


def test_parse_step_not_a_string():
    with pytest.raises(InputError, match=r"load.steps\[0\] = 125"):
        parse_step(125, key="load.steps[0]")


@pytest.mark.parametrize("steps, fragment", [
    (["Ramp to 125 oC"], "or set load.ramp_rate"),
    (["Dwell"], "or set load.dwell"),
    (["Ramp to 125 oC at 10 oC/min", "Hold at 100 oC for 10 min", "Ramp to -40 oC at 10 oC/min"],
     "a hold at the current temperature (125 °C"),
    (["Ramp to -40 oC at 10 oC/min", "Heat to -50 oC at 10 oC/min", "Ramp to -40 oC at 1 oC/min"],
     "'Heat to' a temperature above"),
    ([], "a non-empty list"),
    ("not a list", "allowed: a step"),
])
def test_step_sequence_errors(steps, fragment):
    with pytest.raises(InputError) as e:
        Profile.from_steps(steps, stress_free_temperature=25.0)
    assert fragment in str(e.value)


# ---- presets ---------------------------------------------------------------------------------------------------
PRESET_TABLE = [  # name, T_min, T_max, sourced, dwell (min)
    ("JESD22-A104-A", -55, 85, True, 15), ("JESD22-A104-B", -55, 125, True, 15),
    ("JESD22-A104-C", -65, 150, True, 15), ("JESD22-A104-G", -40, 125, True, 15),
    ("JESD22-A104-H", -55, 150, True, 15), ("JESD22-A104-K", 0, 125, True, 15),
    ("JESD22-A104-J", 0, 100, False, 15), ("JESD22-A104-I", -40, 115, False, 15),
    ("JESD22-A104-L", -55, 110, False, 15), ("JESD22-A104-M", -40, 150, False, 15),
    ("JESD22-A104-N", -40, 85, False, 15),
    ("IPC-9701-TC1", 0, 100, True, 10), ("IPC-9701-TC2", -25, 100, False, 10),
    ("IPC-9701-TC3", -40, 125, True, 10), ("IPC-9701-TC4", -55, 125, True, 10),
    ("IPC-9701-TC5", -55, 100, False, 10),
]


def test_preset_table_complete():
    assert sorted(PRESETS) == sorted(r[0] for r in PRESET_TABLE)


@pytest.mark.parametrize("name, lo, hi, sourced, dwell_min", PRESET_TABLE)
@pytest.mark.parametrize("start", ["ambient", "cold", "hot"])
def test_preset_extremes_and_period(name, lo, hi, sourced, dwell_min, start):
    p = Profile.preset(name, cycles=2, stress_free_temperature=25.0, cycle_start=start)
    assert (p.T_min, p.T_max) == (lo, hi)
    assert PRESETS[name].sourced is sourced
    assert ("unsourced" in p.describe()) is (not sourced)
    # 2 ramps at 10 °C/min + 2 dwells
    period = 2 * (hi - lo) / 10 * 60 + 2 * dwell_min * 60
    assert p.cycle_duration == pytest.approx(period, rel=1e-12)
    assert [s.kind for s in p.segments if s.cycle == 1].count("dwell") == 2
    # dwells sit at the extremes, and last dwell_min each
    for s in p.segments:
        if s.kind == "dwell":
            assert s.T0 == s.T1 and s.T0 in (lo, hi) and s.t1 - s.t0 == pytest.approx(60 * dwell_min)
    assert p.cycle_start_temperature == {"ambient": 25.0, "cold": lo, "hot": hi}[start]


def test_jesd_g_63_min_and_initial_cooldown_from_217():
    p = Profile.preset("JESD22-A104-G", cycles=3, stress_free_temperature=217.0)
    assert p.cycle_duration == pytest.approx(63 * 60)        # 2 x 16.5 min ramps + 2 x 15 min dwells
    assert p.initial_duration == pytest.approx((217 - 25) / 10 * 60)
    assert p.duration == pytest.approx(p.initial_duration + 3 * 63 * 60)
    assert p.T(0.0) == 217.0 and p.T(p.duration) == pytest.approx(25.0)
    # ambient convention: 25 -> -40 (6.5 min) -> dwell -> 125 (16.5 min) -> dwell -> 25 (10 min)
    c1 = [(s.kind, round((s.t1 - s.t0) / 60, 9), s.T1) for s in p.segments if s.cycle == 1]
    assert c1 == [("ramp", 6.5, -40.0), ("dwell", 15.0, -40.0), ("ramp", 16.5, 125.0), ("dwell", 15.0, 125.0),
                  ("ramp", 10.0, 25.0)]
    assert "JESD22-A104-G" in p.describe() and "63 min per cycle × 3" in p.describe()


@pytest.mark.parametrize("alias", ["JESD22-A104-G", "jesd22-a104 g", "JESD22-A104G", "JEDEC-G", "A104-G"])
def test_preset_aliases(alias):
    assert get_preset(alias).name == "JESD22-A104-G"


@pytest.mark.parametrize("alias", ["IPC-9701-TC1", "IPC-TC1", "tc1", "IPC-9701A-TC1"])
def test_ipc_aliases(alias):
    assert get_preset(alias).name == "IPC-9701-TC1"


def test_preset_overrides():
    p = Profile.preset("JESD22-A104-G", cycles=1, ramp_rate="15 oC/min", dwell="10 min")
    assert p.cycle_duration == pytest.approx(2 * 165 / 15 * 60 + 2 * 600)
    assert "user ramp/dwell" in p.source
    p2 = Profile.preset("IPC-9701-TC3", cycles=1, dwell=300)   # numbers in base units (s)
    assert p2.cycle_duration == pytest.approx(2 * 165 / 10 * 60 + 2 * 300)


# ---- T(t), corners, cycles, time grid -------------------------------------------------------------------------
@pytest.fixture
def g3():
    return Profile.preset("JESD22-A104-G", cycles=3, stress_free_temperature=217.0)


def test_T_vectorised_and_corners(g3):
    t, T = g3.knots
    assert np.all(np.diff(t) > 0)
    assert g3.T(t).tolist() == T.tolist()
    assert isinstance(g3.T(10.0), float) and g3.T(np.array([1.0, 2.0])).shape == (2,)
    mid = 0.5 * (t[:-1] + t[1:])
    assert np.allclose(g3.T(mid), 0.5 * (T[:-1] + T[1:]))
    assert g3.T(-5.0) == 217.0 and g3.T(g3.duration + 5) == pytest.approx(25.0)
    assert np.array_equal(g3.corners, t[1:])
    assert len(g3.corners) == 1 + 3 * 5 == len(g3.segments)
    assert all(a.t1 == b.t0 and a.T1 == b.T0 for a, b in zip(g3.segments, g3.segments[1:]))


def test_cycle_bounds_and_cycle_of(g3):
    b = g3.cycle_bounds
    assert b.shape == (3, 2)
    assert np.allclose(np.diff(b, axis=1), 63 * 60) and np.array_equal(b[1:, 0], b[:-1, 1])
    assert set(b.ravel()) <= set(g3.corners)
    t = np.array([0.0, b[0, 0], b[0, 0] + 1e-3, b[0, 1], b[1, 0] + 1, b[2, 1], b[2, 1] + 10])
    assert g3.cycle_of(t).tolist() == [0, 0, 1, 1, 2, 3, 3]
    assert g3.cycle_of(b[1, 1]) == 2
    assert all(g3.cycle_of(0.5 * (s.t0 + s.t1)) == s.cycle for s in g3.segments)


def test_no_initial_ramp_when_starting_at_cycle_start():
    p = Profile.preset("JESD22-A104-G", cycles=2, stress_free_temperature=25.0)
    assert p.initial == () and p.cycle_bounds[0, 0] == 0.0 and p.cycle_of(0.0) == 0


@pytest.mark.parametrize("max_dT, dwell_steps, max_dt", [(5.0, 10, None), (2.0, 4, None), (5.0, 10, 30.0),
                                                        (100.0, 1, None)])
def test_time_grid(g3, max_dT, dwell_steps, max_dt):
    grid = g3.steps(max_dT=max_dT, min_dwell_steps=dwell_steps, max_dt=max_dt)
    assert grid[0] == 0.0 and grid[-1] == g3.duration
    assert np.all(np.diff(grid) > 0)
    assert np.all(np.isin(g3.corners, grid))                    # every corner exactly on the grid
    assert np.all(np.abs(np.diff(g3.T(grid))) <= max_dT + 1e-9)
    if max_dt is not None:
        assert np.diff(grid).max() <= max_dt * (1 + 1e-12)
    for s in g3.segments:
        if s.kind == "dwell":
            assert np.count_nonzero((grid > s.t0) & (grid <= s.t1)) >= dwell_steps


def test_time_grid_count_default(g3):
    # ramps: 192/5 -> 39 (initial); per cycle 13 + 33 + 20 ramp steps and 2 x 10 dwell steps
    assert len(g3.steps()) == 1 + 39 + 3 * (13 + 10 + 33 + 10 + 20)


@pytest.mark.parametrize("kw, key", [(dict(max_dT=0), "load.max_dT"), (dict(min_dwell_steps=0),
                                     "load.min_dwell_steps"), (dict(max_dt=-1.0), "solver.max_dt")])
def test_time_grid_errors(g3, kw, key):
    with pytest.raises(InputError, match=key):
        g3.steps(**kw)


# ---- custom steps -----------------------------------------------------------------------------------------------
def test_custom_steps_run_as_written_then_repeat_from_where_they_end():
    steps = ["Ramp to 125 oC at 10 oC/min", "Dwell for 15 min", "Ramp to -40 oC in 16.5 min", "Dwell for 15 min"]
    p = Profile.from_steps(steps, cycles=2, stress_free_temperature=217.0)
    assert p.initial == () and p.cycle_start_temperature == -40.0
    assert p.cycle_duration == pytest.approx(63 * 60)
    assert [s.T1 for s in p.segments] == 2 * [125.0, 125.0, -40.0, -40.0]
    assert p.segments[0].T0 == 217.0 and p.segments[0].t1 == pytest.approx(92 / DEFAULT_RAMP_RATE)


def test_cold_start_preset_equals_custom_steps_from_the_cold_extreme():
    # a preset starting at its cycle start has no initial ramp: the same history as the steps written from there
    a = Profile.preset("JESD22-A104-G", cycles=2, stress_free_temperature=-40.0, cycle_start="cold")
    b = Profile.from_steps(["Dwell for 15 min", "Ramp to 125 oC at 10 oC/min", "Dwell for 15 min",
                            "Ramp to -40 oC at 10 oC/min"], cycles=2, stress_free_temperature="-40 oC")
    ta, Ta = a.knots
    tb, Tb = b.knots
    assert a.initial == () and np.allclose(ta, tb, rtol=1e-14) and np.array_equal(Ta, Tb)


def test_isothermal_hold():
    p = profile_from_spec({"steps": ["Dwell for 100 s"]})
    assert p.duration == 100.0 and p.T_min == p.T_max == 25.0 and p.cycles == 1
    assert [s.kind for s in p.segments] == ["dwell"]
    assert len(p.steps()) == 11 and np.all(p.T(p.steps()) == 25.0)
    assert "isothermal 25 °C (the stress-free temperature: no thermal load)" in p.describe()
    with pytest.raises(InputError, match="a hold at the current temperature \\(217 °C"):
        profile_from_spec({"steps": ["Hold at 25 oC for 100 s"], "stress_free_temperature": 217.0})
    p2 = profile_from_spec({"steps": ["Ramp to 25 oC at 10 oC/min", "Hold at 25 oC for 100 s"],
                            "stress_free_temperature": 217.0})
    assert p2.initial == () and p2.duration == pytest.approx(192 * 6 + 100)


def test_ramp_to_current_temperature():
    p = Profile.from_steps(["Ramp to 25 oC at 10 oC/min", "Ramp to 25 oC in 60 s", "Ramp to 50 oC in 60 s",
                            "Ramp to 25 oC in 60 s"], stress_free_temperature=25.0)
    assert [s.kind for s in p.segments] == ["dwell", "ramp", "ramp"]


def test_default_ramp_rate_and_dwell_from_overrides():
    p = Profile.from_steps(["Ramp to 125 oC", "Dwell", "Ramp to 25 oC", "Dwell"], ramp_rate="20 oC/min",
                           dwell="5 min")
    assert p.cycle_duration == pytest.approx(2 * 300 + 2 * 300)


# ---- round trip, immutability -----------------------------------------------------------------------------------
@pytest.mark.parametrize("make", [
    lambda: Profile.preset("JESD22-A104-G", cycles=3, stress_free_temperature=217.0),
    lambda: Profile.preset("IPC-9701-TC2", cycles=1, cycle_start="hot", ramp_rate=0.25, dwell="7 min"),
    lambda: Profile.from_steps(["Ramp to 398.15 K at 7 oC/min", "Dwell for 13 min", "Ramp to -40 oC in 1000 s"],
                               cycles=4, stress_free_temperature=183.0),
    lambda: profile_from_spec({"steps": ["Dwell for 100 s"]}),
])
def test_round_trip(make):
    p = make()
    d = p.to_dict()
    q = Profile.from_dict(d)
    assert q == p and q.to_dict() == d
    assert np.array_equal(p.knots[0], q.knots[0]) and np.array_equal(p.knots[1], q.knots[1])
    import json
    assert Profile.from_dict(json.loads(json.dumps(d))) == p


def test_immutable(g3):
    with pytest.raises(dataclasses.FrozenInstanceError):
        g3.cycles = 4
    with pytest.raises(ValueError):
        g3.knots[0][1] = 0.0


# ---- study keys -------------------------------------------------------------------------------------------------
def test_profile_from_spec_preset():
    p = profile_from_spec({"profile": "JESD22-A104-G", "cycles": 3, "stress_free_temperature": 217.0,
                           "constraints": "ignored"})
    assert p == Profile.preset("JESD22-A104-G", cycles=3, stress_free_temperature=217.0)
    assert profile_from_spec({"profile": "IPC-9701-TC1"}).cycles == 3      # preset default: 3 cycles


@pytest.mark.parametrize("load, key, fragment", [
    ({"profile": "JESD22-A104-Z"}, "load.profile", "one of JESD22-A104-A"),
    ({"profile": "JESD22-A104-G", "steps": ["Dwell for 1 s"]}, "load.profile", "not both"),
    ({}, "load.profile", "a preset name"),
    ({"profile": "JESD22-A104-G", "cycles": 0}, "load.cycles", "an integer >= 1"),
    ({"profile": "JESD22-A104-G", "cycles": 2.5}, "load.cycles", "an integer >= 1"),
    ({"profile": "JESD22-A104-G", "cycles": "3"}, "load.cycles", "an integer >= 1"),
    ({"profile": "JESD22-A104-G", "ramp_rate": "fast"}, "load.ramp_rate", "a rate such as"),
    ({"profile": "JESD22-A104-G", "dwell": "0 min"}, "load.dwell", "a duration > 0"),
    ({"profile": "JESD22-A104-G", "stress_free_temperature": "217 F"}, "load.stress_free_temperature",
     "a temperature such as"),
    ({"profile": "JESD22-A104-G", "cycle_start": "middle"}, "load.cycle_start", "'ambient'"),
    ({"steps": ["Dwell for 1 s"], "cycle_start": "cold"}, "load.cycle_start", "only with load.profile"),
    ({"steps": ["Dwell for 1 s"], "initial_ramp_rate": 1.0}, "load.initial_ramp_rate", "write the first ramp"),
    ({"steps": ["Ramp to 0 oC at 100 oC/min"], "stress_free_temperature": 125.0, "cycles": 2}, "load.cycles",
     "repeated from 0 °C (where they end) have no duration"),
    ({"steps": ["Ramp to 25 oC at 10 oC/min"]}, "load.steps", "steps that change the temperature from 25 °C"),
    ({"steps": ["Dwell for 1 s", "Wait 5 s"]}, "load.steps[1]", "allowed: a step"),
    ("JESD22-A104-G", "load", "a table"),
])
def test_profile_from_spec_errors(load, key, fragment):
    with pytest.raises(InputError) as e:
        profile_from_spec(load)
    assert e.value.key == key and fragment in str(e.value)


# ---- steps run as written (issue 15 item 2) ---------------------------------------------------------------------
# (steps, stress-free °C, cycles, [(kind, t0 s, t1 s, T0 °C, T1 °C, cycle)], rates °C/min in describe())
WRITTEN = [
    (["Ramp to 0 oC at 100 oC/min"], 125.0, 1, [("ramp", 0, 75, 125, 0, 1)], "100"),
    (["Ramp to 25 oC at 100 oC/min", "Dwell for 60 s"], 125.0, 1,
     [("ramp", 0, 60, 125, 25, 1), ("dwell", 60, 120, 25, 25, 1)], "100"),
    (["Dwell for 60 s"], 125.0, 1, [("dwell", 0, 60, 125, 125, 1)], None),
    (["Cool to -40 oC in 5 min", "Heat to 85 oC at 25 oC/min"], 25.0, 1,
     [("ramp", 0, 300, 25, -40, 1), ("ramp", 300, 600, -40, 85, 1)], "13/25"),
    (["Ramp to 125 oC at 20 oC/min", "Dwell for 5 min", "Ramp to 25 oC at 20 oC/min"], 25.0, 2,
     [("ramp", 0, 300, 25, 125, 1), ("dwell", 300, 600, 125, 125, 1), ("ramp", 600, 900, 125, 25, 1),
      ("ramp", 900, 1200, 25, 125, 2), ("dwell", 1200, 1500, 125, 125, 2), ("ramp", 1500, 1800, 125, 25, 2)],
     "20"),
    # cycle 1 starts at the stress-free temperature; the repeat starts where the steps end (-40 °C)
    (["Ramp to 125 oC at 10 oC/min", "Dwell for 15 min", "Ramp to -40 oC at 10 oC/min", "Dwell for 15 min"],
     217.0, 2,
     [("ramp", 0, 552, 217, 125, 1), ("dwell", 552, 1452, 125, 125, 1), ("ramp", 1452, 2442, 125, -40, 1),
      ("dwell", 2442, 3342, -40, -40, 1), ("ramp", 3342, 4332, -40, 125, 2), ("dwell", 4332, 5232, 125, 125, 2),
      ("ramp", 5232, 6222, 125, -40, 2), ("dwell", 6222, 7122, -40, -40, 2)], "10"),
]


@pytest.mark.parametrize("steps, T_sf, cycles, segments, rates", WRITTEN)
def test_steps_run_as_written(steps, T_sf, cycles, segments, rates):
    p = profile_from_spec({"steps": steps, "stress_free_temperature": T_sf, "cycles": cycles})
    got = [(s.kind, s.t0, s.t1, s.T0, s.T1, s.cycle) for s in p.segments]
    assert len(got) == len(segments)
    for g, e in zip(got, segments):
        assert g[0] == e[0] and g[5] == e[5] and np.allclose(g[1:5], e[1:5], rtol=1e-12, atol=1e-9), (g, e)
    assert p.initial == () and p.T(0.0) == T_sf                    # no implicit ramp, no cycle 0
    assert all(p.cycle_of(0.5 * (s.t0 + s.t1)) == s.cycle for s in p.segments)
    assert np.allclose(p.cycle_bounds, [[min(s.t0 for s in p.segments if s.cycle == k),
                                         max(s.t1 for s in p.segments if s.cycle == k)]
                                        for k in range(1, cycles + 1)])
    d = p.describe()
    assert f"from {T_sf:g} °C" in d and "initial ramp" not in d
    assert (f"ramps {rates} °C/min" in d) if rates else ("ramps" not in d)
    assert Profile.from_dict(p.to_dict()) == p


def test_preset_initial_ramp_is_explicit_and_unchanged():
    p = profile_from_spec({"profile": "JESD22-A104-G", "stress_free_temperature": 217.0})
    assert p.initial_ramp_rate == pytest.approx(10 / 60)
    assert "from 217 °C (initial ramp 19.2 min at 10 °C/min to 25 °C, cycle 0)" in p.describe()
    # the default preset history: 217 -> 25 °C at 10 °C/min, then 25 -> -40 -> dwell -> 125 -> dwell -> 25
    t, T = p.knots
    c = [0, 1152, 390, 900, 990, 900, 600]
    assert np.allclose(t[:7], np.cumsum(c), rtol=1e-14) and T[:7].tolist() == [217, 25, -40, -40, 125, 125, 25]
    q = profile_from_spec({"profile": "JESD22-A104-G", "stress_free_temperature": 217.0,
                           "initial_ramp_rate": "5 oC/min"})
    assert q.initial_duration == pytest.approx(192 / 5 * 60) and q.cycle == p.cycle
    assert "initial ramp 38.4 min at 5 °C/min to 25 °C, cycle 0" in q.describe()
    assert profile_from_spec({"profile": "JESD22-A104-G"}).initial_ramp_rate is None
