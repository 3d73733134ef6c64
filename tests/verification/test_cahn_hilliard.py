"""Cahn-Hilliard (femcell.physics.cahn_hilliard) against closed forms, in the PFHub benchmark-1
units mapped to SI (length 1 um, energy density 1 J m^-3, time 1 s): f = 5 (c - 0.3)^2
(0.7 - c)^2, kappa = 2 um^2 J m^-3, M = 5 um^2 / (J m^-3 s).

- linear stability of c = 0.5: a cosine mode grows / decays at sigma(k) = -M k^2 (f''(0.5) +
  kappa k^2) (2 %), one unstable and one stable k;
- mass conserved to round-off with no-flux boundaries; with convex splitting and backward
  Euler the free energy never increases, even at steps 100x the diffusion time of the
  interface;
- the 1D equilibrium interface: the tanh profile (1 % of the miscibility gap) and its excess
  energy sqrt(2 kappa rho) (beta - alpha)^3 / 6 (1 %);
- PFHub BM1 initial free energy F(0) = 319.04 (0.1 %).
Runs on 1 and 2 ranks.
"""

from __future__ import annotations

import numpy as np
import pytest
import ufl

from femcell._dolfinx import MPI, dolfinx
from femcell.domain import Domain
from femcell.physics.cahn_hilliard import CahnHilliard, DoubleWell, RegularSolution
from femcell.problem import Problem
from femcell.solvers import StepController, TimeIntegrator

L0 = 1e-6  # m per benchmark length unit
E0 = 1.0  # J m^-3 per benchmark energy unit
RHO, KAPPA, MOB = 5.0 * E0, 2.0 * E0 * L0**2, 5.0 * L0**2 / E0
WELL = DoubleWell(RHO, 0.3, 0.7)


def _strip(length, h):
    """A 2D strip `length` long and one element high (a 1D problem with no-flux ends)."""
    return Domain.from_builder("plate", width=length * L0, height=h * L0, h=h * L0,
                               structured=True, origin="corner")


def _run(domain, initial, t_end, dt, *, scheme="implicit", order=2, adaptive=False,
         energy=WELL, record=None, coherent=None):
    """coherent: None or 2 eta^2 E / (1 - nu) [J m^-3], the coherency's curvature of the
    free energy for an isotropic misfit eta per unit c (plane strain, rollers all round)."""
    extra = []
    if coherent is None:
        ch = CahnHilliard(energy, KAPPA, MOB, initial, scheme=scheme)
    else:
        from femcell.materials.mechanical import ElasticSolid
        from femcell.physics.mechanics import Elasticity, Symmetry

        vm, nu, y = 1e-5, 0.25, 1.0 * E0  # Y = E / (1 - nu)
        eta = np.sqrt(coherent / (2 * y))
        solid = ElasticSolid(name="misfit", youngs_modulus=y * (1 - nu), poisson_ratio=nu,
                             partial_molar_volume=3 * eta * vm)  # Omega (c - c0) / 3 = eta dc
        box = {}
        ch = CahnHilliard(energy, KAPPA, MOB, initial, scheme=scheme,
                          coherency=lambda: box["mech"], site_volume=vm)
        box["mech"] = mech = Elasticity(
            {None: solid}, [Symmetry(r) for r in ("left", "right", "bottom", "top")],
            mode="plane_strain", concentration=(lambda: ch.field.u / vm, 0.5 / vm))
        extra = [mech]
    pb = Problem(domain, [ch, *extra])
    pb.initialise()
    integ = TimeIntegrator(pb, StepController(dt_initial=dt, adaptive=adaptive, order=order,
                                              rtol=1e-4, atol=1e-6))
    rows = [ch.quantities()]
    while integ.t < t_end * (1 - 1e-12):
        integ.step(t_end)
        rows.append(ch.quantities())
        if record:
            record(ch)
    return ch, rows


def _amplitude(ch, k):
    """A of c - mean = A cos(k x) (L2 projection onto the mode)."""
    x = ufl.SpatialCoordinate(ch.domain.mesh)[0]
    mode = ufl.cos(k * x)
    comm = ch.domain.comm
    num = comm.allreduce(dolfinx.fem.assemble_scalar(dolfinx.fem.form(
        (ch.field.u - 0.5) * mode * ufl.dx)), op=MPI.SUM)
    den = comm.allreduce(dolfinx.fem.assemble_scalar(dolfinx.fem.form(mode * mode * ufl.dx)),
                         op=MPI.SUM)
    return num / den


