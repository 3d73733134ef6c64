"""Checkpoint and restart: a run stopped at a checkpoint and continued gives the
uninterrupted run's quantities and accepted-step sequence, on the same and on another number
of ranks; signals, a checkpoint write killed half-way, sweeps and CCD studies that redo only
unfinished points, and bad restart input (one line, exit code 2).

Equality is measured per column against the column's largest magnitude (|a - b| / max|a|):
quantities that pass through zero (a current at rest) have no pointwise relative error.
Kinetics exponents, which at rest measure round-off currents, are compared only where the
current is not zero."""

from __future__ import annotations

import copy
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from femcell import interrupt
from femcell._dolfinx import MPI
from femcell.checkpoint import Checkpointer
from femcell.config import load_config, read_study
from femcell.io import checkpoint as store

COMM = MPI.COMM_WORLD
ROOT = Path(__file__).resolve().parents[2]
PROBLEMS = ROOT / "problems"
serial_only = pytest.mark.skipif(COMM.size > 1, reason="starts its own processes")
VENV_BIN = Path(sys.executable).parent


def _columns_close(a: list[dict], b: list[dict], rtol: float = 1e-10) -> None:
    """Same rows (times to 1e-12) and every quantity within rtol of its column's scale."""
    assert len(a) == len(b), (len(a), len(b))
    for k in a[0]:
        if k.startswith("wall_"):
            continue
        xs, ys = [r[k] for r in a], [r[k] for r in b]
        if not all(isinstance(v, int | float) for v in xs + ys):
            assert xs == ys, k
            continue
        if k.startswith("kinetics_exponent"):  # at rest: the exponent of round-off currents
            keep = [i for i, r in enumerate(a) if abs(r.get("current_density", 1.0)) > 1e-6]
            xs, ys = [xs[i] for i in keep], [ys[i] for i in keep]
        scale = max((abs(v) for v in xs + ys), default=0.0) or 1.0
        worst = max((abs(x - y) for x, y in zip(xs, ys, strict=True)), default=0.0) / scale
        tol = 1e-12 if k == "t" else rtol
        assert worst <= tol, f"{k}: differs by {worst:.3g} of its scale"


@pytest.fixture
def stop_at(monkeypatch):
    """stop_at(n): a SIGTERM arrives (on the last rank only) just after accepted step n."""
    orig = Checkpointer.after_step

    def arm(n):
        def after(self):
            if self.integ.steps == n and COMM.rank == COMM.size - 1:
                interrupt.request(signal.SIGTERM)
            return orig(self)

        monkeypatch.setattr(Checkpointer, "after_step", after)
        return lambda: monkeypatch.setattr(Checkpointer, "after_step", orig)

    return arm


def _full_cell():
    """NMC particles | Li6PS5Cl | voiding Li anode: every kind of state a protocol has
    (BDF history, quasi-static potentials, an interface field under VI bounds, ledgers)."""
    data = read_study(PROBLEMS / "full_cell_li_lpscl_nmc.toml")
    data["anode"] = {"parameters": "li|li6ps5cl"}
    data["intercalation"][0]["initial_stoichiometry"] = 0.3
    data["protocol"] = [
        {"kind": "current", "current_density": "0.5 mA/cm^2", "until": {"time": "6 min"}},
        {"kind": "rest", "until": {"time": "3 min"}}]
    return load_config(data=data, overrides=["time.dt=60 s", "output.plots=false"])


def _interrupted_then_restarted(cfg, folder, stop_at, step):
    from femcell.studies import run_study

    undo = stop_at(step)
    with pytest.raises(interrupt.Interrupted):
        run_study(cfg, folder, progress=False)
    undo()
    s = json.loads((folder / "summary.json").read_text())
    assert s["status"] == "interrupted"
    assert [p.name for p in store.complete_checkpoints(folder)] == [f"step-{step:09d}"]
    return run_study(cfg, folder, progress=False, restart=True)


