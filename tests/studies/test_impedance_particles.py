"""problems/eis_nmc_composite.toml on a coarse mesh (1 and 2 ranks): the NMC particles'
diffusion is linearised with the cell, so the spectrum ends in their chemical capacitance
F c_max V (-dtheta/dU) from the inputs; the NMC charge-transfer arc sits at
1 / (2 pi R_ct C_dl); the Nyquist plot zooms on the arcs; a DC bias with particles is
refused by name."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from conftest import PROBLEMS, assert_refused, run_study_once, several_ranks

from femcell._dolfinx import MPI
from femcell.config import load_config
from femcell.materials import get_material
from femcell.studies import run_study
from femcell.studies.impedance import arc_window
from femcell.units import F, R

EIS = PROBLEMS / "eis_nmc_composite.toml"
SMALL = ["geometry.params.h_interface=0.5 um", "intercalation.0.degree=1",
         "impedance.frequencies.per_decade=6"]
THETA = 0.6


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    return run_study_once(tmp_path_factory, EIS, SMALL)


def test_chemical_capacitance_from_the_inputs(small):
    """-1 / (omega Z'') at 10 uHz equals F c_max V (-dtheta/dU) of the particles (found 0.1 %),
    with U' of the library's NMC811 at theta = 0.6 and V the meshed particle volume."""
    _, res = small
    chem = res.summary["impedance"]["chemical_capacitance"]
    mat = get_material("nmc811")
    h = 1e-6
    slope = float(mat.ocv(np.array(THETA + h)) - mat.ocv(np.array(THETA - h))) / (2 * h)
    reg = chem["regions"]["active"]
    assert reg["theta"] == pytest.approx(THETA, rel=1e-9)
    assert reg["dU_dtheta_V"] == pytest.approx(slope, rel=1e-6)
    # the particles fill 35 % of the 40 um x 40 um cathode (less what the mesh clips)
    volume = reg["capacitance_F_m2"] * (-slope) / (F * mat.c_max) * 40e-6
    assert volume == pytest.approx(0.35 * 40e-6 * 40e-6, rel=0.05)
    assert chem["read_F_m2"] == pytest.approx(chem["input_F_m2"], rel=0.01)
    assert res.value("chemical_capacitance_read") == pytest.approx(chem["read_F_m2"])


def test_the_particles_charge_transfer_arc(small):
    """The NMC arc is found within 0.3 decade of 1 / (2 pi R_ct C_dl), R_ct = RT / (F i0)
    per particle area (i0 = 0.34 mA/cm^2 at theta = 0.5, times the (theta/0.5)^0.5
    ((1-theta)/0.5)^0.5 factor at theta = 0.6); the diffusion frequency D / (2 pi l^2) with l
    near r / 2 (discs) is listed."""
    _, res = small
    imp = res.summary["impedance"]
    char = imp["characteristic_frequencies_Hz"]
    factor = math.sqrt(THETA / 0.5 * (1 - THETA) / 0.5)
    rct = R * 298.15 / (F * 3.4 * factor)
    assert char["charge_transfer[active|electrolyte]"] == pytest.approx(
        1 / (2 * math.pi * rct * 0.1), rel=0.02)
    arc = next(a for a in imp["arcs"] if a["process"] == "charge_transfer[active|electrolyte]")
    assert arc["decades_from_characteristic"] < 0.3
    ell = math.sqrt(4e-15 / (2 * math.pi * char["diffusion[active]"]))
    assert 0.3 * 5.22e-6 < ell < 0.6 * 5.22e-6


def test_files_and_the_arc_zoom(small):
    folder, res = small
    if MPI.COMM_WORLD.rank == 0:
        for f in ("impedance.csv", "nyquist.png", "bode.png", "fields_active.vtkhdf",
                  "summary.json"):
            assert (folder / f).exists(), f
        s = json.loads((folder / "summary.json").read_text())
        assert s["status"] == "completed"
    f = np.array(res.column("frequency"))
    z = np.array(res.column("z_re")) + 1j * np.array(res.column("z_im"))
    w = arc_window(f, z)  # the capacitive tail dwarfs the arcs: a zoom from ~1-10 Hz up
    assert w is not None and 0.1 < f[w.start] < 100
    assert arc_window(f[w], z[w]) is None  # no tail above it


@several_ranks
def test_same_spectrum_on_one_and_all_ranks():
    """1e-7 from 0.1 mHz up (found 4e-8); below, the blocking particles' nearly singular
    system (test_impedance_diffusion) leaves 1e-6 (found 3e-7 at 10 uHz)."""
    cfg = load_config(EIS, SMALL)
    par = run_study(cfg, progress=False, write=False, comm=MPI.COMM_WORLD)
    ser = run_study(cfg, progress=False, write=False, comm=MPI.COMM_SELF)
    z = [np.array(r.column("z_re")) + 1j * np.array(r.column("z_im")) for r in (par, ser)]
    err = np.abs(z[0] - z[1]) / np.abs(z[1])
    f = np.array(ser.column("frequency"))
    assert err[f >= 1e-4].max() < 1e-7
    assert err.max() < 1e-6


def test_a_bias_with_particles_is_refused(shared_tmp, capsys):
    assert_refused(capsys, ["run", str(EIS), "-q", "-o", str(shared_tmp / "bias"), "--set",
                            "impedance.bias_current_density=1 mA/cm^2",
                            *[x for s in SMALL for x in ("--set", s)]],
                   shared_tmp / "bias", ["impedance.bias_current_density", "active"])
