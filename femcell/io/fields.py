"""Field output for ParaView and pyvista: one VTKHDF time series per mesh, VTX for high order.

Fields of different regions live on different meshes (a submesh per region, a facet submesh
per interface) and may jump across interfaces, so each mesh gets its own file. For a
`FieldWriter(comm, folder / "fields", fields, domain=domain)` the files are

* ``fields.vtkhdf``: fields on the whole mesh (e.g. DG0 interface current density);
* ``fields_<region>.vtkhdf``: fields on the submesh of cell region ``<region>``;
* ``fields_<a>--<b>.vtkhdf``: fields on the facet submesh of the interface ``a|b``;
* ``fields_<first field>.vtkhdf``: a mesh the domain does not know (or no domain given:
  ``fields.vtkhdf`` when all fields share one mesh).

Characters other than letters, digits, ``.``, ``_`` and ``-`` in names become ``_``. Each
file holds the mesh (owned cells of all ranks), one ``PointData`` array per Lagrange field
of the geometry's degree (values at the nodes, exact), one ``CellData`` array per DG0 field
(exact) and ``FieldData`` strings ``femcell_mesh`` (domain, cell_region, interface or mesh),
``femcell_region`` (the region or interface name) and, when some field had to be
interpolated, ``femcell_note``. Other fields (P2 on a P1 mesh, P1 on a curved P2 mesh, DG1,
...) are interpolated to Lagrange of the geometry's degree for the VTKHDF file AND written
exactly, in VTX (ADIOS2, ParaView >= 5.12), to ``<vtkhdf stem>.bp`` (one file per element;
a second element on the same mesh goes to ``<vtkhdf stem>_<its first field>.bp``). All values
are in SI units; array names are the field names with ``/`` and ``.`` replaced by ``_``.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from femcell._dolfinx import dolfinx
from femcell.io.regions import write_mesh_tags  # noqa: F401  (former home)
from femcell.io.vtkhdf import VTKHDFSeries, array_name
from femcell.parallel import on_root

_SUFFIXES = (".bp", ".vtkhdf", ".h5", ".hdf5", ".xdmf")


def safe_name(name: str) -> str:
    """A file-name part for a region or interface name ("a|b" -> "a--b")."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", name.replace("|", "--"))


def mesh_labels(domain) -> dict[int, tuple[str, str]]:
    """id(mesh) -> (kind, region name) for the meshes a Domain knows: its own mesh
    ("domain", ""), its cached region submeshes ("cell_region", name) and interface facet
    submeshes ("interface", "a|b")."""
    out = {id(domain.mesh): ("domain", "")}
    for name, sub in domain.__dict__.get("_submeshes", {}).items():
        out.setdefault(id(sub.mesh), ("cell_region", name))
    for name, (sm, _) in domain.__dict__.get("_interface_submeshes", {}).items():
        out.setdefault(id(sm), ("interface", name))
    return out


def _value_size(V) -> tuple[tuple[int, ...], int]:
    """(value shape, number of VTK components: 2-vectors padded to 3, 2x2 tensors to 9)."""
    shape = tuple(int(s) for s in V.value_shape)
    if shape == (2,):
        return shape, 3
    if shape == (2, 2):
        return shape, 9
    return shape, int(np.prod(shape)) if shape else 1


