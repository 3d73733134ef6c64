"""Errors agreed across ranks (femcell.parallel) and interrupts decided together
(femcell.interrupt): what rank 0 does alone, or one rank sees alone, reaches every rank."""

from __future__ import annotations

import signal

import pytest

from femcell import interrupt
from femcell._dolfinx import MPI
from femcell.parallel import agree, on_root

COMM = MPI.COMM_WORLD


class Unpicklable(Exception):
    def __init__(self, a, b):  # two required arguments: pickling round trip fails
        super().__init__(f"{a} {b}")


def test_on_root_raises_rank0_error_everywhere():
    def work():
        assert COMM.rank == 0
        raise ValueError("disk full")

    with pytest.raises(ValueError, match="disk full"):
        on_root(COMM, work)
    COMM.barrier()  # every rank got here: nobody hangs


def test_on_root_shares_its_value_only_when_asked():
    assert on_root(COMM, lambda: 42, share=True) == 42
    assert on_root(COMM, lambda: 42) == (42 if COMM.rank == 0 else None)


def test_agree_raises_one_ranks_error_on_all_ranks():
    def work():
        if COMM.rank == COMM.size - 1:
            raise KeyError("last rank only")
        return COMM.rank

    with pytest.raises(KeyError if COMM.size == 1 or COMM.rank == COMM.size - 1 else Exception):
        agree(COMM, work)
    assert agree(COMM, lambda: COMM.rank) == COMM.rank


def test_unpicklable_error_still_reaches_every_rank():
    def work():
        raise Unpicklable(1, 2)

    with pytest.raises(Exception, match="1 2"):
        on_root(COMM, work)


def test_interrupt_on_one_rank_is_seen_by_all():
    interrupt.install()
    try:
        interrupt.check(COMM)  # nothing pending: no exception
        if COMM.rank == 0:
            interrupt.request(signal.SIGTERM)
        with pytest.raises(interrupt.Interrupted) as info:
            interrupt.check(COMM)
        assert info.value.signum == signal.SIGTERM and info.value.exit_code == 143
        assert "SIGTERM" in str(info.value)
        import pickle

        again = pickle.loads(pickle.dumps(info.value))  # crosses sweep groups
        assert again.signum == signal.SIGTERM
    finally:
        interrupt.uninstall()
    assert interrupt.pending() == 0
