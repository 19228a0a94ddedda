"""The dense strain-displacement operator B, built from the factors the package keeps (gradients, hoop factors)."""
import numpy as np

from fem_wlp.fe.kernels import B_ENTRIES


def dense_b(G: np.ndarray, hoop: np.ndarray | None, nc: int) -> np.ndarray:
    """B (nel, nqp, 6, nl*nc) from the gradients G (nel, nqp, dim, nl) and hoop factors (nel, nqp, nl) or None."""
    nel, nqp, _, nl = G.shape
    B = np.zeros((nel, nqp, 6, nl * nc))
    for I, c, d, f in B_ENTRIES[nc]:
        B[:, :, I, c::nc] = G[:, :, d, :] * f
    if hoop is not None:
        B[:, :, 2, 0::nc] = hoop
    return B


def region_b(ops) -> np.ndarray:
    """Dense B of a kinematics.RegionOps."""
    return dense_b(ops.G, ops.hoop, ops.nc)
