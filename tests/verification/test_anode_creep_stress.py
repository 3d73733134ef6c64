"""Creep closure under the solved stress ([anode.interface] creep_stress = "mechanics"): on a
flat, uniform interface the solved normal stress is the stack pressure at every node (force
balance), so j_crit equals the mean-field (stack pressure per contact) ramp; the options are
checked by name. Runs on 1 and 2 ranks."""

from __future__ import annotations

import pytest

from femcell.config.base import ConfigError
from femcell.config.compose import load_config
from femcell.protocol import Protocol, ProtocolRunner, Step, Until
from femcell.sections import build_physics
from femcell.solvers import StepController, TimeIntegrator
from femcell.studies.lifecycle import build_domain

P_STACK = 2e6  # Pa: creep closure raises the library Na j_crit by ~50 % at 2 MPa

CELL = """
[study]
name = "creep_stress"
kind = "ccd_ramp"

[geometry]
builder = "symmetric_cell"
params = { dim = 2, width = "4 um", electrolyte_thickness = "20 um", h = "2 um", \
anode_thickness = "20 um", cathode_thickness = "20 um" }

[charge]
conductors = { anode = "na", electrolyte = "na_beta_alumina", cathode = "na" }

[[kinetics]]
electrode = "anode"
exchange_current_density = "10 mA/cm^2"
activation_energy = "0.2 eV"

[[kinetics]]
electrode = "cathode"
exchange_current_density = "10 mA/cm^2"
activation_energy = "0.2 eV"

[anode]
parameters = "na|na_beta_alumina"
interface = INTERFACE

[ramp]
rate = "0.3 mA/cm^2/min"
dt = "1 s"
temperatures = ["25 degC"]

[[cases]]
name = "library"
"""

MECHANICS = """
[mechanics]
materials = { anode = "na", electrolyte = "na_beta_alumina", cathode = "na" }
creep = true
bc = [ { region = "anode_cc", pressure = "2 MPa" }, { region = "cathode_cc", symmetry = true },
       { region = "sides", symmetry = true } ]
"""


def _cfg(tmp_path, interface: str, mechanics: bool):
    path = tmp_path / "cell.toml"
    path.write_text(CELL.replace("INTERFACE", interface) + (MECHANICS if mechanics else ""))
    return load_config(path)


def _ramp(cfg):
    """One stripping ramp at 25 degC to contact 0.9: (j_crit [A m^-2], rows)."""
    from femcell.analysis import detect_ccd
    from femcell.problem import Problem

    domain = build_domain(cfg)
    physics, ctx = build_physics(cfg, domain, 298.15)
    problem = Problem(domain, physics)
    problem.initialise()
    integ = TimeIntegrator(problem, StepController(dt_initial=1.0, adaptive=False))
    rows = []
    ProtocolRunner(problem, ctx.info["charge"], integ, dt=1.0, record=rows.append).run(
        Protocol([Step("ramp", rate=cfg.ramp.rate, until=Until(
            quantity=("contact_fraction", "below", 0.9), time=1e4))]))
    return detect_ccd(rows, criterion="contact", threshold=0.99), rows


def test_creep_under_the_solved_stress_of_a_flat_interface_is_the_stack_pressure_law(tmp_path):
    j_stack, _ = _ramp(_cfg(tmp_path, '{ stack_pressure = "2 MPa" }', mechanics=False))
    j_none, _ = _ramp(_cfg(tmp_path, "{}", mechanics=False))
    j_mech, rows = _ramp(_cfg(tmp_path, '{ creep_stress = "mechanics" }', mechanics=True))
    # the creep matters here (the comparison could fail), and the solved stress gives it
    assert j_stack > 1.3 * j_none
    assert j_mech == pytest.approx(j_stack, rel=2e-3)
    # the nodal pressures the creep law sees: the stack pressure everywhere (force balance)
    last = rows[-1]
    for key in ("pressure_mean", "pressure_min", "pressure_max"):
        assert last[key] == pytest.approx(P_STACK, rel=2e-3), key
    assert last["u_normal_stress[anode_cc]"] == pytest.approx(-P_STACK, rel=1e-6)
    # the creep closed metal: the ledger books it
    assert last["creep_closed_volume"] > 0


def test_solved_stress_options_are_checked_by_name(tmp_path):
    cfg = _cfg(tmp_path, '{ creep_stress = "mechanics" }', mechanics=False)
    domain = build_domain(cfg)
    with pytest.raises(ConfigError, match=r"creep_stress = \"mechanics\" needs a \[mechanics\]"):
        build_physics(cfg, domain, 298.15)
    with pytest.raises(ConfigError, match="stack_pressure"):
        _cfg(tmp_path, '{ creep_stress = "mechanics", stack_pressure = "1 MPa" }',
             mechanics=True)


def test_a_symmetry_region_may_be_several_axis_planes_but_not_a_curve():
    """The box sides (x = 0 and x = W) hold u_x = 0 together; a pore's curved wall is refused
    with the region named."""
    from femcell.domain import Domain
    from femcell.materials.core import MaterialError
    from femcell.materials.mechanical import get_mechanics
    from femcell.physics.mechanics import Elasticity, Pressure, Symmetry
    from femcell.problem import Problem

    domain = Domain.from_builder("symmetric_cell", dim=2, width=4e-6, electrolyte_thickness=4e-6,
                                 anode_thickness=4e-6, cathode_thickness=4e-6, h=1e-6,
                                 pores={"interface": "anode", "radius": 0.8e-6, "count": 1,
                                        "seed": 1})
    mats = {r: get_mechanics(m).elastic for r, m in (("anode", "na"), ("cathode", "na"),
                                                    ("electrolyte", "na_beta_alumina"))}
    mech = Elasticity(mats, [Pressure("anode_cc", P_STACK), Symmetry("cathode_cc"),
                             Symmetry("sides")], mode="plane_strain")
    problem = Problem(domain, [mech])
    problem.initialise()
    problem.solve_step(1.0, 1.0, 1, None)
    q = mech.quantities()
    # the sides carry no vertical load: the stack pressure arrives at the far collector
    assert q["u_normal_stress[cathode_cc]"] == pytest.approx(-P_STACK, rel=1e-4)
    # both side planes hold u_x = 0, and the body does move elsewhere
    import numpy as np

    from femcell._dolfinx import MPI, dolfinx

    V0 = mech.V.sub(0).collapse()[0]
    ux = dolfinx.fem.Function(V0)
    ux.interpolate(mech.field.u.sub(0))
    scale = float(np.max(np.abs(ux.x.array))) if ux.x.array.size else 0.0
    scale = domain.comm.allreduce(scale, op=MPI.MAX)
    for x0 in (0.0, 4e-6):
        dofs = dolfinx.fem.locate_dofs_geometrical(V0, lambda x, x0=x0: np.isclose(x[0], x0))
        side = float(np.max(np.abs(ux.x.array[dofs]))) if dofs.size else 0.0
        assert domain.comm.allreduce(side, op=MPI.MAX) <= 1e-12 * scale, x0
    assert scale > 0
    with pytest.raises(MaterialError, match="'pore'.*not normal to a coordinate axis"):
        Problem(domain, [Elasticity(mats, [Symmetry("pore")], mode="plane_strain")])
