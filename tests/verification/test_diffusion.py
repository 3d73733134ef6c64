"""Verification of the diffusion physics against analytic solutions and convergence rates."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import box_builder

from femcell._dolfinx import MPI, dolfinx, ufl
from femcell.analytic import crank_sphere
from femcell.domain import Domain
from femcell.materials import (
    Arrhenius,
    Constant,
    IntercalationMaterial,
    Interstitial,
    LatticeGas,
    diffusivity_tensor,
    rotation_from_euler,
)
from femcell.physics import Diffusion, Dirichlet, Flux
from femcell.problem import Problem
from femcell.solvers import SolverError, StepController, TimeIntegrator

L = 10e-6  # box size [m]
CMAX = 2.0e4  # [mol/m^3]


def _material(d, law=None, name="test"):
    return IntercalationMaterial(name, CMAX, tuple(Arrhenius(x) for x in d),
                                 law=law or Constant())


def _solve(domain, physics, t_end, dt, order=2, adaptive=False, reuse_operators=True, **ctl):
    pb = Problem(domain, [physics], reuse_operators=reuse_operators)
    pb.initialise()
    integ = TimeIntegrator(pb, StepController(dt_initial=dt, adaptive=adaptive, order=order,
                                              **ctl))
    rows = [{"t": 0.0, **pb.quantities()}]
    integ.run(t_end, lambda rec: rows.append({**rec, **pb.quantities()}) and False)
    return pb, integ, rows


# ------------------------------------------------------------------ manufactured solution
def _mms_error(n, degree, law=None, reuse_operators=True):
    """L2 error of a rotated, anisotropic, c-dependent problem with a known solution.

    c = c_max (1 + t / T) g(x), g = 0.4 + 0.2 sin(pi x / L) cos(pi y / (2 L)): linear in time,
    so BDF2 integrates it exactly and the error is the spatial one.
    """
    dom = Domain.from_builder(box_builder([0, 0], [L, L], n), MPI.COMM_WORLD)
    Q = rotation_from_euler([math.radians(30.0), 0, 0])
    mat = _material([4e-14, 1e-14, 1e-14], law=law or Interstitial(beta=1.5))
    T = 50.0

    def c_exact_ufl(x, t):
        g = 0.4 + 0.2 * ufl.sin(ufl.pi * x[0] / L) * ufl.cos(ufl.pi * x[1] / (2 * L))
        return CMAX * (1 + t / T) * g

    def c_exact_np(x, t):
        g = 0.4 + 0.2 * np.sin(np.pi * x[0] / L) * np.cos(np.pi * x[1] / (2 * L))
        return CMAX * (1 + t / T) * g

    Dt = ufl.as_matrix(diffusivity_tensor(mat.principal(298.15), Q, dim=2).tolist())

    def source(x, t):
        c = c_exact_ufl(x, t)
        dcdt = c / (1 + t / T) / T
        return dcdt - ufl.div(mat.law.factor(c / CMAX) * ufl.dot(Dt, ufl.grad(c)))

    phys = Diffusion(mat, [Dirichlet("boundary", c_exact_np)], initial=lambda x: c_exact_np(x, 0),
                     orientations=Q, degree=degree, source=source)
    pb, integ, _ = _solve(dom, phys, 3.0, 1.0, reuse_operators=reuse_operators)
    x = ufl.SpatialCoordinate(dom.mesh)
    ce = c_exact_ufl(x, pb.time.t)
    err = dom.integrate((phys.field.u * CMAX - ce) ** 2 * ufl.dx(degree=degree + 4))
    ref = dom.integrate(ce**2 * ufl.dx(degree=degree + 4))
    return math.sqrt(err / ref)


@pytest.mark.parametrize("degree", [1, 2])
def test_manufactured_solution_converges_at_optimal_order(degree):
    ns = [8, 16, 32]
    errs = [_mms_error(n, degree) for n in ns]
    slope = -np.polyfit(np.log(ns), np.log(errs), 1)[0]
    assert abs(slope - (degree + 1)) < 0.15, (errs, slope)
    assert errs[-1] < (1e-3 if degree == 1 else 2e-5)


def test_linear_fast_path_equals_snes_path():
    """Reused operators (constant D: affine problem) give the SNES answer, Dirichlet data
    varying in space and time and a time-dependent source included."""
    fast = _mms_error(8, 1, law=Constant(), reuse_operators=True)
    slow = _mms_error(8, 1, law=Constant(), reuse_operators=False)
    assert fast == pytest.approx(slow, rel=1e-9)
    assert fast < 0.01


# ------------------------------------------------------------------ Crank's sphere
R = 5e-6
D0 = 1e-14
Q_IN = 2e-5  # inward flux [mol m^-2 s^-1]
C0 = 5000.0


def _crank_rise_errors(domain, degree, t_end, dt, t_from=0.05):
    mat = _material([D0])
    phys = Diffusion(mat, [Flux("surface", Q_IN)], initial=C0, degree=degree)
    _, _, rows = _solve(domain, phys, t_end, dt)
    errs = []
    for r in rows[1:]:
        if r["t"] < t_from * t_end:
            continue
        exact = crank_sphere(R, r["t"], radius=R, diffusivity=D0, flux=Q_IN, c0=C0)
        errs.append(abs(r["c_surface[surface]"] - exact) / (exact - C0))
    return max(errs), rows


def test_crank_sphere_1d_spherical():
    dom = Domain.from_builder("interval", coordinates="spherical", radius=R, n_cells=40)
    t_end = 0.5 * R**2 / D0
    err, rows = _crank_rise_errors(dom, 1, t_end, t_end / 400)
    assert err < 5e-3, err  # surface-concentration rise within 0.5 %
    # the same within 0.5 % when measured on c itself, as the issue states
    exact = crank_sphere(R, rows[-1]["t"], radius=R, diffusivity=D0, flux=Q_IN, c0=C0)
    assert abs(rows[-1]["c_surface[surface]"] / exact - 1) < 5e-3


def test_crank_sphere_3d():
    dom = Domain.from_builder("sphere", radius=R, h=R / 4, order=2)
    t_end = 0.3 * R**2 / D0
    err, _ = _crank_rise_errors(dom, 1, t_end, t_end / 30, t_from=0.2)
    assert err < 0.02, err  # the rise c_s - c0, once the surface layer spans an element


# ------------------------------------------------------------------ Gaussian plume
def test_gaussian_plume_follows_rotation():
    """A plume in a rotated anisotropic crystal spreads along the crystal axes Q e_i with
    covariance 2 D_lab t."""
    half = 12e-6
    dom = Domain.from_builder(box_builder([-half] * 3, [half] * 3, 24), MPI.COMM_WORLD)
    euler = np.radians([35.0, 25.0, 10.0])
    Q = rotation_from_euler(euler)
    principal = [4e-14, 2e-14, 1e-14]
    mat = _material(principal)
    Dlab = Q @ np.diag(principal) @ Q.T
    t0, t1 = 40.0, 120.0  # plume widths 0.9-3 um on 1 um cells, far from the walls

    def plume(x):
        from femcell.analytic import gaussian_plume

        return CMAX * 1e-3 * gaussian_plume(x, t0, D=Dlab, mass=1.0) / gaussian_plume(
            np.zeros((3, 1)), t0, D=Dlab, mass=1.0)

    phys = Diffusion(mat, [], initial=plume, orientations=Q)
    pb, _, _ = _solve(dom, phys, t1 - t0, (t1 - t0) / 12)
    x = ufl.SpatialCoordinate(dom.mesh)
    c = phys.field.u
    m0 = dom.integrate(c * ufl.dx)
    cov = np.array([[dom.integrate(c * x[i] * x[j] * ufl.dx) / m0 for j in range(3)]
                    for i in range(3)])
    exact_cov = 2 * Dlab * t1
    assert np.allclose(cov, exact_cov, rtol=0.05, atol=0.02 * np.abs(exact_cov).max())
    vals, vecs = np.linalg.eigh(cov)
    order = np.argsort(vals)[::-1]
    for k, i in enumerate(np.argsort(principal)[::-1]):
        cosang = abs(vecs[:, order[k]] @ Q[:, i])
        assert math.degrees(math.acos(min(1.0, cosang))) < 2.0


# ------------------------------------------------------------------ Darken / lattice gas
def test_lattice_gas_equals_constant_diffusivity():
    dom = Domain.from_builder("interval", coordinates="spherical", radius=R, n_cells=30)
    out = {}
    for law in (Constant(), LatticeGas()):
        mat = _material([D0], law=law)
        phys = Diffusion(mat, [Flux("surface", Q_IN)], initial=0.2 * CMAX)
        pb, _, _ = _solve(dom, phys, 0.2 * R**2 / D0, 0.01 * R**2 / D0)
        out[type(law).__name__] = phys.field.u.x.array.copy()
        assert pb.linear == (type(law) is Constant)
    a, b = out["Constant"], out["LatticeGas"]
    assert np.max(np.abs(a - b)) < 1e-8 * np.max(np.abs(a))


# ------------------------------------------------------------------ mass balance
@pytest.mark.parametrize("order", [1, 2])
def test_mass_balance_to_round_off(order):
    """Change in moles equals the BDF-consistent integral of the boundary inflow."""
    dom = Domain.from_builder("ellipsoid", semi_axes=(R, 0.7 * R, 0.5 * R), h=R / 3)
    mat = _material([4e-14, 1e-14, 0.5e-14], law=Interstitial(beta=0.8))
    q = lambda t: Q_IN * (1 + 0.5 * math.sin(t / 30.0))  # noqa: E731
    phys = Diffusion(mat, [Flux("surface", q)], initial=0.3 * CMAX,
                     orientations=rotation_from_euler([0.3, 0.5, 0.2]))
    _, integ, rows = _solve(dom, phys, 120.0, 10.0, order=order)
    n = np.array([r["c_moles"] for r in rows])
    inflow = np.array([r["c_inflow[surface]"] for r in rows])
    for k, rec in enumerate(integ.log, start=1):
        a = _bdf(rec["order"], integ.log, k)
        lhs = sum(ak * n[k - j] for j, ak in enumerate(a) if ak)
        assert abs(lhs - rec["dt"] * inflow[k]) <= 1e-10 * abs(rec["dt"] * inflow[k])
    if order == 1:
        total = np.sum([rec["dt"] * inflow[k] for k, rec in enumerate(integ.log, start=1)])
        assert abs((n[-1] - n[0]) - total) <= 1e-10 * abs(total)


def _bdf(order, log, k):
    from femcell.fields import TimeContext

    dt = log[k - 1]["dt"]
    dt_prev = log[k - 2]["dt"] if k >= 2 else None
    return TimeContext.bdf_coefficients(order, dt, dt_prev)


# ------------------------------------------------------------------ step rejection
def test_unconverged_steps_are_rejected_and_retried():
    """A step too large for Newton (max 5 iterations) is rejected and cut, never accepted."""
    dom = Domain.from_builder("interval", coordinates="spherical", radius=R, n_cells=20)
    mat = _material([D0], law=Interstitial(beta=3.0))
    t_end = 0.2 * R**2 / D0

    def fresh(max_it):
        pb = Problem(dom, [Diffusion(mat, [Flux("surface", 5 * Q_IN)], initial=0.1 * CMAX)],
                     petsc_options={"snes_max_it": max_it})
        pb.initialise()
        return pb

    integ = TimeIntegrator(fresh(5), StepController(dt_initial=t_end, adaptive=False))
    integ.run(t_end)
    assert integ.rejected > 0
    assert integ.log[0]["dt"] < t_end  # the first accepted step is a cut one
    assert all(rec["newton_its"] <= 5 for rec in integ.log)
    assert integ.t == pytest.approx(t_end)

    integ2 = TimeIntegrator(fresh(1), StepController(dt_initial=t_end, adaptive=False,
                                                     max_cuts=2))
    with pytest.raises(SolverError, match="no convergence"):
        integ2.run(t_end)


def test_dolfinx_version():
    assert dolfinx.__version__.startswith("0.11")


def test_crank_sphere_2d_axisymmetric():
    """The sphere as a revolved half disk (weight 2 pi r) matches Crank's series too."""
    dom = Domain.from_builder("half_disk", coordinates="axisymmetric", radius=R, h=R / 10,
                              order=2)
    assert dom.volume() == pytest.approx(4 / 3 * np.pi * R**3, rel=1e-3)
    t_end = 0.3 * R**2 / D0
    err, _ = _crank_rise_errors(dom, 1, t_end, t_end / 60, t_from=0.2)
    assert err < 0.01, err


