"""Checkpoints that restart on any number of ranks (N -> M), with MPI-IO through mpi4py.

The pip wheels of adios2 and h5py are built without MPI, so io4dolfinx cannot write in
parallel on the pip stack; this module needs nothing but mpi4py. A Function is stored per
mesh cell: each owned cell contributes one row with the values of all its DOFs (cell dofmap
order) and the coordinates of those DOFs, under a key that does not depend on the
partition - the cell's index in the gmsh input (`original_cell_index`), the parent cell of a
region submesh, or (parent cell, local facet) for an interface submesh
(femcell.domain.Domain.cell_keys). Rows are sent to "directory" ranks by key, sorted, and
written as one contiguous block per rank with collective `Write_at_all`; a reader on any
number of ranks reads contiguous blocks and fetches the rows of its cells from whoever read
them. DOF values shared by several cells are written once per cell (identical copies), which
costs space but makes the format independent of how DOFs are owned. The stored DOF
coordinates are compared on reading: a changed mesh is refused, not read into wrong places.

A checkpoint is a folder `checkpoints/step-<n>` written as `step-<n>.tmp` and renamed when
complete (`state.json` last); the last `keep` complete ones are kept. A kill while writing
leaves a `.tmp` folder that readers ignore and the next writer removes.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np

from femcell._dolfinx import MPI
from femcell.config import ConfigError
from femcell.parallel import agree, on_root

FORMAT = "femcell-checkpoint-1"
PREFIX = "step-"


class CheckpointError(ConfigError):
    """A checkpoint that cannot be used for this study (bad restart input: exit code 2)."""


# ---------------------------------------------------------------------------- folders
def complete_checkpoints(folder: Path) -> list[Path]:
    """Complete checkpoints in folder/checkpoints, oldest first."""
    root = Path(folder) / "checkpoints"
    if not root.is_dir():
        return []
    found = []
    for p in root.iterdir():
        if p.is_dir() and p.name.startswith(PREFIX) and not p.name.endswith(".tmp") and (
                p / "state.json").is_file():
            try:
                found.append((int(p.name.removeprefix(PREFIX)), p))
            except ValueError:
                continue
    return [p for _, p in sorted(found)]


def latest(folder: Path) -> Path | None:
    """The newest complete checkpoint of a run folder (None: there is none)."""
    found = complete_checkpoints(folder)
    return found[-1] if found else None


def read_state(path: Path) -> dict:
    """The state.json of a checkpoint folder."""
    with open(Path(path) / "state.json") as f:
        return json.load(f)


# ---------------------------------------------------------------------------- layout
def _grid(comm, groups: list[dict]) -> float:
    """Length [m] to which DOF positions are rounded when sorting them (1e-9 of the
    largest mesh extent over all ranks: the same on every rank)."""
    ext = 0.0
    for g in groups:
        x = next(iter(g["functions"].values())).function_space.mesh.geometry.x
        if len(x):
            ext = max(ext, float(np.ptp(x, axis=0).max()))
    return max(comm.allreduce(ext, op=MPI.MAX), 1e-300) * 1e-9


def _space_rows(V, keys: np.ndarray, grid: float) -> tuple[np.ndarray, np.ndarray]:
    """(dof index array (cells, ndofs * bs) into u.x.array, dof coordinates (cells,
    ndofs * 3)) for the owned cells of V's mesh (`keys`: one per owned cell), the DOFs of
    each cell in a canonical order: sorted by position. A cell's local DOF order follows
    its vertex order, which for facet (interface) submeshes depends on the partition; the
    positions do not."""
    mesh = V.mesh
    tdim = mesh.topology.dim
    n = mesh.topology.index_map(tdim).size_local
    dm = V.dofmap
    bs = dm.index_map_bs
    dofs = np.asarray(dm.list[:n], dtype=np.int64)  # (cells, ndofs) blocked indices
    nd = dofs.shape[1]
    x = V.tabulate_dof_coordinates()
    xyz = x[dofs]  # (cells, ndofs, 3)
    if n and nd > 1:
        q = np.round(xyz / grid)
        perm = np.lexsort((q[:, :, 2], q[:, :, 1], q[:, :, 0]), axis=-1)
        dofs = np.take_along_axis(dofs, perm, axis=1)
        xyz = np.take_along_axis(xyz, perm[:, :, None], axis=1)
    idx = (dofs[:, :, None] * bs + np.arange(bs)).reshape(n, nd * bs)
    assert len(keys) == n
    return idx, xyz.reshape(n, nd * 3)


def _directory(keys: np.ndarray, kmax: int, size: int) -> np.ndarray:
    """Rank that collects each key while writing (block distribution of [0, kmax))."""
    return np.minimum((keys * size) // max(kmax, 1), size - 1).astype(np.int64)


def _alltoallv(comm, data: np.ndarray, dest: np.ndarray) -> np.ndarray:
    """Send the rows of `data` to ranks `dest` (rows keep their order per destination)."""
    order = np.argsort(dest, kind="stable")
    data = np.ascontiguousarray(data[order])
    width = int(np.prod(data.shape[1:])) if data.ndim > 1 else 1
    counts = np.bincount(dest, minlength=comm.size).astype(np.int64)
    rcounts = np.empty_like(counts)
    comm.Alltoall(counts, rcounts)
    out = np.empty((int(rcounts.sum()),) + data.shape[1:], dtype=data.dtype)
    from mpi4py.util.dtlib import from_numpy_dtype  # after femcell._dolfinx loaded MPI

    mpitype = from_numpy_dtype(data.dtype)
    sdispl = np.concatenate([[0], np.cumsum(counts)[:-1]]) * width
    rdispl = np.concatenate([[0], np.cumsum(rcounts)[:-1]]) * width
    comm.Alltoallv([data, counts * width, sdispl, mpitype],
                   [out, rcounts * width, rdispl, mpitype])
    return out


def _collective_io(comm, path: Path, mode: int, blocks: list, *, write: bool) -> None:
    """Collective MPI-IO of (byte offset, array) blocks. An error on some ranks (disk full,
    a quota) is agreed on before the next collective call: every rank takes part in every
    call (a failed rank with an empty block) and all raise OSError together."""
    err = None
    try:
        fh = MPI.File.Open(comm, str(path), mode)
    except MPI.Exception as exc:
        fh, err = None, exc
    if comm.allreduce(err is not None, op=MPI.LOR):  # Open is collective: all or none
        if fh is not None:
            fh.Close()
        raise OSError(f"{path}: cannot be opened ({err or 'on another rank'})")
    for offset, arr in blocks:
        try:
            if err is None:
                (fh.Write_at_all if write else fh.Read_at_all)(offset, arr)
            else:  # keep the collective calls matched
                (fh.Write_at_all if write else fh.Read_at_all)(0, arr[:0])
        except MPI.Exception as exc:
            err = err or exc
    try:
        if write:
            fh.Sync()  # on disk before state.json says the checkpoint is complete
    except MPI.Exception as exc:
        err = err or exc
    fh.Close()
    if comm.allreduce(err is not None, op=MPI.LOR):
        raise OSError(f"{path}: {'writing' if write else 'reading'} failed "
                      f"({err or 'on another rank'})")


# ---------------------------------------------------------------------------- write
def write_spaces(comm, folder: Path, groups: list[dict]) -> list[dict]:
    """Write the Function groups into folder (collective; folder exists on every rank).

    Args:
        groups: one dict per function space: {"name", "keys" (int64 per owned cell),
            "functions": {name: Function}} (all on the same space).

    Returns:
        JSON-able descriptions of the stored groups (for state.json).
    """
    grid = _grid(comm, groups)

    def local_rows():  # no collective call: errors are agreed before any
        out = []
        for g in groups:
            funcs = g["functions"]
            V = next(iter(funcs.values())).function_space
            keys = np.asarray(g["keys"], dtype=np.int64)
            idx, coords = _space_rows(V, keys, grid)
            rows = np.hstack([coords] + [f.x.array[idx] for f in funcs.values()])
            out.append((V, keys, idx.shape[1], coords.shape[1], rows))
        return out

    out = []
    for k, (g, (V, keys, width, ncoord, rows)) in enumerate(zip(
            groups, agree(comm, local_rows), strict=True)):
        funcs = g["functions"]
        kmax = comm.allreduce(int(keys.max()) + 1 if len(keys) else 0, op=MPI.MAX)
        dest = _directory(keys, kmax, comm.size)
        rkeys = _alltoallv(comm, keys, dest)
        rrows = _alltoallv(comm, rows, dest)
        order = np.argsort(rkeys, kind="stable")
        rkeys, rrows = rkeys[order], np.ascontiguousarray(rrows[order], dtype=np.float64)
        start = comm.exscan(len(rkeys)) or 0
        total = comm.allreduce(len(rkeys), op=MPI.SUM)
        ncol = rows.shape[1]
        path = folder / f"space{k}.bin"
        _collective_io(comm, path, MPI.MODE_WRONLY | MPI.MODE_CREATE,
                       [(start * 8, rkeys), (total * 8 + start * ncol * 8, rrows.reshape(-1))],
                       write=True)
        out.append({"name": g["name"], "file": path.name, "cells": total, "columns": ncol,
                    "coordinate_columns": ncoord, "dofs_per_cell": width,
                    "element": str(V.ufl_element()), "functions": list(funcs)})
    return out


# ---------------------------------------------------------------------------- read
def read_spaces(comm, folder: Path, groups: list[dict], stored: list[dict],
                tol: float) -> None:
    """Read Function groups written by `write_spaces` on any number of ranks (collective).

    Args:
        groups: as for write_spaces (the same names and functions).
        stored: the descriptions write_spaces returned (from state.json).
        tol: largest accepted distance between stored and current DOF coordinates [m].

    Raises:
        CheckpointError: on every rank, when the stored data do not fit this mesh.
    """
    by_name = {s["name"]: s for s in stored}
    grid = _grid(comm, groups)
    for g in groups:
        funcs = g["functions"]
        V = next(iter(funcs.values())).function_space
        keys = np.asarray(g["keys"], dtype=np.int64)
        s = by_name.get(g["name"])
        problem = None
        if s is None:
            problem = f"no data for {g['name']!r}"
        elif list(s["functions"]) != list(funcs):
            problem = (f"{g['name']}: stored fields {', '.join(s['functions'])}, this study "
                       f"has {', '.join(funcs)}")
        elif s["element"] != str(V.ufl_element()):
            problem = f"{g['name']}: element {s['element']} stored, {V.ufl_element()} now"
        if problem is None:
            ncells = comm.allreduce(len(keys), op=MPI.SUM)
            if ncells != s["cells"]:
                problem = (f"{g['name']}: {s['cells']} cells stored, the mesh has {ncells} "
                           "(the mesh changed)")
        if problem is not None:
            raise CheckpointError(f"checkpoint {folder}: {problem}")
        idx, coords = agree(comm, lambda V=V, keys=keys: _space_rows(V, keys, grid))
        total, ncol = s["cells"], s["columns"]
        lo, hi = total * comm.rank // comm.size, total * (comm.rank + 1) // comm.size
        bkeys = np.empty(hi - lo, dtype=np.int64)
        brows = np.empty((hi - lo) * ncol, dtype=np.float64)
        path = folder / s["file"]
        _collective_io(comm, path, MPI.MODE_RDONLY,
                       [(lo * 8, bkeys), (total * 8 + lo * ncol * 8, brows)], write=False)
        brows = brows.reshape(hi - lo, ncol)
        # who holds which keys: blocks are sorted and in rank order
        firsts = np.array(comm.allgather(int(bkeys[0]) if len(bkeys) else np.iinfo(
            np.int64).max), dtype=np.int64)
        nonempty = np.flatnonzero(firsts != np.iinfo(np.int64).max)
        holder = nonempty[np.maximum(np.searchsorted(firsts[nonempty], keys, side="right")
                                     - 1, 0)] if len(nonempty) else np.zeros_like(keys)
        asked = _alltoallv(comm, keys, holder)
        pos = np.searchsorted(bkeys, asked)
        ok = (pos < len(bkeys)) & (bkeys[np.minimum(pos, max(len(bkeys) - 1, 0))] == asked) \
            if len(bkeys) else np.zeros(len(asked), dtype=bool)
        reply = np.full((len(asked), ncol), np.nan)
        reply[ok] = brows[pos[ok]]
        # back to the asking ranks, in the order they asked (stable by destination)
        sender = np.repeat(np.arange(comm.size), _counts_from(comm, keys, holder))
        got = _alltoallv(comm, reply, sender)
        order = np.argsort(holder, kind="stable")
        rows = np.empty_like(got)
        rows[order] = got
        nc = s["coordinate_columns"]
        missing = int(np.isnan(rows[:, 0]).sum()) if len(rows) else 0
        dist = float(np.max(np.abs(rows[:, :nc] - coords))) if len(rows) and not missing \
            else 0.0
        bad = np.array([missing, dist], dtype=np.float64)
        comm.Allreduce(MPI.IN_PLACE, bad, op=MPI.MAX)
        if bad[0]:
            raise CheckpointError(f"checkpoint {folder}: {g['name']}: {int(bad[0])} cells of this "
                                  "mesh are not in the checkpoint (the mesh changed)")
        if bad[1] > tol:
            raise CheckpointError(f"checkpoint {folder}: {g['name']}: DOF positions differ "
                                  f"by up to {bad[1]:.3g} m from the stored ones (the mesh "
                                  "changed)")
        width = s["dofs_per_cell"]
        values = [rows[:, nc + j * width: nc + (j + 1) * width] for j in range(len(funcs))]
        _assign(comm, V, idx, values, list(funcs.values()))


def _assign(comm, V, idx: np.ndarray, values: list[np.ndarray], funcs: list) -> None:
    """Set the functions' DOFs from per-owned-cell values, then make every owner hold its
    DOFs' values: a DOF this rank owns need not lie in any cell this rank owns (submeshes
    made of owned and ghost cells), so values set on ghost DOFs go to their owners first
    (exact copies), then the owners' values go to every ghost."""
    imap = V.dofmap.index_map
    bs = V.dofmap.index_map_bs
    nown = imap.size_local
    flat = idx.ravel()
    blocks = np.unique(flat // bs)
    ghost_blocks = blocks[blocks >= nown]
    owners = np.asarray(imap.owners, dtype=np.int64)[ghost_blocks - nown]
    glob = np.asarray(imap.ghosts, dtype=np.int64)[ghost_blocks - nown]
    for f, v in zip(funcs, values, strict=True):
        f.x.array[flat] = v.ravel()
    # rows: global block index, then bs values per function
    cols = [f.x.array[(ghost_blocks[:, None] * bs + np.arange(bs)).ravel()].reshape(-1, bs)
            for f in funcs]
    send = np.hstack([glob[:, None].astype(np.float64)] + cols) if len(funcs) else None
    got = _alltoallv(comm, send, owners)
    local = got[:, 0].astype(np.int64) - imap.local_range[0]
    for j, f in enumerate(funcs):
        f.x.array[(local[:, None] * bs + np.arange(bs)).ravel()] = got[
            :, 1 + j * bs: 1 + (j + 1) * bs].ravel()
        f.x.scatter_forward()


def _counts_from(comm, keys, holder) -> np.ndarray:
    """How many keys each rank asked this rank for (the layout of the asked array)."""
    counts = np.bincount(holder, minlength=comm.size).astype(np.int64)
    rcounts = np.empty_like(counts)
    comm.Alltoall(counts, rcounts)
    return rcounts


# ---------------------------------------------------------------------------- folders
def write_checkpoint(comm, run_folder: Path, step: int, groups: list[dict], state: dict,
                     keep: int = 2) -> Path:
    """Write one checkpoint atomically (collective) and keep the newest `keep`.

    Args:
        run_folder: the run folder (checkpoints go to run_folder/checkpoints/).
        step: accepted steps so far (the folder name).
        groups: Function groups (see write_spaces).
        state: JSON-able state of the run (time, integrator, runner, physics).
    """
    root = Path(run_folder) / "checkpoints"
    final = root / f"{PREFIX}{step:09d}"
    tmp = root / f"{PREFIX}{step:09d}.tmp"

    def prepare():
        root.mkdir(parents=True, exist_ok=True)
        for p in root.glob(f"{PREFIX}*.tmp"):  # a write that was killed
            shutil.rmtree(p, ignore_errors=True)
        tmp.mkdir()

    on_root(comm, prepare)
    stored = write_spaces(comm, tmp, groups)

    def finish():
        data = dict(state, format=FORMAT, spaces=stored, ranks=comm.size)
        with open(tmp / "state.json", "w") as f:
            json.dump(data, f, separators=(",", ":"), default=_json_default)
            f.flush()
            os.fsync(f.fileno())
        if final.exists():  # the same step written again (e.g. at a signal)
            shutil.rmtree(final)
        os.replace(tmp, final)
        for old in complete_checkpoints(run_folder)[:-keep]:
            shutil.rmtree(old, ignore_errors=True)

    on_root(comm, finish)
    return final


def read_checkpoint(comm, path: Path, groups: list[dict], tol: float) -> dict:
    """Read a checkpoint folder into the Function groups; returns its state (collective)."""
    state = on_root(comm, lambda: _load_state(path), share=True)
    read_spaces(comm, Path(path), groups, state["spaces"], tol)
    return state


def _load_state(path: Path) -> dict:
    try:
        state = read_state(path)
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"checkpoint {path}: unreadable state.json ({exc})") from None
    if state.get("format") != FORMAT:
        raise CheckpointError(f"checkpoint {path}: format {state.get('format')!r}, this "
                              f"femcell reads {FORMAT!r}")
    for s in state.get("spaces", []):
        f = Path(path) / s["file"]
        size = 8 * s["cells"] * (1 + s["columns"])
        if not f.is_file() or f.stat().st_size < size:
            raise CheckpointError(f"checkpoint {path}: {s['file']} is missing or truncated")
    return state


def _json_default(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"not JSON-serialisable: {type(obj).__name__}")
