"""symmetric_cell: layers, interface defects, grains, composite cathode, refinement, errors.

Domains are built with ``Domain.from_builder`` (gmsh on rank 0, then distributed), so every
test runs serially and under ``mpiexec -n 2``. Lengths in micrometres, written as ``x * UM``.
"""

from __future__ import annotations

import json
import math

import gmsh
import numpy as np
import pytest

import femcell.materials as mat
from femcell._dolfinx import MPI
from femcell.domain import Domain
from femcell.geometry import BUILDERS, GeometryError

UM = 1e-6
W, TA, TE, TC = 20 * UM, 5 * UM, 10 * UM, 5 * UM  # 2D cell
CELL2 = dict(dim=2, width=W, anode_thickness=TA, electrolyte_thickness=TE, cathode_thickness=TC)
W3, D3, TA3, TE3, TC3 = 10 * UM, 8 * UM, 3 * UM, 6 * UM, 3 * UM  # 3D cell
CELL3 = dict(
    dim=3,
    width=W3,
    depth=D3,
    anode_thickness=TA3,
    electrolyte_thickness=TE3,
    cathode_thickness=TC3,
    h=3 * UM,
    h_interface=2 * UM,
)


def cell(**kw) -> Domain:
    base = CELL3 if kw.get("dim") == 3 else {**CELL2, "h": 2.5 * UM}
    return Domain.from_builder("symmetric_cell", **{**base, **kw})


def area(dom: Domain, name: str) -> float:
    return dom.integrate(1 * dom.dS(name))


def max_edge(dom: Domain, cells: np.ndarray) -> float:
    """Longest edge (m) of the given local cells (vertices only), max over ranks."""
    x = dom.mesh.geometry.x
    nv = dom.tdim + 1
    pts = x[dom.mesh.geometry.dofmaps[0][cells][:, :nv]]
    local = 0.0
    for i in range(nv):
        for j in range(i + 1, nv):
            if len(pts):
                local = max(local, float(np.linalg.norm(pts[:, i] - pts[:, j], axis=1).max()))
    return dom.comm.allreduce(local, op=MPI.MAX)


def interface_cells(dom: Domain, name: str) -> np.ndarray:
    ents = dom.interfaces[name].entities
    return np.unique(ents[:, [0, 2]].ravel())


def facet_cells(dom: Domain, name: str) -> np.ndarray:
    f2c = dom.mesh.topology.connectivity(dom.tdim - 1, dom.tdim)
    facets = dom.facets(name)
    if not len(facets):
        return np.empty(0, np.int32)
    return np.unique(np.concatenate([f2c.links(f) for f in facets]))


