"""Quantity parsers: every accepted spelling and every error (table-driven)."""

import pytest

from fem_wlp.errors import InputError
from fem_wlp.units import format_duration, parse_duration, parse_rate, parse_temperature


@pytest.mark.parametrize("text, expected", [
    ("125 oC", 125.0), ("125 °C", 125.0), ("125°C", 125.0), ("125 ºC", 125.0), ("125 ℃", 125.0),
    ("125 degC", 125.0), ("125 deg C", 125.0), ("125 C", 125.0), ("-40C", -40.0), ("-40 oC", -40.0),
    ("\u221240 °C", -40.0), ("+85 c", 85.0), ("398.15 K", 125.0), ("233.15 k", -40.0), ("0 K", -273.15),
    ("25 celsius", 25.0), ("1.25e2 oC", 125.0), (" 25 ", 25.0), (25, 25.0), (-40.5, -40.5),
])
def test_temperature(text, expected):
    assert parse_temperature(text) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("text, expected", [
    ("15 min", 900.0), ("15 mins", 900.0), ("15 minutes", 900.0), ("900 s", 900.0), ("900 sec", 900.0),
    ("30 sec", 30.0), ("30 seconds", 30.0), ("1 h", 3600.0), ("1 hr", 3600.0), ("2 hours", 7200.0),
    ("16.5 min", 990.0), ("1 day", 86400.0), ("500 ms", 0.5), ("900", 900.0), (100, 100.0), ("1.5h", 5400.0),
])
def test_duration(text, expected):
    assert parse_duration(text) == pytest.approx(expected, rel=1e-14)


@pytest.mark.parametrize("text, expected", [
    ("10 oC/min", 10 / 60), ("10 °C/min", 10 / 60), ("0.5 °C/s", 0.5), ("10 K/min", 10 / 60),
    ("10 C/min", 10 / 60), ("600 °C per h", 600 / 3600), ("15 degC / minute", 0.25), ("0.1", 0.1), (2, 2.0),
])
def test_rate(text, expected):
    assert parse_rate(text) == pytest.approx(expected, rel=1e-14)


@pytest.mark.parametrize("fn, text, key, fragment", [
    (parse_temperature, "125 oF", "load.stress_free_temperature", "allowed: a temperature such as"),
    (parse_temperature, "hot", "temperature", "units oC"),
    (parse_temperature, "", "temperature", "a temperature such as"),
    (parse_temperature, "-10 K", "temperature", "in K must be >= 0"),
    (parse_temperature, "-300 oC", "temperature", "above absolute zero"),
    (parse_temperature, True, "temperature", "a temperature such as"),
    (parse_temperature, [125], "temperature", "a temperature such as"),
    (parse_temperature, float("nan"), "temperature", "a temperature such as"),
    (parse_duration, "15 furlongs", "load.dwell", "a duration such as"),
    (parse_duration, "0 min", "load.dwell", "a duration > 0"),
    (parse_duration, "-5 s", "load.dwell", "a duration > 0"),
    (parse_duration, "min", "load.dwell", "a duration such as"),
    (parse_rate, "10 oC", "load.ramp_rate", "a rate such as"),
    (parse_rate, "10/min", "load.ramp_rate", "a rate such as"),
    (parse_rate, "10 oC/fortnight", "load.ramp_rate", "a rate such as"),
    (parse_rate, "10 oF/min", "load.ramp_rate", "a rate such as"),
    (parse_rate, "10 oC/min/s", "load.ramp_rate", "a rate such as"),
    (parse_rate, "0 oC/min", "load.ramp_rate", "a rate > 0"),
    (parse_rate, "-10 oC/min", "load.ramp_rate", "a rate > 0"),
    (parse_rate, -1.0, "load.ramp_rate", "a rate > 0"),
])
def test_errors_name_key_value_and_allowed(fn, text, key, fragment):
    with pytest.raises(InputError) as e:
        fn(text, key=key)
    msg = str(e.value)
    assert msg.startswith(f"{key} = {text!r}")
    assert fragment in msg
    assert e.value.key == key and (e.value.value is text or e.value.value == text)


def test_duration_zero_allowed_when_not_positive():
    assert parse_duration("0 s", positive=False) == 0.0


@pytest.mark.parametrize("s, text", [(900, "15 min"), (990, "16.5 min"), (100, "100 s"), (5400, "1.5 h"),
                                     (3780, "63 min"), (120, "2 min")])
def test_format_duration(s, text):
    assert format_duration(s) == text
