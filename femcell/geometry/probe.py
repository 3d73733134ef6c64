"""Four-probe conductivity samples: a bar with four pads, or a van der Pauw square, of one
crystal or of Voronoi grains (a polycrystal whose boundaries a study can make resistive)."""

from __future__ import annotations

import gmsh
import numpy as np

from ._common import (
    CellCount,
    Sizing,
    add_group,
    check_length,
    choice,
    fail,
    generate,
    integer,
    metadata,
    options,
    refined_size,
)
from ._shapes import add_box
from ._voronoi import nearest_seed, seeds_in_box, tessellation, voronoi_cells

NAME = "four_probe"
_TOL = 1e-6  # model units


def _inside(lo, hi, box_lo, box_hi) -> bool:
    return all(box_lo[k] - _TOL <= lo[k] and hi[k] <= box_hi[k] + _TOL for k in range(3))


def four_probe(
    *,
    kind: str = "bar",
    dim: int = 2,
    h: float | None = None,
    length: float | None = None,
    width: float | None = None,
    thickness: float | None = None,
    contact_positions=None,
    contact_width: float | None = None,
    contact_depth: float | None = None,
    side: float | None = None,
    contact_size: float | None = None,
    h_contact: float | None = None,
    order: int = 1,
    grain_size: float | None = None,
    grain_arrangement: str | None = None,
    grain_seed: int | None = None,
) -> dict:
    """Four-probe conductivity sample with contacts "contact_1" ... "contact_4".

    kind="bar": 2D the rectangle [0, length] x [0, width], 3D the box [0, length] x
    [0, width] x [0, thickness]; four collinear pads on the top face (y = width in 2D,
    z = thickness in 3D), pad i covering |x - contact_positions[i]| <= contact_width / 2 (and
    in 3D |y - width / 2| <= contact_depth / 2).

    kind="van_der_pauw": the square [0, side]^2 (3D: a plate of the given thickness) with
    small contacts at the corners, counter-clockwise from (0, 0): contact i covers the
    boundary within ``contact_size`` of corner i along both edges (in 3D the two side-face
    strips of that width next to the corner's vertical edge).

    Args:
        kind: "bar" or "van_der_pauw".
        dim: 2 or 3.
        h: target element size (m); default a quarter of the bar width or a tenth of the
            side, and at most a quarter of the grain size (a given h must not exceed it).
        length, width: bar size (m; default 10 x 2 mm).
        thickness: bar or plate thickness (m, 3D only, required there).
        contact_positions: pad centres x (m), 4 increasing values; default
            [1, 3, 5, 7] length / 8.
        contact_width: pad length along x (m); default length / 16.
        contact_depth: pad extent across the bar (m, 3D); default width (full-width strips).
        side: van der Pauw square side (m; default 5 mm).
        contact_size: van der Pauw contact size (m); default side / 20.
        h_contact: element size (m, an upper bound) near the contacts; default
            min(h, contact size / 2).
        order: geometric order of the elements (1 or 2).
        grain_size: grain size d (m); default None, one crystal. With it the sample is cut
            into Voronoi grains as the polycrystal builder's: ``random`` draws
            max(1, round(V / d^dim)) seeds uniformly (numpy ``default_rng(grain_seed)``),
            ``cubic`` puts them at the centres of a grid of max(1, round(L_k / d)) cells
            along each side (identical box grains: the brick-layer geometry).
        grain_arrangement: "random" (default) or "cubic" (with grain_size only).
        grain_seed: seed (>= 0, default 0) of the random grain seeds (with grain_size only).

    Returns:
        Metadata with ``areas`` (facet group -> area: m^2 in 3D, m in 2D) and ``volumes``.
        Cell group "sample" (with grains "sample.grain_k", and ``grains``, ``seeds`` (m),
        ``grain_volumes`` and ``grain_spacing`` in the metadata: the grains' spacing along x
        (m), the grid pitch L_x / n_x of cubic grains, (V / n)^(1/m) of n random ones over
        the m sides longer than it);
        facets "contact_1".."contact_4", "surface" (the
        rest of the outer boundary) and, between grains, "grain_boundary".
    """
    kind = options(NAME, "kind", kind, ("bar", "van_der_pauw"))
    dim = choice(NAME, "dim", dim, (2, 3))
    h = None if h is None else check_length(NAME, "h", h)
    h_given = h is not None
    order = choice(NAME, "order", order, (1, 2))
    if dim == 3:
        if thickness is None:
            raise fail(NAME, "thickness", thickness, "is required for dim=3")
        thickness = check_length(NAME, "thickness", thickness)
    elif thickness is not None:
        raise fail(NAME, "thickness", thickness, "is for dim=3 only")
    params = {"kind": kind, "dim": dim, "h": h, "order": order, "thickness": thickness}
    if grain_size is None:
        for k, v in (("grain_arrangement", grain_arrangement), ("grain_seed", grain_seed)):
            if v is not None:
                raise fail(NAME, k, v, "needs grain_size (without it the sample is one crystal)")
    else:
        grain_size = check_length(NAME, "grain_size", grain_size)
        grain_arrangement = options(NAME, "grain_arrangement", grain_arrangement or "random",
                                    ("random", "cubic"))
        grain_seed = integer(NAME, "grain_seed", 0 if grain_seed is None else grain_seed, 0)
        params.update(grain_size=grain_size, grain_arrangement=grain_arrangement,
                      grain_seed=grain_seed)

    if kind == "bar":
        for k, v in (("side", side), ("contact_size", contact_size)):
            if v is not None:
                raise fail(NAME, k, v, "is for kind='van_der_pauw'")
        length = check_length(NAME, "length", 10e-3 if length is None else length)
        width = check_length(NAME, "width", 2e-3 if width is None else width)
        cw = (
            length / 16
            if contact_width is None
            else check_length(NAME, "contact_width", contact_width)
        )
        if dim == 2 and contact_depth is not None:
            raise fail(NAME, "contact_depth", contact_depth, "is for dim=3 only")
        cd = width if contact_depth is None else check_length(NAME, "contact_depth", contact_depth)
        if cd > width:
            raise fail(NAME, "contact_depth", cd, f"must not exceed the width {width!r} m")
        if contact_positions is None:
            pos = [length * k / 8 for k in (1, 3, 5, 7)]
        else:
            try:
                pos = [float(p) for p in contact_positions]
            except (TypeError, ValueError):
                raise fail(
                    NAME, "contact_positions", contact_positions, "must be 4 numbers"
                ) from None
            if len(pos) != 4 or not np.all(np.isfinite(pos)):
                raise fail(NAME, "contact_positions", contact_positions, "must be 4 numbers")
        edges = [(p - cw / 2, p + cw / 2) for p in pos]
        if (
            edges[0][0] <= 0
            or edges[-1][1] >= length
            or any(a[1] >= b[0] for a, b in zip(edges, edges[1:], strict=False))
        ):
            raise fail(
                NAME,
                "contact_positions",
                contact_positions if contact_positions is not None else pos,
                f"pads of width {cw!r} m must be increasing, disjoint and inside (0, {length!r}) m",
            )
        small = min(cw, cd if dim == 3 else cw)
        size = [length, width] + ([thickness] if dim == 3 else [])
        h = min(length, width) / 4 if h is None else h
        pad_area = 4 * cw * (cd if dim == 3 else 1.0)
        params.update(
            length=length,
            width=width,
            contact_positions=pos,
            contact_width=cw,
            contact_depth=cd if dim == 3 else None,
        )
    else:
        for k, v in (
            ("length", length),
            ("width", width),
            ("contact_positions", contact_positions),
            ("contact_width", contact_width),
            ("contact_depth", contact_depth),
        ):
            if v is not None:
                raise fail(NAME, k, v, "is for kind='bar'")
        side = check_length(NAME, "side", 5e-3 if side is None else side)
        c = side / 20 if contact_size is None else check_length(NAME, "contact_size", contact_size)
        if c >= side / 4:
            raise fail(NAME, "contact_size", c, f"must be less than side / 4 = {side / 4!r} m")
        small = c
        size = [side, side] + ([thickness] if dim == 3 else [])
        params.update(side=side, contact_size=c)
        h = side / 10 if h is None else h
        pad_area = 8 * c * (thickness if dim == 3 else 1.0)
    if h > max(size):
        raise fail(NAME, "h", h, f"must not exceed the sample size {max(size)!r} m")
    if grain_size is not None:
        if h_given and h > grain_size:
            raise fail(NAME, "h", h, f"must not exceed the grain size {grain_size!r} m")
        if not h_given:
            h = min(h, grain_size / 4)
    seeds = None if grain_size is None else _grain_seeds(size, grain_size, grain_arrangement,
                                                         grain_seed)
    h_c = min(h, small / 2) if h_contact is None else refined_size(NAME, "h_contact", h_contact, h)
    params.update(h=h, h_contact=h_c)
    count = CellCount(NAME, dim, size, float(np.prod(size)), h)
    count.near("h_contact", h_c, pad_area)
    count.check()

    scale = max(size)
    ext = np.array([*size, 0.0][:3]) / scale
    occ = gmsh.model.occ
    if seeds is None:
        bodies = [add_box(dim, np.zeros(3), ext)]
    else:
        seeds = seeds / scale
        bodies = tessellation(seeds, np.zeros(dim), ext[:dim])
        if bodies is None:  # independent cells, fragmented below with the box (no gaps; a
            # piece of an overlap goes to the nearest seed, and only faces between pieces of
            # different grains are boundaries)
            bodies = [c for c in voronoi_cells(seeds, np.zeros(dim), ext[:dim]) if c]
            bodies.append(add_box(dim, np.zeros(3), ext))
    pads = []  # (lo, hi) boxes (model units) containing each contact's facets
    if kind == "bar":
        for a, b in edges:
            lo, hi = np.zeros(3), ext.copy()
            lo[0], hi[0] = a / scale, b / scale
            lo[dim - 1] = ext[dim - 1]
            if dim == 3:
                lo[1], hi[1] = (width - cd) / 2 / scale, (width + cd) / 2 / scale
            pads.append([(lo, hi)])
    else:
        cs = c / scale
        a = ext[0]
        for cx, cy in ((0, 0), (a, 0), (a, a), (0, a)):
            sx, sy = (1 if cx == 0 else -1), (1 if cy == 0 else -1)
            boxes = []
            for along_x in (True, False):
                lo, hi = np.array([cx, cy, 0.0]), np.array([cx, cy, ext[2]])
                if along_x:  # strip on the edge y = cy
                    lo[0], hi[0] = sorted((cx, cx + sx * cs))
                else:  # strip on the edge x = cx
                    lo[1], hi[1] = sorted((cy, cy + sy * cs))
                boxes.append((lo, hi))
            pads.append(boxes)
    tools = []
    for boxes in pads:
        for lo, hi in boxes:
            if dim == 2:
                p, q = occ.addPoint(*lo), occ.addPoint(*hi)
                tools.append((1, occ.addLine(p, q)))
            else:
                span = hi - lo
                flat = int(np.argmin(span))
                if flat == 2:
                    tools.append((2, occ.addRectangle(*lo, span[0], span[1])))
                else:  # vertical strip: a rectangle in the x-z or y-z plane
                    tag = occ.addRectangle(0, 0, 0, max(span[0], span[1]), span[2])
                    occ.rotate([(2, tag)], 0, 0, 0, 1, 0, 0, np.pi / 2)
                    if flat == 0:
                        occ.rotate([(2, tag)], 0, 0, 0, 0, 0, 1, np.pi / 2)
                    occ.translate([(2, tag)], *lo)
                    tools.append((2, tag))
    out, _ = occ.fragment([(dim, b) for b in bodies], tools)
    occ.synchronize()
    vols = [t for d, t in gmsh.model.getEntities(dim)]
    stray = [
        (d, t)
        for d, t in gmsh.model.getEntities(dim - 1)
        if len(gmsh.model.getAdjacencies(d, t)[0]) == 0
    ]
    if stray:
        occ.remove(stray, recursive=True)
        occ.synchronize()
    extra, owner = {}, {}
    if seeds is None:
        add_group(dim, vols, "sample")
    else:
        owner = {t: nearest_seed(seeds, dim, t) for t in vols}
        extra = _name_grains(dim, owner, seeds, scale)
        extra["grain_spacing"] = (size[0] / max(1, round(size[0] / grain_size))
                                  if grain_arrangement == "cubic"
                                  else _mean_spacing(size, len(set(owner.values()))))
    groups = {f"contact_{k + 1}": [] for k in range(4)}
    rest, inner = [], []
    for _, f in gmsh.model.getEntities(dim - 1):
        up = gmsh.model.getAdjacencies(dim - 1, f)[0]
        if len(up) > 1:  # inside the sample: a boundary between two grains, or not
            if len({owner.get(t, -1) for t in up}) > 1:
                inner.append(f)
            continue
        b = gmsh.model.getBoundingBox(dim - 1, f)
        for k, boxes in enumerate(pads):
            if any(_inside(b[:3], b[3:], lo, hi) for lo, hi in boxes):
                groups[f"contact_{k + 1}"].append(f)
                break
        else:
            rest.append(f)
    for k, tags in groups.items():
        add_group(dim - 1, tags, k)
    add_group(dim - 1, rest, "surface")
    if inner:
        add_group(dim - 1, inner, "grain_boundary")
    sizing = Sizing(dim, h / scale)
    sizing.near([t for tags in groups.values() for t in tags], h_c / scale)
    sizing.apply()
    d = dim - 1
    areas = {k: sum(occ.getMass(d, t) for t in v) * scale**d for k, v in groups.items()}
    areas["surface"] = sum(occ.getMass(d, t) for t in rest) * scale**d
    if inner:
        areas["grain_boundary"] = sum(occ.getMass(d, t) for t in inner) * scale**d
    volume = sum(occ.getMass(dim, t) for t in vols) * scale**dim
    generate(dim, order, scale)
    return metadata(
        NAME,
        params,
        dim,
        dim,
        scale,
        coordinates="cartesian",
        volumes={"sample": volume},
        areas=areas,
        **extra,
    )


