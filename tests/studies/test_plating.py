"""The plating-CCD study (issue 13): below the critical current the metal pressure in the
flaw saturates in proportion to the current (the stress shift Omega p / F eats the local
overpotential), the metal is conserved, the Griffith estimate is printed next to the CCD;
bad [filament] / [plating] input is one line and exit 2."""

from __future__ import annotations

import json

import pytest
from conftest import PLATING_3D_SMALL, PROBLEMS, one_rank, several_ranks

from femcell import analytic_mechanics as am
from femcell import cli
from femcell._dolfinx import MPI
from femcell.config import load_config
from femcell.studies import run_study
from femcell.units import F

COMM = MPI.COMM_WORLD
STUDY = PROBLEMS / "li_dendrite_llzo.toml"


@one_rank("test_plating_same_on_one_and_all_ranks (the coupled step), test_run_lifecycle: "
          "li_dendrite_stack_stress.toml (a shut flaw)")
def test_plating_steps_saturate_the_flaw_pressure_in_proportion_to_the_current(shared_tmp):
    """1 and 2 mA/cm^2 (below the CCD of a 10 um flaw in LLZO): at the end of each step the
    deposition into the flaw has all but stopped (share < 1 %), the pressure has saturated
    (the last substep moves it by < 2 %), doubles with the current (linear kinetics and
    ohmic drop: ratio 2 within 10 %), stays below the Griffith pressure and is bounded by the
    local overpotential (Omega p / F < |eta_flat| + I a / sigma_LLZO); the crack holds the
    deposited metal to 1e-6; no short, no CCD; the Griffith estimate is K_IC,eff /
    (1.12 sqrt(pi a)) with the library K_IC of LLZO and its Omega p_c / F."""
    sets = ['plating.currents=["1 mA/cm^2", "2 mA/cm^2"]', "plating.substeps=3",
            "output.fields=false", "geometry.params.refine.h=1.25 um", "fracture.length=5 um"]
    cfg = load_config(STUDY, sets)
    res = run_study(cfg, shared_tmp / "plating", progress=False, source=str(STUDY))
    rows = res.quantities
    ends = []
    for label in ("1 mA/cm^2", "2 mA/cm^2"):
        mine = [r for r in rows if r["label"] == label]
        assert len(mine) == 3
        p = [r["crack_pressure"] for r in mine]
        assert abs(p[-1] - p[-2]) < 0.02 * p[-1]
        assert mine[-1]["filament_current_fraction"] < 0.01
        for r in mine:
            assert r["crack_volume"] == pytest.approx(r["filament_metal_deposited"], rel=1e-6)
            assert r["filament_short"] == 0.0
        ends.append(mine[-1])
    assert ends[1]["crack_pressure"] / ends[0]["crack_pressure"] == pytest.approx(2.0, rel=0.1)
    from femcell.materials import get_material

    omega = get_material("li").molar_volume
    sigma = get_material("llzo").conductivity(298.15)
    for r, i in zip(ends, (10.0, 20.0), strict=True):
        bound = abs(r["eta_mean[cathode|electrolyte]"]) + i * 10e-6 / sigma
        assert 0 < omega * r["crack_pressure"] / F < bound
    h = res.headline
    assert h["ccd"].value is None and h["onset_current"].value is None
    k_ic = 1.25e6
    p_nominal = am.griffith_surface_flaw_pressure(10e-6, k_ic)
    assert h["griffith_pressure"].value > p_nominal  # Gc_eff > Gc
    assert h["griffith_pressure"].value == pytest.approx(p_nominal, rel=0.1)
    assert h["griffith_overpotential"].value == pytest.approx(
        omega * h["griffith_pressure"].value / F, rel=1e-9)
    assert ends[1]["crack_pressure"] < 0.5 * h["griffith_pressure"].value
    if COMM.rank == 0:
        s = json.loads((shared_tmp / "plating" / "summary.json").read_text())
        assert s["status"] == "completed"
        assert [st["ended_by"] for st in s["plating_steps"]] == ["charge", "charge"]
        for f in ("flaw_pressure.png", "filament_length.png", "current.png", "voltage.png"):
            assert (shared_tmp / "plating" / f).exists(), f

    # a stack stress between the two saturation pressures presses the flaw shut at 1 mA/cm^2
    # (no metal enters: the flaw takes no current, its pressure is the stack stress) and
    # shields it at 2 mA/cm^2: the metal pressure saturates where the overpotential allows,
    # as without the stack stress, but the flaw holds only C (p - sigma_n) of metal
    stack = 0.5 * (ends[0]["crack_pressure"] + ends[1]["crack_pressure"])
    shielded = run_study(load_config(STUDY, sets + [f"fracture.stack_stress={stack} Pa"]),
                         progress=False, write=False)
    low = [r for r in shielded.quantities if r["label"] == "1 mA/cm^2"]
    high = [r for r in shielded.quantities if r["label"] == "2 mA/cm^2"]
    v_scale = ends[1]["crack_volume"]
    for r in low:
        assert r["filament_open"] == 0.0 and r["filament_current"] == 0.0
        assert abs(r["crack_volume"]) < 1e-9 * v_scale
        assert r["crack_pressure"] == pytest.approx(stack, rel=1e-9)
    assert high[-1]["filament_open"] == 1.0
    assert high[-1]["crack_pressure"] == pytest.approx(ends[1]["crack_pressure"], rel=0.05)
    share = (high[-1]["crack_pressure"] - stack) / high[-1]["crack_pressure"]
    assert high[-1]["crack_volume"] == pytest.approx(share * v_scale, rel=0.1)
    for r in shielded.quantities:
        assert r["crack_volume"] == pytest.approx(r["filament_metal_deposited"], rel=1e-6,
                                                  abs=1e-9 * v_scale)
    h0, h1 = res.headline, shielded.headline
    assert h1["stack_stress"].value == pytest.approx(stack)
    assert h1["griffith_pressure"].value == pytest.approx(
        h0["griffith_pressure"].value + stack, rel=1e-9)


