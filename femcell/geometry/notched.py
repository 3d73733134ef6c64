"""Electrolyte slab with surface flaws (notches, semi-elliptical flaws, pores) at the anode side."""

from __future__ import annotations

import math
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
from ._shapes import add_ball, add_box, add_ellipsoid, add_notch, notch_frame

NAME = "notched_electrolyte"


SHAPES = ("notch", "pore", "semi_elliptical")
_KEYS = {
    "notch": {"x", "length", "opening", "tip_radius"},
    "pore": {"x", "y", "radius", "ligament"},
    "semi_elliptical": {"x", "y", "length", "surface_length", "opening"},
}
_REQUIRED = {
    "notch": ("x", "length", "tip_radius"),
    "pore": ("x", "radius", "ligament"),
    "semi_elliptical": ("x", "length", "surface_length", "opening"),
}


def _flaw(i: int, raw: object, dim: int, width: float, depth: float, thickness: float) -> dict:
    """One validated flaw spec (m) with its footprint half-widths ``half`` (x, and y in 3D),
    the extent ``top`` of the flaw along the stacking axis, and the radius ``rho`` of its
    sharpest (deepest) point."""
    label = f"flaws[{i}]"
    if not isinstance(raw, Mapping):
        raise fail(NAME, label, raw, "must be a dict")
    shape = raw.get("shape", "notch")
    if shape not in SHAPES:
        raise fail(NAME, f"{label}.shape", shape, f"must be one of {list(SHAPES)}")
    if shape == "semi_elliptical" and dim != 3:
        raise fail(NAME, f"{label}.shape", shape, "needs dim=3 (its 2D section is a notch)")
    known = _KEYS[shape] | {"shape"}
    for k in raw:
        if k not in known:
            raise fail(
                NAME, f"{label}.{k}", raw[k], f"unknown key for a {shape} (known: {sorted(known)})"
            )
    for k in _REQUIRED[shape]:
        if k not in raw:
            raise fail(NAME, label, dict(raw), f"misses the key {k!r} (a {shape})")
    x = real(NAME, f"{label}.x", raw["x"])
    y = depth / 2
    if dim == 3 and raw.get("y") is not None:
        y = real(NAME, f"{label}.y", raw["y"])
    elif dim == 2 and raw.get("y") is not None:
        raise fail(NAME, f"{label}.y", raw["y"], "is for dim=3 only")
    out = {"shape": shape, "x": x}
    if shape == "notch":
        a = check_length(NAME, f"{label}.length", raw["length"])
        rho = check_length(NAME, f"{label}.tip_radius", raw["tip_radius"])
        w = (
            2 * rho
            if raw.get("opening") is None
            else check_length(NAME, f"{label}.opening", raw["opening"])
        )
        if w < 2 * rho * (1 - 1e-9):
            raise fail(
                NAME, f"{label}.opening", w, f"must be at least 2 tip_radius = {2 * rho!r} m"
            )
        if rho >= a:
            raise fail(NAME, f"{label}.tip_radius", rho, f"must be less than the length {a!r} m")
        w = max(w, 2 * rho)
        out.update(
            length=a,
            opening=w,
            tip_radius=rho,
            half=(w / 2, depth / 2),
            top=a,
            rho=rho,
            y=y,
            through=True,
        )
    elif shape == "pore":
        r = check_length(NAME, f"{label}.radius", raw["radius"])
        lig = check_length(NAME, f"{label}.ligament", raw["ligament"])
        a = lig + 2 * r
        out.update(radius=r, ligament=lig, half=(r, r), top=a, rho=r, y=y, through=False)
    else:
        a = check_length(NAME, f"{label}.length", raw["length"])
        c = check_length(NAME, f"{label}.surface_length", raw["surface_length"]) / 2
        w = check_length(NAME, f"{label}.opening", raw["opening"])
        if w / 2 >= min(a, c):
            raise fail(
                NAME,
                f"{label}.opening",
                w,
                f"must be less than 2 min(length, surface_length / 2) = "
                f"{2 * min(a, c)!r} m (a flat, crack-like flaw)",
            )
        out.update(
            length=a,
            surface_length=2 * c,
            opening=w,
            half=(w / 2, c),
            top=a,
            rho=(w / 2) ** 2 / a,
            y=y,
            through=False,
        )
    if out["top"] >= 0.98 * thickness:
        key = "ligament" if shape == "pore" else "length"
        raise fail(
            NAME,
            f"{label}.{key}",
            raw[key],
            f"puts the flaw through (or within 2 % of) the thickness {thickness!r} m",
        )
    hx, hy = out["half"]
    if x - hx <= 0 or x + hx >= width:
        raise fail(
            NAME, f"{label}.x", x, f"puts the flaw (half width {hx!r} m) outside [0, {width!r}] m"
        )
    if dim == 3 and not out["through"] and (y - hy <= 0 or y + hy >= depth):
        raise fail(
            NAME, f"{label}.y", y, f"puts the flaw (half length {hy!r} m) outside [0, {depth!r}] m"
        )
    return out


