"""The command line in-process: bad input exits with code 2 and one stderr line naming the
culprit (rank 0 only, no traceback); a valid run writes its run folder; `info` works.

Each error case writes a variant of a small valid study (particle_sphere_1d with 10 cells and
60 s) into a folder shared by the ranks and calls `femcell.cli.main`.
"""

from __future__ import annotations

import json

import pytest
from conftest import PROBLEMS

from femcell import cli
from femcell._dolfinx import MPI

BASE = (PROBLEMS / "particle_sphere_1d.toml").read_text()


def _small_study(text: str = BASE) -> str:
    lumped = "initial = { stoichiometry = 0.3 }\nmass_lumping = true"
    out = (text.replace("n_cells = 40", "n_cells = 10").replace('end = "30 min"', 'end = "60 s"')
           .replace("initial = { stoichiometry = 0.3 }", lumped))
    # the base study still matches
    assert "n_cells = 10" in out and 'end = "60 s"' in out and lumped in out
    # 10 cells with a consistent mass matrix undershoot c0 by 0.3 % c_max at early times (a
    # warning, rightly): the lumped storage term keeps this coarse variant admissible
    return out


def _write(folder, text, name="study.toml"):
    """Rank 0 writes `text` to folder/name; every rank gets the path after a barrier."""
    path = folder / name
    if MPI.COMM_WORLD.rank == 0:
        path.write_text(text)
    MPI.COMM_WORLD.barrier()
    return path


def _err_line(capsys) -> str:
    """Rank 0's single stderr line, broadcast to every rank (stderr is empty on the others)."""
    err = capsys.readouterr().err
    assert "Traceback" not in err
    if MPI.COMM_WORLD.rank != 0:
        assert err == ""
    lines = MPI.COMM_WORLD.bcast(err.splitlines(), root=0)
    assert len(lines) == 1, lines
    assert lines[0].startswith("femcell: error: ")
    return lines[0]


def _bad(capsys, argv, *needles):
    """Run argv, expect exit code 2 and a one-line error containing every needle."""
    capsys.readouterr()  # drop earlier output
    code = cli.main(argv)
    line = _err_line(capsys)
    assert code == cli.EXIT_BAD_INPUT == 2
    for needle in needles:
        assert needle in line, (needle, line)
    return line


def _edit(old, new):
    text = _small_study()
    assert text.count(old) == 1, old
    return text.replace(old, new)


def test_bad_toml_syntax(shared_tmp, capsys):
    path = _write(shared_tmp, _small_study() + "\n[time\nend = 3\n", "broken.toml")
    _bad(
        capsys,
        ["run", str(path), "-q", "-o", str(shared_tmp / "run")],
        "broken.toml",
        "not valid TOML",
    )


def test_unknown_key(shared_tmp, capsys):
    path = _write(shared_tmp, _edit('end = "60 s"', 'end = "60 s"\nennd = "60 s"'))
    _bad(
        capsys, ["run", str(path), "-q", "-o", str(shared_tmp / "run")], "unknown key", "time.ennd"
    )


def test_unknown_material(shared_tmp, capsys):
    path = _write(shared_tmp, _edit('material = "nmc811"', 'material = "unobtainium"'))
    line = _bad(
        capsys,
        ["run", str(path), "-q", "-o", str(shared_tmp / "run")],
        "unobtainium",
        "nmc811",
        "graphite",
        "lfp",
    )
    assert "known materials" in line


def test_unknown_boundary_region(shared_tmp, capsys):
    path = _write(shared_tmp, _edit('region = "surface"', 'region = "nowhere"'))
    _bad(
        capsys,
        ["run", str(path), "-q", "-o", str(shared_tmp / "run")],
        "diffusion.boundary.0.region",
        "'nowhere'",
        "surface",
    )


def test_negative_diffusivity(shared_tmp, capsys):
    path = _write(
        shared_tmp,
        _edit('material = "nmc811"',
              'material = { name = "nmc811", diffusivity = "-1e-14 m^2/s" }'),
    )
    _bad(
        capsys,
        ["run", str(path), "-q", "-o", str(shared_tmp / "run")],
        "diffusion.material.diffusivity",
        "positive",
    )


def test_wrong_units(shared_tmp, capsys):
    path = _write(shared_tmp, _edit('end = "60 s"', 'end = "5 m"'))
    _bad(
        capsys,
        ["run", str(path), "-q", "-o", str(shared_tmp / "run")],
        "time.end",
        "'5 m'",
        "not a time",
    )


def test_missing_study_file(shared_tmp, capsys):
    missing = shared_tmp / "no_such_study.toml"
    _bad(capsys, ["run", str(missing), "-q"], "no_such_study.toml", "no such study file")


def test_set_override_with_wrong_units(shared_tmp, capsys):
    path = _write(shared_tmp, _small_study())
    _bad(
        capsys,
        ["run", str(path), "-q", "-o", str(shared_tmp / "run"), "--set", 'temperature="3 m"'],
        "temperature",
        "'3 m'",
        "not a temperature",
    )


def test_negative_diffusivity_in_a_list(shared_tmp, capsys):
    path = _write(
        shared_tmp,
        _edit(
            'material = "nmc811"',
            'material = { name = "nmc811", diffusivity = ["1e-14 m^2/s", "-1e-14 m^2/s", '
            '"1e-14 m^2/s"] }',
        ),
    )
    line = _bad(
        capsys, ["run", str(path), "-q", "-o", str(shared_tmp / "run")],
        "diffusion.material.diffusivity",
    )
    assert "must be positive" in line