@pytest.mark.parametrize("m, t_end, dt", [(5, 2.0, 0.01), (15, 0.2, 0.001)])
def test_a_small_mode_grows_or_decays_at_the_linear_stability_rate(m, t_end, dt):
    length = 50.0
    k = m * np.pi / (length * L0)  # a cosine mode with zero slope at both ends
    sigma = -MOB * k**2 * (WELL.d2f(0.5) + KAPPA * k**2)  # [1/s]
    eps = 1e-5
    domain = _strip(length, 0.125)
    ch, _ = _run(domain, lambda x: 0.5 + eps * np.cos(k * x[0]), t_end, dt)
    rate = np.log(_amplitude(ch, k) / eps) / t_end
    assert (sigma > 0) == (m == 5)  # one unstable, one stable mode
    assert rate == pytest.approx(sigma, rel=0.02)


@pytest.mark.parametrize("coherent", [0.4, 1.0], ids=["slowed", "stabilised"])
def test_coherency_stress_shifts_the_linear_stability_rate(coherent):
    """Coherent spinodal (Cahn 1961): an isotropic misfit eta per unit c in an isotropic
    solid held coherent (plane strain, rollers all round: the mode's strain is uniaxial)
    adds 2 eta^2 E / (1 - nu) to f''(0.5), so sigma(k) = -M k^2 (f''(0.5) + 2 eta^2 E /
    (1 - nu) + kappa k^2): the k = 5 pi / L mode, unstable without it (f'' + kappa k^2 =
    -0.60 J m^-3), grows 3x slower at 0.4 J m^-3 and decays at 1.0 J m^-3 (within 2 %;
    found 0.1 %). The elastic field is solved with c in one Newton system."""
    length, m = 50.0, 5
    k = m * np.pi / (length * L0)
    sigma = -MOB * k**2 * (WELL.d2f(0.5) + coherent + KAPPA * k**2)
    eps, t_end = 1e-5, 2.0
    ch, _ = _run(_strip(length, 0.125), lambda x: 0.5 + eps * np.cos(k * x[0]), t_end,
                 0.01, coherent=coherent)
    rate = np.log(_amplitude(ch, k) / eps) / t_end
    assert (sigma > 0) == (coherent < 0.6)  # a guard on the set-up: one grows, one decays
    assert rate == pytest.approx(sigma, rel=0.02)


def _smooth_random(width, *, modes, kmax, seed):
    """0.5 + 0.02 x the mean of `modes` products of cosines (wave numbers 1..kmax half waves
    over `width` [m], random phases): a smooth random field, identical on every rank."""
    rng = np.random.default_rng(seed)
    kx, ky = rng.integers(1, kmax + 1, modes), rng.integers(1, kmax + 1, modes)
    ph = rng.uniform(0, 2 * np.pi, modes)

    def init(x):
        return 0.5 + 0.02 * sum(np.cos(a * np.pi * x[0] / width + p) * np.cos(
            b * np.pi * x[1] / width) for a, b, p in zip(kx, ky, ph, strict=True)) / modes

    return init


def test_mass_is_conserved_and_convex_splitting_never_raises_the_free_energy():
    domain = Domain.from_builder("plate", width=32 * L0, height=32 * L0, h=1.0 * L0,
                                 origin="corner")
    init = _smooth_random(32 * L0, modes=6, kmax=5, seed=7)
    t_int = (KAPPA / RHO) / (MOB * RHO)  # diffusion time over the interface length
    _, rows = _run(domain, init, 200 * t_int * 40, 100 * t_int, scheme="convex_splitting",
                   order=1)
    energy = np.array([r["free_energy"] for r in rows])
    mass = np.array([r["c_mean"] for r in rows])
    assert np.max(np.abs(mass - mass[0])) < 1e-12
    assert np.all(np.diff(energy) <= 1e-12 * abs(energy[0]))
    assert energy[-1] < 0.5 * energy[0] or rows[-1]["c_max"] > 0.6  # it did separate