def _refine_box(
    s: dict, dim: int, depth: float, thickness: float, h_t: float, refine_length: float | None
):
    """(lo, hi) (m, 3 components) of the box meshed at h_tip around a flaw and along its
    expected crack path: from the flaw's deepest point ``refine_length`` further (default: to
    the top face), across the flaw's footprint plus a band."""
    band = 2 * s["rho"] + h_t if s["shape"] == "notch" else h_t + 0.25 * s["half"][0]
    ahead = thickness - s["top"] if refine_length is None else refine_length
    stack = dim - 1
    lo, hi = np.zeros(3), np.zeros(3)
    across = band if s["shape"] == "notch" else s["half"][0] + band
    lo[0], hi[0] = s["x"] - across, s["x"] + across
    if s["shape"] == "notch":
        lo[stack] = s["length"] - s["rho"] - band
    hi[stack] = min(s["top"] + ahead, thickness)
    if dim == 3:
        if s["through"]:
            lo[1], hi[1] = 0.0, depth
        else:
            reach = s["half"][1] + band + (ahead if s["shape"] == "semi_elliptical" else 0.0)
            lo[1], hi[1] = max(s["y"] - reach, 0.0), min(s["y"] + reach, depth)
    return lo, hi


def _wall_size(h: float, h_t: float, specs: list[dict]) -> float:
    """Element size (m) on the flaw walls: resolves the narrowest opening or pore."""
    narrow = min(s["opening"] if "opening" in s else s["radius"] / 2 for s in specs)
    return min(h, max(h_t, narrow))


