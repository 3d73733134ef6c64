"""One run lifecycle for every study kind: run folder, progress, warnings, timings and the
summary.json skeleton, with errors agreed across ranks and interrupts turned into a status.

Every rank executes the same code whatever the verbosity: progress only decides what rank 0
prints, never which collective calls happen. Work done by rank 0 alone (folders, JSON, CSV,
plots) goes through `femcell.parallel.on_root`, so a failure there reaches every rank before
the next collective call instead of hanging the job.
"""

from __future__ import annotations

import contextlib
import sys
import time as _time
from pathlib import Path

from femcell import interrupt
from femcell.config import ConfigError
from femcell.parallel import agree, on_root

STATUSES = ("completed", "failed", "interrupted")


def bad_input_errors() -> tuple:
    """The exception types that mean bad input (one line, exit code 2 in the CLI)."""
    from femcell.domain import DomainError, RegionError
    from femcell.geometry import GeometryError
    from femcell.materials.core import MaterialError
    from femcell.units import UnitError

    return (ConfigError, GeometryError, DomainError, RegionError, MaterialError, UnitError)


def default_folder(name: str) -> Path:
    """runs/<study name> (names are validated: no spaces or commas)."""
    return Path("runs") / name


class Run:
    """The bookkeeping of one study run (collective object: create it on every rank).

    Args:
        cfg: validated study configuration (pydantic model with .study.name).
        output: run folder (None: runs/<study name>).
        comm: MPI communicator of the run.
        progress: rank 0 prints progress lines and bars.
        write: write the run folder (False: compute only).
        source: the study file (recorded in the summary).
        kind: the study kind (recorded in the summary).
    """

    def __init__(self, cfg, output, comm, *, progress: bool, write: bool,
                 source: str | None, kind: str):
        self.cfg = cfg
        self.name = cfg.study.name
        self.folder = Path(output) if output is not None else default_folder(self.name)
        self.comm = comm
        self.progress = progress
        self.write = write
        self.source = source
        self.kind = kind
        self.wall0 = _time.perf_counter()
        self.timings: dict[str, float] = {}
        self.warnings: list[str] = []
        self.paths: dict[str, Path] = {}
        self.rank0 = comm.rank == 0
        self.finished = False
        self.restart = False  # continue the run in `folder` from its newest checkpoint
        self.restarts = 0  # how many times this run was continued from a checkpoint
        self.wall_before = 0.0  # wall time of the earlier segments of a restarted run [s]
        self.checkpoints: dict = {}  # summary.json "checkpoints" entry

    def elapsed(self) -> float:
        """Wall time of the run so far [s], earlier segments of a restarted run included."""
        return self.wall_before + _time.perf_counter() - self.wall0

    def restart_inputs(self) -> dict:
        """The inputs a restart must share with the checkpointed run: everything but
        [output], [checkpoint] and solver.petsc_options (which may change between
        segments)."""
        data = self.cfg.model_dump()
        data.pop("output", None)
        data.pop("checkpoint", None)
        if isinstance(data.get("solver"), dict):
            data["solver"].pop("petsc_options", None)
        return data

    def resume_from(self, state: dict) -> None:
        """Carry timings, warnings and wall time over from a checkpoint's state."""
        for k, v in state.get("timings_s", {}).items():
            self.timings[k] = self.timings.get(k, 0.0) + float(v)
        for w in state.get("warnings", []):
            if w not in self.warnings:
                self.warnings.append(w)
        self.wall_before = float(state.get("wall_time_s", 0.0))
        self.restarts = int(state.get("restarts", 0)) + 1

    # ------------------------------------------------------------------ messages
    def say(self, msg: str) -> None:
        """Progress line on rank 0 (only with progress on)."""
        if self.progress and self.rank0:
            print(msg, flush=True)

    def warn(self, msg: str) -> None:
        """A warning: kept for summary.json and printed on rank 0 (also with --quiet).
        Call it with the same message on every rank."""
        if msg not in self.warnings:
            self.warnings.append(msg)
            if self.rank0:
                print(f"femcell: warning: {msg}", file=sys.stderr, flush=True)

    @contextlib.contextmanager
    def timed(self, key: str):
        """Accumulate the wall time of a block into timings_s[key]."""
        t0 = _time.perf_counter()
        try:
            yield
        finally:
            self.timings[key] = self.timings.get(key, 0.0) + _time.perf_counter() - t0

    def check_interrupt(self) -> None:
        """Collective: stop every rank together if any rank received SIGINT / SIGTERM."""
        interrupt.check(self.comm)

    # ------------------------------------------------------------------ folder
    def open_folder(self) -> None:
        """Create the run folder and remove an earlier summary (collective). A folder that
        cannot be created or written is bad input, raised on every rank together."""
        if not self.write:
            return
        folder = self.folder
        if self.restart:  # continue: keep what the earlier segments wrote
            return

        def make():
            try:
                folder.mkdir(parents=True, exist_ok=True)
                probe = folder / ".femcell-write-test"
                probe.write_text("")
                probe.unlink()
                _clear_outputs(folder)
            except OSError as exc:
                raise ConfigError(f"output folder {str(folder)!r}: cannot be created or "
                                  f"written ({exc.strerror or exc})") from None

        on_root(self.comm, make)

    def write_mesh(self, domain) -> None:
        """Mesh with named region tags and the region name map (collective)."""
        if not self.write:
            return
        from femcell import io as fio

        self.paths.update(fio.write_mesh_tags(domain, self.folder))

    def on_root(self, fn, *, share: bool = False):
        """Rank-0 work (files, plots) with its errors raised on every rank."""
        return on_root(self.comm, fn, share=share)

    def agree(self, fn):
        """Collective work whose errors every rank raises together."""
        return agree(self.comm, fn)

    def plots(self, draw) -> None:
        """Run draw() on rank 0 (no collective calls inside: gather data first) and add the
        paths it returns; a plot that fails becomes a warning on every rank, not a failure."""
        try:
            self.paths.update(self.on_root(draw, share=True) or {})
        except Exception as exc:
            self.warn(f"a plot could not be drawn ({type(exc).__name__}: {exc})")

    # ------------------------------------------------------------------ summary
    def summary(self, status: str, message: str, headline: dict, *, steps: dict | None = None,
                **extra) -> dict:
        """The summary.json skeleton shared by every kind (extra keys appended).

        Args:
            status: completed, failed or interrupted.
            message: why a run did not complete ("" otherwise).
            headline: {name: femcell.studies.results.Value}.
            steps: time steps ({"accepted", "rejected", solver counts}).
            **extra: kind-specific entries.
        """
        from femcell._dolfinx import capabilities, versions
        from femcell.studies.results import headline_json

        assert status in STATUSES, status
        out = {
            "status": status,
            "message": message,
            "study": self.name,
            "kind": self.kind,
            "source": self.source,
            "inputs_si": self.cfg.model_dump(),
            "versions": versions(),
            "petsc_packages": {k: v for k, v in capabilities().items() if v},
            "mpi_ranks": self.comm.size,
            "wall_time_s": self.elapsed(),
            "timings_s": dict(self.timings),
            "steps": dict(steps or {"accepted": 0, "rejected": 0}),
            "headline": headline_json(headline),
            "warnings": list(self.warnings),
        }
        out.update(extra)
        out.setdefault("citations", [])
        if self.checkpoints:
            out["checkpoints"] = dict(self.checkpoints)
        out["files"] = {k: str(v) for k, v in self.paths.items()}
        return out

    def finish(self, summary: dict) -> None:
        """Write summary.json last and atomically (rank 0; collective)."""
        if not self.write:
            return
        from femcell.io.summary import write_json

        path = self.folder / "summary.json"
        self.on_root(lambda: write_json(path, summary))
        self.finished = True

    @contextlib.contextmanager
    def guard(self, *closing):
        """Around everything after `open_folder`: an exception that ends the run before
        `finish` still leaves summary.json with status failed / interrupted (written by
        rank 0 alone, no collective call: the other ranks may be elsewhere), and the
        `closing` objects (e.g. the Problem: PETSc solvers) are closed in any case."""
        try:
            yield
        except BaseException as exc:
            self._write_failure(exc)
            raise
        finally:
            for obj in closing:
                obj.close()

    def _write_failure(self, exc: BaseException) -> None:
        if not self.write or self.finished or not self.rank0:
            return
        from femcell.io.summary import write_json

        status, message = status_of(exc)
        if status == "completed" or isinstance(exc, KeyboardInterrupt):
            status = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
        try:
            write_json(self.folder / "summary.json",
                       self.summary(status, message or type(exc).__name__, {}))
        except Exception:  # the folder itself may be the problem; the error is raised anyway
            pass


