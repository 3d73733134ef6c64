"""Composable studies: kinds registered as data (a new kind is an addition), physics sections
that compose (a voiding anode inside a protocol study reproduces the CCD ramp), resolution
"fine", load_config without DOLFINx, and the one-line errors of the study format."""

from __future__ import annotations

import copy
import json
import math
import subprocess
import sys
from typing import ClassVar

import pytest
from conftest import PROBLEMS, ROOT

from femcell import cli
from femcell._dolfinx import MPI
from femcell.config import ConfigError, load_config, read_study
from femcell.config.base import _Model
from femcell.config.sections import StudyBase

COMM = MPI.COMM_WORLD


def _bad(capsys, argv, *needles):
    code = cli.main(argv)
    err = capsys.readouterr().err
    assert code == 2
    if COMM.rank == 0:
        line = err.strip()
        assert len(line.splitlines()) == 1 and "Traceback" not in err, err
        for n in needles:
            assert n in line, line
    return err


def test_load_config_of_every_shipped_study_imports_no_dolfinx():
    code = ("import sys, pathlib\n"
            "from femcell.config import load_config\n"
            "for p in sorted(pathlib.Path('problems').glob('*.toml')):\n"
            "    load_config(p)\n"
            "bad = [m for m in ('dolfinx', 'petsc4py', 'ufl', 'basix') if m in sys.modules]\n"
            "print(len(list(pathlib.Path('problems').glob('*.toml'))), bad)\n")
    if COMM.rank == 0:
        out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                             text=True, timeout=300)
        assert out.returncode == 0, out.stderr
        n, bad = out.stdout.split(" ", 1)
        assert int(n) >= 8 and bad.strip() == "[]", out.stdout


def test_unknown_kind_exits_2_and_lists_the_known_kinds(shared_tmp, capsys):
    _bad(capsys, ["run", str(PROBLEMS / "particle_sphere_1d.toml"), "-q", "-o",
                  str(shared_tmp / "r"), "--set", "study.kind=steady"],
         "study.kind = 'steady'", "transient", "protocol", "ccd_ramp")


def test_old_format_gets_one_line_that_says_how_to_migrate(shared_tmp, capsys):
    path = shared_tmp / "old.toml"
    if COMM.rank == 0:
        path.write_text('[study]\nname = "old"\nphysics = "ccd"\n[geometry]\nbuilder = "sphere"\n')
    COMM.barrier()
    _bad(capsys, ["run", str(path), "-q", "-o", str(shared_tmp / "r")],
         "study.physics = 'ccd'", "old study format", "kind = 'ccd_ramp'")


def test_a_physics_section_the_kind_does_not_take_is_named(shared_tmp, capsys):
    _bad(capsys, ["run", str(PROBLEMS / "particle_sphere_1d.toml"), "-q", "-o",
                  str(shared_tmp / "r"), "--set", 'anode.parameters="na|na_beta_alumina"'],
         "anode", "'transient'", "diffusion")


def test_resolution_fine_halves_h_and_refines_each_cases_own_step():
    from femcell.studies.ccd_ramp import case_config

    cfg = load_config(PROBLEMS / "na_ccd_ramp.toml", ["study.resolution=fine"])
    fine = cfg.refined()
    assert fine.geometry.params["h"] == pytest.approx(cfg.geometry.params["h"] / 2, rel=1e-12)
    dts = {c.name: case_config(cfg, c).refine_steps().ramp.dt for c in cfg.cases}
    # the bulk-limited and interlayer cases set their own ramp.dt (10 s, 0.25 s): refined
    # after the case's setting
    assert dts == pytest.approx({"interface-limited": 0.25, "bulk-limited": 2.5,
                                 "Sn-Na interlayer": 0.0625}, rel=1e-12)
    prot = load_config(PROBLEMS / "li_llzo_li_symmetric.toml", ["study.resolution=fine"])
    pf = prot.refined()
    assert pf.time.dt == pytest.approx(prot.time.dt / 4, rel=1e-12)
    assert pf.protocol[1]["dt"] == pytest.approx(10.0 / 4, rel=1e-12)  # a step's own dt
    assert pf.geometry.params["h"] == pytest.approx(prot.geometry.params["h"] / 2, rel=1e-12)
    with pytest.raises(ConfigError, match="resolution"):
        load_config(data={**read_study(PROBLEMS / "particle_sphere_1d.toml"),
                          "geometry": {"file": "x.msh"}},
                    overrides=["study.resolution=fine"]).refined()


