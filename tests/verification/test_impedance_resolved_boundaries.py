"""Resolved boundary layers in the impedance of a polycrystal, and where the brick layer fails.

Li | LLZO | Li with box grains (2 x 3 of 10 um) and boundary layers of thickness
delta = 0.5 um resolved as a cell group (`electrolyte.matrix`) with a conductor of its own,
sigma_gb = r sigma_b and the grains' permittivity, for r from 1/100 (resistive boundaries,
the brick layer's case) to 100 (easy paths along the boundaries).

No closed form holds for the grid, but two laminate models bound it exactly (Rayleigh's
monotonicity, at DC): cutting every lateral current (the cell as parallel columns, each
a series of grains, layers and its own electrode interfaces) can only raise the
resistance, making every slice normal to the current an equipotential (the cell as a
series of parallel slices) can only lower it. For thin layers the two models lie within a
few per cent of each other at any r, and the computed resistance must lie between them.
With equal permittivities the same two models, with sigma + i omega eps, also enclose
the spectrum (an observation for complex admittivities, asserted at every frequency with
their spread as the tolerance).

Where r << 1 the brick layer (a Debye arc of the grains in series with one arc per
boundary row) lies between the bounds; at r = 100 the boundaries parallel to the current
short the grains: one arc, 3.5 times smaller than the brick layer's sum, and the
brick-layer reading of its capacitance-identified "bulk" arc returns the mixture's
conductivity, 3.5 times the grains'.
"""

from __future__ import annotations

import numpy as np
import pytest

from femcell._dolfinx import MPI
from femcell.domain import Domain
from femcell.materials import Arrhenius, Conductor
from femcell.physics.charge import ChargeTransport
from femcell.physics.grain_boundary import ResistiveBoundaries
from femcell.physics.impedance import EPS0, SmallSignal
from femcell.physics.kinetics import ButlerVolmer, InterfaceKinetics
from femcell.problem import Problem
from femcell.units import F, R

SIGMA, EPS_R = 0.046, 150.0
C_DL, I0 = 0.1, 1e5  # F/m^2, A/m^2: R_ct 1e-3 of the electrolyte (the bounds below
# cut the interface into columns too: a large R_ct would part them)
W, TE, D, TM, DELTA = 20e-6, 30e-6, 10e-6, 5e-6, 0.5e-6
METAL = Conductor("metal", Arrhenius(1e7), "electron")
FREQ = np.logspace(-1, 9, 21)
RCT = R * 298.15 / (F * I0)


def _cell(comm=MPI.COMM_WORLD, layers=True):
    grains = {"mean_size": D, "arrangement": "cubic"}
    if layers:
        grains["boundary_thickness"] = DELTA
    return Domain.from_builder("symmetric_cell", comm=comm, dim=2, width=W,
                               electrolyte_thickness=TE, anode_thickness=TM,
                               cathode_thickness=TM, h=1.25e-6, grains=grains)


@pytest.fixture(scope="module")
def cell():
    return _cell()


def _spectrum(domain, ratio, freq=FREQ, interface=False):
    """Z(f) [ohm m^2] with layers of sigma_gb = ratio sigma_b, or (interface=True, a cell
    without layers) boundaries as interfaces of g = sigma_gb / delta, c = eps / delta."""
    law = ButlerVolmer(Arrhenius(I0))
    cond = {"anode": METAL, "cathode": METAL,
            "electrolyte": Conductor("se", Arrhenius(SIGMA), permittivity=EPS_R)}
    layers = Conductor("gb", Arrhenius(ratio * SIGMA), permittivity=EPS_R)
    gb = ResistiveBoundaries("electrolyte", conductance=ratio * SIGMA / DELTA,
                             specific_capacitance=EPS0 * EPS_R / DELTA) if interface else None
    ch = ChargeTransport(cond, [InterfaceKinetics(e, "electrolyte", law)
                                for e in ("anode", "cathode")], grain_boundaries=gb,
                         group_conductors=None if interface else {"electrolyte.matrix": layers})
    pb = Problem(domain, [ch])
    pb.initialise()
    ss = SmallSignal(pb, ch, double_layer=dict.fromkeys(ch.j_expr, C_DL))
    try:
        return ss.sweep(freq).z
    finally:
        ss.close()
        pb.close()


def _laminates(freq, ratio, cell=True):
    """(series of parallel slices, parallel of series columns): Z [ohm m^2] of the cell,
    the metals in series (1e4 sigma, as ChargeTransport caps them); of the electrolyte
    alone with cell=False."""
    w = 2 * np.pi * freq
    kb = SIGMA + 1j * w * EPS0 * EPS_R
    kg = ratio * SIGMA + 1j * w * EPS0 * EPS_R
    ct = 2 * RCT / (1 + 1j * w * RCT * C_DL) if cell else 0  # both electrode interfaces
    metals = 2 * TM / (1e4 * SIGMA) if cell else 0
    wg = D - DELTA / 2  # the two grain columns; one wall of DELTA between them
    rows = TE - 2 * DELTA  # grain rows along the current; two layers across it
    slices = ct + rows / ((2 * wg * kb + DELTA * kg) / W) + 2 * DELTA / kg
    grains = ct + rows / kb + 2 * DELTA / kg
    wall = ct + TE / kg
    columns = 1 / ((2 * wg / W) / grains + (DELTA / W) / wall)
    return metals + slices, metals + columns


