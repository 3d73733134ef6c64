"""Grain boundaries as resistive interfaces (femcell.physics.grain_boundary): the ionic
potential jumps across the "grain_boundary" facets with i . n = g_gb [phi].

Closed forms, 1 and 2 ranks:
- brick layer: box grains on a regular grid, current normal to one family of boundaries.
  The boundaries parallel to the current carry none; each of the n_y - 1 normal rows adds
  1 / g_gb per area, the grains L / sigma: exact for the broken P1 field (piecewise linear
  with jumps), so to round-off, in 2D and 3D.
- Arrhenius: g_gb = sigma_gb(T) / thickness from the library's boundary phase at 330 K.
- Resolved boundary layers (cubic grains with a boundary_thickness, a cell group of their
  own) agree with the interface where both apply.
- Random Voronoi grains: the cell voltage lies below Thomson's upper bound (the uniform
  current's dissipation); with a huge g_gb the cell is the one without boundaries
  (continuous P1), also where a void bends the current (the interior-penalty terms).
- A temperature step refills the conductivities.
"""

from __future__ import annotations

import pytest

from femcell._dolfinx import ufl
from femcell.domain import Domain
from femcell.materials import Arrhenius, Conductor, get_material
from femcell.physics.charge import ChargeTransport
from femcell.physics.grain_boundary import ResistiveBoundaries
from femcell.physics.kinetics import InterfaceKinetics, LinearKinetics
from femcell.problem import Problem
from femcell.units import F, R

SIGMA = 0.046  # S/m, the grains
I0 = 10.0  # A/m^2
I = 10.0  # A/m^2, 1 mA/cm^2
METAL = Conductor("metal", Arrhenius(1e7), "electron")
TE, D = 30e-6, 10e-6  # electrolyte thickness and grain size (m)


def _cell(dim, arrangement="cubic", h=2.5e-6, seed=0):
    p = dict(dim=dim, width=20e-6, electrolyte_thickness=TE, anode_thickness=5e-6,
             cathode_thickness=5e-6, h=h,
             grains={"mean_size": D, "arrangement": arrangement, "seed": seed})
    if dim == 3:
        p["depth"] = 10e-6
    return Domain.from_builder("symmetric_cell", **p)


@pytest.fixture(scope="module")
def cubic2d():
    return _cell(2)


def _solve(domain, gb, *, temperature=298.15, electrolyte=None):
    law = LinearKinetics(Arrhenius(I0), 0.5, 0.5)
    cond = {"anode": METAL, "electrolyte": electrolyte or Conductor("se", Arrhenius(SIGMA)),
            "cathode": METAL}
    ch = ChargeTransport(cond, [InterfaceKinetics(e, "electrolyte", law)
                                for e in ("anode", "cathode")],
                         current_density=I, temperature=temperature, grain_boundaries=gb)
    pb = Problem(domain, [ch])
    pb.initialise()
    rep = pb.solve_step(1.0, 1.0, 1, None)
    assert rep.converged
    return ch.quantities()


@pytest.mark.parametrize("dim", [2, 3])
def test_brick_layer_is_exact(cubic2d, dim):
    domain = cubic2d if dim == 2 else _cell(3)
    g = 300.0  # S/m^2: the boundaries dominate (2 rows x 1/g = 6.7e-3 ohm m^2)
    q = _solve(domain, ResistiveBoundaries("electrolyte", conductance=g))
    rows = round(TE / D) - 1
    assert q["ohmic_drop[electrolyte]"] == pytest.approx(I * TE / SIGMA, rel=1e-7)
    assert q["ohmic_drop[grain_boundary]"] == pytest.approx(I * rows / g, rel=1e-7)
    rct = R * 298.15 / (F * I0)
    metals = 2 * 5e-6 / (1e4 * SIGMA)  # capped at 1e4 x the electrolyte's (ChargeTransport)
    assert q["cell_voltage"] == pytest.approx(
        I * (2 * rct + TE / SIGMA + rows / g + metals), rel=1e-7)


