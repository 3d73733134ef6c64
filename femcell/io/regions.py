"""The mesh with its region tags, in files that meshio, pyvista and ParaView 5.11 all read.

`write_mesh_tags(domain, folder)` writes

* ``mesh.vtu``: every cell, with the integer cell data ``cell_region`` (the gmsh tag of the
  cell's physical group);
* ``mesh_facets.vtu``: the facets that are tagged or lie on an interface between regions,
  with cell data ``facet_region`` (gmsh tag of the facet group, 0: none) and ``interface``
  (id of the interface in regions.json, 0: none);
* ``regions.json``: the names of those numbers (see `Domain.region_map`) and the file names.

Both .vtu files also carry the name map as field data, gmsh style: one array per group
named after it holding ``[tag, dimension]`` (interfaces: ``[id, dimension]``).
The .vtu (VTK XML) format is read by meshio, pyvista/VTK and every ParaView version; the mesh
is gathered to rank 0, which writes the files (fine for the meshes femcell builds with gmsh
on one rank in the first place).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from femcell._dolfinx import dolfinx
from femcell.parallel import on_root

MESH_FILE = "mesh.vtu"
FACETS_FILE = "mesh_facets.vtu"
REGIONS_FILE = "regions.json"

_MESHIO = {("point", 1): "vertex", ("interval", 2): "line", ("interval", 3): "line3",
           ("triangle", 3): "triangle", ("triangle", 6): "triangle6",
           ("quadrilateral", 4): "quad", ("quadrilateral", 9): "quad9",
           ("tetrahedron", 4): "tetra", ("tetrahedron", 10): "tetra10",
           ("hexahedron", 8): "hexahedron", ("hexahedron", 27): "hexahedron27"}


def _entities_vtk(mesh, dim: int, entities: np.ndarray) -> tuple[np.ndarray, str]:
    """Geometry nodes (global numbers, VTK order) of local entities of dimension `dim` and
    their meshio cell type."""
    tdim = mesh.topology.dim
    ctype = dolfinx.cpp.mesh.cell_entity_type(mesh.topology.cell_type, dim, 0)
    layout = mesh.geometry.cmaps[0].create_dof_layout()
    nn = len(layout.entity_closure_dofs(dim, 0))
    key = (ctype.name, nn)
    if key not in _MESHIO:
        raise ValueError(f"mesh output: {ctype.name} cells with {nn} nodes not supported")
    if not len(entities):
        return np.empty((0, nn), dtype=np.int64), _MESHIO[key]
    if dim == tdim:
        nodes = mesh.geometry.dofmaps[0][entities]
    else:
        nodes = dolfinx.cpp.mesh.entities_to_geometry(
            mesh._cpp_object, dim, entities.astype(np.int32), False)
    nodes = np.asarray(nodes, dtype=np.int32).reshape(len(entities), nn)
    nodes = np.ascontiguousarray(nodes[:, np.argsort(dolfinx.cpp.io.perm_vtk(ctype, nn))])
    glob = mesh.geometry.index_map().local_to_global(nodes.ravel())
    return np.asarray(glob, dtype=np.int64).reshape(len(entities), nn), _MESHIO[key]


def _write_vtu(path: Path, points, cell_type: str, cells, cell_data: dict,
               field_data: dict) -> None:
    """A VTK XML unstructured grid (written by VTK, so FieldData is kept; classic VTK cell
    types, which meshio maps back to `cell_type`)."""
    import pyvista as pv
    from meshio._vtk_common import meshio_to_vtk_type

    n, nn = cells.shape
    conn = np.hstack([np.full((n, 1), nn, dtype=np.int64), cells]).ravel()
    grid = pv.UnstructuredGrid(conn, np.full(n, meshio_to_vtk_type[cell_type], np.uint8),
                               np.asarray(points, dtype=np.float64))
    for name, values in cell_data.items():
        grid.cell_data[name] = np.asarray(values, dtype=np.int32)
    for name, values in field_data.items():
        grid.field_data[name] = np.asarray(values, dtype=np.int32)
    grid.save(str(path))


def _gather_rows(comm, local: np.ndarray):
    parts = comm.gather(local, root=0)
    return np.concatenate(parts) if comm.rank == 0 else None


def write_mesh_tags(domain, folder) -> dict[str, Path]:
    """Write mesh.vtu, mesh_facets.vtu and regions.json into `folder` (collective).

    Args:
        domain: the Domain.
        folder: the run folder (created if missing). A path ending in .xdmf (the former
            call) is taken as a file in the folder to write into; no XDMF is written.

    Returns:
        {"mesh": path of mesh.vtu, "facets": path of mesh_facets.vtu, "regions": path of
        regions.json}.
    """
    comm = domain.comm
    folder = Path(folder)
    if folder.suffix == ".xdmf":
        folder = folder.parent
    mesh = domain.mesh
    tdim = domain.tdim
    fdim = tdim - 1
    regions = domain.region_map()

    # points: owned geometry nodes in rank order = global node numbering
    n_nodes = mesh.geometry.index_map().size_local
    points = _gather_rows(comm, np.asarray(mesh.geometry.x[:n_nodes], dtype=np.float64))

    n_cells = mesh.topology.index_map(tdim).size_local
    cells = np.arange(n_cells, dtype=np.int32)
    cell_nodes, cell_type = _entities_vtk(mesh, tdim, cells)
    marker = np.zeros(n_cells, dtype=np.int32)
    owned = domain.cell_tags.indices < n_cells
    marker[domain.cell_tags.indices[owned]] = domain.cell_tags.values[owned]
    cell_nodes = _gather_rows(comm, cell_nodes)
    marker = _gather_rows(comm, marker)

    # facets: tagged or on an interface, owned here
    mesh.topology.create_connectivity(fdim, tdim)
    mesh.topology.create_connectivity(tdim, fdim)
    n_facets = mesh.topology.index_map(fdim).size_local
    ftag = np.zeros(n_facets, dtype=np.int32)
    ft = domain.facet_tags
    sel = ft.indices < n_facets
    ftag[ft.indices[sel]] = ft.values[sel]
    fitf = np.zeros(n_facets, dtype=np.int32)
    for itf in domain.interfaces.values():
        f = domain.interface_facets(itf)
        fitf[f[f < n_facets]] = itf.subdomain_id
    facets = np.flatnonzero((ftag > 0) | (fitf > 0)).astype(np.int32)
    facet_nodes, facet_type = _entities_vtk(mesh, fdim, facets)
    facet_nodes = _gather_rows(comm, facet_nodes)
    ftag = _gather_rows(comm, ftag[facets])
    fitf = _gather_rows(comm, fitf[facets])

    paths = {"mesh": folder / MESH_FILE, "facets": folder / FACETS_FILE,
             "regions": folder / REGIONS_FILE}

    def write():
        from femcell.io.summary import write_json

        folder.mkdir(parents=True, exist_ok=True)
        names = {n: np.array([t, tdim]) for n, t in regions["cell_regions"].items()}
        names.update({n: np.array([t, fdim]) for n, t in regions["facet_regions"].items()})
        names.update({n: np.array([i, fdim]) for n, i in regions["interfaces"].items()})
        _write_vtu(paths["mesh"], points, cell_type, cell_nodes, {"cell_region": marker},
                   names)
        used, inverse = np.unique(facet_nodes.ravel(), return_inverse=True)
        _write_vtu(paths["facets"], points[used], facet_type,
                   inverse.reshape(facet_nodes.shape), {"facet_region": ftag,
                                                        "interface": fitf}, names)
        info = dict(regions)
        info["files"] = {"mesh": MESH_FILE, "facets": FACETS_FILE}
        info["cell_data"] = {"mesh": ["cell_region"], "facets": ["facet_region", "interface"]}
        write_json(paths["regions"], info)

    on_root(comm, write)
    return paths


def read_regions(folder) -> dict:
    """The regions.json of a run folder."""
    return json.loads((Path(folder) / REGIONS_FILE).read_text())
