"""A box (rectangle in 2D) of Voronoi grains, e.g. a polycrystalline solid electrolyte."""

from __future__ import annotations

import math

import numpy as np

from ._assemble import Part, assemble
from ._common import (
    CellCount,
    Sizing,
    check_length,
    choice,
    fail,
    generate,
    integer,
    lengths,
    metadata,
)
from ._shapes import add_box
from ._voronoi import orientations, seeds_in_box, tessellation, voronoi_cells

_TOL = 1e-6  # model units: a face lies on a box side when within this distance


def box_sides(dim: int, size) -> callable:
    """``outer(lo, hi)`` naming the sides of the box [0, size] (model units).

    x: "left"/"right"; 2D y and 3D z: "bottom"/"top"; 3D y: "front"/"back".
    """
    names = (
        [("left", "right"), ("bottom", "top")]
        if dim == 2
        else [
            ("left", "right"),
            ("front", "back"),
            ("bottom", "top"),
        ]
    )

    def outer(lo, hi):
        for k in range(dim):
            if hi[k] < _TOL:
                return names[k][0]
            if lo[k] > size[k] - _TOL:
                return names[k][1]
        return "boundary"

    return outer


def region_name(builder: str, name: str, value: object) -> str:
    """A cell-region name: a non-empty identifier without "." or "|"."""
    if not isinstance(value, str) or not value or any(c in value for c in ".| "):
        raise fail(builder, name, value, "must be a non-empty name without '.', '|' or spaces")
    return value


def polycrystal(
    *,
    dim: int = 2,
    size=None,
    mean_grain_size: float = 5e-6,
    seed: int = 0,
    h: float | None = None,
    region: str = "electrolyte",
    order: int = 1,
    arrangement: str = "random",
) -> dict:
    """A box [0, Lx] x [0, Ly] (x [0, Lz]) filled with Voronoi grains.

    ``n = max(1, round(V / d^dim))`` seeds (V the box volume/area, d ``mean_grain_size``) are
    drawn uniformly in the box with ``numpy.random.default_rng(seed)``; grain i is the part
    of the box nearer seed i than any other seed. With ``arrangement = "cubic"`` the seeds
    sit at the centres of a regular grid of ``max(1, round(L_k / d))`` cells along each
    side, so the grains are identical boxes (squares): the brick-layer model's geometry.
    The grains are fragmented together, so the mesh is conformal across grain boundaries.

    Args:
        dim: 2 or 3.
        size: box size [Lx, Ly] or [Lx, Ly, Lz] (m); default 20 um sides.
        mean_grain_size: grain size d (m; default 5 um): the mean grain volume is d^dim.
        seed: seed (>= 0) of the grain seeds and orientations.
        h: target element size (m); default mean_grain_size / 4.
        region: name of the cell region the grains form.
        order: geometric order of the elements (1 or 2).
        arrangement: "random" (Voronoi of uniform seeds) or "cubic" (a regular grid of box
            grains; ``seed`` then sets only the orientations).

    Returns:
        Metadata with ``grains`` (cell groups "<region>.grain_<k>", k = 0, 1, ...),
        ``orientations`` (group -> Bunge ZXZ Euler angles [phi1, Phi, phi2], rad; 2D:
        [phi1, 0, 0]), ``grain_volumes`` (group -> OCC volume, m^3, or area, m^2), ``seeds``
        (group -> seed point, m), ``volume`` (exact box volume) and ``volumes`` (region ->
        volume). Facet groups: "left", "right", "bottom", "top" (3D also "front", "back") and,
        with two or more grains, "grain_boundary".
    """
    name = "polycrystal"
    dim = choice(name, "dim", dim, (2, 3))
    size = lengths(name, "size", [20e-6] * dim if size is None else size, dim)
    d = check_length(name, "mean_grain_size", mean_grain_size)
    seed = integer(name, "seed", seed, 0)
    h = check_length(name, "h", min(d / 4, min(size)) if h is None else h)
    if h > min(size):
        raise fail(name, "h", h, f"must not exceed the smallest box side {min(size)!r} m")
    region = region_name(name, "region", region)
    order = choice(name, "order", order, (1, 2))
    if arrangement not in ("random", "cubic"):
        raise fail(name, "arrangement", arrangement, "must be 'random' or 'cubic'")
    volume = math.prod(size)
    counts = [max(1, round(s / d)) for s in size]
    n = math.prod(counts) if arrangement == "cubic" else max(1, round(volume / d**dim))
    if n > 5000:
        raise fail(name, "mean_grain_size", d, f"gives {n} grains (at most 5000)")
    CellCount(name, dim, size, volume, h).check()
    params = {
        "dim": dim,
        "size": size,
        "mean_grain_size": d,
        "seed": seed,
        "h": h,
        "region": region,
        "order": order,
        "arrangement": arrangement,
    }

    scale = max(size)
    unit = np.array(size) / scale
    if arrangement == "cubic":
        axes = [(np.arange(c) + 0.5) / c * u for c, u in zip(counts, unit, strict=True)]
        seeds = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, dim)
    else:
        seeds = seeds_in_box(np.zeros(dim), unit, n, seed)
    euler = orientations(n, seed, dim)
    cells = tessellation(seeds, np.zeros(dim), unit)  # conformal as drawn: no boolean
    shared = cells is not None
    if shared:
        parts = [Part("layer", list(cells), name=region)]
    else:  # fall back to independent cells fragmented with the box
        cells = voronoi_cells(seeds, np.zeros(dim), unit)
        parts = [Part("layer", [add_box(dim, np.zeros(3), unit)], name=region)]
    for i, cell in enumerate(cells):
        if cell is not None:
            parts.append(Part("grain", [cell], within=frozenset({region}), index=i))
    asm = assemble(dim, parts, box_sides(dim, unit), seeds, f"{region}.grain_", fragment=not shared)
    asm.name_groups()
    sizing = Sizing(dim, h / scale)
    sizing.apply()
    volumes = asm.volumes(scale)
    generate(dim, order, scale)
    grains = sorted(asm.grain_owner, key=lambda g: asm.grain_owner[g])
    return metadata(
        name,
        params,
        dim,
        dim,
        scale,
        coordinates="cartesian",
        volume=volume,
        volumes={region: volumes[region]},
        grains=grains,
        orientations={g: euler[asm.grain_owner[g]].tolist() for g in grains},
        grain_volumes={g: volumes[g] for g in grains},
        seeds={g: (seeds[asm.grain_owner[g]] * scale).tolist() for g in grains},
        areas=asm.areas(scale),
    )
