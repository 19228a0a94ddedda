"""Compiled element kernels (numba; one implementation each, checked against the references in tests/reference).

numba runs the loops that numpy cannot do efficiently: the element stiffness contraction
K_e = sum_q w_q B_q^T D_q B_q (tiny dense matrices, one per element; B_q built from the basis-function gradients)
fused with the scatter straight into the CSR data of the global matrix, without materializing B or K_e; B u and
B^T s at the quadrature points from the factored B (a handful of flops per point); the block sparsity pattern;
and the block Gauss-Seidel sweep of the AMG smoother.
"""
from __future__ import annotations

import numpy as np
from numba import njit

SQ2 = np.sqrt(2.0)

#: nonzeros of B per number of displacement components: (Mandel row, component c, gradient direction d, factor)
#: B[row, i*nc + c] = factor * dN_i/dx_d; the axisymmetric hoop row B[2, i*nc] = N_i / r comes on top.
B_ENTRIES = {
    3: ((0, 0, 0, 1.0), (1, 1, 1, 1.0), (2, 2, 2, 1.0), (3, 0, 1, 1 / SQ2), (3, 1, 0, 1 / SQ2),
        (4, 0, 2, 1 / SQ2), (4, 2, 0, 1 / SQ2), (5, 1, 2, 1 / SQ2), (5, 2, 1, 1 / SQ2)),
    2: ((0, 0, 0, 1.0), (1, 1, 1, 1.0), (3, 0, 1, 1 / SQ2), (3, 1, 0, 1 / SQ2)),
}


def _index_dtype(n: int):
    """int32 index arrays where they fit (scipy keeps them without a copy; half the memory), int64 otherwise."""
    return np.int32 if n < np.iinfo(np.int32).max else np.int64


def _b_table(nc):
    """B_ENTRIES[nc] as the four arrays the kernels take: Mandel rows, components, directions, factors."""
    tab = np.array(B_ENTRIES[nc])
    return tab[:, 0].astype(np.int64), tab[:, 1].astype(np.int64), tab[:, 2].astype(np.int64), tab[:, 3].copy()


@njit(cache=True, fastmath=True)
def _nb_scatter_csr(G, hoop, has_hoop, w, D, sdofs, bmap, bptr, tI, tc, td, tf, nc, data, DB, Ke):
    """K_e = sum_q w B^T D B accumulated straight into the CSR data (no block-order intermediate, no
    permutation). B is never formed: column (node i, component c) of B has only the table entries with
    tc = c (2 in 2D, 3 in 3D, + the hoop row), so D B and B^T (D B) use those instead of 6-term sums
    (2-3x fewer operations than dense 6 x nloc products)."""
    nel, nqp, _, nl = G.shape
    nloc = nl * nc
    nt = tI.size
    for e in range(nel):
        Ke[:, :] = 0.0
        for q in range(nqp):
            wq = w[e, q]
            # DB[:, k] = w * sum over the nonzeros (J, value) of column k of B of D[:, J] * value
            for i in range(nl):
                for c in range(nc):
                    k = i * nc + c
                    for I in range(6):
                        DB[I, k] = 0.0
                    for t in range(nt):
                        if tc[t] == c:
                            v = tf[t] * G[e, q, td[t], i] * wq
                            J = tI[t]
                            for I in range(6):
                                DB[I, k] += D[e, q, I, J] * v
                    if has_hoop and c == 0:
                        v = hoop[e, q, i] * wq
                        for I in range(6):
                            DB[I, k] += D[e, q, I, 2] * v
            # Ke[k, l] += sum over the nonzeros (I, value) of column k of B of value * DB[I, l]
            for i in range(nl):
                for c in range(nc):
                    k = i * nc + c
                    for t in range(nt):
                        if tc[t] == c:
                            v = tf[t] * G[e, q, td[t], i]
                            I = tI[t]
                            for l in range(k, nloc):
                                Ke[k, l] += v * DB[I, l]
                    if has_hoop and c == 0:
                        v = hoop[e, q, i]
                        for l in range(k, nloc):
                            Ke[k, l] += v * DB[2, l]
        for i in range(nl):
            r = sdofs[e, i]
            k0 = bptr[r]
            L = bptr[r + 1] - k0
            for j in range(nl):
                base = nc * nc * k0 + (bmap[(e * nl + i) * nl + j] - k0) * nc
                for a in range(nc):
                    for c in range(nc):
                        k, l = i * nc + a, j * nc + c
                        data[base + a * nc * L + c] += Ke[k, l] if k <= l else Ke[l, k]


