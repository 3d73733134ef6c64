"""Helpers shared by the gmsh builders: validation, sizing, naming, meshing.

Scale convention: OpenCASCADE works with an absolute tolerance of about 1e-7 in model units,
which is a few percent of a micrometre-sized particle in metres. Builders therefore construct
the geometry in units of a length scale ``L`` (the object's largest dimension, so the CAD
model is O(1)), mesh it there, and only then map the mesh nodes to metres with
``gmsh.model.mesh.affineTransform``. The mesh (all that ``dolfinx.io.gmsh.model_to_mesh``
reads) is in metres; the CAD entities (``gmsh.model.occ``) stay in units of ``L``, which the
metadata reports as ``length_scale``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping, Sequence

import gmsh


class GeometryError(ValueError):
    """A builder parameter is invalid (the message names the parameter and its value)."""


# --------------------------------------------------------------------------- validation


def _fail(builder: str, name: str, value: object, why: str) -> GeometryError:
    return GeometryError(f"{builder}: {name}={value!r} {why}")


def positive(builder: str, name: str, value: object) -> float:
    """Return ``value`` as a float, or raise GeometryError if it is not finite and > 0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise _fail(builder, name, value, "must be a real number")
    if not math.isfinite(value) or value <= 0:
        raise _fail(builder, name, value, "must be finite and > 0")
    return float(value)


