"""Errors agreed across ranks before any collective call.

Work that one rank does alone (rank 0 creates folders, writes tables, JSON and plots) is
followed by collective calls on every rank. If it fails on rank 0 only, the other ranks
would wait forever at the next collective. `on_root` runs the work on rank 0 and
broadcasts its outcome, so every rank raises the same error (or none) together; `agree`
does the same for work done on every rank whose failure may differ between ranks.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from typing import Any


def _portable(exc: BaseException) -> BaseException:
    """The exception itself if it survives pickling, else a RuntimeError with its text."""
    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc}")


def on_root(comm, fn: Callable[[], Any], *, share: bool = False) -> Any:
    """Run fn() on rank 0 of comm; raise its exception on every rank (collective).

    Args:
        comm: MPI communicator.
        fn: the work (called on rank 0 only).
        share: broadcast fn's return value to every rank (else other ranks get None).
    """
    out, err = None, None
    if comm.rank == 0:
        try:
            out = fn()
        except Exception as exc:
            err = _portable(exc)
    if comm.size > 1:
        out_err = comm.bcast((out if share else None, err), root=0)
        if comm.rank != 0:
            out, err = out_err
    if err is not None:
        raise err
    return out


def agree(comm, fn: Callable[[], Any]) -> Any:
    """Run fn() on every rank; if any rank fails, raise the lowest rank's error on all."""
    out, err = None, None
    try:
        out = fn()
    except Exception as exc:
        err = _portable(exc)
    errs = comm.allgather(err) if comm.size > 1 else [err]
    first = next((e for e in errs if e is not None), None)
    if first is not None:
        raise err if err is not None else first
    return out
