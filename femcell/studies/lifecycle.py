"""The one run lifecycle of every study kind: `run_study` resolves the kind, and the kind's
runner uses a `StudyRun` for the run folder, the domain build (user errors as one-line
ConfigErrors), the physics of the study file's sections, progress, quantity tables, field
writers, the summary skeleton and the failed / interrupted status (femcell.runs.Run)."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

from femcell import interrupt
from femcell._dolfinx import MPI
from femcell.config import ConfigError
from femcell.parallel import on_root
from femcell.runs import Run
from femcell.solvers import SolverError
from femcell.studies import registry
from femcell.studies.results import Result


def user_errors() -> tuple:
    """Errors a study file causes while it is built (mapped to ConfigError)."""
    from femcell.domain import RegionError
    from femcell.materials.core import MaterialError
    from femcell.protocol import ProtocolError
    from femcell.units import UnitError

    return (RegionError, MaterialError, ProtocolError, UnitError)


def as_config_error(fn):
    """fn() with regions, materials, protocol and unit errors raised as ConfigError."""
    try:
        return fn()
    except user_errors() as exc:
        raise ConfigError(str(exc)) from None


def build_domain(cfg, comm=MPI.COMM_WORLD, base_dir: Path | None = None):
    """The Domain of [geometry]: a builder, or a .geo / .msh file (relative to base_dir)."""
    from femcell.domain import Domain

    g = cfg.geometry
    if g.builder is not None:
        return Domain.from_builder(g.builder, comm, coordinates=g.coordinates, **g.params)
    path = Path(g.file)
    if not path.is_absolute() and base_dir is not None and not path.exists():
        path = base_dir / path
    return Domain.from_file(path, comm, coordinates=g.coordinates, h=g.h, order=g.order)


class StudyRun(Run):
    """A Run (femcell.runs) with what every kind needs to build and record a study.

    Attributes:
        cfg: the study at its resolution (what runs; `inputs_si` of the summary).
        given: the study as given (before resolution "fine").
        base_dir: folder of the study file (relative geometry files).
        jobs: "serial" or "split" for kinds made of independent runs.
    """

    def __init__(self, cfg, output, comm, *, progress: bool, write: bool,
                 source: str | None, jobs: str | int = "serial"):
        self.given = cfg
        super().__init__(cfg.refined(), output, comm, progress=progress, write=write,
                         source=source, kind=cfg.kind)
        self.base_dir = Path(source).parent if source else None
        self.jobs = jobs
        self.quality = None
        self.field_stem = "fields"  # a restarted run writes fields-r<k>.vtkhdf

    # ------------------------------------------------------------------ restart
    def restart_inputs(self) -> dict:
        """Run.restart_inputs, plus the SHA-256 of a geometry file (and of the .json that
        may come with a .msh): a file changed in place is another mesh."""
        if getattr(self, "_inputs", None) is not None:
            return self._inputs
        data = super().restart_inputs()
        self._inputs = data
        g = self.cfg.geometry
        if g.file is not None:
            import hashlib

            path = Path(g.file)
            if not path.is_absolute() and self.base_dir is not None and not path.exists():
                path = self.base_dir / path
            digests = {}
            for f in (path, path.with_suffix(".json")):
                if f.is_file():
                    digests[f.name] = hashlib.sha256(f.read_bytes()).hexdigest()
            data["geometry_files_sha256"] = digests
        return data

    def restart_checkpoint(self) -> Path | None:
        """With --restart: the newest complete checkpoint of the run folder, checked against
        this study (collective; CheckpointError, i.e. bad input, when it cannot be used).
        None when the run is not a restart."""
        if not self.restart:
            return None
        from femcell.io import checkpoint as store

        folder = self.folder

        def check():
            if not folder.is_dir():
                raise store.CheckpointError(f"--restart {folder}: no such run folder")
            status = _summary_status(folder)
            if status == "completed":
                raise store.CheckpointError(f"--restart {folder}: the run is already "
                                            "completed (summary.json); nothing to continue")
            path = store.latest(folder)
            if path is None:
                raise store.CheckpointError(
                    f"--restart {folder}: no complete checkpoint in {folder / 'checkpoints'}"
                    " (a run writes one every [checkpoint] every_steps / every_minutes and "
                    "when it receives SIGTERM, SIGUSR1 or SIGINT)")
            state = store._load_state(path)
            self._check_same_study(path, state)
            return str(path)

        return Path(self.on_root(check, share=True))

    def restart_points(self) -> None:
        """With --restart, for kinds made of independent runs (their finished runs are read
        back, the others run): the run folder must exist and not be completed (collective;
        CheckpointError otherwise)."""
        if not self.restart:
            return
        from femcell.io import checkpoint as store

        folder = self.folder

        def check():
            if not folder.is_dir():
                raise store.CheckpointError(f"--restart {folder}: no such run folder")
            summary = folder / "summary.json"
            if not summary.is_file():  # killed before its summary: its ramps must be there
                if not (folder / "ramps").is_dir():
                    raise store.CheckpointError(f"--restart {folder}: not a run folder of "
                                                f"{self.name} (no summary.json, no ramps/)")
                return
            try:
                sm = json.loads(summary.read_text())
            except (OSError, ValueError) as exc:
                raise store.CheckpointError(f"--restart {folder}: unreadable summary.json "
                                            f"({exc})") from None
            if sm.get("status") == "completed":
                raise store.CheckpointError(f"--restart {folder}: the run is already "
                                            "completed (summary.json); nothing to continue")
            if sm.get("study") != self.name or sm.get("kind") != self.kind:
                raise store.CheckpointError(f"--restart {folder}: a run of study "
                                            f"{sm.get('study')!r} ({sm.get('kind')}), not "
                                            f"{self.name!r} ({self.kind})")
            given = _comparable_inputs(sm.get("inputs_si", {}))
            key = _first_difference(given, _comparable_inputs(Run.restart_inputs(self)))
            if key is not None:
                raise store.CheckpointError(f"--restart {folder}: {key or 'the inputs'} "
                                            "differs from the interrupted run's summary.json")

        self.on_root(check)

    def _check_same_study(self, path: Path, state: dict) -> None:
        from femcell.io.checkpoint import CheckpointError, _json_default

        if state.get("study") != self.name or state.get("kind") != self.kind:
            raise CheckpointError(f"--restart {self.folder}: the checkpoint is of study "
                                  f"{state.get('study')!r} ({state.get('kind')}), not "
                                  f"{self.name!r} ({self.kind})")
        now = json.loads(json.dumps(self.restart_inputs(), default=_json_default))
        key = _first_difference(state.get("inputs"), now)
        if key is not None:
            raise CheckpointError(f"--restart {self.folder}: {key or 'the inputs'} differs "
                                  f"from the checkpointed run's ({path.name}); a restart "
                                  "continues the same study ([output], [checkpoint] and "
                                  "solver.petsc_options may change)")

    def checkpointer(self, problem, integrator, runner_state):
        """The Checkpointer of this run ([checkpoint] settings)."""
        from femcell.checkpoint import Checkpointer

        c = self.cfg.checkpoint
        ck = Checkpointer(self, problem, integrator, runner_state, every_steps=c.every_steps,
                          every_minutes=c.every_minutes, keep=c.keep)
        self.checkpoints = {"every_steps": c.every_steps, "every_minutes": c.every_minutes,
                            "written": ck.written}
        return ck

    def resume(self, ck, path: Path) -> dict:
        """Read checkpoint `path` into the initialised problem; returns the checkpoint's
        state ("runner": the runner's own, "integrator": for TimeIntegrator.restore_state)."""
        state = ck.restore(path)
        self.field_stem = f"fields-r{self.restarts}"
        earlier = self.on_root(lambda: sorted(
            str(p) for pattern in ("fields*.vtkhdf", "fields*.bp")
            for p in self.folder.glob(pattern)), share=True)
        for p in earlier:  # the earlier segments' field files stay part of the run
            self.paths[f"fields:{Path(p).name}"] = Path(p)
        self.checkpoints["restarted_from"] = str(path)
        self.checkpoints["restarts"] = self.restarts
        self.say(f"femcell: continuing from {path} (t = {state['t']:.6g} s, "
                 f"{state['steps']} steps; restart {self.restarts})")
        return state

    # ------------------------------------------------------------------ per-step timings
    STALL_FACTOR = 10.0  # a step this many times the median step time is reported
    STALL_MIN_STEPS = 5
    STALL_FLOOR_S = 0.5  # shorter steps are never reported (a Jacobian rebuild, a JIT)

    def step_timings(self, problem, *, initial: bool = False) -> dict:
        """Wall seconds on this rank since the previous row: the whole step, assembly and
        solves (rejected attempts included), output writing, checkpoints and measurements
        (impedance steps, timings_s["measure_s"]: with the output). Warns (once per
        run) when a step's computation per solve takes STALL_FACTOR times the median (and
        the step more than STALL_FLOOR_S)."""
        import time as _time

        st = problem.stats
        now = (_time.perf_counter(), st.get("assemble_s", 0.0), st.get("solve_s", 0.0),
               self.timings.get("io_s", 0.0) + self.timings.get("checkpoint_s", 0.0)
               + self.timings.get("measure_s", 0.0),
               st.get("solves", 0))
        prev = getattr(self, "_tprev", None)
        self._tprev = now
        if initial or prev is None:
            self._step_walls = []
            return dict.fromkeys(("wall_step_s", "wall_assemble_s", "wall_solve_s",
                                  "wall_io_s"), 0.0)
        d = [a - b for a, b in zip(now, prev, strict=True)]
        compute = d[0] - d[3]  # the step without output and checkpoint writing
        # per solve: a step that needs many solves (a crack growing over many staggered
        # sweeps, cut steps) is work, not a stall; a solve that takes far longer is
        per_solve = compute / max(d[4], 1)
        walls = self._step_walls
        if len(walls) >= self.STALL_MIN_STEPS and not getattr(self, "_stalled", False):
            med = float(sorted(walls)[len(walls) // 2])
            if per_solve > max(self.STALL_FACTOR * med, self.STALL_FLOOR_S / max(d[4], 1)):
                self._stalled = True
                each = f" per solve, {d[4]} solves" if d[4] > 1 else ""
                self.warn(f"a step took {per_solve:.3g} s, {per_solve / med:.0f} times the "
                          f"median step ({med:.3g} s){each} after {len(walls)} steps (solver "
                          "stall? see wall_* in quantities.csv)")
        walls.append(per_solve)
        if getattr(self, "debug", False) and self.rank0:  # a log line, also with --quiet
            print(f"  step {len(walls)}: {d[0]:.4g} s (assembly {d[1]:.3g} s, solve "
                     f"{d[2]:.3g} s, output {d[3]:.3g} s)", flush=True)
        return {"wall_step_s": d[0], "wall_assemble_s": d[1], "wall_solve_s": d[2],
                "wall_io_s": d[3]}

    @contextlib.contextmanager
    def petsc_log(self):
        """With solver.petsc_options.log_view: PETSc's performance log of the run, written
        to petsc_log.txt in the run folder before summary.json (`finish`), or at the end
        of a run that failed."""
        self._petsc_log = "log_view" in self.cfg.solver.petsc_options
        if not self._petsc_log:
            yield
            return
        from femcell._dolfinx import PETSc

        PETSc.Log.begin()
        # femcell's presets hold options of solver modes a run may not use: PETSc would list
        # them as "not used" at exit (user options are checked when the file is read)
        PETSc.Options()["options_left"] = "no"
        try:
            yield
        finally:
            self.write_petsc_log()

    def write_petsc_log(self) -> None:
        """Write the PETSc log once (collective), if log_view was asked for."""
        if not getattr(self, "_petsc_log", False) or not self.write:
            return
        self._petsc_log = False
        from femcell._dolfinx import PETSc

        name = "petsc_log.txt" if not self.restarts else f"petsc_log-r{self.restarts}.txt"
        if not self.on_root(self.folder.is_dir, share=True):
            return
        viewer = PETSc.Viewer().createASCII(str(self.folder / name), comm=self.comm)
        PETSc.Log.view(viewer)
        viewer.destroy()
        self.paths["petsc_log"] = self.folder / name

    def finish(self, summary: dict) -> None:
        """Write the PETSc log (with log_view), then summary.json (collective). A completed
        run's checkpoints are removed (a completed run is never continued)."""
        if getattr(self, "_petsc_log", False):
            self.write_petsc_log()
            summary.setdefault("files", {})["petsc_log"] = str(self.paths["petsc_log"])
        if self.write and summary.get("status") == "completed" and self.checkpoints.get(
                "written"):
            import shutil

            self.on_root(lambda: shutil.rmtree(self.folder / "checkpoints",
                                               ignore_errors=True))
            summary.setdefault("checkpoints", {})["removed"] = "at completion"
        super().finish(summary)

    def check_options(self, problem) -> None:
        """A warning for every solver.petsc_options entry no solver read (call before
        problem.close())."""
        for k in problem.unused_options():
            self.warn(f"solver.petsc_options.{k}: no PETSc solver of this run read it "
                      "(misspelled, or an option of a solver the study does not use)")

    def petsc_options(self) -> dict:
        """[solver] petsc_options as strings for the Problem (log_view is handled by the
        run: petsc_log.txt)."""
        opts = {k: ("" if v is True else str(v).lower() if isinstance(v, bool) else str(v))
                for k, v in self.cfg.solver.petsc_options.items()}
        opts.pop("log_view", None)
        return opts

    # ------------------------------------------------------------------ building
    def build_domain(self, comm=None, *, report: bool = True):
        """The Domain on `comm` (default: the run's), timed; the mesh quality line once."""
        with self.timed("mesh_s"):
            domain = as_config_error(lambda: build_domain(self.cfg, comm or self.comm,
                                                          self.base_dir))
        if report:
            self.quality = domain.quality()
            self.say(domain.quality_line(self.quality))
        return domain

    def build_physics(self, domain, temperature: float, cfg=None, info: dict | None = None):
        """(physics, BuildContext) of the study file's physics sections at T [K] (`info`:
        entries the kind gives the section builders)."""
        from femcell.sections import build_physics

        with self.timed("setup_s"):
            return as_config_error(lambda: build_physics(cfg or self.cfg, domain, temperature,
                                                         info=info))

    def domain_summary(self, domain, problem=None, **extra) -> dict:
        out = {"description": domain.describe(), "cells": domain.num_cells_global(),
               "mesh_quality": self.quality}
        if problem is not None:
            out["dofs"] = problem.num_dofs
        out.update(extra)
        return out

    # ------------------------------------------------------------------ recording
    def begin(self, domain, physics: list, problem, *, initialise: bool = True):
        """After `open_folder`, inside `guard`: the mesh with its regions, the field writer
        (None when fields are off), the quantities table, the initial state of `problem`
        (unless already set: initialise=False).

        Returns:
            (writer, table).
        """
        self.write_mesh(domain)
        writer = self.field_writer(physics, domain)
        table = self.quantity_table()
        if initialise:
            problem.initialise()
        return writer, table

    def field_writer(self, physics: list, domain, folder: Path | None = None):
        """Field time series of every output field of `physics` (None when [output] fields
        is off or nothing is written)."""
        if not (self.write and self.cfg.output.fields):
            return None
        from femcell import io as fio

        outputs = {}
        for p in physics:
            outputs.update(p.output_fields())
        writer = fio.FieldWriter(self.comm if folder is None else domain.comm,
                                 (folder or self.folder) / f"{self.field_stem}.vtkhdf",
                                 outputs, domain=domain)
        if folder is None:
            for p in writer.paths:
                self.paths[f"fields:{p.name}"] = p
        return writer

    def quantity_table(self, folder: Path | None = None, name: str = "quantities.csv",
                       comm=None):
        """A quantities CSV (rank 0 writes; collective close)."""
        from femcell import io as fio

        path = (folder or self.folder) / name if self.write else None
        if path is not None and folder is None:
            self.paths["quantities"] = path
        return fio.QuantityTable(comm or self.comm, path)

    def progress_bar(self, **kw):
        """A tqdm bar on rank 0 when progress is on (None elsewhere)."""
        if not (self.progress and self.rank0):
            return None
        from tqdm import tqdm

        return tqdm(desc=self.name, mininterval=0.5, **kw)

    def check_admissible(self, physics: list, rows: list[dict]) -> None:
        """Warnings for physically impossible recorded results (negative concentrations,
        overshoots, states on the kinetics' overflow continuation)."""
        from femcell.physics.diffusion import admissibility_warnings

        for w in admissibility_warnings(physics, rows):
            self.warn(w)

    # ------------------------------------------------------------------ ending
    def result(self, rows: list, headline: dict, summary: dict) -> Result:
        return Result(self.name, self.folder if self.write else None, rows, headline, summary,
                      self.paths)

    def raise_stop(self, stop) -> None:
        """Re-raise what stopped a run once its summary is written."""
        if stop is None:
            return
        if isinstance(stop, interrupt.Interrupted):
            raise stop
        where = (f" (partial results in {self.folder}; summary.json says failed)"
                 if self.write else "")
        raise SolverError(f"{stop}{where}")


def completed_point(folder: Path, inputs: dict, comm) -> dict | None:
    """The summary.json of a point of a restarted sweep when it says completed and was run
    with `inputs` (Run.restart_inputs form); None when the point must run (collective).

    Raises:
        CheckpointError: the completed point was run with other inputs.
    """
    from femcell.io.checkpoint import CheckpointError

    def read():
        try:
            with open(folder / "summary.json") as f:
                sm = json.load(f)
        except (OSError, ValueError):
            return None
        if sm.get("status") != "completed":
            return None
        key = _first_difference(_comparable_inputs(sm.get("inputs_si", {})),
                                _comparable_inputs(inputs))
        if key is not None:
            raise CheckpointError(f"--restart: {folder}: {key or 'the inputs'} differs from "
                                  "the completed point's summary.json")
        return sm

    return on_root(comm, read, share=True)


def _comparable_inputs(data: dict) -> dict:
    """Inputs as JSON values without the sections a restart may change."""
    from femcell.io.checkpoint import _json_default

    data = json.loads(json.dumps(data, default=_json_default))
    for k in ("output", "checkpoint"):
        data.pop(k, None)
    if isinstance(data.get("solver"), dict):
        data["solver"].pop("petsc_options", None)
    return data


def _summary_status(folder: Path) -> str | None:
    try:
        with open(folder / "summary.json") as f:
            return json.load(f).get("status")
    except (OSError, ValueError, AttributeError):
        return None


def _first_difference(a, b, path: str = "") -> str | None:
    """Dotted path of the first difference between two JSON-like values (None: equal)."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in list(a) + [k for k in b if k not in a]:
            if k not in a or k not in b:
                return f"{path}{k}"
            d = _first_difference(a[k], b[k], f"{path}{k}.")
            if d is not None:
                return d
        return None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return path.rstrip(".")
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            d = _first_difference(x, y, f"{path}{i}.")
            if d is not None:
                return d
        return None
    return None if a == b else path.rstrip(".")


def time_unit(t_end: float) -> tuple[str, float]:
    """A readable time axis for plots: (unit, seconds per unit)."""
    return ("h", 3600.0) if t_end >= 2 * 3600 else (("min", 60.0) if t_end >= 120 else
                                                     ("s", 1.0))


def run_study(cfg, output: str | Path | None = None, *, comm=MPI.COMM_WORLD,
              progress: bool = True, write: bool = True, source: str | None = None,
              jobs: str | int = "serial", restart: bool = False,
              log_level: str = "info") -> Result:
    """Run a study of any registered kind and write its folder.

    Args:
        cfg: validated study (femcell.load_config).
        output: run folder (default runs/<study name>); ignored when write is False.
        comm: MPI communicator.
        progress: show progress on rank 0 (every rank runs the same code either way).
        write: write fields, tables, plots and summary.json.
        source: path of the study file (recorded in the summary).
        jobs: for kinds made of independent runs (CCD ramps): "serial" or "split" (one
            group of ranks per run, femcell.sweep); a single-run study uses all ranks.
        restart: continue the run in `output` from its newest checkpoint (any number of
            ranks); kinds made of independent runs redo only those not completed.
        log_level: "warning", "info" or "debug" (rank 0 prints a line per step with its
            timings).

    Returns:
        The Result (headline values typed: femcell.studies.Value).

    Raises:
        ConfigError: bad input discovered while building (unknown region, material...).
        SolverError: no convergence after the allowed step cuts (summary status failed).
        Interrupted: SIGINT / SIGTERM / SIGUSR1 on any rank (a checkpoint is written,
            summary status interrupted).
    """
    runner = registry.runner(cfg.kind)
    with interrupt.handling():
        run = StudyRun(cfg, output, comm, progress=progress, write=write, source=source,
                       jobs=jobs)
        run.restart = bool(restart)
        run.debug = log_level == "debug"
        with run.petsc_log():
            return runner(run.cfg, run)