def integer(builder: str, name: str, value: object, minimum: int) -> int:
    """Return ``value`` as an int, or raise GeometryError if it is not an integer >= minimum."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool | numbers.Integral):
        if math.isfinite(value) and float(value).is_integer() and abs(value) < 2**53:
            value = int(value)  # 2e7 written in scientific notation
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise _fail(builder, name, value, "must be an integer")
    if value < minimum:
        raise _fail(builder, name, value, f"must be >= {minimum}")
    return int(value)


def choice(builder: str, name: str, value: object, allowed: Sequence[int]) -> int:
    """Return ``value`` if it is one of ``allowed`` integers, else raise GeometryError."""
    if isinstance(value, bool) or value not in allowed:
        raise _fail(builder, name, value, f"must be one of {list(allowed)}")
    return int(value)


def mesh_size(builder: str, h: object, smallest: float) -> float:
    """Validate the target element size ``h`` (m) against the smallest object dimension (m)."""
    h = check_length(builder, "h", h)
    if h > smallest:
        raise _fail(
            builder, "h", h, f"must not exceed the smallest radius or semi-axis {smallest!r} m"
        )
    return h


def semi_axes(builder: str, value: object, dim: int) -> tuple[float, ...]:
    """Validate semi-axes (m): 3 values for dim 3, 2 (or 3, the last ignored) for dim 2."""
    allowed = (3,) if dim == 3 else (2, 3)
    try:
        axes = tuple(value)  # type: ignore[arg-type]
    except TypeError:
        raise _fail(builder, "semi_axes", value, "must be a sequence of lengths") from None
    if len(axes) not in allowed:
        raise _fail(
            builder,
            "semi_axes",
            value,
            f"must have {' or '.join(map(str, allowed))} entries for dim={dim}",
        )
    return tuple(check_length(builder, f"semi_axes[{i}]", a) for i, a in enumerate(axes[:dim]))


def point(builder: str, name: str, value: object, dim: int) -> tuple[float, float, float]:
    """Validate a point (m) with ``dim`` or 3 coordinates; in 2D a third one must be 0."""
    try:
        xyz = tuple(float(v) for v in value)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        raise _fail(builder, name, value, "must be a sequence of coordinates") from None
    if len(xyz) not in (dim, 3) or not all(map(math.isfinite, xyz)):
        raise _fail(builder, name, value, f"must have {dim} finite coordinates")
    if len(xyz) == 3 and dim == 2 and xyz[2] != 0.0:
        raise _fail(builder, name, value, "must lie in the plane z=0 for dim=2")
    return (*xyz, 0.0, 0.0)[:3]  # type: ignore[return-value]


# --------------------------------------------------------------------------- gmsh helpers


def boundary(dim: int, tags: Iterable[int]) -> list[int]:
    """Tags of the (dim-1)-entities on the outer boundary of the given dim-entities."""
    dimtags = gmsh.model.getBoundary([(dim, t) for t in tags], combined=True, oriented=False)
    return sorted({t for _, t in dimtags})


def add_group(dim: int, tags: Iterable[int], name: str) -> int:
    """Add the named physical group ``name`` of dimension ``dim``; return its tag."""
    tags = sorted(set(tags))
    if not tags:
        raise RuntimeError(f"physical group {name!r} would be empty")
    return gmsh.model.addPhysicalGroup(dim, tags, name=name)


def set_size(h: float) -> None:
    """Make ``h`` (model units) the target element size everywhere."""
    gmsh.option.setNumber("Mesh.MeshSizeMin", 0.0)
    gmsh.option.setNumber("Mesh.MeshSizeMax", h)
    gmsh.option.setNumber("Mesh.MeshSizeFromCurvature", 0)
    gmsh.option.setNumber("Mesh.MeshSizeExtendFromBoundary", 1)
    gmsh.option.setNumber("Mesh.MeshSizeFromPoints", 1)  # gmsh defaults (Sizing turns off)


def generate(tdim: int, order: int, scale: float, shift: Sequence[float] = (0.0, 0.0, 0.0)) -> None:
    """Mesh up to ``tdim``, elevate to ``order``, then map nodes x -> scale * x + shift (m)."""
    gmsh.model.mesh.generate(tdim)
    if order == 2:
        gmsh.model.mesh.setOrder(2)
        # curving boundary nodes can invert thin elements next to curved faces: untangle
        # them (elastic + optimisation) until the worst scaled Jacobian is positive
        q = _min_quality(tdim)
        if q <= 0.05:
            gmsh.option.setNumber("Mesh.HighOrderThresholdMin", 0.1)
            gmsh.model.mesh.optimize("HighOrderElastic")
            if _min_quality(tdim) <= 0.05:
                gmsh.model.mesh.optimize("HighOrder")
    gmsh.model.mesh.affineTransform(
        [scale, 0, 0, shift[0], 0, scale, 0, shift[1], 0, 0, scale, shift[2]]
    )


def _min_quality(tdim: int) -> float:
    """Smallest minSICN quality of the top-dimension elements (1 for 1D meshes)."""
    if tdim < 2:
        return 1.0
    _, tags, _ = gmsh.model.mesh.getElements(tdim)
    if not tags:
        return 1.0
    import numpy as np

    return float(np.min(gmsh.model.mesh.getElementQualities(np.concatenate(tags), "minSICN")))


def metadata(builder: str, params: dict, gdim: int, tdim: int, scale: float, **extra) -> dict:
    """The dict every builder returns, listing the named physical groups of the model."""
    names = {d: [] for d in range(4)}
    for d, tag in gmsh.model.getPhysicalGroups():
        names[d].append(gmsh.model.getPhysicalName(d, tag))
    return {
        "gdim": gdim,
        "tdim": tdim,
        "builder": builder,
        "params": {k: list(v) if isinstance(v, tuple) else v for k, v in params.items()},
        "cell_groups": names[tdim],
        "facet_groups": names[tdim - 1],
        "length_scale": scale,
        **extra,
    }


def nonnegative(builder: str, name: str, value: object) -> float:
    """Return ``value`` as a float, or raise GeometryError if it is not finite and >= 0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise _fail(builder, name, value, "must be a real number")
    if not math.isfinite(value) or value < 0:
        raise _fail(builder, name, value, "must be finite and >= 0")
    return float(value)


