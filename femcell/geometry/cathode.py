"""Composite cathode: non-overlapping active particles in a solid-electrolyte matrix."""

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
    positive,
    refined_size,
)
from ._shapes import add_ball, add_box

_TOL = 1e-6  # model units
MAX_PARTICLES = 2000
_BATCH, _BATCHES = 512, 40  # random candidate centres per particle: 20480 at most
_GRID = 200_000  # then a grid of about this many candidate centres


def ball_measure(dim: int, r):
    """Volume (3D) or area (2D) of balls of radius ``r``."""
    r = np.asarray(r, float)
    return (4 / 3 * math.pi * r**3) if dim == 3 else (math.pi * r**2)


def pack(builder, dim, lo, hi, volume_fraction, radius_mean, radius_std, seed, min_gap):
    """Random sequential addition of balls in the box ``lo..hi`` (m), validated.

    Radii are log-normal with the given mean and standard deviation (constant if the
    standard deviation is 0), drawn with ``numpy.random.default_rng(seed)`` until their total
    measure is closest to ``volume_fraction`` times the box measure, then scaled by one common
    factor so that it is exact. Largest first, each ball gets the first of up to ~20000
    uniform random centres that keeps ``min_gap`` to the walls and to the other balls, or
    else a random free node of a grid of ~2e5 candidate centres.

    Returns:
        (centres (n, dim), radii (n,)) in metres, in placement order.
    """
    lo, hi = np.asarray(lo, float), np.asarray(hi, float)
    side = hi - lo
    box = float(np.prod(side))
    target = volume_fraction * box
    rng = np.random.default_rng(seed)
    if radius_std > 0:
        s2 = math.log1p((radius_std / radius_mean) ** 2)
        mu = math.log(radius_mean) - s2 / 2

        def draw():
            return float(rng.lognormal(mu, math.sqrt(s2)))

    else:

        def draw():
            return radius_mean

    radii, total = [], 0.0
    while True:
        r = draw()
        v = float(ball_measure(dim, r))
        if total + v >= target:
            if not radii or (total + v - target) < (target - total):
                radii.append(r)
                total += v
            break
        radii.append(r)
        total += v
        if len(radii) > MAX_PARTICLES:
            raise fail(
                builder,
                "volume_fraction",
                volume_fraction,
                f"needs more than {MAX_PARTICLES} particles of radius_mean={radius_mean!r} m",
            )
    radii = np.sort(np.array(radii) * (target / total) ** (1 / dim))[::-1]
    if np.any(2 * (radii[0] + min_gap) > side):
        raise fail(
            builder,
            "radius_mean",
            radius_mean,
            f"too large: a particle of radius {radii[0]:.3g} m with min_gap={min_gap!r} m "
            f"does not fit in the box {side.tolist()} m",
        )
    centres = np.empty((0, dim))
    for k, r in enumerate(radii):
        a, b = lo + r + min_gap, hi - r - min_gap
        need = radii[:k] + r + min_gap
        for _ in range(_BATCHES):
            cand = a + rng.uniform(0.0, 1.0, size=(_BATCH, dim)) * (b - a)
            ok = _free(cand, centres, need)
            if ok.any():
                centres = np.vstack([centres, cand[np.argmax(ok)]])
                break
        else:  # the free space is tiny: scan a grid for it, pick a free node at random
            n = max(2, int(_GRID ** (1 / dim)))
            axes = [np.linspace(a[d], b[d], n) for d in range(dim)]
            grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, dim)
            free = np.flatnonzero(_free(grid, centres, need))
            if not len(free):
                raise fail(
                    builder,
                    "volume_fraction",
                    volume_fraction,
                    f"cannot be packed: placed {k} of {len(radii)} particles (random sequential"
                    f" addition with min_gap={min_gap!r} m; jamming is near 0.55 in 2D, 0.38 in"
                    " 3D, less in small boxes)",
                )
            centres = np.vstack([centres, grid[rng.choice(free)]])
    return centres, radii


