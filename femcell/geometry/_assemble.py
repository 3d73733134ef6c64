"""Assemble overlapping OCC shapes into named, conformal regions with one fragment call.

A builder describes its geometry as *parts* (model units), each one or more OCC entities of
the top dimension with a role:

* ``layer``: a material slab (they tile the model and do not overlap); every kept piece lies
  in exactly one layer;
* ``empty``: space cut out of the layers listed in ``within`` (pores, voids, notches); its
  walls get the facet name ``facet``;
* ``fill``: space inside the ``within`` layers that belongs to another region (a Li-filled
  notch); its walls towards the host layer get the facet name ``facet``;
* ``particle``: an inclusion inside the ``within`` layers with its own cell group;
* ``grain``: Voronoi cell ``index`` of the grains that split the ``within`` layers.

``occ.fragment`` of all parts makes the pieces conformal; its map tells which parts contain
each piece, and the first matching rule above (empty, fill, particle, grain, layer) names it.
Faces are named by their neighbours: "grain_boundary" between grains, the facet name of an
empty or fill part on its walls, and ``outer(lo, hi)`` on the outer boundary. Interfaces
between different regions are left to ``Domain`` (and reported for refinement).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import gmsh
import numpy as np


@dataclass
class Part:
    kind: str  # layer | empty | fill | particle | grain
    tags: list[int]
    name: str = ""  # layer id (for within), or the cell group of a fill/particle
    group: str = ""  # cell group of a layer (default: name)
    within: frozenset[str] | None = None  # layers this part acts in (None: all)
    facet: str = ""  # facet name of the walls of an empty/fill part
    index: int = -1  # grain index (seed number)


@dataclass
class Assembly:
    dim: int
    groups: dict[str, list[int]] = field(default_factory=dict)  # cell group -> pieces
    facets: dict[str, list[int]] = field(default_factory=dict)  # facet group -> facets
    interfaces: dict[str, list[int]] = field(default_factory=dict)  # "a|b" -> facets
    grain_owner: dict[str, int] = field(default_factory=dict)  # grain group -> seed index

    def volumes(self, scale: float) -> dict[str, float]:
        """Volume (m^3, m^2 in 2D) of every cell group and every top-level region."""
        occ = gmsh.model.occ
        out: dict[str, float] = defaultdict(float)
        for g, tags in self.groups.items():
            v = sum(occ.getMass(self.dim, t) for t in tags) * scale**self.dim
            out[g] += v
            if "." in g:
                out[g.split(".")[0]] += v
        return dict(sorted(out.items()))

    def areas(self, scale: float) -> dict[str, float]:
        """Area (m^2, m in 2D) of every facet group and every interface "a|b"."""
        occ = gmsh.model.occ
        d = self.dim - 1
        items = list(self.facets.items()) + list(self.interfaces.items())
        return {k: sum(occ.getMass(d, t) for t in v) * scale**d for k, v in sorted(items)}

    def name_groups(self) -> None:
        """Add the cell and facet physical groups."""
        for g, tags in sorted(self.groups.items(), key=lambda kv: _natural(kv[0])):
            gmsh.model.addPhysicalGroup(self.dim, sorted(tags), name=g)
        for f, tags in sorted(self.facets.items()):
            gmsh.model.addPhysicalGroup(self.dim - 1, sorted(tags), name=f)


def _natural(name: str):
    head, _, tail = name.rpartition("_")
    return (head, int(tail)) if tail.isdigit() else (name, -1)


def assemble(
    dim: int,
    parts: list[Part],
    outer,
    seeds: np.ndarray | None = None,
    grain_prefix: str = "",
    fragment: bool = True,
) -> Assembly:
    """Fragment the parts, name the pieces and faces, remove empty space (see module doc).

    Args:
        dim: top dimension (2 or 3).
        parts: the parts; at least one layer.
        outer: ``outer(lo, hi) -> str`` names an outer-boundary face from its bounding box.
        seeds: grain seeds (model units), needed when there are grain parts.
        grain_prefix: grain cell groups are named ``f"{grain_prefix}{k}"``, k = 0, 1, ...
            numbered by seed index over the grains that are not empty.
        fragment: False when the parts are already conformal and do not overlap except by
            containment of whole entities (a shared-topology tessellation): no boolean.
    """
    occ = gmsh.model.occ
    inputs = [(dim, t) for p in parts for t in p.tags]
    owners = [i for i, p in enumerate(parts) for _ in p.tags]
    if fragment:
        _, pmap = occ.fragment(inputs[:1], inputs[1:])
    else:
        pmap = [[dt] for dt in inputs]
    occ.synchronize()
    members: dict[int, set[int]] = defaultdict(set)
    for k, out in enumerate(pmap):
        for d, t in out:
            if d == dim:
                members[t].add(owners[k])
    pieces = sorted(t for _, t in gmsh.model.getEntities(dim))

    region: dict[int, str] = {}  # kept piece -> cell group (grains: "#<seed index>")
    removed: dict[int, str] = {}  # removed piece -> facet name of its walls
    fill_of: dict[int, int] = {}  # kept fill piece -> part index
    layer_of: dict[int, str] = {}  # kept piece -> layer id
    grained = {n for p in parts if p.kind == "grain" and p.within for n in p.within}
    for t in pieces:
        mine = [parts[i] for i in sorted(members.get(t, ()))]
        layers = [p for p in mine if p.kind == "layer"]
        if not layers:
            removed[t] = ""
            continue
        layer = layers[0]
        layer_of[t] = layer.name
        acting = [p for p in mine if p.within is None or layer.name in p.within]
        empty = [p for p in acting if p.kind == "empty"]
        fill = [p for p in acting if p.kind == "fill"]
        particle = [p for p in acting if p.kind == "particle"]
        grain = [p for p in acting if p.kind == "grain"]
        if empty:
            removed[t] = empty[0].facet
        elif fill:
            region[t] = fill[0].name
            fill_of[t] = parts.index(fill[0])
        elif particle:
            region[t] = particle[0].name
        elif layer.name in grained:
            if len(grain) == 1:
                index = grain[0].index
            else:  # boolean sliver between cells: the seed nearest its centre of mass
                c = np.asarray(occ.getCenterOfMass(dim, t))[: seeds.shape[1]]
                index = int(np.argmin(np.linalg.norm(seeds - c, axis=1)))
            region[t] = f"#{index}"
        else:
            region[t] = layer.group or layer.name

    # grains: consecutive names over the non-empty ones, by seed index
    indices = sorted({int(r[1:]) for r in region.values() if r.startswith("#")})
    grain_name = {i: f"{grain_prefix}{k}" for k, i in enumerate(indices)}
    for t, r in region.items():
        if r.startswith("#"):
            region[t] = grain_name[int(r[1:])]

    asm = Assembly(dim, grain_owner={v: k for k, v in grain_name.items()})
    grain_groups = set(grain_name.values())
    facets: dict[str, set[int]] = defaultdict(set)
    interfaces: dict[str, set[int]] = defaultdict(set)
    for _, f in gmsh.model.getEntities(dim - 1):
        up = [int(t) for t in gmsh.model.getAdjacencies(dim - 1, f)[0]]
        kept = [t for t in up if t in region]
        gone = [t for t in up if t in removed]
        if len(kept) == 2:
            a, b = (region[t] for t in kept)
            ta, tb = a.split(".")[0], b.split(".")[0]
            if ta != tb:
                interfaces["|".join(sorted((ta, tb)))].add(f)
            fills = [fill_of.get(t) for t in kept]
            if len(set(fills)) == 2 and None in fills:  # a fill piece next to a non-fill one
                part = parts[next(i for i in fills if i is not None)]
                host = layer_of[kept[fills.index(None)]]
                if part.facet and (part.within is None or host in part.within):
                    facets[part.facet].add(f)  # a wall (not the face towards its own region)
            elif a != b and a in grain_groups and b in grain_groups:
                facets["grain_boundary"].add(f)
        elif len(kept) == 1:
            names = [removed[t] for t in gone if removed[t]]
            if names:
                facets[names[0]].add(f)
            else:  # outer boundary (or next to space outside every layer)
                box = gmsh.model.getBoundingBox(dim - 1, f)
                facets[outer(box[:3], box[3:])].add(f)

    if removed:
        occ.remove([(dim, t) for t in removed], recursive=True)
        occ.synchronize()
    alive = {t for _, t in gmsh.model.getEntities(dim - 1)}
    for t, r in region.items():
        asm.groups.setdefault(r, []).append(t)
    asm.facets = {k: sorted(v & alive) for k, v in facets.items() if v & alive}
    asm.interfaces = {k: sorted(v & alive) for k, v in interfaces.items() if v & alive}
    return asm