def test_a_top_level_resolution_is_the_studys():
    """`--set resolution=fine` (the short form the README and the 3D studies name) sets
    [study] resolution; contradicting [study] resolution is refused by name."""
    cfg = load_config(PROBLEMS / "li_dendrite_3d.toml", ["resolution=fine"])
    assert cfg.study.resolution == "fine"
    base = load_config(PROBLEMS / "li_dendrite_3d.toml")
    fine = cfg.refined().geometry.params
    assert fine["h"] == pytest.approx(base.geometry.params["h"] / 2, rel=1e-12)
    assert fine["refine"]["h"] == pytest.approx(base.geometry.params["refine"]["h"] / 2,
                                                rel=1e-12)
    with pytest.raises(ConfigError, match="resolution"):
        load_config(PROBLEMS / "li_dendrite_3d.toml",
                    ["resolution=fine", "study.resolution=default"])
    with pytest.raises(ConfigError, match="resolution"):
        load_config(PROBLEMS / "li_dendrite_3d.toml", ["resolution=coarse"])


def test_resolution_fine_is_what_runs():
    """A transient run at resolution "fine": twice the cells of the interval, a quarter of the
    tolerances, recorded in the summary's inputs."""
    from femcell.studies import run_study

    cfg = load_config(PROBLEMS / "particle_sphere_1d.toml",
                      ["geometry.params.n_cells=8", "time.end=60 s", "study.resolution=fine",
                       "output.plots=false"])
    res = run_study(cfg, progress=False, write=False)
    inputs = res.summary["inputs_si"]
    assert inputs["geometry"]["params"]["n_cells"] == 16
    assert res.summary["domain"]["cells"] == 16
    assert inputs["time"]["rtol"] == pytest.approx(cfg.time.rtol / 4, rel=1e-12)
    assert inputs["study"]["resolution"] == "fine"


# ---------------------------------------------------------------------------- a new kind
class _MeasureSection(_Model):
    region: str | None = None


class _MeasureStudy(StudyBase):
    """A kind defined outside femcell: measure a region of the mesh."""

    PHYSICS: ClassVar[dict[str, bool]] = {}
    measure: _MeasureSection = _MeasureSection()


def _run_measure(cfg, run):
    from femcell.runs import status_of
    from femcell.studies import Value

    domain = run.build_domain()
    run.open_folder()
    with run.guard():
        run.write_mesh(domain)
        volume = domain.volume(cfg.measure.region)
        headline = {"volume": Value(volume, "m^3", "volume of the region")}
        status, message = status_of(None)
        summary = run.summary(status, message, headline,
                              domain=run.domain_summary(domain))
        run.finish(summary)
        return run.result([], headline, summary)


def test_a_kind_added_at_run_time_runs_through_the_api_and_the_cli(shared_tmp, capsys):
    """Registering a kind is the only step: its schema composes with the common sections and
    its runner gets the common lifecycle (folder, mesh, summary skeleton)."""
    from femcell.studies import registry, run_study

    registry.register("measure", _MeasureStudy, _run_measure, "measure a region")
    try:
        data = {"study": {"name": "measure", "kind": "measure"},
                "geometry": {"builder": "sphere",
                             "params": {"radius": "1 um", "h": "0.25 um", "order": 2}}}
        cfg = load_config(data=copy.deepcopy(data))
        res = run_study(cfg, shared_tmp / "m", progress=False)
        exact = 4 / 3 * math.pi * 1e-18
        assert res.value("volume") == pytest.approx(exact, rel=2e-3)
        summary = json.loads((shared_tmp / "m" / "summary.json").read_text())
        assert summary["kind"] == "measure" and summary["status"] == "completed"
        assert summary["headline"]["volume"]["unit"] == "m^3"
        path = shared_tmp / "measure.toml"
        if COMM.rank == 0:
            path.write_text('[study]\nname = "measure"\nkind = "measure"\n[geometry]\n'
                            'builder = "sphere"\nparams = { radius = "1 um", h = "0.5 um" }\n'
                            '[measure]\nregion = "particle"\n')
        COMM.barrier()
        assert cli.main(["run", str(path), "-q", "-o", str(shared_tmp / "m2")]) == 0
        assert "volume" in capsys.readouterr().out or COMM.rank != 0
        with pytest.raises(ConfigError, match="measure.regoin"):
            load_config(data={**data, "measure": {"regoin": "x"}})
    finally:
        registry.KINDS.pop("measure", None)
        from femcell.config.compose import study_model

        study_model.cache_clear()
    with pytest.raises(ConfigError, match="not a study kind"):
        load_config(data=data)


