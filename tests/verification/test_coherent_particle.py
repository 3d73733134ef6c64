"""A coherent Cahn-Hilliard particle region inside an elastic matrix (the phase field on a
submesh, the displacement on the whole mesh) against Lame's closed form.

A sphere 0 <= r <= a (region "particle", 1D spherical) of uniform composition c1 in a
concentric matrix shell a <= r <= b (traction-free outside). The particle's misfit
Omega (c - c0) / (3 V_m) per direction, isotropic: inside u = A r and the stress is
hydrostatic and uniform, sigma_h = 3 K1 (A - eps*), so the coherency chemical potential
-sigma : beta / V_m = -sigma_h Omega / V_m is uniform and the composition stays uniform.
In the shell u = B r + C / r^2; A, B, C from the continuity of u and sigma_rr at a and
sigma_rr(b) = 0.

Checked on 1 and 2 ranks: the elastic part of the solved chemical potential,
mu - f'(c1) = -sigma_h Omega / V_m (0.1 %; 1.2e7 J m^-3 against f'(c1) = -1.2e7 J m^-3), the
strain energy of particle and shell (0.1 %), the hydrostatic stress output in the particle,
and that a matrix given a misfit of its own does not swell with the particle's field (the
field reads 0 outside its region: were the misfit applied there, the matrix would swell by
-c0 and the elastic part of mu double).
"""

from __future__ import annotations

import numpy as np
import pytest

from femcell._dolfinx import MPI
from femcell.domain import Domain
from femcell.materials.mechanical import ElasticSolid
from femcell.physics.cahn_hilliard import CahnHilliard, DoubleWell
from femcell.physics.mechanics import Elasticity, Symmetry
from femcell.problem import Problem
from femcell.solvers import StepController, TimeIntegrator

A_R, B_R = 5e-6, 15e-6  # particle and outer radius [m]
VM = 4.4e-5  # [m^3 mol^-1] per site
OMEGA = 3.0e-6  # [m^3 mol^-1] partial molar volume: 2.3 % linear misfit from c = 0 to 1
C0, C1 = 0.3, 0.6  # stress-free and actual composition
E1, NU1 = 120e9, 0.25  # particle
E2, NU2 = 20e9, 0.35  # matrix
RHO = 2.0e8  # [J m^-3] double-well height scale


def _two_shells(a, b, n):
    def build():
        import gmsh

        occ = gmsh.model.occ
        p0, p1, p2 = (occ.addPoint(x, 0, 0) for x in (0.0, a, b))
        l1, l2 = occ.addLine(p0, p1), occ.addLine(p1, p2)
        occ.synchronize()
        gmsh.model.mesh.setTransfiniteCurve(l1, n + 1)
        gmsh.model.mesh.setTransfiniteCurve(l2, 2 * n + 1)
        gmsh.model.addPhysicalGroup(1, [l1], name="particle")
        gmsh.model.addPhysicalGroup(1, [l2], name="matrix")
        gmsh.model.addPhysicalGroup(0, [p0], name="center")
        gmsh.model.addPhysicalGroup(0, [p2], name="outer")
        gmsh.model.mesh.generate(1)
        return {"gdim": 1}

    return build