def scatter_stiffness(G, hoop, w, D, sdofs, bmap, block_indptr, nc, out=None):
    """CSR-ordered data (nnz,) of sum_e K_e for one region, added to `out` when given.

    G, hoop, w: the region's gradients, hoop factors (or None) and weights (kinematics.RegionOps); D (6,6) shared
    or (nel, nqp, 6, 6) per point; bmap: element node pair -> block of the block pattern (block_indptr).
    Only symmetric tangents are assembled (the upper triangle of K_e is computed and mirrored)."""
    nnz = int(block_indptr[-1]) * nc * nc
    if out is None:
        out = np.zeros(nnz)
    if D.ndim == 2:         # one tangent for the region: a zero-stride view, no copy
        D = np.broadcast_to(D, w.shape + (6, 6))
    else:
        D = np.ascontiguousarray(D)
    h = hoop if hoop is not None else np.zeros((1, 1, 1))
    nloc = G.shape[3] * nc      # work arrays DB, Ke made here: no array constructor in compiled code
    _nb_scatter_csr(G, h, hoop is not None, w, D, sdofs, bmap, block_indptr, *_b_table(nc), nc, out,
                    np.empty((6, nloc)), np.empty((nloc, nloc)))
    return out


@njit(cache=True, fastmath=True)
def _nb_strain(G, hoop, has_hoop, vdofs, u, tI, tc, td, tf, nc, eps, ue):
    nel, nqp, _, nl = G.shape
    for e in range(nel):
        for k in range(nl * nc):
            ue[k] = u[vdofs[e, k]]
        for q in range(nqp):
            for t in range(tI.size):
                s = 0.0
                for i in range(nl):
                    s += G[e, q, td[t], i] * ue[i * nc + tc[t]]
                eps[tI[t], e, q] += tf[t] * s
            if has_hoop:
                s = 0.0
                for i in range(nl):
                    s += hoop[e, q, i] * ue[i * nc]
                eps[2, e, q] += s


@njit(cache=True, fastmath=True)
def _nb_bt(G, hoop, has_hoop, w, s, tI, tc, td, tf, nc, fe):
    nel, nqp, _, nl = G.shape
    for e in range(nel):
        for q in range(nqp):
            for t in range(tI.size):
                sv = s[tI[t], e, q] * tf[t] * w[e, q]
                for i in range(nl):
                    fe[e, i * nc + tc[t]] += sv * G[e, q, td[t], i]
            if has_hoop:
                sv = s[2, e, q] * w[e, q]
                for i in range(nl):
                    fe[e, i * nc] += sv * hoop[e, q, i]


def apply_b(G, hoop, vdofs, u, nc):
    """Compiled B u: Mandel strain (6, nel, nqp) at the quadrature points (kinematics.strain is the entry point)."""
    nel, nqp = G.shape[:2]
    eps = np.zeros((6, nel, nqp))
    h = hoop if hoop is not None else np.zeros((1, 1, 1))
    _nb_strain(G, h, hoop is not None, vdofs, np.ascontiguousarray(u, dtype=float), *_b_table(nc), nc, eps,
               np.empty(G.shape[3] * nc))
    return eps


def apply_bt(G, hoop, w, s, nc):
    """Compiled element vectors (nel, nl*nc) of int B^T s dV for s (6, nel, nqp) (kinematics.bt is the entry)."""
    nel, nqp, _, nl = G.shape
    fe = np.zeros((nel, nl * nc))
    h = hoop if hoop is not None else np.zeros((1, 1, 1))
    _nb_bt(G, h, hoop is not None, w, np.ascontiguousarray(s, dtype=float), *_b_table(nc), nc, fe)
    return fe