def test_periodic_phase_field_restart_equals_the_uninterrupted_run(shared_tmp, stop_at):
    """A doubly periodic Cahn-Hilliard run (pfhub_bm1_periodic.toml, coarse): the restarted
    problem rebuilds its periodic map and continues with the same steps and energies."""
    from femcell.studies import run_study

    cfg = load_config(PROBLEMS / "pfhub_bm1_periodic.toml", [
        "geometry.params.h=8 um", "time.end=10 s", 'report_times=["5 s"]',
        "output.plots=false", "output.fields=false"])
    ref = run_study(cfg, shared_tmp / "ref", progress=False)
    res = _interrupted_then_restarted(cfg, shared_tmp / "cut", stop_at, 6)
    _columns_close(ref.quantities, res.quantities)
    assert res.summary["steps"]["accepted"] == ref.summary["steps"]["accepted"]


@pytest.mark.parametrize("step", [25])
def test_transient_restart_equals_the_uninterrupted_run(shared_tmp, stop_at, step):
    """Adaptive BDF2 with located stoichiometry events: same steps, same quantities."""
    from femcell.studies import run_study

    cfg = load_config(PROBLEMS / "particle_sphere_1d.toml", ["output.plots=false"])
    ref = run_study(cfg, shared_tmp / "ref", progress=False)
    res = _interrupted_then_restarted(cfg, shared_tmp / "cut", stop_at, step)
    _columns_close(ref.quantities, res.quantities)
    assert res.summary["steps"]["accepted"] == ref.summary["steps"]["accepted"]
    assert res.summary["steps"]["rejected"] == ref.summary["steps"]["rejected"]
    assert res.summary["checkpoints"]["restarts"] == 1
    for k in ("mass_balance_rel_error", "crank_surface_rel_error"):
        assert res.value(k) == pytest.approx(ref.value(k), rel=1e-8, abs=1e-15)
    files = res.summary["files"]  # both field segments belong to the run
    assert "fields:fields.vtkhdf" in files and "fields:fields-r1.vtkhdf" in files
    if COMM.rank == 0:  # the continued segment starts at the checkpoint's time
        import pyvista as pv

        r = pv.get_reader(str(shared_tmp / "cut" / "fields-r1.vtkhdf")).reader
        r.UpdateInformation()
        r.SetStep(0)
        r.Update()
        assert r.GetTimeValue() == pytest.approx(ref.quantities[step]["t"], rel=1e-12)


def test_a_signal_inside_a_staggered_step_checkpoints_the_step_before(shared_tmp,
                                                                     monkeypatch):
    """A signal seen between two sweeps of a staggered step (a volume-driven crack) drops
    that step: the checkpoint is the last accepted step's, and the run continued from it
    gives the uninterrupted run's steps and quantities."""
    from femcell.solvers.staggered import StaggeredProblem
    from femcell.studies import run_study

    cfg = load_config(PROBLEMS / "crack_volume_control.toml", [
        "geometry.params.h_fine=1 um", "fracture.length=4 um", "loading.steps=5",
        "fracture.volume=1.5e-12 m^2", "loading.tolerance=1e-4", "output.plots=false"])
    ref = run_study(cfg, shared_tmp / "ref", progress=False)
    after, change = Checkpointer.after_step, StaggeredProblem._change
    seen = {"armed": False, "sweeps": 0}

    def after_step(self):
        after(self)
        seen["armed"] = self.integ.steps == 3

    def sweep_change(self, previous):
        out = change(self, previous)
        if seen["armed"]:
            seen["sweeps"] += 1
            if seen["sweeps"] == 2 and COMM.rank == COMM.size - 1:
                interrupt.request(signal.SIGTERM)
        return out

    monkeypatch.setattr(Checkpointer, "after_step", after_step)
    monkeypatch.setattr(StaggeredProblem, "_change", sweep_change)
    folder = shared_tmp / "cut"
    with pytest.raises(interrupt.Interrupted) as err:
        run_study(cfg, folder, progress=False)
    monkeypatch.undo()
    assert err.value.mid_step and seen["sweeps"] == 2
    assert [p.name for p in store.complete_checkpoints(folder)] == ["step-000000003"]
    res = run_study(cfg, folder, progress=False, restart=True)
    assert res.summary["steps"]["accepted"] == ref.summary["steps"]["accepted"]
    keys = ("t", "crack_pressure", "crack_volume", "crack_length", "u_strain_energy",
            "dissipated_energy")  # not the reactions: a pressurised crack is self-equilibrated
    _columns_close([{k: r[k] for k in keys} for r in ref.quantities],
                   [{k: r[k] for k in keys} for r in res.quantities], rtol=1e-8)


