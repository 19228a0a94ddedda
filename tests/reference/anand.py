"""The vectorised numpy Anand return map (the scheme of fem_wlp/materials/anand.py's docstring): for every point,
an outer safeguarded Newton on F(s) = R2(dp(s), s) with the inner dp(s) from norton.solve_flow. The reference the
compiled kernels.anand_return_map is checked against (tests/test_materials_inelastic.py)."""
import numpy as np

from fem_wlp.errors import ConvergenceError
from fem_wlp.materials.anand import S_TOL
from fem_wlp.materials.norton import LOCAL_MAX_ITER, T_ABS, Trial, coth, finish, log_sinh, solve_flow, temperature_array


def _lnf(q, lnAT, c_xi, inv_m):
    """ln of the flow rate at resistance s: c_xi = xi / s."""
    return lnAT + inv_m * log_sinh(c_xi * q)


def _dlnf(q, lnAT, c_xi, inv_m):
    return inv_m * c_xi * coth(c_xi * q)


def _evolution(mat, s, s_n, y, lnZ0):
    """R2 and its partials w.r.t. s and y = ln dp.  lnZ0 = ln(dt A_T); s* = s_hat exp(n (y - lnZ0))."""
    dp = np.exp(y)
    s_star = mat.s_hat * np.exp(mat.n * (y - lnZ0))
    x = 1.0 - s / s_star
    ax = np.abs(x)
    phi = np.sign(x) * ax ** mat.a
    dphi = mat.a * ax ** (mat.a - 1.0)
    R2 = s - s_n - mat.h0 * phi * dp
    R2_s = 1.0 + mat.h0 * dphi * dp / s_star
    R2_y = -mat.h0 * dp * (dphi * mat.n * s / s_star + phi)
    return R2, R2_s, R2_y, s_star


def anand_update(mat, state, eps_mech, T, dt):
    """Same contract as Anand.update: (stress, tangent, new state)."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return _update(mat, state, eps_mech, T, dt)


def _update(mat, state, eps_mech, T, dt):
    tr = Trial(mat, state, eps_mech, T)
    N = tr.n
    s_n = state["s"]
    dp = np.zeros(N)
    c = np.ones(N)
    s_new = s_n.copy()
    idx = np.flatnonzero(tr.q_tr > 0) if dt > 0 else np.zeros(0, int)
    if idx.size:
        what = f"materials.{mat.name} (anand)"
        T_K = temperature_array(T, N)[idx] + T_ABS
        lnAT = np.log(mat.A) - mat.Q_over_R / T_K
        lnZ0 = np.log(dt) + lnAT
        q_tr, G3, sn = tr.q_tr[idx], 3.0 * tr.G[idx], s_n[idx]
        inv_m = np.full(idx.size, 1.0 / mat.m)

        def inner(s, y0=None, sel=slice(None)):
            d, dl, _ = solve_flow(q_tr[sel], G3[sel], dt, _lnf, _dlnf, (lnAT[sel], mat.xi / s, inv_m[sel]), y0=y0,
                                  what=what)
            return np.log(d), d, dl

        def reduced(s, y, d, dl, sel=slice(None)):
            """F(s), dF/ds, and the pieces for the tangent, at the inner solution (y, d, dl)."""
            q = q_tr[sel] - G3[sel] * d
            u = mat.xi * q / s
            ct = coth(u)
            R1_y = 1.0 + G3[sel] * d * dl                       # d R1 / d ln dp
            R1_s = inv_m[sel] * ct * u / s                       # d R1 / d s
            R1_q = -inv_m[sel] * ct * mat.xi / s                 # d R1 / d q_tr
            R2, R2_s, R2_y, s_star = _evolution(mat, s, sn[sel], y, lnZ0[sel])
            dF = R2_s - R2_y * R1_s / R1_y
            return R2, dF, (R1_y, R1_s, R1_q, R2_s, R2_y), s_star

        # bracket from the inner solution at s_n
        y, d, dl = inner(sn)
        F, dF, parts, S1 = reduced(sn, y, d, dl)
        lo, hi = np.minimum(sn, S1), np.maximum(sn, S1)
        s = sn.copy()
        sol_y, sol_d, sol_s = y.copy(), d.copy(), sn.copy()
        sol_parts = [p.copy() for p in parts]
        act = np.flatnonzero(F != 0)
        it = 0
        while act.size:
            # Newton / bisection step on the active points, then evaluate there
            Fa, dFa, sa = F[act], dF[act], s[act]
            step = Fa / dFa
            lo_a = np.where(Fa < 0, sa, lo[act])
            hi_a = np.where(Fa > 0, sa, hi[act])
            lo[act], hi[act] = lo_a, hi_a
            s_try = sa - step
            small = np.abs(step) <= S_TOL * sa
            bad = ~((s_try > lo_a) & (s_try < hi_a))
            s_try = np.where(bad, 0.5 * (lo_a + hi_a), s_try)
            conv = small | (hi_a - lo_a <= S_TOL * sa)
            act, s_try = act[~conv], s_try[~conv]
            if not act.size:
                break
            it += 1
            if it > LOCAL_MAX_ITER:
                raise ConvergenceError(f"{what}: the s-iteration did not converge in {LOCAL_MAX_ITER} "
                                       f"iterations at {act.size} of {N} points", {"points": idx[act[:10]].tolist()})
            ya, da, dla = inner(s_try, y0=sol_y[act], sel=act)
            Fa, dFa, pa, _ = reduced(s_try, ya, da, dla, sel=act)
            F[act], dF[act], s[act] = Fa, dFa, s_try
            sol_y[act], sol_d[act], sol_s[act] = ya, da, s_try
            for P, v in zip(sol_parts, pa):
                P[act] = v
            act = act[Fa != 0]
        R1_y, R1_s, R1_q, R2_s, R2_y = sol_parts
        det = R1_y * R2_s - R1_s * R2_y
        dy_dq = -R1_q * R2_s / det
        dp[idx] = sol_d
        s_new[idx] = sol_s
        c[idx] = 1.0 - G3 * sol_d * dy_dq
    return finish(mat, state, tr, dp, c, {"s": s_new, "rate": dp / dt if dt > 0 else np.zeros(N)})