@njit(cache=True)
def _nb_count_node_elements(sdofs, ptr):
    """ptr[r + 1] = number of element slots at node r (ptr zero on entry; the caller takes the cumsum)."""
    nel, nl = sdofs.shape
    for e in range(nel):
        for i in range(nl):
            ptr[sdofs[e, i] + 1] += 1


@njit(cache=True)
def _nb_fill_node_elements(sdofs, fill, elems):
    """elems[ptr[r]:ptr[r+1]] = elements at node r; fill = ptr[:-1] copy on entry."""
    nel, nl = sdofs.shape
    for e in range(nel):
        for i in range(nl):
            r = sdofs[e, i]
            elems[fill[r]] = e
            fill[r] += 1


@njit(cache=True)
def _nb_pattern(sdofs, ptr, elems, marker, indptr, indices, count_only):
    """Block pattern rows: with count_only, indptr[r + 1] = number of distinct neighbours of node r
    (marker = -1 on entry); else the sorted neighbours into indices[indptr[r]:indptr[r + 1]]."""
    nl = sdofs.shape[1]
    n = ptr.size - 1
    for r in range(n):
        c = indptr[r] if not count_only else 0
        start = c
        for k in range(ptr[r], ptr[r + 1]):
            e = elems[k]
            for j in range(nl):
                col = sdofs[e, j]
                if marker[col] != r:
                    marker[col] = r
                    if not count_only:
                        # insertion into the sorted row (rows hold a few dozen entries)
                        p = c
                        while p > start and indices[p - 1] > col:
                            indices[p] = indices[p - 1]
                            p -= 1
                        indices[p] = col
                    c += 1
        if count_only:
            indptr[r + 1] = c


@njit(cache=True)
def _nb_block_map(sdofs, indptr, indices, out):
    nel, nl = sdofs.shape
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
def _nb_csr_structure(indptr, indices, nc, cptr, cind):
    """CSR structure of the expanded matrix (rows node*nc + a; blocks of a node row side by side)."""
    n = indptr.size - 1
    pos = 0
    cptr[0] = 0
    for r in range(n):
        for a in range(nc):
            for k in range(indptr[r], indptr[r + 1]):
                for b in range(nc):
                    cind[pos] = indices[k] * nc + b
                    pos += 1
            cptr[r * nc + a + 1] = pos


def block_pattern(sdofs_list, n):
    """Block (node-pair) CSR pattern over all regions and each region's element-pair -> block map."""
    sd = np.ascontiguousarray(np.concatenate(sdofs_list).astype(np.int64))
    # (no allocation inside the compiled kernels: numba's array constructors and np.sort dominate the first-run
    # compilation of a fresh install)
    ptr = np.zeros(n + 1, np.int64)
    _nb_count_node_elements(sd, ptr)
    np.cumsum(ptr, out=ptr)
    elems = np.empty(ptr[-1], np.int64)
    _nb_fill_node_elements(sd, ptr[:-1].copy(), elems)
    marker = np.full(n, -1, np.int64)
    indptr = np.zeros(n + 1, np.int64)
    indices = np.empty(0, np.int64)
    _nb_pattern(sd, ptr, elems, marker, indptr, indices, True)
    np.cumsum(indptr, out=indptr)
    indices = np.empty(indptr[-1], np.int64)
    marker[:] = -1
    _nb_pattern(sd, ptr, elems, marker, indptr, indices, False)
    dt = _index_dtype(indices.size)
    maps = [_nb_block_map(np.ascontiguousarray(s.astype(np.int64)), indptr, indices,
                          np.empty(s.size * s.shape[1], dt)) for s in sdofs_list]
    return indptr, indices, maps


def csr_structure(indptr, indices, nc):
    """(csr_indptr, csr_indices) of the matrix whose block pattern is (indptr, indices) with nc x nc blocks:
    the blocks of node row r side by side, so block entry (k, a, c) sits at
    nc*nc*indptr[r] + a*nc*L_r + (k - indptr[r])*nc + c, L_r the blocks of row r (scatter_stiffness writes there)."""
    n, nnz = indptr.size - 1, indices.size * nc * nc
    dt = _index_dtype(max(nnz, n * nc))
    cptr, cind = np.empty(n * nc + 1, dt), np.empty(nnz, dt)
    _nb_csr_structure(indptr, indices, nc, cptr, cind)
    return cptr, cind