@pytest.mark.parametrize("step", [30])  # in the ramp
def test_protocol_restart_with_resistive_grain_boundaries(shared_tmp, stop_at, step):
    """The broken (DG) electrolyte potential of [charge.grain_boundaries] checkpoints and
    restarts like any field."""
    from femcell.studies import run_study

    cfg = load_config(PROBLEMS / "li_llzo_li_symmetric.toml", [
        "geometry.params.h=10 um", "geometry.params.width=40 um",
        "geometry.params.grains.mean_size=25 um", "output.plots=false"])
    ref = run_study(cfg, shared_tmp / "gb_ref", progress=False)
    res = _interrupted_then_restarted(cfg, shared_tmp / "gb_cut", stop_at, step)
    assert ref.quantities[-1]["ohmic_drop[grain_boundary]"] > 0
    _columns_close(ref.quantities, res.quantities)


@pytest.mark.parametrize("step", [4, 6])  # inside the current step / at its end
def test_protocol_restart_of_a_full_cell_with_a_voiding_anode(shared_tmp, stop_at, step):
    from femcell.studies import run_study

    cfg = _full_cell()
    ref = run_study(cfg, shared_tmp / "ref", progress=False)
    res = _interrupted_then_restarted(cfg, shared_tmp / "cut", stop_at, step)
    _columns_close(ref.quantities, res.quantities)
    for a, b in zip(ref.summary["protocol_steps"], res.summary["protocol_steps"],
                    strict=True):  # currents at rest are round-off (~1e-13 A/m^2)
        for k, v in a.items():
            if isinstance(v, float):
                assert b[k] == pytest.approx(v, rel=1e-10, abs=1e-9), k
            else:
                assert b[k] == v, k
    for k in ("stripped_moles", "transferred_moles", "interface_store_change"):
        assert res.quantities[-1][k] == pytest.approx(ref.quantities[-1][k], rel=1e-10)


def test_protocol_restart_keeps_the_impedance_measurements(shared_tmp, stop_at):
    """eis_na_stripping.toml stopped inside its stripping: the restarted run keeps the
    spectra measured before the checkpoint and measures the rest, as the uninterrupted run."""
    from femcell.studies import run_study

    cfg = load_config(PROBLEMS / "eis_na_stripping.toml", [
        "output.plots=false", "impedance.frequencies.per_decade=3"])
    ref = run_study(cfg, shared_tmp / "ref", progress=False)
    res = _interrupted_then_restarted(cfg, shared_tmp / "cut", stop_at, 30)
    a, b = (r.summary["impedance_measurements"] for r in (ref, res))
    assert len(a) == len(b) > 3
    assert [m["index"] for m in a] == [m["index"] for m in b]
    for x, y in zip(a, b, strict=True):
        assert y["t_s"] == pytest.approx(x["t_s"], rel=1e-12)
        assert y["z_re_low_frequency_ohm_m2"] == pytest.approx(x["z_re_low_frequency_ohm_m2"],
                                                               rel=1e-8)
    if COMM.rank == 0:
        import csv

        rows = list(csv.DictReader(open(shared_tmp / "cut" / "impedance.csv")))
        assert len({r["measurement"] for r in rows}) == len(a)


