"""Domain: a distributed mesh with cell and facet regions addressed by gmsh physical names.

A Domain is made on rank 0 from a gmsh builder, a .geo or a .msh file and distributed with
ghosted shared facets, so interface (interior-facet) integrals work across process
boundaries. Regions are named, never numbered, outside this module:

* a cell region is every gmsh cell group whose name is ``name`` or starts with ``name.``
  (grains "particle.grain_3" together form "particle");
* a facet region is a gmsh facet group (``ds`` on the boundary, ``dS`` inside);
* an interface "a|b" is the set of facets between cell regions a and b, integrated with
  ``dS`` and a fixed orientation: the "+" side is always region a.

All interior-facet integrals of a Domain share one ``dS`` measure (DOLFINx cannot mix two
``dS`` measures with different entity lists in one form).

Private helpers: ``femcell._domain_build`` (gmsh model -> distributed mesh, .geo/.msh
loading, .msh writing) and ``femcell._domain_facets`` (interface detection and orientation).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from femcell._dolfinx import MPI, dolfinx, ufl
from femcell._domain_build import file_loader, mesh_from_gmsh
from femcell._domain_facets import find_interfaces, h_near


class RegionError(KeyError):
    """An unknown region name; the message lists the known ones."""

    def __str__(self):  # KeyError quotes its message; keep it one plain line
        return str(self.args[0]) if self.args else ""


class DomainError(ValueError):
    """A mesh file or builder that cannot become a Domain."""


COORDINATES = ("cartesian", "axisymmetric", "spherical")


@dataclass
class SubDomain:
    """A cell region as its own mesh, for fields that live on one region only.

    Attributes:
        name: region name.
        mesh: the submesh.
        cell_map: EntityMap submesh cell -> parent cell (pass to forms as an entity map).
        vertex_map: EntityMap submesh vertex -> parent vertex.
        facet_tags: the parent's facet tags moved onto the submesh.
    """

    name: str
    mesh: object
    cell_map: object
    vertex_map: object
    facet_tags: object

    def facets(self, domain: Domain, region: str) -> np.ndarray:
        """Submesh facet indices of a named facet region of the parent."""
        return self.facet_tags.find(domain.facet_tag_value(region))


@dataclass
class Interface:
    """Facets between two cell regions, oriented so that "+" lies in region `plus`.

    Attributes:
        plus: name of the "+" region.
        minus: name of the "-" region.
        subdomain_id: id of this interface in the Domain's shared dS measure.
        entities: (n, 4) array of (cell+, local facet+, cell-, local facet-) for owned facets.
    """

    plus: str
    minus: str
    subdomain_id: int
    entities: np.ndarray = field(repr=False)

    @property
    def name(self) -> str:
        return f"{self.plus}|{self.minus}"


class Domain:
    """A mesh with named regions, measures by name and oriented interfaces.

    Args:
        mesh_data: the result of `dolfinx.io.gmsh.model_to_mesh`.
        metadata: builder metadata (parameters, grain orientations, ...), same on all ranks.
        coordinates: "cartesian" (3D, 2D planar, 1D slab), "axisymmetric" (2D, x = r) or
            "spherical" (1D, x = r).
    """

    def __init__(self, mesh_data, metadata: dict | None = None, coordinates: str = "cartesian"):
        if coordinates not in COORDINATES:
            raise DomainError(f"coordinates: unknown system {coordinates!r}; use one of "
                              f"{', '.join(COORDINATES)}")
        self.mesh = mesh_data.mesh
        self.comm = self.mesh.comm
        self.metadata = dict(metadata or {})
        self.coordinates = coordinates
        tdim = self.mesh.topology.dim
        self.tdim = tdim
        self.gdim = self.mesh.geometry.dim
        if coordinates == "axisymmetric" and tdim != 2:
            raise DomainError("coordinates: 'axisymmetric' needs a 2D mesh (x = r, y = z)")
        if coordinates == "spherical" and tdim != 1:
            raise DomainError("coordinates: 'spherical' needs a 1D mesh (x = r)")
        self.mesh.topology.create_connectivity(tdim - 1, tdim)
        self.mesh.topology.create_connectivity(tdim, tdim - 1)
        self.cell_tags = mesh_data.cell_tags
        self.facet_tags = mesh_data.facet_tags
        groups = mesh_data.physical_groups
        self._cell_groups = {n: g.tag for n, g in groups.items() if g.dim == tdim}
        self._facet_groups = {n: g.tag for n, g in groups.items() if g.dim == tdim - 1}
        if self.cell_tags is None or not self._cell_groups:
            raise DomainError("the mesh has no named cell groups (gmsh physical groups)")
        if self.facet_tags is None:
            self.facet_tags = dolfinx.mesh.meshtags(
                self.mesh, tdim - 1, np.empty(0, np.int32), np.empty(0, np.int32))
        self._cell_marker = self._marker_array()
        self.interfaces: dict[str, Interface] = {}
        self._interior_facet_groups: dict[str, int] = {}
        self._build_interfaces()
        self._build_measures()

    # -------------------------------------------------------------- construction
    @classmethod
    def from_builder(cls, builder, comm=MPI.COMM_WORLD, coordinates: str = "cartesian",
                     msh_file=None, **params) -> Domain:
        """Build a Domain from a gmsh builder (a name in femcell.geometry.BUILDERS or a callable).

        Args:
            builder: builder name or a function that fills the current gmsh model, meshes it
                and returns a metadata dict with at least "gdim".
            comm: MPI communicator.
            coordinates: coordinate system (see `Domain`).
            msh_file: also write the mesh to this .msh file, with its metadata (grain
                orientations, parameters) beside it as a .json file of the same stem.
            **params: builder parameters in SI units.
        """
        from femcell import geometry

        fn = builder
        if isinstance(builder, str):
            if builder not in geometry.BUILDERS:
                raise DomainError(f"builder: unknown builder {builder!r}; known: "
                                  f"{', '.join(sorted(geometry.BUILDERS))}")
            fn = geometry.BUILDERS[builder]
        return cls._from_gmsh(lambda: fn(**params), comm, coordinates, msh_file)

    @classmethod
    def from_file(cls, path, comm=MPI.COMM_WORLD, coordinates: str = "cartesian",
                  h: float | None = None, order: int = 1) -> Domain:
        """Build a Domain from a gmsh .geo (meshed here) or .msh file.

        Args:
            path: file path.
            comm: MPI communicator.
            coordinates: coordinate system (see `Domain`).
            h: for .geo files, the maximum element size [m] (None: as the file says).
            order: for .geo files, the geometry order (2 gives curved elements).
        """
        path = Path(path)
        if path.suffix not in (".geo", ".msh"):
            raise DomainError(f"mesh file {path}: expected a .geo or .msh file")
        exists = comm.bcast(path.is_file() if comm.rank == 0 else None, root=0)
        if not exists:
            raise DomainError(f"mesh file {path}: no such file")

        return cls._from_gmsh(file_loader(path, h, order), comm, coordinates)

    @classmethod
    def _from_gmsh(cls, fill_model, comm, coordinates, msh_file=None) -> Domain:
        """Run `fill_model` on rank 0 inside a fresh gmsh session and distribute the mesh."""
        data, meta = mesh_from_gmsh(fill_model, comm, msh_file)
        return cls(data, meta, coordinates)

    # -------------------------------------------------------------- regions
    def _marker_array(self) -> np.ndarray:
        """Cell -> gmsh tag for all local cells (owned and ghost); -1 where untagged."""
        cmap = self.mesh.topology.index_map(self.tdim)
        marker = np.full(cmap.size_local + cmap.num_ghosts, -1, dtype=np.int32)
        marker[self.cell_tags.indices] = self.cell_tags.values
        return marker

    @property
    def periodic(self) -> dict | None:
        """None, or {"axes": ["x", ...], "lo": [...], "hi": [...]} [m] of a box built periodic
        (the plate's `periodic` option): the problems on it identify the far sides' dofs
        with the near sides' (femcell.solvers.periodic)."""
        return self.metadata.get("periodic") or None

    @property
    def cell_regions(self) -> list[str]:
        """Names of cell regions, composite ones ("particle" from "particle.grain_i") included."""
        names = set(self._cell_groups)
        for n in self._cell_groups:
            parts = n.split(".")
            names.update(".".join(parts[:k]) for k in range(1, len(parts)))
        return sorted(names)

    @property
    def facet_regions(self) -> list[str]:
        """Names of facet regions (gmsh facet groups)."""
        return sorted(self._facet_groups)

    def grains(self, region: str) -> list[str]:
        """Names of the gmsh cell groups that make up `region`, sorted."""
        return sorted(self._cell_group_names(region))

    def _cell_group_names(self, region: str) -> list[str]:
        names = [n for n in self._cell_groups if n == region or n.startswith(region + ".")]
        if not names:
            raise RegionError(f"unknown cell region {region!r}; known cell regions: "
                              f"{', '.join(self.cell_regions)}")
        return names

    def cell_tag_values(self, region: str) -> tuple[int, ...]:
        """gmsh tags of the cell groups forming `region`."""
        return tuple(sorted(self._cell_groups[n] for n in self._cell_group_names(region)))

    def facet_tag_value(self, region: str) -> int:
        """gmsh tag of the facet group `region`."""
        if region not in self._facet_groups:
            raise RegionError(f"unknown facet region {region!r}; known facet regions: "
                              f"{', '.join(self.facet_regions) or '(none)'}")
        return self._facet_groups[region]

    def cells(self, region: str | None = None, *, include_ghosts: bool = False) -> np.ndarray:
        """Local cell indices of a region (all cells when region is None)."""
        cmap = self.mesh.topology.index_map(self.tdim)
        n = cmap.size_local + (cmap.num_ghosts if include_ghosts else 0)
        if region is None:
            return np.arange(n, dtype=np.int32)
        tags = self.cell_tag_values(region)
        return np.flatnonzero(np.isin(self._cell_marker[:n], tags)).astype(np.int32)

    def facets(self, region: str) -> np.ndarray:
        """Local facet indices of a facet region."""
        return self.facet_tags.find(self.facet_tag_value(region))

    def has_region(self, name: str) -> bool:
        """True for a known cell region, facet region or interface name."""
        return (name in self.cell_regions or name in self._facet_groups
                or name in self.interfaces)

    def submesh(self, region: str) -> SubDomain:
        """The region as a submesh with entity maps and facet tags (built once, cached)."""
        cache = self.__dict__.setdefault("_submeshes", {})
        if region not in cache:
            # owned AND ghost cells: interface facets owned here may have their region-side
            # cell owned by another rank; the submesh must hold it as a ghost
            cells = self.cells(region, include_ghosts=True)
            sm, cmap, vmap, nodes = dolfinx.mesh.create_submesh(self.mesh, self.tdim, cells)
            self._track_nodes(sm, nodes)
            sm.topology.create_connectivity(self.tdim - 1, self.tdim)
            ft = dolfinx.mesh.transfer_meshtags_to_submesh(self.facet_tags, sm, vmap, cmap)
            cache[region] = SubDomain(region, sm, cmap, vmap, ft)
        return cache[region]

    def _track_nodes(self, submesh, nodes) -> None:
        """Remember a submesh's geometry nodes in the parent (for `sync_geometry`)."""
        self.__dict__.setdefault("_submesh_nodes", []).append((submesh, np.asarray(nodes)))

    def parent_nodes(self, submesh) -> np.ndarray:
        """The parent geometry node of every geometry node of a submesh this Domain made."""
        for sm, nodes in self.__dict__.get("_submesh_nodes", []):
            if sm is submesh:
                return nodes
        raise ValueError("the mesh is no submesh of this Domain")

    def sync_geometry(self) -> None:
        """Copy the parent mesh's node coordinates into every submesh made from it (after
        the parent's geometry moved: forms on a submesh then see the moved nodes too)."""
        x = self.mesh.geometry.x
        for sm, nodes in self.__dict__.get("_submesh_nodes", []):
            sm.geometry.x[:] = x[nodes]
        for refresh in self.__dict__.get("_geometry_hooks", []):
            refresh()  # (collective, as every caller of sync_geometry is)

    def on_geometry_change(self, refresh) -> None:
        """Call `refresh()` (collective) whenever `sync_geometry` runs: for values derived
        from the node coordinates (e.g. the cell sizes of an interior penalty)."""
        self.__dict__.setdefault("_geometry_hooks", []).append(refresh)

    def restore_geometry(self) -> None:
        """Put every node back where the mesh was built (after a moving front moved it; a
        no-op otherwise). The reference is taken the first time a moving physics asks
        for it (`reference_geometry`)."""
        ref = self.__dict__.get("_reference_x")
        moved = ref is not None and not np.array_equal(ref, self.mesh.geometry.x)
        if self.comm.allreduce(moved, op=MPI.LOR):  # (agreed: sync_geometry is collective)
            if moved:
                self.mesh.geometry.x[:] = ref
            self.sync_geometry()

    def reference_geometry(self) -> np.ndarray:
        """The node coordinates of the mesh as built (a copy, taken on the first call,
        before anything moved it) [m]."""
        if "_reference_x" not in self.__dict__:
            self._reference_x = self.mesh.geometry.x.copy()
        return self._reference_x

    def interface_facets(self, itf) -> np.ndarray:
        """Local facet indices of an interface (an `interface(a, b)` object: its (cell, local
        facet) pairs). Creates the cell-to-facet connectivity: call on every rank."""
        self.mesh.topology.create_connectivity(self.tdim, self.tdim - 1)
        c2f = self.mesh.topology.connectivity(self.tdim, self.tdim - 1)
        if not itf.entities.size:
            return np.zeros(0, dtype=np.int32)
        return np.array([c2f.links(c)[lf] for c, lf in itf.entities[:, :2]], dtype=np.int32)

    def interface_submesh(self, name: str):
        """The facets of an interface "a|b" as a (tdim-1) submesh for fields that live on the
        interface (coverages, contact fractions). Returns (mesh, facet map) with the map
        submesh cell -> parent facet, to pass to forms as an entity map. Integrals stay on
        the parent's dS (restrict interface functions with "+")."""
        cache = self.__dict__.setdefault("_interface_submeshes", {})
        if name not in cache:
            a, b = name.split("|", 1)
            facets = self.interface_facets(self.interface(a, b))
            sm, fmap, _, nodes = dolfinx.mesh.create_submesh(self.mesh, self.tdim - 1, facets)
            self._track_nodes(sm, nodes)
            cache[name] = (sm, fmap)
        return cache[name]

    # -------------------------------------------------------------- interfaces
    def _region_of_groups(self) -> dict[int, str]:
        """gmsh cell tag -> top-level region name ("particle.grain_2" -> "particle")."""
        return {tag: name.split(".")[0] for name, tag in self._cell_groups.items()}

    def _build_interfaces(self):
        """Find facets between different top-level regions and orient them."""
        facet_groups = {name: self.facets(name) for name in self.facet_regions}
        found, groups, inner, shared = find_interfaces(self.mesh, self._cell_marker,
                                                       self._region_of_groups(), facet_groups)
        self._inner, self._inner_shared = inner, shared
        for plus, minus, sid, ents in found:
            self.interfaces[f"{plus}|{minus}"] = Interface(plus, minus, sid, ents)
        self._interior_facet_groups = {name: sid for name, (sid, _) in groups.items()}
        self._interior_entities = {name: ents for name, (_, ents) in groups.items()}

    def interface(self, a: str, b: str) -> Interface:
        """The interface between cell regions a and b ("+" side is whichever is named first
        in the Domain's canonical name a|b; use `Interface.plus` to check)."""
        for key in (f"{a}|{b}", f"{b}|{a}"):
            if key in self.interfaces:
                return self.interfaces[key]
        raise RegionError(f"unknown interface {a}|{b}; known interfaces: "
                          f"{', '.join(self.interfaces) or '(none)'}")

    # -------------------------------------------------------------- measures
    def _build_measures(self):
        mesh = self.mesh
        self._dx = ufl.Measure("dx", domain=mesh, subdomain_data=self.cell_tags)
        self._ds = ufl.Measure("ds", domain=mesh, subdomain_data=self.facet_tags)
        data = [(itf.subdomain_id, itf.entities.ravel()) for itf in self.interfaces.values()]
        for name, sid in self._interior_facet_groups.items():
            data.append((sid, self._interior_entities[name].ravel()))
        for sid, ents in self._inner.values():
            data.append((sid, ents.ravel()))
        self._dS = ufl.Measure("dS", domain=mesh, subdomain_data=data or None)

    def dx(self, region: str | None = None):
        """Cell measure over a named region (all cells when None); includes no weight."""
        if region is None:
            return self._dx
        return self._dx(self.cell_tag_values(region))

    def ds(self, region: str | None = None):
        """Boundary facet measure over a named facet region (whole boundary when None)."""
        if region is None:
            return self._ds
        return self._ds(self.facet_tag_value(region))

    def dS(self, name: str):
        """Interior-facet measure over an interface "a|b" or a named interior facet group."""
        if "|" in name:
            a, b = name.split("|", 1)
            itf = self.interface(a, b)
            if itf.plus != a:
                raise RegionError(f"interface {name}: its '+' side is {itf.plus!r}; "
                                  f"write it as {itf.name}")
            return self._dS(itf.subdomain_id)
        if name in self._interior_facet_groups:
            return self._dS(self._interior_facet_groups[name])
        known = list(self.interfaces) + list(self._interior_facet_groups)
        raise RegionError(f"unknown interface {name!r}; known: {', '.join(known) or '(none)'}")

    def inner_groups(self, region: str) -> list[str]:
        """Named facet groups with facets inside a cell region (both cells in it), plus ""
        for the region's interior facets in no group; the same list on every rank."""
        return [g for r, g in self._inner if r == region]

    def shares_facets(self, region: str, group: str) -> bool:
        """True when some facet of `group` inside `region` also belongs to another named
        facet group (then `dS_inner(region, group)` holds only part of the group)."""
        return (region, group) in self._inner_shared

    def dS_inner(self, region: str, group: str = ""):
        """Interior-facet measure over the facets inside a cell region (both cells in it)
        that belong to a named facet group ("": to no group). Together, the groups of
        `inner_groups(region)` cover every interior facet of the region exactly once."""
        if (region, group) not in self._inner:
            if region not in self.cell_regions:
                raise RegionError(f"unknown cell region {region!r}")
            raise RegionError(f"facet group {group!r} has no facets inside {region!r}; "
                              f"groups inside it: {', '.join(self.inner_groups(region))}")
        return self._dS(self._inner[(region, group)][0])

    # -------------------------------------------------------------- coordinates
    def weight(self):
        """UFL weight that turns dx/ds into true volumes/areas for the coordinate system.

        cartesian: 1; axisymmetric: 2 pi r; spherical (1D): 4 pi r^2.
        """
        x = ufl.SpatialCoordinate(self.mesh)
        if self.coordinates == "axisymmetric":
            return 2 * math.pi * x[0]
        if self.coordinates == "spherical":
            return 4 * math.pi * x[0] ** 2
        return 1

    # -------------------------------------------------------------- scalars
    def integrate(self, expr, entity_maps=None) -> float:
        """Assemble a scalar UFL form and sum it over all ranks.

        Args:
            expr: the scalar form.
            entity_maps: submesh entity maps, when the form holds functions on submeshes.
        """
        form = dolfinx.fem.form(expr, entity_maps=entity_maps)
        return self.comm.allreduce(dolfinx.fem.assemble_scalar(form), op=MPI.SUM)

    def volume(self, region: str | None = None) -> float:
        """Volume of a cell region in the coordinate system [m^3 (3D/axisym/sph), m^2, m]."""
        return self.integrate(self.weight() * self.dx(region))

    def area(self, region: str) -> float:
        """Area of a boundary facet region in the coordinate system."""
        return self.integrate(self.weight() * self.ds(region))

    def size(self) -> float:
        """Characteristic size [m]: the largest extent of the bounding box over all ranks."""
        x = self.mesh.geometry.x[:, : self.gdim]
        lo = x.min(axis=0) if x.size else np.full(self.gdim, np.inf)
        hi = x.max(axis=0) if x.size else np.full(self.gdim, -np.inf)
        glo, ghi = np.empty_like(lo), np.empty_like(hi)
        self.comm.Allreduce(np.ascontiguousarray(lo), glo, op=MPI.MIN)
        self.comm.Allreduce(np.ascontiguousarray(hi), ghi, op=MPI.MAX)
        lo, hi = glo, ghi
        return float(np.max(hi - lo))

    def cell_keys(self, mesh) -> np.ndarray:
        """Partition-independent int64 keys of the owned cells of `mesh` (this mesh or one
        of its region / interface submeshes), for checkpoints read on another rank count."""
        from femcell._domain_keys import cell_keys

        return cell_keys(self, mesh)

    def num_cells_global(self) -> int:
        return self.mesh.topology.index_map(self.tdim).size_global

    def quality(self) -> dict:
        """Mesh quality: element count, min/mean gmsh quality (minSICN) and the largest cell
        size h [m] next to each interface and named facet region (collective)."""
        q = dict(self.metadata.get("mesh_quality", {}))
        q["cells"] = self.num_cells_global()
        tdim = self.tdim
        f2c = self.mesh.topology.connectivity(tdim - 1, tdim)
        near = {name: itf.entities[:, [0, 2]].ravel() for name, itf in self.interfaces.items()}
        for name in self.facet_regions:
            facets = self.facets(name)
            near[name] = np.unique(np.concatenate(
                [f2c.links(f) for f in facets])) if facets.size else np.empty(0, np.int32)
        q["h_near"] = h_near(self.mesh, near)
        return q

    def quality_line(self, q: dict | None = None) -> str:
        """One log line: elements, quality and element sizes at interfaces.

        Collective unless `q` (from `quality()`) is given: call it on every rank, print it
        on one."""
        q = self.quality() if q is None else q
        parts = [f"{q['cells']} elements"]
        if "min_quality" in q:
            parts.append(f"quality {q['measure']} min {q['min_quality']:.3f} mean "
                         f"{q['mean_quality']:.3f}")
            if q["min_quality"] <= 0:
                parts.append("WARNING: inverted or degenerate elements (quality <= 0)")
        for name, h in q["h_near"].items():
            parts.append(f"h at {name} {h['h_min_m']:.3g}-{h['h_max_m']:.3g} m")
        return "mesh: " + "; ".join(parts)

    def describe(self) -> str:
        """One line: cells, regions, interfaces."""
        return (f"{self.num_cells_global()} cells ({self.tdim}D, {self.coordinates}); cell "
                f"regions: {', '.join(self.cell_regions)}; facet regions: "
                f"{', '.join(self.facet_regions) or '-'}; interfaces: "
                f"{', '.join(self.interfaces) or '-'}")

    def region_map(self) -> dict:
        """Names of the integer region tags in the mesh, as JSON-ready dicts.

        Returns:
            {"cell_regions": gmsh cell group name -> tag (every tag of the cell tags),
            "composite_regions": region made of several groups ("electrolyte" from
            "electrolyte.grain_3") -> its tags, "facet_regions": facet group name -> tag,
            "interfaces": "a|b" -> id (facets between regions a and b; "+" side is a),
            "tdim", "gdim", "coordinates"}.
        """
        return {
            "cell_regions": dict(sorted(self._cell_groups.items(), key=lambda kv: kv[1])),
            "composite_regions": {n: list(self.cell_tag_values(n)) for n in self.cell_regions
                                  if n not in self._cell_groups},
            "facet_regions": dict(sorted(self._facet_groups.items(), key=lambda kv: kv[1])),
            "interfaces": {n: itf.subdomain_id for n, itf in self.interfaces.items()},
            "tdim": self.tdim, "gdim": self.gdim, "coordinates": self.coordinates,
        }
