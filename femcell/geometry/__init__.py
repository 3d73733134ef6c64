"""gmsh builders of tagged geometries, looked up by name in ``BUILDERS``.

A builder adds geometry to the current gmsh model (``gmsh.initialize()`` and
``gmsh.model.add(...)`` are the caller's job, on one MPI rank), names its physical groups,
generates the mesh (nodes in metres) and returns a metadata dict with at least ``gdim``,
``tdim``, ``builder`` and ``params``. Invalid parameters raise :class:`GeometryError` before
anything is added to the model.

Builders: particles (``interval``, ``sphere``, ``half_disk``, ``ellipsoid``,
``polycrystal_particle``), cells (``symmetric_cell``), microstructures (``polycrystal``,
``composite_cathode``), fracture (``notched_electrolyte``) and conductivity samples
(``four_probe``).
"""

from collections.abc import Callable

from ._common import GeometryError
from .cathode import composite_cathode
from .cell import symmetric_cell
from .grains import polycrystal
from .notched import notched_electrolyte
from .particle import ellipsoid, half_disk, interval, polycrystal_particle, sphere
from .probe import four_probe

BUILDERS: dict[str, Callable[..., dict]] = {
    "interval": interval,
    "sphere": sphere,
    "half_disk": half_disk,
    "ellipsoid": ellipsoid,
    "polycrystal_particle": polycrystal_particle,
    "symmetric_cell": symmetric_cell,
    "polycrystal": polycrystal,
    "composite_cathode": composite_cathode,
    "notched_electrolyte": notched_electrolyte,
    "four_probe": four_probe,
}

__all__ = [
    "BUILDERS",
    "GeometryError",
    "composite_cathode",
    "ellipsoid",
    "four_probe",
    "half_disk",
    "interval",
    "notched_electrolyte",
    "polycrystal",
    "polycrystal_particle",
    "sphere",
    "symmetric_cell",
]
