"""Thermal load histories: piecewise-linear temperature profiles from presets or readable step strings.

A `Profile` is immutable. It is built from
- a preset: JEDEC JESD22-A104 conditions and IPC-9701 TC profiles (table `PRESETS`, each number with its source
  status from ../shared/reference/domain.md §3), with a default ramp rate and dwell that can be overridden, or
- step strings, parsed in one place (`parse_step`, tested with a table):

      "Ramp to 125 oC at 10 oC/min"      ramp at a rate (the direction comes from the target)
      "Ramp to -40 oC in 16.5 min"       ramp over a duration
      "Ramp to 25 oC"                    ramp at the default rate (load.ramp_rate; 10 °C/min if not set)
      "Dwell for 15 min"                 hold the current temperature (also "Hold for ...", "Soak for ...")
      "Dwell"                            dwell for the default dwell (load.dwell; an error if not set)
      "Hold at 25 oC for 100 s"          hold, asserting the temperature (also "Dwell at ... for ...")

  ("Heat to"/"Cool to" are accepted for "Ramp to" and checked for direction.)

Conventions
- Time starts at 0 at the stress-free state, temperature `stress_free_temperature` (e.g. 217 °C, the SAC305
  solidus, or 25 °C).
- **Steps run as written**, from the stress-free temperature, rates and durations included: cycle 1 is the
  steps resolved from the stress-free temperature; with `cycles` > 1 the steps repeat, each repeat resolved from
  where the previous one ended (the last "Ramp to"/"Hold at" target), so cycles 2..N are identical and closed
  while cycle 1 may differ (its first ramp starts at the stress-free temperature). A single ramp is a profile.
  There is no implicit ramp: a steps profile has no cycle 0.
- **Presets** are closed cycles that start and end at their *cycle-start temperature* (25 °C, the cold or the
  hot extreme, `cycle_start`). Before cycle 1 an explicit *initial ramp* (cycle index 0) goes from the
  stress-free temperature to the cycle-start temperature at `initial_ramp_rate` (default: the ramp rate, the
  preset's 10 °C/min); `describe()` states it (study echo, summary, report). No initial ramp if they are equal.
- Presets: `cycle_start = "ambient"` (default): 25 °C → cold extreme → cold dwell → hot extreme → hot dwell →
  25 °C; `"cold"`: cold dwell → ramp up → hot dwell → ramp down (starts at the cold extreme); `"hot"`: hot dwell →
  ramp down → cold dwell → ramp up (starts at the hot extreme). The period and the stabilised per-cycle ΔW do
  not depend on this choice; only the first cycle does.
- Cycle index of a time t: 0 for t <= start of cycle 1; k for start_k < t <= end_k (a time exactly at a cycle's
  end belongs to that cycle, so "value at the last row of cycle k minus value at the last row before it" is the
  increment over cycle k).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np

from fem_wlp.errors import InputError
from fem_wlp.units import (DURATION_ALLOWED, RATE_ALLOWED, TEMPERATURE_ALLOWED, format_duration, parse_duration,
                    parse_rate, parse_temperature)

#: ramp rate used when none is given (°C/s): 10 °C/min, the JESD22-A104 G modelling default of [S5 §4.7, §12.1]
DEFAULT_RAMP_RATE = 10.0 / 60.0
#: room temperature where presets with cycle_start = "ambient" start and end a cycle (°C)
AMBIENT_C = 25.0
#: largest temperature change of one initial increment on a ramp (°C), the study default of load.max_dT
DEFAULT_MAX_DT = 5.0
#: increments of a dwell, the study default of load.min_dwell_steps
DEFAULT_MIN_DWELL_STEPS = 10
#: growth factor of consecutive increments after a corner (the study default of load.step_growth)
DEFAULT_STEP_GROWTH = 2.0
#: first increment after a corner as a fraction of the local largest increment (study default of load.first_step)
DEFAULT_FIRST_STEP = 0.125
#: temperatures closer than this are equal (°C)
T_TOL = 1e-6

STEP_FORMS = ("'Ramp to <T> at <rate>'", "'Ramp to <T> in <duration>'", "'Ramp to <T>'",
              "'Dwell for <duration>'", "'Dwell'", "'Hold at <T> for <duration>'")
STEP_ALLOWED = "a step " + ", ".join(STEP_FORMS) + " e.g. 'Ramp to 125 oC at 10 oC/min', 'Dwell for 15 min'"


# ---------------------------------------------------------------------------------------------------------------
# Presets (domain.md §3). Temperatures in °C, dwell in s, ramp in °C/s.
# ---------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Preset:
    name: str
    T_min: float
    T_max: float
    ramp_rate: float        # °C/s
    dwell: float            # s, each of the cold and the hot dwell
    source: str             # where the extremes come from
    sourced: bool           # False: textbook/unsourced extremes (flagged in describe() and reports)
    timing_source: str      # where the default ramp and dwell come from


# JEDEC default ramp/dwell: 10 °C/min and 15 min -- the modelling profile of [S5 §4.7, §12.1] (a public FE-tool
# specification, not the standard). The standard itself allows soak modes 1/5/10/15 min and, for solder-joint
# studies, ramps <= 15 °C/min: textbook, unsourced (domain.md §3.1).
_JEDEC_TIMING = "10 °C/min ramps, 15 min dwells: modelling practice [S5 §4.7, §12.1], not from the standard text"
# IPC-9701 default: 10 min dwells -- [S17] uses a 10 min hot dwell; "IPC-9701 dwell 10 min, ramps <= 20 °C/min"
# is textbook, unsourced (domain.md §3.3). The 10 °C/min ramp is the project's choice (within <= 20 °C/min).
_IPC_TIMING = ("10 min dwells ([S17] hot dwell; IPC-9701 10 min is textbook, unsourced); 10 °C/min ramps "
               "(project default within the unsourced IPC limit of 20 °C/min)")
_S14 = "JESD22-A104 condition table [S14] (raonsolution.com)"
_UNSOURCED = "textbook, unsourced (domain.md §3); check the standard before relying on it"


def _jedec(c, lo, hi, sourced, note=""):
    src = (_S14 if sourced else _UNSOURCED) + note
    return Preset(f"JESD22-A104-{c}", lo, hi, 10.0 / 60.0, 15 * 60.0, src, sourced, _JEDEC_TIMING)


def _ipc(c, lo, hi, sourced, note=""):
    src = ("IPC-9701 TC list [S17]" if sourced else _UNSOURCED) + note
    return Preset(f"IPC-9701-{c}", lo, hi, 10.0 / 60.0, 10 * 60.0, src, sourced, _IPC_TIMING)


PRESETS: dict[str, Preset] = {p.name: p for p in (
    _jedec("A", -55.0, 85.0, True),           # [S14]
    _jedec("B", -55.0, 125.0, True),          # [S14]
    _jedec("C", -65.0, 150.0, True),          # [S14]
    _jedec("G", -40.0, 125.0, True),          # [S14]
    _jedec("H", -55.0, 150.0, True),          # [S14]
    _jedec("K", 0.0, 125.0, True),            # [S14] (+ vendor RP plan "TC-K 0/125 °C")
    _jedec("J", 0.0, 100.0, False),           # textbook, unsourced
    _jedec("I", -40.0, 115.0, False),         # textbook, unsourced
    _jedec("L", -55.0, 110.0, False),         # textbook, unsourced
    _jedec("M", -40.0, 150.0, False),         # textbook, unsourced
    _jedec("N", -40.0, 85.0, False),          # textbook, unsourced
    _ipc("TC1", 0.0, 100.0, True),            # [S17] range; "the preferred reference"
    _ipc("TC2", -25.0, 100.0, False,          # textbook, unsourced; [S17] says -25..125 (probably wrong)
         "; [S17] lists -25/125 °C, probably wrong"),
    _ipc("TC3", -40.0, 125.0, True),          # [S17]
    _ipc("TC4", -55.0, 125.0, True),          # [S17]
    _ipc("TC5", -55.0, 100.0, False),         # textbook, unsourced
)}


def _preset_key(name: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", name.upper())


_ALIASES: dict[str, str] = {}
for _p in PRESETS.values():
    _c = _p.name.rsplit("-", 1)[1]
    if _p.name.startswith("JESD"):
        for a in (_p.name, f"JEDEC-{_c}", f"A104-{_c}", f"JESD22-A104{_c}"):
            _ALIASES[_preset_key(a)] = _p.name
    else:
        for a in (_p.name, f"IPC-9701A-{_c}", f"IPC-{_c}", _c):
            _ALIASES[_preset_key(a)] = _p.name


def get_preset(name: str, key: str = "load.profile") -> Preset:
    """Preset by name: 'JESD22-A104-G' (also 'JEDEC-G', 'A104-G'), 'IPC-9701-TC1' (also 'IPC-TC1', 'TC1')."""
    if not isinstance(name, str) or _preset_key(name) not in _ALIASES:
        raise InputError(key, name, "one of " + ", ".join(PRESETS))
    return PRESETS[_ALIASES[_preset_key(name)]]


# ---------------------------------------------------------------------------------------------------------------
# Steps
# ---------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Step:
    """One parsed step string. Exactly the fields its form needs are set (the others None)."""
    kind: str                       # "ramp" | "dwell" | "hold"
    T: float | None = None          # target (ramp) or asserted (hold) temperature, °C
    rate: float | None = None       # °C/s (ramp "at")
    duration: float | None = None   # s (ramp "in", dwell, hold)
    direction: str | None = None    # "heat" | "cool" for "Heat to"/"Cool to", checked when resolved
    text: str = ""


_RAMP = re.compile(r"^(?P<verb>ramp|heat|cool)\s+to\s+(?P<T>.+?)(?:\s+(?P<how>at|in|over)\s+(?P<q>.+))?$", re.I)
_DWELL = re.compile(r"^(?:dwell|hold|soak)(?:\s+for\s+(?P<d>.+))?$", re.I)
_HOLD = re.compile(r"^(?:dwell|hold|soak)\s+at\s+(?P<T>.+?)\s+for\s+(?P<d>.+)$", re.I)


def _sub(fn, text, key, step, allowed, **kw):
    """Parse a quantity inside a step; on error name the step, not only the quantity."""
    try:
        return fn(text, key=key, **kw)
    except InputError as e:
        raise InputError(key, step, allowed, message=f"{key} = {step!r}: {e}") from None


def parse_step(text, key: str = "load.steps[0]") -> Step:
    """Parse one step string (see module docstring)."""
    if not isinstance(text, str):
        raise InputError(key, text, STEP_ALLOWED)
    s = " ".join(text.replace("\u00a0", " ").split()).rstrip(".")
    if m := _RAMP.match(s):
        T = _sub(parse_temperature, m["T"], key, text, TEMPERATURE_ALLOWED)
        verb = m["verb"].lower()
        direction = None if verb == "ramp" else verb
        if m["how"] is None:
            return Step("ramp", T=T, direction=direction, text=text)
        if m["how"].lower() == "at":
            return Step("ramp", T=T, rate=_sub(parse_rate, m["q"], key, text, RATE_ALLOWED),
                        direction=direction, text=text)
        return Step("ramp", T=T, duration=_sub(parse_duration, m["q"], key, text, DURATION_ALLOWED),
                    direction=direction, text=text)
    if m := _HOLD.match(s):
        T = _sub(parse_temperature, m["T"], key, text, TEMPERATURE_ALLOWED)
        return Step("hold", T=T, duration=_sub(parse_duration, m["d"], key, text, DURATION_ALLOWED), text=text)
    if m := _DWELL.match(s):
        d = None if m["d"] is None else _sub(parse_duration, m["d"], key, text, DURATION_ALLOWED)
        return Step("dwell", duration=d, text=text)
    raise InputError(key, text, STEP_ALLOWED)


@dataclass(frozen=True)
class Leg:
    """A resolved piece of one cycle (or of the initial ramp): kind, length and end temperature."""
    kind: str          # "ramp" | "dwell"
    duration: float    # s, > 0
    T_end: float       # °C

    def to_text(self) -> str:
        """Canonical step string; repr keeps floats exact so from_dict(to_dict()) is an identity."""
        if self.kind == "ramp":
            return f"Ramp to {self.T_end!r} oC in {self.duration!r} s"
        return f"Dwell for {self.duration!r} s"


def _resolve(steps, T_start, ramp_rate, dwell, key) -> tuple[Leg, ...]:
    """Steps -> legs starting at T_start. Zero-length ramps (target = current temperature, given a rate)
    disappear; a 'Ramp to <current T> in d' is a dwell of d."""
    legs, T = [], T_start
    for i, st in enumerate(steps):
        k = f"{key}[{i}]"
        if st.kind == "ramp":
            dT = st.T - T
            if st.direction == "heat" and dT < -T_TOL or st.direction == "cool" and dT > T_TOL:
                raise InputError(k, st.text, f"'{st.direction.capitalize()} to' a temperature "
                                 f"{'above' if st.direction == 'heat' else 'below'} the current {T:g} °C, "
                                 "or 'Ramp to'")
            if st.duration is not None:
                d = st.duration
            else:
                rate = st.rate if st.rate is not None else ramp_rate
                if rate is None:
                    raise InputError(k, st.text, "'Ramp to <T> at <rate>' or '... in <duration>' "
                                     "(or set load.ramp_rate)")
                d = abs(dT) / rate
            if abs(dT) <= T_TOL:
                if st.duration is not None:
                    legs.append(Leg("dwell", d, T))
                continue
            legs.append(Leg("ramp", d, st.T))
            T = st.T
        else:
            if st.kind == "hold" and abs(st.T - T) > T_TOL:
                raise InputError(k, st.text, f"a hold at the current temperature ({T:g} °C at this point "
                                 "of the cycle); put a 'Ramp to ...' step before it")
            d = st.duration if st.duration is not None else dwell
            if d is None:
                raise InputError(k, st.text, "'Dwell for <duration>' (or set load.dwell)")
            legs.append(Leg("dwell", d, T))
    return tuple(legs)


def _parse_steps(steps, stress_free_temperature, ramp_rate, dwell, key):
    """(parsed steps, stress-free temperature °C, default ramp rate °C/s or None, default dwell s or None)."""
    if isinstance(steps, str):
        steps = [steps]
    if not isinstance(steps, (list, tuple)) or not steps:
        raise InputError(key, steps, "a non-empty list of step strings: " + STEP_ALLOWED)
    T_sf = parse_temperature(stress_free_temperature, key="load.stress_free_temperature")
    rate = None if ramp_rate is None else parse_rate(ramp_rate, key="load.ramp_rate")
    dw = None if dwell is None else parse_duration(dwell, key="load.dwell")
    return [parse_step(s, key=f"{key}[{i}]") for i, s in enumerate(steps)], T_sf, rate, dw


# ---------------------------------------------------------------------------------------------------------------
# Profile
# ---------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Segment:
    kind: str       # "ramp" | "dwell"
    t0: float       # s
    t1: float       # s
    T0: float       # °C
    T1: float       # °C
    cycle: int      # 0 = initial ramp from the stress-free temperature, 1..cycles


@dataclass(frozen=True, eq=False)
class Profile:
    """Piecewise-linear temperature history T(t): an initial ramp (presets; cycle 0), cycle 1 (`first`, or
    `cycle` when None) then cycles 2..N (`cycle`)."""
    stress_free_temperature: float
    initial: tuple[Leg, ...]
    cycle: tuple[Leg, ...]
    cycles: int
    name: str = "custom"
    source: str = "user-defined steps"
    first: tuple[Leg, ...] | None = None       # cycle 1 when it differs from the repeated cycle (steps)
    _t: np.ndarray = field(init=False, repr=False)
    _T: np.ndarray = field(init=False, repr=False)
    _segments: tuple[Segment, ...] = field(init=False, repr=False)

    def __post_init__(self):
        if not isinstance(self.cycles, int) or isinstance(self.cycles, bool) or self.cycles < 1:
            raise InputError("load.cycles", self.cycles, "an integer >= 1")
        if not self.cycle:
            raise InputError("load.steps", [], "at least one step with a non-zero duration")
        segs, t, T = [], 0.0, float(self.stress_free_temperature)
        if self.first is not None and not self.first:
            raise InputError("load.steps", [], "at least one step with a non-zero duration")
        blocks = [(0, self.initial), (1, self.first if self.first is not None else self.cycle)]
        for k, legs in blocks + [(c, self.cycle) for c in range(2, self.cycles + 1)]:
            for leg in legs:
                if not leg.duration > 0 or not math.isfinite(leg.duration):
                    raise InputError("load.steps", leg.to_text(), "durations > 0")
                segs.append(Segment(leg.kind, t, t + leg.duration, T, leg.T_end, k))
                t, T = t + leg.duration, leg.T_end
        T_first = self.initial[-1].T_end if self.initial else float(self.stress_free_temperature)
        if self.first is not None:
            T_first = self.first[-1].T_end
        if (self.cycles > 1 or self.first is not None) and abs(T_first - self.cycle_start_temperature) > T_TOL:
            raise InputError("load.steps", [l.to_text() for l in self.cycle],
                             f"a closed cycle that starts where the initial ramp ends ({T_first:g} °C)")
        tt = np.array([0.0] + [s.t1 for s in segs])
        TT = np.array([float(self.stress_free_temperature)] + [s.T1 for s in segs])
        tt.setflags(write=False)
        TT.setflags(write=False)
        object.__setattr__(self, "_t", tt)
        object.__setattr__(self, "_T", TT)
        object.__setattr__(self, "_segments", tuple(segs))

    # -- constructors -------------------------------------------------------------------------------------------
    @classmethod
    def from_steps(cls, steps, cycles: int = 1, stress_free_temperature=25.0, ramp_rate=None, dwell=None,
                   name: str = "custom", source: str = "user-defined steps", key: str = "load.steps") -> "Profile":
        """Profile from step strings, run as written from the stress-free temperature (module docstring).
        ramp_rate (°C/s or '10 oC/min') serves 'Ramp to <T>'; dwell (s or '15 min') serves a bare 'Dwell'."""
        parsed, T_sf, rate, dw = _parse_steps(steps, stress_free_temperature, ramp_rate, dwell, key)
        n = _cycles(cycles)
        first = _resolve(parsed, T_sf, rate, dw, key)
        if not first:
            raise InputError(key, list(steps), f"steps that change the temperature from {T_sf:g} °C (the "
                             "stress-free temperature, where they start) or hold it for a duration > 0")
        if n == 1:
            return cls(T_sf, (), first, 1, name=name, source=source)
        T_end = first[-1].T_end
        cycle = _resolve(parsed, T_end, rate, dw, key)
        if not cycle:
            raise InputError("load.cycles", n, f"1: the steps repeated from {T_end:g} °C (where they end) have no "
                             "duration; add a dwell or a ramp back to repeat them")
        return cls(T_sf, (), cycle, n, name=name, source=source, first=None if cycle == first else first)

    @classmethod
    def _closed(cls, steps, cycles, stress_free_temperature, ramp_rate, dwell, initial_ramp_rate, name,
                source, key="load.steps") -> "Profile":
        """A closed cycle that starts and ends at the last target temperature of `steps`, after an explicit
        initial ramp from the stress-free temperature at initial_ramp_rate (default ramp_rate) -- presets."""
        parsed, T_sf, rate, dw = _parse_steps(steps, stress_free_temperature, ramp_rate, dwell, key)
        r0 = (parse_rate(initial_ramp_rate, key="load.initial_ramp_rate") if initial_ramp_rate is not None
              else rate if rate is not None else DEFAULT_RAMP_RATE)
        T_c = next((st.T for st in reversed(parsed) if st.T is not None), T_sf)
        cycle = _resolve(parsed, T_c, rate, dw, key)
        initial = _resolve([Step("ramp", T=T_c, rate=r0, text=f"initial ramp to {T_c:g} °C")], T_sf, r0, None,
                           "load.stress_free_temperature")
        return cls(T_sf, initial, cycle, _cycles(cycles), name=name, source=source)

    @classmethod
    def preset(cls, name: str, cycles: int = 3, stress_free_temperature=25.0, ramp_rate=None, dwell=None,
               cycle_start: str = "ambient", initial_ramp_rate=None) -> "Profile":
        """JEDEC/IPC preset (see PRESETS) with its default ramp rate and dwell unless overridden; an initial ramp
        from the stress-free temperature to the cycle start at initial_ramp_rate (default: the ramp rate)."""
        p = get_preset(name)
        rate = p.ramp_rate if ramp_rate is None else parse_rate(ramp_rate, key="load.ramp_rate")
        dw = p.dwell if dwell is None else parse_duration(dwell, key="load.dwell")
        lo, hi = f"{p.T_min!r} oC", f"{p.T_max!r} oC"
        if cycle_start == "ambient":
            steps = [f"Ramp to {lo}", "Dwell", f"Ramp to {hi}", "Dwell", f"Ramp to {AMBIENT_C!r} oC"]
        elif cycle_start == "cold":
            steps = [f"Hold at {lo} for {dw!r} s", f"Ramp to {hi}", "Dwell", f"Ramp to {lo}"]
        elif cycle_start == "hot":
            steps = [f"Hold at {hi} for {dw!r} s", f"Ramp to {lo}", "Dwell", f"Ramp to {hi}"]
        else:
            raise InputError("load.cycle_start", cycle_start, "'ambient' (25 °C), 'cold' or 'hot'")
        src = f"{p.source}; timing: {p.timing_source}" if (ramp_rate is None and dwell is None) else \
            f"{p.source}; timing: user ramp/dwell"
        return cls._closed(steps, cycles, stress_free_temperature, rate, dw, initial_ramp_rate, p.name, src)

    # -- queries ------------------------------------------------------------------------------------------------
    @property
    def cycle_start_temperature(self) -> float:
        """Temperature at which each repeated cycle starts and ends (°C): where cycle 1 starts for a preset,
        where the steps end for a steps profile (cycle 1 of steps starts at the stress-free temperature)."""
        return self.cycle[-1].T_end

    @property
    def initial_ramp_rate(self) -> float | None:
        """Rate of the initial ramp (°C/s), None without one."""
        if not self.initial:
            return None
        T0 = float(self.stress_free_temperature)
        return abs(self.initial[-1].T_end - T0) / self.initial_duration

    @property
    def duration(self) -> float:
        return float(self._t[-1])

    @property
    def initial_duration(self) -> float:
        return float(sum(l.duration for l in self.initial))

    @property
    def cycle_duration(self) -> float:
        return float(sum(l.duration for l in self.cycle))

    @property
    def T_min(self) -> float:
        return float(self._T.min())

    @property
    def T_max(self) -> float:
        return float(self._T.max())

    @property
    def knots(self) -> tuple[np.ndarray, np.ndarray]:
        """(times, temperatures) of the piecewise-linear history, including t = 0 (read-only arrays)."""
        return self._t, self._T

    @property
    def corners(self) -> np.ndarray:
        """Times (s) of the end of every ramp and dwell, increasing, without t = 0."""
        return self._t[1:].copy()

    @property
    def segments(self) -> tuple[Segment, ...]:
        return self._segments

    @property
    def cycle_bounds(self) -> np.ndarray:
        """(cycles, 2) array of [start, end] times of cycles 1..N."""
        t0 = self.initial_duration
        k = np.arange(self.cycles)
        # from the knots (not t0 + k*period) so bounds coincide bit-for-bit with corners
        n0, n1 = len(self.initial), len(self.cycle)
        nf = n1 if self.first is None else len(self.first)
        starts = self._t[np.where(k == 0, n0, n0 + nf + n1 * (k - 1))]
        ends = self._t[n0 + nf + n1 * k]
        assert abs(starts[0] - t0) <= 1e-9 * max(1.0, t0)
        return np.column_stack([starts, ends])

    def T(self, t):
        """Temperature (°C) at time(s) t; held constant outside [0, duration]. Scalar in, float out."""
        out = np.interp(t, self._t, self._T)
        return float(out) if np.ndim(t) == 0 else out

    def cycle_of(self, t):
        """Cycle index of time(s) t: 0 for t <= start of cycle 1, k for start_k < t <= end_k (N after the end)."""
        idx = np.searchsorted(self.cycle_bounds[:, 0], t, side="left")
        return int(idx) if np.ndim(t) == 0 else idx.astype(int)

    def step_count(self, max_dT: float = DEFAULT_MAX_DT, min_dwell_steps: int = DEFAULT_MIN_DWELL_STEPS,
                   first_step: float = 1.0, step_growth: float = DEFAULT_STEP_GROWTH) -> int:
        """Number of increments of `steps(max_dT, min_dwell_steps)` without building the grid (an upper bound
        with a corner ladder, first_step < 1: `ladder_steps` more per segment)."""
        n = sum(max(1, math.ceil(abs(s.T1 - s.T0) / max_dT - 1e-9)) if s.kind == "ramp" else min_dwell_steps
                for s in self._segments)
        return n + len(self._segments) * ladder_steps(first_step, step_growth)

    def steps(self, max_dT: float = DEFAULT_MAX_DT, min_dwell_steps: int = DEFAULT_MIN_DWELL_STEPS,
              max_dt: float | None = None, first_step: float = 1.0, step_growth: float = DEFAULT_STEP_GROWTH,
              corners=()) -> np.ndarray:
        """Initial time grid (s), from 0 to the end of the load history, containing every corner.

        Each segment of the profile has a largest step h: |ΔT|/n with n = ceil(|ΔT|/max_dT) on a ramp, the dwell
        / min_dwell_steps on a dwell, and h <= max_dt (domain.md §7). `corners`: further corner times (s) of other
        load histories (prescribed displacements of the constraints); each splits the segment it falls in (same
        h), and corners after the profile's end extend the grid with holds of min_dwell_steps steps.

        After every corner (t = 0, each profile corner, each further corner) the steps start small: `first_step`
        × h, growing by the factor `step_growth` per step until h is reached (`corner_ladder`), then uniform
        steps <= h to the next corner. first_step = 1 (the default here; studies set load.first_step) gives the
        uniform grid of n steps per segment."""
        if not max_dT > 0:
            raise InputError("load.max_dT", max_dT, "a temperature step > 0 °C")
        if not (isinstance(min_dwell_steps, int) and min_dwell_steps >= 1):
            raise InputError("load.min_dwell_steps", min_dwell_steps, "an integer >= 1")
        if max_dt is not None and not max_dt > 0:
            raise InputError("solver.max_dt", max_dt, "a time step > 0 s")
        _check_ladder(first_step, step_growth)
        extra = np.unique(np.asarray(corners, float).ravel())
        extra = extra[extra > 0.0]
        parts = [self._t[:1]]
        for s in self._segments:
            if s.kind == "ramp":
                n = max(1, math.ceil(abs(s.T1 - s.T0) / max_dT - 1e-9))
            else:
                n = min_dwell_steps
            if max_dt is not None:
                n = max(n, math.ceil((s.t1 - s.t0) / max_dt - 1e-9))
            tol = 1e-9 * max(1.0, abs(s.t1))
            cuts = extra[(extra > s.t0 + tol) & (extra < s.t1 - tol)]
            if cuts.size == 0:
                parts.append(corner_ladder(s.t0, s.t1, n, first_step, step_growth))
                continue
            h = (s.t1 - s.t0) / n
            bounds = [s.t0, *cuts.tolist(), s.t1]
            for a, b in zip(bounds[:-1], bounds[1:]):
                parts.append(corner_ladder(a, b, max(1, math.ceil((b - a) / h - 1e-9)), first_step, step_growth))
        end = float(self._t[-1])
        after = extra[extra > end + 1e-9 * max(1.0, end)]
        for a, b in zip([end] + after.tolist()[:-1], after.tolist()):
            n = min_dwell_steps if max_dt is None else max(min_dwell_steps, math.ceil((b - a) / max_dt - 1e-9))
            parts.append(corner_ladder(a, b, n, first_step, step_growth))
        return np.concatenate(parts)

    def describe(self) -> str:
        """One line: extremes, ramp rates, dwells, cycles, the start at the stress-free temperature and the initial
        ramp (presets) with its rate -- the profile of the study echo, summary.json and the report."""
        segs = [sg for sg in self._segments if sg.cycle == (1 if self.first is None else 2)]   # the repeated cycle
        lo = min(min(sg.T0, sg.T1) for sg in segs)
        hi = max(max(sg.T0, sg.T1) for sg in segs)
        shown = [sg for sg in self._segments if 1 <= sg.cycle <= 2]
        ramps = sorted({round(abs(sg.T1 - sg.T0) / (sg.t1 - sg.t0) * 60, 6) for sg in shown if sg.kind == "ramp"})
        dwells = sorted({round(sg.t1 - sg.t0, 6) for sg in shown if sg.kind == "dwell"})
        T_sf = float(self.stress_free_temperature)
        iso = f"isothermal {lo:g} °C"
        if abs(lo - T_sf) <= T_TOL:
            iso += " (the stress-free temperature: no thermal load)"
        bits = [f"{self.name}: " + (iso if hi - lo <= T_TOL else f"{lo:g}/{hi:g} °C")]
        if ramps:
            bits.append("ramps " + "/".join(f"{r:g}" for r in ramps) + " °C/min")
        if dwells:
            bits.append("dwells " + "/".join(format_duration(d) for d in dwells))
        if self.first is not None:
            bits.append(f"cycle 1 {format_duration(float(sum(l.duration for l in self.first)))} from "
                        f"{T_sf:g} °C, then {format_duration(self.cycle_duration)} per cycle × {self.cycles - 1}")
        else:
            bits.append(f"{format_duration(self.cycle_duration)} per cycle × {self.cycles}")
        start = f"from {T_sf:g} °C"
        if self.initial:
            start += (f" (initial ramp {format_duration(self.initial_duration)} at "
                      f"{self.initial_ramp_rate * 60:g} °C/min to {self.cycle_start_temperature:g} °C, cycle 0)")
        bits.append(start)
        bits.append(f"total {format_duration(self.duration)}")
        text = ", ".join(bits)
        if self.name in PRESETS and not PRESETS[self.name].sourced:
            text += " [extremes textbook, unsourced]"
        return text

    # -- serialisation ------------------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """Plain dict with canonical step strings (floats via repr, so from_dict round-trips exactly)."""
        return {"name": self.name, "source": self.source, "cycles": self.cycles,
                "stress_free_temperature": self.stress_free_temperature,
                "initial_steps": [l.to_text() for l in self.initial],
                **({} if self.first is None else {"first_cycle_steps": [l.to_text() for l in self.first]}),
                "cycle_steps": [l.to_text() for l in self.cycle],
                "description": self.describe()}

    @classmethod
    def from_dict(cls, d: dict) -> "Profile":
        T_sf = float(d["stress_free_temperature"])
        initial = [parse_step(s, f"initial_steps[{i}]") for i, s in enumerate(d.get("initial_steps", []))]
        cycle = [parse_step(s, f"cycle_steps[{i}]") for i, s in enumerate(d["cycle_steps"])]
        init = _resolve(initial, T_sf, None, None, "initial_steps")
        first = None
        if "first_cycle_steps" in d:
            fs = [parse_step(s, f"first_cycle_steps[{i}]") for i, s in enumerate(d["first_cycle_steps"])]
            first = _resolve(fs, init[-1].T_end if init else T_sf, None, None, "first_cycle_steps")
        T_c = first[-1].T_end if first else init[-1].T_end if init else T_sf     # where `cycle` starts
        return cls(T_sf, init, _resolve(cycle, T_c, None, None, "cycle_steps"), int(d["cycles"]),
                   name=d.get("name", "custom"), source=d.get("source", "user-defined steps"), first=first)

    def __eq__(self, other):
        if not isinstance(other, Profile):
            return NotImplemented
        return (self.stress_free_temperature, self.initial, self.first, self.cycle, self.cycles, self.name,
                self.source) == (other.stress_free_temperature, other.initial, other.first, other.cycle,
                                 other.cycles, other.name, other.source)

    def __hash__(self):
        return hash((self.stress_free_temperature, self.initial, self.first, self.cycle, self.cycles, self.name))


def _cycles(value, key: str = "load.cycles") -> int:
    if (isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value)
            or value != int(value) or value < 1):
        raise InputError(key, value, "an integer >= 1")
    return int(value)


# ---------------------------------------------------------------------------------------------------------------
# Time grid after a corner
# ---------------------------------------------------------------------------------------------------------------
def _check_ladder(first_step, step_growth):
    if isinstance(first_step, bool) or not isinstance(first_step, (int, float)) or not 0 < first_step <= 1:
        raise InputError("load.first_step", first_step, "a fraction in (0, 1] of the largest step")
    if isinstance(step_growth, bool) or not isinstance(step_growth, (int, float)) or not 1 < step_growth <= 10:
        raise InputError("load.step_growth", step_growth, "a factor in (1, 10]")


def ladder_steps(first_step: float, step_growth: float) -> int:
    """Most extra increments a corner ladder adds to an interval: ceil(log(1/first_step) / log(step_growth))."""
    if first_step >= 1:
        return 0
    return math.ceil(math.log(1.0 / first_step) / math.log(step_growth) - 1e-9) + 1


def corner_ladder(a: float, b: float, n: int, first_step: float = 1.0,
                  step_growth: float = DEFAULT_STEP_GROWTH) -> np.ndarray:
    """Grid times in (a, b] (b exact) of an interval that starts at a corner, with largest step h = (b - a)/n.

    first_step >= 1: n uniform steps. Otherwise the steps grow geometrically from first_step × h by the factor
    step_growth while the next step is below h and leaves at least itself before b; the rest of the interval is
    split uniformly into steps <= h (two steps when one would grow by more than step_growth). Consecutive steps
    therefore grow by at most step_growth, and none is larger than h."""
    if first_step >= 1:
        g = np.linspace(a, b, n + 1)[1:]
        g[-1] = b                       # exact corner
        return g
    L = b - a
    h = L / n
    ladder, pos, s = [], 0.0, first_step * h
    while s < h * (1 - 1e-12) and L - pos - s >= s:
        ladder.append(s)
        pos += s
        s *= step_growth
    rest = L - pos
    m = max(1, math.ceil(rest / h - 1e-9))
    if ladder and m == 1 and rest > step_growth * ladder[-1]:
        m = 2
    g = np.concatenate([a + np.cumsum(ladder), a + pos + rest * np.arange(1, m + 1) / m])
    g[-1] = b
    return g


#: study keys read by profile_from_spec (for the study validator)
PROFILE_KEYS = ("profile", "steps", "cycles", "stress_free_temperature", "ramp_rate", "dwell",
                "initial_ramp_rate", "cycle_start")


def profile_from_spec(load: dict, key: str = "load") -> Profile:
    """Profile from a study's [load] table.

    Keys: `profile` (preset name) or `steps` (list of step strings) -- exactly one; `cycles` (default 3 for a
    preset, the usual count of domain.md §7; 1 for steps); `stress_free_temperature` (°C number or '217 oC';
    default 25 °C); optional `ramp_rate` (°C/s number or '10 oC/min'), `dwell` (s number or '15 min'),
    and for presets `initial_ramp_rate` and `cycle_start` ('ambient' | 'cold' | 'hot'). Other keys are ignored
    (they belong to other parts of the study)."""
    if not isinstance(load, dict):
        raise InputError(key, load, "a table with 'profile' or 'steps'")
    has_p, has_s = "profile" in load, "steps" in load
    if has_p and has_s:
        raise InputError(f"{key}.profile", load["profile"], f"either {key}.profile or {key}.steps, not both")
    if not (has_p or has_s):
        raise InputError(f"{key}.profile", None, "a preset name (" + ", ".join(PRESETS) + f") or {key}.steps")
    common = dict(stress_free_temperature=load.get("stress_free_temperature", 25.0),
                  ramp_rate=load.get("ramp_rate"), dwell=load.get("dwell"))
    if has_p:
        if "cycle_start" in load and load["cycle_start"] not in ("ambient", "cold", "hot"):
            raise InputError(f"{key}.cycle_start", load["cycle_start"], "'ambient' (25 °C), 'cold' or 'hot'")
        get_preset(load["profile"], key=f"{key}.profile")
        return Profile.preset(load["profile"], cycles=_cycles(load.get("cycles", 3), f"{key}.cycles"),
                              cycle_start=load.get("cycle_start", "ambient"),
                              initial_ramp_rate=load.get("initial_ramp_rate"), **common)
    if "cycle_start" in load:
        raise InputError(f"{key}.cycle_start", load["cycle_start"],
                         f"only with {key}.profile (steps start at the stress-free temperature and run as "
                         "written)")
    if "initial_ramp_rate" in load:
        raise InputError(f"{key}.initial_ramp_rate", load["initial_ramp_rate"],
                         f"only with {key}.profile (steps start at the stress-free temperature and run as written: "
                         "write the first ramp as a step, e.g. 'Ramp to 25 oC at 100 oC/min')")
    return Profile.from_steps(load["steps"], cycles=_cycles(load.get("cycles", 1), f"{key}.cycles"),
                              key=f"{key}.steps", **common)
