"""A [cahn_hilliard] particle as the electrode of a [[kinetics]] reaction (Bazant / Cogswell
form), checked where the answer is known in closed form (1 and 2 ranks): a particle whose
regular solution does not separate (Omega < 2 R T) and whose diffusion is fast fills
uniformly, so
- its moles change by exactly the charge its surface passed (-int j dA dt / F);
- at rest the cell voltage is U_eq = E0 - mu(c) / F with mu = R T ln(c / (1 - c)) +
  Omega (1 - 2 c) at its mean filling (the Li foil is at 0 V);
- while it fills, the surface current obeys Butler-Volmer with the Bazant exchange current
  i0 (1 - c) exp(alpha_c mu / R T) / 0.5 (alpha_a != alpha_c here: a swapped coefficient, the
  ideal-solution factor or a missing Omega term fail);
- the same numbers on 1 and 2 ranks."""

from __future__ import annotations

import math

import numpy as np
import pytest

from femcell._dolfinx import MPI
from femcell.config import load_config
from femcell.config.base import ConfigError
from femcell.studies import run_study
from femcell.units import F, R

E0, OMEGA, VM, I0, AA, AC = 3.42, 3000.0, 43.8e-6, 1.0, 0.6, 0.4  # V, J/mol, m^3/mol, A/m^2
T = 298.15

STUDY = f"""
temperature = "25 degC"

[study]
name = "ch_particle_homogeneous"
kind = "protocol"

[geometry]
builder = "symmetric_cell"
[geometry.params]
dim = 2
width = "20 um"
electrolyte_thickness = "10 um"
anode_thickness = "5 um"
cathode_thickness = "20 um"
h = "1 um"
cathode = "composite"
composite = {{ volume_fraction = 0.19634954, radius_mean = "5 um", seed = 1 }}

[charge]
conductors = {{ anode = "li", electrolyte = "li6ps5cl" }}
current_cc = "anode_cc"
ground_electrode = "active"

[cahn_hilliard]
region = "active"
kappa = "1e-6 J/m"
diffusivity = "1e-11 m^2/s"
standard_potential = "{E0} V"
initial = {{ kind = "uniform", value = 0.1 }}

[cahn_hilliard.energy]
kind = "regular_solution"
interaction = "{OMEGA} J/mol"
molar_volume = "{VM} m^3/mol"

[[kinetics]]
electrode = "anode"
exchange_current_density = "25 mA/cm^2"

[[kinetics]]
electrode = "active"
exchange_current_density = "{I0} A/m^2"
alpha_a = {AA}
alpha_c = {AC}

[time]
dt = "20 s"

[[protocol]]
kind = "current"
current_density = "0.5 mA/cm^2"
until = {{ time = "600 s" }}
label = "discharge"

[[protocol]]
kind = "rest"
until = {{ time = "300 s" }}
label = "rest"

[output]
plots = false
fields = false
"""


def mu_rt(c):
    """Chemical potential of the regular solution over R T."""
    return math.log(c / (1 - c)) + OMEGA * (1 - 2 * c) / (R * T)


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    c = MPI.COMM_WORLD
    path = tmp_path_factory.mktemp("ch") / "study.toml" if c.rank == 0 else None
    path = c.bcast(path, root=0)
    if c.rank == 0:
        path.write_text(STUDY)
    c.barrier()
    cfg = load_config(path)
    return path, cfg, run_study(cfg, progress=False, write=False, comm=MPI.COMM_WORLD)


def test_moles_follow_the_charge(result):
    *_, res = result
    rows = [r for r in res.quantities if r["label"] == "discharge"]
    moles = np.array([r["c_active_moles"] for r in rows])
    current = np.array([r["current[active|electrolyte]"] for r in rows])  # A/m, cathodic < 0
    dt = np.diff([r["t"] for r in rows])
    # the particle fills (0.1 -> ~0.45): constant current, so every step passes the same charge
    assert rows[-1]["c_active_mean"] > 0.4
    assert np.allclose(np.diff(moles), -current[1:] * dt / F, rtol=1e-6, atol=0)


def test_rest_voltage_is_the_chemical_potential(result):
    *_, res = result
    end = res.quantities[-1]
    c = end["c_active_mean"]
    assert end["c_active_max"] - end["c_active_min"] < 1e-3  # uniform: no phase separation
    expected = E0 - R * T / F * mu_rt(c)
    assert end["cell_voltage"] == pytest.approx(expected, abs=2e-5)
    # the Omega term alone is 2.7 mV here: without it the check fails
    assert abs(OMEGA * (1 - 2 * c) / F) > 100 * 2e-5


