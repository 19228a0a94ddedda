"""A one-line progress bar on stderr (time, cycle, temperature, increments); silent when not a terminal."""
from __future__ import annotations

import sys
import time


class Progress:
    def __init__(self, label: str, t_end: float, cycle_of=None, enabled: bool | None = None, stream=None):
        self.label, self.t_end, self.cycle_of = label, t_end, cycle_of
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.t0 = time.perf_counter()
        self._last = 0.0

    def __call__(self, frame, T):
        if not self.enabled:
            return
        now = time.perf_counter()
        if now - self._last < 0.2 and frame.time < self.t_end:
            return
        self._last = now
        f = min(frame.time / self.t_end, 1.0) if self.t_end > 0 else 1.0
        bar = "#" * int(30 * f) + "-" * (30 - int(30 * f))
        cyc = f" cycle {int(self.cycle_of(frame.time))}" if self.cycle_of else ""
        self.stream.write(f"\r{self.label} [{bar}] {100 * f:5.1f}% t={frame.time:9.1f} s{cyc} T={T:7.2f} °C "
                          f"inc {frame.index} it {frame.iterations} {now - self.t0:6.1f} s")
        if frame.time >= self.t_end:
            self.stream.write("\n")
        self.stream.flush()
