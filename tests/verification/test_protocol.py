"""Experiment protocols driving a symmetric cell (charge transport + kinetics)."""

from __future__ import annotations

import pytest
from conftest import layered_builder

from femcell.domain import Domain
from femcell.materials import Arrhenius, Conductor
from femcell.physics.charge import ChargeTransport
from femcell.physics.kinetics import ButlerVolmer, InterfaceKinetics
from femcell.problem import Problem
from femcell.protocol import Protocol, ProtocolError, ProtocolRunner, Repeat, Step, Until
from femcell.solvers import StepController, TimeIntegrator
from femcell.units import to_si

LE, LS, W = 20e-6, 100e-6, 20e-6
SIGMA = 0.05
LAW = ButlerVolmer(Arrhenius.ev(10.0, 0.3), 0.5, 0.5)
SE = Conductor("se", Arrhenius.ev(SIGMA, 0.35))
ASR = 2 * LAW.charge_transfer_resistance() + LS / SIGMA  # metals add ~4e-12 ohm m^2


@pytest.fixture(scope="module")
def cell():
    return Domain.from_builder(layered_builder([LE, LS, LE], W, 10e-6))


def _runner(cell, dt=1.0, rise=0.0):
    metal = Conductor("li", Arrhenius(1.1e7), "electron")
    phys = ChargeTransport({"anode": metal, "electrolyte": SE, "cathode": metal},
                           [InterfaceKinetics("anode", "electrolyte", LAW),
                            InterfaceKinetics("cathode", "electrolyte", LAW)])
    pb = Problem(cell, [phys])
    pb.initialise()
    integ = TimeIntegrator(pb, StepController(dt_initial=dt, adaptive=False))
    rows = []
    return ProtocolRunner(pb, phys, integ, dt=dt, rise_time=rise, record=rows.append), rows


def test_constant_current_until_charge_lands_exactly(cell):
    runner, rows = _runner(cell, dt=7.0)
    q = to_si("0.01 mAh/cm^2", "charge_density")
    i = to_si("0.1 mA/cm^2", "current_density")
    s = runner.run(Protocol([Step("current", current_density=i, until=Until(charge=q))]))
    assert s[0].reason == "charge"
    assert s[0].t_end == pytest.approx(q / i, rel=1e-12)
    assert s[0].charge == pytest.approx(q, rel=1e-9)
    assert rows[-1]["cell_voltage"] == pytest.approx(i * ASR, rel=1e-3)


def test_ramp_until_voltage(cell):
    """V = ASR r t at small currents: the ramp ends within one time step of V*/(ASR r)."""
    runner, rows = _runner(cell, dt=0.5)
    rate, vstar = 0.05, 0.01  # A/m^2/s, V (small signal: BV is linear to 1e-3)
    s = runner.run(Protocol([Step("ramp", rate=rate, until=Until(voltage_above=vstar,
                                                                  time=1e4))]))
    assert s[0].reason == "voltage_above"
    t_exact = vstar / (ASR * rate)
    assert t_exact <= s[0].t_end < t_exact + 0.5 + 1e-9
    # the voltage rises linearly with the ramped current
    for r in rows:
        assert r["cell_voltage"] == pytest.approx(r["current_density"] * ASR, rel=1e-3)


def test_hold_rest_repeat_and_temperature(cell):
    runner, rows = _runner(cell, dt=2.0)
    i = 2.0
    proto = Protocol([
        Repeat(2, (Step("current", current_density=i, until=Until(time=10.0), label="strip"),
                   Step("current", current_density=-i, until=Until(time=10.0),
                        label="plate"))),
        Step("rest", until=Until(time=4.0), label="rest"),
        Step("hold", voltage=0.01, until=Until(time=4.0), label="hold"),
        Step("current", current_density=i, temperature=333.15, until=Until(time=4.0),
             label="hot"),
    ])
    s = runner.run(proto)
    assert [x.label for x in s] == ["strip", "plate", "strip", "plate", "rest", "hold", "hot"]
    assert [x.cycle for x in s[:4]] == [0, 0, 1, 1]
    v = {x.label: x.end_quantities["cell_voltage"] for x in s}
    assert s[0].end_quantities["cell_voltage"] == pytest.approx(i * ASR, rel=2e-3)
    assert s[1].end_quantities["cell_voltage"] == pytest.approx(-i * ASR, rel=2e-3)
    assert abs(v["rest"]) < 1e-9
    # holding 10 mV draws I = V / ASR (small signal)
    assert s[5].end_quantities["current_density"] == pytest.approx(0.01 / ASR, rel=5e-3)
    assert v["hold"] == pytest.approx(0.01, rel=1e-9)
    # at 60 degC both sigma and i0 rise: the voltage at the same current falls
    assert v["hot"] < 0.5 * v["strip"]


