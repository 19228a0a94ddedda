"""The one unit system of fem_wlp and parsers for quantities written in study files and step strings.

Units everywhere inside the package: mm, N, MPa, s, °C (so temperature rates are °C/s).

The parsers turn what a user writes into those units:

    parse_temperature("125 oC")  -> 125.0      (°C; also "125 °C", "125 degC", "-40C", "398.15 K")
    parse_duration("15 min")     -> 900.0      (s;  also "900 s", "30 sec", "1 h", "2 hours", "1 day")
    parse_rate("10 oC/min")      -> 0.1666..   (°C/s; also "0.5 °C/s", "10 K/min", "600 °C per h")

A bare number (int/float, or a string without a unit) is taken in the base unit (°C, s, °C/s). Anything else
raises `InputError(key, value, allowed)` naming the study key. Temperature *differences* and *rates* in K and °C
are the same number; absolute temperatures in K are shifted by 273.15.
"""
from __future__ import annotations

import math
import re

from fem_wlp.errors import InputError

#: 0 °C in kelvin
ZERO_CELSIUS_K = 273.15

#: temperature unit spellings (lower case, spaces removed) -> "C" or "K"
_TEMPERATURE_UNITS = {
    "c": "C", "oc": "C", "°c": "C", "ºc": "C", "˚c": "C", "℃": "C", "degc": "C", "deg.c": "C",
    "celsius": "C", "degcelsius": "C", "degreec": "C", "degreesc": "C", "degreecelsius": "C",
    "degreescelsius": "C",
    "k": "K", "kelvin": "K",
}
#: time unit spellings -> seconds
_TIME_UNITS = {
    "s": 1.0, "sec": 1.0, "secs": 1.0, "second": 1.0, "seconds": 1.0,
    "ms": 1e-3,
    "min": 60.0, "mins": 60.0, "minute": 60.0, "minutes": 60.0,
    "h": 3600.0, "hr": 3600.0, "hrs": 3600.0, "hour": 3600.0, "hours": 3600.0,
    "d": 86400.0, "day": 86400.0, "days": 86400.0,
}

TEMPERATURE_ALLOWED = "a temperature such as '125 oC', '125 °C', '-40C', '398.15 K' (units oC, °C, degC, C, K)"
DURATION_ALLOWED = "a duration such as '15 min', '900 s', '30 sec', '1 h' (units ms, s, sec, min, h, hr, day)"
RATE_ALLOWED = "a rate such as '10 oC/min', '0.5 °C/s', '10 K/min' (temperature unit / time unit)"

_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
_QUANTITY = re.compile(rf"^\s*(?P<num>{_NUMBER})\s*(?P<unit>.*?)\s*$")


def _normalise(text: str) -> str:
    # typographic minus signs and non-breaking spaces as users paste them from documents
    return text.replace("\u2212", "-").replace("\u2013", "-").replace("\u00a0", " ").strip()


def _split(key: str, value, allowed: str) -> tuple[float, str]:
    """(number, unit text) from a quantity; bare numbers have unit ''."""
    if isinstance(value, bool):
        raise InputError(key, value, allowed)
    if isinstance(value, (int, float)):
        x, unit = float(value), ""
    elif isinstance(value, str):
        m = _QUANTITY.match(_normalise(value))
        if m is None:
            raise InputError(key, value, allowed)
        x, unit = float(m["num"]), m["unit"]
    else:
        raise InputError(key, value, allowed)
    if not math.isfinite(x):
        raise InputError(key, value, allowed)
    return x, unit


def _temperature_unit(key, value, unit: str, allowed: str) -> str:
    u = unit.lower().replace(" ", "")
    if u == "":
        return "C"
    if u not in _TEMPERATURE_UNITS:
        raise InputError(key, value, allowed)
    return _TEMPERATURE_UNITS[u]


def _time_unit(key, value, unit: str, allowed: str) -> float:
    u = unit.lower().replace(" ", "")
    if u == "":
        return 1.0
    if u not in _TIME_UNITS:
        raise InputError(key, value, allowed)
    return _TIME_UNITS[u]


def parse_temperature(value, key: str = "temperature") -> float:
    """Absolute temperature in °C from '125 oC', '-40C', '398.15 K' or a number (°C)."""
    x, unit = _split(key, value, TEMPERATURE_ALLOWED)
    if _temperature_unit(key, value, unit, TEMPERATURE_ALLOWED) == "K":
        if x < 0:
            raise InputError(key, value, "a temperature in K must be >= 0")
        return x - ZERO_CELSIUS_K
    if x < -ZERO_CELSIUS_K:
        raise InputError(key, value, "a temperature above absolute zero (-273.15 °C)")
    return x


def parse_duration(value, key: str = "duration", positive: bool = True) -> float:
    """Duration in s from '15 min', '900 s', '1 h' or a number (s). `positive`: require > 0 (else >= 0)."""
    x, unit = _split(key, value, DURATION_ALLOWED)
    seconds = x * _time_unit(key, value, unit, DURATION_ALLOWED)
    if seconds < 0 or (positive and seconds == 0):
        raise InputError(key, value, "a duration > 0" if positive else "a duration >= 0")
    return seconds


def parse_rate(value, key: str = "ramp_rate") -> float:
    """Temperature rate magnitude in °C/s from '10 oC/min', '0.5 °C/s', '10 K/min', '600 °C per h' or a number
    (°C/s). Must be > 0; the direction of a ramp comes from its target temperature."""
    if isinstance(value, str) and re.fullmatch(rf"\s*{_NUMBER}\s*", _normalise(value)):
        value = float(_normalise(value))
    if isinstance(value, str):
        text = re.sub(r"\s+per\s+", "/", _normalise(value), flags=re.IGNORECASE)
        if text.count("/") != 1:
            raise InputError(key, value, RATE_ALLOWED)
        num_unit, time_unit = text.split("/")
        x, t_unit = _split(key, num_unit, RATE_ALLOWED)
        if t_unit == "":
            raise InputError(key, value, RATE_ALLOWED)
        _temperature_unit(key, value, t_unit, RATE_ALLOWED)      # K and °C steps are equal
        per = time_unit.strip()
        if per == "" or re.match(_NUMBER, per):
            raise InputError(key, value, RATE_ALLOWED)
        rate = x / _time_unit(key, value, per, RATE_ALLOWED)
    else:
        rate, _ = _split(key, value, RATE_ALLOWED)
    if not rate > 0:
        raise InputError(key, value, "a rate > 0 (the ramp direction comes from the target temperature)")
    return rate


def format_duration(seconds: float) -> str:
    """Short human text: '900 s' -> '15 min', '5400 s' -> '1.5 h'."""
    if seconds >= 3600 and seconds % 360 == 0:
        return f"{seconds / 3600:g} h"
    if seconds >= 600 or (seconds >= 60 and seconds % 60 == 0):
        return f"{seconds / 60:.4g} min"
    return f"{seconds:.4g} s"
