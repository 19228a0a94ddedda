"""Compiled element kernels (numba) with plain-numpy fallbacks of identical results.

numba is used for the two loops that numpy cannot do efficiently: the element stiffness contraction
K_e = sum_q w_q B_q^T D_q B_q (tiny dense matrices, one per element) fused with the scatter into the block-sparse
pattern. numpy's batched matmul runs these at ~0.1 GFlop/s; the fused kernel avoids materializing K_e
(140 doubles per P1 tet) and runs at memory speed. Without numba the numpy path is used (same numbers, slower).
"""
from __future__ import annotations

import numpy as np

try:
    import numba
    from numba import njit, prange

    HAVE_NUMBA = True
except Exception:  # pragma: no cover - exercised only where numba is missing
    HAVE_NUMBA = False


def _np_scatter_stiffness(B, w, D, bmap, nc, nnzb):
    """numpy reference: block data (nnzb, nc, nc) of sum_e K_e."""
    nel, nqp, _, nloc = B.shape
    nl = nloc // nc
    Ke = np.zeros((nel, nloc, nloc))
    for q in range(nqp):
        Bq = B[:, q]
        DB = np.einsum("IJ,eJk->eIk", D, Bq) if D.ndim == 2 else np.matmul(D[:, q], Bq)
        Ke += np.einsum("eIk,eIl->ekl", Bq * w[:, q, None, None], DB)
    Kb = Ke.reshape(nel, nl, nc, nl, nc).transpose(0, 1, 3, 2, 4).reshape(-1, nc * nc)
    data = np.empty((nnzb, nc * nc))
    for k in range(nc * nc):
        data[:, k] = np.bincount(bmap, weights=Kb[:, k], minlength=nnzb)
    return data.reshape(nnzb, nc, nc)


if HAVE_NUMBA:

    @njit(cache=True, fastmath=True)
    def _nb_scatter_qp(B, w, D, bmap, nc, data):
        nel, nqp, _, nloc = B.shape
        nl = nloc // nc
        DB = np.empty((6, nloc))
        Ke = np.empty((nloc, nloc))
        for e in range(nel):
            Ke[:, :] = 0.0
            for q in range(nqp):
                for I in range(6):
                    for k in range(nloc):
                        s = 0.0
                        for J in range(6):
                            s += D[e, q, I, J] * B[e, q, J, k]
                        DB[I, k] = s * w[e, q]
                for k in range(nloc):
                    for l in range(k, nloc):
                        s = 0.0
                        for I in range(6):
                            s += B[e, q, I, k] * DB[I, l]
                        Ke[k, l] += s
            for i in range(nl):
                for j in range(nl):
                    b = bmap[(e * nl + i) * nl + j]
                    for a in range(nc):
                        for c in range(nc):
                            k, l = i * nc + a, j * nc + c
                            data[b, a, c] += Ke[k, l] if k <= l else Ke[l, k]


def scatter_stiffness(B, w, D, bmap, nc, nnzb, use_numba: bool = True):
    """Block data (nnzb, nc, nc) of sum_e K_e for one region; D (6,6) shared or (nel, nqp, 6, 6) per point.

    Only symmetric tangents are assembled (the upper triangle of K_e is computed and mirrored)."""
    if HAVE_NUMBA and use_numba:
        data = np.zeros((nnzb, nc, nc))
        if D.ndim == 2:         # one tangent for the region: a zero-stride view, no copy
            D = np.broadcast_to(D, w.shape + (6, 6))
        else:
            D = np.ascontiguousarray(D)
        _nb_scatter_qp(B, w, D, bmap, nc, data)
        return data
    return _np_scatter_stiffness(B, w, D, bmap, nc, nnzb)


def _np_block_pattern(sdofs_list, n):
    """numpy reference: CSR block pattern (indptr, indices) and per-region maps of element node pairs."""
    nls = [s.shape[1] for s in sdofs_list]
    rows = np.concatenate([np.repeat(s, nl, axis=1).ravel() for s, nl in zip(sdofs_list, nls)])
    cols = np.concatenate([np.tile(s, (1, nl)).ravel() for s, nl in zip(sdofs_list, nls)])
    ukeys, inv = np.unique(rows.astype(np.int64) * n + cols, return_inverse=True)
    brow, bcol = np.divmod(ukeys, n)
    indptr = np.concatenate([[0], np.cumsum(np.bincount(brow, minlength=n))])
    splits = np.cumsum([s.size * nl for s, nl in zip(sdofs_list, nls)])[:-1]
    return indptr, bcol, np.split(inv.astype(np.int64), splits)


