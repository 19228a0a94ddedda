"""fem_wlp: finite-element reliability analysis of wafer-level chip-scale package solder joints.

Units everywhere: mm, N, MPa, s, °C.
"""
import os as _os

# numpy's bundled OpenBLAS on one thread unless the environment says otherwise: fem_wlp's own BLAS calls are
# element-sized (einsum/matmul over 6x6 blocks), and OpenBLAS threads spinning after each call take the cores
# that PARDISO's MKL threads need (measured, 44k-DOF Anand cycle, full factorization per iteration: 30.7 s ->
# 18.0 s). Effective when fem_wlp is imported before numpy (the fem-wlp command; spawned case workers).
_os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

__version__ = "0.1.0"
