"""A rectangular plate (2D) or block (3D) with named sides and refined boxes: the geometry
of the fracture benchmarks (Sneddon's pressurised crack, notched tension, surfing), where
cracks are given as initial damage bands rather than cut into the mesh."""

from __future__ import annotations

import gmsh

from ._common import (
    CellCount,
    Sizing,
    add_group,
    check_length,
    choice,
    count_boxes,
    fail,
    generate,
    metadata,
    options,
    positive,
    refine_boxes,
)

NAME = "plate"




def plate(*, width: float = 1e-4, height: float = 1e-4, depth: float | None = None,
          h: float | None = None, h_fine: float | None = None, refine: object = (),
          origin: str = "center", structured: bool = False,
          periodic: object = (), order: int = 1) -> dict:
    """Rectangle width x height (2D) or block width x height x depth (3D).

    Args:
        width: extent along x (m); default 100 um.
        height: extent along y (m); default 100 um.
        depth: extent along z (m) for a 3D block; None (default) for a 2D plate.
        h: target element size (m); default the smallest extent / 20.
        h_fine: element size (m) of the refined boxes that give no h of their own (resolution
            "fine" halves it with h).
        refine: boxes meshed finer: a table or a list of tables {x = [x0, x1], y = [y0, y1],
            z = [z0, z1] (3D), h} (m); a missing axis spans the whole plate.
        origin: "center" (the plate is centred on 0) or "corner" (it starts at 0).
        structured: a structured (transfinite) mesh of round(extent / h) divisions per side
            (triangles / tetrahedra on a regular grid: node lines across the plate, for
            checks against 1D closed forms); no refine boxes.
        periodic: axes ("x", "y", "z") along which the plate is periodic: the mesh of each
            far side (right, top, back) is the translated copy of the near one (gmsh
            setPeriodic), and the metadata tell the problems to identify the two sides'
            nodes (femcell.solvers.periodic).
        order: geometric order of the elements, 1 or 2.

    Returns:
        Metadata (with "periodic": {"axes", "lo", "hi"} [m] when periodic); groups: cells
        "plate", facets "left", "right" (x), "bottom", "top" (y) and
        "front", "back" (z, 3D).
    """
    width = check_length(NAME, "width", width)
    height = check_length(NAME, "height", height)
    dim = 2 if depth is None else 3
    ext = [width, height] + ([check_length(NAME, "depth", depth)] if dim == 3 else [])
    h = min(ext) / 20 if h is None else positive(NAME, "h", h)
    if h > max(ext):
        raise fail(NAME, "h", h, f"must be at most the largest extent {max(ext)!r} m")
    origin = options(NAME, "origin", origin, ("center", "corner"))
    order = choice(NAME, "order", order, (1, 2))
    if not isinstance(structured, bool):
        raise fail(NAME, "structured", structured, "must be true or false")
    if structured and refine not in ((), [], None):
        raise fail(NAME, "refine", refine, "not with structured = true (a uniform grid)")
    if isinstance(periodic, str) or not isinstance(periodic, (list, tuple)) or any(
            not isinstance(a, str) or len(a) != 1 or a not in "xyz"[:dim] for a in periodic) \
            or len(set(periodic)) != len(periodic):
        raise fail(NAME, "periodic", periodic,
                   f"must be a list of distinct axes out of {list('xyz'[:dim])}")
    if periodic and order != 1:
        raise fail(NAME, "periodic", periodic, "needs order = 1 (straight-sided elements)")
    axes = sorted("xyz".index(a) for a in periodic)
    lo = [-e / 2 for e in ext] if origin == "center" else [0.0] * dim
    hi = [a + e for a, e in zip(lo, ext, strict=True)]
    if h_fine is not None:
        h_fine = positive(NAME, "h_fine", h_fine)
        if h_fine > h:
            raise fail(NAME, "h_fine", h_fine, f"must be at most h = {h!r} m")
    boxes = refine_boxes(NAME, refine, lo, hi, dim, h, h_fine)
    measure = 1.0
    for e in ext:
        measure *= e
    count = CellCount(NAME, dim, ext, measure, h)
    count_boxes(count, boxes, lo, hi, dim)
    count.check()
    s = max(ext)  # model units: lengths / s
    occ = gmsh.model.occ
    if dim == 2:
        tag = occ.addRectangle(lo[0] / s, lo[1] / s, 0.0, width / s, height / s)
    else:
        tag = occ.addBox(lo[0] / s, lo[1] / s, lo[2] / s, width / s, height / s, depth / s)
    occ.synchronize()
    add_group(dim, [tag], "plate")
    sides = {"left": (0, lo[0]), "right": (0, hi[0]), "bottom": (1, lo[1]), "top": (1, hi[1])}
    if dim == 3:
        sides.update({"front": (2, lo[2]), "back": (2, hi[2])})
    faces = gmsh.model.getBoundary([(dim, tag)], oriented=False)
    for name, (axis, value) in sides.items():
        hit = []
        for fd, ft in faces:
            c = occ.getCenterOfMass(fd, ft)
            if abs(c[axis] - value / s) < 1e-9:
                hit.append(ft)
        add_group(dim - 1, hit, name)
        if axis in axes and value == hi[axis]:  # the far side copies the near one's mesh
            near = [ft for fd, ft in faces if abs(occ.getCenterOfMass(fd, ft)[axis]
                                                  - lo[axis] / s) < 1e-9]
            shift = [0.0] * 3
            shift[axis] = ext[axis] / s
            gmsh.model.mesh.setPeriodic(dim - 1, hit, near, [
                1, 0, 0, shift[0], 0, 1, 0, shift[1], 0, 0, 1, shift[2], 0, 0, 0, 1])
    if structured:
        divisions = [max(1, round(e / h)) for e in ext]
        for _cd, ct in gmsh.model.getEntities(1):
            lo_c = gmsh.model.getBoundingBox(1, ct)
            span = [lo_c[3 + a] - lo_c[a] for a in range(dim)]
            axis = int(max(range(dim), key=lambda a: span[a]))
            gmsh.model.mesh.setTransfiniteCurve(ct, divisions[axis] + 1)
        if dim == 3:
            for _fd, ft in faces:
                gmsh.model.mesh.setTransfiniteSurface(ft)
            gmsh.model.mesh.setTransfiniteVolume(tag)
        else:
            gmsh.model.mesh.setTransfiniteSurface(tag)
    sizing = Sizing(dim, h / s)
    for b in boxes:
        sizing.box([b[a][0] / s for a in "xyz"[:dim]], [b[a][1] / s for a in "xyz"[:dim]],
                   b["h"] / s)
    sizing.apply()
    generate(dim, order, s)
    params = {"width": width, "height": height, "depth": depth, "h": h, "h_fine": h_fine,
              "refine": [{k: list(v) if isinstance(v, tuple) else v for k, v in b.items()}
                         for b in boxes], "origin": origin, "structured": structured,
              "periodic": ["xyz"[a] for a in axes], "order": order}
    extra = {"periodic": {"axes": ["xyz"[a] for a in axes], "lo": lo, "hi": hi}} if axes else {}
    return metadata(NAME, params, dim, dim, s, volume=measure, **extra)