@one_rank("test_plating_same_on_one_and_all_ranks (the coupled step on 2 ranks)")
def test_where_kinetics_limit_the_griffith_current_falls_as_a_to_the_minus_half():
    """Where the Griffith picture holds: slow kinetics (i0 = 0.5 mA/cm^2, so R_ct sigma_LLZO
    ~ 240 um >> a: the flat interface's overpotential, not the ohmic drop along the flaw,
    sets the overpotential at the flaw) make the saturated pressure at 0.1 mA/cm^2 the same
    for a 5 and a 20 um flaw (5 %), so the current that brings it to the Griffith pressure
    falls as a^-1/2 (log-log slope -0.5 +- 0.05; with fast kinetics the deeper flaw's larger
    ohmic drop steepens it, docs/dendrite.md)."""
    import numpy as np

    ends, est = [], []
    for a in ("5 um", "20 um"):
        sets = ['plating.currents=["0.1 mA/cm^2"]', "plating.substeps=3",
                "kinetics.0.exchange_current_density=0.5 mA/cm^2",
                "kinetics.1.exchange_current_density=0.5 mA/cm^2",
                f"fracture.initial_cracks.0.length={a}"]
        res = run_study(load_config(PROBLEMS / "li_dendrite_flaw_size.toml", sets),
                        progress=False, write=False)
        ends.append(res.quantities[-1]["crack_pressure"])
        assert res.headline["wagner_length"].value == pytest.approx(
            8.314462618 * 298.15 / (F * 5.0) * 0.046, rel=0.02)  # R_ct sigma_LLZO, 236 um
        est.append(res.headline["griffith_current"].value)
    assert ends[1] == pytest.approx(ends[0], rel=0.05)
    assert np.log(est[1] / est[0]) / np.log(4.0) == pytest.approx(-0.5, abs=0.05)


@one_rank("test_run_lifecycle: li_dendrite_temperature.toml (one point through the CLI)")
def test_temperature_moves_the_flaw_pressure_only_through_the_kinetics():
    """The temperature sweep's cell at 0 and 80 degC, kinetics limited (i0 = 0.5 mA/cm^2 at
    25 degC, activation 0.3 eV; Wagner length >> a) at 0.1 mA/cm^2: the saturated metal
    pressure is the one whose stress shift Omega p / F eats the flat interface's
    Butler-Volmer overpotential at that current and temperature (closed form, 3 %), a factor
    ~13 between 0 and 80 degC, and the flaw holds the same metal volume per pressure at both
    (the elastic constants do not change with T, and the cell is stress free at its test
    temperature: no thermal mismatch stress opens or shuts the flaw)."""
    import numpy as np

    from femcell.materials import get_material
    from femcell.units import EV, K_B, R

    omega = get_material("li").molar_volume
    i0_ref, ea, j = 5.0, 0.3 * EV, 1.0  # A/m^2, J, A/m^2
    pressures, compliances = [], []
    for T in (273.15, 353.15):
        sets = ['plating.currents=["0.1 mA/cm^2"]', "plating.substeps=3",
                "output.fields=false", f"temperature={T} K",
                "kinetics.0.exchange_current_density=0.5 mA/cm^2",
                "kinetics.1.exchange_current_density=0.5 mA/cm^2"]
        res = run_study(load_config(PROBLEMS / "li_dendrite_flaw_size.toml", sets),
                        progress=False, write=False)
        end = res.quantities[-1]
        p = end["crack_pressure"]
        i0 = i0_ref * np.exp(-ea / K_B * (1 / T - 1 / 298.15))
        eta = 2 * R * T / F * np.arcsinh(j / (2 * i0))  # alpha_a = alpha_c = 0.5
        assert omega * p / F == pytest.approx(eta, rel=0.03), T
        pressures.append(p)
        compliances.append(end["crack_volume"] / p)
    assert pressures[0] / pressures[1] > 10
    # the flaw holds C p at both: no volume at zero pressure from a thermal stress (V0 = 0),
    # and the same compliance C (same elastic constants, same crack)
    assert compliances[1] == pytest.approx(compliances[0], rel=1e-4)


