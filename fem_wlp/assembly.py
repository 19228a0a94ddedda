"""Fast re-assembly: cached block-sparse pattern and scatter maps, vectorized element contractions.

Computed once per mesh: the block (node-pair) sparsity pattern, each region's map from element node pairs to
pattern blocks, and the permutation from block storage to CSR storage. A re-assembly with new quadrature-point
tangents D is then
    K_e = sum_q w_q B_q^T D_q B_q          (batched matmul over elements, a short loop over quadrature points)
    K   = bincount(block_map, K_e)          (one pass per block component)
and only the regions whose tangent changed are re-assembled (the rest is cached as a constant part).
Dirichlet constraints are applied on the CSR data through cached index masks (rows and columns zeroed, unit
diagonal), so no matrix slicing happens in the Newton loop.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ._kernels import block_pattern, csr_from_blocks, scatter_stiffness
from .kinematics import E_ZZ, RegionOps


class Assembler:
    def __init__(self, nscalar: int, nc: int, regions: list[RegionOps], extra: bool = False):
        self.nscalar, self.nc, self.regions = nscalar, nc, regions
        self.ndof = nscalar * nc
        self.extra = extra                     # generalized plane strain: one bordered global unknown
        self.block_indptr, self.block_indices, self.block_maps = block_pattern([r.sdofs for r in regions], nscalar)
        self.nnzb = len(self.block_indices)
        self.csr_indptr, self.csr_indices, self.csr_perm = csr_from_blocks(self.block_indptr, self.block_indices,
                                                                           nc, self.ndof)
        self.csr_rows = np.repeat(np.arange(self.ndof), np.diff(self.csr_indptr))
        self._static = np.zeros(self.nnzb * nc * nc)
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

    def element_matrices(self, ops: RegionOps, D) -> np.ndarray:
        nel, nqp = ops.w.shape
        Dq = self._qp_tangent(np.asarray(D), nel, nqp)
        Ke = np.zeros((nel, ops.B.shape[3], ops.B.shape[3]))
        for q in range(nqp):
            Bq = ops.B[:, q]                                        # (nel, 6, nloc)
            DB = (Dq @ Bq) if Dq.ndim == 2 else np.matmul(Dq[:, q], Bq)
            Ke += np.matmul(np.swapaxes(Bq, 1, 2) * ops.w[:, q, None, None], DB)
        return Ke

    def _scatter(self, ri: int, Ke: np.ndarray) -> np.ndarray:
        nc = self.nc
        nel, nloc, _ = Ke.shape
        nl = nloc // nc
        Kb = Ke.reshape(nel, nl, nc, nl, nc).transpose(0, 1, 3, 2, 4).reshape(-1, nc * nc)
        bmap = self.block_maps[ri]
        data = np.empty((self.nnzb, nc * nc))
        for k in range(nc * nc):
            data[:, k] = np.bincount(bmap, weights=Kb[:, k], minlength=self.nnzb)
        return data.ravel()

    def _coupling(self, ops: RegionOps, D):
        """GPS border: c = int B^T D E_ZZ, k_ee = int E_ZZ . D . E_ZZ."""
        nel, nqp = ops.w.shape
        D = np.asarray(D)
        if D.ndim == 2:
            DE = np.broadcast_to((D @ E_ZZ)[:, None, None], (6, nel, nqp))
            Dzz = np.full((nel, nqp), D[2, 2])
        else:
            DE = D[:, 2].reshape(6, nel, nqp)
            Dzz = D[2, 2].reshape(nel, nqp)
        fe = np.einsum("eqij,ieq,eq->ej", ops.B, DE, ops.w, optimize=True)
        c = np.bincount(ops.vdofs.ravel(), weights=fe.ravel(), minlength=self.ndof)
        return c, float((Dzz * ops.w).sum())

    # -- assembly ------------------------------------------------------------------------------------------------------
    def set_static(self, tangents: dict[int, np.ndarray]):
        """Assemble regions whose tangent never changes once (e.g. elastic with constant E)."""
        self._static[:] = 0.0
        self._static_coupling[:] = 0.0
        self._static_kee = 0.0
        self.static_regions = set(tangents)
        for ri, D in tangents.items():
            data, c, k = self.contribution(ri, D)
            self._static += data
            if self.extra:
                self._static_coupling += c
                self._static_kee += k

    def contribution(self, ri: int, D):
        """One region's stiffness contribution (block data, GPS coupling, k_ee) for tangent D."""
        ops = self.regions[ri]
        D = np.asarray(D)
        Dq = self._qp_tangent(D, *ops.w.shape)
        data = scatter_stiffness(ops.B, ops.w, Dq, self.block_maps[ri], self.nc, self.nnzb).ravel()
        c, k = self._coupling(self.regions[ri], D) if self.extra else (None, 0.0)
        return data, c, k

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
        K = sp.csr_matrix((data[self.csr_perm], self.csr_indices, self.csr_indptr), shape=(self.ndof, self.ndof))
        return K, coupling, kee

    def internal_force(self, stresses: dict[int, np.ndarray]):
        """f_int = sum_regions int B^T sigma; with GPS also the out-of-plane resultant int sigma_zz."""
        f = np.zeros(self.ndof)
        fzz = 0.0
        for ri, sig in stresses.items():
            ops = self.regions[ri]
            nel, nqp = ops.w.shape
            s = sig.reshape(6, nel, nqp)
            fe = np.einsum("eqij,ieq,eq->ej", ops.B, s, ops.w, optimize=True)
            f += np.bincount(ops.vdofs.ravel(), weights=fe.ravel(), minlength=self.ndof)
            fzz += float((s[2] * ops.w).sum())
        return f, fzz

    # -- constraints -------------------------------------------------------------------------------------------------
    def set_constraints(self, dofs: np.ndarray):
        """Cache the CSR positions for eliminating constrained dofs (zero rows/cols, unit diagonal)."""
        self.constrained = np.unique(np.asarray(dofs, dtype=np.int64))
        mask = np.zeros(self.ndof, bool)
        mask[self.constrained] = True
        self.free_mask = ~mask
        hit = mask[self.csr_rows] | mask[self.csr_indices]
        self._zero_pos = np.flatnonzero(hit)
        self._diag_pos = np.flatnonzero(hit & (self.csr_rows == self.csr_indices))

    def apply_constraints(self, K):
        """In-place: constrained rows and columns of K become identity rows/columns."""
        K.data[self._zero_pos] = 0.0
        K.data[self._diag_pos] = 1.0
        return K
