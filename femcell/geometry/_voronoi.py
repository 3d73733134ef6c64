"""Voronoi grains shared by the builders: seeds, orientations and clipped Voronoi cells.

All coordinates are in model units (see ``_common`` for the scale convention). A Voronoi cell
is built as a starting box intersected, one neighbour at a time, with the half-spaces nearer
its seed; the caller fragments the cells with the container(s) they tile, which makes the
mesh conformal across grain boundaries.
"""

from __future__ import annotations

import math

import gmsh
import numpy as np

_HALF_SPACE = 4.0  # half-space box size in model units (models fit in [-1.1, 1.1]^3)


def orientations(n: int, seed: int, dim: int) -> np.ndarray:
    """Bunge ZXZ Euler angles (rad) of ``n`` uniformly random rotations, shape (n, 3).

    ``scipy Rotation.random(n, random_state=seed).as_euler("ZXZ")`` with phi1 and phi2
    wrapped to [0, 2 pi); in 2D only the in-plane angle phi1 is kept ([phi1, 0, 0]).
    """
    from scipy.spatial.transform import Rotation

    euler = Rotation.random(n, random_state=seed).as_euler("ZXZ").reshape(n, 3)
    euler[:, [0, 2]] %= 2 * math.pi
    if dim == 2:
        euler[:, 1:] = 0.0  # in-plane rotation by phi1 only
    return euler


def seeds_in_box(lo, size, n: int, seed: int) -> np.ndarray:
    """``n`` points uniform in the box ``lo + [0, size]`` (numpy ``default_rng(seed)``)."""
    rng = np.random.default_rng(seed)
    lo, size = np.asarray(lo, float), np.asarray(size, float)
    return lo + rng.uniform(0.0, 1.0, size=(n, len(lo))) * size


def neighbours(seeds: np.ndarray):
    """Yield (i, [j, ...]): the seeds whose bisectors can bound the Voronoi cell of seed i."""
    n, dim = seeds.shape
    pairs = {(i, j) for i in range(n) for j in range(n) if i != j}
    if n > dim + 1:  # Delaunay neighbours suffice (and are far fewer for many grains)
        from scipy.spatial import Delaunay, QhullError

        try:
            tri = Delaunay(seeds)
            if len(np.unique(tri.simplices)) == n:
                pairs = {(i, j) for s in tri.simplices for i in s for j in s if i != j}
        except QhullError:
            pass
    for i in range(n):
        yield i, sorted(j for k, j in pairs if k == i)


def voronoi_cell(seeds: np.ndarray, i: int, nbrs: list[int], lo, size):
    """Tag of the part of the box ``lo + [0, size]`` nearer seed i than its nbrs (or None)."""
    occ = gmsh.model.occ
    dim = seeds.shape[1]
    cell = occ.addBox(*lo, *size) if dim == 3 else occ.addRectangle(*lo, 0, *size)
    # Chained intersections: one cut by the union of all half-spaces is ~10x slower in OCC.
    for j in nbrs:
        d = seeds[j] - seeds[i]
        if np.linalg.norm(d) < 1e-12:  # duplicate seed: nearest-seed assignment drops one
            continue
        out, _ = occ.intersect([(dim, cell)], [(dim, _half_space(seeds[i], d))])
        if not out:
            return None
        cell = out[0][1]
    return cell


def voronoi_cells(seeds: np.ndarray, lo, size) -> list[int | None]:
    """Voronoi cells of all seeds clipped to the box ``lo + [0, size]`` (None if empty)."""
    return [voronoi_cell(seeds, i, nbrs, lo, size) for i, nbrs in neighbours(seeds)]


def nearest_seed(seeds: np.ndarray, dim: int, tag: int) -> int:
    """Index of the seed nearest the centre of mass of the entity (dim, tag)."""
    c = np.asarray(gmsh.model.occ.getCenterOfMass(dim, tag))[: seeds.shape[1]]
    return int(np.argmin(np.linalg.norm(seeds - c, axis=1)))


def _half_space(origin: np.ndarray, d: np.ndarray) -> int:
    """Large box/rectangle filling {x: (x - origin - d / 2) . d <= 0} (the side of origin)."""
    occ = gmsh.model.occ
    B = _HALF_SPACE
    n = d / np.linalg.norm(d)
    if len(n) == 3:
        tag = occ.addBox(-B, -B, -B, B, 2 * B, 2 * B)  # x <= 0, outward normal e_x
        axis = np.array([0.0, -n[2], n[1]])  # e_x cross n
        angle = math.atan2(np.linalg.norm(axis), n[0])
        if np.linalg.norm(axis) < 1e-12:
            axis = np.array([0.0, 0.0, 1.0])
        if angle > 0:
            occ.rotate([(3, tag)], 0, 0, 0, *axis, angle)
    else:
        tag = occ.addRectangle(-B, -B, 0, B, 2 * B)
        occ.rotate([(2, tag)], 0, 0, 0, 0, 0, 1, math.atan2(n[1], n[0]))
    occ.translate([(len(n), tag)], *(origin + 0.5 * d), *([0.0] if len(n) == 2 else []))
    return tag