def test_large_current_step_is_cut_and_retried(cell):
    """A jump to 1 A/cm^2 fails in one Newton solve; with a potentiostat rise time the
    stepper cuts the step and walks into it, never accepting an unconverged solve."""
    runner, _ = _runner(cell, dt=10.0, rise=5.0)
    runner.problem._opts  # noqa: B018 - the problem exists
    s = runner.run(Protocol([Step("current", current_density=1e4, until=Until(time=20.0))]))
    assert runner.integ.rejected > 0
    assert s[0].end_quantities["current_density"] == pytest.approx(1e4, rel=1e-8)
    assert max(rec["newton_its"] for rec in runner.integ.log) <= 12


def test_protocol_from_tables_and_errors():
    conv = lambda dim, key, v: to_si(v, dim, name=key)  # noqa: E731
    p = Protocol.from_dicts([
        {"kind": "current", "current_density": "1 mA/cm^2", "until": {"charge": "1 mAh/cm^2"}},
        {"repeat": 3, "steps": [{"kind": "rest", "until": {"time": "1 min"}}]},
    ], conv)
    steps = list(p.steps())
    assert len(steps) == 4
    assert steps[0][1].time_limit() == pytest.approx(3600.0)
    with pytest.raises(ProtocolError, match="until"):
        Protocol.from_dicts([{"kind": "rest"}], conv)
    with pytest.raises(ProtocolError, match="kind"):
        Protocol.from_dicts([{"kind": "dance", "until": {"time": 1}}], conv)
    with pytest.raises(ProtocolError, match="unknown key"):
        Protocol.from_dicts([{"kind": "rest", "until": {"time": 1}, "colour": 1}], conv)


def test_charge_limit_with_a_rise_time(cell):
    """With a potentiostat rise time the step still ends exactly at the charge limit."""
    runner, _ = _runner(cell, dt=3.0, rise=2.0)
    q, i = 100.0, 10.0  # C/m^2, A/m^2
    s = runner.run(Protocol([Step("current", current_density=i, until=Until(charge=q))]))
    assert s[0].reason == "charge"
    assert s[0].charge == pytest.approx(q, rel=1e-9)
    assert s[0].t_end == pytest.approx(2.0 + (q - 0.5 * i * 2.0) / i, rel=1e-12)


def test_steps_that_could_never_end_are_refused():
    with pytest.raises(ProtocolError, match="can end a 'rest' step"):
        Step("rest", until=Until(charge=1.0))
    with pytest.raises(ProtocolError, match="can end a 'current' step"):
        Step("current", current_density=1.0, until=Until(current_below=0.1))
    with pytest.raises(ProtocolError, match="quantity"):
        Step("rest", until=Until(quantity=("contact", "sideways", 0.5)))
    conv = lambda dim, key, v: to_si(v, dim, name=key)  # noqa: E731
    with pytest.raises(ProtocolError, match="protocol.0"):
        Protocol.from_dicts([{"repeat": "two", "steps": [{"kind": "rest",
                                                          "until": {"time": 1}}]}], conv)
    with pytest.raises(ProtocolError, match="protocol.0.until"):
        Protocol.from_dicts([{"kind": "rest", "until": 5}], conv)


def test_unknown_quantity_in_until_is_reported(cell):
    runner, _ = _runner(cell, dt=1.0)
    with pytest.raises(ProtocolError, match="not a recorded quantity"):
        runner.run(Protocol([Step("rest", until=Until(quantity=("kontact", "below", 0.5),
                                                         time=10.0))]))


def test_a_limit_that_stops_the_protocol(cell):
    """until.stop: the step that ends at its voltage limit ends the protocol (the rest and
    the second current step never run); ended by time it would not."""
    conv = lambda dim, key, v: to_si(v, dim, name=key)  # noqa: E731
    v_stop = 0.5 * to_si("1 mA/cm^2", "current_density") * ASR
    items = [{"kind": "current", "current_density": "1 mA/cm^2",
              "until": {"time": "1 h", "voltage_above": f"{v_stop} V", "stop": True}},
             {"kind": "rest", "until": {"time": "1 min"}}]
    runner, _ = _runner(cell, dt=1.0, rise=20.0)
    s = runner.run(Protocol.from_dicts(items, conv))
    assert [x.reason for x in s] == ["voltage_above"]
    assert runner.ended_by == "voltage_above"
    items[0]["until"] = {"time": "5 s", "voltage_above": "10 V", "stop": True}  # not reached
    runner, _ = _runner(cell, dt=1.0)
    s = runner.run(Protocol.from_dicts(items, conv))
    assert [x.reason for x in s] == ["time", "time"]
    with pytest.raises(ProtocolError, match="until.stop"):
        Protocol.from_dicts([{"kind": "rest", "until": {"time": 1, "stop": "yes"}}], conv)
    with pytest.raises(ProtocolError, match="until.stop needs a limit other than time"):
        Protocol.from_dicts([{"kind": "rest", "until": {"time": 1, "stop": True}}], conv)


