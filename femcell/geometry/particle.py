"""Single active-material particles: 1D radial line, sphere/disk, meridian half disk,
ellipsoid/ellipse, and a polycrystalline (Voronoi) particle.

Every builder adds to the current gmsh model, names its physical groups (cells "particle" or
"particle.grain_<k>", facets "surface", "axis", "grain_boundary", points "center"), meshes
it and returns a metadata dict. Lengths are in metres; see ``_common`` for the scale
convention (the CAD model is in units of ``length_scale``, the mesh in metres).
"""

from __future__ import annotations

import math

import gmsh
import numpy as np

from ._common import (
    CellCount,
    add_group,
    boundary,
    check_length,
    choice,
    fail,
    generate,
    integer,
    max_cells,
    mesh_size,
    metadata,
    point,
    positive,
    set_size,
)
from ._common import semi_axes as check_axes
from ._voronoi import nearest_seed, orientations, voronoi_cells


def _add_ellipsoid(axes: tuple[float, ...]) -> int:
    """Add a centred ball/ellipsoid (3 axes) or disk/ellipse (2 axes); return its tag."""
    occ = gmsh.model.occ
    if len(axes) == 3:
        if len(set(axes)) == 1:
            return occ.addSphere(0, 0, 0, axes[0])  # analytic sphere, exact OCC volume
        tag = occ.addSphere(0, 0, 0, 1.0)
        occ.dilate([(3, tag)], 0, 0, 0, *axes)
        return tag
    a, b = axes
    tag = occ.addDisk(0, 0, 0, max(a, b), min(a, b))  # OCC wants rx >= ry
    if b > a:
        occ.rotate([(2, tag)], 0, 0, 0, 0, 0, 1, math.pi / 2)
    return tag


MAX_GRAINS = 2000
RADIUS = 5e-6  # default particle radius (m): a small, quick geometry


def _measure(axes: tuple[float, ...]) -> float:
    """Volume (3 axes) or area (2 axes) of the ellipsoid/ellipse, in the axes' units."""
    return (4 / 3 if len(axes) == 3 else 1.0) * math.pi * math.prod(axes)


def _single_region(
    builder: str,
    params: dict,
    dim: int,
    tag: int,
    h: float,
    order: int,
    scale: float,
    shift=(0.0, 0.0, 0.0),
    **extra,
) -> dict:
    """Name one region "particle" with facets "surface", mesh it and return its metadata."""
    gmsh.model.occ.synchronize()
    add_group(dim, [tag], "particle")
    add_group(dim - 1, boundary(dim, [tag]), "surface")
    set_size(h / scale)
    generate(dim, order, scale, shift)
    return metadata(builder, params, dim, dim, scale, **extra)


def interval(*, radius: float = RADIUS, n_cells: int = 50, grading: float = 1.0) -> dict:
    """Radial line 0 <= r <= radius for 1D spherical-particle models (gdim = tdim = 1).

    Args:
        radius: Particle radius (m; default 5 um).
        n_cells: Number of cells (>= 1; default 50).
        grading: Ratio of each cell's length to that of its outer neighbour; > 1 refines
            towards the surface, 1 is uniform (a gmsh transfinite "Progression").

    Returns:
        Metadata; groups: cells "particle", points "center" (r=0) and "surface" (r=radius).
    """
    name = "interval"
    radius = check_length(name, "radius", radius)
    n_cells = integer(name, "n_cells", n_cells, 1)
    if n_cells > max_cells():
        raise fail(name, "n_cells", n_cells, f"exceeds the limit of {max_cells():.3g} cells "
                   "(set FEMCELL_MAX_CELLS to raise it)")
    grading = positive(name, "grading", grading)
    occ = gmsh.model.occ
    center, surface = occ.addPoint(0, 0, 0), occ.addPoint(1, 0, 0)
    line = occ.addLine(center, surface)
    occ.synchronize()
    gmsh.model.mesh.setTransfiniteCurve(line, n_cells + 1, "Progression", 1.0 / grading)
    add_group(1, [line], "particle")
    add_group(0, [center], "center")
    add_group(0, [surface], "surface")
    generate(1, 1, radius)
    params = {"radius": radius, "n_cells": n_cells, "grading": grading}
    return metadata(name, params, 1, 1, radius, volume=radius, coordinates="spherical")


