"""One-line notices of the linear-solver layer (a back-end that is missing, a factorization switched), each
printed once per process on stderr."""
from __future__ import annotations

import sys

_notified: set[str] = set()


def notice(msg: str) -> None:
    if msg not in _notified:
        _notified.add(msg)
        print(f"fem-wlp: note: {msg}", file=sys.stderr)
