"""The study-file examples in README.md are valid study files (the documentation cannot drift
from the schema): the full example, the transient one, and the CCD tables with the
example's physics, the quasi-static (fracture) and the phase-field tables."""

from __future__ import annotations

import re
import tomllib

import pytest
from conftest import ROOT

from femcell.config import load_config


def _blocks() -> list[str]:
    text = (ROOT / "README.md").read_text()
    part = text[text.index("## Study file format"):text.index("## Python API")]
    return re.findall(r"```toml\n(.*?)```", part, flags=re.S)


def test_readme_examples_are_valid_study_files():
    full, transient, ccd, quasistatic, moving, phase_field, particle, eis = _blocks()
    cfg = load_config(data=tomllib.loads(full))
    assert cfg.kind == "protocol" and cfg.anode.interface.stack_pressure == pytest.approx(1e6)
    assert cfg.anode.vacancies.diffusivity > 0  # filled from the library set
    t = load_config(data=tomllib.loads(transient))
    assert t.kind == "transient" and t.diffusion.material.name == "nmc811"
    data = tomllib.loads(full)
    for key in ("temperature", "time", "protocol"):
        data.pop(key)
    data["study"]["kind"] = "ccd_ramp"
    c = load_config(data={**data, **tomllib.loads(ccd)})
    assert c.cases[0].set["anode.interface.stack_pressure"] == "2 MPa"
    assert [round(T - 273.15) for T in c.ramp.temperatures] == [25, 55, 80]
    q = tomllib.loads(quasistatic)
    q.update({"study": {"name": "q", "kind": "quasistatic"}, "geometry": {"builder": "plate"}})
    qc = load_config(data=q)
    assert qc.kind == "quasistatic" and qc.fracture.length == pytest.approx(2e-6)
    assert qc.mechanics.bc[0].displacement["y"] == pytest.approx(0.5e-6)
    mv = load_config(data={**tomllib.loads(transient), **tomllib.loads(moving)})
    assert mv.moving_front.jump == pytest.approx(19625) and mv.moving_front.slide == "auto"
    pf = tomllib.loads(phase_field)
    pf.update({"study": {"name": "p", "kind": "phase_field"}, "geometry": {"builder": "plate"},
               "time": {"end": 1000.0}})
    pc = load_config(data=pf)
    assert pc.kind == "phase_field" and pc.cahn_hilliard.kappa == pytest.approx(2e-12)
    assert pc.report_times == [100.0, 1000.0]
    # a Cahn-Hilliard particle in the protocol study (its [time] replaces the full one's)
    cell = tomllib.loads(full)
    cell.pop("anode")
    part = tomllib.loads(particle)
    cell["time"].update(part.pop("time"))
    pp = load_config(data={**cell, **part})
    assert pp.cahn_hilliard.standard_potential == pytest.approx(3.422)
    assert pp.cahn_hilliard.diffusivity[1][1] == pytest.approx(1e-15)
    assert pp.time.regrow == 2 and pp.time.dt == pytest.approx(60.0)
    # the impedance kind on the full example's cell, with resistive grain boundaries
    cell = tomllib.loads(full)
    for key in ("time", "protocol", "anode"):
        cell.pop(key)
    extra = tomllib.loads(eis)
    cell["charge"].update(extra.pop("charge"))
    cell["study"]["kind"] = "impedance"
    ic = load_config(data={**cell, **extra})
    assert ic.charge.grain_boundaries.thickness == pytest.approx(1e-8)
    assert ic.impedance.double_layer_capacitance["anode"] == pytest.approx(1.0)
    assert ic.impedance.frequencies.max == pytest.approx(1e9)