def test_boundary_conductance_follows_the_boundary_phase(cubic2d):
    """g_gb = sigma_gb(T) / thickness with the library's LLZO boundary phase (0.45 eV) at
    330 K, and the grains' own Arrhenius law."""
    T = 330.0
    llzo, phase = get_material("llzo"), get_material("llzo_gb")
    delta = 2e-9
    q = _solve(cubic2d, ResistiveBoundaries("electrolyte", conductor=phase, thickness=delta),
               temperature=T, electrolyte=llzo)
    assert q["ohmic_drop[grain_boundary]"] == pytest.approx(
        I * 2 * delta / phase.conductivity(T), rel=1e-7)
    assert q["ohmic_drop[electrolyte]"] == pytest.approx(I * TE / llzo.conductivity(T),
                                                         rel=1e-7)
    # the boundaries' activation energy is the phase's, not the grains'
    assert phase.conductivity(T) / phase.conductivity(298.15) > 1.2 * (
        llzo.conductivity(T) / llzo.conductivity(298.15))


@pytest.fixture(scope="module")
def voronoi():
    return _cell(2, "random", h=1.25e-6, seed=4)


def test_random_grains_below_the_uniform_current_bound(voronoi):
    """Thomson: the uniform current J = I e_y is admissible, so the cell voltage is at most
    its dissipation / I: the kinetics, grains and metals as in a flat cell plus
    (I / g) int_gb n_y^2 dS / A for the boundaries. The current bends around the resistive
    boundaries and saves some of it: the boundaries' share is 0.835 of its uniform-current
    value (an observation, the same at h and h / 2; asserted in (0.7, 1))."""
    g = 300.0
    q = _solve(voronoi, ResistiveBoundaries("electrolyte", conductance=g))
    n = ufl.FacetNormal(voronoi.mesh)("+")
    proj = voronoi.integrate(n[1] ** 2 * voronoi.dS_inner("electrolyte", "grain_boundary"))
    uniform = I / g * proj / 20e-6
    rct = R * 298.15 / (F * I0)
    total = I * (2 * rct + TE / SIGMA + 2 * 5e-6 / (1e4 * SIGMA)) + uniform
    assert q["cell_voltage"] < total
    assert 0.7 * uniform < q["ohmic_drop[grain_boundary]"] < uniform


def test_interior_penalty_is_consistent_on_a_bent_current():
    """A void at the anode bends the current through Voronoi grains: the broken field with
    g_gb -> infinity and the continuous P1 field converge to the same cell voltage (their
    gap 9.8e-5 at h = 1.25 um, 3.2e-5 at h / 2; 1.2e-4 and 4e-5 with the penalty scaled by
    the cell diameter). Without the consistency terms of the
    interior penalty the broken field stays 1.3 % off at every h."""
    gaps = []
    for h in (1.25e-6, 0.625e-6):
        dom = Domain.from_builder(
            "symmetric_cell", dim=2, width=20e-6, electrolyte_thickness=TE,
            anode_thickness=5e-6, cathode_thickness=5e-6, h=h, h_interface=h,
            voids={"interface": "anode", "center": [10e-6], "footprint": 6e-6,
                   "height": 2e-6}, grains={"mean_size": D, "seed": 4})
        dg = _solve(dom, ResistiveBoundaries("electrolyte", conductance=1e12))
        cg = _solve(dom, None)
        gaps.append(abs(dg["cell_voltage"] / cg["cell_voltage"] - 1))
    assert gaps[0] < 3e-4 and gaps[1] < 0.6 * gaps[0]