if HAVE_NUMBA:

    @njit(cache=True)
    def _nb_node_elements(sdofs, n):
        nel, nl = sdofs.shape
        ptr = np.zeros(n + 1, np.int64)
        for e in range(nel):
            for i in range(nl):
                ptr[sdofs[e, i] + 1] += 1
        for r in range(n):
            ptr[r + 1] += ptr[r]
        fill = ptr[:-1].copy()
        elems = np.empty(ptr[-1], np.int64)
        for e in range(nel):
            for i in range(nl):
                r = sdofs[e, i]
                elems[fill[r]] = e
                fill[r] += 1
        return ptr, elems

    @njit(cache=True)
    def _nb_pattern(sdofs, n):
        nel, nl = sdofs.shape
        ptr, elems = _nb_node_elements(sdofs, n)
        marker = -np.ones(n, np.int64)
        indptr = np.zeros(n + 1, np.int64)
        for r in range(n):
            c = 0
            for k in range(ptr[r], ptr[r + 1]):
                e = elems[k]
                for j in range(nl):
                    col = sdofs[e, j]
                    if marker[col] != r:
                        marker[col] = r
                        c += 1
            indptr[r + 1] = indptr[r] + c
        indices = np.empty(indptr[-1], np.int64)
        marker[:] = -1
        for r in range(n):
            c = indptr[r]
            for k in range(ptr[r], ptr[r + 1]):
                e = elems[k]
                for j in range(nl):
                    col = sdofs[e, j]
                    if marker[col] != r:
                        marker[col] = r
                        indices[c] = col
                        c += 1
            indices[indptr[r]:indptr[r + 1]] = np.sort(indices[indptr[r]:indptr[r + 1]])
        return indptr, indices

    @njit(cache=True)
    def _nb_block_map(sdofs, indptr, indices):
        nel, nl = sdofs.shape
        out = np.empty(nel * nl * nl, np.int64)
        for e in range(nel):
            for i in range(nl):
                r = sdofs[e, i]
                lo, hi = indptr[r], indptr[r + 1]
                for j in range(nl):
                    col = sdofs[e, j]
                    a, b = lo, hi
                    while a < b:                      # binary search in the sorted row
                        m = (a + b) // 2
                        if indices[m] < col:
                            a = m + 1
                        else:
                            b = m
                    out[(e * nl + i) * nl + j] = a
        return out

    @njit(cache=True)
    def _nb_csr_from_blocks(indptr, indices, nc):
        """CSR structure of the expanded matrix and the permutation block-data -> CSR data."""
        n = indptr.size - 1
        nnzb = indices.size
        cptr = np.zeros(n * nc + 1, np.int64)
        cind = np.empty(nnzb * nc * nc, np.int64)
        perm = np.empty(nnzb * nc * nc, np.int64)
        pos = 0
        for r in range(n):
            for a in range(nc):
                for k in range(indptr[r], indptr[r + 1]):
                    for b in range(nc):
                        cind[pos] = indices[k] * nc + b
                        perm[pos] = (k * nc + a) * nc + b
                        pos += 1
                cptr[r * nc + a + 1] = pos
        return cptr, cind, perm


def block_pattern(sdofs_list, n):
    """Block (node-pair) CSR pattern over all regions and each region's element-pair -> block map."""
    if not HAVE_NUMBA:
        return _np_block_pattern(sdofs_list, n)
    sd = np.ascontiguousarray(np.concatenate(sdofs_list).astype(np.int64))
    indptr, indices = _nb_pattern(sd, n)
    maps = [_nb_block_map(np.ascontiguousarray(s.astype(np.int64)), indptr, indices) for s in sdofs_list]
    return indptr, indices, maps


def csr_from_blocks(indptr, indices, nc, ndof):
    """(csr_indptr, csr_indices, perm) such that csr.data = block_data.ravel()[perm]."""
    if HAVE_NUMBA:
        return _nb_csr_from_blocks(indptr, indices, nc)
    import scipy.sparse as sp

    nnzb = indices.size
    m = sp.bsr_matrix((np.arange(nnzb * nc * nc, dtype=float).reshape(nnzb, nc, nc), indices, indptr),
                      shape=(ndof, ndof)).tocsr()
    m.sort_indices()
    return m.indptr, m.indices, m.data.astype(np.int64)
