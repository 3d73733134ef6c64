"""Symmetric (or full) cell: anode | [interlayer] | electrolyte | cathode, with interface
defects (pores, voids, notches, roughness), electrolyte grains and a composite cathode.

Layers stack along the last axis (y in 2D, z in 3D) from the anode current collector at 0.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import gmsh
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
    integer,
    metadata,
    options,
    real,
    refined_size,
)
from ._shapes import add_ball, add_box, add_lens, add_notch, notch_extent, notch_frame
from ._voronoi import orientations, seeds_in_box, voronoi_cells
from .cathode import (
    check_packing_params,
    pack,
    particle_metadata,
    particle_parts,
    particle_surface,
)

NAME = "symmetric_cell"
_TOL = 1e-6  # model units
MAX_GRAINS = 2000
MAX_PORES = 200  # per pores entry


@dataclass
class _Side:
    """One of the two metal interfaces ("anode" or "cathode")."""

    key: str
    plane: float  # stack coordinate of the metal's face (m)
    metal: str  # metal layer id
    metal_dir: int  # -1: the metal is below the plane, +1: above
    other: str  # layer on the other side of the plane
    t_metal: float
    t_other: float
    face: float  # stack coordinate of the electrolyte face on this side (m)
    face_dir: int  # +1: notches enter the electrolyte upwards, -1: downwards
    neighbour: str  # layer across the electrolyte face (a notch "fill")
    t_neighbour: float


@dataclass
class _Defect:
    label: str
    side: str
    lo: np.ndarray  # bounding box (m), dim components
    hi: np.ndarray
    build: object  # scale -> Part
    value: object = None  # the parameter value named in overlap messages
    tip: tuple | None = None  # (centre (m), radius (m), h_tip (m), slot: bool)


def _spec(label: str, value: object, required: Sequence[str], optional: Mapping) -> dict:
    """A defect/option dict with its required keys, defaults for the optional ones."""
    if not isinstance(value, Mapping):
        raise fail(NAME, label, value, "must be a dict")
    known = set(required) | set(optional)
    for k in value:
        if k not in known:
            raise fail(NAME, f"{label}.{k}", value[k], f"unknown key (known: {sorted(known)})")
    for k in required:
        if k not in value:
            raise fail(NAME, label, dict(value), f"misses the key {k!r}")
    return {**optional, **value}


def _as_list(label: str, value: object) -> list:
    if value is None:
        return []
    if isinstance(value, Mapping):
        return [value]
    if isinstance(value, Sequence) and not isinstance(value, str):
        return list(value)
    raise fail(NAME, label, value, "must be a dict or a list of dicts")


def _coords(label: str, value: object, n: int) -> np.ndarray:
    if n == 1 and not isinstance(value, Sequence | np.ndarray):
        value = [value]
    try:
        xy = np.array([float(v) for v in value])  # type: ignore[union-attr]
    except (TypeError, ValueError):
        raise fail(NAME, label, value, "must be a sequence of coordinates") from None
    if len(xy) != n or not np.all(np.isfinite(xy)):
        raise fail(NAME, label, value, f"must have {n} finite footprint coordinate(s)")
    return xy


def _overlaps(a: _Defect, b: _Defect) -> bool:
    return bool(np.all(a.lo <= b.hi) and np.all(b.lo <= a.hi))


def _gaussian_field(shape, spacing, corr: float, rms: float, seed: int) -> np.ndarray:
    """Periodic Gaussian random field on a grid, correlation exp(-r^2 / corr^2), exact rms."""
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal(shape)
    freqs = (2 * np.pi * np.fft.fftfreq(n, d) for n, d in zip(shape, spacing, strict=True))
    ks = np.meshgrid(*freqs, indexing="ij")
    k2 = sum(k**2 for k in ks)
    field = np.real(np.fft.ifftn(np.fft.fftn(noise) * np.exp(-k2 * corr**2 / 8)))
    field -= field.mean()
    return field * (rms / field.std())


def symmetric_cell(
    *,
    dim: int = 2,
    width: float = 100e-6,
    electrolyte_thickness: float = 100e-6,
    anode_thickness: float = 20e-6,
    cathode_thickness: float = 20e-6,
    interlayer_thickness: float = 0.0,
    depth: float | None = None,
    h: float | None = None,
    h_interface: float | None = None,
    h_tip: float | None = None,
    pores=None,
    voids=None,
    flaws=None,
    roughness=None,
    grains=None,
    seed: int = 0,
    cathode: str = "metal",
    composite=None,
    order: int = 1,
) -> dict:
    """Stack anode | [interlayer] | electrolyte | cathode along the last axis.

    The anode occupies [0, ta], the optional interlayer [ta, ta + ti], the electrolyte the
    next ``electrolyte_thickness`` and the cathode (a metal or a composite of active
    particles in electrolyte, see ``composite_cathode``) the top ``cathode_thickness``. The
    footprint is [0, width] (x [0, depth] in 3D). Defects sit on the "anode" interface
    (the anode's top face) or the "cathode" interface (the metal cathode's bottom face).

    Args:
        dim: 2 or 3.
        width, depth: footprint (m, default 100 um); depth (3D only) defaults to width.
        electrolyte_thickness, anode_thickness, cathode_thickness: layer thicknesses (m;
            defaults 100, 20 and 20 um).
        interlayer_thickness: optional interlayer between anode and electrolyte (m).
        h: target element size (m); default a tenth of the thinnest layer or the width.
        h_interface: element size (m, an upper bound) at material interfaces and defect
            walls; default h (no refinement). Walls of pores, voids and notches get at most
            the smallest pore radius, void height and max(h_tip, tip radius), respectively.
        h_tip: element size (m, an upper bound) around notch tips; default
            min(h_interface, tip_radius / 2).
        pores: dict or list of dicts {"interface", "radius", "count", "seed"} or
            {"interface", "radius", "centers": [[x(, y)], ...]}: spherical (circular) pores
            centred on the interface plane, empty space cut from both neighbours; random
            centres are drawn with ``default_rng(seed)`` (default: ``seed``) keeping a gap of
            0.1 radius to each other, the walls and other defects. Walls: facets "pore".
        voids: list of dicts {"interface", "center": [x(, y)], "footprint", "height"}: a gap
            in the metal at the interface, a half-ellipse/half-spheroid lens (footprint =
            radius) or a box (footprint = [w] in 2D, [w, d] in 3D) of the given height.
            Walls (including the electrolyte face above it): facets "void".
        flaws: list of dicts {"interface", "x", ("y",) "length", "tip_radius", "angle_deg"=0,
            "fill"="void"}: a notch of width 2 tip_radius with a round tip entering the
            electrolyte from its face on that side, tilted by angle_deg in the x-stack plane.
            2D: a slot; 3D: a through-depth slot, or a needle (cylinder) at (x, y) when "y"
            is given. fill: "void" (empty) or the layer across the electrolyte face (e.g.
            "anode": a Li-filled notch, part of the anode). Walls: facets "notch".
        roughness: dict or list of dicts {"interface", "rms", "correlation_length", "seed"}:
            the interface becomes z = plane + f(x(, y)), f a periodic Gaussian random field
            (correlation exp(-r^2 / lc^2), exact rms on the sampling grid) through a spline
            (2D) or a B-spline surface (3D, which smooths it slightly). Cannot share an
            interface with pores, voids or flaws.
        grains: {"mean_size", "seed"}: Voronoi grains "electrolyte.grain_<k>" fill the
            electrolyte layer (about volume / mean_size^dim of them); internal facets
            "grain_boundary"; orientations as in ``polycrystal``.
        seed: default seed (>= 0) of pores, roughness, grains and composite.
        cathode: "metal" or "composite".
        composite: for cathode="composite": {"volume_fraction", "radius_mean", "radius_std"=0,
            "seed", "min_gap"} as in ``composite_cathode`` (the cathode layer is the
            particle-filled box; its matrix is "electrolyte", or "electrolyte.matrix" with
            grains).
        order: geometric order of the elements (1 or 2).

    Returns:
        Metadata with ``layers`` (id -> [bottom, top], m), ``volumes`` (cell group and
        region -> OCC volume, m^3 or m^2), ``areas`` (facet group and interface "a|b" ->
        OCC area), ``interfaces``, ``pores``/``voids``/``flaws`` (as built, m), ``roughness``,
        and with grains ``grains``, ``orientations``, ``grain_volumes``, ``seeds``; with a
        composite cathode ``particles`` and ``volume_fraction``. Cell groups: "anode",
        "interlayer", "electrolyte" (or its grains), "cathode" or "active.particle_<k>";
        facets: "anode_cc" (bottom), "cathode_cc" (top), "sides", and "pore", "void",
        "notch", "grain_boundary" when present.
    """
    dim = choice(NAME, "dim", dim, (2, 3))
    width = check_length(NAME, "width", width)
    if dim == 2 and depth is not None:
        raise fail(NAME, "depth", depth, "is for dim=3 only")
    depth = width if depth is None else check_length(NAME, "depth", depth)
    t_e = check_length(NAME, "electrolyte_thickness", electrolyte_thickness)
    t_a = check_length(NAME, "anode_thickness", anode_thickness)
    t_c = check_length(NAME, "cathode_thickness", cathode_thickness)
    t_i = check_length(NAME, "interlayer_thickness", interlayer_thickness, zero=True)
    seed = integer(NAME, "seed", seed, 0)
    cathode = options(NAME, "cathode", cathode, ("metal", "composite"))
    order = choice(NAME, "order", order, (1, 2))
    foot = np.array([width, depth][: dim - 1])
    top = t_a + t_i + t_e + t_c
    if h is None:  # default: a tenth of the thinnest layer or the footprint
        h = min(*foot, t_e, t_a, t_c, *([t_i] if t_i > 0 else [])) / 10
    h = check_length(NAME, "h", h)
    if h > min(*foot, top):
        raise fail(NAME, "h", h, f"must not exceed the width and total thickness {top!r} m")
    h_int = refined_size(NAME, "h_interface", h_interface, h)
    h_tip_given = None if h_tip is None else refined_size(NAME, "h_tip", h_tip, h)

    y_eb = t_a + t_i
    y_et = y_eb + t_e
    layers = {"anode": (0.0, t_a)}
    if t_i > 0:
        layers["interlayer"] = (t_a, y_eb)
    layers["electrolyte"] = (y_eb, y_et)
    metal_cathode = "cathode" if cathode == "metal" else "composite"
    layers[metal_cathode] = (y_et, top)
    below_e = "interlayer" if t_i > 0 else "anode"
    above_a = "interlayer" if t_i > 0 else "electrolyte"
    sides = {
        "anode": _Side(
            "anode", t_a, "anode", -1, above_a, t_a, t_i or t_e, y_eb, +1, below_e, t_i or t_a
        ),
        "cathode": _Side(
            "cathode", y_et, "cathode", +1, "electrolyte", t_c, t_e, y_et, -1, "cathode", t_c
        ),
    }

    def side_of(label, spec):
        key = options(NAME, f"{label}.interface", spec["interface"], ("anode", "cathode"))
        if key == "cathode" and cathode == "composite":
            raise fail(NAME, f"{label}.interface", key, "needs cathode='metal'")
        return sides[key]

    stack = dim - 1
    defects: list[_Defect] = []

    def box_of(lo_f, hi_f, lo_s, hi_s):
        return np.array([*lo_f, lo_s]), np.array([*hi_f, hi_s])

    def inside_footprint(label, value, lo_f, hi_f):
        if np.any(lo_f <= 0) or np.any(hi_f >= foot):
            raise fail(
                NAME,
                label,
                value,
                f"puts the defect outside the footprint {foot.tolist()}"
                " m (it must not touch the side walls)",
            )

    def add_defect(d: _Defect):
        for other in defects:
            if _overlaps(d, other):
                raise fail(
                    NAME,
                    d.label,
                    d.value,
                    f"overlaps {other.label} (bounding boxes "
                    f"{d.lo.tolist()}-{d.hi.tolist()} and {other.lo.tolist()}-"
                    f"{other.hi.tolist()} m)",
                )
        defects.append(d)

    # ---------------------------------------------------------------- voids
    void_meta = []
    for i, raw in enumerate(_as_list("voids", voids)):
        label = f"voids[{i}]"
        spec = _spec(label, raw, ("interface", "center", "footprint", "height"), {})
        side = side_of(label, spec)
        c = _coords(f"{label}.center", spec["center"], dim - 1)
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
        inside_footprint(f"{label}.center", spec["center"], c - half, c + half)
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

        add_defect(
            _Defect(
                label,
                side.key,
                *box_of(c - half, c + half, s0, s0 + hv),
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

    # ---------------------------------------------------------------- flaws
    flaw_meta = []
    for i, raw in enumerate(_as_list("flaws", flaws)):
        label = f"flaws[{i}]"
        spec = _spec(
            label,
            raw,
            ("interface", "x", "length", "tip_radius"),
            {"angle_deg": 0.0, "fill": "void", "y": None},
        )
        side = side_of(label, spec)
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
        inside_footprint(f"{label}.x", x0, lo_f, hi_f)
        along = notch_frame(dim, mouth, theta, side.face_dir)[2]
        tip = mouth + (a - rho) * along
        h_t = h_tip_given if h_tip_given is not None else min(h_int, rho / 2)

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
        add_defect(_Defect(label, side.key, lo, hi, build, x0, (tip, rho, h_t, slot3)))
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

    # ---------------------------------------------------------------- pores
    pore_meta = []
    for i, raw in enumerate(_as_list("pores", pores)):
        label = f"pores[{i}]"
        spec = _spec(
            label, raw, ("interface", "radius"), {"count": None, "seed": seed, "centers": None}
        )
        side = side_of(label, spec)
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
                raise fail(
                    NAME, f"{label}.radius", r, f"too large for the footprint {foot.tolist()} m"
                )
            while len(placed) < count and tries < 500 * count:
                tries += 1
                c = lo_c + rng.uniform(0, 1, dim - 1) * (hi_c - lo_c)
                if any(np.linalg.norm(c - q) < 2 * r + gap for q in placed):
                    continue
                trial = _Defect(
                    label, side.key, *box_of(c - r, c + r, side.plane - r, side.plane + r), None
                )
                if any(_overlaps(trial, d) for d in defects):
                    continue
                placed.append(c)
            if len(placed) < count:
                raise fail(
                    NAME,
                    f"{label}.count",
                    count,
                    f"pores of radius {r!r} m cannot be "
                    f"placed without overlap (placed {len(placed)})",
                )
            centres = placed
        else:
            raw_c = spec["centers"]
            if not isinstance(raw_c, Sequence) or not raw_c or len(raw_c) > MAX_PORES:
                raise fail(
                    NAME, f"{label}.centers", raw_c, f"must be a list of 1 to {MAX_PORES} points"
                )
            centres = [_coords(f"{label}.centers[{k}]", c, dim - 1) for k, c in enumerate(raw_c)]
            for k, c in enumerate(centres):
                inside_footprint(f"{label}.centers[{k}]", c.tolist(), c - r, c + r)
                for m in range(k):
                    if np.linalg.norm(c - centres[m]) < 2.1 * r:
                        raise fail(
                            NAME,
                            f"{label}.centers[{k}]",
                            c.tolist(),
                            f"overlaps (or nearly touches) pore centers[{m}]",
                        )
        for k, c in enumerate(centres):

            def build(scale, c=c, r=r, side=side):
                centre = np.array([*c, side.plane, 0.0][:3]) / scale
                return Part(
                    "empty",
                    [add_ball(dim, centre, r / scale)],
                    within=frozenset({side.metal, side.other}),
                    facet="pore",
                )

            add_defect(
                _Defect(
                    f"{label}.centers[{k}]",
                    side.key,
                    *box_of(c - r, c + r, side.plane - r, side.plane + r),
                    build,
                    c.tolist(),
                )
            )
            pore_meta.append(
                {"interface": side.key, "center": [*c.tolist(), side.plane], "radius": r}
            )

    # ---------------------------------------------------------------- roughness
    rough = {}
    for i, raw in enumerate(_as_list("roughness", roughness)):
        label = f"roughness[{i}]"
        spec = _spec(label, raw, ("interface", "rms", "correlation_length"), {"seed": seed})
        side = side_of(label, spec)
        if side.key in rough:
            raise fail(NAME, f"{label}.interface", side.key, "is rough twice")
        if any(d.side == side.key for d in defects):
            raise fail(
                NAME,
                f"{label}.interface",
                side.key,
                "cannot be combined with pores, voids or flaws on the same interface",
            )
        rms = check_length(NAME, f"{label}.rms", spec["rms"])
        lc = check_length(NAME, f"{label}.correlation_length", spec["correlation_length"])
        rseed = integer(NAME, f"{label}.seed", spec["seed"], 0)
        per_lc, cap = (8, 400) if dim == 2 else (4, 40)
        if lc > min(foot) / 2 or lc < min(foot) * per_lc / cap:
            raise fail(
                NAME,
                f"{label}.correlation_length",
                lc,
                f"must be within [{min(foot) * per_lc / cap!r}, {min(foot) / 2!r}] m",
            )
        n = [max(int(math.ceil(per_lc * f / lc)), 8) for f in foot]
        spacing = [f / k for f, k in zip(foot, n, strict=True)]
        field = _gaussian_field(tuple(n), spacing, lc, rms, rseed)
        amp = float(np.abs(field).max())
        if amp >= 0.4 * min(side.t_metal, side.t_other):
            raise fail(
                NAME,
                f"{label}.rms",
                rms,
                f"gives asperities of {amp:.3g} m, too high "
                f"for the {side.metal} and {side.other} layers (at most 40% of each)",
            )
        rough[side.key] = {
            "field": field,
            "spacing": spacing,
            "amplitude": amp,
            "rms": rms,
            "correlation_length": lc,
            "seed": rseed,
        }

    # ---------------------------------------------------------------- grains, composite
    grain_seed = None
    if grains is not None:
        spec = _spec("grains", grains, ("mean_size",), {"seed": seed})
        d_g = check_length(NAME, "grains.mean_size", spec["mean_size"])
        grain_seed = integer(NAME, "grains.seed", spec["seed"], 0)
        n_grains = max(1, round(float(np.prod(foot)) * t_e / d_g**dim))
        if n_grains > MAX_GRAINS:
            raise fail(
                NAME, "grains.mean_size", d_g, f"gives {n_grains} grains (at most {MAX_GRAINS})"
            )
    particles = None
    if cathode == "composite":
        if composite is None:
            raise fail(NAME, "composite", composite, "is required with cathode='composite'")
        spec = _spec(
            "composite",
            composite,
            ("volume_fraction", "radius_mean"),
            {"radius_std": 0.0, "seed": seed, "min_gap": None},
        )
        vf, r_m, r_s, c_seed, gap = check_packing_params(
            NAME,
            dim,
            spec["volume_fraction"],
            spec["radius_mean"],
            spec["radius_std"],
            spec["seed"],
            spec["min_gap"],
        )
        lo_c = np.zeros(dim)
        lo_c[stack] = y_et
        hi_c = np.array([*foot, top])
        particles = pack(NAME, dim, lo_c, hi_c, vf, r_m, r_s, c_seed, gap)
    elif composite is not None:
        raise fail(NAME, "composite", composite, "needs cathode='composite'")

    _count_cells(
        dim, foot, top, depth, h, h_int, len(layers) - 1, defects, pore_meta, void_meta, particles
    )
    params = {
        "dim": dim,
        "width": width,
        "electrolyte_thickness": t_e,
        "anode_thickness": t_a,
        "cathode_thickness": t_c,
        "interlayer_thickness": t_i,
        "h": h,
        "h_interface": h_int,
        "h_tip": h_tip_given,
        "pores": pores,
        "voids": voids,
        "flaws": flaws,
        "roughness": roughness,
        "grains": grains,
        "seed": seed,
        "cathode": cathode,
        "composite": composite,
        "order": order,
    }
    if dim == 3:
        params["depth"] = depth

    # ================================================================ build (model units)
    scale = float(max(*foot, top))
    ext = np.array([*foot, top]) / scale
    matrix = "electrolyte.matrix" if grains is not None else "electrolyte"
    group = {"composite": matrix}
    layer_tags = _layer_shapes(dim, layers, rough, sides, scale, ext)
    parts = [Part("layer", tags, name=k, group=group.get(k, k)) for k, tags in layer_tags.items()]
    parts += [d.build(scale) for d in defects]
    seeds = None
    if grain_seed is not None:
        e_lo, e_hi = y_eb, y_et
        lo_s = np.zeros(dim)
        lo_s[stack] = e_lo / scale
        size_s = np.array([*foot, t_e]) / scale
        seeds = seeds_in_box(lo_s, size_s, n_grains, grain_seed)
        if "anode" in rough and t_i == 0:
            e_lo -= rough["anode"]["amplitude"] * 1.01
        if "cathode" in rough:
            e_hi += rough["cathode"]["amplitude"] * 1.01
        v_lo = np.zeros(dim)
        v_lo[stack] = e_lo / scale
        v_size = np.array([*foot, e_hi - e_lo]) / scale
        for k, cell in enumerate(voronoi_cells(seeds, v_lo, v_size)):
            if cell is not None:
                parts.append(Part("grain", [cell], within=frozenset({"electrolyte"}), index=k))
    if particles is not None:
        parts += particle_parts(dim, *particles, scale, {"composite"})

    def outer(lo, hi):
        if hi[stack] < _TOL:
            return "anode_cc"
        if lo[stack] > ext[stack] - _TOL:
            return "cathode_cc"
        return "sides"

    asm = assemble(dim, parts, outer, seeds, "electrolyte.grain_")
    asm.name_groups()

    sizing = Sizing(dim, h / scale)
    for tags in asm.interfaces.values():
        sizing.near(tags, h_int / scale)
    # defect walls: h_interface, but fine enough to resolve the defect's own curvature
    caps = {
        "void": min([v["height"] for v in void_meta], default=h),
        "pore": min([p["radius"] for p in pore_meta], default=h),
        "notch": min([max(d.tip[2], d.tip[1]) for d in defects if d.tip], default=h),
    }
    for key, cap in caps.items():
        sizing.near(asm.facets.get(key, []), min(h_int, cap) / scale)
    for d in defects:
        if d.tip is not None:
            centre, rho, h_t, slot3 = d.tip
            radius = (2 * rho + h_t) / scale
            c = centre / scale
            if slot3:
                lo = c - radius
                hi = c + radius
                lo[1], hi[1] = 0.0, depth / scale
                sizing.box(lo, hi, h_t / scale)
            else:
                sizing.ball(c, radius, h_t / scale)
    sizing.apply()
    volumes, areas = asm.volumes(scale), asm.areas(scale)
    generate(dim, order, scale)

    extra = {}
    if seeds is not None:
        euler = orientations(n_grains, grain_seed, dim)
        names = sorted(asm.grain_owner, key=lambda g: asm.grain_owner[g])
        extra.update(
            grains=names,
            orientations={g: euler[asm.grain_owner[g]].tolist() for g in names},
            grain_volumes={g: volumes[g] for g in names},
            seeds={g: (seeds[asm.grain_owner[g]] * scale).tolist() for g in names},
        )
    if particles is not None:
        extra.update(particle_metadata(*particles, dim, float(np.prod(foot)) * t_c))
    return metadata(
        NAME,
        params,
        dim,
        dim,
        scale,
        coordinates="cartesian",
        layers={k: list(v) for k, v in layers.items()},
        volumes=volumes,
        areas=areas,
        interfaces=sorted(asm.interfaces),
        pores=pore_meta,
        voids=void_meta,
        flaws=flaw_meta,
        roughness={
            k: {q: v[q] for q in ("rms", "correlation_length", "seed", "amplitude")}
            for k, v in rough.items()
        },
        **extra,
    )


def _count_cells(
    dim, foot, top, depth, h, h_int, n_interfaces, defects, pores, voids, particles
) -> None:
    """Check the estimated cell count (layers, refined interfaces, defect walls, notch tips,
    particle surfaces) against the limit before anything is built."""
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
    for d in defects:
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
        count.near("h_interface", h_int, particle_surface(dim, particles[1]))
    count.check()


def _layer_shapes(dim, layers, rough, sides, scale, ext) -> dict[str, list[int]]:
    """OCC entities (model units) of every layer; rough interfaces split merged blocks."""
    occ = gmsh.model.occ
    stack = dim - 1
    names = list(layers)
    rough_between = set()  # index i: the interface between layers i and i + 1 is rough
    for key, info in rough.items():
        side = sides[key]
        lower = side.metal if side.metal_dir < 0 else side.other
        rough_between.add(names.index(lower))
        info["lower"] = lower
    out: dict[str, list[int]] = {}
    i = 0
    while i < len(names):
        j = i
        while j in rough_between:
            j += 1
        block = names[i : j + 1]
        y0, y1 = layers[block[0]][0] / scale, layers[block[-1]][1] / scale
        lo = np.zeros(3)
        lo[stack] = y0
        size = ext.copy()
        size[stack] = y1 - y0
        box = add_box(dim, lo, size)
        if len(block) == 1:
            out[block[0]] = [box]
        else:
            tools = [
                _rough_entity(dim, info, layers[info["lower"]][1], scale)
                for info in rough.values()
                if info["lower"] in block[:-1]
            ]
            res, _ = occ.fragment([(dim, box)], tools)
            occ.synchronize()
            pieces = [t for d, t in res if d == dim]
            if len(pieces) != len(block):
                raise RuntimeError(f"rough interfaces split {block} into {len(pieces)} pieces")
            pieces.sort(key=lambda t: occ.getCenterOfMass(dim, t)[stack])
            stray = [
                (d, t)
                for d, t in res
                if d == dim - 1 and len(gmsh.model.getAdjacencies(d, t)[0]) == 0
            ]
            if stray:
                occ.remove(stray, recursive=True)
            for name, t in zip(block, pieces, strict=True):
                out[name] = [t]
        i = j + 1
    return out


def _rough_entity(dim, info, plane, scale):
    """Spline curve (2D) or B-spline surface (3D) of a rough interface, extended by two
    grid spacings beyond the footprint (the field is periodic)."""
    occ = gmsh.model.occ
    field, spacing = info["field"], info["spacing"]
    pad = 2
    if dim == 2:
        n = field.shape[0]
        idx = np.arange(-pad, n + pad + 1)
        pts = [
            occ.addPoint(k * spacing[0] / scale, (plane + field[k % n]) / scale, 0.0) for k in idx
        ]
        return (1, occ.addSpline(pts))
    nx, ny = field.shape
    ix, iy = np.arange(-pad, nx + pad + 1), np.arange(-pad, ny + pad + 1)
    pts = [
        occ.addPoint(
            a * spacing[0] / scale, b * spacing[1] / scale, (plane + field[a % nx, b % ny]) / scale
        )
        for b in iy
        for a in ix
    ]
    return (2, occ.addBSplineSurface(pts, len(ix)))
