"""gmsh builders of tagged geometries, looked up by name in ``BUILDERS``.

A builder adds geometry to the current gmsh model (``gmsh.initialize()`` and
``gmsh.model.add(...)`` are the caller's job, on one MPI rank), names its physical groups,
generates the mesh (nodes in metres) and returns a metadata dict with at least ``gdim``,
``tdim``, ``builder`` and ``params``. Invalid parameters raise :class:`GeometryError` before
anything is added to the model.

Builders: particles (``interval``, ``sphere``, ``half_disk``, ``ellipsoid``,
``polycrystal_particle``), cells (``symmetric_cell``), microstructures (``polycrystal``,
``composite_cathode``), fracture (``notched_electrolyte``, ``plate``) and conductivity samples
(``four_probe``).

Every parameter has a default (a small, quick geometry), so ``BUILDERS[name]()`` works;
``builder_parameters(name)`` lists them with one-line descriptions. The functions in
``BUILDERS`` first check the parameter names (``check_parameters``); the builders then
validate the values, reject implausible lengths (above 1 cm, 10 cm for ``four_probe``: a
bare number is metres) and estimate the number of cells from the sizes, refusing more than
``$FEMCELL_MAX_CELLS`` (default 5e6) before gmsh meshes anything.
"""

from __future__ import annotations

import functools
import inspect
import numbers
import re
from collections.abc import Callable

from ._common import DEFAULT_MAX_CELLS, MAX_CELLS_ENV, GeometryError, length_problem, max_cells
from .cathode import composite_cathode
from .cell import symmetric_cell
from .grains import polycrystal
from .notched import notched_electrolyte
from .particle import ellipsoid, half_disk, interval, polycrystal_particle, sphere
from .plate import plate
from .probe import four_probe

_RAW: dict[str, Callable[..., dict]] = {
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
    "plate": plate,
}


# one-line summaries of the nested tables (their docstrings explain them at length)
_SHORT = {
    ("symmetric_cell", "pores"): "spherical pores on an interface: {interface, radius (m), "
    "count, seed} or {interface, radius, centers (m)}; a table or a list of tables",
    ("symmetric_cell", "voids"): "gaps in the metal at an interface: list of {interface, "
    "center (m), footprint (m: a radius, or side lengths), height (m)}",
    ("symmetric_cell", "flaws"): "notches into the electrolyte: list of {interface, x (m), "
    "y (m, 3D needle), length (m), tip_radius (m), angle_deg = 0, fill = 'void'}",
    ("symmetric_cell", "roughness"): "rough interface: {interface, rms (m), "
    "correlation_length (m), seed}; a table or a list of tables",
    ("symmetric_cell", "grains"): "Voronoi grains in the electrolyte: {mean_size (m), seed}",
    ("symmetric_cell", "composite"): "for cathode = 'composite': {volume_fraction, "
    "radius_mean (m), radius_std (m) = 0, seed, min_gap (m)}",
}


def _doc_args(fn: Callable) -> dict[str, str]:
    """Parameter -> description (one line) from the Google-style ``Args:`` section."""
    doc = inspect.getdoc(fn) or ""
    out: dict[str, str] = {}
    names: list[str] = []
    inside = False
    for line in doc.splitlines():
        if line.strip() == "Args:":
            inside = True
            continue
        if not inside:
            continue
        if not line.startswith("    "):  # "Returns:" or a blank line ends the section
            if line.strip() or names:
                break
            continue
        m = re.match(r"^    (\w+(?:, \w+)*): (.*)$", line)
        if m:
            names = m.group(1).split(", ")
            for n in names:
                out[n] = m.group(2).strip()
        elif names:
            for n in names:
                out[n] += " " + line.strip()
    return out


def _names() -> str:
    return ", ".join(sorted(_RAW))


def _raw(name: str) -> Callable[..., dict]:
    if name not in _RAW:
        raise GeometryError(f"unknown geometry builder {name!r}; known: {_names()}")
    return _RAW[name]


def builder_parameters(name: str) -> list[tuple[str, object, str]]:
    """The parameters of a builder: (name, default, one-line description with units).

    A default of None means "derived from the other parameters" (the description says how).

    Raises:
        GeometryError: unknown builder (the message lists the known ones).
    """
    fn = _raw(name)
    docs = _doc_args(fn)
    out = []
    for p in inspect.signature(fn).parameters.values():
        doc = re.split(r"\.\s+(?=[A-Z])", docs.get(p.name, ""))[0]  # the first sentence
        doc = _SHORT.get((name, p.name), doc)
        out.append((p.name, None if p.default is inspect.Parameter.empty else p.default, doc))
    return out


def _is_length(description: str) -> bool:
    return bool(re.search(r"\(m\b", description))


def check_parameters(name: str, params: dict) -> None:
    """Cheap checks of builder parameters before any gmsh call: the names (unknown ones are
    named with the list of the builder's parameters) and the magnitude of plain lengths.

    Raises:
        GeometryError: with ``param`` (the culprit) and ``why`` attributes; one line.
    """
    table = builder_parameters(name)
    known = [p for p, _, _ in table]
    for key, value in params.items():
        if key not in known:
            raise _error(name, key, value, f"is not a parameter of {name} (parameters: "
                         f"{', '.join(known)})")
    for key, _, doc in table:
        value = params.get(key)
        if not _is_length(doc):
            continue
        items = value if isinstance(value, list | tuple) else [value]
        for i, v in enumerate(items):
            if isinstance(v, numbers.Real) and not isinstance(v, bool):
                why = length_problem(name, float(v))
                if why:
                    label = key if items is not value else f"{key}[{i}]"
                    raise _error(name, label, v, why)


def _error(builder: str, key: str, value: object, why: str) -> GeometryError:
    exc = GeometryError(f"{builder}: {key}={value!r} {why}")
    exc.param, exc.value, exc.why = key, value, why
    return exc


def _checked(name: str, fn: Callable[..., dict]) -> Callable[..., dict]:
    @functools.wraps(fn)
    def build(**params) -> dict:
        check_parameters(name, params)
        return fn(**params)

    return build


BUILDERS: dict[str, Callable[..., dict]] = {k: _checked(k, f) for k, f in _RAW.items()}

__all__ = [
    "BUILDERS",
    "DEFAULT_MAX_CELLS",
    "MAX_CELLS_ENV",
    "GeometryError",
    "builder_parameters",
    "check_parameters",
    "composite_cathode",
    "ellipsoid",
    "four_probe",
    "half_disk",
    "interval",
    "max_cells",
    "notched_electrolyte",
    "polycrystal",
    "polycrystal_particle",
    "sphere",
    "symmetric_cell",
]