@njit(cache=True, fastmath=True)
def _nb_block_gs(indptr, indices, data, dinv, x, b, forward, r):
    """One block Gauss-Seidel sweep on a BSR matrix (blocks data (nnzb, bs, bs), inverse diagonal blocks dinv
    (nb, bs, bs)): x_i <- Dinv_i (b_i - sum_{j != i} A_ij x_j), rows in order (forward) or reversed."""
    nb = indptr.size - 1
    bs = data.shape[1]
    for k in range(nb):
        i = k if forward else nb - 1 - k
        for a in range(bs):
            r[a] = b[i * bs + a]
        for p in range(indptr[i], indptr[i + 1]):
            j = indices[p]
            if j != i:
                for a in range(bs):
                    s = 0.0
                    for c in range(bs):
                        s += data[p, a, c] * x[j * bs + c]
                    r[a] -= s
        for a in range(bs):
            s = 0.0
            for c in range(bs):
                s += dinv[i, a, c] * r[c]
            x[i * bs + a] = s


@njit(cache=True, fastmath=True)
def _nb_block_gs3(indptr, indices, data, dinv, x, b, forward, r):
    """_nb_block_gs for 3x3 blocks, unrolled."""
    nb = indptr.size - 1
    for k in range(nb):
        i = k if forward else nb - 1 - k
        r0, r1, r2 = b[3 * i], b[3 * i + 1], b[3 * i + 2]
        for p in range(indptr[i], indptr[i + 1]):
            j = indices[p]
            if j != i:
                x0, x1, x2 = x[3 * j], x[3 * j + 1], x[3 * j + 2]
                A = data[p]
                r0 -= A[0, 0] * x0 + A[0, 1] * x1 + A[0, 2] * x2
                r1 -= A[1, 0] * x0 + A[1, 1] * x1 + A[1, 2] * x2
                r2 -= A[2, 0] * x0 + A[2, 1] * x1 + A[2, 2] * x2
        D = dinv[i]
        x[3 * i] = D[0, 0] * r0 + D[0, 1] * r1 + D[0, 2] * r2
        x[3 * i + 1] = D[1, 0] * r0 + D[1, 1] * r1 + D[1, 2] * r2
        x[3 * i + 2] = D[2, 0] * r0 + D[2, 1] * r1 + D[2, 2] * r2


@njit(cache=True, fastmath=True)
def _nb_block_gs6(indptr, indices, data, dinv, x, b, forward, r):
    """_nb_block_gs for 6x6 blocks (coarse levels of 3D elasticity: six rigid-body modes per aggregate);
    literal trip counts, so that the compiler unrolls them."""
    nb = indptr.size - 1
    for k in range(nb):
        i = k if forward else nb - 1 - k
        for a in range(6):
            r[a] = b[6 * i + a]
        for p in range(indptr[i], indptr[i + 1]):
            j = indices[p]
            if j != i:
                for a in range(6):
                    s = 0.0
                    for c in range(6):
                        s += data[p, a, c] * x[6 * j + c]
                    r[a] -= s
        for a in range(6):
            s = 0.0
            for c in range(6):
                s += dinv[i, a, c] * r[c]
            x[6 * i + a] = s


def block_gauss_seidel(A, x, b, Dinv, forward: bool = True):
    """In place: one forward (or backward) block Gauss-Seidel sweep on the BSR matrix A (pyamg's
    relaxation.block_gauss_seidel, compiled: the sweep is most of an AMG V-cycle)."""
    kernel = {(3, 3): _nb_block_gs3, (6, 6): _nb_block_gs6}.get(A.blocksize, _nb_block_gs)
    kernel(A.indptr, A.indices, A.data, Dinv, x, b, forward, np.empty(A.blocksize[0]))