# what femcell writes into a run folder: removed before a new run writes there, so that no
# result of an earlier run (a ramp, a field file, a plot) mixes with the new one
_OUTPUT_FILES = ("summary.json", "summary.json.tmp", "quantities.csv", "j_crit.csv",
                 "mesh.vtu", "mesh_facets.vtu", "regions.json", "concentration.png",
                 "field.png", "voltage.png", "current_density.png", "arrhenius.png",
                 "j_crit.png", "free_energy.png", "impedance.csv", "nyquist.png", "bode.png",
                 "nyquist_evolution.png", "drt.csv", "drt.png", "four_probe.csv",
                 "four_probe_ac.csv", "four_probe_ac.png")
_OUTPUT_GLOBS = ("fields*.vtkhdf", "fields*.bp", "petsc_log*.txt")


def _clear_outputs(folder: Path) -> None:
    import shutil

    for name in _OUTPUT_FILES:
        (folder / name).unlink(missing_ok=True)
    for pattern in _OUTPUT_GLOBS:
        for p in folder.glob(pattern):
            shutil.rmtree(p) if p.is_dir() else p.unlink()
    for sub in ("ramps", "checkpoints"):
        if (folder / sub).is_dir():
            shutil.rmtree(folder / sub)


def status_of(exc: BaseException | None) -> tuple[str, str]:
    """(status, message) for the exception that ended a run (None: completed)."""
    if exc is None:
        return "completed", ""
    if isinstance(exc, interrupt.Interrupted):
        return "interrupted", str(exc)
    if interrupt.pending():  # the signal also hit a child process (e.g. the JIT compiler)
        return "interrupted", f"{interrupt.Interrupted(interrupt.pending())} ({exc})"
    return "failed", str(exc)


def fmt_pm(value: float, se: float | None, unit: str = "") -> str:
    """value +- se rounded to the first significant digit of se (e.g. 0.1400 +- 0.0002 eV);
    without an error estimate, three decimals and a note."""
    import math

    u = f" {unit}" if unit else ""
    if se is None or not math.isfinite(se):
        return f"{value:.3f}{u} (no error estimate from two points)"
    if se <= 0:
        return f"{value:.6f} +- 0{u}"
    digits = min(8, max(0, -math.floor(math.log10(se))))
    return f"{value:.{digits}f} +- {se:.{digits}f}{u}"