def _pad(values: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """(n, bs) values -> VTK components (zero z-components for 2D vectors and tensors)."""
    n = values.shape[0]
    if shape == (2,):
        out = np.zeros((n, 3))
        out[:, :2] = values
        return out
    if shape == (2, 2):
        out = np.zeros((n, 3, 3))
        out[:, :2, :2] = values.reshape(n, 2, 2)
        return out.reshape(n, 9)
    return values.reshape(n, -1) if shape else values.reshape(n)


def _kind(V) -> str:
    """"point" (exact at geometry nodes), "cell" (DG0) or "interpolate"."""
    mesh = V.mesh
    be = V.element.basix_element
    cmap = mesh.geometry.cmaps[0]
    family = str(be.family).rsplit(".", 1)[-1]
    if family != "P":
        return "interpolate"
    if be.degree == 0:
        return "cell"
    same_nodes = be.degree <= 2 or int(be.lagrange_variant) == int(cmap.variant)
    if not be.discontinuous and be.degree == cmap.degree and same_nodes:
        return "point"
    return "interpolate"


def _node_to_dof(V) -> np.ndarray:
    """Dof (block) index of every local geometry node of V's mesh (V of the geometry's
    element)."""
    mesh = V.mesh
    gdm = mesh.geometry.dofmaps[0]
    out = np.full(mesh.geometry.x.shape[0], -1, dtype=np.int32)
    out[gdm.ravel()] = V.dofmap.list[: gdm.shape[0]].ravel()
    return out


class _Field:
    """One output array: where its values come from and how they are laid out."""

    def __init__(self, name: str, u, factor: float):
        self.name, self.u, self.factor = name, u, float(factor)
        V = u.function_space
        self.shape, self.ncomp = _value_size(V)
        self.kind = _kind(V)
        self.source = u  # the function whose values are written to the VTKHDF file
        if self.kind == "interpolate":
            mesh = V.mesh
            cmap = mesh.geometry.cmaps[0]
            el = ("Lagrange", cmap.degree, self.shape) if self.shape else \
                ("Lagrange", cmap.degree)
            W = dolfinx.fem.functionspace(mesh, el)
            self.source = dolfinx.fem.Function(W, name=name)
            try:
                self.source.interpolate(u)
            except Exception as exc:  # Real spaces, quadrature elements, ...
                raise ValueError(f"field {name!r}: cannot interpolate {V.ufl_element()} to "
                                 f"Lagrange {cmap.degree} for VTKHDF output ({exc})") from exc
        S = self.source.function_space
        if self.kind == "cell":
            self.index = S.dofmap.list[:, 0]
        else:
            self.index = _node_to_dof(S)

    @property
    def data_kind(self) -> str:
        return "cell" if self.kind == "cell" else "point"

    def values(self, n_owned: int) -> np.ndarray:
        """Values [SI] at this rank's owned geometry nodes (or cells), VTK components."""
        if self.kind == "interpolate":
            self.source.interpolate(self.u)
        else:
            self.u.x.scatter_forward()
        bs = self.source.function_space.dofmap.bs
        arr = self.source.x.array.reshape(-1, bs)[self.index[:n_owned]] * self.factor
        return _pad(arr, self.shape)


class _MeshOutput:
    """The VTKHDF series of one mesh and the VTX writers of its inexact fields."""

    def __init__(self, comm, folder: Path, stem: str, mesh, kind: str, region: str,
                 fields: list[_Field]):
        self.mesh, self.fields = mesh, fields
        self.kind, self.region = kind, region
        self.path = folder / f"{stem}.vtkhdf"
        point = {f.name: f.ncomp for f in fields if f.data_kind == "point"}
        cell = {f.name: f.ncomp for f in fields if f.data_kind == "cell"}
        meta = {"femcell_mesh": kind, "femcell_region": region}
        self.vtx_paths: list[Path] = []
        self._vtx: list[tuple] = []
        inexact = [f for f in fields if f.kind == "interpolate"]
        groups: dict = {}
        for f in inexact:  # VTX wants one element per writer
            groups.setdefault(f.u.function_space.ufl_element(), []).append(f)
        has_vtx = bool(getattr(dolfinx.common, "has_adios2", False))
        for i, group in enumerate(groups.values()):
            p = folder / (f"{stem}.bp" if i == 0 else f"{stem}_{safe_name(group[0].name)}.bp")
            outs = [dolfinx.fem.Function(f.u.function_space, name=f.name) for f in group]
            if has_vtx:
                self._vtx.append((dolfinx.io.VTXWriter(comm, str(p), outs, engine="BP5"),
                                  list(zip(group, outs, strict=True))))
                self.vtx_paths.append(p)
        if inexact:
            where = ", ".join(p.name for p in self.vtx_paths) or "nowhere (no ADIOS2)"
            meta["femcell_note"] = (
                f"interpolated to Lagrange {mesh.geometry.cmaps[0].degree}: "
                f"{', '.join(f.name for f in inexact)}; exact values in {where}")
        self.series = VTKHDFSeries(comm, self.path, mesh, point, cell, meta)

    def write(self, t: float) -> None:
        n_nodes = self.mesh.geometry.index_map().size_local
        n_cells = self.mesh.topology.index_map(self.mesh.topology.dim).size_local
        point = {f.name: f.values(n_nodes) for f in self.fields if f.data_kind == "point"}
        cell = {f.name: f.values(n_cells) for f in self.fields if f.data_kind == "cell"}
        self.series.write(t, point, cell)
        for writer, pairs in self._vtx:
            for f, out in pairs:
                out.x.array[:] = f.u.x.array * f.factor
            writer.write(t)

    def close(self) -> None:
        for writer, _ in self._vtx:
            writer.close()
        self._vtx = []

    def describe(self) -> dict:
        return {"mesh": self.kind, "region": self.region,
                "point_data": [array_name(f.name) for f in self.fields
                               if f.data_kind == "point"],
                "cell_data": [array_name(f.name) for f in self.fields if f.data_kind == "cell"],
                "interpolated": [array_name(f.name) for f in self.fields
                                 if f.kind == "interpolate"],
                "vtx": [p.name for p in self.vtx_paths]}


class FieldWriter:
    """Writes fields in SI as VTKHDF time series, one file per mesh (collective).

    Args:
        comm: MPI communicator of the meshes.
        path: run folder, or a file path whose stem names the files (``run/fields.bp`` and
            ``run/fields`` both give ``run/fields*.vtkhdf``).
        fields: name -> (dolfinx Function, factor to SI); the functions may live on
            different meshes (the domain's mesh, region submeshes, interface submeshes).
        domain: the Domain the meshes come from, to name files by region; without it a
            second mesh's file is named after its first field.

    Attributes:
        paths: every file written (VTKHDF files, then VTX .bp folders).
    """

    def __init__(self, comm, path, fields: dict, domain=None):
        path = Path(path)
        if path.suffix in _SUFFIXES:
            folder, stem = path.parent, path.stem
        else:
            folder, stem = path, "fields"
        on_root(comm, lambda: folder.mkdir(parents=True, exist_ok=True))
        by_mesh: dict[int, list[_Field]] = {}
        meshes = {}
        for name, (u, factor) in fields.items():  # same order on every rank
            mesh = u.function_space.mesh
            meshes[id(mesh)] = mesh
            by_mesh.setdefault(id(mesh), []).append(_Field(name, u, factor))
        labels = mesh_labels(domain) if domain is not None else {}
        self._outputs: list[_MeshOutput] = []
        used: set[str] = set()
        for key, flds in by_mesh.items():
            kind, region = labels.get(key, ("mesh", ""))
            if kind == "domain" or (domain is None and len(by_mesh) == 1):
                name = stem
            elif kind in ("cell_region", "interface"):
                name = f"{stem}_{safe_name(region)}"
            else:
                name = f"{stem}_{safe_name(flds[0].name)}"
            if name in used:
                raise ValueError(f"FieldWriter: two meshes would both write {name}.vtkhdf")
            used.add(name)
            self._outputs.append(_MeshOutput(comm, folder, name, meshes[key], kind, region,
                                             flds))
        self.paths = [o.path for o in self._outputs] + [
            p for o in self._outputs for p in o.vtx_paths]
        self._open = True

    def write(self, t: float) -> None:
        """Append all fields at time t [s] (collective)."""
        if not self._open:
            raise RuntimeError("FieldWriter.write after close()")
        for o in self._outputs:
            o.write(t)

    def close(self) -> None:
        """Finish the VTX files (collective; the VTKHDF files are complete after each
        write)."""
        for o in self._outputs:
            o.close()
        self._open = False

    def describe(self) -> dict[str, dict]:
        """File name -> what it holds: mesh kind, region, point/cell arrays, interpolated
        arrays and the VTX files with their exact values."""
        return {o.path.name: o.describe() for o in self._outputs}