def sphere(
    *,
    radius: float = RADIUS,
    h: float | None = None,
    order: int = 1,
    dim: int = 3,
    center=(0.0, 0.0, 0.0),
) -> dict:
    """Ball (dim 3) or planar disk (dim 2, in z = 0) of the given radius.

    Args:
        radius: Radius (m; default 5 um).
        h: Target element size (m), at most ``radius``; default radius / 4.
        order: Geometric order of the elements, 1 or 2 (curved).
        dim: 3 for a ball, 2 for a disk.
        center: Centre (m), 2 or 3 coordinates.

    Returns:
        Metadata (``volume`` is the exact volume, m^3, or area, m^2); groups: cells
        "particle", facets "surface".
    """
    name = "sphere"
    dim = choice(name, "dim", dim, (2, 3))
    radius = check_length(name, "radius", radius)
    h = mesh_size(name, radius / 4 if h is None else h, radius)
    order = choice(name, "order", order, (1, 2))
    center = point(name, "center", center, dim)
    CellCount(name, dim, [2 * radius] * dim, _measure((radius,) * dim), h).check()
    params = {"radius": radius, "h": h, "order": order, "dim": dim, "center": center}
    tag = _add_ellipsoid((1.0,) * dim)
    return _single_region(
        name,
        params,
        dim,
        tag,
        h,
        order,
        radius,
        center,
        volume=_measure((radius,) * dim),
        coordinates="cartesian",
    )


def half_disk(*, radius: float = RADIUS, h: float | None = None, order: int = 1) -> dict:
    """Meridian section {(r, z): r >= 0, r^2 + z^2 <= radius^2} for axisymmetric models.

    The mesh lives in the plane with x = r and y = z (gdim = tdim = 2).

    Args:
        radius: Particle radius (m; default 5 um).
        h: Target element size (m), at most ``radius``; default radius / 8.
        order: Geometric order of the elements, 1 or 2 (curved).

    Returns:
        Metadata (``volume`` is the section's area pi R^2 / 2, m^2); groups: cells
        "particle", facets "surface" (the arc) and "axis" (the segment r = 0).
    """
    name = "half_disk"
    radius = check_length(name, "radius", radius)
    h = mesh_size(name, radius / 8 if h is None else h, radius)
    order = choice(name, "order", order, (1, 2))
    CellCount(name, 2, [radius, 2 * radius], math.pi * radius**2 / 2, h).check()
    occ = gmsh.model.occ
    south, east, north = occ.addPoint(0, -1, 0), occ.addPoint(1, 0, 0), occ.addPoint(0, 1, 0)
    arc = occ.addCircleArc(south, east, north, center=False)  # through (1, 0)
    occ.remove([(0, east)])  # construction point; would be a stray mesh node
    axis = occ.addLine(north, south)
    surf = occ.addPlaneSurface([occ.addCurveLoop([arc, axis])])
    occ.synchronize()
    add_group(2, [surf], "particle")
    add_group(1, [arc], "surface")
    add_group(1, [axis], "axis")
    set_size(h / radius)
    generate(2, order, radius)
    params = {"radius": radius, "h": h, "order": order}
    return metadata(
        name, params, 2, 2, radius, volume=math.pi * radius**2 / 2, coordinates="axisymmetric"
    )


def ellipsoid(
    *,
    semi_axes: tuple[float, ...] = (5e-6, 4e-6, 3e-6),
    h: float | None = None,
    order: int = 1,
    dim: int = 3,
) -> dict:
    """Centred ellipsoid (dim 3, semi-axes a, b, c along x, y, z) or ellipse (dim 2, a, b).

    Args:
        semi_axes: Semi-axes (m); (a, b, c) for dim 3, (a, b) for dim 2 (a third value is
            ignored); default (5, 4, 3) um.
        h: Target element size (m), at most the smallest semi-axis; default a quarter of it.
        order: Geometric order of the elements, 1 or 2 (curved).
        dim: 3 or 2.

    Returns:
        Metadata (``volume``: exact volume, m^3, or area, m^2); groups: cells "particle",
        facets "surface".
    """
    name = "ellipsoid"
    axes, h, order, scale = _ellipsoid_params(name, semi_axes, h, order, dim)
    dim = len(axes)
    params = {"semi_axes": axes, "h": h, "order": order, "dim": dim}
    tag = _add_ellipsoid(tuple(a / scale for a in axes))
    return _single_region(
        name, params, dim, tag, h, order, scale, volume=_measure(axes), coordinates="cartesian"
    )


def _ellipsoid_params(builder, semi_axes_, h, order, dim):
    """Validate (semi_axes, h, order, dim); return (axes, h, order, length scale)."""
    dim = choice(builder, "dim", dim, (2, 3))
    axes = check_axes(builder, semi_axes_, dim)
    h = mesh_size(builder, min(axes) / 4 if h is None else h, min(axes))
    order = choice(builder, "order", order, (1, 2))
    CellCount(builder, dim, [2 * a for a in axes], _measure(axes), h).check()
    return axes, h, order, max(axes)


