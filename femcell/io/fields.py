"""Fields for ParaView: a VTX (.bp) time series and the mesh with its tags in XDMF."""

from __future__ import annotations

from pathlib import Path

from femcell._dolfinx import dolfinx


class FieldWriter:
    """Writes physics fields in SI to one VTX file per function space.

    Args:
        path: the .bp directory to create (e.g. run/fields.bp).
        fields: name -> (function, factor to SI), all on the same mesh.
    """

    def __init__(self, comm, path: Path, fields: dict):
        self._pairs = []
        by_space: dict = {}  # id(space) -> outputs on that space
        for name, (u, factor) in fields.items():
            out = dolfinx.fem.Function(u.function_space, name=name)
            self._pairs.append((u, out, factor))
            by_space.setdefault(id(u.function_space), []).append(out)
        self.paths = []
        self._writers = []
        for i, (_space, outs) in enumerate(by_space.items()):
            # one file per function space: fields.bp, then fields_<first field name>.bp
            p = Path(path) if i == 0 else Path(path).with_name(
                f"{Path(path).stem}_{outs[0].name}.bp")
            self._writers.append(dolfinx.io.VTXWriter(comm, str(p), outs, engine="BP5"))
            self.paths.append(p)

    def write(self, t: float) -> None:
        """Write all fields at time t [s] (collective)."""
        for u, out, factor in self._pairs:
            out.x.array[:] = u.x.array * factor
        for w in self._writers:
            w.write(t)

    def close(self) -> None:
        for w in self._writers:
            w.close()
        self._writers = []


def write_mesh_tags(domain, path: Path) -> None:
    """Write the mesh with its cell and facet tags (gmsh tag values) to XDMF (collective)."""
    mesh = domain.mesh
    with dolfinx.io.XDMFFile(mesh.comm, str(path), "w") as f:
        f.write_mesh(mesh)
        ct = domain.cell_tags
        ct.name = "cell_regions"
        f.write_meshtags(ct, mesh.geometry)
        if domain.facet_tags is not None and domain.facet_tags.values.size >= 0:
            mesh.topology.create_connectivity(domain.tdim - 1, domain.tdim)
            ft = domain.facet_tags
            ft.name = "facet_regions"
            f.write_meshtags(ft, mesh.geometry)
