"""Small-signal impedance (femcell.physics.impedance) against closed forms, 1 and 2 ranks.

A Li | brick-layer polycrystal | Li cell (box grains, current normal to the boundary rows)
is a series circuit exactly: the metals' resistance, two electrode arcs
R_ct / (1 + i w R_ct C_dl), the grains' Debye arc R_b / (1 + i w R_b C_b) with
R_b = L / sigma, C_b = eps0 eps_r / L, and one arc (1 / g) / (1 + i w c_gb / g) per boundary
row; the boundaries parallel to the current carry nothing. The broken/continuous P1 fields
represent it exactly, so the spectrum matches to round-off over 10 decades, in 2D and 3D.
About a DC bias the electrode arcs use the Butler-Volmer slope at the bias overpotential.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import several_ranks

from femcell._dolfinx import MPI
from femcell.domain import Domain
from femcell.materials import Arrhenius, Conductor
from femcell.materials.core import MaterialError
from femcell.physics.charge import ChargeTransport
from femcell.physics.grain_boundary import ResistiveBoundaries
from femcell.physics.impedance import EPS0, SmallSignal
from femcell.physics.kinetics import ButlerVolmer, InterfaceKinetics
from femcell.problem import Problem
from femcell.units import F, R

SIGMA, EPS_R = 0.046, 150.0
G, C_GB = 300.0, 0.5  # S/m^2, F/m^2
C_DL, I0 = 0.1, 10.0  # F/m^2, A/m^2
TE, D, TM = 30e-6, 10e-6, 5e-6
METAL = Conductor("metal", Arrhenius(1e7), "electron")
FREQ = np.logspace(-1, 9, 41)


def _cell(dim, comm=MPI.COMM_WORLD):
    p = dict(dim=dim, width=20e-6, electrolyte_thickness=TE, anode_thickness=TM,
             cathode_thickness=TM, h=2.5e-6, grains={"mean_size": D, "arrangement": "cubic"})
    if dim == 3:
        p["depth"] = 10e-6
    return Domain.from_builder("symmetric_cell", comm=comm, **p)


@pytest.fixture(scope="module")
def cell2d():
    return _cell(2)


def _spectrum(domain, *, alphas=(0.5, 0.5), bias=0.0, reuse=True, freq=FREQ,
              eps_r=EPS_R, groups=None):
    law = ButlerVolmer(Arrhenius(I0), *alphas)
    cond = {"anode": METAL, "cathode": METAL,
            "electrolyte": Conductor("se", Arrhenius(SIGMA), permittivity=eps_r)}
    ch = ChargeTransport(cond, [InterfaceKinetics(e, "electrolyte", law)
                                for e in ("anode", "cathode")], current_density=bias,
                         group_conductors=groups,
                         grain_boundaries=ResistiveBoundaries(
                             "electrolyte", conductance=G, specific_capacitance=C_GB))
    pb = Problem(domain, [ch])
    pb.initialise()
    assert pb.solve_step(1.0, 1.0, 1, None).converged
    q = ch.quantities()
    ss = SmallSignal(pb, ch, double_layer=dict.fromkeys(ch.j_expr, C_DL), reuse=reuse)
    try:
        return ss.sweep(freq), q
    finally:
        ss.close()


def _exact(freq, rct_a, rct_c, rows):
    w = 2 * np.pi * freq
    rb = TE / SIGMA
    metals = 2 * TM / (1e4 * SIGMA)  # ChargeTransport caps the metals at 1e4 sigma
    arc = lambda r, c: r / (1 + 1j * w * r * c)  # noqa: E731
    return metals + arc(rb, EPS0 * EPS_R / TE) + arc(rct_a, C_DL) + arc(rct_c, C_DL) \
        + rows * arc(1 / G, C_GB)


@pytest.mark.parametrize("dim", [2, 3])
def test_series_circuit_is_exact(cell2d, dim):
    """Debye arc of the grains (apex at sigma / (2 pi eps)), two boundary rows and two
    electrode arcs with R_ct = RT / (F i0 (alpha_a + alpha_c)), over 10 decades."""
    domain = cell2d if dim == 2 else _cell(3)
    sp, _ = _spectrum(domain, alphas=(0.3, 0.6))
    rct = R * 298.15 / (F * I0 * 0.9)
    exact = _exact(FREQ, rct, rct, rows=round(TE / D) - 1)
    assert (np.abs(sp.z - exact) / np.abs(exact)).max() < 1e-8  # at every frequency
    for name, z in sp.interfaces.items():  # each interface's share: its own arc
        arc = rct / (1 + 2j * np.pi * FREQ * rct * C_DL)
        assert np.abs(z - arc).max() < 1e-8 * rct, name
    # the grains' apex sits at sigma / (2 pi eps0 eps_r) with -Z'' = R_b / 2 there
    f_b = SIGMA / (2 * math.pi * EPS0 * EPS_R)
    sp_b, _ = _spectrum(domain, alphas=(0.3, 0.6), freq=np.array([f_b]))
    rest = _exact(np.array([f_b]), rct, rct, 2) - (TE / SIGMA) / (1 + 1j)
    assert (sp_b.z - rest)[0] == pytest.approx(TE / SIGMA * (0.5 - 0.5j), rel=1e-8)


def test_linearised_about_a_dc_bias(cell2d):
    """At a DC current of 2 mA/cm^2 each electrode arc has the Butler-Volmer slope at its
    own overpotential: R_ct = RT / (F i0 (aa e^(aa f eta) + ac e^(-ac f eta)))."""
    bias = 20.0
    sp, q = _spectrum(cell2d, alphas=(0.3, 0.6), bias=bias)
    f = F / (R * 298.15)

    def rct(eta):
        return 1 / (f * I0 * (0.3 * math.exp(0.3 * f * eta) + 0.6 * math.exp(-0.6 * f * eta)))

    ra = rct(q["eta_mean[anode|electrolyte]"])
    rc = rct(q["eta_mean[cathode|electrolyte]"])
    assert ra != pytest.approx(rc, rel=0.05)  # the bias makes the two arcs differ
    exact = _exact(FREQ, ra, rc, rows=2)
    assert (np.abs(sp.z - exact) / np.abs(exact)).max() < 1e-7  # at every frequency


def test_reused_factorisation_gives_the_fresh_answer(cell2d):
    """GMRES preconditioned by a neighbouring frequency's LU: the same spectrum as a fresh
    LU per frequency (1e-8 at every frequency), with far fewer factorisations."""
    reused, _ = _spectrum(cell2d)
    fresh, _ = _spectrum(cell2d, reuse=False)
    assert (np.abs(reused.z - fresh.z) / np.abs(fresh.z)).max() < 1e-8
    assert fresh.factorizations == FREQ.size
    assert reused.factorizations <= FREQ.size // 4


def test_boundaries_charge_without_a_bulk_permittivity(cell2d):
    """No permittivity in the grains (no displacement current there): the boundaries still
    store charge, the grains are plain resistors."""
    sp, _ = _spectrum(cell2d, eps_r=None)
    rct = R * 298.15 / (F * I0)
    w = 2 * np.pi * FREQ
    exact = (2 * TM / (1e4 * SIGMA) + TE / SIGMA + 2 * rct / (1 + 1j * w * rct * C_DL)
             + 2 * (1 / G) / (1 + 1j * w * C_GB / G))
    # 1e-7, not 1e-8: without a bulk capacitance to balance it, omega c_gb reaches 1e7 g_gb
    # at 1 GHz and the block system's conditioning limits the solve (3e-8 seen on 2 ranks)
    assert (np.abs(sp.z - exact) / np.abs(exact)).max() < 1e-7


def test_grains_of_another_material_have_their_own_arc(cell2d):
    """The grain row next to the anode (grains 0 and 3 of the 2 x 3 grid) of a second
    conductor with its own permittivity: its own Debye arc in series."""
    s2, e2 = 0.01, 50.0
    other = Conductor("se2", Arrhenius(s2), permittivity=e2)
    sp, _ = _spectrum(cell2d, groups={"electrolyte.grain_0": other,
                                      "electrolyte.grain_3": other})
    rct = R * 298.15 / (F * I0)
    w = 2 * np.pi * FREQ
    arc = lambda r, c: r / (1 + 1j * w * r * c)  # noqa: E731
    exact = (2 * TM / (1e4 * SIGMA) + arc(2 * D / SIGMA, EPS0 * EPS_R / (2 * D))
             + arc(D / s2, EPS0 * e2 / D) + 2 * arc(rct, C_DL) + 2 * arc(1 / G, C_GB))
    assert (np.abs(sp.z - exact) / np.abs(exact)).max() < 1e-8


def test_a_grounded_network_electrode(cell2d):
    """ground_electrode (the cathode an ideal network at 0 V, no field of its own): Z is
    still d(phi_cc - phi_ground) / dI, with a positive real part: anode metal, grains,
    boundaries and both interfaces in series."""
    law = ButlerVolmer(Arrhenius(I0))
    cond = {"anode": METAL,
            "electrolyte": Conductor("se", Arrhenius(SIGMA), permittivity=EPS_R)}
    ch = ChargeTransport(cond, [InterfaceKinetics(e, "electrolyte", law)
                                for e in ("anode", "cathode")], ground_electrode="cathode",
                         grain_boundaries=ResistiveBoundaries(
                             "electrolyte", conductance=G, specific_capacitance=C_GB))
    pb = Problem(cell2d, [ch])
    pb.initialise()
    ss = SmallSignal(pb, ch, double_layer=dict.fromkeys(ch.j_expr, C_DL))
    try:
        sp = ss.sweep(FREQ)
    finally:
        ss.close()
    rct = R * 298.15 / (F * I0)
    w = 2 * np.pi * FREQ
    arc = lambda r, c: r / (1 + 1j * w * r * c)  # noqa: E731
    exact = (TM / (1e4 * SIGMA) + arc(TE / SIGMA, EPS0 * EPS_R / TE) + 2 * arc(rct, C_DL)
             + 2 * arc(1 / G, C_GB))
    assert (np.abs(sp.z - exact) / np.abs(exact)).max() < 1e-8


@several_ranks
def test_same_spectrum_on_one_and_all_ranks(cell2d):
    par, _ = _spectrum(cell2d)
    ser, _ = _spectrum(_cell(2, MPI.COMM_SELF))
    assert np.abs(par.z - ser.z).max() / np.abs(ser.z).max() < 1e-8


def test_bad_input_is_named(cell2d):
    law = ButlerVolmer(Arrhenius(I0))
    cond = {"anode": METAL, "cathode": METAL, "electrolyte": Conductor("se", Arrhenius(SIGMA))}
    ch = ChargeTransport(cond, [InterfaceKinetics(e, "electrolyte", law)
                                for e in ("anode", "cathode")])
    pb = Problem(cell2d, [ch])
    pb.initialise()
    with pytest.raises(MaterialError, match="double layer on unknown interface 'x|y'"):
        SmallSignal(pb, ch, double_layer={"x|y": 0.1})
    with pytest.raises(MaterialError, match="permittivity of 'electrolyte' must be >= 1"):
        SmallSignal(pb, ch, permittivity={"electrolyte": 0.5})
    ss = SmallSignal(pb, ch)
    try:
        with pytest.raises(MaterialError, match="frequencies must be positive"):
            ss.sweep([1.0, -2.0])
    finally:
        ss.close()
