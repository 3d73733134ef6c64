"""Layers of ``symmetric_cell``: rough interfaces, electrolyte grains, composite cathode.

The ``parse_*`` functions validate their parameter (lengths in m) before anything is built;
the others add OCC entities in model units (lengths divided by ``scale``, m).
"""

from __future__ import annotations

import math

import gmsh
import numpy as np

from ._assemble import Part
from ._cell_layout import MAX_GRAINS, NAME, Layout, as_list, spec_of
from ._common import check_length, fail, integer
from ._shapes import add_box
from ._voronoi import seeds_in_box, voronoi_cells
from .cathode import check_packing_params, pack


# --------------------------------------------------------------------------- roughness
def gaussian_field(shape, spacing, corr: float, rms: float, seed: int) -> np.ndarray:
    """Periodic Gaussian random field on a grid, correlation exp(-r^2 / corr^2), exact rms."""
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal(shape)
    freqs = (2 * np.pi * np.fft.fftfreq(n, d) for n, d in zip(shape, spacing, strict=True))
    ks = np.meshgrid(*freqs, indexing="ij")
    k2 = sum(k**2 for k in ks)
    field = np.real(np.fft.ifftn(np.fft.fftn(noise) * np.exp(-k2 * corr**2 / 8)))
    field -= field.mean()
    return field * (rms / field.std())


def parse_roughness(lay: Layout, roughness, seed: int) -> dict[str, dict]:
    """Random height fields of rough interfaces (after the defects: they exclude each other).

    Args:
        lay: the cell, with its defects already placed.
        roughness: the ``roughness`` parameter of ``symmetric_cell`` (lengths in m).
        seed: default seed of the fields.

    Returns:
        Interface key -> {field (m, on a periodic grid), spacing (m), amplitude (m), rms (m),
        correlation_length (m), seed}.
    """
    dim, foot = lay.dim, lay.foot
    rough = {}
    for i, raw in enumerate(as_list("roughness", roughness)):
        label = f"roughness[{i}]"
        spec = spec_of(label, raw, ("interface", "rms", "correlation_length"), {"seed": seed})
        side = lay.side_of(label, spec)
        if side.key in rough:
            raise fail(NAME, f"{label}.interface", side.key, "is rough twice")
        if any(d.side == side.key for d in lay.defects):
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
        field = gaussian_field(tuple(n), spacing, lc, rms, rseed)
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
    return rough


# --------------------------------------------------------------------------- grains, composite
def parse_grains(lay: Layout, grains, seed: int) -> tuple | None:
    """(number of grains, seed, grid counts, boundary thickness) of the electrolyte grains;
    None without grains.

    ``arrangement = "random"`` (default) draws Voronoi seeds uniformly (grid counts None);
    ``"cubic"`` puts them at the centres of a regular grid of ``max(1, round(L / d))``
    cells along each side of the electrolyte: identical box grains (the brick layer). With
    ``"cubic"``, ``boundary_thickness`` > 0 resolves the boundaries: the grains shrink by
    half of it at every face they share with another grain, and the layers left between
    them form the cell group "electrolyte.matrix" (give it a conductor in
    ``[charge] group_conductors``).

    Args:
        lay: the cell.
        grains: the ``grains`` parameter of ``symmetric_cell`` (mean_size in m).
        seed: default seed of the grain seeds.
    """
    if grains is None:
        return None
    spec = spec_of("grains", grains, ("mean_size",),
                   {"seed": seed, "arrangement": "random", "boundary_thickness": None})
    d_g = check_length(NAME, "grains.mean_size", spec["mean_size"])
    grain_seed = integer(NAME, "grains.seed", spec["seed"], 0)
    arrangement = spec["arrangement"]
    if arrangement not in ("random", "cubic"):
        raise fail(NAME, "grains.arrangement", arrangement, "must be 'random' or 'cubic'")
    counts, delta = None, spec["boundary_thickness"]
    if delta is not None and arrangement != "cubic":
        raise fail(NAME, "grains.boundary_thickness", delta, "needs arrangement = 'cubic'")
    if arrangement == "cubic":
        counts = [max(1, round(float(s) / d_g)) for s in [*lay.foot, lay.t_e]]
        n_grains = int(np.prod(counts))
        if delta is not None:
            delta = check_length(NAME, "grains.boundary_thickness", delta)
            cell = min(float(s) / c for s, c in zip([*lay.foot, lay.t_e], counts, strict=True))
            if delta >= 0.5 * cell:
                raise fail(NAME, "grains.boundary_thickness", delta,
                           f"must be below half the grain size ({0.5 * cell:g} m)")

    else:
        n_grains = max(1, round(float(np.prod(lay.foot)) * lay.t_e / d_g**lay.dim))
    if n_grains > MAX_GRAINS:
        raise fail(NAME, "grains.mean_size", d_g, f"gives {n_grains} grains (at most {MAX_GRAINS})")
    return n_grains, grain_seed, counts, delta


