"""Malformed input through the command line, in-process: exit code 2 and one stderr line on
rank 0 naming the culprit (no traceback, no hang, no silent success), and `femcell mesh
BUILDER` without parameters works.

Study variants are written by rank 0 into a folder shared by the ranks.
"""

from __future__ import annotations

import pytest
from conftest import PROBLEMS

from femcell import cli
from femcell._dolfinx import MPI

SPHERE = (PROBLEMS / "particle_sphere_1d.toml").read_text()
CELL = PROBLEMS / "li_llzo_li_symmetric.toml"
CCD = PROBLEMS / "na_ccd_ramp.toml"


def _write(folder, data: bytes | str, name="study.toml"):
    """Rank 0 writes `data` to folder/name; every rank gets the path after a barrier."""
    path = folder / name
    if MPI.COMM_WORLD.rank == 0:
        if isinstance(data, bytes):
            path.write_bytes(data)
        else:
            path.write_text(data)
    MPI.COMM_WORLD.barrier()
    return path


def _bad(capsys, argv, *needles):
    """Run argv: exit code 2 on every rank and one 'femcell: error:' line (rank 0's stderr;
    the other ranks print nothing) containing every needle."""
    capsys.readouterr()  # drop earlier output
    code = cli.main(argv)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    if MPI.COMM_WORLD.rank != 0:
        assert err == ""
    lines = MPI.COMM_WORLD.bcast(err.splitlines(), root=0)
    assert len(lines) == 1, lines
    line = lines[0]
    assert line.startswith("femcell: error: ")
    assert code == cli.EXIT_BAD_INPUT == 2
    for needle in needles:
        assert needle in line, (needle, line)
    return line


def _run(study, folder, *sets):
    argv = ["run", str(study), "-q", "-o", str(folder / "run")]
    for s in sets:
        argv += ["--set", s]
    return argv


def test_non_utf8_study_file(shared_tmp, capsys):
    latin1 = SPHERE.replace("NMC811", "NMC811 \u00e0 1C").encode("latin-1")
    path = _write(shared_tmp, latin1, "latin1.toml")
    _bad(capsys, _run(path, shared_tmp), "latin1.toml", "not UTF-8", "0xe0")
    assert not (shared_tmp / "run").exists()


@pytest.mark.parametrize(("study", "setting", "key"), [
    (CCD, "anode.interface.creep_exponent=inf", "anode.interface.creep_exponent = inf"),
    (CCD, "cases.0.rate_factor=inf", "cases.0.rate_factor = inf"),
    (PROBLEMS / "particle_sphere_1d.toml", "time.end=nan", "time.end = nan"),
    (CELL, 'protocol.1.until.time="inf s"', "protocol.1.until.time"),
])
def test_non_finite_set(shared_tmp, capsys, study, setting, key):
    _bad(capsys, _run(study, shared_tmp, setting), key, "not a finite number")
    assert not (shared_tmp / "run").exists()


@pytest.mark.parametrize(("setting", "needles"), [
    ('protocol.1.dt="-10 s"', ["protocol.1.dt", "'-10 s'", "positive"]),
    ('protocol.1.until.time="-5 min"', ["protocol.1.until.time", "positive"]),
    ("protocol=[]", ["protocol is empty"]),
    ("kinetics=[]", ["kinetics is empty"]),
])
def test_wrong_signs_and_empty_lists(shared_tmp, capsys, setting, needles):
    _bad(capsys, _run(CELL, shared_tmp, setting), "li_llzo_li_symmetric.toml", *needles)
    assert not (shared_tmp / "run").exists()