def real(builder: str, name: str, value: object) -> float:
    """Return ``value`` as a finite float, or raise GeometryError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise _fail(builder, name, value, "must be a finite real number")
    return float(value)


def lengths(builder: str, name: str, value: object, n: int | Sequence[int]) -> tuple[float, ...]:
    """Validate a sequence of ``n`` (or one of several allowed counts) positive lengths (m)."""
    allowed = (n,) if isinstance(n, int) else tuple(n)
    try:
        items = tuple(value)  # type: ignore[arg-type]
    except TypeError:
        raise _fail(builder, name, value, "must be a sequence of lengths") from None
    if len(items) not in allowed:
        raise _fail(builder, name, value, f"must have {' or '.join(map(str, allowed))} entries")
    return tuple(check_length(builder, f"{name}[{i}]", v) for i, v in enumerate(items))


def options(builder: str, name: str, value: object, allowed: Sequence[str]) -> str:
    """Return ``value`` if it is one of the ``allowed`` strings, else raise GeometryError."""
    if not isinstance(value, str) or value not in allowed:
        raise _fail(builder, name, value, f"must be one of {list(allowed)}")
    return value


def fail(builder: str, name: str, value: object, why: str) -> GeometryError:
    """A GeometryError ``"builder: name=value why"`` (one line)."""
    return _fail(builder, name, value, why)


def refined_size(builder: str, name: str, value: object, h: float) -> float:
    """Validate an optional refined size (m): None means ``h``; otherwise 0 < value <= h."""
    if value is None:
        return h
    value = check_length(builder, name, value)
    if value > h:
        raise _fail(builder, name, value, f"must not exceed h={h!r}")
    return value


# --------------------------------------------------------------------------- magnitudes

# Lengths are metres. A battery geometry is micrometres to millimetres: a length above
# MAX_LENGTH is a unit slip (a bare number read as metres), not a design. Conductivity
# samples (four_probe) are millimetre-sized, so they get more room and a mm hint.
MAX_LENGTH = 1e-2  # m
LENGTH_LIMITS = {"four_probe": (0.1, "mm")}  # builder -> (largest length [m], hint unit)


def length_problem(builder: str, value: float) -> str | None:
    """Why a length ``value`` (m) is implausible for ``builder`` (None if it is plausible)."""
    limit, unit = LENGTH_LIMITS.get(builder, (MAX_LENGTH, "um"))
    if not math.isfinite(value) or abs(value) <= limit:  # non-finite: the builder says so
        return None
    return (
        f"m is implausibly large for {builder} (limit {limit:g} m; numbers without units "
        f"are metres): did you mean '{value:g} {unit}'?"
    )


def check_length(builder: str, name: str, value: object, *, zero: bool = False) -> float:
    """A length (m): finite, > 0 (>= 0 with ``zero``) and plausible for the builder."""
    value = nonnegative(builder, name, value) if zero else positive(builder, name, value)
    why = length_problem(builder, value)
    if why:
        raise _fail(builder, name, value, why)
    return value


# Rough number of simplices per unit measure at element size h: an equilateral triangle of
# side h has area 0.43 h^2; gmsh's tetrahedra average about h^3 / 6.
CELLS_PER_MEASURE = {1: 1.0, 2: 2.3, 3: 6.0}
DEFAULT_MAX_CELLS = 5_000_000
MAX_CELLS_ENV = "FEMCELL_MAX_CELLS"


def max_cells() -> float:
    """Largest mesh a builder may make: $FEMCELL_MAX_CELLS or 5e6 cells."""
    from femcell.units import env_limit

    return env_limit(MAX_CELLS_ENV, DEFAULT_MAX_CELLS, "cells", GeometryError)


class CellCount:
    """Order-of-magnitude estimate of the cells gmsh will make, checked before meshing.

    Args:
        builder: builder name (for messages).
        dim: topological dimension.
        extent: bounding sizes of the domain (m), for the message.
        measure: length, area or volume of the domain (m^dim).
        h: background element size (m).
    """

    def __init__(self, builder: str, dim: int, extent: Sequence[float], measure: float, h: float):
        self.builder, self.dim, self.h = builder, dim, h
        self.extent = [float(e) for e in extent]
        self.parts: dict[str, tuple[object, float]] = {}  # culprit -> (value, cells)
        self.add("h", h, CELLS_PER_MEASURE[dim] * measure / h**dim)

    def add(self, name: str, value: object, cells: float) -> None:
        """Add ``cells`` attributed to the parameter ``name`` (= ``value``)."""
        old = self.parts.get(name, (value, 0.0))[1]
        self.parts[name] = (value, old + cells)

    def near(self, name: str, size: float, area: float) -> None:
        """Refinement to ``size`` (m) around a surface of measure ``area`` (m^(dim-1)): a band
        of about ``size`` each side at the refined target, then a linear ramp to h (as
        ``Sizing.near``)."""
        if size >= self.h or area <= 0:
            return
        d, g = self.dim, 0.5
        t = SIZE_SAFETY[d] * size
        band = 2 * area * size / t**d
        ramp = 2 * area / g * (t ** (1 - d) - self.h ** (1 - d)) / (d - 1)
        self.add(name, size, CELLS_PER_MEASURE[d] * (band + ramp))

    def ball(self, name: str, size: float, radius: float) -> None:
        """Refinement to ``size`` (m) inside a ball/disk of ``radius`` (m) (``Sizing.ball``)."""
        if size >= self.h:
            return
        d = self.dim
        t = SIZE_SAFETY[d] * size
        inside = (math.pi * radius**2 if d == 2 else 4 / 3 * math.pi * radius**3) / t**d
        shell = 2 * math.pi * radius if d == 2 else 4 * math.pi * radius**2
        self.add(name, size, CELLS_PER_MEASURE[d] * inside)
        self.near(name, size, shell)

    @property
    def total(self) -> float:
        return sum(n for _, n in self.parts.values())

    def check(self) -> float:
        """Raise GeometryError naming the biggest contributor if the estimate is too large."""
        n, limit = self.total, max_cells()
        if n <= limit:
            return n
        name, (value, _) = max(self.parts.items(), key=lambda kv: kv[1][1])
        box = " x ".join(f"{e:.3g}" for e in self.extent)
        raise _fail(
            self.builder,
            name,
            value,
            f"m on a {box} m domain implies ~{n:.1e} cells (limit {limit:.3g}; set "
            f"{MAX_CELLS_ENV} to raise it)",
        )


# --------------------------------------------------------------------------- size fields

# Gmsh's elements come out somewhat larger than the target size (in 3D the longest edge of a
# tetrahedron is typically 1.5-2x the target). Refined sizes are upper bounds: the target is
# this fraction of the requested size, so every edge of a cell touching a refined entity is
# at most the requested size.
SIZE_SAFETY = {1: 1.0, 2: 0.65, 3: 0.45}


class Sizing:
    """Background mesh size: ``h`` everywhere, refined near entities, balls and boxes.

    All lengths are in model units. Each refinement is a gmsh field (Distance + Threshold,
    Ball or Box); the background field is their minimum, capped at ``h``.
    """

    def __init__(self, dim: int, h: float, growth: float = 0.5):
        self.dim, self.h, self.growth = dim, h, growth
        self.fields: list[int] = []

    def _ramp(self, size: float) -> float:
        return (self.h - size) / self.growth

    def near(self, tags: Iterable[int], size: float, entity_dim: int | None = None) -> None:
        """Refine to ``size`` (an upper bound) within ~size of the given entities."""
        tags = sorted(set(tags))
        edim = self.dim - 1 if entity_dim is None else entity_dim
        if not tags or size >= self.h:
            return
        target = SIZE_SAFETY[self.dim] * size
        diag = max(_diagonal(edim, t) for t in tags)
        sampling = int(min(max(math.ceil(2 * diag / target), 20), 400 if edim < 2 else 120))
        f = gmsh.model.mesh.field
        dist = f.add("Distance")
        key = {0: "PointsList", 1: "CurvesList", 2: "SurfacesList"}[edim]
        f.setNumbers(dist, key, tags)
        if edim > 0:
            f.setNumber(dist, "Sampling", sampling)
        d_min = max(size, diag / sampling)
        thr = f.add("Threshold")
        f.setNumber(thr, "InField", dist)
        f.setNumber(thr, "SizeMin", target)
        f.setNumber(thr, "SizeMax", self.h)
        f.setNumber(thr, "DistMin", d_min)
        f.setNumber(thr, "DistMax", d_min + self._ramp(target))
        self.fields.append(thr)

    def ball(self, center: Sequence[float], radius: float, size: float) -> None:
        """Refine to ``size`` (an upper bound) inside the ball/disk ``|x - center| <= radius``."""
        if size >= self.h:
            return
        target = SIZE_SAFETY[self.dim] * size
        f = gmsh.model.mesh.field
        ball = f.add("Ball")
        for k, c in zip(("XCenter", "YCenter", "ZCenter"), (*center, 0.0, 0.0), strict=False):
            f.setNumber(ball, k, c)
        f.setNumber(ball, "Radius", radius)
        f.setNumber(ball, "Thickness", self._ramp(target))
        f.setNumber(ball, "VIn", target)
        f.setNumber(ball, "VOut", self.h)
        self.fields.append(ball)

    def box(self, lo: Sequence[float], hi: Sequence[float], size: float) -> None:
        """Refine to ``size`` (an upper bound) inside the axis-aligned box ``lo..hi``."""
        if size >= self.h:
            return
        target = SIZE_SAFETY[self.dim] * size
        f = gmsh.model.mesh.field
        box = f.add("Box")
        lo, hi = (*lo, 0.0, 0.0, 0.0)[:3], (*hi, 0.0, 0.0, 0.0)[:3]
        for k, a, b in zip("XYZ", lo, hi, strict=True):
            f.setNumber(box, f"{k}Min", a)
            f.setNumber(box, f"{k}Max", b)
        f.setNumber(box, "Thickness", self._ramp(target))
        f.setNumber(box, "VIn", target)
        f.setNumber(box, "VOut", self.h)
        self.fields.append(box)

    def apply(self) -> None:
        """Install the background field (after all refinements were added)."""
        set_size(self.h)
        gmsh.option.setNumber("Mesh.MeshSizeExtendFromBoundary", 0)
        gmsh.option.setNumber("Mesh.MeshSizeFromPoints", 0)
        if not self.fields:
            return
        f = gmsh.model.mesh.field
        if len(self.fields) == 1:
            f.setAsBackgroundMesh(self.fields[0])
            return
        fmin = f.add("Min")
        f.setNumbers(fmin, "FieldsList", self.fields)
        f.setAsBackgroundMesh(fmin)


def _diagonal(dim: int, tag: int) -> float:
    if dim == 0:
        return 0.0
    x0, y0, z0, x1, y1, z1 = gmsh.model.getBoundingBox(dim, tag)
    return math.dist((x0, y0, z0), (x1, y1, z1))


def bbox(dim: int, tag: int) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """(lo, hi) corners of the bounding box of an entity (model units)."""
    b = gmsh.model.getBoundingBox(dim, tag)
    return b[:3], b[3:]


def refine_box(builder: str, i: int, raw, lo, hi, dim: int, h: float,
               h_fine: float | None) -> dict:
    """One refined box {x = [x0, x1], y = [y0, y1] (, z), h} (m) of a builder, checked;
    a missing axis spans the domain [lo, hi]; a missing h is h_fine."""
    label = f"refine[{i}]"
    if not isinstance(raw, Mapping):
        raise fail(builder, label, raw, "must be a table {x = [x0, x1], y = [y0, y1], h}")
    known = {"x", "y", "z", "h"}
    for k in raw:
        if k not in known or (k == "z" and dim == 2):
            axes = "x, y, z" if dim == 3 else "x, y"
            raise fail(builder, f"{label}.{k}", raw[k], f"unknown key (known: {axes}, h)")
    if "h" not in raw and h_fine is None:
        raise fail(builder, label, dict(raw), "misses the key 'h' (or give h_fine)")
    size = positive(builder, f"{label}.h", raw["h"]) if "h" in raw else h_fine
    if size > h:
        raise fail(builder, f"{label}.h", size, f"must be at most h = {h!r} m")
    box = {"h": size}
    for a, axis in enumerate("xyz"[:dim]):
        span = raw.get(axis, [lo[a], hi[a]])
        if (not isinstance(span, Sequence) or isinstance(span, str) or len(span) != 2
                or not all(isinstance(v, int | float) and not isinstance(v, bool)
                           for v in span) or span[0] >= span[1]):
            raise fail(builder, f"{label}.{axis}", span, "must be [low, high] with low < high (m)")
        box[axis] = (float(span[0]), float(span[1]))
    return box


def refine_boxes(builder: str, refine, lo, hi, dim: int, h: float, h_fine: float | None = None):
    """The refined boxes of a builder's ``refine`` (a table or a list of tables), checked."""
    boxes = refine if isinstance(refine, Sequence) and not isinstance(refine, str | Mapping) \
        else [refine]
    if refine in (None, (), []):
        return []
    return [refine_box(builder, i, b, lo, hi, dim, h, h_fine) for i, b in enumerate(boxes)]


def count_boxes(count: CellCount, boxes: list[dict], lo, hi, dim: int) -> None:
    """Add the cells of refined boxes (their part inside [lo, hi]) to a CellCount."""
    for i, b in enumerate(boxes):
        vol = 1.0
        for axis in "xyz"[:dim]:
            vol *= max(min(b[axis][1], hi["xyz".index(axis)])
                       - max(b[axis][0], lo["xyz".index(axis)]), 0.0)
        count.add(f"refine[{i}].h", b["h"], 2.3 * max(vol, 0.0) / b["h"] ** dim * (
            1 if dim == 2 else 2.6))