@pytest.mark.parametrize("ratio", [0.01, 1.0, 100.0])
def test_spectrum_between_the_laminate_bounds(cell, ratio):
    """Resistive (1/100), uniform (1: both models exact) and easy-path (100) boundaries."""
    z = _spectrum(cell, ratio)
    lo, hi = _laminates(FREQ, ratio)
    # DC (0.1 Hz: every arc closed): Rayleigh's bounds, less a discretisation allowance
    assert lo[0].real * (1 - 1e-3) <= z[0].real <= hi[0].real * (1 + 1e-3)
    spread = np.abs(hi - lo) / np.abs(lo)
    for ref in (lo, hi):  # the whole spectrum within the models' spread of both
        assert (np.abs(z - ref) / np.abs(ref) <= spread + 2e-3).all()
    if ratio == 1.0:  # a uniform conductor: the series circuit, to round-off
        assert np.abs(z - lo).max() / np.abs(lo).max() < 1e-8


def test_resistive_layers_agree_with_the_interface(cell):
    """sigma_gb = sigma_b / 100: the boundaries as interfaces (g = sigma_gb / delta,
    c_gb = eps / delta, no volume of their own) give the resolved layers' spectrum up to the
    boundary arc within the laminates' spread (1.9 %; found 0.2 - 0.3 %; half or twice
    c_gb moves the arc by up to 25 %). Far above it every part is a capacitor of the same
    eps: the interfaces add 2 delta of dielectric to the grains' L, the resolved layers
    take it from them, so Z_resolved / Z_interface = L / (L + 2 delta) there (the series
    slices exactly)."""
    z = _spectrum(cell, 0.01)
    z_itf = _spectrum(_cell(layers=False), 0.01, interface=True)
    lo, hi = _laminates(FREQ, 0.01)
    spread = np.abs(hi - lo) / np.abs(lo)
    low = FREQ <= 1e5  # the boundary arc's apex: g / (2 pi c_gb) = 49 kHz
    assert (np.abs(z - z_itf) / np.abs(z_itf) <= spread + 2e-3)[low].all()
    assert z[-1] / z_itf[-1] == pytest.approx(TE / (TE + 2 * DELTA), rel=5e-4)


def test_easy_paths_break_the_brick_layer(cell):
    """sigma_gb = 100 sigma_b: the electrolyte shows one arc, 3.5x smaller than the brick
    layer's grains + boundary rows; read as a bulk arc (R = L / sigma, C = eps / L) it
    returns 3.5 times the grains' conductivity, that of the laminates."""
    z = _spectrum(cell, 100.0)
    w = 2 * np.pi * FREQ
    ct = 2 * RCT / (1 + 1j * w * RCT * C_DL)
    metals = 2 * TM / (1e4 * SIGMA)
    electrolyte = z - ct - metals
    kb = SIGMA + 1j * w * EPS0 * EPS_R
    brick = TE / kb + 2 * DELTA / (100 * SIGMA + 1j * w * EPS0 * EPS_R)
    assert brick[0].real / electrolyte[0].real > 3.0
    # one Debye arc: -Z'' of the electrolyte has a single maximum, where
    # omega eps / sigma_eff = 1, sigma_eff = L / R_dc
    y = -electrolyte.imag
    assert np.count_nonzero((y[1:-1] > y[:-2]) & (y[1:-1] > y[2:])) == 1
    sigma_eff = TE / electrolyte[0].real
    lo, hi = (TE / z.real / SIGMA for z in _laminates(FREQ[:1], 100.0, cell=False))
    assert hi[0] * 0.98 < sigma_eff / SIGMA < lo[0] * 1.02  # 3.51 .. 3.59 (2 %: the
    # current crossing into the wall near the electrodes, not subtracted with 2 R_ct)
    f_apex = sigma_eff / (2 * np.pi * EPS0 * EPS_R)
    fine = np.geomspace(f_apex / 3, f_apex * 3, 25)
    zz = _spectrum(cell, 100.0, fine)
    ww = 2 * np.pi * fine
    el = zz - 2 * RCT / (1 + 1j * ww * RCT * C_DL) - metals
    peak = fine[np.argmax(-el.imag)]
    assert peak == pytest.approx(f_apex, rel=0.1)


def test_same_spectrum_on_one_and_all_ranks(cell):
    if MPI.COMM_WORLD.size == 1:
        pytest.skip("compares ranks: runs under mpiexec -n 2")
    par = _spectrum(cell, 100.0)
    ser = _spectrum(_cell(MPI.COMM_SELF), 100.0)
    assert np.abs(par - ser).max() / np.abs(ser).max() < 1e-8
