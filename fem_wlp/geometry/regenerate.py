"""Regenerate the committed benchmark meshes: ``python -m fem_wlp.geometry.regenerate`` (from the repository
root) == ``fem-wlp mesh meshes/benchmarks.toml --out meshes --binary``."""
import sys
from pathlib import Path

from ..cli.main import main

if __name__ == "__main__":
    root = Path(__file__).resolve().parents[2]
    sys.exit(main(["mesh", str(root / "meshes" / "benchmarks.toml"), "--out", str(root / "meshes"), "--binary"]))
