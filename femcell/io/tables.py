"""Quantities table: a CSV written by rank 0, one row per accepted step, flushed as it goes."""

from __future__ import annotations

import csv
from pathlib import Path


class QuantityTable:
    """Collects rows of scalar quantities; rank 0 streams them to CSV.

    A write error on rank 0 (disk full, folder removed) does not stop the computation
    mid-step, which would leave the other ranks in a collective call: the table stops
    writing and `close()` (collective) raises the error on every rank.

    Args:
        comm: MPI communicator (only rank 0 writes; `close` is collective on it).
        path: CSV file, or None to keep rows in memory only.
    """

    def __init__(self, comm, path: Path | None):
        self.rows: list[dict] = []
        self._comm = comm
        self._rank0 = comm.rank == 0
        self._file = None
        self._writer = None
        self._path = path
        self._error: OSError | None = None

    def append(self, row: dict) -> None:
        self.rows.append(dict(row))
        if not (self._rank0 and self._path is not None) or self._error is not None:
            return
        try:
            if self._writer is None:
                self._file = open(self._path, "w", newline="")  # noqa: SIM115 - kept open
                self._writer = csv.DictWriter(self._file, fieldnames=list(row))
                self._writer.writeheader()
            self._writer.writerow({k: (f"{v:.12g}" if isinstance(v, float) else v)
                                   for k, v in row.items()})
            self._file.flush()
        except OSError as exc:
            self._error = exc

    def restore(self, rows: list[dict]) -> None:
        """Start from the rows of an earlier segment of a restarted run (rank 0 rewrites
        the CSV with them; the rows a killed segment wrote after its checkpoint go)."""
        for row in rows:
            self.append(row)

    def column(self, key: str) -> list:
        return [r[key] for r in self.rows]

    def close(self) -> None:
        """Close the file (collective): a write error of rank 0 is raised on every rank."""
        from femcell.parallel import on_root

        if self._file is not None:
            try:
                self._file.close()
            except OSError as exc:
                self._error = self._error or exc
            self._file = None
        err, self._error = self._error, None

        def report():
            if err is not None:
                raise OSError(f"{self._path}: writing failed ({err.strerror or err})")

        on_root(self._comm, report)


def read_table(path) -> dict[str, list[float]]:
    """Read a quantities CSV into columns of floats."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    return {k: [float(r[k]) for r in rows] for k in (rows[0] if rows else {})}
