"""Checkpoint and restart of a run: what is saved, when, and how a run continues from it.

A checkpoint holds, at an accepted step: every field of the problem with its history levels
(femcell.io.checkpoint stores them so that any number of ranks can read them), the physics'
running totals (`Physics.checkpoint_state`), the solver counters and mode, the time
integrator (time, step and step history, counters, step log, located events), and the
runner's own position (protocol step, charge passed, rows of quantities.csv, output
counters). Geometry is rebuilt from the study file (seeded builders give the same mesh);
the stored DOF positions are compared with the rebuilt mesh's.

`Checkpointer.after_step` is the one collective decision per accepted step: a pending
signal (SIGTERM, SIGUSR1, SIGINT on any rank) or a due checkpoint (every N steps / M
minutes) writes a checkpoint on every rank together; a signal then raises `Interrupted`.
A signal seen inside a step (staggered sweeps) drops that step; the runner's `except` calls
`Checkpointer.after_stop`, which checkpoints the last accepted step (once).
"""

from __future__ import annotations

import time as _time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from femcell import interrupt
from femcell._dolfinx import MPI
from femcell.io import checkpoint as store
from femcell.io.checkpoint import CheckpointError

__all__ = ["CheckpointError", "Checkpointer", "problem_groups", "restore_problem"]


def problem_groups(problem) -> list[dict]:
    """The Function groups of a problem's state: per field u and its history levels."""
    domain = problem.domain
    cache = domain.__dict__.setdefault("_checkpoint_keys", {})
    groups = []
    for f in problem.fields:
        mesh = f.u.function_space.mesh
        if id(mesh) not in cache:
            cache[id(mesh)] = (mesh, domain.cell_keys(mesh))
        funcs = {f.name: f.u}
        funcs.update({f"{f.name}^{k + 1}": h for k, h in enumerate(f.history)})
        groups.append({"name": f.name, "keys": cache[id(mesh)][1], "functions": funcs})
    return groups


def problem_state(problem) -> dict:
    """Solver mode and counters, and every physics' checkpoint_state (by position)."""
    stats = problem.stats if isinstance(problem.stats, dict) else {}
    return {"mode": problem.mode, "stats": dict(stats),
            "physics": [p.checkpoint_state() for p in problem.physics]}


def restore_problem(problem, state: dict) -> None:
    """Set mode, counters and physics state (the fields are read by `Checkpointer`)."""
    problem.set_mode(state["mode"])
    if hasattr(problem, "_last_accepted"):  # single Problem (a staggered one sums these)
        problem.stats.update(state["stats"])
    for p, s in zip(problem.physics, state["physics"], strict=True):
        p.restore_state(s)
    for sub in getattr(problem, "subs", [problem]):
        sub.record_initial_state()  # quasi-static fields: the restored state is accepted


class Checkpointer:
    """Writes checkpoints of one run and stops it on a signal (collective object).

    Args:
        run: the StudyRun (folder, communicator, settings in cfg.checkpoint, `write`).
        problem: the Problem (or StaggeredProblem).
        integrator: its TimeIntegrator.
        runner_state: f() -> JSON-able state of the runner at an accepted step.
        every_steps: accepted steps between checkpoints (0: off).
        every_minutes: wall minutes between checkpoints (0: off).
    """

    def __init__(self, run, problem, integrator, runner_state: Callable[[], dict], *,
                 every_steps: int = 0, every_minutes: float = 0.0, keep: int = 2):
        self.run, self.problem, self.integ = run, problem, integrator
        self.runner_state = runner_state
        self.every_steps, self.every_minutes, self.keep = every_steps, every_minutes, keep
        self.comm = run.comm
        self._last_step = integrator.steps
        self._written = None  # the step of the last checkpoint written (or restored)
        self._last_time = _time.perf_counter()
        self.written: list[str] = []
        self.seconds = 0.0

    def after_step(self) -> None:
        """Collective, after every accepted step (once the runner has recorded it): write a
        checkpoint when one is due or a signal is pending; raise Interrupted on a signal."""
        n = self.every_steps  # at multiples of n accepted steps, also after a restart
        due = (n and self.integ.steps // n > self._last_step // n) or (
            self.every_minutes and _time.perf_counter() - self._last_time
            >= 60.0 * self.every_minutes)
        flags = np.array([interrupt.pending(), 1 if due else 0], dtype=np.int64)
        self.comm.Allreduce(MPI.IN_PLACE, flags, op=MPI.MAX)
        if flags[0] or flags[1]:
            self.write()
        if flags[0]:
            raise interrupt.Interrupted(int(flags[0]))

    def after_stop(self, exc: BaseException) -> None:
        """Collective, where a runner catches what stopped it: a signal that stopped the run
        inside a step (the integrator has put the problem back at its last accepted step)
        gets the checkpoint that `after_step` writes for a signal between steps."""
        if (isinstance(exc, interrupt.Interrupted) and exc.mid_step
                and self._written != self.integ.steps):  # not twice for the same step
            self.write(exc.integrator_state)

    def write(self, integrator_state: dict | None = None) -> Path | None:
        """Write a checkpoint now (collective; nothing when the run writes no folder);
        `integrator_state` replaces the integrator's current `checkpoint_state()`."""
        self._last_step = self._written = self.integ.steps
        self._last_time = _time.perf_counter()
        if not self.run.write:
            return None
        t0 = _time.perf_counter()
        run = self.run
        state = {"study": run.name, "kind": run.kind, "inputs": run.restart_inputs(),
                 "restarts": run.restarts, "t": self.integ.t, "steps": self.integ.steps,
                 "integrator": integrator_state or self.integ.checkpoint_state(),
                 "problem": problem_state(self.problem), "runner": self.runner_state(),
                 "timings_s": dict(run.timings), "warnings": list(run.warnings),
                 "wall_time_s": run.elapsed()}
        path = store.write_checkpoint(self.comm, run.folder, self.integ.steps,
                                      problem_groups(self.problem), state, keep=self.keep)
        self.seconds += _time.perf_counter() - t0
        run.timings["checkpoint_s"] = run.timings.get("checkpoint_s", 0.0) + (
            _time.perf_counter() - t0)
        self.written.append(path.name)
        return path

    def restore(self, path: Path, *, events=None) -> dict:
        """Read checkpoint `path` into the problem and integrator (whose events must be set
        as they were, e.g. by the runner); returns the runner's state (collective)."""
        tol = 1e-9 * self.problem.domain.size()
        state = store.read_checkpoint(self.comm, path, problem_groups(self.problem), tol)
        restore_problem(self.problem, state["problem"])
        self.run.resume_from(state)
        self._last_step = self._written = int(state["steps"])
        return state
