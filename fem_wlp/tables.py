"""Temperature-dependent scalar properties: a constant or a (T °C, value) table, linear in between.

Outside the table the end values are held (as CalculiX and ANSYS do); the range is reported by `describe`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fem_wlp.errors import InputError


@dataclass(frozen=True)
class Table:
    T: tuple[float, ...]        # °C, strictly increasing (one entry for a constant)
    v: tuple[float, ...]

    @classmethod
    def of(cls, key: str, value, positive: bool = False, lower=None, upper=None) -> "Table":
        """Build from a number or [[T, v], ...]; `key` names the study key in error messages."""
        if isinstance(value, Table):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            T, v = (0.0,), (float(value),)
        elif isinstance(value, (list, tuple)) and value and all(
            isinstance(r, (list, tuple)) and len(r) == 2 for r in value
        ):
            try:
                T = tuple(float(r[0]) for r in value)
                v = tuple(float(r[1]) for r in value)
            except (TypeError, ValueError):
                raise InputError(key, value, "a number or a table [[T_C, value], ...] of numbers") from None
            if not np.all(np.isfinite(T)):
                raise InputError(key, value, "a table with finite temperatures")
            if any(b <= a for a, b in zip(T, T[1:])):
                raise InputError(key, value, "table temperatures strictly increasing")
        else:
            raise InputError(key, value, "a number or a table [[T_C, value], ...]")
        arr = np.array(v)
        if not np.all(np.isfinite(arr)):
            raise InputError(key, value, "finite numbers")
        if positive and np.any(arr <= 0):
            raise InputError(key, value, "values > 0")
        if lower is not None and np.any(arr <= lower):
            raise InputError(key, value, f"values > {lower}")
        if upper is not None and np.any(arr >= upper):
            raise InputError(key, value, f"values < {upper}")
        return cls(T, v)

    @property
    def constant(self) -> bool:
        return len(self.v) == 1

    def __call__(self, T):
        """Value at temperature(s) T (°C); returns a float for a constant table and scalar T."""
        if self.constant:
            return self.v[0] if np.ndim(T) == 0 else np.full(np.shape(T), self.v[0])
        return np.interp(T, self.T, self.v)

    def describe(self, unit: str = "", scale: float = 1.0) -> str:
        if self.constant:
            return f"{self.v[0] * scale:g}{unit}"
        return ", ".join(f"{x * scale:g}{unit} @ {t:g} °C" for t, x in zip(self.T, self.v))