def _lame():
    """(sigma_h in the particle [Pa], strain energy [J]) of the closed form."""
    from scipy.integrate import quad

    eps = OMEGA * (C1 - C0) / (3 * VM)
    k1, k2 = E1 / (3 * (1 - 2 * NU1)), E2 / (3 * (1 - 2 * NU2))
    mu2, lam2 = E2 / (2 * (1 + NU2)), E2 * NU2 / ((1 + NU2) * (1 - 2 * NU2))
    a, b = A_R, B_R
    # unknowns A, B, C: u(a) continuous, sigma_rr(a) continuous, sigma_rr(b) = 0
    m = np.array([[a, -a, -1 / a**2],
                  [3 * k1, -3 * k2, 4 * mu2 / a**3],
                  [0.0, 3 * k2, -4 * mu2 / b**3]])
    A, B, C = np.linalg.solve(m, [0.0, 3 * k1 * eps, 0.0])
    sigma_h = 3 * k1 * (A - eps)
    w_in = 4.5 * k1 * (A - eps) ** 2 * 4 / 3 * np.pi * a**3

    def w_shell(r):
        err, ett = B - 2 * C / r**3, B + C / r**3
        tr = err + 2 * ett
        return 0.5 * (lam2 * tr**2 + 2 * mu2 * (err**2 + 2 * ett**2)) * 4 * np.pi * r**2

    return sigma_h, w_in + quad(w_shell, a, b, epsabs=0, epsrel=1e-12)[0]


def _solve(matrix_misfit):
    dom = Domain.from_builder(_two_shells(A_R, B_R, 40), coordinates="spherical")
    well = DoubleWell(RHO, 0.1, 0.9)
    box = {}
    ch = CahnHilliard(well, 1e-11, 1e-22, C1, region="particle",
                      coherency=lambda: box["mech"], site_volume=VM)
    mats = {"particle": ElasticSolid("p", youngs_modulus=E1, poisson_ratio=NU1,
                                     partial_molar_volume=OMEGA),
            "matrix": ElasticSolid("m", youngs_modulus=E2, poisson_ratio=NU2,
                                   partial_molar_volume=OMEGA if matrix_misfit else 0.0)}
    box["mech"] = mech = Elasticity(mats, [Symmetry("center")], mode="spherical", degree=2,
                                    concentration=(lambda: ch.field.u / VM, C0 / VM),
                                    concentration_region="particle")
    pb = Problem(dom, [ch, mech])
    pb.initialise()
    integ = TimeIntegrator(pb, StepController(dt_initial=1e-3, adaptive=False, order=1))
    integ.step(1e-3)
    return ch, mech, well


@pytest.mark.parametrize("matrix_misfit", [False, True], ids=["inert", "misfitting"])
def test_particle_coherency_stress_matches_lame(matrix_misfit):
    ch, mech, well = _solve(matrix_misfit)
    sigma_h, energy = _lame()
    q = ch.quantities()
    # uniform composition, unchanged
    assert q["c_min"] == pytest.approx(C1, abs=1e-9)
    assert q["c_max"] == pytest.approx(C1, abs=1e-9)
    n = ch.V.dofmap.index_map.size_local
    # the elastic part of the solved chemical potential [J m^-3]
    mu_el = ch.mu.u.x.array[:n] * ch.e_s - float(well.df(C1))
    expected = -sigma_h * OMEGA / VM
    assert abs(expected) > 0.5 * abs(float(well.df(C1)))  # the stress term matters here
    comm = ch.domain.comm
    lo = comm.allreduce(float(mu_el.min()) if n else np.inf, op=MPI.MIN)
    hi = comm.allreduce(float(mu_el.max()) if n else -np.inf, op=MPI.MAX)
    assert lo == pytest.approx(expected, rel=1e-3)
    assert hi == pytest.approx(expected, rel=1e-3)
    assert q["elastic_energy"] == pytest.approx(energy, rel=1e-3)
    # the mechanics' own outputs (an Expression on the whole mesh: the particle's field
    # copied onto it) show the same hydrostatic stress in the particle
    mech.refresh_outputs()
    h = mech.output_fields()["hydrostatic"][0]
    cells = ch.domain.cells("particle")
    vals = h.x.array[h.function_space.dofmap.list[cells, 0]]
    if vals.size:
        assert np.allclose(vals, sigma_h, rtol=5e-3)


