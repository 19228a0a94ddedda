"""Value checks for study keys: each failure is one InputError naming the key, the value and what is allowed."""
from __future__ import annotations

import math

from fem_wlp.errors import InputError

#: bounds that catch nonsense early (a typo, a unit slip), far outside anything a WLCSP study needs
MAX_CYCLES = 1000                  # thermal cycles of one study (a cycle takes minutes of solver time)
MAX_INCREMENTS = 1_000_000         # time-grid increments of one case
MAX_CASES = 1000                   # designs x sweep points of one study
MAX_SWEEP_VALUES = 1000            # values of one swept parameter
T_MIN_C, T_MAX_C = -273.15, 1000.0  # temperatures of a load (°C)
MAX_DURATION_S = 1e8                # total duration of a load history (s): about 3 years
MAX_NAME = 64                      # characters of a study or design name
MAX_COORDINATE = 1000.0            # |coordinate| of a constraint point (mm)


def number(key: str, value, lo: float | None = None, hi: float | None = None, *, lo_open: bool = False,
           hi_open: bool = False, integer: bool = False, unit: str = ""):
    """A finite number (an integer if `integer`) in [lo, hi] (open ends with lo_open/hi_open)."""
    kind = "an integer" if integer else "a number"
    allowed = kind + _range_text(lo, hi, lo_open, hi_open) + (f" ({unit})" if unit else "")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(key, value, allowed)
    if not math.isfinite(value):
        raise InputError(key, value, "a finite number" + _range_text(lo, hi, lo_open, hi_open))
    if integer and value != int(value):
        raise InputError(key, value, allowed)
    if lo is not None and (value < lo or (lo_open and value == lo)):
        raise InputError(key, value, allowed)
    if hi is not None and (value > hi or (hi_open and value == hi)):
        raise InputError(key, value, allowed)
    return int(value) if integer else value


def _range_text(lo, hi, lo_open, hi_open) -> str:
    if lo is not None and hi is not None:
        return f" in {'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}"
    if lo is not None:
        return f" {'>' if lo_open else '>='} {lo:g}"
    if hi is not None:
        return f" {'<' if hi_open else '<='} {hi:g}"
    return ""


def choice(key: str, value, options):
    if not isinstance(value, str) or value not in options:
        raise InputError(key, value, " | ".join(options))
    return value


def choice_int(key: str, value, options):
    if isinstance(value, bool) or value not in options:
        raise InputError(key, value, " | ".join(map(str, options)))
    return int(value)


def boolean(key: str, value) -> bool:
    if not isinstance(value, bool):
        raise InputError(key, value, "true or false")
    return value


def string(key: str, value, max_len: int = 1000) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InputError(key, value, "a non-empty string")
    if len(value) > max_len:
        raise InputError(key, value[:40] + "...", f"a string of at most {max_len} characters")
    return value


def table(key: str, value, allowed=None) -> dict:
    """A table (dict) whose keys are in `allowed` (any keys when None)."""
    if not isinstance(value, dict):
        raise InputError(key, value, "a table")
    if allowed is not None:
        for k in value:
            if k not in allowed:
                raise InputError(f"{key}.{k}", value[k], "one of " + ", ".join(sorted(allowed)))
    return value


def finite_tree(key: str, value):
    """Every number inside nested tables/lists is finite (a NaN in a material table is an error here)."""
    if isinstance(value, float) and not math.isfinite(value):
        raise InputError(key, value, "a finite number")
    if isinstance(value, dict):
        for k, v in value.items():
            finite_tree(f"{key}.{k}", v)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            finite_tree(f"{key}[{i}]", v)