def _count_cells(dim, foot, thickness, depth, h, h_t, refine_length, specs) -> None:
    """Check the estimated cell count (the slab, the refined boxes around the flaws and their
    walls) against the limit before anything is built."""
    count = CellCount(NAME, dim, [*foot, thickness], float(np.prod(foot)) * thickness, h)
    span = depth if dim == 3 else 1.0
    t = SIZE_SAFETY[dim] * h_t
    wall = _wall_size(h, h_t, specs)
    for s in specs:
        lo, hi = _refine_box(s, dim, depth, thickness, h_t, refine_length)
        ext = (hi - lo)[:dim]
        if h_t < h:
            count.add("h_tip", h_t, CELLS_PER_MEASURE[dim] * float(np.prod(ext)) / t**dim)
            count.near("h_tip", h_t, 2 * float(np.sum(np.prod(ext) / ext)))
        if s["shape"] == "notch":
            count.near("h_tip", wall, 2 * s["length"] * span)
        elif s["shape"] == "pore":
            r = s["radius"]
            count.near("h_tip", wall, 2 * math.pi * r if dim == 2 else 4 * math.pi * r**2)
        else:
            count.near("h_tip", wall, 2 * math.pi * s["length"] * s["surface_length"] / 2)
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
    """An "electrolyte" slab [0, width] x [0, thickness] with surface flaws at its bottom face.

    Flaw shapes (``shape``, default "notch"), all entering along +y (+z in 3D):

    * "notch": straight walls opening ``opening`` wide at the mouth and tangent to a round
      tip of radius ``tip_radius`` whose apex is ``length`` from the mouth (``opening = 2
      tip_radius``: a U-slot); in 3D a through-depth slot. Walls: facets "notch".
    * "semi_elliptical" (3D only): half an ellipsoid cut by the bottom face, ``length`` deep,
      ``surface_length`` long at the surface (along y) and ``opening`` wide (along x): the
      classic surface flaw of fracture mechanics (Newman-Raju). Walls: facets "notch".
    * "pore": a disk (2D) or sphere (3D) of ``radius`` below the surface, separated from it
      by a ligament ``ligament`` thick. Walls: facets "pore".

    Args:
        dim: 2 or 3.
        width, thickness: slab size (m; default 20 and 10 um).
        depth: slab depth (m; 3D only, default width).
        h: target element size (m); default a tenth of the smaller of width and thickness.
        flaws: list of dicts (m): notch {"x", "length", "tip_radius", "opening" (default 2
            tip_radius)}; semi_elliptical {"x", "y" (default depth / 2), "length",
            "surface_length", "opening"}; pore {"x", "y" (3D, default depth / 2), "radius",
            "ligament"}; each with "shape". Default: one notch at the centre, a quarter of
            the thickness long.
        h_tip: element size (m, an upper bound) around each flaw and along its expected
            crack path; default min(h, half the sharpest feature: tip_radius, opening / 2 of
            a semi-elliptical flaw, radius / 2 of a pore).
        refine_length: length (m) of the refined band beyond each flaw's deepest point (the
            expected crack path); default: up to the top face.
        order: geometric order of the elements (1 or 2).

    Returns:
        Metadata with ``flaws`` (as built: "shape", the inputs, "apex" (the deepest point of a
        notch or semi-elliptical flaw, the point of a pore nearest the surface), "tip_center",
        "size" (the Griffith flaw size a: the length, or for a pore ligament + 2 radius), m),
        ``volumes``, ``areas``. Cell group "electrolyte"; facets "anode_side" (bottom),
        "cathode_side" (top), "sides", and "notch" and/or "pore" (the flaw walls).
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
    specs = [_flaw(i, f, dim, width, depth, thickness) for i, f in enumerate(flaws)]

    def footprint(sp):
        (hx, hy), y = sp["half"], sp["y"]
        return (sp["x"] - hx, sp["x"] + hx), (
            (0.0, depth) if sp["through"] or dim == 2 else (y - hy, y + hy)
        )

    for j in range(len(specs)):
        for i in range(j):
            (ax, ay), (bx, by) = footprint(specs[i]), footprint(specs[j])
            if ax[0] < bx[1] and bx[0] < ax[1] and ay[0] < by[1] and by[0] < ay[1]:
                raise fail(NAME, f"flaws[{j}].x", specs[j]["x"], f"overlaps flaws[{i}]")
    feature = min(
        s["rho"]
        if s["shape"] == "notch"
        else (s["opening"] / 2 if s["shape"] == "semi_elliptical" else s["radius"] / 2)
        for s in specs
    )
    if h_tip is None:
        h_t = min(h, feature / 2)
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
    keep = (
        "shape",
        "x",
        "y",
        "length",
        "opening",
        "tip_radius",
        "surface_length",
        "radius",
        "ligament",
    )
    for s in specs:
        built = {k: s[k] for k in keep if k in s and not (k == "y" and dim == 2)}
        if s["shape"] == "notch":
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
            if dim == 3:
                built.pop("y", None)
        elif s["shape"] == "pore":
            r = s["radius"]
            centre = np.array([s["x"], s["y"], 0.0]) if dim == 3 else np.array([s["x"], 0, 0.0])
            centre[stack] = s["ligament"] + r
            parts.append(Part("empty", [add_ball(dim, centre / scale, r / scale)], facet="pore"))
            apex = centre.copy()
            apex[stack] = s["ligament"]
        else:
            a = s["length"]
            centre = np.array([s["x"], s["y"], 0.0])
            half = np.array([s["opening"] / 2, s["surface_length"] / 2, a])
            parts.append(
                Part("empty", [add_ellipsoid(centre / scale, half / scale)], facet="notch")
            )
            apex = centre.copy()
            apex[stack] = a
            centre = apex.copy()
            centre[stack] = a - s["rho"]
        meta.append(
            {
                **built,
                "size": s["top"],
                "apex": apex[:dim].tolist(),
                "tip_center": centre[:dim].tolist(),
            }
        )

    def outer(lo, hi):
        # by the midpoint: OCC inflates the bounding box of a planar face trimmed by a
        # curved flaw (the bottom face around a semi-elliptical flaw), and every side face
        # spans the whole thickness
        mid = 0.5 * (lo[stack] + hi[stack])
        if mid < 0.25 * ext[stack]:
            return "anode_side"
        if mid > 0.75 * ext[stack]:
            return "cathode_side"
        return "sides"

    asm = assemble(dim, parts, outer)
    asm.name_groups()
    sizing = Sizing(dim, h / scale)
    for s in specs:
        lo, hi = _refine_box(s, dim, depth, thickness, h_t, refine_length)
        sizing.box(lo / scale, hi / scale, h_t / scale)
    wall = _wall_size(h, h_t, specs)  # resolve the narrowest slot or pore
    sizing.near(asm.facets.get("notch", []) + asm.facets.get("pore", []), wall / scale)
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