def _scattered_region(n):
    """A unit square (1 um) of n x n x 2 triangles, half of them (chosen by a hash of the
    midpoint, the same on any partition) in "particle", the rest in "matrix": a region
    fragmented down to single cells, many touching others at a vertex only (a rank may own a
    vertex of the region without holding any of its cells)."""
    from types import SimpleNamespace

    from femcell._dolfinx import dolfinx

    mesh = dolfinx.mesh.create_rectangle(MPI.COMM_WORLD, [[0.0, 0.0], [1e-6, 1e-6]], [n, n])
    tdim = mesh.topology.dim
    imap = mesh.topology.index_map(tdim)
    cells = np.arange(imap.size_local + imap.num_ghosts, dtype=np.int32)
    mid = dolfinx.mesh.compute_midpoints(mesh, tdim, cells) / 1e-6
    h = np.sin(12.9898 * mid[:, 0] * n + 78.233 * mid[:, 1] * n) * 43758.5453
    values = np.where(h - np.floor(h) < 0.5, 1, 2).astype(np.int32)
    cell_tags = dolfinx.mesh.meshtags(mesh, tdim, cells, values)
    mesh.topology.create_connectivity(tdim - 1, tdim)
    left = dolfinx.mesh.locate_entities_boundary(mesh, tdim - 1, lambda x: x[0] < 1e-12)
    facet_tags = dolfinx.mesh.meshtags(mesh, tdim - 1, left, np.full(left.size, 3, np.int32))
    groups = {"particle": SimpleNamespace(dim=2, tag=1), "matrix": SimpleNamespace(dim=2, tag=2),
              "left": SimpleNamespace(dim=1, tag=3)}
    return Domain(SimpleNamespace(mesh=mesh, cell_tags=cell_tags, facet_tags=facet_tags,
                                  physical_groups=groups))


def test_reported_strain_energy_of_a_fragmented_region_matches_its_own_assembly():
    """The strain energy reported through the whole-mesh copy of the region's field equals
    the same energy assembled with the field itself (the region's cells through the
    submesh, the rest without the misfit), on any number of ranks: a region scattered over
    single cells, a non-uniform composition. (A copy made consistent by a forward scatter
    read 0 at a vertex owned by a rank without region cells around it: 0.3 % off on 2
    ranks, caught here.)"""
    import ufl

    from femcell._dolfinx import dolfinx

    dom = _scattered_region(16)
    well = DoubleWell(RHO, 0.1, 0.9)
    box = {}
    ch = CahnHilliard(well, 1e-11, 1e-22, lambda x: 0.3 + 4e5 * x[0] + 2e5 * x[1],
                      region="particle", coherency=lambda: box["mech"], site_volume=VM)
    mats = {"particle": ElasticSolid("p", youngs_modulus=E1, poisson_ratio=NU1,
                                     partial_molar_volume=OMEGA),
            "matrix": ElasticSolid("m", youngs_modulus=E2, poisson_ratio=NU2,
                                   partial_molar_volume=OMEGA)}
    box["mech"] = mech = Elasticity(mats, [Symmetry("left")], mode="plane_strain",
                                    anchor=True, concentration=(lambda: ch.field.u / VM,
                                                                C0 / VM),
                                    concentration_region="particle")
    pb = Problem(dom, [ch, mech])
    pb.initialise()
    TimeIntegrator(pb, StepController(dt_initial=1e-3, adaptive=False, order=1)).step(1e-3)
    u = mech.displacement()
    own = dolfinx.fem.form(
        0.5 * ufl.inner(mech.stress_voigt(u, chemical=False),
                        mech.elastic_strain_voigt(u, chemical=False)) * dom.dx("matrix")
        + mech.strain_energy_density() * dom.dx("particle"), entity_maps=pb.entity_maps)
    expected = dom.comm.allreduce(dolfinx.fem.assemble_scalar(own), op=MPI.SUM)
    assert expected > 0
    assert mech.strain_energy() == pytest.approx(expected, rel=1e-10)
    assert ch.quantities()["elastic_energy"] == pytest.approx(expected, rel=1e-10)
