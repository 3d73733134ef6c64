"""The sweep engine: points of a grid or zip, serial or as independent MPI jobs."""

from __future__ import annotations

import pytest
from conftest import box_builder
from mpi4py import MPI

from femcell.domain import Domain
from femcell.sweep import SweepError, expand, n_groups, run_points


def test_grid_and_zip_points():
    pts = expand({"a": [1, 2], "b": ["x", "y", "z"]})
    assert len(pts) == 6 and pts[0] == {"a": 1, "b": "x"} and pts[-1] == {"a": 2, "b": "z"}
    assert expand({"a": [1, 2], "b": [3, 4]}, "zip") == [{"a": 1, "b": 3}, {"a": 2, "b": 4}]
    with pytest.raises(SweepError, match="equal length"):
        expand({"a": [1, 2], "b": [3]}, "zip")
    with pytest.raises(SweepError, match="non-empty list"):
        expand({"a": []})
    with pytest.raises(SweepError, match="mode"):
        expand({"a": [1]}, "outer")
    with pytest.raises(SweepError, match="jobs"):
        n_groups(MPI.COMM_WORLD, 3, "parallel")


def _volume_on(k, point, comm):
    """A collective piece of work: mesh a box on the given communicator, integrate."""
    d = Domain.from_builder(box_builder([0.0, 0.0], [point, 1.0], 4), comm)
    vol = d.volume()
    return {"k": k, "volume": vol, "ranks": comm.size}


@pytest.mark.parametrize("jobs", ["serial", "split"])
def test_points_give_the_same_results_serially_and_as_split_jobs(jobs):
    comm = MPI.COMM_WORLD
    points = [1.0, 2.0, 3.0]
    res = run_points(points, _volume_on, comm, jobs)
    assert [r["k"] for r in res] == [0, 1, 2]  # in point order, on every rank
    assert [r["volume"] for r in res] == pytest.approx(points, rel=1e-12)
    expected_size = 1 if (jobs == "split" and comm.size > 1) else comm.size
    assert all(r["ranks"] == expected_size for r in res)
    assert comm.allgather(res) == [res] * comm.size


def test_an_error_in_one_job_is_raised_on_every_rank():
    def work(k, point, comm):
        if point == "bad":
            raise ValueError(f"point {k} is bad")
        return point

    for jobs in ("serial", "split"):
        with pytest.raises(ValueError, match="point 1 is bad"):
            run_points(["ok", "bad", "ok"], work, MPI.COMM_WORLD, jobs)