def test_periodic_checkpoints_keep_the_last_two(shared_tmp, stop_at):
    from femcell.studies import run_study

    cfg = load_config(PROBLEMS / "particle_sphere_1d.toml",
                      ["output.plots=false", "output.fields=false",
                       "checkpoint.every_steps=10"])
    undo = stop_at(25)
    with pytest.raises(interrupt.Interrupted):
        run_study(cfg, shared_tmp / "run", progress=False)
    undo()
    names = [p.name for p in store.complete_checkpoints(shared_tmp / "run")]
    assert names == ["step-000000020", "step-000000025"]  # 10 went: keep = 2
    s = json.loads((shared_tmp / "run" / "summary.json").read_text())
    assert s["checkpoints"]["written"] == [f"step-{k:09d}" for k in (10, 20, 25)]
    res = run_study(cfg, shared_tmp / "run", progress=False, restart=True)
    n = res.summary["steps"]["accepted"]
    assert res.summary["checkpoints"]["written"] == [f"step-{k:09d}"
                                                     for k in range(30, n + 1, 10)]
    assert not (shared_tmp / "run" / "checkpoints").exists()  # completed: removed
    # by wall time: every step is "due" after 1e-9 minutes
    cfg = load_config(PROBLEMS / "particle_sphere_1d.toml",
                      ["output.plots=false", "output.fields=false",
                       "checkpoint.every_minutes=1e-9", "checkpoint.keep=3"])
    undo = stop_at(12)
    with pytest.raises(interrupt.Interrupted):
        run_study(cfg, shared_tmp / "timed", progress=False)
    undo()
    assert [p.name for p in store.complete_checkpoints(shared_tmp / "timed")] == [
        f"step-{k:09d}" for k in (10, 11, 12)]


def test_a_checkpoint_at_the_step_that_reaches_a_limit_ends_the_restarted_run(shared_tmp,
                                                                           stop_at):
    """The stoichiometry event fired at the checkpointed step: the continued run ends there
    too (no step past the limit)."""
    from femcell.studies import run_study

    cfg = load_config(PROBLEMS / "particle_sphere_1d.toml",
                      ["output.plots=false", "output.fields=false", "time.end=2 h"])
    ref = run_study(cfg, shared_tmp / "ref", progress=False)
    n = ref.summary["steps"]["accepted"]
    assert ref.summary["ended_by"] != "end time"
    res = _interrupted_then_restarted(cfg, shared_tmp / "cut", stop_at, n)
    _columns_close(ref.quantities, res.quantities)
    assert res.summary["ended_by"] == ref.summary["ended_by"]
    assert res.summary["warnings"] == ref.summary["warnings"]


def test_protocol_restart_keeps_the_temperature_of_an_earlier_step(shared_tmp, stop_at):
    from femcell.studies import run_study

    cfg = _full_cell()
    data = cfg.model_dump()
    data["protocol"] = [
        {"kind": "current", "current_density": "0.5 mA/cm^2", "temperature": "60 degC",
         "until": {"time": "3 min"}},
        {"kind": "current", "current_density": "0.5 mA/cm^2", "until": {"time": "2 min"}}]
    cfg = type(cfg).model_validate(data)
    ref = run_study(cfg, shared_tmp / "ref", progress=False)
    res = _interrupted_then_restarted(cfg, shared_tmp / "cut", stop_at, 4)
    _columns_close(ref.quantities, res.quantities)


# ---------------------------------------------------------------------------- processes
def _femcell(*args, n=1, cwd=ROOT):
    cmd = [str(VENV_BIN / "femcell"), *args]
    if n > 1:
        cmd = [str(VENV_BIN / "mpiexec"), "-n", str(n), *cmd]
    return subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)


SLOW = ["--set", "time.adaptive=false", "--set", "time.dt=0.5 s", "--set", "output.plots=false",
        "--set", "time.end=10 min"]


def _signal_run(folder, sig):
    """`mpiexec -n 2 femcell run` stopped by `sig` once it has recorded 20 steps: every
    rank stops after the current step, a checkpoint of that step and summary.json
    (interrupted) are written, exit code 128 + signal, the restart command is printed."""
    study = "problems/particle_sphere_1d.toml"
    p = _femcell("run", study, "-o", str(folder), "-q", *SLOW, n=2)
    t0 = time.monotonic()
    while not ((folder / "quantities.csv").exists()
               and len((folder / "quantities.csv").read_text().splitlines()) > 20):
        assert p.poll() is None, p.communicate()
        assert time.monotonic() - t0 < 120
        time.sleep(0.1)
    p.send_signal(sig)
    try:
        _, err = p.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        pytest.fail("the run did not stop within 60 s of the signal")
    assert p.returncode == 128 + sig, err
    assert "--restart" in err and "Traceback" not in err
    s = json.loads((folder / "summary.json").read_text())
    assert s["status"] == "interrupted"
    ck = store.latest(folder)
    steps = len((folder / "quantities.csv").read_text().splitlines()) - 2  # header, t = 0
    assert ck.name == f"step-{steps:09d}"  # the step the signal interrupted
    assert store.read_state(ck)["ranks"] == 2
    return study


