"""gmsh builders of tagged geometries, looked up by name in ``BUILDERS``.

A builder adds geometry to the current gmsh model (``gmsh.initialize()`` and
``gmsh.model.add(...)`` are the caller's job, on one MPI rank), names its physical groups,
generates the mesh (nodes in metres) and returns a metadata dict with at least ``gdim``,
``tdim``, ``builder`` and ``params``. Invalid parameters raise :class:`GeometryError` before
anything is added to the model.
"""

from collections.abc import Callable

from ._common import GeometryError
from .particle import ellipsoid, half_disk, interval, polycrystal_particle, sphere

BUILDERS: dict[str, Callable[..., dict]] = {
    "interval": interval,
    "sphere": sphere,
    "half_disk": half_disk,
    "ellipsoid": ellipsoid,
    "polycrystal_particle": polycrystal_particle,
}

__all__ = [
    "BUILDERS",
    "GeometryError",
    "ellipsoid",
    "half_disk",
    "interval",
    "polycrystal_particle",
    "sphere",
]