# ---------------------------------------------------------------------------- composition
def test_voiding_anode_in_a_protocol_study_reproduces_the_ccd_ramp():
    """[anode] composes with any kind that takes it: a protocol study with one current ramp
    (the same physics sections as the CCD study) gives the CCD ramp's j_crit to round-off.
    The two runs share no code above the physics sections: different kinds, schemas and
    runners."""
    from femcell.analysis import ccd_detection
    from femcell.studies import run_study

    raw = read_study(PROBLEMS / "na_ccd_ramp.toml")
    ccd = load_config(data=copy.deepcopy(raw), overrides=[
        'ramp.temperatures=["40 degC"]', "output.plots=false", "output.fields=false"])
    ccd = ccd.model_copy(update={"cases": ccd.cases[:1]})
    ramp = run_study(ccd, progress=False, write=False).quantities[0]
    prot = {k: v for k, v in raw.items() if k not in ("ramp", "cases")}
    prot["study"] = {**raw["study"], "kind": "protocol"}
    prot["temperature"] = "40 degC"
    prot["time"] = {"dt": raw["ramp"]["dt"]}
    prot["protocol"] = [{"kind": "ramp", "rate": raw["ramp"]["rate"],
                         "until": {"quantity": ["contact_fraction", "below",
                                                ccd.ramp.stop_contact]}}]
    prot["output"] = {"plots": False, "fields": False}
    res = run_study(load_config(data=prot), progress=False, write=False)
    assert min(r["contact_fraction"] for r in res.quantities) < ccd.ramp.threshold
    jc = ccd_detection(res.quantities, criterion="contact",
                       threshold=ccd.ramp.threshold)["j_crit"]
    assert ramp["j_crit_A_m2"] is not None
    assert jc == pytest.approx(ramp["j_crit_A_m2"], rel=1e-9)
    last = res.quantities[-1]["contact_fraction"]
    assert res.value("final_contact_fraction[anode]") == pytest.approx(last, rel=1e-12)
    assert last < ccd.ramp.threshold


def test_a_protocol_may_not_change_the_temperature_of_a_thermal_anode():
    """The thermal vacancy equilibria of [anode] are built at the study temperature; a
    protocol step at another temperature is refused before anything runs (fixed equilibria
    may follow it)."""
    from femcell.studies import run_study

    raw = read_study(PROBLEMS / "na_ccd_ramp.toml")
    prot = {k: v for k, v in raw.items() if k not in ("ramp", "cases")}
    prot["study"] = {**raw["study"], "kind": "protocol"}
    prot["time"] = {"dt": "1 s"}
    prot["protocol"] = [{"kind": "current", "current_density": "0.01 mA/cm^2",
                         "until": {"time": "2 s"}},
                        {"kind": "current", "current_density": "0.01 mA/cm^2",
                         "temperature": "60 degC", "until": {"time": "2 s"}}]
    prot["output"] = {"plots": False, "fields": False}
    with pytest.raises(ConfigError, match="protocol step 2 .*60.0 degC.*thermal"):
        run_study(load_config(data=prot), progress=False, write=False)
    fixed = copy.deepcopy(prot)
    fixed["anode"]["vacancies"] = {"equilibrium": "fixed"}
    fixed["anode"]["interface"] = {"void_threshold": "fixed"}
    res = run_study(load_config(data=fixed), progress=False, write=False)
    assert res.summary["status"] == "completed"


def test_full_cell_with_a_voiding_anode_conserves_lithium():
    """[charge] + [[intercalation]] + [anode] in one protocol study (couplings on both
    electrodes): on discharge the Li stripped from the metal (vacancies created at its
    interface) is the Li inserted into the particles, both equal to the charge passed / F.
    (The potentials of a full cell are ~160 V_T: with the anode's variational inequality the
    Newton step test decides convergence below the residual's round-off floor.)"""
    from femcell.studies import run_study
    from femcell.units import F

    data = read_study(PROBLEMS / "full_cell_li_lpscl_nmc.toml")
    data["anode"] = {"parameters": "li|li6ps5cl"}
    data["intercalation"][0]["initial_stoichiometry"] = 0.3
    data["protocol"] = [{"kind": "current", "current_density": "0.5 mA/cm^2",
                         "until": {"voltage_below": "3.0 V", "time": "10 min"}}]
    cfg = load_config(data=data, overrides=["time.dt=120 s", "output.plots=false"])
    res = run_study(cfg, progress=False, write=False)
    rows = res.quantities
    width = cfg.geometry.params["width"]
    charge = rows[-1]["charge"] - rows[0]["charge"]  # C/m^2 between the recorded rows
    inserted = rows[-1]["c_active_moles"] - rows[0]["c_active_moles"]  # mol per m depth
    stripped = rows[-1]["stripped_moles"] - rows[0]["stripped_moles"]
    assert charge > 0
    assert inserted == pytest.approx(charge * width / F, rel=1e-8)
    assert stripped == pytest.approx(charge * width / F, rel=1e-8)
    assert res.value("rejected_steps") == 0
    assert 0.0 < res.value("final_stoichiometry[active]") - 0.3 < 0.1


def test_every_shipped_study_round_trips_through_its_dump():
    """Cases, sweeps and tests re-validate a dumped study: the dump of every kind must be a
    valid study giving the same configuration."""
    for path in sorted(PROBLEMS.glob("*.toml")):
        cfg = load_config(path)
        again = load_config(data=cfg.model_dump())
        assert again == cfg, path.name
