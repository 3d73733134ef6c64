"""Interior facets of a Domain (private helpers of ``femcell.domain``): the interfaces
between cell regions with a fixed orientation, named interior facet groups, and element
sizes next to facets. All functions are collective.
"""

from __future__ import annotations

import numpy as np

from femcell._dolfinx import MPI, dolfinx


def find_interfaces(
    mesh, cell_marker: np.ndarray, tag_to_region: dict[int, str], facet_groups: dict
) -> tuple[list, dict, dict, set]:
    """Facets between different top-level regions, and facet groups with interior facets.

    Args:
        mesh: the distributed mesh (facet -> cell connectivity created).
        cell_marker: gmsh cell tag of every local cell (owned and ghost); -1 where untagged.
        tag_to_region: gmsh cell tag -> top-level region name.
        facet_groups: facet group name -> its local facets, in the same order on all ranks.

    Returns:
        (interfaces, groups, inner, shared):
        interfaces: (plus, minus, subdomain id, entities) with regions plus < minus
        alphabetically and ids from 1;
        groups: name -> (subdomain id, entities) for the facet groups with interior facets
        (ids after the interfaces);
        inner: (region, group name or "") -> (subdomain id, entities), the interior facets
        with both cells in the region, partitioned by named group ("": in none; a facet in
        several groups goes to the first by name);
        shared: the (region, group) pairs whose group shares facets inside the region with
        another group.
        Entities are (n, 4) arrays (cell, local facet) x 2 of owned facets, "+" first.
    """
    tdim = mesh.topology.dim
    top = mesh.topology
    comm = mesh.comm
    f2c = top.connectivity(tdim - 1, tdim)
    fmap = top.index_map(tdim - 1)
    n_owned = fmap.size_local
    regions = sorted(set(tag_to_region.values()))
    rid = {r: i for i, r in enumerate(regions)}
    cell_region = np.full(cell_marker.shape, -1, dtype=np.int32)
    for tag, r in tag_to_region.items():
        cell_region[cell_marker == tag] = rid[r]
    offsets = f2c.offsets
    n_links = offsets[1:n_owned + 1] - offsets[:n_owned]
    interior = np.flatnonzero(n_links == 2).astype(np.int32)
    c0 = f2c.array[offsets[interior]]
    c1 = f2c.array[offsets[interior] + 1]
    r0, r1 = cell_region[c0], cell_region[c1]
    between = r0 != r1
    pairs = set()
    for a, b in zip(r0[between], r1[between], strict=True):
        pairs.add((min(a, b), max(a, b)))
    # every rank must create the same interfaces (collective measures/forms)
    all_pairs = comm.allgather(sorted(pairs))
    pairs = sorted({p for lst in all_pairs for p in lst})
    interfaces = []
    next_id = 1
    for a, b in pairs:
        plus, minus = regions[a], regions[b]
        sel = interior[between & (((r0 == a) & (r1 == b)) | ((r0 == b) & (r1 == a)))]
        interfaces.append((plus, minus, next_id, _oriented(top, sel, cell_region, a, b)))
        next_id += 1
    # named interior facet groups (e.g. grain_boundary) join the same dS measure
    groups = {}
    for name, facets in facet_groups.items():
        facets = facets[facets < n_owned]
        inner = facets[(offsets[facets + 1] - offsets[facets]) == 2]
        has_inner = comm.allreduce(int(inner.size), op=MPI.SUM) > 0
        if has_inner:
            ents = dolfinx.fem.compute_integration_domains(
                dolfinx.fem.IntegralType.interior_facet, top, inner.astype(np.int32))
            groups[name] = (next_id, np.asarray(ents).reshape(-1, 4))
            next_id += 1
    # inside each region: its interior facets split by named group (each facet in the first
    # group, alphabetically, that holds it; "" for facets in no group). A field that is
    # discontinuous across some facets of a region (grain boundaries) is written with these.
    inner_of, shared_of = {}, set()
    owner = np.full(n_owned, -1, dtype=np.int32)
    names = sorted(facet_groups)
    for i, name in reversed(list(enumerate(names))):
        f = np.asarray(facet_groups[name])
        owner[f[f < n_owned]] = i
    count = np.zeros(n_owned, dtype=np.int32)  # named groups holding each facet
    for name in names:
        f = np.unique(np.asarray(facet_groups[name]))
        count[f[f < n_owned]] += 1
    for a in range(len(regions)):
        within = interior[(r0 == a) & (r1 == a)]
        shared = within[count[within] > 1]
        shared_names = sorted({names[i] for i in range(len(names))
                               if np.isin(shared, facet_groups[names[i]]).any()})
        for name in set().union(*comm.allgather(shared_names)):
            shared_of.add((regions[a], name))
        for i, name in [(-1, "")] + list(enumerate(names)):
            sel = within[owner[within] == i]
            if comm.allreduce(int(sel.size), op=MPI.SUM) == 0:
                continue
            ents = dolfinx.fem.compute_integration_domains(
                dolfinx.fem.IntegralType.interior_facet, top, sel.astype(np.int32))
            inner_of[(regions[a], name)] = (next_id, np.asarray(ents).reshape(-1, 4))
            next_id += 1
    return interfaces, groups, inner_of, shared_of


def _oriented(topology, facets, cell_region, a, b) -> np.ndarray:
    """(cell, local facet) pairs with the region-a cell first ("+")."""
    ents = dolfinx.fem.compute_integration_domains(
        dolfinx.fem.IntegralType.interior_facet, topology, facets.astype(np.int32))
    ents = np.asarray(ents, dtype=np.int32).reshape(-1, 4).copy()
    swap = cell_region[ents[:, 0]] != a
    ents[swap] = ents[swap][:, [2, 3, 0, 1]]
    if ents.size:
        assert np.all(cell_region[ents[:, 0]] == a) and np.all(cell_region[ents[:, 2]] == b)
    return ents


def h_near(mesh, near: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
    """Smallest and largest cell size h [m] among the given local cells of each entry.

    Args:
        mesh: the distributed mesh.
        near: name -> local cell indices (repeats allowed), the same names on all ranks.

    Returns:
        name -> {"h_min_m", "h_max_m"} over all ranks (inf and 0 when no rank has a cell).
    """
    tdim, comm = mesh.topology.dim, mesh.comm
    out = {}
    for name, cells in near.items():
        cells = np.unique(cells).astype(np.int32)
        h = mesh.h(tdim, cells) if cells.size else np.empty(0)
        hmax = comm.allreduce(float(h.max()) if h.size else 0.0, op=MPI.MAX)
        hmin = comm.allreduce(float(h.min()) if h.size else np.inf, op=MPI.MIN)
        out[name] = {"h_min_m": hmin, "h_max_m": hmax}
    return out