def test_coherent_separation_never_raises_chemical_plus_strain_energy():
    """Convex splitting with the coherency stress at the new level (the strain energy is
    convex in c and u together) and backward Euler: chemical + strain energy never
    increases while a random field separates on a 16 x 16 plate (100 steps of 100x the
    interface's diffusion time); mass to round-off; the strain energy is not negligible."""
    domain = Domain.from_builder("plate", width=16 * L0, height=16 * L0, h=1.0 * L0,
                                 origin="corner")
    init = _smooth_random(16 * L0, modes=4, kmax=3, seed=3)
    t_int = (KAPPA / RHO) / (MOB * RHO)
    _, rows = _run(domain, init, 100 * t_int * 100, 100 * t_int, scheme="convex_splitting",
                   order=1, coherent=0.4)
    total = np.array([r["free_energy"] + r["elastic_energy"] for r in rows])
    mass = np.array([r["c_mean"] for r in rows])
    assert np.max(np.abs(mass - mass[0])) < 1e-12
    assert np.all(np.diff(total) <= 1e-12 * abs(total[0]))
    assert rows[-1]["c_max"] > 0.6  # it separated
    # the misfit stores half as much as the chemical energy left (found 0.5)
    assert rows[-1]["elastic_energy"] > 0.2 * rows[-1]["free_energy"]


def test_equilibrium_interface_is_the_tanh_profile_with_its_excess_energy():
    length, h = 40.0, 0.2
    domain = _strip(length, h)
    mid = 0.5 * length * L0
    ell = WELL.interface_width(KAPPA)
    dlt = 0.5 * (WELL.beta - WELL.alpha)
    # start from a profile three times too sharp, symmetric about the middle (no drift)
    ch, _ = _run(domain, lambda x: 0.5 + dlt * np.tanh(3 * (x[0] - mid) / ell), 400.0, 0.01,
                 adaptive=True)
    n = ch.field.u.function_space.dofmap.index_map.size_local
    c = ch.field.u.x.array[:n]
    xd = ch.field.u.function_space.tabulate_dof_coordinates()[:n, 0]
    exact = 0.5 + dlt * np.tanh((xd - mid) / ell)
    err = domain.comm.allreduce(float(np.max(np.abs(c - exact))) if n else 0.0, op=MPI.MAX)
    assert err < 0.01 * (WELL.beta - WELL.alpha)
    sigma = ch.quantities()["free_energy"] / (h * L0)  # J m^-2 (per depth and height)
    assert sigma == pytest.approx(WELL.interface_energy(KAPPA), rel=0.01)


def test_pfhub_benchmark_one_initial_free_energy():
    domain = Domain.from_builder("plate", width=200 * L0, height=200 * L0, h=2.0 * L0,
                                 origin="corner", structured=True)

    def c0(x):
        X, Y = x[0] / L0, x[1] / L0
        return 0.5 + 0.01 * (np.cos(0.105 * X) * np.cos(0.11 * Y)
                             + (np.cos(0.13 * X) * np.cos(0.087 * Y)) ** 2
                             + np.cos(0.025 * X - 0.15 * Y) * np.cos(0.07 * X - 0.02 * Y))

    ch = CahnHilliard(WELL, KAPPA, MOB, c0)
    pb = Problem(domain, [ch])
    pb.initialise()
    assert ch.quantities()["free_energy"] / (E0 * L0**2) == pytest.approx(319.04, rel=1e-3)


def test_regular_solution_inputs_and_its_spinodal():
    from femcell.materials.core import MaterialError
    from femcell.units import R

    rs = RegularSolution(temperature=300.0, interaction=3 * R * 300.0, molar_volume=1e-5)
    # f''(1/2) = (4 R T - 2 Omega) / V_m < 0 inside the spinodal (Omega > 2 R T)
    assert float(rs.d2f(0.5)) == pytest.approx((4 - 6) * R * 300.0 / 1e-5)
    with pytest.raises(MaterialError, match="kappa"):
        CahnHilliard(rs, -1.0, 1.0, 0.5)
    with pytest.raises(MaterialError, match="scheme"):
        CahnHilliard(rs, 1.0, 1.0, 0.5, scheme="explicit")


def test_the_initial_chemical_potential_is_that_of_the_initial_field():
    """mu(0) is the projection of f'(c) - div(kappa grad c): zero for the equilibrium tanh
    profile (a sign error in the gradient term would give 2 f'(c))."""
    length, h = 40.0, 0.1
    domain = _strip(length, h)
    mid, ell, dlt = 0.5 * length * L0, WELL.interface_width(KAPPA), 0.2
    ch = CahnHilliard(WELL, KAPPA, MOB, lambda x: 0.5 + dlt * np.tanh((x[0] - mid) / ell))
    Problem(domain, [ch]).initialise()
    n = ch.mu.u.function_space.dofmap.index_map.size_local
    mu = domain.comm.allreduce(float(np.max(np.abs(ch.mu.u.x.array[:n]))), op=MPI.MAX)
    peak = max(abs(float(WELL.df(0.5 + dlt * np.tanh(z)))) for z in np.linspace(-3, 3, 61))
    # P1 with the consistent mass: ~6 % of the peak; a wrong sign or factor gives ~100 %
    assert mu * RHO < 0.1 * peak  # mu is stored over E_s = rho


