"""Interface defects of ``symmetric_cell``: voids, notches (flaws) and pores.

Each parser validates its parameter (lengths in m), adds the defects to the ``Layout`` (which
refuses overlaps) with a function that builds their OCC shape in model units, and returns
the metadata of the defects as built.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import gmsh
import numpy as np

from ._assemble import Part
from ._cell_layout import (
    MAX_PORES,
    NAME,
    Defect,
    Layout,
    as_list,
    coords,
    overlaps,
    spec_of,
)
from ._common import check_length, fail, integer, options, real
from ._shapes import add_ball, add_box, add_lens, add_notch, notch_extent, notch_frame


def parse_voids(lay: Layout, voids) -> list[dict]:
    """Gaps in the metal at an interface: half-ellipse/half-spheroid lenses or boxes.

    Args:
        lay: the cell; the voids join its defects.
        voids: the ``voids`` parameter of ``symmetric_cell`` (lengths in m).

    Returns:
        Per void: interface, center (m), shape ("lens" or "box"), half_widths (m), height (m).
    """
    dim = lay.dim
    void_meta = []
    for i, raw in enumerate(as_list("voids", voids)):
        label = f"voids[{i}]"
        spec = spec_of(label, raw, ("interface", "center", "footprint", "height"), {})
        side = lay.side_of(label, spec)
        c = coords(f"{label}.center", spec["center"], dim - 1)
        fp = spec["footprint"]
        if isinstance(fp, Sequence | np.ndarray):
            half = (
                np.array(
                    [check_length(NAME, f"{label}.footprint[{k}]", v) for k, v in enumerate(fp)]
                )
                / 2
            )
            if len(half) != dim - 1:
                raise fail(
                    NAME,
                    f"{label}.footprint",
                    fp,
                    f"must have {dim - 1} side length(s) (or be a radius)",
                )
            lens = False
        else:
            half = np.full(dim - 1, check_length(NAME, f"{label}.footprint", fp))
            lens = True
        hv = check_length(NAME, f"{label}.height", spec["height"])
        if hv >= side.t_metal:
            raise fail(
                NAME,
                f"{label}.height",
                hv,
                f"must be less than the {side.metal} thickness {side.t_metal!r} m",
            )
        lay.inside_footprint(f"{label}.center", spec["center"], c - half, c + half)
        s0 = side.plane - hv if side.metal_dir < 0 else side.plane  # the void's bottom

        def build(scale, c=c, half=half, hv=hv, lens=lens, side=side, s0=s0):
            if lens:
                centre = np.array([*c, side.plane, 0.0][:3]) / scale
                tag = add_lens(dim, centre, half[0] / scale, hv / scale)
                lo = np.array([*(c - 2 * half), s0, 0.0][:3]) / scale
                size = np.array([*(4 * half), hv, 0.0][:3]) / scale
                out, _ = gmsh.model.occ.intersect([(dim, tag)], [(dim, add_box(dim, lo, size))])
                tag = out[0][1]
            else:
                lo = np.array([*(c - half), s0, 0.0][:3]) / scale
                size = np.array([*(2 * half), hv, 0.0][:3]) / scale
                tag = add_box(dim, lo, size)
            return Part("empty", [tag], within=frozenset({side.metal}), facet="void")

        lay.add_defect(
            Defect(
                label,
                side.key,
                *lay.box(c - half, c + half, s0, s0 + hv),
                build,
                value=spec["center"],
            )
        )
        void_meta.append(
            {
                "interface": side.key,
                "center": c.tolist(),
                "shape": "lens" if lens else "box",
                "half_widths": half.tolist(),
                "height": hv,
            }
        )
    return void_meta


def parse_flaws(lay: Layout, flaws, h_int: float, h_tip: float | None) -> list[dict]:
    """Notches with a round tip entering the electrolyte from its face on one side.

    Args:
        lay: the cell; the notches join its defects.
        flaws: the ``flaws`` parameter of ``symmetric_cell`` (lengths in m).
        h_int: element size at interfaces (m).
        h_tip: element size around notch tips (m); None: min(h_int, tip_radius / 2).

    Returns:
        Per notch: interface, mouth, apex, tip_center (m), length, tip_radius (m),
        angle_deg, fill, shape ("slot" or "needle").
    """
    dim, stack, depth = lay.dim, lay.axis, lay.depth
    width, t_e, y_eb = lay.width, lay.t_e, lay.y_eb
    flaw_meta = []
    for i, raw in enumerate(as_list("flaws", flaws)):
        label = f"flaws[{i}]"
        spec = spec_of(
            label,
            raw,
            ("interface", "x", "length", "tip_radius"),
            {"angle_deg": 0.0, "fill": "void", "y": None},
        )
        side = lay.side_of(label, spec)
        x0 = real(NAME, f"{label}.x", spec["x"])
        y0 = None
        if spec["y"] is not None:
            if dim == 2:
                raise fail(NAME, f"{label}.y", spec["y"], "is for dim=3 only")
            y0 = real(NAME, f"{label}.y", spec["y"])
        a = check_length(NAME, f"{label}.length", spec["length"])
        rho = check_length(NAME, f"{label}.tip_radius", spec["tip_radius"])
        if rho >= a:
            raise fail(NAME, f"{label}.tip_radius", rho, f"must be less than the length {a!r} m")
        angle_deg = real(NAME, f"{label}.angle_deg", spec["angle_deg"])
        if abs(angle_deg) > 75:
            raise fail(NAME, f"{label}.angle_deg", angle_deg, "must be within [-75, 75]")
        theta = math.radians(angle_deg)
        fill = options(NAME, f"{label}.fill", spec["fill"], ("void", side.neighbour))
        reach = (a - rho) * math.cos(theta) + rho
        if reach >= 0.98 * t_e:
            raise fail(
                NAME,
                f"{label}.length",
                a,
                f"reaches {reach!r} m into the electrolyte: "
                f"longer than the electrolyte thickness {t_e!r} m",
            )
        ext = rho * abs(math.tan(theta)) + 0.1 * rho
        mouth = np.zeros(3)
        mouth[0], mouth[stack] = x0, side.face
        if dim == 3:
            mouth[1] = 0.0 if y0 is None else y0
        slot = None if (dim == 3 and y0 is not None) else ((0.0, depth) if dim == 3 else None)
        lo, hi = notch_extent(
            dim, mouth, theta, side.face_dir, a, 2 * rho, rho, 0.0, slot if dim == 3 else None
        )
        if dim == 3 and y0 is None:
            lo_f, hi_f = lo[:1], hi[:1]
        else:
            lo_f, hi_f = lo[: dim - 1], hi[: dim - 1]
        lay.inside_footprint(f"{label}.x", x0, lo_f, hi_f)
        along = notch_frame(dim, mouth, theta, side.face_dir)[2]
        tip = mouth + (a - rho) * along
        h_t = h_tip if h_tip is not None else min(h_int, rho / 2)

        def build(
            scale, mouth=mouth, theta=theta, side=side, a=a, rho=rho, ext=ext, y0=y0, fill=fill
        ):
            frame = notch_frame(dim, mouth / scale, theta, side.face_dir)
            d3 = None
            if dim == 3 and y0 is None:
                d3 = (-0.01 * depth / scale, 1.01 * depth / scale)
            tag = add_notch(dim, frame, a / scale, 2 * rho / scale, rho / scale, ext / scale, d3)
            e_lo = np.zeros(3)
            e_lo[stack] = y_eb / scale
            e_size = np.array([width, depth, 0.0]) / scale
            e_size[stack] = t_e / scale
            out, _ = gmsh.model.occ.intersect([(dim, tag)], [(dim, add_box(dim, e_lo, e_size))])
            tags = [t for _, t in out]
            if fill == "void":
                return Part("empty", tags, within=frozenset({"electrolyte"}), facet="notch")
            return Part("fill", tags, name=fill, within=frozenset({"electrolyte"}), facet="notch")

        slot3 = dim == 3 and y0 is None
        lay.add_defect(Defect(label, side.key, lo, hi, build, x0, (tip, rho, h_t, slot3)))
        flaw_meta.append(
            {
                "interface": side.key,
                "mouth": mouth[:dim].tolist(),
                "apex": (mouth + a * along)[:dim].tolist(),
                "tip_center": tip[:dim].tolist(),
                "length": a,
                "tip_radius": rho,
                "angle_deg": angle_deg,
                "fill": fill,
                "shape": "needle" if (dim == 3 and y0 is not None) else "slot",
            }
        )
    return flaw_meta


def parse_pores(lay: Layout, pores, seed: int) -> list[dict]:
    """Spherical (circular) pores centred on an interface plane, given or drawn at random.

    Args:
        lay: the cell; the pores join its defects.
        pores: the ``pores`` parameter of ``symmetric_cell`` (lengths in m).
        seed: default seed of the random centres.

    Returns:
        Per pore: interface, center (m, on the plane), radius (m).
    """
    pore_meta = []
    for i, raw in enumerate(as_list("pores", pores)):
        label = f"pores[{i}]"
        spec = spec_of(
            label, raw, ("interface", "radius"), {"count": None, "seed": seed, "centers": None}
        )
        side = lay.side_of(label, spec)
        r = check_length(NAME, f"{label}.radius", spec["radius"])
        if r >= 0.95 * min(side.t_metal, side.t_other):
            raise fail(
                NAME,
                f"{label}.radius",
                r,
                f"must be less than the {side.metal} and "
                f"{side.other} thicknesses ({side.t_metal!r}, {side.t_other!r} m)",
            )
        if spec["centers"] is None:
            centres = _random_centres(lay, label, spec, side, r)
        else:
            centres = _given_centres(lay, label, spec["centers"], r)
        for k, c in enumerate(centres):
            lay.add_defect(
                Defect(
                    f"{label}.centers[{k}]",
                    side.key,
                    *lay.box(c - r, c + r, side.plane - r, side.plane + r),
                    _pore_builder(lay.dim, c, r, side),
                    c.tolist(),
                )
            )
            pore_meta.append(
                {"interface": side.key, "center": [*c.tolist(), side.plane], "radius": r}
            )
    return pore_meta


def _pore_builder(dim, c, r, side):
    """scale -> the pore's Part (a ball cut from both layers at the interface)."""

    def build(scale):
        centre = np.array([*c, side.plane, 0.0][:3]) / scale
        return Part(
            "empty",
            [add_ball(dim, centre, r / scale)],
            within=frozenset({side.metal, side.other}),
            facet="pore",
        )

    return build