@serial_only
def test_sigusr1_to_mpiexec_stops_every_rank_with_a_checkpoint(tmp_path):
    _signal_run(tmp_path / "run", signal.SIGUSR1)


@serial_only
def test_sigterm_to_mpiexec_checkpoints_and_the_restart_completes_on_1_and_2_ranks(tmp_path):
    """... and the run continued on 1 rank and on 2 ranks equals the uninterrupted serial
    run (the checkpoint was written on 2 ranks)."""
    from femcell.io.tables import read_table

    folder = tmp_path / "run"
    study = _signal_run(folder, signal.SIGTERM)
    ref = _femcell("run", study, "-o", str(tmp_path / "ref"), "-q", *SLOW)
    assert ref.wait(timeout=300) == 0, ref.communicate()
    other = tmp_path / "run2"
    shutil.copytree(folder, other)
    for run_folder, n in ((folder, 1), (other, 2)):
        q = _femcell("run", study, "-q", *SLOW, "--restart", str(run_folder), n=n)
        out, err = q.communicate(timeout=300)
        assert q.returncode == 0, err
        assert "continuing from" not in out  # -q
        s = json.loads((run_folder / "summary.json").read_text())
        assert s["status"] == "completed" and s["checkpoints"]["restarts"] == 1
        assert s["mpi_ranks"] == n
        a, b = read_table(tmp_path / "ref" / "quantities.csv"), read_table(
            run_folder / "quantities.csv")
        _columns_close([dict(zip(a, r, strict=True)) for r in zip(*a.values(), strict=True)],
                       [dict(zip(b, r, strict=True)) for r in zip(*b.values(), strict=True)])


KILL_SCRIPT = """
import os, sys
from femcell.io import checkpoint as store
orig = store.write_spaces
calls = [0]
def dying(comm, folder, groups):
    calls[0] += 1
    out = orig(comm, folder, groups)
    if calls[0] == 2:  # the second checkpoint: data written, state.json not yet
        os._exit(9)
    return out
store.write_spaces = dying
from femcell.cli import main
sys.exit(main(sys.argv[1:]))
"""


@serial_only
def test_a_kill_while_writing_a_checkpoint_leaves_the_previous_one_usable(tmp_path):
    script = tmp_path / "die.py"
    script.write_text(KILL_SCRIPT)
    study = str(PROBLEMS / "particle_sphere_1d.toml")
    args = [study, "-q", "--set", "output.plots=false", "--checkpoint-every", "10"]
    p = subprocess.run([sys.executable, str(script), "run", *args, "-o",
                        str(tmp_path / "run")], capture_output=True, text=True, timeout=300)
    assert p.returncode == 9
    root = tmp_path / "run" / "checkpoints"
    assert sorted(x.name for x in root.iterdir()) == ["step-000000010", "step-000000020.tmp"]
    assert store.latest(tmp_path / "run").name == "step-000000010"
    from femcell.cli import main

    assert main(["run", *args, "--restart", str(tmp_path / "run")]) == 0
    assert main(["run", *args, "-o", str(tmp_path / "ref")]) == 0
    from femcell.io.tables import read_table

    a, b = read_table(tmp_path / "ref" / "quantities.csv"), read_table(
        tmp_path / "run" / "quantities.csv")
    assert len(a["t"]) == len(b["t"])
    for k in a:
        if not k.startswith("wall_"):
            scale = max(abs(v) for v in a[k]) or 1.0
            assert max(abs(x - y) for x, y in zip(a[k], b[k], strict=True)) <= 1e-10 * scale
    assert not list(root.glob("*.tmp"))  # the next writer removed the broken one


# ---------------------------------------------------------------------------- bad input
def _exit_line(capsys, argv) -> str:
    from femcell.cli import main

    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    if COMM.rank == 0:
        assert len(err) == 1, err
        return err[0]
    return ""


