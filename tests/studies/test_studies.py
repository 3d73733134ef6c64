"""Smoke runs of the shipped studies (small meshes) and run-folder guarantees."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import PROBLEMS, one_rank, several_ranks

from femcell._dolfinx import MPI
from femcell.config import load_config
from femcell.solvers.snes import SolverError
from femcell.studies import run_study

SMALL = {
    "particle_sphere_1d.toml": ["geometry.params.n_cells=16", "time.end=10 min"],
    "particle_sphere_3d.toml": ["geometry.params.h=1.3 um", "time.end=15 min"],
    "particle_polycrystal_3d.toml": ["geometry.params.h=0.4 um", "geometry.params.order=1",
                                     "geometry.params.n_grains=5", "time.end=2 min"],
}


@pytest.mark.parametrize("name", sorted(SMALL))
def test_study_runs_and_writes_its_folder(name, shared_tmp):
    cfg = load_config(PROBLEMS / name, SMALL[name])
    res = run_study(cfg, shared_tmp / "run", progress=False, source=str(PROBLEMS / name))
    folder = shared_tmp / "run"
    if MPI.COMM_WORLD.rank == 0:
        summary = json.loads((folder / "summary.json").read_text())
        assert summary["status"] == "completed"
        assert summary["mpi_ranks"] == MPI.COMM_WORLD.size
        assert summary["citations"], "materials must carry citations"
        for f in ("fields.vtkhdf", "mesh.vtu", "regions.json", "quantities.csv",
                  "concentration.png", "field.png"):
            assert (folder / f).exists(), f
    h = res.headline
    assert 0 < res.value("state_of_charge") < 1
    if "crank_surface_rel_error" in h:
        assert res.value("crank_surface_rel_error") < 0.02
    if "mass_balance_rel_error" in h:
        assert res.value("mass_balance_rel_error") < 1e-10


def test_polycrystal_fill_lies_between_its_isotropic_bounds(shared_tmp):
    """D_a I <= D_lab <= D_b I in every grain, so the anisotropic particle fills slower than
    an isotropic one with the fast (b-axis) diffusivity and faster than one with the slow."""
    name = "particle_polycrystal_3d.toml"
    soc = {}
    for mode, extra in (("aniso", []),
                        ("fast", ['diffusion.material={ name = "lfp", diffusivity = 1e-15 }']),
                        ("slow", ['diffusion.material={ name = "lfp", diffusivity = 1e-18 }'])):
        cfg = load_config(PROBLEMS / name, SMALL[name] + ["output.plots=false"] + extra)
        res = run_study(cfg, shared_tmp / mode, progress=False, write=False)
        soc[mode] = res.value("state_of_charge")
    assert soc["slow"] + 0.05 < soc["aniso"] < soc["fast"] - 0.05, soc


def test_same_numbers_on_one_and_all_ranks(shared_tmp):
    """The study on COMM_WORLD (2 ranks under mpiexec) equals the one on COMM_SELF."""
    name = "particle_sphere_3d.toml"
    cfg = load_config(PROBLEMS / name, SMALL[name] + ["time.adaptive=false", "time.dt=30 s"])
    par = run_study(cfg, progress=False, write=False, comm=MPI.COMM_WORLD)
    ser = run_study(cfg, progress=False, write=False, comm=MPI.COMM_SELF)
    for key in ("c_surface[surface]", "c_moles", "c_max", "c_min"):
        a, b = par.column(key), ser.column(key)
        assert np.allclose(a, b, rtol=1e-8, atol=0), key


def test_interrupted_run_never_claims_completion(shared_tmp, monkeypatch):
    name = "particle_sphere_1d.toml"
    cfg = load_config(PROBLEMS / name, SMALL[name])
    folder = shared_tmp / "run"
    run_study(cfg, folder, progress=False)  # a completed run leaves a summary

    from femcell.solvers import timestepping

    def boom(self, *a, **k):
        raise SolverError("forced failure")

    monkeypatch.setattr(timestepping.TimeIntegrator, "run", boom)
    with pytest.raises(SolverError, match="forced failure"):
        run_study(cfg, folder, progress=False)
    if MPI.COMM_WORLD.rank == 0:
        summary = json.loads((folder / "summary.json").read_text())
        assert summary["status"] == "failed"
        assert "forced failure" in summary["message"]


def test_study_from_written_msh_keeps_grain_orientations(shared_tmp):
    """`femcell mesh ... -o F.msh` writes the mesh and its metadata; a study on F.msh with
    diffusion.orientation.mode = "mesh" reproduces the study built directly from the builder."""
    from femcell import cli

    msh = shared_tmp / "poly.msh"
    code = cli.main(["mesh", "polycrystal_particle", "--set", 'semi_axes=["2 um","1 um","1 um"]',
                     "--set", "n_grains=5", "--set", "seed=7", "--set", "h=0.4 um",
                     "-o", str(msh)])
    assert code == 0
    name = "particle_polycrystal_3d.toml"
    base = SMALL[name] + ["output.plots=false", "time.adaptive=false", "time.dt=10 s"]
    direct = run_study(load_config(PROBLEMS / name, base), progress=False, write=False)
    cfg = load_config(PROBLEMS / name, base, data=None)
    data = cfg.model_dump()
    data["geometry"] = {"file": str(msh)}
    from_file = run_study(load_config(data=data), progress=False, write=False)
    assert from_file.value("mean_concentration") == pytest.approx(
        direct.value("mean_concentration"), rel=1e-8)


CELL_SMALL = ["geometry.params.h=10 um", "geometry.params.width=40 um",
              "geometry.params.grains.mean_size=25 um"]


def test_cell_study_runs_and_writes_its_folder(shared_tmp):
    name = "li_llzo_li_symmetric.toml"
    cfg = load_config(PROBLEMS / name, CELL_SMALL)
    res = run_study(cfg, shared_tmp / "cell", progress=False, source=str(PROBLEMS / name))
    steps = res.summary["protocol_steps"]
    assert [s["label"] for s in steps][:3] == ["strip", "rest", "plate"]
    assert steps[-1]["ended_by"] == "voltage_above"
    assert res.value("max_newton_its_per_step") <= 6
    # small-signal pulse: V / I = 2 R_ct + L / sigma (Li|LLZO, 25 degC)
    from femcell.units import F, R

    rct = R * 298.15 / (F * 250.0)
    # the resistive grain boundaries: the ohmic split adds up to the pulse's V / I; the six
    # Voronoi grains cost 1.8 rows of 1 / g_gb, the brick layer's count L / d - 1 = 3 is an
    # upper end (the current bends around them)
    grains, gbs = res.value("asr_grains[electrolyte]"), res.value("asr_boundaries[grain_boundary]")
    assert grains == pytest.approx(100e-6 / 0.046, rel=0.02)
    g = 5.97e-4 / 1e-8
    assert 1.0 / g < gbs < 3.0 / g
    assert steps[0]["end_cell_voltage_V"] / steps[0]["end_current_density_A_m2"] == (
        pytest.approx(2 * rct + grains + gbs, rel=2e-3))
    if MPI.COMM_WORLD.rank == 0:
        folder = shared_tmp / "cell"
        for f in ("fields.vtkhdf", "fields_electrolyte.vtkhdf", "fields_anode.vtkhdf",
                  "mesh.vtu", "regions.json", "quantities.csv", "voltage.png",
                  "current_density.png"):
            assert (folder / f).exists(), f
        assert json.loads((folder / "summary.json").read_text())["status"] == "completed"


@several_ranks
def test_cell_study_same_on_one_and_all_ranks():
    name = "li_llzo_li_symmetric.toml"
    cfg = load_config(PROBLEMS / name, CELL_SMALL)
    par = run_study(cfg, progress=False, write=False, comm=MPI.COMM_WORLD)
    ser = run_study(cfg, progress=False, write=False, comm=MPI.COMM_SELF)
    for key in ("cell_voltage", "j_max[anode|electrolyte]", "eta_mean[cathode|electrolyte]"):
        a, b = par.column(key), ser.column(key)
        # rest steps carry ~zero current: compare to 1e-8 of the column's scale
        assert np.allclose(a, b, rtol=1e-8, atol=1e-8 * np.abs(b).max()), key


def test_constriction_sweep_raises_resistance_and_crowds_current(shared_tmp):
    from femcell.studies import run_sweep

    results = run_sweep(PROBLEMS / "current_constriction.toml",
                        ["geometry.params.h=10 um", 'sweep.values=["5 um", "25 um", "45 um"]'],
                        shared_tmp / "sweep", progress=False)
    frac = [r["contact_fraction[anode|electrolyte]"] for r in results]
    asr = [r["asr [ohm m^2]"] for r in results]
    peak = [r["peak_current_density[anode|electrolyte] [A m^-2]"] for r in results]
    assert frac == pytest.approx([0.9, 0.5, 0.1], rel=1e-6)
    assert asr[0] < asr[1] < asr[2]
    assert peak[0] < peak[1] < peak[2]
    # the contact carries I / phi on average, and more at the void edges
    assert peak[2] > 1.0 / 0.1
    if MPI.COMM_WORLD.rank == 0:
        assert (shared_tmp / "sweep" / "sweep.csv").exists()


@several_ranks
def test_grid_sweep_as_independent_jobs_equals_serial(shared_tmp):
    """A 2 x 2 grid of a small particle study: jobs = "split" (one group of ranks per point)
    gives the numbers of the serial sweep, in the same order, with one table."""
    from femcell.studies import run_sweep

    sets = ["geometry.params.n_cells=10", 'time.end="120 s"', "output.fields=false",
            "output.plots=false",
            'sweep.parameters={"geometry.params.radius" = ["4 um", "6 um"], '
            '"diffusion.boundary.0.c_rate" = [0.5, 1.0]}']
    ser = run_sweep(PROBLEMS / "particle_sphere_1d.toml", sets, shared_tmp / "sw_serial",
                    progress=False)
    split = run_sweep(PROBLEMS / "particle_sphere_1d.toml", sets, shared_tmp / "sw_split",
                      progress=False, jobs="split")
    assert len(ser) == len(split) == 4
    for a, b in zip(ser, split, strict=True):
        assert a["geometry.params.radius"] == b["geometry.params.radius"]
        for k, v in a.items():
            if isinstance(v, float):
                assert b[k] == pytest.approx(v, rel=1e-8), k
    # grid order (last key fastest): at each radius the higher C-rate fills the surface more
    cs = [r["surface_concentration[surface] [mol m^-3]"] for r in ser]
    assert [r["diffusion.boundary.0.c_rate"] for r in ser] == [0.5, 1.0, 0.5, 1.0]
    assert cs[1] > cs[0] and cs[3] > cs[2]
    if MPI.COMM_WORLD.rank == 0:
        text = (shared_tmp / "sw_split" / "sweep.csv").read_text().splitlines()
        assert len(text) == 5 and "geometry.params.radius" in text[0]


def test_full_cell_obeys_faraday_and_starts_at_open_circuit():
    """Li|Li6PS5Cl|NMC811: the Li inserted into (removed from) the particles equals the
    charge passed / F to solver tolerance, the cell starts at U_NMC(theta_0) and the voltage
    rises monotonically on charge."""
    from femcell.materials import get_material
    from femcell.units import F

    name = "full_cell_li_lpscl_nmc.toml"
    cfg = load_config(PROBLEMS / name, ["protocol.0.until.time=20 min", "time.dt=120 s"])
    res = run_study(cfg, progress=False, write=False)
    rows = res.quantities
    nmc = get_material("nmc811")
    width = 40e-6
    moles = res.column("c_active_moles")
    charge = rows[-1]["charge"] - rows[0]["charge"]  # C/m^2, between the recorded rows
    # on charge Li leaves the particles: d(moles) = -Q width / F (2D: per metre of depth)
    assert moles[-1] - moles[0] == pytest.approx(-charge * width / F, rel=1e-8)
    v = res.column("cell_voltage")
    assert np.all(np.diff(v) > 0)
    assert v[0] > float(nmc.ocv(np.array(0.9)))  # charging polarises above the OCV
    assert v[0] < float(nmc.ocv(np.array(0.9))) + 0.1
    assert res.value("max_newton_its_per_step") <= 6
    assert 0.0 < 0.9 - res.value("final_stoichiometry[active]") < 0.2


@several_ranks
def test_full_cell_same_on_one_and_all_ranks():
    """Interfaces cut by the partition: region submeshes must carry their ghost cells."""
    name = "full_cell_li_lpscl_nmc.toml"
    cfg = load_config(PROBLEMS / name, ["protocol.0.until.time=10 min", "time.dt=120 s"])
    par = run_study(cfg, progress=False, write=False, comm=MPI.COMM_WORLD)
    ser = run_study(cfg, progress=False, write=False, comm=MPI.COMM_SELF)
    for key in ("cell_voltage", "c_active_moles", "j_max[active|electrolyte]"):
        assert np.allclose(par.column(key), ser.column(key), rtol=1e-8), key


def _na_jcrit_by_hand(T, barrier_ev, angle_deg):
    """F kappa(T) x_v(T) (exp(w / k_B T) - 1) [A m^-2]: the flat Na|beta''-alumina interface
    of the library by hand (kappa 0.0105 mol/m^2/s at 25 degC for the bare 0.14 eV barrier,
    an interlayer keeping the attempt prefactor; x_v = exp(5.8) exp(-0.42 eV / k_B T); w =
    0.192 J/m^2 (1 + cos angle) over one Na site)."""
    from femcell.materials import get_material
    from femcell.units import EV, K_B, N_A, F

    kt = K_B * T
    kappa = 0.0105 * np.exp(-(barrier_ev * EV) / kt + 0.14 * EV / (K_B * 298.15))
    x_v = np.exp(5.8 - 0.42 * EV / kt)
    omega = get_material("na").molar_volume
    w = 0.192 * (1 + np.cos(np.radians(angle_deg))) / ((N_A / omega) ** (2 / 3))
    return F * kappa * x_v * (np.exp(w / kt) - 1.0)


@one_rank("test_ccd_same_on_one_and_all_ranks (the three cases at one temperature)")
def test_na_ccd_flagship_activation_energy_comes_out_of_the_thermodynamics(shared_tmp):
    """The flagship at three temperatures with the library's thermal vacancies and wetting
    threshold: every interface-limited and interlayer j_crit is the hand formula
    F kappa x_v (exp(w / k_B T) - 1) within 3 %, so the fitted E_A is E_int + E_f - w S /
    (S - 1) (~0.45 eV bare, ~0.39 eV with Sn-Na), not the input barrier (0.14 / 0.10 eV);
    the bulk-limited case follows its closed form within 0.03 eV; the metal ledger closes."""
    from femcell.analysis import arrhenius_fit

    temps = (298.15, 323.15, 353.15)
    cfg = load_config(PROBLEMS / "na_ccd_ramp.toml",
                      ['ramp.temperatures=["25 degC", "50 degC", "80 degC"]'])
    res = run_study(cfg, shared_tmp / "ccd", progress=False)
    h = res.headline
    jc = {(r["case"], r["temperature_K"]): r["j_crit_A_m2"] for r in res.quantities}
    for case, barrier, angle in (("interface-limited", 0.14, 105.0),
                                 ("Sn-Na interlayer", 0.10, 95.0)):
        hand = [_na_jcrit_by_hand(T, barrier, angle) for T in temps]
        assert [jc[(case, T)] for T in temps] == pytest.approx(hand, rel=0.03), case
        ea = arrhenius_fit(temps, hand)["activation_energy_eV"]
        assert h[f"E_A[{case}]"].value == pytest.approx(ea, abs=0.01)
        assert h[f"E_A[{case}]"].value > barrier + 0.25  # the formation energy shows
    for r in res.quantities:  # the closed form the report prints, against the ramps
        if r["case"] != "bulk-limited":
            assert r["j_quasi_steady_A_m2"] == pytest.approx(r["j_crit_A_m2"], rel=0.03)
            assert r["damkohler"] < 1e-2  # the interface limits
    fits = res.summary["arrhenius_fits"]
    assert h["E_A[bulk-limited]"].value == pytest.approx(
        fits["bulk-limited"]["closed_form_ea_eV"], abs=0.03)
    assert fits["interface-limited"]["set_barriers_eV"]["vacancy_formation"] == \
        pytest.approx(0.42)
    for T in temps:
        assert jc[("Sn-Na interlayer", T)] > jc[("interface-limited", T)]
    for r in res.quantities:  # the metal ledger closes to the nonlinear-solver tolerance
        assert r["metal_balance_error"] < 1e-5, r["case"]
        assert r["stripped_thickness_m"] > r["anode_thinning_at_sink_m"] > 0
    assert any("Lowack" in c for c in res.summary["citations"])
    assert any("Feder" in c for c in res.summary["citations"])
    if MPI.COMM_WORLD.rank == 0:
        for f in ("arrhenius.png", "j_crit.csv", "summary.json", "sensitivity.csv",
                  "mesh.vtu", "ramps/interface-limited_25C/quantities.csv",
                  "ramps/interface-limited_25C/fields_anode--electrolyte.vtkhdf"):
            assert (shared_tmp / "ccd" / f).exists(), f


@pytest.fixture(scope="module")
def ccd_one_rank():
    """The na_ccd_ramp study at one temperature on one rank (COMM_SELF on every rank): the
    reference of the two rank comparisons below (one run, not one per test)."""
    cfg = load_config(PROBLEMS / "na_ccd_ramp.toml",
                      ['ramp.temperatures=["25 degC"]', "output.fields=false"])
    return cfg, run_study(cfg, progress=False, write=False, comm=MPI.COMM_SELF)


@several_ranks
def test_ccd_same_on_one_and_all_ranks(ccd_one_rank):
    # one temperature: the three cases (interface-, bulk-limited, interlayer) are the
    # distinct code paths; a second temperature doubled the time and added none
    cfg, ser = ccd_one_rank
    par = run_study(cfg, progress=False, write=False, comm=MPI.COMM_WORLD)
    for a, b in zip(par.quantities, ser.quantities, strict=True):
        assert a["j_crit_A_m2"] == pytest.approx(b["j_crit_A_m2"], rel=0.01)


@several_ranks
def test_ccd_ramps_as_independent_jobs_equal_the_serial_run(ccd_one_rank):
    """jobs = "split": every ramp runs on its own group of ranks (one rank each on two) and
    gives the numbers of a serial run."""
    cfg, ser = ccd_one_rank
    split = run_study(cfg, progress=False, write=False, jobs="split")
    assert split.summary["jobs"]["groups"] == min(MPI.COMM_WORLD.size, 3)
    for a, b in zip(split.quantities, ser.quantities, strict=True):
        assert (a["case"], a["temperature_K"]) == (b["case"], b["temperature_K"])
        assert a["j_crit_A_m2"] == pytest.approx(b["j_crit_A_m2"], rel=1e-9)
    assert list(split.headline) == list(ser.headline)
    assert [(v.unit, v.description) for v in split.headline.values()] == [
        (v.unit, v.description) for v in ser.headline.values()]
    assert {k: v.value for k, v in split.headline.items()} == pytest.approx(
        {k: v.value for k, v in ser.headline.items()}, rel=1e-9, nan_ok=True)


@one_rank("test_run_lifecycle: li_stripping_pressure.toml through the CLI")
def test_li_critical_stripping_current_rises_with_stack_pressure():
    """Creep closure with the cited Li creep law: j_crit increases monotonically with stack
    pressure; without creep the pressure changes nothing. At a fixed current contact is lost
    later under more pressure, and not at all once j_crit(p) exceeds that current."""
    res = run_study(load_config(PROBLEMS / "li_stripping_pressure.toml",
                                ["output.fields=false"]), progress=False, write=False)
    names = ["0.50 MPa", "1.00 MPa", "1.25 MPa", "1.50 MPa", "1.75 MPa", "2.00 MPa"]
    jc = {r["case"]: r["j_crit_A_m2"] for r in res.quantities}
    with_creep = [jc[k] for k in names]
    assert all(b > a for a, b in zip(with_creep, with_creep[1:], strict=False))
    assert with_creep[-1] > 2.0 * with_creep[0]
    assert jc["2.00 MPa, no creep"] == pytest.approx(with_creep[0], rel=0.01)
    t_loss = {r["case"]: r["time_to_contact_loss_s"] or float("inf") for r in res.quantities}
    hold = 15.0  # A/m^2, the study's hold current
    for name, j in zip(names, with_creep, strict=True):
        assert (t_loss[name] < float("inf")) == (j < hold), name
    finite = [t_loss[k] for k, j in zip(names, with_creep, strict=True) if j < hold]
    assert len(finite) >= 3
    assert all(b > a for a, b in zip(finite, finite[1:], strict=False))
    assert t_loss["2.00 MPa, no creep"] == pytest.approx(finite[0], rel=0.05)


@one_rank("the ccd_ramp sweep path runs on 2 ranks in test_run_lifecycle (na_mechanism_map)")
def test_na_pores_take_their_contact_share_and_the_mesh_ladder_converges(shared_tmp):
    """The flagship on a heterogeneous interface (na_ccd_pores.toml: five 1 um pores in a
    40 um cell, a quarter of the contact): with the library kinetics and conductivity the
    Wagner length (~50 um) dwarfs the pores, so j_crit is the flat cell's (same ramp and
    step) times the contact share 0.75 within 1 %; the coarse pair of the mesh and step
    ladder (interface h 1 / 0.5 um, dt 1 / 0.5 s) agrees within 2 % (1.1 % found; 0.4 %
    between the two finest of the full ladder)."""
    from femcell.studies import run_sweep

    results = run_sweep(PROBLEMS / "na_ccd_pores.toml", [
        'ramp.temperatures=["25 degC"]', 'sweep.parameters={"geometry.params.h_interface" = '
        '["1 um", "0.5 um"], "ramp.dt" = ["1 s", "0.5 s"]}'], shared_tmp / "pores",
        progress=False)
    j = [r["j_crit[library] [A m^-2]"] for r in results]
    assert j[1] == pytest.approx(j[0], rel=0.02)
    flat = run_study(load_config(PROBLEMS / "na_ccd_ramp.toml", [
        'ramp.temperatures=["25 degC"]', 'cases=[{name = "library"}]', "output.fields=false",
        "output.plots=false"]), progress=False, write=False).quantities[0]["j_crit_A_m2"]
    assert j[0] == pytest.approx(0.75 * flat, rel=0.01)
