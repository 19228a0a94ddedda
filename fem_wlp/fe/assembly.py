"""Fast re-assembly: cached sparsity pattern and scatter maps, fused element contractions.

Computed once per mesh: the block (node-pair) sparsity pattern, each region's map from element node pairs to
pattern blocks, and the CSR structure of the expanded matrix (int32 indices where they fit, shared by every
matrix built here, so scipy copies none). A re-assembly with new quadrature-point tangents D is then
    K_e = sum_q w_q B_q^T D_q B_q, added straight into the CSR data (one compiled pass per region, kernels.py)
and only the regions whose tangent changed are re-assembled (the rest is cached as a constant part).
Dirichlet constraints are applied on the CSR data through cached index masks (rows and columns zeroed, unit
diagonal), so no matrix slicing happens in the Newton loop.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from fem_wlp.fe.kernels import block_pattern, csr_structure, scatter_stiffness
from fem_wlp.fe.kinematics import E_ZZ, RegionOps, bt


class Assembler:
    def __init__(self, nscalar: int, nc: int, regions: list[RegionOps], extra: bool = False):
        self.nscalar, self.nc, self.regions = nscalar, nc, regions
        self.ndof = nscalar * nc
        self.extra = extra                     # generalized plane strain: one bordered global unknown
        self.block_indptr, self.block_indices, self.block_maps = block_pattern([r.sdofs for r in regions], nscalar)
        self.nnzb = len(self.block_indices)
        self.csr_indptr, self.csr_indices = csr_structure(self.block_indptr, self.block_indices, nc)
        self.nnz = self.csr_indices.size
        self._static = np.zeros(self.nnz)      # CSR-ordered data of the static regions
        self._static_coupling = np.zeros(self.ndof)
        self._static_kee = 0.0
        self.static_regions: set[int] = set()
        self.set_constraints(np.zeros(0, dtype=np.int64))

    # -- element kernels ---------------------------------------------------------------------------------------------
    @staticmethod
    def _qp_tangent(D, nel, nqp):
        """D (6,6) or (6,6,N) -> per-QP array (nel, nqp, 6, 6) or a shared (6, 6)."""
        if D.ndim == 2:
            return D
        return np.moveaxis(D.reshape(6, 6, nel, nqp), (2, 3), (0, 1))

    def _coupling(self, ops: RegionOps, D):
        """GPS border: c = int B^T D E_ZZ, k_ee = int E_ZZ . D . E_ZZ."""
        nel, nqp = ops.w.shape
        D = np.asarray(D)
        if D.ndim == 2:
            DE = D @ E_ZZ
            kee = float(D[2, 2] * ops.w.sum())
        else:
            DE = D[:, 2].reshape(6, nel, nqp)
            kee = float((D[2, 2].reshape(nel, nqp) * ops.w).sum())
        c = np.bincount(ops.vdofs.ravel(), weights=bt(ops, DE).ravel(), minlength=self.ndof)
        return c, kee

    # -- assembly ------------------------------------------------------------------------------------------------------
    def set_static(self, tangents: dict[int, np.ndarray]):
        """Assemble regions whose tangent never changes once (e.g. elastic with constant E)."""
        self._static[:] = 0.0
        self._static_coupling[:] = 0.0
        self._static_kee = 0.0
        self.static_regions = set(tangents)
        for ri, D in tangents.items():
            _, c, k = self.contribution(ri, D, out=self._static)
            if self.extra:
                self._static_coupling += c
                self._static_kee += k

    def contribution(self, ri: int, D, out=None):
        """One region's stiffness contribution (CSR-ordered data, GPS coupling, k_ee) for tangent D; the data is
        added to `out` (and returned) when given."""
        ops = self.regions[ri]
        D = np.asarray(D)
        Dq = self._qp_tangent(D, *ops.w.shape)
        data = scatter_stiffness(ops.G, ops.hoop, ops.w, Dq, ops.sdofs, self.block_maps[ri], self.block_indptr,
                                 self.nc, out=out)
        c, k = self._coupling(ops, D) if self.extra else (None, 0.0)
        return data, c, k

    def csr(self, data) -> sp.csr_matrix:
        """CSR matrix with the assembler's structure (shared index arrays) and CSR-ordered `data` (not copied)."""
        return sp.csr_matrix((data, self.csr_indices, self.csr_indptr), shape=(self.ndof, self.ndof))

    def matrix(self, contributions):
        """Tangent stiffness: cached static part + region contributions. Returns (K csr, coupling, k_ee)."""
        data = self._static.copy()
        coupling = self._static_coupling.copy() if self.extra else None
        kee = self._static_kee
        for d, c, k in contributions:
            data += d
            if self.extra:
                coupling += c
                kee += k
        return self.csr(data), coupling, kee

    def internal_force(self, stresses: dict[int, np.ndarray]):
        """f_int = sum_regions int B^T sigma; with GPS also the out-of-plane resultant int sigma_zz."""
        f = np.zeros(self.ndof)
        fzz = 0.0
        for ri, sig in stresses.items():
            ops = self.regions[ri]
            s = sig.reshape(6, *ops.w.shape)
            f += np.bincount(ops.vdofs.ravel(), weights=bt(ops, s).ravel(), minlength=self.ndof)
            fzz += float((s[2] * ops.w).sum())
        return f, fzz

    # -- constraints -------------------------------------------------------------------------------------------------
    def set_constraints(self, dofs: np.ndarray):
        """Cache the CSR positions for eliminating constrained dofs (zero rows/cols, unit diagonal)."""
        self.constrained = np.unique(np.asarray(dofs, dtype=np.int64))
        mask = np.zeros(self.ndof, bool)
        mask[self.constrained] = True
        self.free_mask = ~mask
        self._zero_pos, self._diag_pos = constraint_positions(self.csr_indptr, self.csr_indices, mask)

    def apply_constraints(self, K):
        """In-place: constrained rows and columns of K become identity rows/columns."""
        K.data[self._zero_pos] = 0.0
        K.data[self._diag_pos] = 1.0
        return K


def constraint_positions(indptr, indices, mask) -> tuple[np.ndarray, np.ndarray]:
    """Positions in the data of a CSR pattern of the entries in a constrained row or column (to be zeroed) and
    of the constrained diagonal entries (set to 1); mask (n,) marks the constrained unknowns."""
    if not mask.any():
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    in_row = np.repeat(mask, np.diff(indptr))
    in_col = mask[indices]
    zero = np.flatnonzero(in_row | in_col)
    both = np.flatnonzero(in_row & in_col)
    rows = np.searchsorted(indptr, both, side="right") - 1
    return zero, both[rows == indices[both]]