def test_bad_restart_input_exits_2_with_one_line(shared_tmp, stop_at, capsys):
    from femcell.studies import run_study

    study = str(PROBLEMS / "particle_sphere_1d.toml")
    cfg = load_config(study, ["output.plots=false", "output.fields=false"])
    undo = stop_at(10)
    with pytest.raises(interrupt.Interrupted):
        run_study(cfg, shared_tmp / "cut", progress=False, source=study)
    undo()
    base = ["run", "--set", "output.plots=false", "--set", "output.fields=false"]
    rank0 = COMM.rank == 0
    line = _exit_line(capsys, [*base, str(PROBLEMS / "particle_sphere_3d.toml"), "--restart",
                               str(shared_tmp / "cut")])
    assert not rank0 or "particle_sphere_1d" in line  # a folder of another study
    line = _exit_line(capsys, [*base, study, "--set", "geometry.params.n_cells=41",
                               "--restart", str(shared_tmp / "cut")])
    assert not rank0 or "geometry.params.n_cells differs" in line  # a changed mesh size
    line = _exit_line(capsys, [*base, study, "--restart", str(shared_tmp / "nothing")])
    assert not rank0 or "no such run folder" in line
    if rank0:
        (shared_tmp / "empty").mkdir()
    COMM.barrier()
    line = _exit_line(capsys, [*base, study, "--restart", str(shared_tmp / "empty")])
    assert not rank0 or "no complete checkpoint" in line
    line = _exit_line(capsys, [*base, study, "-o", str(shared_tmp / "x"), "--restart",
                               str(shared_tmp / "cut")])
    assert not rank0 or "--output" in line
    # kinds made of independent runs check the folder too
    line = _exit_line(capsys, ["run", str(PROBLEMS / "na_ccd_ramp.toml"), "--restart",
                               str(shared_tmp / "cut")])
    assert not rank0 or "'particle_sphere_1d' (transient), not 'na_ccd_ramp'" in line
    sweep = shared_tmp / "sweep.toml"
    if rank0:
        sweep.write_text((PROBLEMS / "particle_sphere_1d.toml").read_text()
                         + '\n[sweep]\nparameter = "temperature"\nvalues = [300, 310]\n')
    COMM.barrier()
    line = _exit_line(capsys, [*base, str(sweep), "--restart", str(shared_tmp / "cut")])
    assert not rank0 or "not a sweep folder" in line
    # the stored DOF positions do not fit the mesh (a changed .msh file, same inputs)
    ck = store.latest(shared_tmp / "cut")
    if rank0:
        spaces = store.read_state(ck)["spaces"]
        data = (ck / spaces[0]["file"]).read_bytes()
        n = spaces[0]["cells"]  # the first coordinate of the first cell, moved by 1 um
        import numpy as np

        arr = np.frombuffer(data, dtype=np.float64).copy()
        arr[n] += 1e-6
        (ck / spaces[0]["file"]).write_bytes(arr.tobytes())
    COMM.barrier()
    line = _exit_line(capsys, [*base, study, "--restart", str(shared_tmp / "cut")])
    assert not rank0 or "DOF positions differ" in line
    # a completed run has nothing to continue
    from femcell.cli import main

    assert main([*base, study, "-q", "-o", str(shared_tmp / "done")]) == 0
    capsys.readouterr()
    line = _exit_line(capsys, [*base, study, "--restart", str(shared_tmp / "done")])
    assert not rank0 or "already completed" in line


