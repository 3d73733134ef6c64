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