STUDY_3D = PROBLEMS / "li_dendrite_3d.toml"


@one_rank("test_run_lifecycle: li_dendrite_3d.toml (the same step through the CLI on 2 ranks)")
def test_a_3d_surface_flaw_holds_its_metal_under_the_newman_raju_pressure():
    """A semicircular flaw (a = c = 10 um) in 3D at 2 mA/cm^2: the crack holds the deposited
    metal to 1e-6, its pressure is bounded by the local overpotential (Omega p / F <
    |eta_flat| + I a / sigma_LLZO), the broken electrolyte reaches the flaw's depth, and the
    Griffith estimate takes the Newman-Raju factor of the surface point (0.729), not the
    edge crack's 1.12: 1.54x the pressure of a 2D flaw of the same depth."""
    from femcell.materials import get_material

    res = run_study(load_config(STUDY_3D, PLATING_3D_SMALL), progress=False, write=False)
    (r,) = res.quantities
    assert r["crack_volume"] > 0
    assert r["crack_volume"] == pytest.approx(r["filament_metal_deposited"], rel=1e-6)
    omega = get_material("li").molar_volume
    bound = abs(r["eta_mean[cathode|electrolyte]"]) + 20.0 * 10e-6 / get_material(
        "llzo").conductivity(298.15)
    assert 0.5 * bound < omega * r["crack_pressure"] / F < bound
    assert 10e-6 <= r["filament_depth"] < 10e-6 + 5e-6
    h = res.headline
    assert h["flaw_size"].value == pytest.approx(10e-6, rel=1e-12)
    from femcell.materials.mechanical import get_mechanics

    el = get_mechanics("llzo").elastic
    gce = res.summary["physics"]["d"]["effective_toughness_J_m2"]
    k_eff = (gce * el.youngs_modulus / (1 - el.poisson_ratio ** 2)) ** 0.5
    assert k_eff == pytest.approx(1.25e6, rel=0.15) and k_eff > 1.25e6  # Gc_eff > Gc
    edge = am.griffith_surface_flaw_pressure(10e-6, k_eff)
    assert h["griffith_pressure"].value / edge == pytest.approx(1.12 / 0.729, rel=2e-3)
    assert h["griffith_current"].value > 2 * 20.0  # far below onset


@several_ranks
def test_plating_same_on_one_and_all_ranks():
    """A plating step (4 mA/cm^2, the coupled pressure root and the staggered sweeps, below
    the onset) on all ranks and on one: pressure, crack length, filament current, cell
    voltage and the Griffith-current estimate agree within 1 %."""
    cfg = load_config(STUDY, ['plating.currents=["4 mA/cm^2"]',
                              "plating.substeps=1", "output.fields=false",
                              "geometry.params.refine.h=1.25 um", "fracture.length=5 um"])
    par = run_study(cfg, progress=False, write=False, comm=MPI.COMM_WORLD)
    ser = run_study(cfg, progress=False, write=False, comm=MPI.COMM_SELF)
    assert len(par.quantities) == len(ser.quantities) == 1
    for a, b in zip(par.quantities, ser.quantities, strict=True):
        for key in ("crack_pressure", "crack_length", "filament_current", "cell_voltage",
                    "filament_depth"):
            assert a[key] == pytest.approx(b[key], rel=0.01), key
    assert ser.headline["griffith_current"].value is not None
    for key in ("griffith_current", "peak_pressure", "final_filament_depth"):
        assert par.headline[key].value == pytest.approx(ser.headline[key].value, rel=0.01)


SHORT_STUDY = PROBLEMS / "li_dendrite_short.toml"
SHORT_SETS = ["fracture.k_ic=0.5 MPa m^0.5", "plating.substeps=2", "output.fields=false",
              'plating.currents=["4 mA/cm^2", "8 mA/cm^2", "16 mA/cm^2", "32 mA/cm^2"]',
              "geometry.params.refine.h=1.25 um"]