# ---------------------------------------------------------------------------- points
@serial_only  # the point logic does not depend on ranks (the sweep test runs on 2)
def test_ccd_restart_redoes_only_the_unfinished_ramps(shared_tmp, monkeypatch):
    from femcell.studies import ccd_ramp, run_study

    raw = read_study(PROBLEMS / "na_ccd_ramp.toml")
    cfg = load_config(data=copy.deepcopy(raw), overrides=[
        'ramp.temperatures=["40 degC", "60 degC"]', "output.plots=false",
        "output.fields=false"])
    cfg = cfg.model_copy(update={"cases": cfg.cases[:1]})
    ref = run_study(cfg, shared_tmp / "ref", progress=False)
    orig, ran = ccd_ramp.save_done, []

    def save_then_stop(run, folder, inputs, result, comm):
        orig(run, folder, inputs, result, comm)
        interrupt.request(signal.SIGTERM)  # arrives during the first ramp's last step

    monkeypatch.setattr(ccd_ramp, "save_done", save_then_stop)
    orig_ramp = ccd_ramp.ramp

    def counting(run, ccfg, case, T, domain):
        ran.append(T)
        return orig_ramp(run, ccfg, case, T, domain)

    monkeypatch.setattr(ccd_ramp, "ramp", counting)
    with pytest.raises(interrupt.Interrupted):
        run_study(cfg, shared_tmp / "cut", progress=False)
    monkeypatch.setattr(ccd_ramp, "save_done", orig)
    assert json.loads((shared_tmp / "cut" / "summary.json").read_text())["status"] == \
        "interrupted"
    ran.clear()
    res = run_study(cfg, shared_tmp / "cut", progress=False, restart=True)
    assert ran == [cfg.ramp.temperatures[1]]  # only the ramp that had not finished
    for a, b in zip(ref.summary["ramps"], res.summary["ramps"], strict=True):
        assert b["j_crit_A_m2"] == pytest.approx(a["j_crit_A_m2"], rel=1e-10)
    assert res.value(f"E_A[{cfg.cases[0].name}]") == pytest.approx(
        ref.value(f"E_A[{cfg.cases[0].name}]"), rel=1e-9)


def test_sweep_restart_reads_completed_points_and_continues_the_rest(shared_tmp,
                                                                    monkeypatch):
    from femcell.studies import run_sweep

    study = shared_tmp / "sweep.toml"
    if COMM.rank == 0:
        text = (PROBLEMS / "particle_sphere_1d.toml").read_text()
        study.write_text(text + '\n[sweep]\nparameter = "temperature"\n'
                         'values = ["25 degC", "45 degC"]\n')
    COMM.barrier()
    over = ["output.plots=false", "output.fields=false"]
    ref = run_sweep(study, over, shared_tmp / "ref", progress=False)
    orig = Checkpointer.after_step

    def stop_in_second_point(self):
        if self.run.folder.name.endswith("_1") and self.integ.steps == 20:
            interrupt.request(signal.SIGTERM)
        return orig(self)

    monkeypatch.setattr(Checkpointer, "after_step", stop_in_second_point)
    with pytest.raises(interrupt.Interrupted):
        run_sweep(study, over, shared_tmp / "cut", progress=False)
    monkeypatch.setattr(Checkpointer, "after_step", orig)
    res = run_sweep(study, over, shared_tmp / "cut", progress=False, restart=True)
    assert [r["status"] for r in res] == ["completed", "completed"]
    for a, b in zip(ref, res, strict=True):
        for k, v in a.items():
            if isinstance(v, float) and "wall" not in k:
                assert b[k] == pytest.approx(v, rel=1e-10, abs=1e-300), k
    s = json.loads((shared_tmp / "cut" / "temperature_1" / "summary.json").read_text())
    assert s["checkpoints"]["restarts"] == 1  # continued from its checkpoint
    s0 = json.loads((shared_tmp / "cut" / "temperature_0" / "summary.json").read_text())
    assert "restarted_from" not in s0.get("checkpoints", {})  # read back, not rerun


# ---------------------------------------------------------------------------- control
def test_petsc_options_from_the_study_reach_petsc_and_log_view_writes_a_file(shared_tmp):
    from femcell.solvers import SolverError
    from femcell.studies import run_study

    study = PROBLEMS / "particle_sphere_1d.toml"
    cfg = load_config(study, ["output.plots=false", "output.fields=false",
                              "solver.petsc_options.log_view=''",
                              "solver.petsc_options.ksp_tyep=cg"])
    res = run_study(cfg, shared_tmp / "log", progress=False)
    assert any("solver.petsc_options.ksp_tyep: no PETSc solver" in w
               for w in res.summary["warnings"])  # a misspelled option is named
    text = (shared_tmp / "log" / "petsc_log.txt").read_text()
    assert "Performance Summary" in text
    assert res.summary["files"]["petsc_log"].endswith("petsc_log.txt")
    rows = res.quantities
    for k in ("wall_step_s", "wall_assemble_s", "wall_solve_s", "wall_io_s"):
        assert all(r[k] >= 0 for r in rows), k
    assert res.summary["steps"]["assemble_s"] > 0 and res.summary["steps"]["solve_s"] > 0
    # a Krylov method that cannot converge in one iteration: the steps fail, as they must
    bad = load_config(study, ["output.plots=false", "output.fields=false",
                              "solver.petsc_options.ksp_type=richardson",
                              "solver.petsc_options.pc_type=none",
                              "solver.petsc_options.ksp_max_it=1"])
    with pytest.raises(SolverError, match="no convergence|KSP"):
        run_study(bad, shared_tmp / "bad", progress=False)