# ---------------------------------------------------------------- every feature as a Domain
CASES = {
    "plain-2d": ({}, set(), set()),
    "interlayer-2d": (
        {"interlayer_thickness": 1 * UM},
        {"interlayer"},
        {"anode|interlayer", "electrolyte|interlayer"},
    ),
    "plain-3d": ({"dim": 3}, set(), set()),
    "voids-3d": (
        {
            "dim": 3,
            "voids": [
                {
                    "interface": "anode",
                    "center": [3 * UM, 3 * UM],
                    "footprint": 2 * UM,
                    "height": 1 * UM,
                },
                {
                    "interface": "cathode",
                    "center": [6 * UM, 5 * UM],
                    "footprint": [3 * UM, 2 * UM],
                    "height": 1 * UM,
                },
            ],
        },
        {"void"},
        set(),
    ),
    "pores-grains-3d": (
        {
            "dim": 3,
            "pores": {"interface": "cathode", "count": 2, "radius": 1.5 * UM, "seed": 4},
            "grains": {"mean_size": 5 * UM, "seed": 1},
        },
        {"pore", "grain_boundary"},
        set(),
    ),
    "flaws-3d": (
        {
            "dim": 3,
            "flaws": [
                {
                    "interface": "anode",
                    "x": 3 * UM,
                    "length": 2.5 * UM,
                    "tip_radius": 0.6 * UM,
                    "fill": "anode",
                    "angle_deg": 15,
                },
                {
                    "interface": "cathode",
                    "x": 7 * UM,
                    "y": 4 * UM,
                    "length": 2 * UM,
                    "tip_radius": 0.6 * UM,
                },
            ],
            "h_tip": 1 * UM,
        },
        {"notch"},
        set(),
    ),
    "rough-3d": (
        {
            "dim": 3,
            "roughness": {
                "interface": "anode",
                "rms": 0.2 * UM,
                "correlation_length": 2.5 * UM,
                "seed": 2,
            },
        },
        set(),
        set(),
    ),
    "composite-3d": (
        {
            "dim": 3,
            "cathode": "composite",
            "composite": {"volume_fraction": 0.1, "radius_mean": 1 * UM, "seed": 3},
        },
        {"active"},
        {"active|electrolyte"},
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_every_feature_loads_as_a_domain(case):
    kw, extra, extra_interfaces = CASES[case]
    dom = cell(**kw)
    meta = dom.metadata
    composite = kw.get("cathode") == "composite"
    cells = {"anode", "electrolyte"} | ({"cathode"} if not composite else set())
    cells |= extra & {"interlayer", "active"}
    assert set(dom.cell_regions) - {g for g in dom.cell_regions if "." in g} == cells
    facets = {"anode_cc", "cathode_cc", "sides"} | (extra - {"interlayer", "active"})
    assert set(dom.facet_regions) == facets
    interfaces = {"anode|electrolyte"} if "interlayer" not in extra else set()
    interfaces |= set() if composite else {"cathode|electrolyte"}
    assert set(dom.interfaces) == interfaces | extra_interfaces
    assert sorted(dom.interfaces) == meta["interfaces"]
    json.dumps(meta)  # plain Python types: the metadata goes into summary.json
    assert (meta["gdim"], meta["tdim"]) == (dom.gdim, dom.tdim)
    # the mesh matches the CAD volumes (planar layers exactly; curved defects to ~2 %)
    curved = any(k in kw for k in ("voids", "pores", "flaws", "roughness", "composite"))
    for region in sorted(cells):  # the same order on every rank (collective integrals)
        v = dom.volume(region)
        assert v == pytest.approx(meta["volumes"][region], rel=3e-2 if curved else 1e-10)
    stack = dom.gdim - 1
    total = np.prod(
        [meta["params"]["width"]] + ([meta["params"]["depth"]] if dom.gdim == 3 else [])
    )
    total *= meta["layers"]["cathode" if not composite else "composite"][1]
    assert dom.volume() <= total * (1 + 1e-12)
    if not any(k in kw for k in ("voids", "pores", "flaws")):
        assert dom.volume() == pytest.approx(total, rel=1e-10)
    assert stack in (1, 2)


# ---------------------------------------------------------------- analytic measures
def test_voids_and_pores_2d():
    r_lens, w_box, hv, r_pore = 2 * UM, 3 * UM, 1 * UM, 1 * UM
    dom = cell(
        voids=[
            {"interface": "anode", "center": [5 * UM], "footprint": r_lens, "height": hv},
            {"interface": "anode", "center": [12 * UM], "footprint": [w_box], "height": hv},
        ],
        pores={"interface": "cathode", "radius": r_pore, "centers": [[4 * UM], [15 * UM]]},
        h_interface=0.3 * UM,
        order=2,
    )
    meta = dom.metadata
    # the anode|electrolyte interface is the footprint minus the void footprints
    exact = W - 2 * r_lens - w_box
    assert meta["areas"]["anode|electrolyte"] == pytest.approx(exact, rel=1e-12)
    assert area(dom, "anode|electrolyte") == pytest.approx(exact, rel=1e-10)
    assert area(dom, "cathode|electrolyte") == pytest.approx(W - 4 * r_pore, rel=1e-10)
    anode = W * TA - math.pi * r_lens * hv / 2 - w_box * hv
    electrolyte = W * TE - math.pi * r_pore**2  # two half disks
    cathode = W * TC - math.pi * r_pore**2
    for name, v in (("anode", anode), ("electrolyte", electrolyte), ("cathode", cathode)):
        assert meta["volumes"][name] == pytest.approx(v, rel=1e-9)
        assert dom.volume(name) == pytest.approx(v, rel=1e-5)  # order 2: curved edges
    # void walls: the lens arc and the box's three sides, plus the electrolyte above them
    lens_arc = meta["areas"]["void"] - (2 * r_lens + 2 * hv + 2 * w_box)
    assert 2 * r_lens < lens_arc < 2 * r_lens + 2 * hv  # half-ellipse arc (a=2, b=1 um)
    assert dom.area("void") == pytest.approx(meta["areas"]["void"], rel=1e-5)
    assert dom.area("pore") == pytest.approx(2 * math.pi * r_pore * 2, rel=1e-5)


def test_voids_3d_interface_area():
    r, (w, d), hv = 2 * UM, (3 * UM, 2 * UM), 1 * UM
    dom = cell(
        dim=3,
        voids=[
            {"interface": "anode", "center": [3 * UM, 3 * UM], "footprint": r, "height": hv},
            {"interface": "anode", "center": [7.5 * UM, 5 * UM], "footprint": [w, d], "height": hv},
        ],
    )
    exact = W3 * D3 - math.pi * r**2 - w * d
    assert dom.metadata["areas"]["anode|electrolyte"] == pytest.approx(exact, rel=1e-9)
    # the mesh replaces the lens's circular rim by a polygon: slightly more interface
    assert area(dom, "anode|electrolyte") == pytest.approx(exact, rel=1e-2)
    assert area(dom, "cathode|electrolyte") == pytest.approx(W3 * D3, rel=1e-10)
    anode = W3 * D3 * TA3 - 2 / 3 * math.pi * r**2 * hv - w * d * hv
    assert dom.metadata["volumes"]["anode"] == pytest.approx(anode, rel=1e-7)
    assert dom.volume("anode") == pytest.approx(anode, rel=2e-2)


@pytest.mark.parametrize("fill", ["anode", "void"])
def test_flaw_fill(fill):
    a, rho = 4 * UM, 0.5 * UM
    dom = cell(
        flaws=[
            {
                "interface": "anode",
                "x": 10 * UM,
                "length": a,
                "tip_radius": rho,
                "angle_deg": 20,
                "fill": fill,
            }
        ],
        h_interface=0.5 * UM,
        h_tip=0.15 * UM,
        order=2,
    )
    notch = 2 * rho * (a - rho) + math.pi * rho**2 / 2  # a tilted slot cut by the interface
    anode = W * TA + (notch if fill == "anode" else 0.0)
    meta = dom.metadata
    assert meta["volumes"]["anode"] == pytest.approx(anode, rel=1e-9)
    assert meta["volumes"]["electrolyte"] == pytest.approx(W * TE - notch, rel=1e-9)
    assert dom.volume("anode") == pytest.approx(anode, rel=1e-6)
    assert dom.volume("electrolyte") == pytest.approx(W * TE - notch, rel=1e-6)
    walls = 2 * (a - rho) + math.pi * rho  # the interface cuts both walls symmetrically
    if fill == "anode":  # a Li-filled notch: "notch" is an interior facet group
        assert area(dom, "notch") == pytest.approx(walls, rel=1e-4)
        assert area(dom, "anode|electrolyte") == pytest.approx(
            W - 2 * rho / math.cos(math.radians(20)) + walls, rel=1e-4
        )
    else:
        assert dom.area("notch") == pytest.approx(
            walls + 2 * rho / math.cos(math.radians(20)), rel=1e-4
        )
    # refinement around the tip: every cell near the tip centre is at most h_tip
    (flaw,) = meta["flaws"]
    centre = np.array(flaw["tip_center"])
    x = dom.mesh.geometry.x[:, :2]
    dofs = dom.mesh.geometry.dofmaps[0]
    near = np.flatnonzero(np.linalg.norm(x[dofs[:, :3]].mean(axis=1) - centre, axis=1) < 2 * rho)
    assert dom.comm.allreduce(len(near), op=MPI.SUM) > 20
    assert max_edge(dom, near) <= 0.15 * UM


# ---------------------------------------------------------------- refinement
@pytest.mark.parametrize("dim", [2, 3])
def test_refined_interface_element_size(dim):
    h_int = 0.8 * UM if dim == 2 else 1.5 * UM
    dom = cell(dim=dim, h_interface=h_int, h=(2.5 if dim == 2 else 3) * UM)
    for name in ("anode|electrolyte", "cathode|electrolyte"):
        assert max_edge(dom, interface_cells(dom, name)) <= h_int
    assert max_edge(dom, dom.cells()) > 1.2 * h_int  # coarser away from the interfaces
    assert max_edge(dom, facet_cells(dom, "anode_cc")) > h_int


# ---------------------------------------------------------------- grains, roughness, cathode
@pytest.mark.parametrize("dim", [2, 3])
def test_grains_fill_the_electrolyte(dim):
    dom = cell(
        dim=dim,
        grains={"mean_size": (4 if dim == 2 else 5) * UM, "seed": 5},
        interlayer_thickness=1 * UM,
    )
    meta = dom.metadata
    grains = meta["grains"]
    assert len(grains) > 2 and dom.grains("electrolyte") == sorted(grains)
    total = sum(meta["grain_volumes"].values())
    assert total == pytest.approx(meta["volumes"]["electrolyte"], rel=1e-10)
    layer = np.prod([W] if dim == 2 else [W3, D3]) * (TE if dim == 2 else TE3)
    assert total == pytest.approx(layer, rel=1e-10)
    for g in grains[:3]:
        assert dom.volume(g) == pytest.approx(meta["grain_volumes"][g], rel=1e-9)
    assert area(dom, "grain_boundary") > 0
    assert set(meta["orientations"]) == set(grains)


def test_grain_orientations_round_trip():
    dom = cell(dim=3, grains={"mean_size": 5 * UM, "seed": 8})
    principal = np.array([1.0, 2.0, 3.0])
    for euler in dom.metadata["orientations"].values():
        q = mat.rotation_from_euler(euler)
        d = mat.diffusivity_tensor(principal, q)
        for k in range(3):  # the rotated crystal axes are the eigenvectors of D
            assert d @ q[:, k] == pytest.approx(principal[k] * q[:, k], abs=1e-12)


def test_roughness_2d():
    rms = 0.4 * UM
    dom = cell(
        roughness={"interface": "anode", "rms": rms, "correlation_length": 2 * UM, "seed": 1},
        h_interface=0.5 * UM,
    )
    meta = dom.metadata
    assert meta["roughness"]["anode"]["rms"] == rms
    assert 0 < meta["roughness"]["anode"]["amplitude"] < 0.4 * TA
    length = area(dom, "anode|electrolyte")
    assert W * 1.01 < length < W * 2
    assert length == pytest.approx(meta["areas"]["anode|electrolyte"], rel=1e-2)  # chords
    both = dom.volume("anode") + dom.volume("electrolyte")
    assert both == pytest.approx(W * (TA + TE), rel=1e-9)
    assert dom.volume("anode") == pytest.approx(W * TA, rel=0.05)
    assert area(dom, "cathode|electrolyte") == pytest.approx(W, rel=1e-10)


def test_composite_cathode_layer():
    dom = cell(
        cathode="composite",
        grains={"mean_size": 5 * UM, "seed": 2},
        composite={"volume_fraction": 0.3, "radius_mean": 1 * UM, "seed": 7},
        order=2,
        h_interface=0.5 * UM,
    )
    meta = dom.metadata
    assert meta["volume_fraction"] == pytest.approx(0.3, rel=1e-12)
    layer = W * TC
    assert dom.volume("active") / layer == pytest.approx(0.3, rel=1e-2)
    assert "electrolyte.matrix" in dom.grains("electrolyte")
    assert "cathode_cc" in dom.facet_regions and "cathode" not in dom.cell_regions
    y0 = meta["layers"]["composite"][0]
    for p in meta["particles"].values():
        assert p["center"][1] - p["radius"] > y0


# ---------------------------------------------------------------- determinism, errors
def _build(params):
    gmsh.initialize()
    gmsh.option.setNumber("General.Terminal", 0)
    gmsh.model.add("femcell")
    try:
        meta = BUILDERS["symmetric_cell"](**params)
        tags, coords, _ = gmsh.model.mesh.getNodes()
        return meta, tags, coords
    finally:
        gmsh.finalize()


def test_deterministic():
    params = {
        **CELL2,
        "h": 2.5 * UM,
        "h_interface": 1 * UM,
        "pores": {"interface": "anode", "count": 3, "radius": 1 * UM},
        "grains": {"mean_size": 5 * UM},
        "roughness": {"interface": "cathode", "rms": 0.2 * UM, "correlation_length": 2 * UM},
        "seed": 9,
    }
    (m1, t1, x1), (m2, t2, x2) = _build(params), _build(params)
    assert m1 == m2
    assert np.array_equal(t1, t2) and np.array_equal(x1, x2)
    (m3, _, _) = _build({**params, "seed": 10})
    assert m3["pores"] != m1["pores"]


P = {"interface": "anode", "radius": 1 * UM}
BAD = [
    ({"dim": 1}, "dim"),
    ({"width": -1.0}, "width"),
    ({"h_interface": 3 * UM}, "h_interface"),
    ({"cathode": "nickel"}, "cathode"),
    ({"pores": {**P, "centers": [[5 * UM], [6.5 * UM]]}}, "pores[0].centers[1]"),
    ({"pores": {**P, "radius": 5 * UM, "count": 1}}, "pores[0].radius"),
    ({"pores": {**P, "count": 12}}, "pores[0].count"),
    ({"pores": {**P, "centers": [[0.5 * UM]]}}, "pores[0].centers[0]"),
    ({"pores": {**P, "count": 1, "colour": "red"}}, "pores[0].colour"),
    ({"pores": {**P, "interface": "separator", "count": 1}}, "pores[0].interface"),
    (
        {"flaws": [{"interface": "anode", "x": 10 * UM, "length": 12 * UM, "tip_radius": UM}]},
        "flaws[0].length",
    ),
    (
        {
            "flaws": [
                {
                    "interface": "anode",
                    "x": 10 * UM,
                    "length": 2 * UM,
                    "tip_radius": UM,
                    "fill": "cathode",
                }
            ]
        },
        "flaws[0].fill",
    ),
    (
        {"voids": [{"interface": "anode", "center": [19 * UM], "footprint": 2 * UM, "height": UM}]},
        "voids[0].center",
    ),
    (
        {
            "voids": [
                {"interface": "anode", "center": [9 * UM], "footprint": 2 * UM, "height": 6 * UM}
            ]
        },
        "voids[0].height",
    ),
    (
        {
            "voids": [
                {"interface": "anode", "center": [9 * UM], "footprint": 2 * UM, "height": UM}
            ],
            "pores": {**P, "centers": [[10 * UM]]},
        },
        "pores[0].centers[0]",
    ),
    (
        {
            "voids": [
                {"interface": "anode", "center": [9 * UM], "footprint": 2 * UM, "height": UM}
            ],
            "roughness": {"interface": "anode", "rms": 0.1 * UM, "correlation_length": 2 * UM},
        },
        "roughness[0].interface",
    ),
    (
        {"roughness": {"interface": "anode", "rms": 3 * UM, "correlation_length": 2 * UM}},
        "roughness[0].rms",
    ),
    ({"cathode": "composite"}, "composite"),
    (
        {"cathode": "composite", "composite": {"volume_fraction": 0.6, "radius_mean": UM}},
        "volume_fraction",
    ),
    ({"grains": {"mean_size": 0.0}}, "grains.mean_size"),
    ({"grains": {"mean_size": 5 * UM, "arrangement": "hexagonal"}}, "grains.arrangement"),
    ({"grains": {"mean_size": 5 * UM, "boundary_thickness": 0.1 * UM}},
     "grains.boundary_thickness"),
    ({"grains": {"mean_size": 5 * UM, "arrangement": "cubic", "boundary_thickness": 3 * UM}},
     "grains.boundary_thickness"),
    ({"grains": {"mean_size": 5 * UM, "arrangement": "cubic", "boundary_thickness": 0.1 * UM},
      "roughness": {"interface": "anode", "rms": 0.2 * UM, "correlation_length": 2 * UM}},
     "grains.boundary_thickness"),
]


@pytest.mark.parametrize(("params", "culprit"), BAD, ids=lambda p: p if isinstance(p, str) else "")
def test_invalid_geometry(params, culprit):
    gmsh.initialize()
    gmsh.option.setNumber("General.Terminal", 0)
    gmsh.model.add("femcell")
    try:
        with pytest.raises(GeometryError) as info:
            BUILDERS["symmetric_cell"](**{**CELL2, "h": 2.5 * UM, **params})
        message = str(info.value)
        assert f"{culprit}=" in message and "\n" not in message
        assert message.startswith("symmetric_cell: ")
        assert gmsh.model.getEntities() == []  # rejected before anything was built
    finally:
        gmsh.finalize()


def test_composite_particles_coarser_h_than_their_radius_still_mesh():
    """h = 3 um around 1 um particles: the particle surfaces are meshed at the particle size
    (gmsh used to crash the process here instead of raising)."""
    from femcell.domain import Domain

    d = Domain.from_builder("symmetric_cell", dim=3, width=10e-6, depth=8e-6,
                            anode_thickness=3e-6, electrolyte_thickness=6e-6,
                            cathode_thickness=3e-6, h=3e-6, cathode="composite",
                            composite={"volume_fraction": 0.1, "radius_mean": 1e-6, "seed": 3})
    n = sum(1 for r in d.cell_regions if r.startswith("active.particle_"))
    assert n >= 1
    # each particle's volume is resolved: the active volume is n spheres of 1 um within 15 %
    assert d.volume("active") == pytest.approx(n * 4 / 3 * math.pi * 1e-18, rel=0.15)


@pytest.mark.parametrize("dim", [2, 3])
def test_cubic_grains_are_a_brick_layer(dim):
    """arrangement = "cubic": round(L / d) box grains per side of the electrolyte, the
    boundaries planar (grain volumes exact); with boundary_thickness the grains shrink at
    shared faces and the layers between them form "electrolyte.matrix"."""
    d = 5 * UM
    dom = cell(dim=dim, grains={"mean_size": d, "arrangement": "cubic"})
    foot = [W] if dim == 2 else [W3, D3]
    te = TE if dim == 2 else TE3
    counts = [max(1, round(s / d)) for s in [*foot, te]]
    grains = dom.metadata["grains"]
    assert len(grains) == np.prod(counts)
    box = np.prod([s / c for s, c in zip([*foot, te], counts, strict=True)])
    for g in grains:
        assert dom.volume(g) == pytest.approx(box, rel=1e-9)
    delta = 0.4 * UM
    dom = cell(dim=dim, grains={"mean_size": d, "arrangement": "cubic",
                                "boundary_thickness": delta})
    layer = np.prod(foot) * te
    gaps = layer - np.prod([s - (c - 1) * delta for s, c in zip([*foot, te], counts,
                                                                 strict=True)])
    assert dom.volume("electrolyte.matrix") == pytest.approx(gaps, rel=1e-9)
    assert "grain_boundary" not in dom.facet_regions  # no two grains touch
