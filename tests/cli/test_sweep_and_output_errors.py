"""Bad sweep definitions given on the command line (--set sweep.*) and bad run commands: one
line naming the culprit, exit code 2, no traceback, no run folder."""

from __future__ import annotations

import pytest
from conftest import PROBLEMS

from femcell import cli
from femcell._dolfinx import MPI

STUDY = str(PROBLEMS / "current_constriction.toml")


@pytest.mark.parametrize("setting,needle", [
    ("sweep.values=5", "non-empty list"),
    ("sweep.parameter=1", "sweep.parameter"),
    ('sweep.mode="x"', "mode = 'x'"),
    ("sweep.parameters=3", "not both"),
    ('sweep.jobs="7x"', "sweep.jobs"),
    ('sweep.label="a b"', "sweep.label"),
    ('sweep.parameter="no.such.key"', "sweep point"),
    ('sweep.parameter="geometry.params.voids.7.footprint"', "voids.7.footprint"),
    ('sweep.values=["5 um", "xx"]', "sweep point"),
    ("sweep.extra=1", "unknown key(s) in [sweep]"),
])
def test_bad_sweep_on_the_command_line(setting, needle, shared_tmp, capsys):
    capsys.readouterr()
    code = cli.main(["run", STUDY, "-q", "--set", setting, "-o", str(shared_tmp / "sw")])
    err = capsys.readouterr().err
    assert code == 2
    if MPI.COMM_WORLD.rank == 0:
        assert "Traceback" not in err
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("femcell: error: "), err
        assert needle in lines[0], (needle, lines[0])
        if "xx" not in setting:  # found when that point's geometry is built
            assert not (shared_tmp / "sw").exists()


def test_list_survives_an_unreadable_study(shared_tmp, capsys):
    """A non-UTF-8 study file in the problems folder is listed as unreadable, not a crash."""
    if MPI.COMM_WORLD.rank == 0:
        (shared_tmp / "ok.toml").write_text('[study]\nname = "ok"\ndescription = "fine"\n')
        (shared_tmp / "bad.toml").write_bytes(b'[study]\nname = "caf\xe9"\n')
    MPI.COMM_WORLD.barrier()
    capsys.readouterr()
    assert cli.main(["list", "--problems", str(shared_tmp)]) == 0
    out = capsys.readouterr().out
    if MPI.COMM_WORLD.rank == 0:
        assert "fine" in out and "unreadable" in out and "UTF-8" in out


def test_list_of_a_missing_folder_exits_2(capsys):
    assert cli.main(["list", "--problems", "/nonexistent/problems"]) == 2


def test_mesh_builder_help_lists_parameters_with_defaults(capsys):
    assert cli.main(["mesh", "symmetric_cell", "--help"]) == 0
    out = capsys.readouterr().out
    if MPI.COMM_WORLD.rank == 0:
        assert "electrolyte_thickness" in out and "default" in out


def test_rerun_into_a_folder_removes_what_an_earlier_run_wrote(shared_tmp, capsys):
    """Stale ramps, field files and plots of an earlier run never mix with a new run's;
    files femcell does not write stay."""
    out = shared_tmp / "again"
    if MPI.COMM_WORLD.rank == 0:
        (out / "ramps" / "old_25C").mkdir(parents=True)
        for name in ("fields_old.vtkhdf", "voltage.png", "notes.txt"):
            (out / name).write_text("old")
    MPI.COMM_WORLD.barrier()
    code = cli.main(["run", str(PROBLEMS / "particle_sphere_1d.toml"), "-q", "-o", str(out),
                     "--set", "geometry.params.n_cells=8", "--set", "time.end=30 s",
                     "--set", "diffusion.mass_lumping=true"])
    assert code == 0
    if MPI.COMM_WORLD.rank == 0:
        assert not (out / "ramps").exists() and not (out / "fields_old.vtkhdf").exists()
        assert not (out / "voltage.png").exists() and (out / "notes.txt").exists()
        assert (out / "fields.vtkhdf").exists() and (out / "summary.json").exists()


def test_absurd_c_rate_and_non_msh_output_exit_2(shared_tmp, capsys):
    assert cli.main(["run", str(PROBLEMS / "particle_sphere_1d.toml"), "-q", "--set",
                     'diffusion.boundary=[{region="surface", type="current", c_rate=-1e9}]',
                     "-o", str(shared_tmp / "cr")]) == 2
    assert cli.main(["mesh", "sphere", "-o", str(shared_tmp / "y.txt")]) == 2
    err = capsys.readouterr().err
    if MPI.COMM_WORLD.rank == 0:
        assert "c_rate" in err and ".msh" in err and "Traceback" not in err
