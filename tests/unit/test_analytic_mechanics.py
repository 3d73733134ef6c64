"""Reference solutions of `femcell.analytic_mechanics`, each checked against an independent
route: Hooke's law and equilibrium by finite differences, numerical quadrature, energy
minimisation, ODE integration, J-integral. Tolerances are far below a factor 2 or (1 - nu^2)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import quad, solve_ivp
from scipy.optimize import minimize_scalar

from femcell import analytic_mechanics as am
from femcell.analytic import crank_sphere

E, NU = 100e9, 0.3
LAM = E * NU / ((1 + NU) * (1 - 2 * NU))
MU = E / (2 * (1 + NU))
EP = E / (1 - NU**2)


@pytest.fixture(autouse=True)
def _collect_petsc_garbage():
    """Overrides the conftest fixture: no PETSc objects here, and its gc pass per test would
    cost more than the tests themselves."""
    yield


def _ddr(f, r, h):
    return (f(r + h) - f(r - h)) / (2 * h)


# ------------------------------------------------------------------------------ Lamé


@pytest.mark.parametrize(("p_in", "p_out"), [(50e6, 0.0), (0.0, 30e6), (50e6, 10e6)])
def test_lame_sphere_boundary_hooke_equilibrium(p_in, p_out):
    a, b = 1e-3, 2.5e-3
    kw = dict(a=a, b=b, p_in=p_in, p_out=p_out, E=E, nu=NU)
    s = am.lame_sphere(np.array([a, b]), **kw)
    np.testing.assert_allclose(s["sigma_rr"], [-p_in, -p_out], atol=1e-6 * max(p_in, p_out))
    r = np.linspace(1.05 * a, 0.95 * b, 9)
    h = 1e-7 * a
    res = am.lame_sphere(r, **kw)
    u = res["u_r"]
    err = _ddr(lambda x: am.lame_sphere(x, **kw)["u_r"], r, h)
    ett = u / r
    scale = max(p_in, p_out)
    # Hooke's law from the displacement (3D, spherical symmetry)
    np.testing.assert_allclose(res["sigma_rr"], LAM * (err + 2 * ett) + 2 * MU * err,
                               atol=1e-6 * scale)
    np.testing.assert_allclose(res["sigma_tt"], LAM * (err + 2 * ett) + 2 * MU * ett,
                               atol=1e-6 * scale)
    # equilibrium d sigma_rr/dr + 2 (sigma_rr - sigma_tt) / r = 0
    dsr = _ddr(lambda x: am.lame_sphere(x, **kw)["sigma_rr"], r, h)
    np.testing.assert_allclose(dsr + 2 * (res["sigma_rr"] - res["sigma_tt"]) / r, 0,
                               atol=1e-6 * scale / a)


def test_lame_sphere_limits():
    # thin wall: sigma_tt = p a / (2 t)
    a, t, p = 1.0, 1e-3, 1e6
    s = am.lame_sphere(a + t / 2, a=a, b=a + t, p_in=p, E=E, nu=NU)
    assert s["sigma_tt"] == pytest.approx(p * a / (2 * t), rel=2e-3)
    # equal pressures: uniform hydrostatic state, u = -p (1 - 2 nu) r / E
    r = np.linspace(1, 2, 5)
    s = am.lame_sphere(r, a=1, b=2, p_in=p, p_out=p, E=E, nu=NU)
    np.testing.assert_allclose(s["sigma_rr"], -p, rtol=1e-12)
    np.testing.assert_allclose(s["sigma_tt"], -p, rtol=1e-12)
    np.testing.assert_allclose(s["u_r"], -p * (1 - 2 * NU) * r / E, rtol=1e-12)


@pytest.mark.parametrize("plane", ["strain", "stress"])
@pytest.mark.parametrize(("p_in", "p_out"), [(50e6, 0.0), (0.0, 30e6), (50e6, 10e6)])
def test_lame_cylinder_boundary_hooke_equilibrium(plane, p_in, p_out):
    a, b = 1e-3, 2.5e-3
    kw = dict(a=a, b=b, p_in=p_in, p_out=p_out, E=E, nu=NU, plane=plane)
    s = am.lame_cylinder(np.array([a, b]), **kw)
    scale = max(p_in, p_out)
    np.testing.assert_allclose(s["sigma_rr"], [-p_in, -p_out], atol=1e-6 * scale)
    r = np.linspace(1.05 * a, 0.95 * b, 9)
    h = 1e-7 * a
    res = am.lame_cylinder(r, **kw)
    err = _ddr(lambda x: am.lame_cylinder(x, **kw)["u_r"], r, h)
    ett = res["u_r"] / r
    if plane == "strain":
        srr = LAM * (err + ett) + 2 * MU * err
        stt = LAM * (err + ett) + 2 * MU * ett
        szz = LAM * (err + ett)
    else:
        srr = E / (1 - NU**2) * (err + NU * ett)
        stt = E / (1 - NU**2) * (ett + NU * err)
        szz = 0 * r
    np.testing.assert_allclose(res["sigma_rr"], srr, atol=1e-6 * scale)
    np.testing.assert_allclose(res["sigma_tt"], stt, atol=1e-6 * scale)
    np.testing.assert_allclose(res["sigma_zz"], szz, atol=1e-6 * scale)
    dsr = _ddr(lambda x: am.lame_cylinder(x, **kw)["sigma_rr"], r, h)
    np.testing.assert_allclose(dsr + (res["sigma_rr"] - res["sigma_tt"]) / r, 0,
                               atol=1e-6 * scale / a)


def test_lame_cylinder_thin_wall_and_bad_plane():
    a, t, p = 1.0, 1e-3, 1e6
    s = am.lame_cylinder(a + t / 2, a=a, b=a + t, p_in=p, E=E, nu=NU)
    assert s["sigma_tt"] == pytest.approx(p * a / t, rel=2e-3)
    with pytest.raises(ValueError):
        am.lame_cylinder(1.5, a=1, b=2, E=E, nu=NU, plane="axisymmetric")


# ------------------------------------------------------------------------------ Sneddon, Griffith


@pytest.mark.parametrize("plane", ["strain", "stress"])
def test_sneddon_volume_is_integral_of_opening(plane):
    a, p = 2e-3, 5e6
    kw = dict(a=a, p=p, E=E, nu=NU, plane=plane)
    vol, _ = quad(lambda x: am.sneddon_opening(x, **kw), -a, a, epsabs=0, epsrel=1e-12)
    assert am.sneddon_volume(**kw) == pytest.approx(vol, rel=1e-9)
    ep = EP if plane == "strain" else E
    assert am.sneddon_volume(**kw) == pytest.approx(2 * np.pi * p * a**2 / ep, rel=1e-12)
    assert am.sneddon_opening(0.0, **kw) == pytest.approx(4 * p * a / ep, rel=1e-12)
    np.testing.assert_array_equal(am.sneddon_opening([-1.5 * a, a, 2 * a], **kw), 0.0)


@pytest.mark.parametrize("plane", ["strain", "stress"])
def test_sneddon_tip_matches_mode1_field(plane):
    """Near a tip the Sneddon opening is the K-field opening with K = p sqrt(pi a)."""
    a, p = 2e-3, 5e6
    K = p * np.sqrt(np.pi * a)
    s = 1e-7 * a  # distance behind the right tip
    w = am.sneddon_opening(a - s, a=a, p=p, E=E, nu=NU, plane=plane)
    _, up = am.mode1_displacement(-s, 1e-30, K=K, E=E, nu=NU, plane=plane)
    _, um = am.mode1_displacement(-s, -1e-30, K=K, E=E, nu=NU, plane=plane)
    assert w == pytest.approx(up - um, rel=1e-6)


def test_griffith_pressure_energy_release_rate():
    a, gc = 1e-4, 4.0
    p = am.griffith_pressure(a, E=E, nu=NU, gc=gc)
    # G = -dP/d(2a) at fixed p with P = -p V(a, p) / 2 (two tips grow together)
    da = 1e-6 * a

    def pot(x):
        return -p * am.sneddon_volume(a=x, p=p, E=E, nu=NU) / 2

    G = -(pot(a + da) - pot(a - da)) / (4 * da)
    assert G == pytest.approx(gc, rel=1e-6)
    assert (p * np.sqrt(np.pi * a)) ** 2 / EP == pytest.approx(gc, rel=1e-12)


def test_griffith_volume_control():
    a0, gc = 1e-4, 4.0
    kw = dict(E=E, nu=NU, gc=gc)
    p_c = am.griffith_pressure(a0, **kw)
    V_c = am.sneddon_volume(a=a0, p=p_c, E=E, nu=NU)
    V = np.linspace(0, 20 * V_c, 2001)
    res = am.griffith_sneddon_volume_control(V, a0=a0, **kw)
    p, a = res["p"], res["a"]
    assert res["V_c"] == pytest.approx(V_c, rel=1e-12)
    pre, post = V <= V_c, V > V_c
    # before the onset: fixed crack, linear pressure up to p_c
    np.testing.assert_array_equal(a[pre], a0)
    np.testing.assert_allclose(p[pre], V[pre] * EP / (2 * np.pi * a0**2), rtol=1e-12)
    assert p[pre].max() == pytest.approx(p_c, rel=2e-3)
    # after: Griffith at every state, Sneddon volume, decreasing pressure, growing crack
    np.testing.assert_allclose(p[post], am.griffith_pressure(a[post], **kw), rtol=1e-10)
    np.testing.assert_allclose(am.sneddon_volume(a=a, p=p, E=E, nu=NU), V, rtol=1e-10,
                               atol=1e-30)
    assert np.all(np.diff(p[post]) < 0) and np.all(np.diff(a[post]) > 0)
    np.testing.assert_allclose(a[post], np.cbrt(V[post] ** 2 * EP / (4 * np.pi * gc)),
                               rtol=1e-12)
    # energy release rate at fixed volume from U(V, a) = V^2 / (2 C(a)), C = V / p
    Vi, ai = V[-1], a[-1]
    da = 1e-6 * ai

    def energy(x):
        return Vi**2 / (2 * am.sneddon_volume(a=x, p=1.0, E=E, nu=NU))

    assert -(energy(ai + da) - energy(ai - da)) / (4 * da) == pytest.approx(gc, rel=1e-6)


def test_surface_flaw_pressure():
    k_ic, a = 1.0e6, 1e-6
    s = am.griffith_surface_flaw_pressure(a, k_ic)
    assert s * 1.12 * np.sqrt(np.pi * a) == pytest.approx(k_ic, rel=1e-12)
    assert am.griffith_surface_flaw_pressure(4 * a, k_ic, Y=1.0) == pytest.approx(
        1.12 * s / 2, rel=1e-12)


def test_surface_crack_factor_newman_raju():
    """Newman-Raju (1981), a/t -> 0: the semicircle's 1.04 / sqrt(2.464) at its deepest point
    and 1.1 times that where it meets the surface; a long shallow crack tends to the edge
    crack (1.13); the a <= c and a > c branches meet at a = c; Y is scale-free."""
    deep, surf, y = am.surface_crack_factor(10e-6, 10e-6)
    assert deep == pytest.approx(1.04 / np.sqrt(2.464), rel=1e-3)
    assert surf == pytest.approx(1.1 * deep, rel=1e-12) and y == surf
    assert am.surface_crack_factor(1e-9, 1e-3)[0] == pytest.approx(1.13, rel=1e-3)
    lo, hi = am.surface_crack_factor(1 - 1e-9, 1.0), am.surface_crack_factor(1 + 1e-9, 1.0)
    assert lo == pytest.approx(hi, rel=1e-6)
    assert am.surface_crack_factor(2e-6, 4e-6) == pytest.approx(
        am.surface_crack_factor(2.0, 4.0), rel=1e-12)
    # hand-evaluated Newman-Raju at a/c = 0.5 (Q = 1.4665, M1 = 1.085) and a/c = 2 (Q =
    # 1.4665, M1 = sqrt(0.5) 1.02; deeper than wide: the surface point leads)
    assert am.surface_crack_factor(0.5, 1.0)[:2] == pytest.approx((0.8960, 0.6969), rel=1e-3)
    assert am.surface_crack_factor(1.0, 0.5)[:2] == pytest.approx((0.4211, 0.6551), rel=1e-3)
    with pytest.raises(ValueError):
        am.surface_crack_factor(0.0, 1.0)


# ------------------------------------------------------------------------------ phase field


def _homogeneous_stress(eps, Ey, gc, ell, model):
    """sigma(eps) of the 1D homogeneous state, d from minimising the energy density."""
    c_w, w = (8 / 3, lambda d: d) if model == "AT1" else (2.0, lambda d: d**2)
    res = minimize_scalar(lambda d: (1 - d) ** 2 * Ey * eps**2 / 2 + gc * w(d) / (c_w * ell),
                          bounds=(0.0, 1.0), method="bounded", options={"xatol": 1e-13})
    d = res.x if res.fun < gc * w(0.0) / (c_w * ell) + Ey * eps**2 / 2 else 0.0
    return (1 - d) ** 2 * Ey * eps


@pytest.mark.parametrize("model", ["AT1", "AT2"])
def test_phase_field_critical_stress_is_peak_of_homogeneous_response(model):
    Ey, gc, ell = 1.0e9, 10.0, 1e-5
    e_ref = np.sqrt(gc / (Ey * ell))
    res = minimize_scalar(lambda e: -_homogeneous_stress(e, Ey, gc, ell, model),
                          bounds=(0.05 * e_ref, 3 * e_ref), method="bounded",
                          options={"xatol": 1e-12 * e_ref})
    expected = (am.at1_critical_stress if model == "AT1" else am.at2_critical_stress)(Ey, gc, ell)
    assert -res.fun == pytest.approx(expected, rel=1e-6)


def test_phase_field_critical_stress_values():
    Ey, gc, ell = 1.0e9, 10.0, 1e-5
    assert am.at1_critical_stress(Ey, gc, ell) == pytest.approx(np.sqrt(3 * gc * Ey / (8 * ell)))
    assert am.at2_critical_stress(Ey, gc, ell) == pytest.approx(
        9 / 16 * np.sqrt(Ey * gc / (3 * ell)))


def _dissipation(d, dd, c_w, w, gc, ell, lo, hi, pts=None):
    f, _ = quad(lambda x: gc / c_w * (w(d(x)) / ell + ell * dd(x) ** 2), lo, hi,
                epsabs=0, epsrel=1e-11, points=pts, limit=200)
    return f


def test_optimal_profiles_dissipate_gc():
    gc, ell = 3.0, 2e-5
    d2 = lambda x: am.at2_profile(x, ell)  # noqa: E731
    dd2 = lambda x: -np.sign(x) * d2(x) / ell  # noqa: E731
    e2 = 2 * _dissipation(d2, dd2, 2.0, lambda d: d**2, gc, ell, 0, 60 * ell)
    assert e2 == pytest.approx(gc, rel=1e-9)
    d1 = lambda x: am.at1_profile(x, ell)  # noqa: E731
    dd1 = lambda x: -np.sign(x) * np.sqrt(d1(x)) / ell  # noqa: E731
    e1 = 2 * _dissipation(d1, dd1, 8 / 3, lambda d: d, gc, ell, 0, 2 * ell)
    assert e1 == pytest.approx(gc, rel=1e-9)
    # derivative used above is that of the implemented profile
    x, h = np.array([0.3, 1.1, 1.9]) * ell, 1e-6 * ell
    np.testing.assert_allclose(_ddr(d1, x, h), dd1(x), rtol=1e-6)
    np.testing.assert_allclose(_ddr(d2, x, h), dd2(x), rtol=1e-6)
    assert am.at1_profile(2.5 * ell, ell) == 0.0 and am.at1_profile(0.0, ell) == 1.0
    # the profiles are optimal: scaling the width by s costs gc (s + 1/s) / 2 (AT2)
    s = 1.3
    e2s = 2 * _dissipation(lambda x: d2(x / s), lambda x: dd2(x / s) / s, 2.0,
                           lambda d: d**2, gc, ell, 0, 80 * ell)
    assert e2s == pytest.approx(gc * (s + 1 / s) / 2, rel=1e-9) and e2s > gc


@pytest.mark.parametrize("model", ["AT1", "AT2"])
def test_effective_toughness_of_a_one_element_band(model):
    """d = 1 on a band one element wide, optimal profile outside."""
    gc, ell, h = 3.0, 2e-5, 4e-6
    prof = am.at1_profile if model == "AT1" else am.at2_profile
    c_w, w = (8 / 3, lambda d: d) if model == "AT1" else (2.0, lambda d: d**2)

    def d(x):
        return 1.0 if x < h / 2 else float(prof(x - h / 2, ell))

    def dd(x):
        if x < h / 2:
            return 0.0
        return -np.sqrt(d(x)) / ell if model == "AT1" else -d(x) / ell

    hi = h / 2 + (2 * ell if model == "AT1" else 60 * ell)
    e = 2 * _dissipation(d, dd, c_w, w, gc, ell, 0, hi, pts=[h / 2])
    assert am.effective_toughness(gc, h, ell, model) == pytest.approx(e, rel=1e-8)
    expected = gc * (1 + 3 * h / (8 * ell)) if model == "AT1" else gc * (1 + h / (2 * ell))
    assert am.effective_toughness(gc, h, ell, model.lower()) == pytest.approx(expected)
    with pytest.raises(ValueError):
        am.effective_toughness(gc, h, ell, "AT3")


# ------------------------------------------------------------------------------ sphere stress

SPH = dict(radius=5e-6, diffusivity=1e-14, flux=1e-5, c0=1000.0, omega=3.5e-6, E=E, nu=NU)


def _tau_to_t(tau):
    return tau * SPH["radius"] ** 2 / SPH["diffusivity"]


def test_sphere_stress_long_time_closed_form():
    R, D, q = SPH["radius"], SPH["diffusivity"], SPH["flux"]
    s = E * SPH["omega"] * q * R / (15 * (1 - NU) * D)
    rho = np.linspace(0, 1, 11)
    res = am.sphere_diffusion_stress(rho * R, _tau_to_t(3.0), **SPH)
    np.testing.assert_allclose(res["sigma_rr"], s * (1 - rho**2), atol=1e-9 * s)
    np.testing.assert_allclose(res["sigma_tt"], s * (1 - 2 * rho**2), atol=1e-9 * s)
    assert res["sigma_tt"][-1] == pytest.approx(-s, rel=1e-9)


def test_sphere_stress_long_time_from_displacement():
    """Independent route: Navier equation with the parabolic eigenstrain beta r^2 (plus a
    constant, which only adds a uniform expansion): u = A r + C r^3."""
    R, D, q, om = SPH["radius"], SPH["diffusivity"], SPH["flux"], SPH["omega"]
    beta = om / 3 * q * R / D / (2 * R**2)
    C = (3 * LAM + 2 * MU) * beta / (5 * (LAM + 2 * MU))  # equilibrium at every r

    def stresses(A, r):
        err, ett = A + 3 * C * r**2 - beta * r**2, A + C * r**2 - beta * r**2
        tr = err + 2 * ett
        return LAM * tr + 2 * MU * err, LAM * tr + 2 * MU * ett

    s0, s1 = stresses(0.0, R)[0], stresses(1.0, R)[0]
    A = -s0 / (s1 - s0)  # sigma_rr(R) = 0
    r = np.linspace(0, R, 7)
    srr, stt = stresses(A, r)
    res = am.sphere_diffusion_stress(r, _tau_to_t(3.0), **SPH)
    scale = np.abs(stt).max()
    np.testing.assert_allclose(res["sigma_rr"], srr, atol=1e-9 * scale)
    np.testing.assert_allclose(res["sigma_tt"], stt, atol=1e-9 * scale)


@pytest.mark.parametrize("tau", [1e-4, 1e-2, 0.2])
def test_sphere_stress_general_formula_by_quadrature(tau):
    R = SPH["radius"]
    t = _tau_to_t(tau)
    ckw = {k: SPH[k] for k in ("radius", "diffusivity", "flux", "c0")}

    def integral(r):  # (1/r^3) int_0^r c r'^2 dr'
        pts = [r - 10 * np.sqrt(tau) * R] if r - 10 * np.sqrt(tau) * R > 0 else None
        v, _ = quad(lambda s: crank_sphere(s, t, **ckw) * s**2, 0, r, epsabs=0,
                    epsrel=1e-13, limit=200, points=pts)
        return v / r**3

    k = E * SPH["omega"] / (3 * (1 - NU))
    iR = integral(R)
    r = np.array([0.2, 0.6, 0.97]) * R
    ir = np.array([integral(x) for x in r])
    c = crank_sphere(r, t, **ckw)
    res = am.sphere_diffusion_stress(r, t, **SPH)
    scale = np.abs(res["sigma_tt"]).max()
    np.testing.assert_allclose(res["sigma_rr"], 2 * k * (iR - ir), atol=1e-7 * scale)
    np.testing.assert_allclose(res["sigma_tt"], k * (2 * iR + ir - c), atol=1e-7 * scale)


@pytest.mark.parametrize("tau", [1e-4, 3e-3, 0.05, 1.0])
def test_sphere_stress_boundary_centre_equilibrium(tau):
    R = SPH["radius"]
    t = _tau_to_t(tau)
    res = am.sphere_diffusion_stress(np.array([0.0, R]), t, **SPH)
    scale = np.abs(res["sigma_tt"]).max()
    assert abs(res["sigma_rr"][1]) < 1e-10 * scale
    assert res["sigma_rr"][0] == pytest.approx(res["sigma_tt"][0], rel=1e-9)
    assert res["sigma_tt"][1] < 0 < res["sigma_tt"][0]  # insertion: compressive surface
    r = np.array([0.3, 0.7, 0.95, 0.99]) * R
    h = 1e-5 * np.sqrt(tau) * R
    s = am.sphere_diffusion_stress(r, t, **SPH)
    dsr = _ddr(lambda x: am.sphere_diffusion_stress(x, t, **SPH)["sigma_rr"], r, h)
    np.testing.assert_allclose(dsr * r + 2 * (s["sigma_rr"] - s["sigma_tt"]), 0,
                               atol=1e-6 * scale)
    assert isinstance(am.sphere_diffusion_stress(0.5 * R, t, **SPH)["sigma_rr"], float)


# ------------------------------------------------------------------------------ Norton


@pytest.mark.parametrize(("n", "eps0"), [(3.0, 2e-3), (1.0, 2e-3), (5.5, -1e-3)])
def test_norton_relaxation_solves_ode(n, eps0):
    Ey, A, s0 = 5e9, 1e-4, 1e6

    def rhs(_t, s):
        return -Ey * am.norton_rate(s, A, s0, n)

    t = np.logspace(-3, 4, 30)
    sol = solve_ivp(rhs, (0, t[-1]), [Ey * eps0], t_eval=t, method="LSODA", rtol=1e-11,
                    atol=1e-6)
    closed = am.norton_relaxation(t, eps0=eps0, E=Ey, A=A, sigma0=s0, n=n)
    np.testing.assert_allclose(closed, sol.y[0], rtol=1e-6, atol=1e-6 * s0)
    assert am.norton_relaxation(0.0, eps0=eps0, E=Ey, A=A, sigma0=s0, n=n) == pytest.approx(
        Ey * eps0, rel=1e-14)


def test_norton_rate():
    assert am.norton_rate(2e6, 1e-4, 1e6, 3) == pytest.approx(8e-4)
    assert am.norton_rate(-2e6, 1e-4, 1e6, 3) == pytest.approx(-8e-4)


# ------------------------------------------------------------------------------ mode I


@pytest.mark.parametrize("plane", ["strain", "stress"])
def test_mode1_opening(plane):
    K = 1e6
    ep = EP if plane == "strain" else E
    r = np.array([1e-6, 1e-4, 1e-2])
    _, up = am.mode1_displacement(-r, 0 * r, K=K, E=E, nu=NU, plane=plane)
    _, um = am.mode1_displacement(-r, -0.0 * r, K=K, E=E, nu=NU, plane=plane)
    np.testing.assert_allclose(up - um, 8 * K / ep * np.sqrt(r / (2 * np.pi)), rtol=1e-12)
    # symmetric mode I: ux even, uy odd in y
    ux1, uy1 = am.mode1_displacement(0.3e-3, 0.2e-3, K=K, E=E, nu=NU, plane=plane)
    ux2, uy2 = am.mode1_displacement(0.3e-3, -0.2e-3, K=K, E=E, nu=NU, plane=plane)
    assert ux1 == pytest.approx(ux2) and uy1 == pytest.approx(-uy2)


def _field(x, y, K, plane):
    """Strain and stress of the K-field by central differences of the displacement."""
    h = 1e-6 * np.hypot(x, y)

    def u(xx, yy):
        return np.array(am.mode1_displacement(xx, yy, K=K, E=E, nu=NU, plane=plane))

    gx = (u(x + h, y) - u(x - h, y)) / (2 * h)
    gy = (u(x, y + h) - u(x, y - h)) / (2 * h)
    exx, eyy, exy = gx[0], gy[1], (gx[1] + gy[0]) / 2
    if plane == "strain":
        tr = exx + eyy
        sxx, syy = LAM * tr + 2 * MU * exx, LAM * tr + 2 * MU * eyy
    else:
        c = E / (1 - NU**2)
        sxx, syy = c * (exx + NU * eyy), c * (eyy + NU * exx)
    sxy = 2 * MU * exy
    return (exx, eyy, exy), (sxx, syy, sxy), gx


@pytest.mark.parametrize("plane", ["strain", "stress"])
def test_mode1_stress_ahead_and_j_integral(plane):
    K, r0 = 1e6, 1e-3
    ep = EP if plane == "strain" else E
    # sigma_yy = sigma_xx = K / sqrt(2 pi r) ahead of the tip, no shear
    _, (sxx, syy, sxy), _ = _field(np.array([r0]), np.array([0.0]), K, plane)
    ref = K / np.sqrt(2 * np.pi * r0)
    assert syy[0] == pytest.approx(ref, rel=1e-6) and sxx[0] == pytest.approx(ref, rel=1e-6)
    assert abs(sxy[0]) < 1e-8 * ref
    # J = int (W n_x - t . du/dx) ds on a circle = K^2 / E'
    th, wt = np.polynomial.legendre.leggauss(200)
    th, wt = np.pi * th, np.pi * wt
    x, y = r0 * np.cos(th), r0 * np.sin(th)
    (exx, eyy, exy), (sxx, syy, sxy), gx = _field(x, y, K, plane)
    W = (sxx * exx + syy * eyy + 2 * sxy * exy) / 2
    nx, ny = np.cos(th), np.sin(th)
    tx, ty = sxx * nx + sxy * ny, sxy * nx + syy * ny
    J = np.sum(wt * r0 * (W * nx - (tx * gx[0] + ty * gx[1])))
    assert J == pytest.approx(K**2 / ep, rel=1e-6)


@pytest.mark.parametrize("tau", [0.01, 0.1, 1.0])
def test_sphere_surface_hoop_identity_matches_the_series(tau):
    """sigma_tt(R) = Omega E (c_mean - c_R) / (3 (1 - nu)) with the mean and surface
    concentrations of Crank's series equals Cheng & Verbrugge's surface hoop stress (early,
    intermediate and late times)."""
    R, q, c0 = SPH["radius"], SPH["flux"], SPH["c0"]
    t = _tau_to_t(tau)
    res = am.sphere_diffusion_stress(np.array([R]), t, **SPH)
    c_mean = c0 + 3 * q * t / R  # the flux q [mol m^-2 s^-1] fills the sphere uniformly
    hoop = am.sphere_surface_hoop(c_mean=c_mean, c_surface=res["c"][0], omega=SPH["omega"],
                                  E=E, nu=NU)
    assert hoop == pytest.approx(res["sigma_tt"][0], rel=1e-6)


def test_griffith_plating_estimate():
    """p_c = K_IC / (1.12 sqrt(pi a)) + sigma_n and eta_c = Omega p_c / F: a 10 um flaw in LLZO
    (K_IC 1 MPa m^0.5) with Li needs ~159 MPa, ~21 mV; a 4x deeper flaw half the pressure;
    a compressive stack stress adds to it one for one."""
    from femcell.units import F

    k, omega = 1.0e6, 13.0e-6
    p, eta = am.griffith_plating_estimate(10e-6, k, molar_volume=omega)
    assert p == pytest.approx(1.0e6 / (1.12 * np.sqrt(np.pi * 10e-6)), rel=1e-12)
    assert p == pytest.approx(159.3e6, rel=1e-3)
    assert eta == pytest.approx(omega * p / F, rel=1e-12) and 0.021 < eta < 0.022
    p4, _ = am.griffith_plating_estimate(40e-6, k, molar_volume=omega)
    assert p4 == pytest.approx(p / 2, rel=1e-12)
    ps, eta_s = am.griffith_plating_estimate(10e-6, k, molar_volume=omega, stack_stress=5e6)
    assert ps - p == pytest.approx(5e6, rel=1e-12)
    assert eta_s - eta == pytest.approx(omega * 5e6 / F, rel=1e-9)