def test_impedance_steps_measure_the_present_state(cell):
    """An impedance step takes no time, calls `measure` with the state at the current of
    the step before it, and takes no until-condition or current."""
    seen = []
    runner, _ = _runner(cell, dt=1.0)
    runner.measure = lambda index, step, t, q: seen.append((index, t, q["current_density"]))
    i = to_si("0.1 mA/cm^2", "current_density")
    s = runner.run(Protocol([Step("impedance", label="a"),
                             Step("current", current_density=i, until=Until(time=3.0)),
                             Step("impedance", label="b")]))
    assert [x.reason for x in s] == ["measured", "time", "measured"]
    assert seen[0] == (0, 0.0, pytest.approx(0.0, abs=1e-12))
    assert seen[1][:2] == (2, pytest.approx(3.0)) and seen[1][2] == pytest.approx(i, rel=1e-6)
    assert s[2].t_start == s[2].t_end == pytest.approx(3.0)
    with pytest.raises(ProtocolError, match="x: an impedance step takes no until.time"):
        Step("impedance", label="x", until=Until(time=1.0))
    with pytest.raises(ProtocolError, match="current_density"):
        Step("impedance", label="x", current_density=1.0)
    runner, _ = _runner(cell, dt=1.0)
    with pytest.raises(ProtocolError, match="takes no impedance steps"):
        runner.run(Protocol([Step("impedance", label="x")]))


DL_STUDY = """
temperature = "25 degC"
[study]
name = "double_layer_step"
kind = "protocol"
[geometry]
builder = "symmetric_cell"
[geometry.params]
dim = 2
width = "20 um"
electrolyte_thickness = "30 um"
anode_thickness = "5 um"
cathode_thickness = "5 um"
h = "5 um"
[charge]
conductors = { anode = "li", electrolyte = "llzo", cathode = "li" }
double_layer_capacitance = { anode = "100 uF/cm^2", cathode = "50 uF/cm^2" }
[[kinetics]]
electrode = "anode"
law = "linear"
exchange_current_density = "10 mA/cm^2"
[[kinetics]]
electrode = "cathode"
law = "linear"
exchange_current_density = "10 mA/cm^2"
[time]
dt = "5 us"
[[protocol]]
kind = "current"
current_density = "1 mA/cm^2"
until = { time = "1.5 ms" }
"""


def test_double_layer_of_the_study_file_charges_with_r_ct_c_dl():
    """[charge] double_layer_capacitance: after a current step each interface's
    overpotential rises as I R_ct (1 - exp(-t / (R_ct C_dl))) (linear kinetics,
    R_ct = RT / (F i0)), on top of the electrolyte's instant ohmic drop; two interfaces of
    different C_dl (time constants 0.26 and 0.13 ms), BDF2 at a step of tau / 26 or less."""
    import tomllib

    import numpy as np

    from femcell.config import load_config
    from femcell.materials import get_material
    from femcell.studies import run_study
    from femcell.units import F, R

    res = run_study(load_config(data=tomllib.loads(DL_STUDY)), progress=False, write=False)
    i, i0 = 10.0, 100.0  # A/m^2
    rct = R * 298.15 / (F * i0)
    r_ohm = 30e-6 / get_material("llzo").conductivity(298.15)
    t, v = res.column("t"), res.column("cell_voltage")
    tau = rct * np.array([1.0, 0.5])  # F/m^2: 100 and 50 uF/cm^2
    exact = i * r_ohm + i * rct * ((1 - np.exp(-t[:, None] / tau)).sum(axis=1))
    late = t > 1e-4  # past the first steps (BDF start-up)
    assert np.abs(v - exact)[late].max() < 5e-3 * exact[-1]
    for name, tau_k in zip(("anode", "cathode"), tau, strict=True):  # each its own
        eta = np.abs(res.column(f"eta_mean[{name}|electrolyte]"))
        assert np.abs(eta - i * rct * (1 - np.exp(-t / tau_k)))[late].max() < 5e-3 * i * rct
    assert v[-1] == pytest.approx(i * (r_ohm + 2 * rct), rel=5e-3)  # 6 tau: charged
    early = np.argmin(np.abs(t - 0.05e-3))  # far from steady: the double layer matters
    assert v[early] - i * r_ohm < 0.5 * (v[-1] - i * r_ohm)
    from femcell.config import ConfigError

    bad = DL_STUDY.replace('cathode = "50 uF/cm^2"', 'separator = "50 uF/cm^2"')
    with pytest.raises(ConfigError, match="charge.double_layer_capacitance.separator: not an "
                                          "electrode"):
        run_study(load_config(data=tomllib.loads(bad)), progress=False, write=False)
