"""OCC primitives in model units for the cell builders (2D shapes lie in z = 0).

In 2D the stacking axis is y, in 3D it is z; "footprint" coordinates are the others.
"""

from __future__ import annotations

import math

import gmsh
import numpy as np


def add_box(dim: int, lo, size) -> int:
    """Box (3D) or rectangle in z = 0 (2D) with corner ``lo`` and edge lengths ``size``."""
    occ = gmsh.model.occ
    if dim == 3:
        return occ.addBox(*lo[:3], *size[:3])
    return occ.addRectangle(lo[0], lo[1], 0.0, size[0], size[1])


def add_ball(dim: int, center, radius: float) -> int:
    """Sphere (3D) or disk (2D) of the given centre and radius."""
    occ = gmsh.model.occ
    if dim == 3:
        return occ.addSphere(*center[:3], radius)
    return occ.addDisk(center[0], center[1], 0.0, radius, radius)


def add_lens(dim: int, center, radius: float, height: float) -> int:
    """Ellipse (2D) / spheroid (3D): semi-axis ``radius`` across, ``height`` along the stack."""
    occ = gmsh.model.occ
    if dim == 3:
        tag = occ.addSphere(0, 0, 0, 1.0)
        occ.dilate([(3, tag)], 0, 0, 0, radius, radius, height)
        occ.translate([(3, tag)], *center[:3])
        return tag
    tag = occ.addDisk(0, 0, 0, max(radius, height), min(radius, height))  # needs rx >= ry
    if height > radius:
        occ.rotate([(2, tag)], 0, 0, 0, 0, 0, 1, math.pi / 2)
    occ.translate([(2, tag)], center[0], center[1], 0.0)
    return tag


def add_ellipsoid(center, semi_axes) -> int:
    """Ellipsoid (3D) with the given centre and semi-axes along x, y, z."""
    occ = gmsh.model.occ
    tag = occ.addSphere(0, 0, 0, 1.0)
    occ.dilate([(3, tag)], 0, 0, 0, *semi_axes[:3])
    occ.translate([(3, tag)], *center[:3])
    return tag


def notch_outline(length: float, opening: float, tip_radius: float, extension: float):
    """Outline of a notch in local coordinates (u across, v along the notch axis).

    The mouth (width ``opening``) is centred at the origin; the walls are straight and
    tangent to the tip circle (centre (0, length - tip_radius)), so the apex is (0, length).
    The walls are extended below the mouth down to v = -extension.

    Returns:
        (right wall bottom, right tangent point, apex, left tangent point, left wall bottom,
        tip centre) as 2-vectors.
    """
    rho, c = tip_radius, length - tip_radius
    centre = np.array([0.0, c])
    mouth = np.array([opening / 2, 0.0])
    v = mouth - centre
    d = np.linalg.norm(v)
    alpha, beta = math.atan2(v[1], v[0]), math.acos(min(rho / d, 1.0))
    tangent = centre + rho * np.array([math.cos(alpha + beta), math.sin(alpha + beta)])
    wall = mouth - tangent
    bottom = mouth + wall * (extension / -wall[1]) if wall[1] < 0 else mouth
    mirror = np.array([-1.0, 1.0])
    return bottom, tangent, np.array([0.0, length]), tangent * mirror, bottom * mirror, centre


def notch_frame(dim: int, mouth, angle: float, direction: int):
    """(mouth, across, along) 3-vectors of a notch tilted by ``angle`` (rad) from the stack
    axis in the x-stack plane, entering towards +stack (direction +1) or -stack (-1)."""
    k = dim - 1  # stack axis
    along, across = np.zeros(3), np.zeros(3)
    along[0], along[k] = direction * math.sin(angle), direction * math.cos(angle)
    across[0], across[k] = math.cos(angle), -math.sin(angle)
    return np.asarray(mouth, float), across, along


def add_notch(dim: int, frame, length, opening, tip_radius, extension, depth=None) -> int:
    """Notch (see ``notch_outline``) in the frame of ``notch_frame``.

    2D: a surface. 3D with ``depth=(y0, y1)``: the 2D outline extruded from y0 to y1 (a
    through slot); 3D with ``depth=None``: a cylinder of radius ``tip_radius`` with a
    hemispherical tip (a needle; ``opening`` must be 2 * tip_radius).
    """
    occ = gmsh.model.occ
    origin, across, along = frame
    if dim == 3 and depth is None:
        rho = tip_radius
        base = origin - extension * along
        cyl = occ.addCylinder(*base, *((extension + length - rho) * along), rho)
        ball = occ.addSphere(*(origin + (length - rho) * along), rho)
        out, _ = occ.fuse([(3, cyl)], [(3, ball)])
        return out[0][1]
    y0 = 0.0 if depth is None else depth[0]
    pts = notch_outline(length, opening, tip_radius, extension)

    def put(p):
        x = origin + p[0] * across + p[1] * along
        if dim == 3:
            x = x.copy()
            x[1] = y0
        return occ.addPoint(*x)

    rb, rt, apex, lt, lb, centre = (put(p) for p in pts)
    curves = [
        occ.addLine(rb, rt),
        occ.addCircleArc(rt, centre, apex),
        occ.addCircleArc(apex, centre, lt),
        occ.addLine(lt, lb),
        occ.addLine(lb, rb),
    ]
    occ.remove([(0, centre)])
    surf = occ.addPlaneSurface([occ.addCurveLoop(curves)])
    if dim == 2:
        return surf
    out = occ.extrude([(2, surf)], 0.0, depth[1] - depth[0], 0.0)
    return next(t for d, t in out if d == 3)


def notch_extent(dim, mouth, angle, direction, length, opening, tip_radius, extension, depth):
    """Axis-aligned bounding box (lo, hi) of a notch (same arguments as above)."""
    frame = notch_frame(dim, mouth, angle, direction)
    origin, across, along = frame
    b, rt, apex, lt, lb, c = notch_outline(length, opening, tip_radius, extension)
    pts = [origin + p[0] * across + p[1] * along for p in (b, rt, lt, lb)]
    tip = origin + c[0] * across + c[1] * along
    pts += [tip + tip_radius * s for s in (across, -across, along, -along)]
    if dim == 3 and depth is None:  # needle: round cross-section
        pts += [p + tip_radius * np.array([0, s, 0]) for p in pts for s in (-1, 1)]
    lo, hi = np.min(pts, axis=0), np.max(pts, axis=0)
    if dim == 3 and depth is not None:
        lo[1], hi[1] = depth
    return lo[:dim], hi[:dim]
