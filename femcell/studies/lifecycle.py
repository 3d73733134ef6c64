"""The one run lifecycle of every study kind: `run_study` resolves the kind, and the kind's
runner uses a `StudyRun` for the run folder, the domain build (user errors as one-line
ConfigErrors), the physics of the study file's sections, progress, quantity tables, field
writers, the summary skeleton and the failed / interrupted status (femcell.runs.Run)."""

from __future__ import annotations

from pathlib import Path

from femcell import interrupt
from femcell._dolfinx import MPI
from femcell.config import ConfigError
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

    def build_physics(self, domain, temperature: float, cfg=None):
        """(physics, BuildContext) of the study file's physics sections at T [K]."""
        from femcell.sections import build_physics

        with self.timed("setup_s"):
            return as_config_error(lambda: build_physics(cfg or self.cfg, domain, temperature))

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
                                 folder or self.folder, outputs, domain=domain)
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


def time_unit(t_end: float) -> tuple[str, float]:
    """A readable time axis for plots: (unit, seconds per unit)."""
    return ("h", 3600.0) if t_end >= 2 * 3600 else (("min", 60.0) if t_end >= 120 else
                                                     ("s", 1.0))


def run_study(cfg, output: str | Path | None = None, *, comm=MPI.COMM_WORLD,
              progress: bool = True, write: bool = True, source: str | None = None,
              jobs: str | int = "serial") -> Result:
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

    Returns:
        The Result (headline values typed: femcell.studies.Value).

    Raises:
        ConfigError: bad input discovered while building (unknown region, material...).
        SolverError: no convergence after the allowed step cuts (summary status failed).
        Interrupted: SIGINT / SIGTERM on any rank (summary status interrupted).
    """
    runner = registry.runner(cfg.kind)
    with interrupt.handling():
        run = StudyRun(cfg, output, comm, progress=progress, write=write, source=source,
                       jobs=jobs)
        return runner(run.cfg, run)
