"""SIGINT / SIGTERM / SIGUSR1: stop every rank at the same step, with status "interrupted".

A signal only sets a flag (no exception inside PETSc callbacks, which would turn Ctrl-C into a
false "no convergence"). The runners call `check(comm)` after every accepted step and between
the points of a sweep, `StaggeredProblem` after every sweep of a step (the step is then
dropped: `Interrupted.mid_step`): one allreduce decides on every rank together, so all ranks raise
`Interrupted` at the same place (after writing a checkpoint: femcell.checkpoint) and the run
folder gets a summary with status interrupted. SIGTERM and SIGUSR1 are what a scheduler
sends before it kills a job (Slurm: `--signal=USR1@600`, then TERM at the limit); repeated
or combined they only keep the flag set, so a checkpoint being written is not cut short.
A second SIGINT while the first is pending stops the process at once (the user insists),
even when the rank is stuck in a C call.
Long C calls that cannot poll (gmsh meshing) run under `terminate_on_signal()`, where the
signal terminates the process immediately (nothing has been written by then).
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading

_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGUSR1)
_state = {"pending": 0, "installed": False, "previous": {}}


class Interrupted(Exception):  # noqa: N818 - reads as a status
    """The run was stopped by a signal (SIGINT / SIGTERM / SIGUSR1) on some rank.

    Attributes:
        signum: the signal number (2 for SIGINT, 15 for SIGTERM, 10 for SIGUSR1).
    """

    mid_step = False  # set by the integrator when the signal stopped a step inside it
    integrator_state = None  # then: its checkpoint_state at the last accepted step

    def __init__(self, signum: int):
        self.signum = int(signum)
        super().__init__(self.signum)  # args = (signum,): survives pickling across ranks

    def __str__(self) -> str:
        try:
            name = signal.Signals(self.signum).name
        except ValueError:
            name = f"signal {self.signum}"
        return f"interrupted by {name}"

    @property
    def exit_code(self) -> int:
        """Shell convention: 128 + signal number."""
        return 128 + self.signum


def _handler(signum, frame):
    if signum == signal.SIGINT and _state["pending"] == signal.SIGINT:  # Ctrl-C twice
        _exit_now(signum)
    if not _state["pending"]:
        _state["pending"] = signum


def _exit_now(signum: int) -> None:
    os.write(2, b"femcell: second signal: stopping now (summary.json is not updated)\n")
    os._exit(128 + signum)


def _watch(fd: int) -> None:
    """Count SIGINTs from the wakeup fd. A Python handler runs only when the main thread
    returns to the interpreter; a rank stuck in a C call (e.g. waiting in MPI) would never
    see a second Ctrl-C. This thread does (MPI waits release the GIL) and exits."""
    count = 0
    try:
        while True:
            data = os.read(fd, 64)
            if not data:  # uninstall closed the write end
                return
            for b in data:
                if b == signal.SIGINT:
                    count += 1
                    if count >= 2:
                        _exit_now(b)
    except OSError:
        return
    finally:
        os.close(fd)


def install() -> None:
    """Install the flag-setting handlers (main thread only; idempotent)."""
    if _state["installed"] or threading.current_thread() is not threading.main_thread():
        return
    for s in _SIGNALS:
        _state["previous"][s] = signal.signal(s, _handler)
    r, w = os.pipe()
    os.set_blocking(w, False)
    _state["wakeup"] = (r, w, signal.set_wakeup_fd(w, warn_on_full_buffer=False))
    threading.Thread(target=_watch, args=(r,), daemon=True, name="femcell-signals").start()
    _state["installed"] = True
    _state["pending"] = 0


def uninstall() -> None:
    """Restore the handlers that were there before `install`."""
    if not _state["installed"]:
        return
    for s, h in _state["previous"].items():
        signal.signal(s, h)
    r, w, previous_fd = _state.pop("wakeup")
    signal.set_wakeup_fd(previous_fd)
    os.close(w)  # the watcher reads end-of-file and returns; it closes nothing else
    _state["installed"] = False
    _state["pending"] = 0


def pending() -> int:
    """The signal received on this rank (0: none)."""
    return _state["pending"]


def request(signum: int = signal.SIGINT) -> None:
    """Mark an interrupt as pending (what the handler does; also for tests)."""
    _state["pending"] = int(signum)


def clear() -> None:
    """Forget a pending interrupt (for tests that request one without the CLI)."""
    _state["pending"] = 0


def check(comm) -> None:
    """Collective: raise `Interrupted` on every rank if any rank received a signal."""
    from femcell._dolfinx import MPI

    sig = comm.allreduce(_state["pending"], op=MPI.MAX)
    if sig:
        raise Interrupted(sig)


@contextlib.contextmanager
def terminate_on_signal():
    """Inside: SIGINT / SIGTERM terminate the process at once (for long C calls such as
    gmsh meshing that never return to Python in between). Restored afterwards; a signal that
    arrived before is still honoured at the next `check`."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    # SIGUSR1 (a scheduler's early warning) stays a flag: the run checkpoints after meshing
    prev = {s: signal.signal(s, signal.SIG_DFL) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in prev.items():
            signal.signal(s, h)


@contextlib.contextmanager
def handling():
    """Install the handlers for the duration of a run unless they already are (the CLI
    installs them once for the whole process)."""
    mine = not _state["installed"]
    if mine:
        install()
    try:
        yield
    finally:
        if mine:
            uninstall()
