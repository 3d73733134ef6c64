"""Mesh sizes of ``symmetric_cell``: the cell-count estimate and the refinement fields."""

from __future__ import annotations

import math

import numpy as np

from ._assemble import Assembly
from ._cell_layout import NAME, Layout
from ._common import CELLS_PER_MEASURE, SIZE_SAFETY, CellCount, Sizing, count_boxes
from .cathode import particle_surface


def count_cells(
    lay: Layout, h: float, h_int: float, pores: list[dict], voids: list[dict], particles,
    boxes=(),
) -> None:
    """Check the estimated cell count (layers, refined interfaces, defect walls, notch tips,
    particle surfaces) against the limit before anything is built.

    Args:
        lay: the cell with its defects.
        h, h_int: element sizes in the bulk and at interfaces (m).
        pores, voids: metadata from ``parse_pores`` and ``parse_voids``.
        particles: composite cathode particles from ``parse_composite``, or None.
        boxes: refined boxes (``refine_boxes``).

    Raises:
        GeometryError: too many cells.
    """
    dim, foot, top, depth = lay.dim, lay.foot, lay.top, lay.depth
    n_interfaces = len(lay.layers) - 1
    plane = float(np.prod(foot))  # measure of one interface (m^(dim-1))
    count = CellCount(NAME, dim, [*foot, top], plane * top, h)
    count.near("h_interface", h_int, n_interfaces * plane)
    for p in pores:
        r = p["radius"]
        count.near("h_interface", min(h_int, r), particle_surface(dim, [r]))
    for v in voids:
        half, hv = np.asarray(v["half_widths"]), v["height"]
        wall = 2 * float(np.prod(2 * half)) + hv * (4 * float(np.sum(2 * half)) if dim == 3 else 2)
        count.near("h_interface", min(h_int, hv), wall)
    for d in lay.defects:
        if d.tip is None:
            continue
        _, rho, h_t, slot3 = d.tip
        along = float(np.max(d.hi - d.lo))  # about the notch length
        span = depth if slot3 else (2 * math.pi * rho if dim == 3 else 1.0)
        count.near("h_interface", min(h_int, max(h_t, rho)), 2 * along * span)
        radius = 2 * rho + h_t
        if slot3:  # a refined box along the slot's tip line
            t = SIZE_SAFETY[3] * h_t
            count.add("h_tip", h_t, CELLS_PER_MEASURE[3] * 4 * radius**2 * depth / t**3)
            count.near("h_tip", h_t, 8 * radius * depth)
        else:
            count.ball("h_tip", h_t, radius)
    if particles is not None:
        count.near("h_interface", min(h_int, float(min(particles[1]))),
                   particle_surface(dim, particles[1]))
    count_boxes(count, list(boxes), [0.0] * dim, [*foot, top], dim)
    count.check()


def set_sizes(
    asm: Assembly,
    lay: Layout,
    h: float,
    h_int: float,
    scale: float,
    pores: list[dict],
    voids: list[dict],
    particles=None,
    boxes=(),
) -> None:
    """Install the background mesh size: h, h_int at interfaces and defect walls, h_tip
    around notch tips; particle surfaces no coarser than the smallest particle radius.

    Args:
        asm: the assembled model (interfaces and facet groups, model units).
        lay: the cell with its defects.
        h, h_int: element sizes in the bulk and at interfaces (m).
        scale: model length unit (m).
        pores, voids: metadata from ``parse_pores`` and ``parse_voids``.
        particles: (centres, radii) of composite-cathode particles, or None.
        boxes: refined boxes (``refine_boxes``, m).
    """
    sizing = Sizing(lay.dim, h / scale)
    for b in boxes:
        lo = np.zeros(3)
        hi = np.zeros(3)
        for a, axis in enumerate("xyz"[: lay.dim]):
            lo[a], hi[a] = b[axis]
        sizing.box(lo / scale, hi / scale, b["h"] / scale)
    for tags in asm.interfaces.values():
        sizing.near(tags, h_int / scale)
    if particles is not None:  # gmsh cannot mesh a sphere much coarser than its radius
        r_min = float(min(particles[1]))
        for name, tags in asm.interfaces.items():
            if "active" in name.split("|"):
                sizing.near(tags, min(h_int, r_min) / scale)
    # defect walls: h_interface, but fine enough to resolve the defect's own curvature
    caps = {
        "void": min([v["height"] for v in voids], default=h),
        "pore": min([p["radius"] for p in pores], default=h),
        "notch": min([max(d.tip[2], d.tip[1]) for d in lay.defects if d.tip], default=h),
    }
    for key, cap in caps.items():
        sizing.near(asm.facets.get(key, []), min(h_int, cap) / scale)
    for d in lay.defects:
        if d.tip is not None:
            centre, rho, h_t, slot3 = d.tip
            radius = (2 * rho + h_t) / scale
            c = centre / scale
            if slot3:
                lo = c - radius
                hi = c + radius
                lo[1], hi[1] = 0.0, lay.depth / scale
                sizing.box(lo, hi, h_t / scale)
            else:
                sizing.ball(c, radius, h_t / scale)
    sizing.apply()
