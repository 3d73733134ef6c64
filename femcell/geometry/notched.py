"""Electrolyte slab with surface flaws (notches) entering from the anode side."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ._assemble import Part, assemble
from ._common import (
    CELLS_PER_MEASURE,
    SIZE_SAFETY,
    CellCount,
    Sizing,
    check_length,
    choice,
    fail,
    generate,
    metadata,
    real,
    refined_size,
)
from ._shapes import add_box, add_notch, notch_frame

NAME = "notched_electrolyte"
_TOL = 1e-6  # model units


def _flaw(i: int, raw: object, width: float, thickness: float) -> dict:
    label = f"flaws[{i}]"
    if not isinstance(raw, Mapping):
        raise fail(NAME, label, raw, "must be a dict")
    known = {"x", "length", "opening", "tip_radius"}
    for k in raw:
        if k not in known:
            raise fail(NAME, f"{label}.{k}", raw[k], f"unknown key (known: {sorted(known)})")
    for k in ("x", "length", "tip_radius"):
        if k not in raw:
            raise fail(NAME, label, dict(raw), f"misses the key {k!r}")
    x = real(NAME, f"{label}.x", raw["x"])
    a = check_length(NAME, f"{label}.length", raw["length"])
    rho = check_length(NAME, f"{label}.tip_radius", raw["tip_radius"])
    w = (
        2 * rho
        if raw.get("opening") is None
        else check_length(NAME, f"{label}.opening", raw["opening"])
    )
    if w < 2 * rho * (1 - 1e-9):
        raise fail(NAME, f"{label}.opening", w, f"must be at least 2 tip_radius = {2 * rho!r} m")
    if rho >= a:
        raise fail(NAME, f"{label}.tip_radius", rho, f"must be less than the length {a!r} m")
    if a >= 0.98 * thickness:
        raise fail(NAME, f"{label}.length", a, f"must be less than the thickness {thickness!r} m")
    if x - w / 2 <= 0 or x + w / 2 >= width:
        raise fail(
            NAME, f"{label}.x", x, f"puts the mouth (opening {w!r} m) outside [0, {width!r}] m"
        )
    return {"x": x, "length": a, "opening": max(w, 2 * rho), "tip_radius": rho}


def _count_cells(dim, foot, thickness, depth, h, h_t, refine_length, specs) -> None:
    """Check the estimated cell count (the slab, the refined boxes ahead of the tips and the
    notch walls) against the limit before anything is built."""
    count = CellCount(NAME, dim, [*foot, thickness], float(np.prod(foot)) * thickness, h)
    span = depth if dim == 3 else 1.0
    t = SIZE_SAFETY[dim] * h_t
    wall = min(h, max(h_t, min(s["opening"] for s in specs)))
    for s in specs:
        a, rho = s["length"], s["tip_radius"]
        band = 2 * rho + h_t
        ahead = thickness - a if refine_length is None else refine_length
        tall = min(a + ahead, thickness) - (a - rho - band)
        if h_t < h:
            count.add("h_tip", h_t, CELLS_PER_MEASURE[dim] * 2 * band * tall * span / t**dim)
            count.near("h_tip", h_t, 2 * (2 * band + tall) * span)
        count.near("h_tip", wall, 2 * a * span)
    count.check()


def notched_electrolyte(
    *,
    dim: int = 2,
    width: float = 20e-6,
    thickness: float = 10e-6,
    depth: float | None = None,
    h: float | None = None,
    flaws=None,
    h_tip: float | None = None,
    refine_length: float | None = None,
    order: int = 1,
) -> dict:
    """An "electrolyte" slab [0, width] x [0, thickness] with notches from its bottom face.

    Each flaw is an empty notch entering along +y (+z in 3D) at x: straight walls opening
    ``opening`` wide at the mouth and tangent to a round tip of radius ``tip_radius`` whose
    apex is ``length`` from the mouth (``opening = 2 tip_radius``: a U-slot). In 3D the slab
    is [0, width] x [0, depth] x [0, thickness] and each notch is a through-depth slot.

    Args:
        dim: 2 or 3.
        width, thickness: slab size (m; default 20 and 10 um).
        depth: slab depth (m; 3D only, default width).
        h: target element size (m); default a tenth of the smaller of width and thickness.
        flaws: list of dicts {"x", "length", "tip_radius", "opening" (default 2 tip_radius)}
            (m); default one notch at the centre, a quarter of the thickness long.
        h_tip: element size (m, an upper bound) around each tip and along its expected
            crack path; default min(h, tip_radius / 2).
        refine_length: length (m) of the refined band ahead of each tip along the notch
            axis (the expected crack path); default: up to the top face.
        order: geometric order of the elements (1 or 2).

    Returns:
        Metadata with ``flaws`` (as built, with "apex" and "tip_center", m), ``volumes``,
        ``areas``. Cell group "electrolyte"; facets "anode_side" (bottom), "cathode_side"
        (top), "sides", "notch" (the notch walls).
    """
    dim = choice(NAME, "dim", dim, (2, 3))
    width = check_length(NAME, "width", width)
    thickness = check_length(NAME, "thickness", thickness)
    if dim == 2 and depth is not None:
        raise fail(NAME, "depth", depth, "is for dim=3 only")
    depth = width if depth is None else check_length(NAME, "depth", depth)
    foot = [width, depth][: dim - 1]
    h = check_length(NAME, "h", min(*foot, thickness) / 10 if h is None else h)
    if flaws is None:
        flaws = [{"x": width / 2, "length": thickness / 4, "tip_radius": thickness / 20}]
    if h > min(*foot, thickness):
        raise fail(NAME, "h", h, "must not exceed the width and the thickness")
    if not isinstance(flaws, Sequence) or isinstance(flaws, str) or not flaws:
        raise fail(NAME, "flaws", flaws, "must be a non-empty list of dicts")
    specs = [_flaw(i, f, width, thickness) for i, f in enumerate(flaws)]
    order_x = sorted(range(len(specs)), key=lambda i: specs[i]["x"])
    for i, j in zip(order_x, order_x[1:], strict=False):
        a, b = specs[i], specs[j]
        if a["x"] + a["opening"] / 2 >= b["x"] - b["opening"] / 2:
            raise fail(NAME, f"flaws[{j}].x", b["x"], f"overlaps flaws[{i}]")
    rho_min = min(s["tip_radius"] for s in specs)
    if h_tip is None:
        h_t = min(h, rho_min / 2)
    else:
        h_t = refined_size(NAME, "h_tip", h_tip, h)
    if refine_length is not None:
        refine_length = check_length(NAME, "refine_length", refine_length)
    order = choice(NAME, "order", order, (1, 2))
    _count_cells(dim, foot, thickness, depth, h, h_t, refine_length, specs)
    params = {
        "dim": dim,
        "width": width,
        "thickness": thickness,
        "h": h,
        "flaws": [dict(f) for f in flaws],
        "h_tip": h_t,
        "refine_length": refine_length,
        "order": order,
    }
    if dim == 3:
        params["depth"] = depth

    stack = dim - 1
    scale = max(*foot, thickness)
    ext = np.array([*foot, thickness]) / scale
    parts = [Part("layer", [add_box(dim, np.zeros(3), ext)], name="electrolyte")]
    meta = []
    for s in specs:
        mouth = np.zeros(3)
        mouth[0] = s["x"]
        frame = notch_frame(dim, mouth / scale, 0.0, +1)
        d3 = (-0.01 * depth / scale, 1.01 * depth / scale) if dim == 3 else None
        a, rho = s["length"], s["tip_radius"]
        tag = add_notch(
            dim, frame, a / scale, s["opening"] / scale, rho / scale, 0.1 * a / scale, d3
        )
        parts.append(Part("empty", [tag], facet="notch"))
        apex, centre = mouth.copy(), mouth.copy()
        apex[stack], centre[stack] = a, a - rho
        meta.append({**s, "apex": apex[:dim].tolist(), "tip_center": centre[:dim].tolist()})

    def outer(lo, hi):
        if hi[stack] < _TOL:
            return "anode_side"
        if lo[stack] > ext[stack] - _TOL:
            return "cathode_side"
        return "sides"

    asm = assemble(dim, parts, outer)
    asm.name_groups()
    sizing = Sizing(dim, h / scale)
    for s in specs:
        a, rho = s["length"], s["tip_radius"]
        band = 2 * rho + h_t
        ahead = thickness - a if refine_length is None else refine_length
        lo, hi = np.zeros(3), np.zeros(3)
        lo[0], hi[0] = s["x"] - band, s["x"] + band
        lo[stack], hi[stack] = a - rho - band, min(a + ahead, thickness)
        if dim == 3:
            lo[1], hi[1] = 0.0, depth
        sizing.box(lo / scale, hi / scale, h_t / scale)
    wall = min(h, max(h_t, min(s["opening"] for s in specs)))  # resolve the narrowest slot
    sizing.near(asm.facets.get("notch", []), wall / scale)
    sizing.apply()
    volumes, areas = asm.volumes(scale), asm.areas(scale)
    generate(dim, order, scale)
    return metadata(
        NAME,
        params,
        dim,
        dim,
        scale,
        coordinates="cartesian",
        volumes=volumes,
        areas=areas,
        flaws=meta,
    )