def test_petsc_option_names_are_checked(shared_tmp):
    from femcell.config import ConfigError
    from femcell.studies import run_study

    with pytest.raises(ConfigError, match="PETSc option"):
        load_config(PROBLEMS / "particle_sphere_1d.toml", ["solver.petsc_options.-ksp=cg"])
    cfg = load_config(PROBLEMS / "particle_sphere_1d.toml",
                      ["solver.petsc_options.ksp_type=nonsense", "output.plots=false"])
    with pytest.raises(ConfigError, match="PETSc refused them .unknown type.: ksp_type"):
        run_study(cfg, shared_tmp / "x", progress=False)
    # ... and leaves PETSc's global options as they were: the next run in this process works
    ok = load_config(PROBLEMS / "particle_sphere_1d.toml", ["output.plots=false"])
    assert run_study(ok, shared_tmp / "y", progress=False).summary["status"] == "completed"


def test_a_stalling_step_is_reported_once(monkeypatch):
    from femcell.studies.lifecycle import StudyRun

    cfg = load_config(PROBLEMS / "particle_sphere_1d.toml")
    run = StudyRun(cfg, None, COMM, progress=False, write=False, source=None)

    class P:
        stats = {"assemble_s": 0.0, "solve_s": 0.0}

    clock = [0.0]
    monkeypatch.setattr(time, "perf_counter", lambda: clock[0])
    run.step_timings(P, initial=True)
    for dt in [1.0] * 6 + [11.0, 30.0]:
        clock[0] += dt
        row = run.step_timings(P)
        assert row["wall_step_s"] == pytest.approx(dt)
    assert len([w for w in run.warnings if "median" in w]) == 1
    assert "11 s, 11 times the median step" in run.warnings[0]


@pytest.mark.parametrize("step", [12])  # after the nucleation, while cut steps grow back
def test_protocol_restart_of_a_phase_separating_particle(shared_tmp, stop_at, step):
    """A [cahn_hilliard] particle (mixed c, mu under VI bounds) in a protocol with
    `regrow`: the restarted run repeats the uninterrupted one's steps and quantities."""
    from conftest import LFP_SMALL

    from femcell.studies import run_study

    cfg = load_config(PROBLEMS / "lfp_particle_ch.toml",
                      [*LFP_SMALL, "protocol.0.until.time=600 s", "output.plots=false"])
    ref = run_study(cfg, shared_tmp / "ref", progress=False)
    t = [r["t"] for r in ref.quantities]
    # the checkpoint falls after the nucleation's cuts, while the steps grow back
    assert ref.summary["steps"]["rejected"] > 0 and t[step - 1] - t[step - 2] < 60.0
    res = _interrupted_then_restarted(cfg, shared_tmp / "cut", stop_at, step)
    # the nucleation amplifies round-off (2 ranks: 3e-10 of a column's scale); the ohmic
    # drop in 10 nm of Li (~1e-16 V) is round-off itself
    keep = [k for k in ref.quantities[0] if not k.startswith("ohmic_drop[anode")]
    _columns_close([{k: r[k] for k in keep} for r in ref.quantities],
                   [{k: r[k] for k in keep} for r in res.quantities], rtol=1e-7)
    assert res.summary["steps"]["accepted"] == ref.summary["steps"]["accepted"]
    assert res.value("filling_at_separation[active]") == pytest.approx(
        ref.value("filling_at_separation[active]"), rel=1e-8)