def test_law_parameter_of_another_law(shared_tmp, capsys):
    # the [diffusion.material] table form, given after the other tables
    text = _edit('material = "nmc811"\n', "") + (
        '\n[diffusion.material]\nname = "nmc811"\n[diffusion.material.law]\nname = "vacancy"\n'
        "beta = 2.0\n")
    path = _write(shared_tmp, text)
    _bad(capsys, ["run", str(path), "-q", "-o", str(shared_tmp / "run")],
         "diffusion.material.law", "beta")


def test_mesh_set_with_wrong_units(capsys):
    _bad(
        capsys, ["mesh", "sphere", "--set", 'radius="5 s"', "--set", 'h="1 um"'], "radius", "'5 s'"
    )


def test_mesh_unknown_builder(capsys):
    _bad(capsys, ["mesh", "cube_of_cheese"], "cube_of_cheese", "sphere", "interval")


def test_no_run_folder_after_bad_input(shared_tmp, capsys):
    """Input errors found before the time loop leave nothing behind."""
    path = _write(shared_tmp, _edit('region = "surface"', 'region = "nowhere"'))
    _bad(capsys, ["run", str(path), "-q", "-o", str(shared_tmp / "run")], "nowhere")
    assert not (shared_tmp / "run").exists()


def test_valid_run_writes_run_folder(shared_tmp, capsys):
    path = _write(shared_tmp, _small_study())
    out = shared_tmp / "run"
    capsys.readouterr()
    code = cli.main(["run", str(path), "--quiet", "-o", str(out)])
    captured = capsys.readouterr()
    assert code == 0
    assert captured.err == ""
    MPI.COMM_WORLD.barrier()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "completed"
    assert summary["study"] == "particle_sphere_1d"
    assert summary["mpi_ranks"] == MPI.COMM_WORLD.size
    assert summary["inputs_si"]["time"]["end"] == pytest.approx(60.0, rel=1e-12)
    assert summary["inputs_si"]["temperature"] == pytest.approx(298.15, rel=1e-12)
    assert summary["domain"]["cells"] == 10
    assert summary["steps"]["accepted"] >= 1 and summary["steps"]["rejected"] >= 0
    for name in ("quantities.csv", "fields.vtkhdf", "mesh.vtu", "regions.json",
                 "concentration.png"):
        assert (out / name).exists(), name
    if MPI.COMM_WORLD.rank == 0:
        assert "completed" in captured.out


def test_info(capsys):
    capsys.readouterr()
    assert cli.main(["info"]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    if MPI.COMM_WORLD.rank == 0:
        assert "mpi ranks" in captured.out
        ranks = [ln for ln in captured.out.splitlines() if ln.startswith("mpi ranks")]
        assert ranks and ranks[0].split()[-1] == str(MPI.COMM_WORLD.size)
    else:
        assert captured.out == ""


def test_mesh_command_writes_a_symmetric_cell(shared_tmp):
    """`femcell mesh symmetric_cell --set electrolyte.thickness="50 um" -o cell.msh`."""
    from femcell.domain import Domain

    out = shared_tmp / "cell.msh"
    code = cli.main(["mesh", "symmetric_cell", "--set", "electrolyte.thickness=50 um",
                     "-o", str(out)])
    assert code == 0
    dom = Domain.from_file(out)
    assert {"anode", "electrolyte", "cathode"} <= set(dom.cell_regions)
    assert {"anode_cc", "cathode_cc"} <= set(dom.facet_regions)
    # the electrolyte layer is 50 um thick on the default 100 um footprint
    assert dom.volume("electrolyte") == pytest.approx(50e-6 * 100e-6, rel=1e-9)


NA_CCD = (PROBLEMS / "na_ccd_ramp.toml").read_text()


@pytest.mark.parametrize("sets, needles", [
    (['anode.parameters="k|glass"'], ["anode.parameters", "k|glass", "na|na_beta_alumina"]),
    (['anode.parameters="li|li6ps5cl"'], ["anode.parameters", "li|li6ps5cl", "'na'"]),
    (['anode.interface.interlayer="au"'], ["anode.interface.interlayer", "au", "sn_na"]),
    (['anode.interface.wetting_angle="200 deg"'],
     ["anode.interface.wetting_angle", "180 deg"]),
    (['sweep.parameter="ramp.dt"', "sweep.values=[]"], ["sweep", "ramp.dt"]),
    (['cases=[{name="x", set={"anode.parameters"="li|li6ps5cl"}}]'],
     ["cases.x.set", "anode.parameters"]),
    (["cases.0.published_ea_eV=[0.15, 0.13]"], ["published_ea_eV"]),
    (['anode.interface.surface_energy="5 J/m^2"'], ["anode.interface.surface_energy", ">= 1"]),
    (['anode.vacancies.formation_energy="0.05 eV"'],
     ["anode.vacancies", "equilibrium vacancy fraction"]),
    (['anode.vacancies.equilibrium="warm"'], ["anode.vacancies.equilibrium", "warm"]),
    (["anode.vacancies.equilibrium_fraction=1e-3"],
     ["anode.vacancies.equilibrium_fraction", "fixed", "thermal"]),
    (['cases=[{name="x", set={"anode.interface.theta_crit"=0.02}}]'],
     ["cases.x.set", "anode.interface.theta_crit", "fixed", "wetting"]),
])
def test_ccd_bad_anode_input(shared_tmp, capsys, sets, needles):
    path = _write(shared_tmp, NA_CCD, "na_ccd.toml")
    argv = ["run", str(path), "-q", "-o", str(shared_tmp / "bad_ccd")]
    for s in sets:
        argv += ["--set", s]
    _bad(capsys, argv, *needles)
    assert not (shared_tmp / "bad_ccd").exists()  # nothing written for bad input
