"""fem_wlp: finite-element reliability analysis of wafer-level chip-scale package solder joints.

Units everywhere: mm, N, MPa, s, °C.
"""
__version__ = "0.1.0"
