"""`femcell bench scaling`: the driver end to end at tiny sizes (ranks 1 and, with two cores,
2), its bookkeeping (efficiencies, table width, DOF model) and its one-line option errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from femcell import bench_scaling as bs
from femcell._dolfinx import MPI
from femcell.config import ConfigError

COMM = MPI.COMM_WORLD
# the driver launches its own MPI jobs: not from inside one
serial_only = pytest.mark.skipif(COMM.size > 1, reason="starts its own MPI jobs")
KEYS = {"case", "mode", "ranks", "dofs", "dofs_per_rank", "target_dofs", "cells", "h_m",
        "refinements", "solver", "steps", "time_per_step_s", "time_per_step_mean_s",
        "time_per_step_min_s", "newton_per_step",
        "krylov_per_step", "assemble_per_step_s", "solve_per_step_s", "mesh_s", "setup_s",
        "imbalance", "efficiency", "status"}


def _femcell(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "femcell.cli", "bench", "scaling", *args],
                          capture_output=True, text=True, timeout=timeout, check=False)


@serial_only
def test_driver_tiny_weak_and_strong(tmp_path):
    """Both cases, both modes, tiny meshes; the 4000-DOF runs exceed --max-mesh-dofs and so
    go through the parallel refinement. Rows: every key, positive times, DOFs near the
    target, one mesh for strong scaling, efficiencies as defined."""
    ranks = [1, 2] if (os.cpu_count() or 1) >= 2 else [1]
    out = tmp_path / "scaling.json"
    res = _femcell("--ranks", ",".join(map(str, ranks)), "--dofs-per-rank", "2000",
                   "--dofs", "4000", "--steps", "1", "--max-mesh-dofs", "2000",
                   "-o", str(out), timeout=240)
    assert res.returncode == 0, res.stdout + res.stderr
    assert bs.ELASTICITY_NOTE in res.stdout
    assert all(len(line) <= 100 for line in res.stdout.splitlines()), res.stdout
    rec = json.loads(out.read_text())
    assert rec["skipped"][0]["case"] == "elasticity"
    rows = rec["rows"]
    assert len(rows) == 2 * 2 * len(ranks)
    for r in rows:
        assert KEYS <= set(r), KEYS - set(r)
        assert r["status"] == "ok", r["status"]
        assert r["time_per_step_s"] > 0 and r["solve_per_step_s"] > 0
        assert r["assemble_per_step_s"] >= 0 and r["newton_per_step"] >= 1
        assert r["krylov_per_step"] >= 1
        assert r["solver"].split("+")[0] == {"diffusion": "cg", "charge": "gmres"}[r["case"]]
        assert r["dofs"] == pytest.approx(r["ranks"] * r["dofs_per_rank"])
        assert 1.0 <= r["imbalance"] < 1.5
    for case in ("diffusion", "charge"):
        weak = {r["ranks"]: r for r in rows if r["case"] == case and r["mode"] == "weak"}
        strong = {r["ranks"]: r for r in rows if r["case"] == case and r["mode"] == "strong"}
        for p, r in weak.items():
            assert 2000 / 1.3 < r["dofs_per_rank"] < 2000 * 1.3, (case, p, r["dofs"])
            assert r["efficiency"] == pytest.approx(weak[1]["time_per_step_s"]
                                                    / r["time_per_step_s"])
        assert len({r["dofs"] for r in strong.values()}) == 1  # one mesh for every p
        assert 4000 / 1.3 < strong[1]["dofs"] < 4000 * 1.3
        for p, r in strong.items():
            assert r["efficiency"] == pytest.approx(strong[1]["time_per_step_s"]
                                                    / (p * r["time_per_step_s"]))
        assert strong[1]["refinements"] >= 1  # 4000 DOFs > --max-mesh-dofs
        if 2 in weak:  # equal size on equal ranks: one run reported twice
            assert weak[2]["time_per_step_s"] == strong[2]["time_per_step_s"]


@serial_only
@pytest.mark.parametrize("args,word", [(["--steps", "0"], "--steps 0"),
                                       (["--ranks", "1,x"], "--ranks 1,x")])
def test_bad_option_is_one_line_exit_2(args, word):
    res = _femcell(*args)
    assert res.returncode == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and word in lines[0], res.stderr
    assert res.stdout == ""


@pytest.mark.parametrize("args", [["--dofs-per-rank", "10"], ["--dofs", "-5"],
                                  ["--cases", "diffusion,plasticity"], ["--modes", "weak,x"],
                                  ["--max-ranks", "0"], ["--ranks", "1", "--max-ranks", "2"],
                                  ["--output", "scaling.txt"], ["--timeout", "nan"],
                                  ["--output", "/no/such/folder/s.json"], ["--bogus"]])
def test_bad_options_raise_config_error(args):
    with pytest.raises(ConfigError) as err:
        bs.parse_args(args)
    assert "\n" not in str(err.value) and "femcell bench scaling" in str(err.value)


def test_defaults_and_rank_ladder():
    args = bs.parse_args(["--max-ranks", "6"])
    assert args.ranks == [1, 2, 4] and args.dofs == args.dofs_per_rank * 4
    assert args.cases == ["diffusion", "charge", "elasticity"]
    assert bs.parse_args(["--ranks", "4,1,2,2"]).ranks == [1, 2, 4]
    assert bs.parse_args(["--max-ranks", "1024"]).max_mesh_dofs == 1024 * bs.MESH_DOFS_PER_RANK


def test_efficiencies():
    rows = [{"case": "c", "mode": "weak", "ranks": p, "time_per_step_s": t}
            for p, t in ((1, 2.0), (2, 2.5), (4, 4.0))]
    rows += [{"case": "c", "mode": "strong", "ranks": p, "time_per_step_s": t}
             for p, t in ((2, 3.0), (4, 2.0), (8, None))]
    bs.efficiencies(rows)
    assert [r["efficiency"] for r in rows[:3]] == pytest.approx([1.0, 0.8, 0.5])
    # strong: the smallest rank count that ran (2) is the reference: 2 * 3 / (4 * 2)
    assert rows[3]["efficiency"] == pytest.approx(1.0)
    assert rows[4]["efficiency"] == pytest.approx(0.75)
    assert rows[5]["efficiency"] is None


def test_table_fits_100_columns():
    r = {"case": "diffusion", "mode": "strong", "ranks": 1024, "dofs": 204_800_000,
         "dofs_per_rank": 200_000, "solver": "gmres+hypre", "time_per_step_s": 123.4,
         "newton_per_step": 12.5, "krylov_per_step": 1234.5, "assemble_per_step_s": 1.2e-4,
         "solve_per_step_s": 99.99, "efficiency": 0.123, "status": "ok"}
    failed = {"case": "charge", "mode": "weak", "ranks": 64, "status": "failed: " + "x" * 200}
    for line in (bs.HEADER, bs.format_row(r), bs.format_row(failed)):
        assert len(line) <= 100, line


def test_refinement_dof_model():
    """Euler's relation counts the vertices one uniform refinement adds: one per edge. A
    single tetrahedron (4 nodes, 1 tet, 4 faces) becomes 10 nodes, then 35."""
    one = [[4, 1, 4]]
    assert bs.refined_dofs(one, 0) == 4
    assert bs.refined_dofs(one, 1) == 10
    assert bs.refined_dofs(one, 2) == 35


def test_launcher_command(monkeypatch):
    """FEMCELL_MPIEXEC prefixes the worker (-n K appended, or {n} replaced); FEMCELL_PYTHON
    replaces the interpreter; by default the mpiexec next to this Python or on PATH."""
    tail = ["-m", "mpi4py", "-m", "femcell.bench_scaling", "--worker", "S"]
    monkeypatch.setenv("FEMCELL_MPIEXEC", "srun --mpi=pmi2")
    monkeypatch.delenv("FEMCELL_PYTHON", raising=False)
    assert bs.mpi_command(4, ["--worker", "S"]) == ["srun", "--mpi=pmi2", "-n", "4",
                                                    sys.executable, *tail]
    monkeypatch.setenv("FEMCELL_MPIEXEC", "srun --mpi=pmi2 -n {n} apptainer exec f.sif")
    monkeypatch.setenv("FEMCELL_PYTHON", "python3")
    assert bs.mpi_command(8, ["--worker", "S"]) == [
        "srun", "--mpi=pmi2", "-n", "8", "apptainer", "exec", "f.sif", "python3", *tail]
    monkeypatch.delenv("FEMCELL_MPIEXEC")
    monkeypatch.delenv("FEMCELL_PYTHON")
    cmd = bs.mpi_command(2, ["--worker", "S"])
    assert cmd[0].endswith("mpiexec") and cmd[1:3] == ["-n", "2"]


def test_driver_imports_neither_dolfinx_nor_gmsh():
    """The driver can run where only Python, pydantic and the femcell sources are (a cluster
    host launching ranks in a container): it plans from the probe's counts alone."""
    code = ("import sys; import femcell.bench_scaling as b; a = b.parse_args(['--ranks', '1,2'])"
            "; b.plan('charge', [[[466, 1430, 816]] * 3, [[1187, 4422, 1714]] * 3], 9000, 8000)"
            "; print(sorted(m for m in ('dolfinx', 'gmsh', 'mpi4py', 'petsc4py')"
            " if m in sys.modules))")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=False)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "[]"


def test_csv_output(tmp_path):
    import csv

    rows = [{"case": "charge", "mode": "strong", "ranks": 2, "dofs": 4000, "efficiency": 0.9,
             "status": "ok", "extra": 1}]
    bs.write_output(tmp_path / "s.csv", {"rows": rows})
    with (tmp_path / "s.csv").open() as fh:
        got = list(csv.DictReader(fh))
    assert list(got[0]) == list(bs.COLUMNS)
    assert got[0]["dofs"] == "4000" and got[0]["efficiency"] == "0.9"