def _random_centres(lay: Layout, label: str, spec: dict, side, r: float) -> list[np.ndarray]:
    """``count`` footprint centres (m) keeping 0.1 r to each other, the walls and defects."""
    dim, foot = lay.dim, lay.foot
    if spec["count"] is None:
        raise fail(NAME, label, dict(spec), "needs 'count' or 'centers'")
    count = integer(NAME, f"{label}.count", spec["count"], 1)
    if count > MAX_PORES:
        raise fail(NAME, f"{label}.count", count, f"must be at most {MAX_PORES}")
    pseed = integer(NAME, f"{label}.seed", spec["seed"], 0)
    rng = np.random.default_rng(pseed)
    placed, tries = [], 0
    gap = 0.1 * r
    lo_c, hi_c = np.full(dim - 1, r + gap), foot - r - gap
    if np.any(lo_c >= hi_c):
        raise fail(NAME, f"{label}.radius", r, f"too large for the footprint {foot.tolist()} m")
    while len(placed) < count and tries < 500 * count:
        tries += 1
        c = lo_c + rng.uniform(0, 1, dim - 1) * (hi_c - lo_c)
        if any(np.linalg.norm(c - q) < 2 * r + gap for q in placed):
            continue
        trial = Defect(
            label, side.key, *lay.box(c - r, c + r, side.plane - r, side.plane + r), None
        )
        if any(overlaps(trial, d) for d in lay.defects):
            continue
        placed.append(c)
    if len(placed) < count:
        raise fail(
            NAME,
            f"{label}.count",
            count,
            f"pores of radius {r!r} m cannot be placed without overlap (placed {len(placed)})",
        )
    return placed


def _given_centres(lay: Layout, label: str, raw_c, r: float) -> list[np.ndarray]:
    """The ``centers`` of a pores entry (m), inside the footprint and apart (2.1 r)."""
    if not isinstance(raw_c, Sequence) or not raw_c or len(raw_c) > MAX_PORES:
        raise fail(NAME, f"{label}.centers", raw_c, f"must be a list of 1 to {MAX_PORES} points")
    centres = [coords(f"{label}.centers[{k}]", c, lay.dim - 1) for k, c in enumerate(raw_c)]
    for k, c in enumerate(centres):
        lay.inside_footprint(f"{label}.centers[{k}]", c.tolist(), c - r, c + r)
        for m in range(k):
            if np.linalg.norm(c - centres[m]) < 2.1 * r:
                raise fail(
                    NAME,
                    f"{label}.centers[{k}]",
                    c.tolist(),
                    f"overlaps (or nearly touches) pore centers[{m}]",
                )
    return centres