def parse_composite(lay: Layout, composite, seed: int):
    """Packed particles of a composite cathode layer (as ``cathode.pack`` returns them), or
    None for a metal cathode.

    Args:
        lay: the cell.
        composite: the ``composite`` parameter of ``symmetric_cell`` (lengths in m).
        seed: default seed of the packing.
    """
    if lay.cathode != "composite":
        if composite is not None:
            raise fail(NAME, "composite", composite, "needs cathode='composite'")
        return None
    if composite is None:
        raise fail(NAME, "composite", composite, "is required with cathode='composite'")
    spec = spec_of(
        "composite",
        composite,
        ("volume_fraction", "radius_mean"),
        {"radius_std": 0.0, "seed": seed, "min_gap": None},
    )
    vf, r_m, r_s, c_seed, gap = check_packing_params(
        NAME,
        lay.dim,
        spec["volume_fraction"],
        spec["radius_mean"],
        spec["radius_std"],
        spec["seed"],
        spec["min_gap"],
    )
    lo_c = np.zeros(lay.dim)
    lo_c[lay.axis] = lay.y_et
    hi_c = np.array([*lay.foot, lay.top])
    return pack(NAME, lay.dim, lo_c, hi_c, vf, r_m, r_s, c_seed, gap)


def grain_parts(
    lay: Layout, rough: dict, n_grains: int, grain_seed: int, counts: list | None,
    delta: float | None, scale: float
) -> tuple[np.ndarray, list[Part]]:
    """Voronoi seeds (model units) in the electrolyte and the grain parts that fill it.

    The Voronoi box reaches past rough electrolyte faces (by their amplitude); the assembly
    keeps only what lies in the electrolyte.
    """
    dim, stack = lay.dim, lay.axis
    e_lo, e_hi = lay.y_eb, lay.y_et
    lo_s = np.zeros(dim)
    lo_s[stack] = e_lo / scale
    size_s = np.array([*lay.foot, lay.t_e]) / scale
    if counts is not None:  # the centres of a regular grid: box grains
        axes = [lo + (np.arange(c) + 0.5) / c * s
                for lo, c, s in zip(lo_s, counts, size_s, strict=True)]
        seeds = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, dim)
        if delta is not None:
            return seeds, _box_grains(seeds, lo_s, size_s, counts, delta / scale)
    else:
        seeds = seeds_in_box(lo_s, size_s, n_grains, grain_seed)
    if "anode" in rough and lay.t_i == 0:
        e_lo -= rough["anode"]["amplitude"] * 1.01
    if "cathode" in rough:
        e_hi += rough["cathode"]["amplitude"] * 1.01
    v_lo = np.zeros(dim)
    v_lo[stack] = e_lo / scale
    v_size = np.array([*lay.foot, e_hi - e_lo]) / scale
    parts = []
    for k, cell in enumerate(voronoi_cells(seeds, v_lo, v_size)):
        if cell is not None:
            parts.append(Part("grain", [cell], within=frozenset({"electrolyte"}), index=k))
    return seeds, parts


def _box_grains(seeds, lo_s, size_s, counts, delta) -> list[Part]:
    """Box grains around grid seeds, shrunk by delta / 2 (model units) at faces shared with
    another grain; outer faces stay on the layer's."""
    dim = len(counts)
    cell = np.asarray(size_s) / np.asarray(counts)
    pad = [0.0] * (3 - dim)
    parts = []
    for k, x in enumerate(seeds):
        lo = np.asarray(x) - 0.5 * cell
        hi = np.asarray(x) + 0.5 * cell
        inner_lo = lo > np.asarray(lo_s) + 1e-9
        inner_hi = hi < np.asarray(lo_s) + np.asarray(size_s) - 1e-9
        lo = np.where(inner_lo, lo + 0.5 * delta, lo)
        hi = np.where(inner_hi, hi - 0.5 * delta, hi)
        tag = add_box(dim, np.append(lo, pad), np.append(hi - lo, pad))
        parts.append(Part("grain", [tag], within=frozenset({"electrolyte"}), index=k))
    for axis in range(dim):  # the layers between them: one slab per inner grid plane
        for j in range(1, counts[axis]):
            lo = np.array(lo_s, float)
            size = np.array(size_s, float)
            lo[axis] += j * cell[axis] - 0.5 * delta
            size[axis] = delta
            tag = add_box(dim, np.append(lo, pad), np.append(size, pad))
            parts.append(Part("fill", [tag], name="electrolyte.matrix",
                              within=frozenset({"electrolyte"})))
    return parts


# --------------------------------------------------------------------------- layer shapes
def layer_shapes(dim, layers, rough, sides, scale, ext) -> dict[str, list[int]]:
    """OCC entities (model units) of every layer; rough interfaces split merged blocks.

    Args:
        dim: 2 or 3.
        layers: layer id -> (bottom, top) (m), bottom to top.
        rough: from ``parse_roughness``; each entry gets "lower", the layer below it.
        sides: interface key -> ``Side``.
        scale: model length unit (m).
        ext: model extent (model units), dim components.
    """
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
