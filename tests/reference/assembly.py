"""numpy references of fem_wlp.fe.kernels' assembly kernels: element matrices from the dense B, bincount per
block component, np.unique for the block pattern, scipy's BSR -> CSR conversion for the CSR structure."""
import numpy as np
import scipy.sparse as sp

from reference.kinematics import dense_b


def csr_positions(block_indptr, nc):
    """(nnzb, nc, nc) CSR data positions of the block entries (block k of node row r, component (a, c)):
    nc*nc*indptr[r] + a*nc*L_r + (k - indptr[r])*nc + c, L_r the blocks of row r."""
    n = block_indptr.size - 1
    L = np.diff(block_indptr)
    row = np.repeat(np.arange(n), L)
    k = np.arange(block_indptr[-1])
    base = nc * nc * block_indptr[row] + (k - block_indptr[row]) * nc
    a = np.arange(nc)[:, None] * nc * L[row][:, None, None]          # (nnzb, nc, 1)
    return base[:, None, None] + a + np.arange(nc)[None, None, :]


def scatter_stiffness(G, hoop, w, D, bmap, block_indptr, nc):
    """CSR-ordered data of sum_e K_e, K_e = sum_q w B^T D B with the dense B; D (6, 6) or (nel, nqp, 6, 6)."""
    nel, nqp, _, nl = G.shape
    nloc = nl * nc
    B = dense_b(G, hoop, nc)
    Ke = np.zeros((nel, nloc, nloc))
    for q in range(nqp):
        Bq = B[:, q]
        DB = np.einsum("IJ,eJk->eIk", D, Bq) if D.ndim == 2 else np.matmul(D[:, q], Bq)
        Ke += np.einsum("eIk,eIl->ekl", Bq * w[:, q, None, None], DB)
    Kb = Ke.reshape(nel, nl, nc, nl, nc).transpose(0, 1, 3, 2, 4).reshape(-1, nc * nc)
    nnzb = block_indptr[-1]
    blocks = np.empty((nnzb, nc * nc))
    for k in range(nc * nc):
        blocks[:, k] = np.bincount(bmap, weights=Kb[:, k], minlength=nnzb)
    data = np.empty(nnzb * nc * nc)
    data[csr_positions(block_indptr, nc).ravel()] = blocks.ravel()
    return data


def block_pattern(sdofs_list, n):
    """CSR block pattern (indptr, indices) and per-region maps of element node pairs to blocks."""
    nls = [s.shape[1] for s in sdofs_list]
    rows = np.concatenate([np.repeat(s, nl, axis=1).ravel() for s, nl in zip(sdofs_list, nls)])
    cols = np.concatenate([np.tile(s, (1, nl)).ravel() for s, nl in zip(sdofs_list, nls)])
    ukeys, inv = np.unique(rows.astype(np.int64) * n + cols, return_inverse=True)
    brow, bcol = np.divmod(ukeys, n)
    indptr = np.concatenate([[0], np.cumsum(np.bincount(brow, minlength=n))])
    splits = np.cumsum([s.size * nl for s, nl in zip(sdofs_list, nls)])[:-1]
    return indptr, bcol, np.split(inv.astype(np.int64), splits)


def csr_structure(indptr, indices, nc):
    """(csr_indptr, csr_indices) of the block pattern expanded to nc x nc blocks, by scipy's BSR -> CSR."""
    n = indptr.size - 1
    m = sp.bsr_matrix((np.ones((indices.size, nc, nc)), indices, indptr), shape=(n * nc, n * nc)).tocsr()
    m.sort_indices()
    return m.indptr, m.indices