@pytest.mark.parametrize("bc", ["flux", "dirichlet"])
def test_batched_fixed_steps_equal_stepwise(bc):
    """Fixed steps of a linear problem run in a tight loop give the step-by-step answer."""
    dom = Domain.from_builder("interval", coordinates="spherical", radius=R, n_cells=12)
    mat = _material([D0])
    cond = Flux("surface", Q_IN) if bc == "flux" else Dirichlet("surface", 0.9 * CMAX)
    out = []
    for batched in (False, True):
        pb = Problem(dom, [Diffusion(mat, [cond], initial=0.1 * CMAX)])
        pb.initialise()
        integ = TimeIntegrator(pb, StepController(dt_initial=R**2 / D0 / 50, adaptive=False))
        integ.run(0.5 * R**2 / D0, None if batched else (lambda rec: False))
        out.append(pb.fields[0].u.x.array.copy())
        assert integ.steps == 25
        assert any(rec.get("batch") for rec in integ.log) == batched
    assert np.max(np.abs(out[0] - out[1])) < 1e-12


def test_robin_lumped_relaxation():
    """Small Biot number (k R / D = 1e-3): the particle mean relaxes as
    c_ext + (c0 - c_ext) exp(-3 k t / R) (lumped capacitance)."""
    from femcell.physics import Robin

    dom = Domain.from_builder("interval", coordinates="spherical", radius=R, n_cells=10)
    k = 1e-3 * D0 / R
    c0, cext = 0.1 * CMAX, 0.6 * CMAX
    phys = Diffusion(_material([D0]), [Robin("surface", k, cext)], initial=c0)
    tau = R / (3 * k)
    _, _, rows = _solve(dom, phys, tau, tau / 200)
    mean = rows[-1]["c_moles"] / (4 / 3 * np.pi * R**3)
    exact = cext + (c0 - cext) * np.exp(-1.0)
    assert abs(mean - exact) / abs(c0 - cext) < 2e-3  # Biot 1e-3: lumped model within 0.2 %
    inflow = rows[-1]["c_inflow[surface]"]
    area = 4 * np.pi * R**2
    assert inflow == pytest.approx(k * area * (cext - rows[-1]["c_surface[surface]"]), rel=1e-10)


def test_arrhenius_temperature_dependence():
    """At 60 degC with Ea = 0.4 eV the particle follows Crank's series with D(T)."""
    from femcell.units import EV, K_B

    dom = Domain.from_builder("interval", coordinates="spherical", radius=R, n_cells=40)
    ea = 0.4 * EV
    mat = IntercalationMaterial("hot", CMAX, (Arrhenius(D0, ea),))
    T = 333.15
    DT = D0 * np.exp(-ea / K_B * (1 / T - 1 / 298.15))
    assert DT / D0 > 4.5  # a strong effect: a missing Arrhenius factor would fail below
    phys = Diffusion(mat, [Flux("surface", Q_IN)], initial=C0, temperature=T)
    t_end = 0.3 * R**2 / DT
    _, _, rows = _solve(dom, phys, t_end, t_end / 300)
    exact = crank_sphere(R, t_end, radius=R, diffusivity=DT, flux=Q_IN, c0=C0)
    assert abs(rows[-1]["c_surface[surface]"] - exact) / (exact - C0) < 5e-3
