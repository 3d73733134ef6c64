"""A metal anode that thins on the mesh as built from a study file ([anode] geometry =
"moving": rigid collector, held pores and interface, sliding walls, the collector following
creep closure too), through the same path as `femcell run` on 1 and 2 ranks: a Li cell under
stack pressure stripped until the anode is used up."""

from __future__ import annotations

import pytest

from femcell._dolfinx import MPI
from femcell.config import load_config
from femcell.materials import get_material
from femcell.physics.anode import THINNEST
from femcell.studies import run_study
from femcell.units import F

LA = 6e-6
STUDY = {
    "temperature": 298.15,
    "study": {"name": "moving_anode", "kind": "protocol"},
    "geometry": {"builder": "symmetric_cell", "params": {
        "dim": 2, "width": "4 um", "electrolyte_thickness": "20 um", "anode_thickness": "6 um",
        "cathode_thickness": "20 um", "h": "2 um"}},
    "charge": {"conductors": {"anode": "li", "electrolyte": "li6ps5cl", "cathode": "li"}},
    "kinetics": [{"electrode": e, "exchange_current_density": "10 mA/cm^2",
                  "activation_energy": "0.2 eV"} for e in ("anode", "cathode")],
    # library Li on Li6PS5Cl under 5 MPa: a few % of the vacancies condense into voids,
    # which creep closes as fast as they open
    "anode": {"parameters": "li|li6ps5cl", "geometry": "moving",
              "interface": {"stack_pressure": "5 MPa"}},
    "time": {"dt": "30 s", "rise_time": "0.5 s"},
    "protocol": [{"kind": "current", "current_density": "1.5 mA/cm^2",
                  "until": {"time": "2 h"}, "label": "strip"}],
    "output": {"fields": False, "plots": False},
}


def test_a_strip_through_the_anode_moves_the_collector_and_stops_when_it_is_used_up():
    res = run_study(load_config(data=STUDY), progress=False, write=False,
                    comm=MPI.COMM_WORLD)
    steps = res.summary["protocol_steps"]
    assert steps[0]["ended_by"].startswith("stop: anode used up")
    speed = 15.0 * get_material("li").molar_volume / F  # j Omega / F, voids included
    thick, balance = res.column("anode_thickness"), res.column("lattice_balance")
    t = res.column("t")
    assert thick[-1] == pytest.approx(THINNEST * LA, abs=2e-3 * LA)
    assert t[-1] == pytest.approx((1 - THINNEST) * LA / speed, rel=3e-3)
    assert -res.column("front_velocity")[-1] == pytest.approx(speed, rel=1e-3)
    assert res.column("voided_moles")[-1] > 0.01 * res.column("stripped_moles")[-1]
    assert max(abs(b) for b in balance) < 1e-6  # BDF2: a start-up offset, 3.6e-7 found
    # the same run on one rank
    ser = run_study(load_config(data=STUDY), progress=False, write=False, comm=MPI.COMM_SELF)
    assert ser.column("anode_thickness")[-1] == pytest.approx(thick[-1], rel=1e-8)


def test_an_axisymmetric_cell_gives_the_planar_critical_current():
    """The flagship cell (moving anode) in axisymmetric coordinates: a flat, uniform
    interface has the planar j_crit. The interface's nodal rows carry the lumped coordinate
    weight; with w(x_i) = 2 pi r_i the node on the axis had no rows and the first solve
    failed (DIVERGED_PCSETUP_FAILED)."""
    from conftest import PROBLEMS

    sets = ['ramp.temperatures=["25 degC"]', 'cases=[{name = "i"}]', "output.fields=false",
            "output.plots=false"]
    ccd = PROBLEMS / "na_ccd_ramp.toml"
    planar = run_study(load_config(ccd, sets), progress=False, write=False,
                       comm=MPI.COMM_WORLD)
    axi = run_study(load_config(ccd, [*sets, "geometry.coordinates=axisymmetric"]),
                    progress=False, write=False, comm=MPI.COMM_WORLD)
    assert axi.value("j_crit[i]") == pytest.approx(planar.value("j_crit[i]"), rel=1e-4)