@pytest.mark.parametrize(("settings", "needles"), [
    (['anode.geometry="shrinking"'], ["anode.geometry", "'fixed' or 'moving'"]),
    (['anode.vacancies.sink_spacing="5 um"'],
     ["anode.vacancies.sink_spacing", "geometry = \"moving\""]),
    (['mechanics={materials={anode="na",electrolyte="na_beta_alumina",cathode="na"}}'],
     ["anode.geometry", "[mechanics]"]),
    (['cases.0.set={"anode.vacancies.sink_spacing"="5 um"}'],
     ["cases.interface-limited.set", "sink_spacing"]),
])
def test_moving_anode_refuses_what_it_cannot_move(shared_tmp, capsys, settings, needles):
    """The flagship's anode moves (geometry = "moving"): sinks inside the metal and a
    [mechanics] section are refused before anything is written."""
    _bad(capsys, _run(CCD, shared_tmp, *settings), *needles)
    assert not (shared_tmp / "run").exists()


@pytest.mark.parametrize(("study", "setting", "needle"), [
    (PROBLEMS / "particle_sphere_1d.toml", "temperature=25",
     "temperature = 25 K is outside 150-1500 K; did you mean '25 degC'?"),
    (CCD, "ramp.temperatures=[25, 60]", "ramp.temperatures.0 = 25 K"),
    (CELL, "protocol.1.temperature=60", "protocol.1.temperature = 60 K"),
])
def test_temperature_in_celsius_without_units(shared_tmp, capsys, study, setting, needle):
    _bad(capsys, _run(study, shared_tmp, setting), needle, "degC")


def test_huge_mesh_is_refused(shared_tmp, capsys, monkeypatch):
    monkeypatch.delenv("FEMCELL_MAX_CELLS", raising=False)
    _bad(capsys, ["mesh", "symmetric_cell", "--set", "h=10 nm"],
         "symmetric_cell: h=1e-08 m", "cells (limit 5e+06", "FEMCELL_MAX_CELLS")
    _bad(capsys, _run(CELL, shared_tmp, 'geometry.params.h="10 nm"'), "h=1e-08 m",
         "FEMCELL_MAX_CELLS")
    _bad(capsys, ["mesh", "interval", "--set", "n_cells=2e7"], "n_cells=20000000")


def test_bare_length_in_metres(shared_tmp, capsys):
    _bad(capsys, _run(CCD, shared_tmp, "geometry.params.width=4"), "geometry.params.width",
         "did you mean '4 um'?")
    _bad(capsys, ["mesh", "symmetric_cell", "--set", "width=4"], "width=4",
         "did you mean '4 um'?")


def test_unknown_builder_parameter(capsys):
    _bad(capsys, ["mesh", "polycrystal", "--set", "grain_size=3 um"], "grain_size",
         "mean_grain_size")


@pytest.mark.parametrize("builder", ["polycrystal", "composite_cathode"])
def test_mesh_builder_alone(capsys, builder):
    capsys.readouterr()
    assert cli.main(["mesh", builder]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    if MPI.COMM_WORLD.rank == 0:
        assert "cells" in captured.out


@pytest.mark.parametrize(("args", "needles"), [
    (["--size", "0"], ["--size 0", "positive"]),
    (["--size", "nan"], ["--size nan"]),
    (["--steps", "0"], ["--steps 0"]),
    (["--size", "abc"], ["--size", "'abc'"]),
    (["--size", "1000"], ["--size 1000", "FEMCELL_MAX_CELLS"]),
])
def test_bench_arguments(capsys, args, needles):
    _bad(capsys, ["bench", "cell", *args], "femcell bench cell", *needles)


@pytest.mark.parametrize(("setting", "needles"), [
    ('charge.grain_boundaries.facets="sides"',
     ["charge.grain_boundaries.facets", "'sides'", "no facets inside 'electrolyte'"]),
    ('charge.grain_boundaries.conductance="3 S/cm^2"', ["charge.grain_boundaries", "not both"]),
    ('charge.grain_boundaries.material="li"',
     ["charge.grain_boundaries.material", "'li'", "carrier"]),
    ('geometry.params.grains.boundary_thickness="1 um"',
     ["grains.boundary_thickness", "arrangement = 'cubic'"]),
])
def test_bad_grain_boundaries(shared_tmp, capsys, setting, needles):
    """[charge.grain_boundaries] and resolved boundary layers: one line naming the key."""
    _bad(capsys, _run(CELL, shared_tmp, setting), *needles)
    assert not (shared_tmp / "run").exists()
