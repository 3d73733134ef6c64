"""Making a Domain's mesh (private helpers of ``femcell.domain``).

A gmsh model is filled on rank 0 (by a builder or from a .geo/.msh file), checked, optionally
written to a .msh file with its metadata, and distributed to every rank with ghosted shared
facets.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from femcell._dolfinx import dolfinx


def partitioner():
    """Cell partitioner that ghosts the cells across shared facets (interface integrals)."""
    return dolfinx.mesh.create_cell_partitioner(dolfinx.mesh.GhostMode.shared_facet, 2)


def file_loader(path: Path, h: float | None, order: int) -> Callable[[], dict]:
    """A function that fills the current gmsh model from a .geo (meshed there) or .msh file.

    Args:
        path: the .geo or .msh file.
        h: for .geo files, the maximum element size [m] (None: as the file says).
        order: for .geo files, the geometry order (2 gives curved elements).

    Returns:
        The loader; it returns the metadata: the source, and what a .json file of the same
        stem beside the mesh holds.
    """

    def load():
        import gmsh

        if path.suffix == ".geo":
            gmsh.open(str(path))
            if h is not None:
                gmsh.option.setNumber("Mesh.MeshSizeMax", h)
            dim = max(d for d, _ in gmsh.model.getEntities())
            if h is not None:  # refuse a mesh far beyond FEMCELL_MAX_CELLS before meshing
                from femcell.geometry._common import CellCount

                box = gmsh.model.getBoundingBox(-1, -1)
                extent = [box[3 + i] - box[i] for i in range(dim)]
                CellCount(f"mesh file {path}", dim, extent, float(np.prod(extent)),
                          h).check()
            gmsh.model.mesh.generate(dim)
            if order > 1:
                gmsh.model.mesh.setOrder(order)
        else:
            gmsh.merge(str(path))
        meta = {"source": str(path)}
        side = path.with_suffix(".json")
        if side.is_file():  # metadata written beside the mesh (orientations, ...)
            import json

            meta.update({k: v for k, v in json.loads(side.read_text()).items()
                         if k not in ("gdim", "mesh_quality")})
        return meta

    return load


def mesh_from_gmsh(fill_model: Callable[[], dict], comm, msh_file=None) -> tuple[object, dict]:
    """Run `fill_model` on rank 0 inside a fresh gmsh session and distribute the mesh.

    Args:
        fill_model: fills the current gmsh model, meshes it, returns metadata (or None).
        comm: MPI communicator.
        msh_file: also write the mesh (and its metadata as .json) to this .msh file.

    Returns:
        (the result of `dolfinx.io.gmsh.model_to_mesh`, metadata), the same on every rank;
        the metadata gets "gdim" (when missing) and "mesh_quality".

    Raises:
        GeometryError, DomainError, RegionError: on every rank, when rank 0 failed (other
            errors become a DomainError naming their type).
    """
    import gmsh

    from femcell.domain import DomainError, RegionError

    meta, err, err_type, init_here = None, None, DomainError, False
    if comm.rank == 0:
        init_here = not gmsh.isInitialized()
        if init_here:
            gmsh.initialize(interruptible=False)
        gmsh.option.setNumber("General.Terminal", 0)
        gmsh.model.add("femcell")
        try:
            from femcell.interrupt import terminate_on_signal

            with terminate_on_signal():  # gmsh never returns to Python to poll
                meta = dict(fill_model() or {})
            meta.setdefault("gdim", gmsh_gdim())
            meta["mesh_quality"] = gmsh_quality()
            if msh_file is not None:
                write_msh(Path(msh_file), meta)
            if not gmsh.model.getPhysicalGroups():
                err = "the gmsh model has no physical groups (name the regions)"
        except Exception as exc:  # reported on every rank below, as the same class
            from femcell.geometry import GeometryError

            own = (GeometryError, DomainError, RegionError)
            err_type = type(exc) if isinstance(exc, own) else DomainError
            err = str(exc) if isinstance(exc, own) else f"{type(exc).__name__}: {exc}"
        meta, err, err_type = comm.bcast((meta, err, err_type), root=0)
    else:
        meta, err, err_type = comm.bcast((None, None, None), root=0)
    if err is not None:
        if comm.rank == 0:
            gmsh.model.remove()
            if init_here:
                gmsh.finalize()
        raise err_type(err)
    try:
        data = dolfinx.io.gmsh.model_to_mesh(
            gmsh.model if comm.rank == 0 else None, comm, 0, gdim=int(meta["gdim"]),
            partitioner=partitioner())
    finally:
        if comm.rank == 0:
            gmsh.model.remove()
            if init_here:
                gmsh.finalize()
    return data, meta


def write_msh(path: Path, meta: dict) -> None:
    """Write the current gmsh model's mesh and its metadata (rank 0)."""
    import json

    import gmsh

    from femcell.io.summary import _clean

    path.parent.mkdir(parents=True, exist_ok=True)
    # MSH 2.2, not 4.1: meshio reads the bounding entities of a 4.1 file's $Entities as a
    # cell set "gmsh:bounding_entities" whose entity tags pyvista.read then uses as cell
    # indices (IndexError or silently wrong cell data); 2.2 has no such section and keeps
    # the physical names and tags that Domain.from_file needs.
    version = gmsh.option.getNumber("Mesh.MshFileVersion")
    gmsh.option.setNumber("Mesh.SaveAll", 0)
    gmsh.option.setNumber("Mesh.MshFileVersion", 2.2)
    try:
        gmsh.write(str(path))
    finally:
        gmsh.option.setNumber("Mesh.MshFileVersion", version)
    groups = {gmsh.model.getPhysicalName(d, t): [d, t]
              for d, t in gmsh.model.getPhysicalGroups()}
    side = {**meta, "physical_groups": groups}  # name -> [dim, tag] ("gmsh:physical")
    path.with_suffix(".json").write_text(json.dumps(_clean(side), indent=1) + "\n")


def gmsh_quality() -> dict:
    """Element count and min/mean minSICN quality of the top-dimension elements (rank 0)."""
    import gmsh

    dim = gmsh.model.getDimension()
    _, tags, _ = gmsh.model.mesh.getElements(dim)
    tags = np.concatenate(tags) if tags else np.empty(0)
    if dim < 2 or tags.size == 0:
        return {"elements": int(tags.size)}
    q = np.asarray(gmsh.model.mesh.getElementQualities(tags, "minSICN"))
    return {"elements": int(tags.size), "measure": "minSICN", "min_quality": float(q.min()),
            "mean_quality": float(q.mean())}


def gmsh_gdim() -> int:
    """Geometric dimension of the current gmsh model from its node coordinates."""
    import gmsh

    dim = gmsh.model.getDimension()
    if dim == 3:
        return 3
    _, coords, _ = gmsh.model.mesh.getNodes()
    xyz = np.asarray(coords).reshape(-1, 3)
    if xyz.size and np.ptp(xyz[:, 2]) > 0:
        return 3
    if dim == 1 and xyz.size and np.ptp(xyz[:, 1]) == 0:
        return 1
    return max(dim, 2) if dim >= 2 else 1
