"""polycrystal, composite_cathode, notched_electrolyte, four_probe and the example .geo files.

Domains are built with ``Domain.from_builder`` / ``Domain.from_file`` (gmsh on rank 0), so
every test runs serially and under ``mpiexec -n 2``. Collective calls (integrals) run in the
same order on every rank: loops go over sorted names, never over sets.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import gmsh
import numpy as np
import pytest

import femcell.materials as mat
from femcell._dolfinx import MPI
from femcell.domain import Domain
from femcell.geometry import BUILDERS, GeometryError

UM = 1e-6
MESHES = Path(__file__).resolve().parents[2] / "meshes"


def area(dom: Domain, name: str) -> float:
    return dom.integrate(1 * dom.dS(name))


def max_edge(dom: Domain, cells: np.ndarray) -> float:
    """Longest edge (m) of the given local cells (vertices only), max over ranks."""
    nv = dom.tdim + 1
    pts = dom.mesh.geometry.x[dom.mesh.geometry.dofmaps[0][cells][:, :nv]]
    local = 0.0
    if len(pts):
        for i in range(nv):
            for j in range(i + 1, nv):
                local = max(local, float(np.linalg.norm(pts[:, i] - pts[:, j], axis=1).max()))
    return dom.comm.allreduce(local, op=MPI.MAX)


def cells_where(dom: Domain, inside) -> np.ndarray:
    """Local cells whose vertices all satisfy ``inside(x)`` (x: (n, 3) array)."""
    nv = dom.tdim + 1
    pts = dom.mesh.geometry.x[dom.mesh.geometry.dofmaps[0][:, :nv]]
    ok = np.all(inside(pts.reshape(-1, 3)).reshape(-1, nv), axis=1)
    return np.flatnonzero(ok)


def test_all_builders_registered():
    assert set(BUILDERS) >= {
        "symmetric_cell",
        "polycrystal",
        "interval",
        "sphere",
        "half_disk",
        "ellipsoid",
        "polycrystal_particle",
        "composite_cathode",
        "notched_electrolyte",
        "four_probe",
    }


# ---------------------------------------------------------------- polycrystal
@pytest.mark.parametrize("dim", [2, 3])
def test_polycrystal(dim):
    size = [12 * UM, 8 * UM] if dim == 2 else [8 * UM, 6 * UM, 5 * UM]
    dom = Domain.from_builder(
        "polycrystal", dim=dim, size=size, mean_grain_size=3 * UM, seed=4, h=2 * UM
    )
    meta = dom.metadata
    sides = {"left", "right", "bottom", "top"} | ({"front", "back"} if dim == 3 else set())
    assert set(dom.facet_regions) == sides | {"grain_boundary"}
    grains = meta["grains"]
    n = round(math.prod(size) / (3 * UM) ** dim)
    assert grains == [f"electrolyte.grain_{k}" for k in range(len(grains))] and len(grains) == n
    assert dom.grains("electrolyte") == sorted(grains)
    box = math.prod(size)
    total = sum(meta["grain_volumes"].values())
    assert total == pytest.approx(meta["volumes"]["electrolyte"], rel=1e-10)
    assert total == pytest.approx(box, rel=1e-10)
    assert dom.volume("electrolyte") == pytest.approx(box, rel=1e-10)
    for g in grains:  # planar grain boundaries: the mesh has the exact grain volumes
        assert dom.volume(g) == pytest.approx(meta["grain_volumes"][g], rel=1e-9)
    for s in sorted(sides):
        assert dom.area(s) > 0
    assert dom.area("left") == pytest.approx(math.prod(size[1:]), rel=1e-10)
    assert area(dom, "grain_boundary") > 0
    assert dom.interfaces == {}  # grains of one region: no interface, a facet group
    json.dumps(meta)  # plain Python types: the metadata goes into summary.json


def test_polycrystal_orientations_round_trip():
    from scipy.spatial.transform import Rotation

    size = [6 * UM, 6 * UM, 4 * UM]
    dom = Domain.from_builder(
        "polycrystal", dim=3, size=size, mean_grain_size=3 * UM, seed=11, h=3 * UM
    )
    euler = dom.metadata["orientations"]
    assert list(euler) == dom.metadata["grains"]
    n = len(euler)
    expected = Rotation.random(n, random_state=11)  # no grain is empty in this box
    got = Rotation.from_euler("ZXZ", list(euler.values()))
    assert (got.inv() * expected).magnitude() == pytest.approx(0.0, abs=1e-12)
    principal = np.array([1e-14, 2e-14, 5e-14])
    for angles in euler.values():
        phi1, Phi, phi2 = angles
        assert 0 <= phi1 < 2 * math.pi and 0 <= Phi <= math.pi and 0 <= phi2 < 2 * math.pi
        q = mat.rotation_from_euler(angles)
        d = mat.diffusivity_tensor(principal, q)
        for k in range(3):  # eigenvectors of D are the rotated crystal axes
            assert d @ q[:, k] == pytest.approx(principal[k] * q[:, k], rel=1e-12, abs=1e-28)


def test_polycrystal_2d_in_plane_orientation():
    dom = Domain.from_builder(
        "polycrystal", dim=2, size=[8 * UM, 8 * UM], mean_grain_size=4 * UM, seed=3, h=2 * UM
    )
    principal = [1.0, 3.0, 3.0]
    for phi1, Phi, phi2 in dom.metadata["orientations"].values():
        assert Phi == 0.0 and phi2 == 0.0
        d = mat.diffusivity_tensor(principal, mat.rotation_from_euler(phi1), dim=2)
        a = np.array([math.cos(phi1), math.sin(phi1)])  # crystal a axis in the plane
        assert d @ a == pytest.approx(1.0 * a, abs=1e-12)


# ---------------------------------------------------------------- composite cathode
@pytest.mark.parametrize("dim", [2, 3])
def test_composite_cathode(dim):
    vf, r, sep = (0.4, 1.2 * UM, 2 * UM) if dim == 2 else (0.15, 1.5 * UM, 1 * UM)
    size = [14 * UM, 10 * UM] if dim == 2 else [8 * UM, 8 * UM, 7 * UM]
    h_int = r / 2
    dom = Domain.from_builder(
        "composite_cathode",
        dim=dim,
        size=size,
        volume_fraction=vf,
        radius_mean=r,
        radius_std=0.2 * r,
        seed=5,
        h=3 * UM,
        h_interface=h_int,
        separator_thickness=sep,
        order=2,
    )
    meta = dom.metadata
    assert set(dom.facet_regions) == {"cathode_cc", "separator", "sides"}
    assert list(dom.interfaces) == ["active|electrolyte"]
    json.dumps(meta)
    assert meta["volume_fraction"] == pytest.approx(vf, rel=1e-12)
    composite = math.prod(size)
    assert meta["composite_volume"] == pytest.approx(composite, rel=1e-12)
    assert dom.volume("active") / composite == pytest.approx(vf, rel=1e-2)
    total = composite + math.prod(size[:-1]) * sep
    assert dom.volume() == pytest.approx(total, rel=1e-4)
    # particles: inside the particle-filled box, apart from each other, gap >= min_gap
    gap = meta["params"]["min_gap"]
    assert gap == pytest.approx(0.1 * r)
    c = np.array([p["center"] for p in meta["particles"].values()])
    rad = np.array([p["radius"] for p in meta["particles"].values()])
    lo = np.zeros(dim)
    lo[-1] = sep
    hi = lo + np.array(size)
    assert np.all(c - rad[:, None] >= lo + gap * (1 - 1e-12))
    assert np.all(c + rad[:, None] <= hi - gap * (1 - 1e-12))
    dist = np.linalg.norm(c[:, None] - c[None], axis=2) + np.eye(len(c)) * 1e9
    assert np.all(dist >= rad[:, None] + rad[None] + gap * (1 - 1e-12))
    assert len(c) == len(dom.grains("active")) >= 3
    # refined particle surfaces
    itf = dom.interfaces["active|electrolyte"].entities
    assert max_edge(dom, np.unique(itf[:, [0, 2]])) <= h_int


# ---------------------------------------------------------------- notched electrolyte
@pytest.mark.parametrize("dim", [2, 3])
def test_notched_electrolyte(dim):
    width, thickness, depth = 12 * UM, 8 * UM, 2 * UM
    a, rho, h_tip, ahead = 3 * UM, 0.4 * UM, 0.3 * UM, 2 * UM
    flaws = [{"x": 4 * UM, "length": a, "tip_radius": rho}]
    if dim == 2:  # and a tapered notch
        flaws.append({"x": 9 * UM, "length": 2 * UM, "tip_radius": 0.2 * UM, "opening": UM})
    dom = Domain.from_builder(
        "notched_electrolyte",
        dim=dim,
        width=width,
        thickness=thickness,
        depth=depth if dim == 3 else None,
        h=2 * UM,
        flaws=flaws,
        h_tip=h_tip,
        refine_length=ahead,
        order=2 if dim == 2 else 1,
    )
    meta = dom.metadata
    assert set(dom.facet_regions) == {"anode_side", "cathode_side", "sides", "notch"}
    assert dom.cell_regions == ["electrolyte"]
    json.dumps(meta)
    slot = 2 * rho * (a - rho) + math.pi * rho**2 / 2  # the U-slot
    extent = width * (depth if dim == 3 else 1.0)
    if dim == 2:
        tapered = width * thickness - slot - meta["volumes"]["electrolyte"]
        assert 2 * 0.2 * UM * 1.8 * UM < tapered < UM * 2 * UM  # between a U-slot and a box
        assert dom.volume() == pytest.approx(meta["volumes"]["electrolyte"], rel=1e-6)
        assert dom.area("anode_side") == pytest.approx(width - 2 * rho - UM, rel=1e-10)
    else:
        exact = (width * thickness - slot) * depth
        assert meta["volumes"]["electrolyte"] == pytest.approx(exact, rel=1e-9)
        assert dom.volume() == pytest.approx(exact, rel=1e-2)
        assert dom.area("anode_side") == pytest.approx(extent - 2 * rho * depth, rel=1e-10)
    assert dom.area("cathode_side") == pytest.approx(extent, rel=1e-10)
    walls = (2 * (a - rho) + math.pi * rho) * (depth if dim == 3 else 1.0)
    assert dom.area("notch") > walls * (1 - 2e-2)
    (f0, *_) = meta["flaws"]
    assert f0["apex"][dim - 1] == pytest.approx(a)
    # the tip and the path ahead of it (to apex + refine_length) are meshed with h <= h_tip
    x0, tip = 4 * UM, f0["tip_center"][dim - 1]

    def band(x):
        return (
            (np.abs(x[:, 0] - x0) < 2 * rho) & (x[:, dim - 1] > tip) & (x[:, dim - 1] < a + ahead)
        )

    near = cells_where(dom, band)
    assert dom.comm.allreduce(len(near), op=MPI.SUM) > 10
    assert max_edge(dom, near) <= h_tip


@pytest.mark.parametrize("dim", [2, 3])
def test_pore_and_semi_elliptical_flaws(dim):
    """Pores (2D/3D) and semi-elliptical surface flaws (3D): exact OCC volumes, the walls as
    their own facets, the bottom face with its hole, and the flaw metadata."""
    width, thickness, depth = 12 * UM, 8 * UM, 10 * UM
    r, lig = 1 * UM, 0.5 * UM
    flaws = [{"shape": "pore", "x": 9 * UM, "radius": r, "ligament": lig}]
    if dim == 3:
        flaws[0]["y"] = 3 * UM
        a, c, w = 3 * UM, 3 * UM, 1 * UM
        flaws.append({"shape": "semi_elliptical", "x": 4 * UM, "length": a,
                      "surface_length": 2 * c, "opening": w})
    dom = Domain.from_builder(
        "notched_electrolyte", dim=dim, width=width, thickness=thickness,
        depth=depth if dim == 3 else None, h=2 * UM, flaws=flaws, h_tip=0.5 * UM,
        refine_length=UM,
    )
    meta = dom.metadata
    pore = math.pi * r**2 if dim == 2 else 4 / 3 * math.pi * r**3
    half_ellipsoid = 2 / 3 * math.pi * (w / 2) * c * a if dim == 3 else 0.0
    slab = width * thickness * (depth if dim == 3 else 1.0)
    assert meta["volumes"]["electrolyte"] == pytest.approx(slab - pore - half_ellipsoid, rel=1e-5)
    assert dom.volume() == pytest.approx(meta["volumes"]["electrolyte"], rel=1e-2)
    wall = 2 * math.pi * r if dim == 2 else 4 * math.pi * r**2
    assert dom.area("pore") == pytest.approx(wall, rel=2e-2)
    bottom = width * (depth if dim == 3 else 1.0) - (math.pi * w / 2 * c if dim == 3 else 0.0)
    assert dom.area("anode_side") == pytest.approx(bottom, rel=1e-3)
    expected = {"anode_side", "cathode_side", "sides", "pore"} | ({"notch"} if dim == 3 else set())
    assert set(dom.facet_regions) == expected
    p0 = meta["flaws"][0]
    assert p0["apex"][dim - 1] == pytest.approx(lig) and p0["size"] == pytest.approx(lig + 2 * r)
    if dim == 3:
        e = meta["flaws"][1]
        assert e["apex"] == pytest.approx([4 * UM, depth / 2, a]) and e["size"] == a
        assert e["tip_center"][2] == pytest.approx(a - (w / 2) ** 2 / a)


def test_symmetric_cell_refine_box():
    """A refined box along an expected crack path in a symmetric cell: cells inside it are
    no larger than its h, the rest keeps h."""
    box = {"x": [27 * UM, 33 * UM], "y": [50 * UM, 71 * UM], "h": 0.5 * UM}
    dom = Domain.from_builder("symmetric_cell", width=60 * UM, electrolyte_thickness=60 * UM,
                              anode_thickness=10 * UM, cathode_thickness=10 * UM, h=10 * UM,
                              refine=box)

    def inside(x):
        return ((x[:, 0] > 27.5 * UM) & (x[:, 0] < 32.5 * UM) & (x[:, 1] > 50.5 * UM)
                & (x[:, 1] < 70.5 * UM))

    near = cells_where(dom, inside)
    assert dom.comm.allreduce(len(near), op=MPI.SUM) > 400
    assert max_edge(dom, near) <= 0.5 * UM * 1.05
    assert dom.metadata["params"]["refine"][0]["h"] == 0.5 * UM


# ---------------------------------------------------------------- four-probe samples
PROBES = [
    dict(kind="bar", dim=2, length=10e-3, width=2e-3, h=1e-3),
    dict(
        kind="bar",
        dim=3,
        length=10e-3,
        width=2e-3,
        thickness=1e-3,
        h=1e-3,
        contact_positions=[1e-3, 3e-3, 6e-3, 9e-3],
        contact_width=0.5e-3,
        contact_depth=1e-3,
    ),
    dict(kind="van_der_pauw", dim=2, side=5e-3, h=1e-3),
    dict(kind="van_der_pauw", dim=3, side=5e-3, thickness=0.5e-3, contact_size=0.4e-3, h=1e-3),
]


@pytest.mark.parametrize("params", PROBES, ids=lambda p: f"{p['kind']}-{p['dim']}d")
def test_four_probe(params):
    dom = Domain.from_builder("four_probe", **params)
    contacts = [f"contact_{k}" for k in range(1, 5)]
    assert dom.cell_regions == ["sample"]
    assert dom.facet_regions == [*contacts, "surface"]
    json.dumps(dom.metadata)
    dim = params["dim"]
    if params["kind"] == "bar":
        cw = params.get("contact_width", params["length"] / 16)
        pad = cw * (params.get("contact_depth", 1.0) if dim == 3 else 1.0)
        volume = params["length"] * params["width"] * params.get("thickness", 1.0)
        # pads sit on the top face, centred at the given positions
        pos = params.get("contact_positions", [params["length"] * k / 8 for k in (1, 3, 5, 7)])
        assert dom.metadata["params"]["contact_positions"] == pytest.approx(pos)
    else:
        c = params.get("contact_size", params["side"] / 20)
        pad = 2 * c * (params["thickness"] if dim == 3 else 1.0)
        volume = params["side"] ** 2 * params.get("thickness", 1.0)
    for name in contacts:
        assert dom.area(name) == pytest.approx(pad, rel=1e-10)
        assert dom.metadata["areas"][name] == pytest.approx(pad, rel=1e-10)
    assert dom.volume() == pytest.approx(volume, rel=1e-10)


@pytest.mark.parametrize("arrangement", ["cubic", "random"])
def test_four_probe_polycrystal(arrangement):
    """A van der Pauw plate cut into grains: the grains tile it, the contacts are unchanged,
    and the boundaries between grains (only) form "grain_boundary": 4 + 4 planes of
    5 x 0.5 mm for 1 mm cubic grains."""
    params = dict(kind="van_der_pauw", dim=3, side=5e-3, thickness=0.5e-3, contact_size=0.4e-3,
                  h=5e-4, grain_size=1e-3, grain_arrangement=arrangement, grain_seed=3)
    dom = Domain.from_builder("four_probe", **params)
    grains = dom.grains("sample")
    assert sorted(grains) == sorted(dom.metadata["grains"]) and len(grains) > 10
    assert sum(dom.metadata["grain_volumes"].values()) == pytest.approx(1.25e-8, rel=1e-9)
    assert dom.volume() == pytest.approx(1.25e-8, rel=1e-10)
    for k in range(1, 5):
        assert dom.area(f"contact_{k}") == pytest.approx(2 * 0.4e-3 * 0.5e-3, rel=1e-10)
    assert dom.inner_groups("sample") == ["", "grain_boundary"]
    spacing = dom.metadata["grain_spacing"]
    # a plate thinner than the grains: the spacing is in-plane (25 mm^2 / n)^(1/2)
    assert spacing == pytest.approx(1e-3 if arrangement == "cubic"
                                    else (25e-6 / len(grains)) ** 0.5, rel=1e-12)
    if arrangement == "cubic":
        assert len(grains) == 25
        assert dom.metadata["areas"]["grain_boundary"] == pytest.approx(8 * 5e-3 * 0.5e-3,
                                                                rel=1e-10)


def test_four_probe_polycrystal_without_a_shared_tessellation(monkeypatch):
    """When the conformal tessellation fails, the independent Voronoi cells (from the same
    polytopes) are fragmented with the box: the same grains and boundary length (this
    checks the fallback path as a whole, not its handling of overlaps or gaps, which the
    same polytopes do not make); and a cubic pitch that does not divide the side (2.2 mm
    asked on 5 mm: two grains of 2.5 mm per side)."""
    from femcell.geometry import probe

    params = dict(kind="van_der_pauw", dim=2, side=5e-3, h=2.5e-4, grain_size=7e-4,
                  grain_seed=4)
    ref = Domain.from_builder("four_probe", **params).metadata
    monkeypatch.setattr(probe, "tessellation", lambda *a: None)
    dom = Domain.from_builder("four_probe", **params)
    assert sorted(dom.grains("sample")) == sorted(ref["grains"])
    assert dom.metadata["areas"]["grain_boundary"] == pytest.approx(
        ref["areas"]["grain_boundary"], rel=1e-9)
    assert dom.volume() == pytest.approx(25e-6, rel=1e-10)
    cubic = Domain.from_builder("four_probe", **{**params, "grain_size": 2.2e-3,
                                                 "grain_arrangement": "cubic"})
    assert cubic.metadata["grain_spacing"] == pytest.approx(2.5e-3)
    assert cubic.metadata["areas"]["grain_boundary"] == pytest.approx(2 * 5e-3, rel=1e-10)


# ---------------------------------------------------------------- example .geo files
GEO = {
    "symmetric_cell_2d.geo": (
        ["anode", "cathode", "electrolyte"],
        ["anode_cc", "cathode_cc", "sides", "void"],
        ["anode|electrolyte", "cathode|electrolyte"],
    ),
    "notched_electrolyte_2d.geo": (
        ["electrolyte"],
        ["anode_side", "cathode_side", "notch", "sides"],
        [],
    ),
    "composite_cathode_2d.geo": (
        ["active", "active.particle_0", "active.particle_1", "active.particle_2", "electrolyte"],
        ["cathode_cc", "separator", "sides"],
        ["active|electrolyte"],
    ),
}


@pytest.mark.parametrize("name", list(GEO))
def test_geo_files_load(name):
    dom = Domain.from_file(MESHES / name)
    cells, facets, interfaces = GEO[name]
    assert dom.cell_regions == cells
    assert dom.facet_regions == facets
    assert list(dom.interfaces) == interfaces
    assert dom.size() < 1e-4  # metres
    if name == "symmetric_cell_2d.geo":
        assert area(dom, "anode|electrolyte") == pytest.approx(40 * UM, rel=1e-10)
        anode = 50 * 10 * UM**2 - math.pi * 5 * 1 * UM**2 / 2
        assert dom.volume("anode") == pytest.approx(anode, rel=1e-3)
    if name == "composite_cathode_2d.geo":
        assert dom.volume("active") == pytest.approx(3 * math.pi * (3 * UM) ** 2, rel=1e-2)
    if name == "notched_electrolyte_2d.geo":
        slot = 1 * 5.5 * UM**2 + math.pi * (0.5 * UM) ** 2 / 2
        assert dom.volume() == pytest.approx(40 * 20 * UM**2 - slot, rel=1e-5)


# ---------------------------------------------------------------- invalid parameters
POLY = dict(dim=2, size=[10 * UM, 10 * UM], mean_grain_size=3 * UM, seed=1, h=2 * UM)
COMP = dict(dim=2, size=[10 * UM, 10 * UM], volume_fraction=0.3, radius_mean=UM, h=2 * UM)
NOTCH = dict(
    dim=2,
    width=10 * UM,
    thickness=5 * UM,
    h=UM,
    flaws=[{"x": 5 * UM, "length": 2 * UM, "tip_radius": 0.2 * UM}],
)
BAR = dict(kind="bar", dim=2, length=10e-3, width=2e-3, h=1e-3)
F = NOTCH["flaws"][0]
BAD = [
    ("polycrystal", {**POLY, "size": [10 * UM]}, "size"),
    ("polycrystal", {**POLY, "mean_grain_size": -UM}, "mean_grain_size"),
    ("polycrystal", {**POLY, "mean_grain_size": 0.05 * UM}, "mean_grain_size"),
    ("polycrystal", {**POLY, "h": 20 * UM}, "h"),
    ("polycrystal", {**POLY, "region": "a.b"}, "region"),
    ("composite_cathode", {**COMP, "volume_fraction": 0.62}, "volume_fraction"),
    (
        "composite_cathode",
        {**COMP, "dim": 3, "size": [4 * UM] * 3, "volume_fraction": 0.4},
        "volume_fraction",
    ),
    ("composite_cathode", {**COMP, "radius_mean": 20 * UM, "volume_fraction": 0.7}, "radius_mean"),
    ("four_probe", {**BAR, "h": 20e-3}, "h"),
    ("composite_cathode", {**COMP, "min_gap": 0.0}, "min_gap"),
    ("composite_cathode", {**COMP, "h_interface": 3 * UM}, "h_interface"),
    ("notched_electrolyte", {**NOTCH, "flaws": [{**F, "length": 5 * UM}]}, "flaws[0].length"),
    ("notched_electrolyte", {**NOTCH, "flaws": [F, {**F, "x": 5.2 * UM}]}, "flaws[1].x"),
    ("notched_electrolyte", {**NOTCH, "flaws": [{**F, "opening": 0.1 * UM}]}, "flaws[0].opening"),
    ("notched_electrolyte", {**NOTCH, "flaws": [{**F, "x": 0.1 * UM}]}, "flaws[0].x"),
    ("notched_electrolyte", {**NOTCH, "flaws": []}, "flaws"),
    ("notched_electrolyte", {**NOTCH, "flaws": [{**F, "shape": "semi_elliptical",
                                                 "surface_length": UM, "opening": 0.2 * UM}]},
     "flaws[0].shape"),
    ("notched_electrolyte", {**NOTCH, "flaws": [{"shape": "pore", "x": 3 * UM,
                                                 "radius": UM, "ligament": 3 * UM}]},
     "flaws[0].ligament"),
    ("notched_electrolyte", {**NOTCH, "flaws": [{**F, "shape": "pore"}]}, "flaws[0].length"),
    ("notched_electrolyte", {**NOTCH, "flaws": [{"shape": "crack", "x": 3 * UM}]},
     "flaws[0].shape"),
    ("four_probe", {**BAR, "kind": "hall"}, "kind"),
    ("symmetric_cell", {"refine": {"x": [1e-5, 0.0], "h": 1e-6}}, "refine[0].x"),
    ("symmetric_cell", {"refine": [{"y": [0.0, 1e-5]}]}, "refine[0]"),
    ("four_probe", {**BAR, "contact_positions": [1e-3, 2e-3, 2.2e-3, 9e-3]}, "contact_positions"),
    ("four_probe", {**BAR, "dim": 3}, "thickness"),
    ("plate", {"width": 1e-5, "height": 1e-5, "structured": True,
               "refine": {"x": [0.0, 1e-6], "h": 1e-7}}, "refine"),
    ("plate", {"width": 1e-5, "height": 1e-5, "structured": "yes"}, "structured"),
    (
        "four_probe",
        {"kind": "van_der_pauw", "side": 1e-3, "contact_size": 0.3e-3, "h": 1e-4},
        "contact_size",
    ),
]


@pytest.mark.parametrize(
    ("builder", "params", "culprit"), BAD, ids=lambda p: p if isinstance(p, str) else ""
)
def test_invalid_parameters(builder, params, culprit):
    gmsh.initialize()
    gmsh.option.setNumber("General.Terminal", 0)
    gmsh.model.add("femcell")
    try:
        with pytest.raises(GeometryError) as info:
            BUILDERS[builder](**params)
        message = str(info.value)
        assert message.startswith(f"{builder}: {culprit}=") and "\n" not in message
        assert gmsh.model.getEntities() == []  # rejected before anything was built
    finally:
        gmsh.finalize()


@pytest.mark.parametrize("depth", [None, 2e-6])
def test_structured_plate_is_a_regular_grid(depth):
    """structured = true: round(extent / h) divisions per side (extents that are not
    multiples of h too), nodes on a regular grid of spacing extent / divisions."""
    from femcell.domain import Domain

    h = 0.45e-6  # 4e-6 / h = 8.9 -> 9 divisions, 2e-6 / h = 4.4 -> 4
    dom = Domain.from_builder("plate", width=4e-6, height=2e-6, depth=depth, h=h,
                              origin="corner", structured=True)
    tdim = dom.tdim
    n = dom.mesh.topology.index_map(tdim).size_global
    assert n == (9 * 4 * 2 if depth is None else 9 * 4 * 4 * 6)
    x = dom.mesh.geometry.x[:, :dom.gdim] / np.array([4e-6 / 9, 0.5e-6, 0.5e-6][:dom.gdim])
    assert np.allclose(x, np.round(x), atol=1e-9)


def test_composite_deterministic_packing():
    from femcell.geometry.cathode import pack

    args = ("composite_cathode", 2, [0, 0], [10 * UM, 10 * UM], 0.3, UM, 0.3 * UM, 4, 0.1 * UM)
    c1, r1 = pack(*args)
    c2, r2 = pack(*args)
    assert np.array_equal(c1, c2) and np.array_equal(r1, r2)
    assert np.sum(math.pi * r1**2) / (10 * UM) ** 2 == pytest.approx(0.3, rel=1e-12)
