"""Compiled (numba) point-wise Anand return map (Norton, Garofalo and J2 keep their vectorised numpy return maps).

Each point first tries Newton on (dp, s) together from the last increment's rate, and falls back to the bracketed
nested iteration of anand.py (outer safeguarded Newton on s, inner safeguarded Newton on ln dp), with the same
tolerances. Point by point because a thermal cycle calls the update thousands of times on a few thousand points,
where a vectorised iteration over shrinking arrays spends its time in numpy call overhead. The vectorised numpy
form of the nested iteration is the reference (tests/reference/anand.py); the two agree to round-off
(tests/test_materials_inelastic.py).

The kernels use numpy's floating-point error model: a division by zero or an overflow gives inf/nan instead of
raising inside compiled code; a point whose result is not finite gets the status NOT_FINITE, which the material
turns into a ConvergenceError (and the solver into a cutback).

Status codes returned per point: >= 0 iterations used; FAILED_FLOW (-1) inner (dp) iteration did not converge;
FAILED_S (-2) outer (s) iteration did not converge; NOT_FINITE (-3) non-finite dp, s or tangent factor.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

LN2 = math.log(2.0)
FAILED_FLOW, FAILED_S, NOT_FINITE = -1, -2, -3
#: iterations of the joint (dp, s) Newton before the bracketed iteration takes over
JOINT_MAX_ITER = 12


@njit(cache=True, inline="always", error_model="numpy")
def _anand_lnf(qq, lnAT, c_xi, inv_m):
    """ln f(q) = ln(A_T) + (1/m) ln sinh(xi q / s), c_xi = xi / s (see norton.log_sinh)."""
    u = c_xi * qq
    if u <= 0.0:
        return -math.inf
    return lnAT + inv_m * (u - LN2 + math.log(-math.expm1(-2.0 * u)))


@njit(cache=True, inline="always", error_model="numpy")
def _anand_dlnf(qq, c_xi, inv_m):
    return inv_m * c_xi / math.tanh(c_xi * qq)


@njit(cache=True, error_model="numpy")
def _anand_flow(q, G3, lndt, lnAT, c_xi, inv_m, y0, has_y0, tol, max_iter):
    """dp = dt f(q - G3 dp) for one point: the safeguarded Newton in y = ln dp of norton.solve_flow.
    Returns (ln dp, dp, d ln f/dq at the solution, ok)."""
    ln_dpmax = math.log(q / G3)
    lo = min(lndt + _anand_lnf(0.5 * q, lnAT, c_xi, inv_m), ln_dpmax - LN2)
    hi = min(lndt + _anand_lnf(q, lnAT, c_xi, inv_m), ln_dpmax)
    y = min(max(y0, lo), hi) if has_y0 else 0.5 * (lo + hi)
    if not math.isfinite(y):
        y = ln_dpmax - LN2
    ok = False
    for _ in range(max_iter):
        ey = math.exp(y)
        qq = q - G3 * ey
        if qq > 0.0:
            L = y - lndt - _anand_lnf(qq, lnAT, c_xi, inv_m)
            dL = 1.0 + G3 * ey * _anand_dlnf(qq, c_xi, inv_m)
        else:                                  # only through round-off at the upper bracket end
            L = math.inf
            dL = 1.0
        if L == 0.0:
            ok = True
            break
        if L < 0.0:
            lo = y
        else:
            hi = y
        step = L / dL
        yn = y - step
        small = abs(step) <= tol
        if not small and not (yn > lo and yn < hi):
            yn = 0.5 * (lo + hi)
        y = min(max(yn, lo), hi)
        if small or hi - lo <= tol:
            ok = True
            break
    d = math.exp(y)
    return math.log(d), d, _anand_dlnf(q - G3 * d, c_xi, inv_m), ok


@njit(cache=True, inline="always", error_model="numpy")
def _anand_reduced(s, y, d, dl, q_tr, G3, sn, lnZ0, xi, inv_m, h0, s_hat, n, a):
    """F(s) = R2(dp(s), s), dF/ds, and R1_y, R1_s, R1_q, R2_s, R2_y for the tangent (see anand.py)."""
    q = q_tr - G3 * d
    u = xi * q / s
    ct = 1.0 / math.tanh(u)
    R1_y = 1.0 + G3 * d * dl
    R1_s = inv_m * ct * u / s
    R1_q = -inv_m * ct * xi / s
    dp = math.exp(y)
    s_star = s_hat * math.exp(n * (y - lnZ0))
    x = 1.0 - s / s_star
    ax = abs(x)
    phi = math.copysign(ax ** a, x) if x != 0.0 else 0.0
    dphi = a * ax ** (a - 1.0)
    R2 = s - sn - h0 * phi * dp
    R2_s = 1.0 + h0 * dphi * dp / s_star
    R2_y = -h0 * dp * (dphi * n * s / s_star + phi)
    dF = R2_s - R2_y * R1_s / R1_y
    return R2, dF, R1_y, R1_s, R1_q, R2_s, R2_y, s_star


@njit(cache=True, error_model="numpy")
def _anand_nested(q, g3, sn, lnAT, lndt, xi, inv_m, h0, s_hat, n, a, tol_y, tol_s, max_iter):
    """The bracketed nested iteration of anand.py for one point (always converges): outer safeguarded Newton
    on F(s) = R2(dp(s), s), inner `_anand_flow` for dp(s). Returns (dp, s, c, status)."""
    lnZ0 = lndt + lnAT
    status = 0
    y, d, dl, ok = _anand_flow(q, g3, lndt, lnAT, xi / sn, inv_m, 0.0, False, tol_y, max_iter)
    if not ok:
        status = FAILED_FLOW
    F, dF, R1_y, R1_s, R1_q, R2_s, R2_y, S1 = _anand_reduced(sn, y, d, dl, q, g3, sn, lnZ0, xi, inv_m,
                                                            h0, s_hat, n, a)
    lo, hi = min(sn, S1), max(sn, S1)
    s = sn
    it = 0
    while F != 0.0 and status == 0:
        step = F / dF
        if F < 0.0:
            lo = s
        else:
            hi = s
        s_try = s - step
        small = abs(step) <= tol_s * s
        if not (s_try > lo and s_try < hi):
            s_try = 0.5 * (lo + hi)
        if small or hi - lo <= tol_s * s:
            break
        it += 1
        if it > max_iter:
            status = FAILED_S
            break
        y, d, dl, ok = _anand_flow(q, g3, lndt, lnAT, xi / s_try, inv_m, y, True, tol_y, max_iter)
        if not ok:
            status = FAILED_FLOW
        F, dF, R1_y, R1_s, R1_q, R2_s, R2_y, _s = _anand_reduced(s_try, y, d, dl, q, g3, sn, lnZ0, xi,
                                                                 inv_m, h0, s_hat, n, a)
        s = s_try
    det = R1_y * R2_s - R1_s * R2_y
    return d, s, 1.0 - g3 * d * (-R1_q * R2_s / det), (it if status == 0 else status)


@njit(cache=True, error_model="numpy")
def _anand_joint(q, g3, sn, lnAT, lndt, y, xi, inv_m, h0, s_hat, n, a, tol_y, tol_s, max_iter):
    """Plain Newton on (R1, R2) in (y = ln dp, s) together from the guess (y, s_n): one evaluation of ~5
    transcendental functions per iteration instead of a full inner solve per outer step. Returns
    (dp, s, c, iterations), iterations = -1 when it leaves the admissible set (q > 0, s > 0) or does not
    converge in max_iter (the caller then runs the bracketed `_anand_nested`)."""
    lnZ0 = lndt + lnAT
    s = sn
    for it in range(max_iter):
        d = math.exp(y)
        qq = q - g3 * d
        if not (qq > 0.0 and s > 0.0):
            return 0.0, 0.0, 0.0, -1
        c_xi = xi / s
        u = c_xi * qq
        em = -math.expm1(-2.0 * u)                  # 1 - e^(-2u) > 0
        ct = (2.0 - em) / em                        # coth(u) = (1 + e^(-2u)) / (1 - e^(-2u))
        R1 = y - lnZ0 - inv_m * (u - LN2 + math.log(em))
        dl = inv_m * c_xi * ct
        R1_y = 1.0 + g3 * d * dl
        R1_s = inv_m * ct * u / s
        s_star = s_hat * math.exp(n * (y - lnZ0))
        x = 1.0 - s / s_star
        ax = abs(x)
        pa = ax ** a
        phi = math.copysign(pa, x) if x != 0.0 else 0.0
        dphi = a * pa / ax if ax > 0.0 else (1.0 if a == 1.0 else 0.0)
        R2 = s - sn - h0 * phi * d
        R2_s = 1.0 + h0 * dphi * d / s_star
        R2_y = -h0 * d * (dphi * n * s / s_star + phi)
        det = R1_y * R2_s - R1_s * R2_y
        dy = (R1 * R2_s - R1_s * R2) / det
        ds = (R1_y * R2 - R2_y * R1) / det
        y -= dy
        s -= ds
        if abs(dy) <= tol_y and abs(ds) <= tol_s * abs(s):
            R1_q = -inv_m * ct * xi / (s + ds)
            return d, s + ds, 1.0 - g3 * d * (-R1_q * R2_s / det), it
        if not (math.isfinite(y) and math.isfinite(s)):
            break
    return 0.0, 0.0, 0.0, -1


@njit(cache=True, error_model="numpy")
def _anand_return_map(q_tr, G3, s_n, lnAT, dt, y0, xi, m, h0, s_hat, n, a, tol_y, tol_s, max_iter,
                      dp_out, s_out, c_out, status):
    """anand_return_map into caller-allocated outputs."""
    M = q_tr.size
    lndt = math.log(dt)
    inv_m = 1.0 / m
    for i in range(M):
        it = -1
        if math.isfinite(y0[i]) and y0[i] < math.log(q_tr[i] / G3[i]):
            d, s, c, it = _anand_joint(q_tr[i], G3[i], s_n[i], lnAT[i], lndt, y0[i], xi, inv_m, h0, s_hat,
                                       n, a, tol_y, tol_s, JOINT_MAX_ITER)
        if it < 0:
            d, s, c, it = _anand_nested(q_tr[i], G3[i], s_n[i], lnAT[i], lndt, xi, inv_m, h0, s_hat, n, a,
                                        tol_y, tol_s, max_iter)
        if it >= 0 and not (math.isfinite(d) and math.isfinite(s) and (d == 0.0 or math.isfinite(c))):
            it = NOT_FINITE
        dp_out[i], s_out[i], c_out[i], status[i] = d, s, c, it


def anand_return_map(q_tr, G3, s_n, lnAT, dt, y0, xi, m, h0, s_hat, n, a, tol_y, tol_s, max_iter):
    """Backward-Euler Anand return map at flowing points (q_tr > 0, dt > 0), arrays (M,).

    y0 (M,): guess of ln dp (from the last increment's rate; not finite = no guess). Newton on (dp, s)
    together from the guess; the bracketed nested iteration where that fails or there is no guess.
    Returns dp (M,), s_{n+1} (M,), c = 1 - 3G d(dp)/dq_tr (M,), status (M,) (see the module docstring).
    The outputs are allocated here, not in the compiled code (numba's array constructors dominate the
    first-run compilation)."""
    M = q_tr.size
    out = np.empty(M), np.empty(M), np.empty(M), np.zeros(M, np.int64)
    _anand_return_map(q_tr, G3, s_n, lnAT, dt, y0, xi, m, h0, s_hat, n, a, tol_y, tol_s, max_iter, *out)
    return out