def test_a_tensor_kappa_acts_along_its_axes():
    """kappa = diag(4 k, k): a mode along x grows at sigma with 4 k (the x-x entry)."""
    length = 50.0
    k = 3 * np.pi / (length * L0)  # sigma 0.092 1/s (with kappa_yy it would be 0.130)
    sigma = -MOB * k**2 * (WELL.d2f(0.5) + 4 * KAPPA * k**2)
    eps = 1e-5
    domain = _strip(length, 0.125)
    ch = CahnHilliard(WELL, [[4 * KAPPA, 0.0], [0.0, KAPPA]], MOB,
                      lambda x: 0.5 + eps * np.cos(k * x[0]))
    pb = Problem(domain, [ch])
    pb.initialise()
    integ = TimeIntegrator(pb, StepController(dt_initial=0.01, adaptive=False))
    integ.run(2.0)
    assert np.log(_amplitude(ch, k) / eps) / 2.0 == pytest.approx(sigma, rel=0.02)


def _separate(domain, initial, *, dt, steps):
    """A regular solution with Omega = 3 R T (inside the spinodal at c = 1/2), interface
    length 0.5 um, diffusion time over it 0.25 s, convex splitting with backward Euler:
    `steps` fixed steps of dt [s]. Returns (physics, quantities per step)."""
    from femcell.units import R

    rs = RegularSolution(temperature=300.0, interaction=3 * R * 300.0, molar_volume=1e-5)
    ch = CahnHilliard(rs, rs.scale * (0.5e-6) ** 2, 1e-12 / rs.scale, initial,
                      scheme="convex_splitting")
    pb = Problem(domain, [ch])
    pb.initialise()
    integ = TimeIntegrator(pb, StepController(dt_initial=dt, adaptive=False, order=1))
    rows = [ch.quantities()]
    for _ in range(steps):
        integ.step(1e30)
        rows.append(ch.quantities())
    return ch, rows


def test_regular_solution_separates_within_its_bounds_and_conserves_mass():
    """Omega = 3 R T (inside the spinodal at c = 1/2), convex splitting with backward Euler:
    c stays in (0, 1), the mean is conserved and F never rises."""

    domain = Domain.from_builder("plate", width=16e-6, height=16e-6, h=0.4e-6,
                                 origin="corner")

    def init(x):
        return 0.5 + 0.05 * np.cos(2 * np.pi * x[0] / 8e-6) * np.cos(2 * np.pi * x[1] / 16e-6)

    _, rows = _separate(domain, init, dt=0.5, steps=20)
    F = np.array([r["free_energy"] for r in rows])
    assert np.all(np.diff(F) <= 1e-12 * abs(F[0]))
    assert abs(rows[-1]["c_mean"] - rows[0]["c_mean"]) < 1e-12
    assert 0 < rows[-1]["c_min"] < 0.2 and 0.8 < rows[-1]["c_max"] < 1  # separated


def test_a_log_potential_in_a_sphere_keeps_storage_at_the_centre():
    """Spherical 1D (weight 4 pi r^2): the lumped storage of a log potential uses each cell's
    weight at its centroid, so the node at r = 0 keeps its own mass and barrier (with the
    weight at the vertices it had none: a singular projection of mu and no equation for c
    there). The initial mu is f'(c0) / E_s at every node (uniform c0), the mean is conserved
    and c stays inside (0, 1) while the sphere separates."""

    domain = Domain.from_builder("interval", coordinates="spherical", radius=8e-6, n_cells=64)
    c0 = 0.3

    def init(x):
        return c0 + 0.05 * np.cos(np.pi * x[0] / 8e-6)

    ch, _ = _separate(domain, c0, dt=1.0, steps=0)
    n = ch.V.dofmap.index_map.size_local
    mu0 = np.log(c0 / (1 - c0)) + 3 * (1 - 2 * c0)  # f'(c0) / (R T / V_m)
    assert np.allclose(ch.mu.u.x.array[:n], mu0, rtol=1e-10)
    _, rows = _separate(domain, init, dt=1.0, steps=40)
    assert abs(rows[-1]["c_mean"] - rows[0]["c_mean"]) < 1e-12
    assert 0 < rows[-1]["c_min"] and rows[-1]["c_max"] < 1
    assert rows[-1]["c_max"] - rows[-1]["c_min"] > 0.5  # separated
