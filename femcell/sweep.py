"""Sweeps: the same work over a list or grid of parameter points, one after another on all
ranks, or as independent MPI jobs.

With ``jobs="split"`` the communicator is split into groups (as many as there are points,
at most one per rank); each group runs its points on its own sub-communicator, round-robin,
and the results are gathered so that every rank returns the same ordered list. This is how
a 15-ramp CCD study runs on 15 ranks in the time of one ramp, and how a pressure sweep fills
a cluster node. Each point's work must only use the communicator it is given.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any

from femcell._dolfinx import MPI
from femcell.parallel import _portable

JOBS = ("serial", "split")


class SweepError(ValueError):
    """A sweep definition the user must fix (one line)."""


def expand(parameters: dict[str, Sequence], mode: str = "grid") -> list[dict[str, Any]]:
    """The points of a sweep: every combination ("grid") or the i-th value of each ("zip").

    Args:
        parameters: dotted key -> list of values, e.g. {"interface.stack_pressure": [...]}.
        mode: "grid" (Cartesian product, last key fastest) or "zip" (equal-length lists).

    Returns:
        One {key: value} dict per point.
    """
    if not parameters:
        raise SweepError("sweep: no parameters")
    keys = list(parameters)
    values = []
    for k in keys:
        v = parameters[k]
        if isinstance(v, str | bytes) or not isinstance(v, Sequence) or len(v) == 0:
            raise SweepError(f"sweep: parameter {k!r} needs a non-empty list of values")
        values.append(list(v))
    if mode == "grid":
        return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*values)]
    if mode == "zip":
        n = {len(v) for v in values}
        if len(n) != 1:
            raise SweepError("sweep: mode = 'zip' needs lists of equal length, got "
                             + ", ".join(f"{k}: {len(v)}" for k, v in zip(keys, values,
                                                                          strict=True)))
        return [dict(zip(keys, combo, strict=True)) for combo in zip(*values, strict=True)]
    raise SweepError(f"sweep: mode = {mode!r}: expected 'grid' or 'zip'")


def n_groups(comm, n_points: int, jobs: str | int) -> int:
    """How many independent groups a sweep of n_points uses on comm."""
    if jobs == "serial":
        return 1
    if jobs == "split":
        return max(1, min(comm.size, n_points))
    if isinstance(jobs, int) and not isinstance(jobs, bool) and jobs >= 1:
        return max(1, min(jobs, comm.size, n_points))
    raise SweepError(f"jobs = {jobs!r}: expected 'serial', 'split' or a number of groups >= 1")


def run_points(points: Sequence, work: Callable[[int, Any, Any], Any], comm=MPI.COMM_WORLD,
               jobs: str | int = "serial") -> list:
    """Run work(index, point, comm) for every point; return the results in point order.

    Args:
        points: the sweep points (anything work understands).
        work: called collectively on the communicator it is given; returns a picklable
            result (the value of the group's rank 0 is kept).
        comm: the communicator of the whole sweep.
        jobs: "serial" (every point on all of comm, one after another), "split" (one group
            per rank, at most one per point) or a number of groups.

    Returns:
        [work(0, ...), work(1, ...), ...] on every rank.

    Raises:
        The first (lowest index) exception any point raised, on every rank, once every group
        has stopped. An exception that every rank of a group raises together (bad input,
        an unconverged solve) is safe; one that a single rank raises while the others of
        its group wait in a collective cannot be recovered in MPI and hangs that group, as
        in any MPI program.
    """
    ng = n_groups(comm, len(points), jobs)
    if ng == 1:
        return [work(i, p, comm) for i, p in enumerate(points)]
    # contiguous blocks of ranks per group: ranks sharing a node share a group
    color = comm.rank * ng // comm.size
    sub = comm.Split(color, comm.rank)
    leader = sub.rank == 0
    results, errors = {}, {}
    try:
        for i in range(color, len(points), ng):
            try:
                res, err = work(i, points[i], sub), None
            except Exception as exc:  # agreed on within the group, reported everywhere
                res, err = None, _portable(exc)
            group_errs = [e for e in sub.allgather(err) if e is not None]
            if group_errs:
                errors[i] = group_errs[0]
                break  # the whole group stops together
            if leader:
                results[i] = res
    finally:
        sub.Free()
    all_results, all_errors = {}, {}
    for res_chunk, err_chunk in comm.allgather((results, errors)):
        all_results.update(res_chunk)
        for i, e in err_chunk.items():
            all_errors.setdefault(i, e)
    if all_errors:  # an interrupt wins (status interrupted), else the lowest point's error
        from femcell.interrupt import Interrupted

        stops = [i for i, e in all_errors.items() if isinstance(e, Interrupted)]
        raise all_errors[min(stops or all_errors)]
    missing = [i for i in range(len(points)) if i not in all_results]
    if missing:  # cannot happen unless a group stopped early without an error
        raise RuntimeError(f"sweep: points {missing} produced no result")
    return [all_results[i] for i in range(len(points))]
