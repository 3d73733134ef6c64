"""problems/lfp_particle_ch.toml on a smaller particle and a coarser mesh (1 and 2 ranks):
a LiFePO4 particle discharged at 1C separates into Li-poor and Li-rich phases between the
binodal and the spinodal of its regular solution, and then fills on a flat voltage plateau
below E0, where the homogeneous open-circuit curve would rise; Li is conserved against the
charge passed; c stays inside (0, 1); the snapshots and plots are written.

problems/lfp_particle_coherent.toml (the same particle held coherent by the electrolyte):
it separates later, and its plateau is lower by the strain energy per mole of Li; the same
numbers on 1 and 2 ranks."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from conftest import LFP_SMALL, PROBLEMS, several_ranks
from scipy.optimize import brentq

from femcell._dolfinx import MPI
from femcell.config import load_config
from femcell.studies import run_study
from femcell.units import F, R

LFP = PROBLEMS / "lfp_particle_ch.toml"
SMALL = LFP_SMALL
T, OMEGA, E0 = 298.15, 11177.0, 3.422


def u_hom(x):
    """Open-circuit voltage of the homogeneous regular solution [V]."""
    return E0 - (R * T * math.log(x / (1 - x)) + OMEGA * (1 - 2 * x)) / F


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    c = MPI.COMM_WORLD
    folder = tmp_path_factory.mktemp("lfp") if c.rank == 0 else None
    folder = c.bcast(folder, root=0)
    cfg = load_config(LFP, SMALL)
    return cfg, folder / "run", run_study(cfg, folder / "run", progress=False, source=str(LFP))


def at(rows, key, x):
    """`key` where the mean filling first passes x (linear interpolation)."""
    xs = np.array([r["c_active_mean"] for r in rows])
    k = int(np.flatnonzero(xs >= x)[0])
    w = (x - xs[k - 1]) / (xs[k] - xs[k - 1])
    return rows[k - 1][key] + w * (rows[k][key] - rows[k - 1][key])


def test_the_particle_separates_between_binodal_and_spinodal(small):
    _, _, res = small
    rows = res.quantities
    assert res.value("max_phase_contrast[active]") > 0.9
    spinodal = 0.5 * (1 - math.sqrt(1 - 2 * R * T / OMEGA))  # f'' = 0: 0.127
    binodal = brentq(lambda x: math.log(x / (1 - x)) + OMEGA * (1 - 2 * x) / (R * T),
                     1e-6, 0.4)  # mu(x) = mu(1/2) = 0: 0.011
    x_sep = res.value("filling_at_separation[active]")
    # the surface fills ahead of the mean: it separates before the mean reaches the spinodal
    assert binodal < x_sep < spinodal, (binodal, x_sep, spinodal)
    # the two phases are the binodal compositions (within the interface's share of nodes)
    end = rows[-1]
    assert end["c_active_min"] == pytest.approx(binodal, abs=0.01)
    assert end["c_active_max"] == pytest.approx(1 - binodal, abs=0.01)
    assert 0 < min(r["c_active_min"] for r in rows) and max(
        r["c_active_max"] for r in rows) < 1


def test_a_flat_plateau_below_e0(small):
    _, _, res = small
    rows = [r for r in res.quantities if r["c_active_mean"] > 0.2]
    v25, v50 = at(rows, "cell_voltage", 0.25), at(rows, "cell_voltage", 0.5)
    rise = u_hom(0.5) - u_hom(0.25)  # 30 mV on the homogeneous curve
    assert rise > 0.025
    assert abs(v50 - v25) < 0.15 * rise, (v25, v50)
    # discharge: the plateau sits below E0 by the overpotential (a few mV at 1C)
    assert E0 - 0.02 < res.value("voltage_at_half_filling[active]") < E0
    assert res.value("voltage_at_half_filling[active]") == pytest.approx(v50, abs=1e-3)


def li_conserved(rows):
    """The moles of Li in the particle change by the charge passed (to 1e-8)."""
    moles = np.array([r["c_active_moles"] for r in rows])
    current = np.array([r["current[active|electrolyte]"] for r in rows])
    t = np.array([r["t"] for r in rows])
    passed = -current[1:] * np.diff(t) / F
    assert np.allclose(np.diff(moles), passed, rtol=0, atol=1e-8 * np.abs(passed).max())


def test_li_is_conserved_against_the_charge(small):
    li_conserved(small[2].quantities)


def test_the_run_folder(small):
    _, folder, _ = small
    if MPI.COMM_WORLD.rank:
        return
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["status"] == "completed" and not summary.get("warnings")
    for f in ("c_snapshots.png", "voltage_filling.png", "voltage.png", "quantities.csv"):
        assert (folder / f).stat().st_size > 0, f


# ---------------------------------------------------------------- the coherent particle
COHERENT = PROBLEMS / "lfp_particle_coherent.toml"


@pytest.fixture(scope="module")
def coherent():
    # to a mean filling of 0.43 (the suite's time: the separation costs cut steps)
    cfg = load_config(COHERENT, [*SMALL, "protocol.0.until.time=1500 s"])
    return cfg, run_study(cfg, progress=False, write=False)


def test_coherency_delays_separation_and_lowers_the_plateau_by_the_strain_energy(
        small, coherent):
    """The coherent particle (same inputs, lfp misfit held by the electrolyte) separates later
    than the incoherent one, and on the plateau its voltage is lower by (1 / F) dE_el / dn:
    the strain energy each mole of Li stores in particle and electrolyte (Larche-Cahn: the
    voltage sees the coherency stress through the chemical potential at the surface; the
    energy is integrated over the whole cell). Found 31-32 mV against 30-32 mV."""
    _, _, inc = small
    _, coh = coherent
    x_inc = inc.value("filling_at_separation[active]")
    x_coh = coh.value("filling_at_separation[active]")
    assert x_coh > x_inc + 0.01, (x_inc, x_coh)
    ri = [r for r in inc.quantities if r["c_active_mean"] > 0.2]
    rc = [r for r in coh.quantities if r["c_active_mean"] > 0.2]
    xc = np.array([r["c_active_mean"] for r in rc])
    energy = np.array([r["elastic_energy"] for r in rc])
    moles = np.array([r["c_active_moles"] for r in rc])
    for x in (0.3, 0.4):
        dv = at(ri, "cell_voltage", x) - at(rc, "cell_voltage", x)
        near = np.abs(xc - x) < 0.03  # the local slope of the strain energy
        slope = np.polyfit(moles[near], energy[near], 1)[0] / F
        assert dv > 0.02, (x, dv)  # the stress term matters (0 without coherency)
        assert dv == pytest.approx(slope, rel=0.08), (x, dv, slope)
    # the headline's estimate (a fit over x = 0.25-0.43 here) next to the measured shift
    est = -coh.value("coherency_voltage_shift[active]")
    assert est == pytest.approx(at(ri, "cell_voltage", 0.35) - at(rc, "cell_voltage", 0.35),
                                rel=0.08)
    assert "coherency_voltage_shift[active]" not in inc.headline


def test_the_coherent_particle_conserves_li_and_stays_in_bounds(coherent):
    rows = coherent[1].quantities
    li_conserved(rows)
    assert 0 < min(r["c_active_min"] for r in rows) and max(
        r["c_active_max"] for r in rows) < 1
    assert all(r["elastic_energy"] >= 0 for r in rows)


@several_ranks
def test_the_coherent_particle_on_one_rank(coherent):
    """The same numbers on one rank (this covers the incoherent particle's path too: the
    same Cahn-Hilliard region with its surface reaction, plus the mechanics)."""
    cfg, res = coherent
    ser = run_study(cfg, progress=False, write=False, comm=MPI.COMM_SELF)
    for key in ("filling_at_separation[active]", "final_stoichiometry[active]",
                "final_cell_voltage"):
        assert ser.value(key) == pytest.approx(res.value(key), rel=1e-6), key
    # the strain energy (and the stresses) read a copy of the particle's field on the whole
    # mesh: the same on both
    for key in ("elastic_energy", "u_strain_energy", "u_von_mises_max"):
        assert ser.quantities[-1][key] == pytest.approx(res.quantities[-1][key], rel=1e-6), key