def test_surface_current_is_bazant_butler_volmer(result):
    *_, res = result
    f = F / (R * T)
    for r in [r for r in res.quantities if r["label"] == "discharge"][3::6]:
        c, eta, j = r["c_active_mean"], r["eta_mean[active|electrolyte]"], \
            r["j_mean[active|electrolyte]"]
        bv = math.exp(AA * f * eta) - math.exp(-AC * f * eta)
        bazant = (1 - c) / 0.5 * math.exp(AC * mu_rt(c))
        assert j == pytest.approx(I0 * bazant * bv, rel=2e-3), c
        ideal = (c / 0.5) ** AC * ((1 - c) / 0.5) ** AA
        swapped = (1 - c) / 0.5 * math.exp(AA * mu_rt(c))
        assert abs(ideal / bazant - 1) > 0.02 and abs(swapped / bazant - 1) > 0.02


def test_the_ideal_exchange_factor(result):
    path, _, _ = result
    cfg = load_config(path, ['cahn_hilliard.exchange="ideal"', "protocol.0.until.time=200 s",
                             "protocol.1.until.time=20 s"])
    res = run_study(cfg, progress=False, write=False, comm=MPI.COMM_WORLD)
    f = F / (R * T)
    for r in [r for r in res.quantities if r["label"] == "discharge"][2:]:
        c, eta, j = r["c_active_mean"], r["eta_mean[active|electrolyte]"], \
            r["j_mean[active|electrolyte]"]
        ideal = (c / 0.5) ** AC * ((1 - c) / 0.5) ** AA
        bv = math.exp(AA * f * eta) - math.exp(-AC * f * eta)
        assert j == pytest.approx(I0 * ideal * bv, rel=2e-3), c


def test_same_numbers_on_one_rank(result):
    _, cfg, res = result
    if MPI.COMM_WORLD.size == 1:
        pytest.skip("compares ranks: runs under mpiexec -n 2")
    ser = run_study(cfg, progress=False, write=False, comm=MPI.COMM_SELF)
    for key in ("cell_voltage", "c_active_mean", "c_active_max"):
        assert ser.quantities[-1][key] == pytest.approx(res.quantities[-1][key], rel=1e-8,
                                                        abs=1e-12), key


@pytest.mark.parametrize("override, culprit", [
    ('cahn_hilliard.region="nowhere"', "cahn_hilliard.region"),
    ('cahn_hilliard.mobility="1e-20 m^5/(J*s)"', "cahn_hilliard.mobility"),
    ("cahn_hilliard.diffusivity=[[1e-14, 0], [0, 1e-16], [0, 0]]", "cahn_hilliard.diffusivity"),
    ("cahn_hilliard.diffusivity=[[1e-14, 0, 0], [0, 1e-16, 0], [0, 0, 1]]",
     "cahn_hilliard.diffusivity"),
    ("cahn_hilliard.diffusivity=[[1e-14, 0], [0, -1e-16]]", "cahn_hilliard.diffusivity"),
    ('cahn_hilliard.energy={kind="double_well", rho="1 J/m^3"}', "cahn_hilliard.diffusivity"),
    ('kinetics.1.electrode="cathode_none"', "cahn_hilliard.standard_potential: 'active' is not"),
    ('protocol.0.temperature="40 degC"', "cahn_hilliard"),
])
def test_bad_particle_input_is_named(result, override, culprit):
    path, _, _ = result
    with pytest.raises(ConfigError, match=culprit):
        run_study(load_config(path, [override]), progress=False, write=False,
                  comm=MPI.COMM_WORLD)


@pytest.mark.parametrize("drop, culprit", [
    (("diffusivity",), "cahn_hilliard.mobility"),  # neither mobility nor diffusivity
    (("region", "standard_potential"), "cahn_hilliard.standard_potential"),  # not coupled
    (("standard_potential",), "cahn_hilliard.exchange"),  # an exchange without a reaction
])
def test_a_protocol_particle_must_be_a_coupled_electrode(result, drop, culprit):
    import tomllib

    path, _, _ = result
    data = tomllib.loads(path.read_text())
    data["cahn_hilliard"]["exchange"] = "ideal"
    if "exchange" not in culprit:
        data["cahn_hilliard"].pop("exchange")
    for key in drop:
        data["cahn_hilliard"].pop(key)
    with pytest.raises(ConfigError, match=culprit):
        load_config(data=data)
