"""Time series of named point and cell arrays on one DOLFINx mesh in a VTKHDF file.

The file follows the VTKHDF 2.x layout for a temporal ``UnstructuredGrid`` (the layout
DOLFINx's own ``dolfinx.io.vtkhdf`` writes): one part holding the owned geometry nodes and
cells of every rank in rank order. The connectivity is written once; the node coordinates
again whenever the mesh has moved since the last step (ALE mesh motion: a moving metal
front), located by ``Steps/PointOffsets``. ``PointData/<name>`` and
``CellData/<name>`` grow by one block per time step, located by ``Steps/PointDataOffsets``
and ``Steps/CellDataOffsets``. Unlike ``dolfinx.io.vtkhdf`` (one array, always called "u")
any number of arrays carry their own names. Short string metadata goes to ``FieldData``.

Readers: pyvista / VTK >= 9.3 (``pyvista.get_reader(path)``; time steps via
``reader.time_values`` and ``set_active_time_value``) and ParaView >= 5.12. ParaView 5.11
reads only VTKHDF 1.0 (no time steps) and cannot open these files.

The file is opened and closed on every call, so a run that stops leaves a readable file
with the steps written so far.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from femcell._dolfinx import MPI, dolfinx
from femcell.io import _h5
from femcell.parallel import on_root

VERSION = (2, 0)
_MAX = MPI.MAX
_FORBIDDEN = "/."  # VTKHDF array names cannot hold these


def array_name(name: str) -> str:
    """A VTKHDF-safe array name: '/' and '.' replaced by '_'."""
    for ch in _FORBIDDEN:
        name = name.replace(ch, "_")
    return name


def vtk_topology(mesh) -> tuple[np.ndarray, int, int]:
    """Owned cells of `mesh` as VTK connectivity in global geometry-node numbers.

    Returns:
        (connectivity (n_owned_cells, nodes per cell) int64, VTK cell type, nodes per cell).
    """
    tdim = mesh.topology.dim
    cell_types = mesh.topology.entity_types[tdim]
    if len(cell_types) != 1:
        raise ValueError("VTKHDF output: meshes of mixed cell types are not supported")
    n_cells = mesh.topology.index_map(tdim).size_local
    dofmap = mesh.geometry.dofmaps[0][:n_cells]
    nn = dofmap.shape[1]
    ctype = mesh.topology.cell_type
    to_vtk = np.argsort(dolfinx.cpp.io.perm_vtk(ctype, nn))
    local = np.ascontiguousarray(dofmap[:, to_vtk])
    glob = mesh.geometry.index_map().local_to_global(local.ravel().astype(np.int32))
    vtk_type = int(dolfinx.cpp.io.get_vtk_cell_type(ctype, tdim))
    return np.asarray(glob, dtype=np.int64).reshape(n_cells, nn), vtk_type, nn


class VTKHDFSeries:
    """A VTKHDF file holding one mesh and a time series of named arrays (collective).

    Args:
        comm: MPI communicator of the mesh.
        path: the .vtkhdf file to create (an existing file is replaced).
        mesh: the DOLFINx mesh (any cell type but mixed; any geometry degree).
        point_arrays: name -> number of components of arrays at geometry nodes.
        cell_arrays: name -> number of components of arrays on cells.
        field_data: name -> string, static metadata (e.g. the region the mesh covers).
    """

    def __init__(self, comm, path, mesh, point_arrays: dict[str, int],
                 cell_arrays: dict[str, int], field_data: dict[str, str] | None = None):
        self.comm = comm
        self.path = Path(path)
        self.point_arrays = {array_name(k): int(v) for k, v in point_arrays.items()}
        self.cell_arrays = {array_name(k): int(v) for k, v in cell_arrays.items()}
        names = list(self.point_arrays) + list(self.cell_arrays)
        if len(set(names)) != len(names):
            raise ValueError(f"{self.path.name}: array names clash after replacing '/' and "
                             f"'.': {', '.join(point_arrays)} {', '.join(cell_arrays)}")
        imap = mesh.geometry.index_map()
        self.n_points_local = imap.size_local
        self.n_points = imap.size_global
        self.n_cells_local = mesh.topology.index_map(mesh.topology.dim).size_local
        self.n_cells = mesh.topology.index_map(mesh.topology.dim).size_global
        self.steps = 0
        conn, vtk_type, nn = vtk_topology(mesh)
        n_conn = self.n_cells * nn
        first_cell = comm.exscan(self.n_cells_local) or 0
        offsets = nn * (first_cell + np.arange(1, self.n_cells_local + 1, dtype=np.int64))
        if comm.rank == 0:
            offsets = np.concatenate([[0], offsets])
        x = np.asarray(mesh.geometry.x[: self.n_points_local], dtype=np.float64)
        self._mesh, self._x_written, self._point_offset = mesh, x.copy(), 0

        with _h5.File(comm, self.path, "w") as f:
            f.group("/VTKHDF")
            f.attribute("/VTKHDF", "Version", list(VERSION))
            f.attribute("/VTKHDF", "Type", "UnstructuredGrid")
            for name, dtype, width in (("NumberOfPoints", np.int64, 0),
                                       ("NumberOfCells", np.int64, 0),
                                       ("NumberOfConnectivityIds", np.int64, 0),
                                       ("Points", np.float64, 3),
                                       ("Connectivity", np.int64, 0),
                                       ("Offsets", np.int64, 0),
                                       ("Types", np.uint8, 0)):
                f.dataset(f"/VTKHDF/{name}", dtype, width)
            _h5.append_root(f, "/VTKHDF/NumberOfPoints", [self.n_points])
            _h5.append_root(f, "/VTKHDF/NumberOfCells", [self.n_cells])
            _h5.append_root(f, "/VTKHDF/NumberOfConnectivityIds", [n_conn])
            start = _h5.append_distributed(f, "/VTKHDF/Points", x)
            assert start == 0
            _h5.append_distributed(f, "/VTKHDF/Connectivity", conn.ravel())
            _h5.append_distributed(f, "/VTKHDF/Offsets", offsets)
            _h5.append_distributed(f, "/VTKHDF/Types",
                                   np.full(self.n_cells_local, vtk_type, dtype=np.uint8))
            f.group("/VTKHDF/PointData")
            f.group("/VTKHDF/CellData")
            f.group("/VTKHDF/Steps")
            f.attribute("/VTKHDF/Steps", "NSteps", [0])
            f.group("/VTKHDF/Steps/PointDataOffsets")
            f.group("/VTKHDF/Steps/CellDataOffsets")
            f.group("/VTKHDF/Steps/FieldDataOffsets")
            self.field_names = [array_name(k) for k in (field_data or {})]
            for name in self.field_names:  # static: every step reads entry 0
                f.dataset(f"/VTKHDF/Steps/FieldDataOffsets/{name}", np.int64, 0,
                          chunk_rows=256)
            for name in ("PartOffsets", "NumberOfParts", "PointOffsets", "CellOffsets",
                         "ConnectivityIdOffsets"):
                f.dataset(f"/VTKHDF/Steps/{name}", np.int64, 0, chunk_rows=256)
            f.dataset("/VTKHDF/Steps/Values", np.float64, 0, chunk_rows=256)
            for group, arrays, n in (("Point", self.point_arrays, self.n_points_local),
                                     ("Cell", self.cell_arrays, self.n_cells_local)):
                for name, nc in arrays.items():
                    f.dataset(f"/VTKHDF/{group}Data/{name}", np.float64,
                              0 if nc == 1 else nc, chunk_rows=max(1024, min(n, 65536)))
                    f.dataset(f"/VTKHDF/Steps/{group}DataOffsets/{name}", np.int64, 0,
                              chunk_rows=256)
        if field_data:  # variable-length strings: one process, after the parallel close
            def strings():
                with _h5.File(None, self.path, "a") as f:
                    f.group("/VTKHDF/FieldData")
                    for name, value in field_data.items():
                        f.string_dataset(f"/VTKHDF/FieldData/{array_name(name)}",
                                         [str(value)])

            on_root(comm, strings)

    def write(self, t: float, point_values: dict[str, np.ndarray],
              cell_values: dict[str, np.ndarray]) -> None:
        """Append one time step (collective).

        Args:
            t: time [s].
            point_values: name -> values at this rank's owned geometry nodes, in geometry
                order, shape (n, components) or (n,).
            cell_values: name -> values on this rank's owned cells, shape (n, components).
        """
        pv = {array_name(k): v for k, v in point_values.items()}
        cv = {array_name(k): v for k, v in cell_values.items()}
        if set(pv) != set(self.point_arrays) or set(cv) != set(self.cell_arrays):
            raise ValueError(f"{self.path.name}: write() needs exactly the arrays "
                             f"{sorted(self.point_arrays) + sorted(self.cell_arrays)}")
        with _h5.File(self.comm, self.path, "a") as f:
            for group, values, spec, n in (("Point", pv, self.point_arrays,
                                            self.n_points_local),
                                           ("Cell", cv, self.cell_arrays, self.n_cells_local)):
                for name in spec:  # same order on every rank
                    arr = np.asarray(values[name], dtype=np.float64)
                    arr = arr.reshape(n, spec[name]) if spec[name] > 1 else arr.reshape(n)
                    start = _h5.append_distributed(f, f"/VTKHDF/{group}Data/{name}", arr)
                    _h5.append_root(f, f"/VTKHDF/Steps/{group}DataOffsets/{name}", [start])
            x = np.asarray(self._mesh.geometry.x[: self.n_points_local], dtype=np.float64)
            if self.comm.allreduce(int(not np.array_equal(x, self._x_written)), op=_MAX):
                self._point_offset = _h5.append_distributed(f, "/VTKHDF/Points", x)
                self._x_written = x.copy()
            _h5.append_root(f, "/VTKHDF/Steps/PointOffsets", [self._point_offset])
            for name in ("PartOffsets", "CellOffsets", "ConnectivityIdOffsets"):
                _h5.append_root(f, f"/VTKHDF/Steps/{name}", [0])
            for name in self.field_names:
                _h5.append_root(f, f"/VTKHDF/Steps/FieldDataOffsets/{name}", [0])
            _h5.append_root(f, "/VTKHDF/Steps/NumberOfParts", [1])
            _h5.append_root(f, "/VTKHDF/Steps/Values", [float(t)])
            self.steps += 1
            f.attribute("/VTKHDF/Steps", "NSteps", [self.steps])
