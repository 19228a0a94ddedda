"""fem_wlp: finite-element reliability analysis of wafer-level chip-scale package solder joints.

Units everywhere: mm, N, MPa, s, °C. Importing the package changes nothing in the process environment; the
thread limits are set by the `fem-wlp` entry point and the parallel workers (fem_wlp.runtime.limit_threads).
"""
__version__ = "0.1.0"
