"""Symmetric (or full) cell: anode | [interlayer] | electrolyte | cathode, with interface
defects (pores, voids, notches, roughness), electrolyte grains and a composite cathode.

Layers stack along the last axis (y in 2D, z in 3D) from the anode current collector at 0.
The pieces live in private modules: ``_cell_layout`` (layer stack, defect bookkeeping),
``_cell_defects`` (voids, notches, pores), ``_cell_layers`` (roughness, grains, composite
cathode, layer shapes) and ``_cell_mesh`` (cell-count estimate, mesh size fields).
"""

from __future__ import annotations

import numpy as np

from ._assemble import Part, assemble
from ._cell_defects import parse_flaws, parse_pores, parse_voids
from ._cell_layers import (
    grain_parts,
    layer_shapes,
    parse_composite,
    parse_grains,
    parse_roughness,
)
from ._cell_layout import MAX_GRAINS as MAX_GRAINS  # re-exported
from ._cell_layout import MAX_PORES as MAX_PORES  # re-exported
from ._cell_layout import NAME, make_layout
from ._cell_mesh import count_cells, set_sizes
from ._common import (
    check_length,
    choice,
    fail,
    generate,
    integer,
    metadata,
    options,
    refine_boxes,
    refined_size,
)
from ._voronoi import orientations
from .cathode import particle_metadata, particle_parts

_TOL = 1e-6  # model units


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
    refine=(),
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
        grains: {"mean_size", "seed", "arrangement"}: Voronoi grains
            "electrolyte.grain_<k>" fill the electrolyte layer (about volume / mean_size^dim
            of them; arrangement "random", the default, or "cubic": box grains on a regular
            grid of round(L / mean_size) per side); internal facets "grain_boundary";
            orientations as in ``polycrystal``. With "cubic", "boundary_thickness" resolves
            the boundaries as layers of that thickness between the grains: the cell group
            "electrolyte.matrix".
        seed: default seed (>= 0) of pores, roughness, grains and composite.
        cathode: "metal" or "composite".
        composite: for cathode="composite": {"volume_fraction", "radius_mean", "radius_std"=0,
            "seed", "min_gap"} as in ``composite_cathode`` (the cathode layer is the
            particle-filled box; its matrix is "electrolyte", or "electrolyte.matrix" with
            grains).
        refine: boxes meshed finer (e.g. along an expected crack path): a table or a list
            of tables {x = [x0, x1], y = [y0, y1] (, z), h} (m; the stacking axis is the
            last; an axis left out spans the cell).
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
    lay = make_layout(dim, width, depth, t_a, t_i, t_e, t_c, cathode)
    foot, top = lay.foot, lay.top
    if h is None:  # default: a tenth of the thinnest layer or the footprint
        h = min(*foot, t_e, t_a, t_c, *([t_i] if t_i > 0 else [])) / 10
    h = check_length(NAME, "h", h)
    if h > min(*foot, top):
        raise fail(NAME, "h", h, f"must not exceed the width and total thickness {top!r} m")
    h_int = refined_size(NAME, "h_interface", h_interface, h)
    h_tip_given = None if h_tip is None else refined_size(NAME, "h_tip", h_tip, h)

    # every parameter is checked (in this order) before anything is built
    void_meta = parse_voids(lay, voids)
    flaw_meta = parse_flaws(lay, flaws, h_int, h_tip_given)
    pore_meta = parse_pores(lay, pores, seed)
    rough = parse_roughness(lay, roughness, seed)
    grain_spec = parse_grains(lay, grains, seed)
    if grain_spec is not None and grain_spec[3] is not None and rough:
        raise fail(NAME, "grains.boundary_thickness", grain_spec[3],
                   "cannot be combined with rough electrolyte faces (roughness)")
    particles = parse_composite(lay, composite, seed)
    boxes = refine_boxes(NAME, refine, [0.0] * dim, [*foot, top], dim, h)
    count_cells(lay, h, h_int, pore_meta, void_meta, particles, boxes)
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
        "refine": [{k: list(v) if isinstance(v, tuple) else v for k, v in b.items()}
                   for b in boxes],
        "order": order,
    }
    if dim == 3:
        params["depth"] = depth

    # ================================================================ build (model units)
    scale = float(max(*foot, top))
    ext = np.array([*foot, top]) / scale
    stack = lay.axis
    matrix = "electrolyte.matrix" if grains is not None else "electrolyte"
    group = {"composite": matrix}
    layer_tags = layer_shapes(dim, lay.layers, rough, lay.sides, scale, ext)
    parts = [Part("layer", tags, name=k, group=group.get(k, k)) for k, tags in layer_tags.items()]
    parts += [d.build(scale) for d in lay.defects]
    seeds = None
    if grain_spec is not None:
        seeds, grain_pieces = grain_parts(lay, rough, *grain_spec, scale)
        parts += grain_pieces
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
    set_sizes(asm, lay, h, h_int, scale, pore_meta, void_meta, particles, boxes)
    volumes, areas = asm.volumes(scale), asm.areas(scale)
    generate(dim, order, scale)

    extra = {}
    if seeds is not None:
        n_grains, grain_seed, _, _ = grain_spec
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
        layers={k: list(v) for k, v in lay.layers.items()},
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