@pytest.fixture(scope="module")
def short_run():
    """li_dendrite_short with SHORT_SETS on all ranks: (config, result)."""
    cfg = load_config(SHORT_STUDY, SHORT_SETS)
    return cfg, run_study(cfg, progress=False, write=False, comm=MPI.COMM_WORLD)


def test_the_plating_ccd_is_the_step_that_shorts_the_same_on_one_and_all_ranks(short_run):
    """li_dendrite_short with a weak electrolyte (K_IC 0.5 MPa m^0.5, band h = l/2) run to its
    short: the steps before the CCD pass their charge; in the CCD step the broken
    electrolyte reaches the anode, the run ends there (no later step) at the end of a time
    step (the 0/1 short is not bisected: the short charge is a whole number of substeps);
    the CCD lies above the onset. On all ranks the same CCD, onset and short charge, the
    peak pressure within 1 %."""
    cfg, res = short_run
    h, steps = res.headline, res.summary["plating_steps"]
    ccd = h["ccd"].value
    assert ccd is not None
    first = next(k for k, st in enumerate(steps) if st["shorted"])
    assert steps[first]["current_density_A_m2"] == ccd and len(steps) == first + 1
    assert steps[first]["ended_by"] == "filament_short_above"
    assert all(st["ended_by"] == "charge" for st in steps[:first])
    assert first >= 1  # the first step does not short: the CCD is not an upper bound
    assert h["ccd_lower_bound"].value == steps[first - 1]["current_density_A_m2"] < ccd
    sub = cfg.plating.charge / cfg.plating.substeps
    n_sub = h["short_charge"].value / sub
    assert n_sub == pytest.approx(round(n_sub), abs=1e-6) and 1 <= round(n_sub) <= 2
    assert h["final_filament_depth"].value == pytest.approx(20e-6, abs=1.25e-6)
    assert h["onset_current"].value is not None and h["onset_current"].value <= ccd
    assert res.summary["steps"]["limit_stops"] + res.summary["steps"]["rejected"] <= 2
    if COMM.size > 1:
        ser = run_study(cfg, progress=False, write=False, comm=MPI.COMM_SELF)
        for key in ("ccd", "onset_current"):
            assert ser.headline[key].value == h[key].value, key
        assert ser.headline["short_charge"].value == pytest.approx(h["short_charge"].value,
                                                                   rel=1e-9)
        assert ser.headline["peak_pressure"].value == pytest.approx(
            h["peak_pressure"].value, rel=0.01)


@one_rank("test_the_plating_ccd_is_the_step_that_shorts_the_same_on_one_and_all_ranks")
def test_a_tougher_electrolyte_shorts_at_a_higher_current(short_run):
    """The same cell as the short test with K_IC doubled (1 MPa m^0.5): the CCD rises (the
    Griffith picture: in proportion to K_IC; the full sweep gives a log-log slope 1.5 over
    its current ladder), and the onset with it."""
    weak = short_run[1]
    tough = run_study(load_config(SHORT_STUDY, SHORT_SETS + [
        "fracture.k_ic=1 MPa m^0.5",
        'plating.currents=["8 mA/cm^2", "16 mA/cm^2", "32 mA/cm^2"]']),
        progress=False, write=False)
    hw, ht = weak.headline, tough.headline
    assert hw["ccd"].value == 80.0
    assert ht["ccd"].value is not None and ht["ccd"].value >= 2 * hw["ccd"].value
    assert ht["onset_current"].value > hw["onset_current"].value


@pytest.mark.parametrize("sets, needles", [
    (["filament.counter_electrode=cathode"], ["filament.counter_electrode"]),
    (["filament.electrode=separator"], ["filament.electrode", "separator"]),
    (["fracture.split=voldev"], ["fracture.split", "volume"]),
    (["fracture.volume=1e-12 m^2"], ["fracture.volume", "filament"]),
    (["fracture.initial_cracks=[]"], ["filament", "initial_cracks"]),
    (['plating.currents=["2 mA/cm^2", "1 mA/cm^2"]'], ["plating.currents", "increase"]),
    (["plating.start=1 mA/cm^2"], ["plating.currents", "not both"]),
    (["plating.charge=-1 C/m^2"], ["plating.charge"]),
    (["fracture.region=separator"], ["fracture.region", "separator"]),
])
def test_bad_plating_input_is_one_line_exit_2(sets, needles, capsys, shared_tmp):
    args = ["run", str(STUDY), "-q", "-o", str(shared_tmp / "x")]
    for s in sets:
        args += ["--set", s]
    code = cli.main(args)
    err = capsys.readouterr().err
    assert code == 2, err
    if COMM.rank == 0:
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
        for n in needles:
            assert n in err, err