def _free(cand: np.ndarray, centres: np.ndarray, need: np.ndarray) -> np.ndarray:
    """Which candidate centres keep distance ``need[j]`` to every placed centre j."""
    ok = np.ones(len(cand), bool)
    for s in range(0, len(cand), 4096):
        c = cand[s : s + 4096]
        if len(centres):
            d2 = ((c[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
            ok[s : s + 4096] = np.all(d2 >= need[None, :] ** 2, axis=1)
    return ok


def check_packing_params(builder, dim, volume_fraction, radius_mean, radius_std, seed, min_gap):
    """Validate the packing parameters; return them as (vf, r_mean, r_std, seed, min_gap)."""
    vf = positive(builder, "volume_fraction", volume_fraction)
    if vf >= (0.7 if dim == 3 else 0.85):
        raise fail(builder, "volume_fraction", vf, "is above the packing limit of spheres")
    r = check_length(builder, "radius_mean", radius_mean)
    std = check_length(builder, "radius_std", radius_std, zero=True)
    seed = integer(builder, "seed", seed, 0)
    gap = 0.1 * r if min_gap is None else check_length(builder, "min_gap", min_gap, zero=True)
    if gap == 0:
        raise fail(builder, "min_gap", min_gap, "must be > 0 (touching particles cannot be meshed)")
    return vf, r, std, seed, gap


def particle_parts(dim, centres, radii, scale, within):
    """Particle parts "active.particle_<k>" (model units) for ``assemble``."""
    return [
        Part(
            "particle",
            [add_ball(dim, c / scale, r / scale)],
            name=f"active.particle_{k}",
            within=frozenset(within),
        )
        for k, (c, r) in enumerate(zip(centres, radii, strict=True))
    ]


def particle_surface(dim: int, radii) -> float:
    """Total surface (3D, m^2) or perimeter (2D, m) of balls of radii ``radii`` (m)."""
    r = np.asarray(radii, float)
    return float(np.sum(4 * math.pi * r**2 if dim == 3 else 2 * math.pi * r))


def particle_metadata(centres, radii, dim, region_measure):
    """Metadata entries describing packed particles."""
    return {
        "volume_fraction": float(np.sum(ball_measure(dim, radii)) / region_measure),
        "particles": {
            f"active.particle_{k}": {"center": c.tolist(), "radius": float(r)}
            for k, (c, r) in enumerate(zip(centres, radii, strict=True))
        },
    }


def composite_cathode(
    *,
    dim: int = 2,
    size=None,
    volume_fraction: float = 0.3,
    radius_mean: float = 2e-6,
    radius_std: float = 0.0,
    seed: int = 0,
    h: float | None = None,
    h_interface: float | None = None,
    min_gap: float | None = None,
    separator_thickness: float = 0.0,
    order: int = 1,
) -> dict:
    """Active particles (disks/balls) in an electrolyte matrix, over an optional separator.

    The particle-filled box is [0, Lx] x [s, s + Ly] (x [s, s + Lz] in 3D, stacking along the
    last axis) above a particle-free separator slab of thickness s; both are "electrolyte".
    Particles are packed by random sequential addition (see ``pack``): fully inside the
    particle-filled box with at least ``min_gap`` to each other and to its walls.

    Args:
        dim: 2 or 3.
        size: particle-filled box [Lx, Ly] or [Lx, Ly, Lz] (m); default 20 um sides.
        volume_fraction: active volume / particle-filled box volume (exact, see ``pack``;
            default 0.3).
        radius_mean, radius_std: mean (default 2 um) and standard deviation (default 0) of
            the (log-normal) radii (m).
        seed: seed (>= 0) of the radii and positions.
        h: target element size (m); default radius_mean / 2.
        h_interface: element size at the particle surfaces (m, an upper bound; default
            min(h, smallest radius / 2)).
        min_gap: least gap between particles and to the walls (m; default 0.1 radius_mean).
        separator_thickness: particle-free slab below (m).
        order: geometric order of the elements (1 or 2).

    Returns:
        Metadata with ``volume_fraction`` (achieved, from the radii), ``particles``
        (group -> {"center", "radius"}, m), ``volumes`` (region/group -> OCC volume) and
        ``areas``. Cell groups "electrolyte" and "active.particle_<k>"; facets "cathode_cc"
        (top), "separator" (bottom), "sides"; interface "active|electrolyte".
    """
    name = "composite_cathode"
    dim = choice(name, "dim", dim, (2, 3))
    size = lengths(name, "size", [20e-6] * dim if size is None else size, dim)
    vf, r_mean, r_std, seed, gap = check_packing_params(
        name, dim, volume_fraction, radius_mean, radius_std, seed, min_gap
    )
    sep = check_length(name, "separator_thickness", separator_thickness, zero=True)
    h = check_length(name, "h", min(r_mean / 2, min(size)) if h is None else h)
    if h > min(size):
        raise fail(name, "h", h, f"must not exceed the smallest box side {min(size)!r} m")
    order = choice(name, "order", order, (1, 2))
    lo = np.zeros(dim)
    lo[-1] = sep
    centres, radii = pack(name, dim, lo, lo + np.array(size), vf, r_mean, r_std, seed, gap)
    if h_interface is None:
        h_int = min(h, float(radii.min()) / 2)
    else:
        h_int = refined_size(name, "h_interface", h_interface, h)
        if h_int > radii.min():
            raise fail(
                name,
                "h_interface",
                h_int,
                f"must not exceed the smallest radius {float(radii.min())!r} m",
            )
    extent = [*size[:-1], size[-1] + sep]
    count = CellCount(name, dim, extent, math.prod(extent), h)
    count.near("h_interface", h_int, particle_surface(dim, radii))
    count.check()
    params = {
        "dim": dim,
        "size": size,
        "volume_fraction": vf,
        "radius_mean": r_mean,
        "radius_std": r_std,
        "seed": seed,
        "h": h,
        "h_interface": h_int,
        "min_gap": gap,
        "separator_thickness": sep,
        "order": order,
    }

    total = np.array(size, float)
    total[-1] += sep
    scale = float(total.max())
    unit = total / scale
    parts = [Part("layer", [add_box(dim, np.zeros(3), unit)], name="electrolyte")]
    parts += particle_parts(dim, centres, radii, scale, {"electrolyte"})

    def outer(a, b):
        if b[dim - 1] < _TOL:
            return "separator"
        if a[dim - 1] > unit[dim - 1] - _TOL:
            return "cathode_cc"
        return "sides"

    asm = assemble(dim, parts, outer)
    asm.name_groups()
    sizing = Sizing(dim, h / scale)
    for tags in asm.interfaces.values():
        sizing.near(tags, h_int / scale)
    sizing.apply()
    volumes, areas = asm.volumes(scale), asm.areas(scale)
    generate(dim, order, scale)
    return metadata(
        name,
        params,
        dim,
        dim,
        scale,
        coordinates="cartesian",
        volumes=volumes,
        areas=areas,
        composite_volume=float(np.prod(size)),
        **particle_metadata(centres, radii, dim, float(np.prod(size))),
    )
