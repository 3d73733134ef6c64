"""Partition-independent keys of mesh cells (for checkpoints that restart on M ranks).

A key depends only on the mesh as gmsh made it, never on the number of ranks: a cell of the
Domain's mesh has its index in the gmsh input; a cell of a region submesh has its parent
cell's; a cell of an interface submesh (a parent facet) has min over the facet's cells of
(input index * facets per cell + local facet number).
"""

from __future__ import annotations

import numpy as np


def _parent_entities(entity_map, n: int) -> np.ndarray:
    return np.asarray(entity_map.sub_topology_to_topology(np.arange(n, dtype=np.int32),
                                                         inverse=False), dtype=np.int64)


def cell_keys(domain, mesh) -> np.ndarray:
    """int64 key of every owned cell of `mesh` (the Domain's mesh, a region submesh or an
    interface submesh of the same Domain).

    Raises:
        ValueError: the mesh belongs to no submesh this Domain made.
    """
    parent = domain.mesh
    tdim = parent.topology.dim
    orig = np.asarray(parent.topology.original_cell_index, dtype=np.int64)
    n = mesh.topology.index_map(mesh.topology.dim).size_local
    if mesh is parent:
        return orig[:n].copy()
    for sub in domain.__dict__.get("_submeshes", {}).values():
        if sub.mesh is mesh:
            return orig[_parent_entities(sub.cell_map, n)]
    for sm, fmap in domain.__dict__.get("_interface_submeshes", {}).values():
        if sm is mesh:
            facets = _parent_entities(fmap, n)
            parent.topology.create_connectivity(tdim - 1, tdim)
            parent.topology.create_connectivity(tdim, tdim - 1)
            f2c = parent.topology.connectivity(tdim - 1, tdim)
            c2f = parent.topology.connectivity(tdim, tdim - 1)
            nf = len(c2f.links(0)) if n else 1  # facets per cell (one cell type)
            keys = np.empty(n, dtype=np.int64)
            for i, f in enumerate(facets):
                keys[i] = min(orig[c] * nf + int(np.flatnonzero(c2f.links(c) == f)[0])
                              for c in f2c.links(f))
            return keys
    raise ValueError("cell_keys: the mesh is not the Domain's mesh or one of its submeshes")