def _grain_seeds(size, d: float, arrangement: str, seed: int) -> np.ndarray:
    """Grain seeds (m) in the box [0, size]: a grid of cell centres or uniform points."""
    dim = len(size)
    volume = float(np.prod(size))
    if arrangement == "cubic":
        counts = [max(1, round(s / d)) for s in size]
        n = int(np.prod(counts))
    else:
        n = max(1, round(volume / d**dim))
    if n > 5000:
        raise fail(NAME, "grain_size", d, f"gives {n} grains (at most 5000)")
    if n == 1:
        raise fail(NAME, "grain_size", d, "gives one grain, no grain boundaries (make it "
                   "smaller than the sample, or leave it out)")
    if arrangement == "cubic":
        axes = [(np.arange(c) + 0.5) / c * s for c, s in zip(counts, size, strict=True)]
        return np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, dim)
    return seeds_in_box(np.zeros(dim), np.asarray(size, float), n, seed)


def _mean_spacing(size, n: int) -> float:
    """Mean spacing (m) of n grains filling a box: (V / n)^(1/m) over the m sides longer
    than it (grains span a side thinner than their spacing: a plate, a narrow bar)."""
    sides = sorted(size, reverse=True)
    for m in range(len(sides), 0, -1):
        s = (float(np.prod(sides[:m])) / n) ** (1 / m)
        if sides[m - 1] >= s:
            return s
    return float(sides[0]) / n


def _name_grains(dim: int, piece_owner: dict[int, int], seeds: np.ndarray,
                 scale: float) -> dict:
    """Cell groups "sample.grain_k" (k the seed nearest each piece) and their metadata."""
    owner: dict[int, list[int]] = {}
    for t, k in piece_owner.items():
        owner.setdefault(k, []).append(t)
    names = {}
    for k in sorted(owner):
        names[k] = f"sample.grain_{k}"
        gmsh.model.addPhysicalGroup(dim, sorted(owner[k]), name=names[k])
    occ = gmsh.model.occ
    return {"grains": list(names.values()),
            "grain_volumes": {names[k]: sum(occ.getMass(dim, t) for t in owner[k]) * scale**dim
                              for k in names},
            "seeds": {names[k]: (seeds[k] * scale).tolist() for k in names}}
