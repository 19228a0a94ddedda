"""Errors that reach the user as one clear message (exit code 2 from the CLI)."""
from __future__ import annotations


class InputError(ValueError):
    """Bad user input: names the key, the value given and what is allowed."""

    def __init__(self, key: str, value=None, allowed: str = "", message: str | None = None):
        self.key, self.value, self.allowed = key, value, allowed
        if message is None:
            message = f"{key} = {value!r} is not allowed"
            if allowed:
                message += f"; allowed: {allowed}"
        super().__init__(message)

    def __reduce__(self):      # pickles with its key (it crosses process boundaries: runtime.in_child)
        return type(self), (self.key, self.value, self.allowed, str(self))


class ConvergenceError(RuntimeError):
    """Newton or the time stepper failed even at the smallest step."""

    def __init__(self, message: str, report: dict | None = None):
        super().__init__(message)
        self.report = report or {}

    def __reduce__(self):
        return type(self), (str(self), self.report)