def polycrystal_particle(
    *,
    semi_axes: tuple[float, ...] = (RADIUS, RADIUS, RADIUS),
    n_grains: int = 6,
    seed: int = 0,
    h: float | None = None,
    order: int = 1,
    dim: int = 3,
) -> dict:
    """Ellipsoid (sphere if all axes are equal) or ellipse cut into Voronoi grains.

    ``n_grains`` seeds are drawn uniformly inside the particle with
    ``numpy.random.default_rng(seed)`` (rejection sampling); grain i is the part of the
    particle closer to seed i than to any other seed. The grains are fragmented together,
    so the mesh is conformal across grain boundaries.

    Args:
        semi_axes: Semi-axes (m); (a, b, c) for dim 3, (a, b) for dim 2 (a third value is
            ignored); default a 5 um sphere.
        n_grains: Number of seeds (1 to 2000; default 6).
        seed: Seed (>= 0) of the seed points and of the grain orientations.
        h: Target element size (m), at most the smallest semi-axis; default a quarter of it.
        order: Geometric order of the elements, 1 or 2 (curved).
        dim: 3 or 2.

    Returns:
        Metadata with ``grains`` (group names "particle.grain_<k>", numbered consecutively;
        grains that come out empty are dropped), ``orientations`` (name -> Bunge ZXZ Euler
        angles [phi1, Phi, phi2] in rad of a uniformly random rotation,
        ``scipy Rotation.random(n_grains, random_state=seed).as_euler("ZXZ")`` with phi1 and
        phi2 wrapped to [0, 2 pi); in 2D [phi1, 0, 0]), ``grain_volumes`` (name -> OCC volume,
        m^3, or area, m^2), ``seeds`` (name -> seed point, m) and ``volume`` (exact particle
        volume or area). Facet groups: "surface" and, with two or more grains,
        "grain_boundary".
    """
    name = "polycrystal_particle"
    axes, h, order, scale = _ellipsoid_params(name, semi_axes, h, order, dim)
    dim = len(axes)
    n_grains = integer(name, "n_grains", n_grains, 1)
    if n_grains > MAX_GRAINS:
        raise fail(name, "n_grains", n_grains, f"must be at most {MAX_GRAINS}")
    seed = integer(name, "seed", seed, 0)
    params = {
        "semi_axes": axes,
        "n_grains": n_grains,
        "seed": seed,
        "h": h,
        "order": order,
        "dim": dim,
    }
    unit_axes = np.asarray(axes) / scale
    seeds = _seed_points(unit_axes, n_grains, seed)
    euler = orientations(n_grains, seed, dim)

    occ = gmsh.model.occ
    particle = _add_ellipsoid(tuple(unit_axes))
    cells = voronoi_cells(seeds, -1.1 * unit_axes, 2.2 * unit_axes)
    _, parts = occ.fragment([(dim, particle)], [(dim, c) for c in cells if c is not None])
    pieces = sorted({t for _, t in parts[0]})
    occ.remove([dt for dt in occ.getEntities(dim) if dt[1] not in pieces], recursive=True)
    occ.synchronize()

    # Each piece goes to the seed nearest its centre of mass (a convex Voronoi piece contains
    # its centroid); this also absorbs boolean slivers, so every cell is in one group.
    owner = {t: nearest_seed(seeds, dim, t) for t in pieces}
    kept = sorted(set(owner.values()))
    names = {i: f"particle.grain_{k}" for k, i in enumerate(kept)}
    grain_volumes = {}
    for i in kept:
        tags = [t for t in pieces if owner[t] == i]
        add_group(dim, tags, names[i])
        grain_volumes[names[i]] = sum(occ.getMass(dim, t) for t in tags) * scale**dim
    surface, grain_boundary = [], []
    for _, f in gmsh.model.getEntities(dim - 1):
        up = [t for t in gmsh.model.getAdjacencies(dim - 1, f)[0] if t in owner]
        if len(up) == 1:
            surface.append(f)
        elif len({owner[t] for t in up}) == 2:
            grain_boundary.append(f)
    add_group(dim - 1, surface, "surface")
    if grain_boundary:
        add_group(dim - 1, grain_boundary, "grain_boundary")

    set_size(h / scale)
    generate(dim, order, scale)
    return metadata(
        name,
        params,
        dim,
        dim,
        scale,
        volume=_measure(axes),
        coordinates="cartesian",
        grains=list(names.values()),
        orientations={names[i]: euler[i].tolist() for i in kept},
        grain_volumes=grain_volumes,
        seeds={names[i]: (seeds[i] * scale).tolist() for i in kept},
    )


def _seed_points(unit_axes: np.ndarray, n: int, seed: int) -> np.ndarray:
    """``n`` points uniform in the ellipsoid with the given semi-axes (rejection sampling)."""
    rng = np.random.default_rng(seed)
    points = []
    while len(points) < n:
        p = rng.uniform(-1.0, 1.0, size=len(unit_axes))
        if p @ p < 1.0:
            points.append(p * unit_axes)
    return np.array(points)
