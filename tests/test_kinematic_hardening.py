"""Nonlinear kinematic hardening (materials/kinematic.py, Armstrong–Frederick / Chaboche) against closed forms.

Uniaxial stress (the material driver, strain-controlled xx, other stresses zero), one backstress, constant
yield stress, no isotropic hardening: during plastic flow in direction s = +-1 the axial backstress is
    X(p) = s C/gamma + (X0 - s C/gamma) exp(-gamma (p - p0)),   sigma = X + s sigma_y
(p the accumulated plastic strain, (p0, X0) the start of the branch). Backward Euler on X has a local error
(gamma dp)^2 / 2 |X - sC/gamma| per step, so the error of X after a branch is <= gamma dp_max / 2 * (the change
of X over the branch) (first order in the step); the tests use that bound with dp_max the largest increment of p.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from fem_wlp.errors import InputError
from fem_wlp.materials import material_from_spec
from fem_wlp.materials.driver import drive
from fem_wlp.materials.plasticity import J2Plastic

AF = {"model": "chaboche", "E": 130000.0, "nu": 0.34, "alpha": 17e-6, "yield_stress": 120.0,
      "C": 20000.0, "gamma": 100.0}           # saturation C/gamma = 200 MPa reached after ~ 3/gamma = 3 % strain


def _cycle(amplitude, n_cycles, per_quarter):
    """Strain history 0 -> +a -> -a -> +a ... (triangle), per_quarter increments per quarter cycle."""
    q = np.linspace(0.0, 1.0, per_quarter + 1)[1:]
    path = [np.zeros(1), amplitude * q]
    for k in range(2 * n_cycles):
        sgn = -1.0 if k % 2 == 0 else 1.0
        path.append(amplitude * (-sgn) + 2 * amplitude * sgn * np.linspace(0.0, 1.0, 2 * per_quarter + 1)[1:])
    eps = np.concatenate(path)
    return np.arange(eps.size, dtype=float), eps


def _closed_form_stress(mat, eps_p_axial, p):
    """sigma along the loading history from the closed form, given the model's axial plastic strain history
    (its increments give the flow direction s and the branch starts)."""
    C, g, sy = mat.C[0], mat.gamma[0], float(mat.yield_stress(25.0))
    X = 0.0
    s_prev = 0.0
    X0, p0 = 0.0, 0.0
    out = np.full(p.size, np.nan)
    dpl = np.diff(eps_p_axial, prepend=0.0)
    for k in range(p.size):
        if dpl[k] != 0.0:
            s = np.sign(dpl[k])
            if s != s_prev:                       # a new plastic branch starts at the previous point
                X0, p0, s_prev = X, p[k - 1] if k else 0.0, s
            X = s * C / g + (X0 - s * C / g) * np.exp(-g * (p[k] - p0))
            out[k] = X + s * sy
    return out


@pytest.mark.parametrize("per_quarter", [100, 200])
def test_uniaxial_cycle_matches_armstrong_frederick_closed_form(per_quarter):
    mat = material_from_spec("cu", AF)
    t, eps = _cycle(0.02, 2, per_quarter)
    r = drive(mat, t, strain={"xx": eps})
    sig, ep, p = r["stress"][:, 0], r["eps_in"][:, 0], r["eps_in_eq"]
    ref = _closed_form_stress(mat, ep, p)
    plastic = np.isfinite(ref)
    assert plastic.sum() > 0.6 * p.size
    dp_max = np.max(np.diff(p))
    # bound: gamma dp_max / 2 x (largest change of X on a branch, <= 2 C/gamma) -- see the module docstring
    bound = mat.gamma[0] * dp_max / 2 * 2 * mat.C[0] / mat.gamma[0]
    err = np.max(np.abs(sig[plastic] - ref[plastic]))
    print(f"per quarter {per_quarter}: dp_max {dp_max:.2e}, max |sigma - closed form| {err:.3e} MPa "
          f"(bound {bound:.3e})")
    assert err < bound
    # uniaxial stress really: the lateral stresses vanish
    assert np.max(np.abs(r["stress"][:, 1:, ])) < 1e-6


def test_closed_form_error_is_first_order_in_the_step():
    errs = []
    for per_quarter in (50, 100, 200):
        mat = material_from_spec("cu", AF)
        t, eps = _cycle(0.02, 1, per_quarter)
        r = drive(mat, t, strain={"xx": eps})
        ref = _closed_form_stress(mat, r["eps_in"][:, 0], r["eps_in_eq"])
        ok = np.isfinite(ref)
        errs.append(np.max(np.abs(r["stress"][ok, 0] - ref[ok])))
    ratios = [errs[0] / errs[1], errs[1] / errs[2]]
    print("errors", errs, "ratios", ratios)
    assert all(1.7 < q < 2.3 for q in ratios)          # backward Euler: error halves with the step


def test_bauschinger_effect_and_stabilized_loop():
    mat = material_from_spec("cu", AF)
    a = 0.01
    t, eps = _cycle(a, 6, 200)
    r = drive(mat, t, strain={"xx": eps})
    sig, ep = r["stress"][:, 0], r["eps_in"][:, 0]
    sy = float(mat.yield_stress(25.0))
    # Bauschinger: after tension to sigma_1 > sigma_y the reverse yield starts at sigma_1 - 2 sigma_y (> -sigma_1)
    k1 = 200                                             # end of the first quarter (strain +a)
    s1 = sig[k1]
    rev = np.flatnonzero((np.arange(sig.size) > k1) & (np.abs(np.diff(ep, prepend=ep[0])) > 0))[0]
    print(f"sigma_1 {s1:.2f}, reverse yield at {sig[rev]:.2f} (sigma_1 - 2 sigma_y = {s1 - 2 * sy:.2f})")
    assert s1 > sy and abs(sig[rev]) < s1
    # the reverse yield point: within one increment's elastic stress change of sigma_1 - 2 sigma_y
    de = 2 * a / 400 * mat.E(25.0)
    assert abs(sig[rev - 1] - (s1 - 2 * sy)) <= de + 1e-9 or abs(sig[rev] - (s1 - 2 * sy)) <= de + 1e-9
    # stabilized symmetric loop (closed form): Delta sigma / 2 = sigma_y + C/gamma tanh(gamma Delta eps_p / 4 * 2)
    last = slice(sig.size - 800, sig.size)               # the last full cycle
    ds2 = 0.5 * (sig[last].max() - sig[last].min())
    dep = ep[last].max() - ep[last].min()
    C, g = mat.C[0], mat.gamma[0]
    ref = sy + C / g * np.tanh(g * dep / 2)
    print(f"stabilized: half range {ds2:.4f} MPa, closed form {ref:.4f} (plastic strain range {dep:.4e})")
    assert abs(ds2 - ref) < 0.5e-2 * ref      # step error of the BE backstress (gamma dp / 2 ~ 1e-3 relative)
    assert ds2 < sy + C / g                    # the loop saturates below sigma_y + C/gamma


def test_linear_limit_equals_j2_prager():
    """gamma = 0 is Prager linear kinematic hardening: the same answer as J2Plastic(hardening = kinematic)."""
    spec = {"E": 130000.0, "nu": 0.34, "alpha": 17e-6}
    ch = material_from_spec("cu", {"model": "chaboche", **spec, "yield_stress": 200.0, "C": 1500.0, "gamma": 0.0})
    j2 = material_from_spec("cu", {"model": "plastic", **spec, "yield_stress": 200.0, "hardening_modulus": 1500.0,
                                   "hardening": "kinematic"})
    assert isinstance(j2, J2Plastic)
    t, eps = _cycle(0.01, 2, 50)
    path = {"xx": eps, "xy": 0.5 * eps[::-1]}            # non-radial
    a, b = drive(ch, t, strain=path), drive(j2, t, strain=path)
    for k in ("stress", "eps_in", "eps_in_eq", "w_in"):
        assert np.allclose(a[k], b[k], rtol=1e-10, atol=1e-10), k
    assert a["eps_in_eq"][-1] > 0.01


def _fd_check(mat, state, eps, T=25.0, h=1e-8):
    sig, D, _ = mat.update(state, eps, T, 1.0)
    Dfd = np.zeros((6, 6, eps.shape[1]))
    for j in range(6):
        e1, e2 = eps.copy(), eps.copy()
        e1[j] += h
        e2[j] -= h
        Dfd[:, j] = (mat.update(state, e1, T, 1.0)[0] - mat.update(state, e2, T, 1.0)[0]) / (2 * h)
    return D, Dfd


def test_consistent_tangent_against_finite_difference():
    spec = {**AF, "C": [20000.0, 2000.0], "gamma": [100.0, 5.0], "hardening_modulus": 300.0,
            "yield_stress": [[-50.0, 150.0], [150.0, 100.0]], "E": [[-50.0, 135000.0], [150.0, 120000.0]]}
    mat = material_from_spec("cu", spec)
    rng = np.random.default_rng(3)
    N = 8
    # a state with backstresses not parallel to the next increment (non-radial), loaded to yield again
    st = drive(mat, np.arange(30.0), strain={"xx": np.linspace(0, 0.01, 30), "xy": np.linspace(0, -0.006, 30)},
               n_points=N, temperature=40.0)["state"]
    eps = st["eps_in"] + 0.012 * rng.uniform(-1, 1, (6, N))
    full = dataclasses.replace(mat, symmetric_tangent=False)
    D, Dfd = _fd_check(full, st, eps, T=40.0)
    plastic = full.update(st, eps, 40.0, 1.0)[2]["eps_in_eq"] > st["eps_in_eq"]
    assert plastic.sum() >= N // 2
    err = np.max(np.abs(D - Dfd)) / np.max(np.abs(Dfd))
    print(f"non-radial: full tangent vs FD rel. err {err:.2e}")
    assert err < 1e-6                                    # FD truncation ~ h^2, round-off ~ 1e-16/h x |sigma|
    # the symmetric tangent equals the full one for a radial increment from a state with collinear backstress
    mat_s = mat
    st0 = mat_s.init_state(N)
    dirs = rng.uniform(-1, 1, (6, N))
    dirs[:3] -= dirs[:3].mean(axis=0)
    st1 = mat_s.update(st0, 0.004 * dirs, 40.0, 1.0)[2]
    D1, Dfd1 = _fd_check(mat_s, st1, 0.008 * dirs, T=40.0)
    err1 = np.max(np.abs(D1 - Dfd1)) / np.max(np.abs(Dfd1))
    print(f"radial: symmetric tangent vs FD rel. err {err1:.2e}")
    assert err1 < 1e-6
    assert np.allclose(D1, D1.transpose(1, 0, 2))


def test_temperature_dependent_yield():
    mat = material_from_spec("cu", {**AF, "yield_stress": [[0.0, 150.0], [200.0, 50.0]], "C": 0.0, "gamma": 0.0})
    for T, sy in ((0.0, 150.0), (100.0, 100.0), (200.0, 50.0)):
        r = drive(mat, np.arange(3.0), strain={"xx": [0.0, 0.01, 0.02]}, temperature=T)
        assert r["stress"][-1, 0] == pytest.approx(sy, rel=1e-10)       # perfectly plastic at sigma_y(T)


@pytest.mark.parametrize("key, value, match", [
    ("C", -1.0, "materials.cu.C"), ("gamma", [-1.0], "materials.cu.gamma"), ("gamma", [1.0, 2.0], "materials.cu.gamma"),
    ("yield_stress", [[0.0, -5.0], [100.0, 10.0]], "materials.cu.yield_stress"), ("C", "x", "materials.cu.C"),
    ("hardening_modulus", -3.0, "materials.cu.hardening_modulus"), ("C", [], "materials.cu.C")])
def test_bad_input_names_the_key(key, value, match):
    with pytest.raises(InputError, match=match):
        material_from_spec("cu", {**AF, key: value})