def test_a_temperature_step_updates_the_boundaries(cubic2d):
    """T(t) steps from 298.15 to 330 K: the grains' and the boundaries' Arrhenius laws
    both follow at the next step (the cell-wise conductivity and g_gb are refilled)."""
    llzo, phase = get_material("llzo"), get_material("llzo_gb")
    delta = 1e-8
    law = LinearKinetics(Arrhenius(I0), 0.5, 0.5)
    ch = ChargeTransport({"anode": METAL, "electrolyte": llzo, "cathode": METAL},
                         [InterfaceKinetics(e, "electrolyte", law) for e in ("anode", "cathode")],
                         current_density=I, temperature=lambda t: 298.15 if t < 1.5 else 330.0,
                         grain_boundaries=ResistiveBoundaries("electrolyte", conductor=phase,
                                                              thickness=delta))
    pb = Problem(cubic2d, [ch])
    pb.initialise()
    for t, T in ((1.0, 298.15), (2.0, 330.0)):
        assert pb.solve_step(t, 1.0, 1, None).converged
        q = ch.quantities()
        assert q["ohmic_drop[grain_boundary]"] == pytest.approx(
            I * 2 * delta / phase.conductivity(T), rel=1e-7)
        assert q["ohmic_drop[electrolyte]"] == pytest.approx(I * TE / llzo.conductivity(T),
                                                             rel=1e-7)


def test_conductive_boundaries_are_no_boundaries(voronoi):
    """g_gb -> infinity: the broken field with interior penalty equals the continuous P1
    solution of the same mesh without boundaries."""
    big = _solve(voronoi, ResistiveBoundaries("electrolyte", conductance=1e12))
    cont = _solve(voronoi, None)
    assert big["cell_voltage"] == pytest.approx(cont["cell_voltage"], rel=1e-6)
    assert big["ohmic_drop[grain_boundary]"] < 1e-6 * cont["cell_voltage"]


@pytest.mark.parametrize(("kwargs", "needle"), [
    ({"conductance": 1.0, "thickness": 1e-9}, "not both"),
    ({"conductor": get_material("llzo_gb")}, "thickness missing"),
    ({"conductance": -1.0}, "conductance must be a positive number"),
    ({"conductance": 1.0, "penalty": 1.0}, "penalty must be > 2"),
])
def test_bad_boundary_laws_are_named(kwargs, needle):
    with pytest.raises(ValueError, match=needle):
        ResistiveBoundaries("electrolyte", **kwargs)


def _group_solve(domain, groups):
    law = LinearKinetics(Arrhenius(I0), 0.5, 0.5)
    cond = {"anode": METAL, "electrolyte": Conductor("se", Arrhenius(SIGMA)), "cathode": METAL}
    ch = ChargeTransport(cond, [InterfaceKinetics(e, "electrolyte", law)
                                for e in ("anode", "cathode")],
                         current_density=I, group_conductors=groups)
    pb = Problem(domain, [ch])
    pb.initialise()
    assert pb.solve_step(1.0, 1.0, 1, None).converged
    return ch.quantities()


def test_resolved_layers_agree_with_the_interface(cubic2d):
    """Where both apply (resistive boundaries, delta << d): boundary layers of thickness
    delta resolved in the mesh ("electrolyte.matrix", sigma_gb) and the interface with
    g_gb = sigma_gb / delta give the same cell voltage. The resolved layers differ by what
    the interface leaves out: the slabs parallel to the current (conducting at sigma_gb on
    delta / d of the width) and the grains' length lost to the series layers - O(delta / d)
    of the grains' share: 0.06 % of the total here (the same at h / 2); half or twice g_gb
    would be 27 % off."""
    delta, sigma_gb = 0.5e-6, SIGMA / 100
    resolved = Domain.from_builder("symmetric_cell", dim=2, width=20e-6,
                                   electrolyte_thickness=TE, anode_thickness=5e-6,
                                   cathode_thickness=5e-6, h=2.5e-6,
                                   grains={"mean_size": D, "arrangement": "cubic",
                                           "boundary_thickness": delta})
    q_res = _group_solve(resolved, {"electrolyte.matrix": Conductor("gb", Arrhenius(sigma_gb))})
    q_itf = _solve(cubic2d, ResistiveBoundaries("electrolyte", conductance=sigma_gb / delta))
    assert q_res["cell_voltage"] == pytest.approx(q_itf["cell_voltage"], rel=2e-3)
