"""Particle builders of femcell.geometry: measures, named groups, validation, determinism.

Each test builds its own gmsh model on every rank (gmsh is not MPI-aware), except the
DOLFINx round trip, which builds on rank 0 and distributes the mesh like ``Domain`` does.
"""

import math

import gmsh
import numpy as np
import pytest

from femcell.geometry import BUILDERS, GeometryError

R = 5e-6  # m


@pytest.fixture
def model():
    gmsh.initialize()
    gmsh.option.setNumber("General.Terminal", 0)
    gmsh.model.add("femcell")
    yield gmsh.model
    gmsh.finalize()


def mesh_measure(dim, tag=-1):
    """Sum of det(J) * w over the elements of dimension ``dim`` (of entity ``tag``)."""
    total = 0.0
    for etype in gmsh.model.mesh.getElementTypes(dim, tag):
        points, weights = gmsh.model.mesh.getIntegrationPoints(etype, "Gauss6")
        _, det, _ = gmsh.model.mesh.getJacobians(etype, points, tag)
        total += float(np.sum(det.reshape(-1, len(weights)) * weights))
    return total


def group_measure(dim, name):
    (tag,) = [
        t for d, t in gmsh.model.getPhysicalGroups(dim) if gmsh.model.getPhysicalName(d, t) == name
    ]
    return sum(mesh_measure(dim, e) for e in gmsh.model.getEntitiesForPhysicalGroup(dim, tag))


def groups(dim):
    return {gmsh.model.getPhysicalName(d, t): t for d, t in gmsh.model.getPhysicalGroups(dim)}


def group_nodes(dim, name):
    nodes, coords = gmsh.model.mesh.getNodesForPhysicalGroup(dim, groups(dim)[name])
    assert len(nodes) > 0, name
    return coords.reshape(-1, 3)


def assert_cells_tagged_once(tdim):
    _, all_tags, _ = gmsh.model.mesh.getElements(tdim)
    all_tags = np.concatenate(all_tags)
    tagged = []
    for tag in groups(tdim).values():
        for entity in gmsh.model.getEntitiesForPhysicalGroup(tdim, tag):
            _, etags, _ = gmsh.model.mesh.getElements(tdim, entity)
            tagged.extend(np.concatenate(etags))
    assert len(all_tags) > 0
    assert len(tagged) == len(set(tagged)) == len(all_tags)
    assert set(tagged) == set(all_tags)


SMALL = [
    ("interval", {"radius": R, "n_cells": 8, "grading": 1.2}),
    ("sphere", {"radius": R, "h": R / 3}),
    ("sphere", {"radius": R, "h": R / 3, "order": 2, "dim": 2}),
    ("half_disk", {"radius": R, "h": R / 3, "order": 2}),
    ("ellipsoid", {"semi_axes": (R, 0.8 * R, 0.6 * R), "h": R / 3, "order": 2}),
    ("ellipsoid", {"semi_axes": (0.5 * R, R), "h": R / 4, "dim": 2}),
    ("polycrystal_particle", {"semi_axes": (R, R, R), "n_grains": 4, "seed": 1, "h": R / 3}),
    (
        "polycrystal_particle",
        {"semi_axes": (R, 0.6 * R), "n_grains": 5, "seed": 2, "h": R / 4, "order": 2, "dim": 2},
    ),
]


@pytest.mark.parametrize(("name", "params"), SMALL, ids=lambda p: p if isinstance(p, str) else "")
def test_every_cell_in_exactly_one_named_group(model, name, params):
    meta = BUILDERS[name](**params)
    tdim = meta["tdim"]
    assert meta["builder"] == name and meta["gdim"] == tdim
    assert meta["params"].keys() >= params.keys()
    assert_cells_tagged_once(tdim)
    assert set(meta["cell_groups"]) == set(groups(tdim))
    assert all(n == "particle" or n.startswith("particle.grain_") for n in meta["cell_groups"])
    assert "surface" in groups(tdim - 1) and set(meta["facet_groups"]) == set(groups(tdim - 1))
    assert all(gmsh.model.getPhysicalName(d, t) for d, t in gmsh.model.getPhysicalGroups())


@pytest.mark.parametrize(("order", "rtol"), [(2, 1e-3), (1, 5e-2)])
def test_sphere_volume(model, order, rtol):
    meta = BUILDERS["sphere"](radius=R, h=R / 4, order=order)
    exact = 4 / 3 * math.pi * R**3
    assert meta["volume"] == pytest.approx(exact, rel=1e-14)
    assert mesh_measure(3) == pytest.approx(exact, rel=rtol)
    assert np.linalg.norm(group_nodes(2, "surface"), axis=1) == pytest.approx(R, rel=1e-9)


def test_disk_with_center(model):
    center = np.array([1e-6, -2e-6, 0.0])
    meta = BUILDERS["sphere"](radius=R, h=R / 4, order=2, dim=2, center=center[:2])
    assert (meta["gdim"], meta["tdim"]) == (2, 2)
    assert mesh_measure(2) == pytest.approx(math.pi * R**2, rel=1e-4)
    r = np.linalg.norm(group_nodes(1, "surface") - center, axis=1)
    assert r == pytest.approx(R, rel=1e-9)


def test_interval_graded_towards_surface(model):
    meta = BUILDERS["interval"](radius=R, n_cells=6, grading=1.5)
    assert (meta["gdim"], meta["tdim"]) == (1, 1)
    x = np.sort(gmsh.model.mesh.getNodes()[1].reshape(-1, 3)[:, 0])
    assert len(x) == 7 and x[0] == 0.0 and x[-1] == pytest.approx(R, rel=1e-12)
    dx = np.diff(x)
    assert dx[:-1] / dx[1:] == pytest.approx(1.5, rel=1e-6)
    assert group_nodes(0, "center")[:, 0] == pytest.approx([0.0], abs=1e-20)
    assert group_nodes(0, "surface")[:, 0] == pytest.approx([R], rel=1e-12)


def test_half_disk_surface_and_axis(model):
    meta = BUILDERS["half_disk"](radius=R, h=R / 4, order=2)
    assert {"surface", "axis"} <= set(meta["facet_groups"])
    assert meta["coordinates"] == "axisymmetric"
    assert mesh_measure(2) == pytest.approx(math.pi * R**2 / 2, rel=1e-4)
    axis, arc = group_nodes(1, "axis"), group_nodes(1, "surface")
    assert np.abs(axis[:, 0]).max() < 1e-12 * R
    assert axis[:, 1].min() == pytest.approx(-R) and axis[:, 1].max() == pytest.approx(R)
    assert np.linalg.norm(arc, axis=1) == pytest.approx(R, rel=1e-9)
    assert arc[:, 0].min() > -1e-12 * R
    assert group_measure(1, "axis") == pytest.approx(2 * R, rel=1e-12)
    assert group_measure(1, "surface") == pytest.approx(math.pi * R, rel=1e-4)


@pytest.mark.parametrize("axes", [(R, 0.7 * R, 0.5 * R), (0.5 * R, R)])
def test_ellipsoid_measure_and_extent(model, axes):
    dim = len(axes)
    meta = BUILDERS["ellipsoid"](semi_axes=axes, h=min(axes) / 2, order=2, dim=dim)
    exact = (4 / 3 if dim == 3 else 1.0) * math.pi * math.prod(axes)
    assert meta["volume"] == pytest.approx(exact, rel=1e-14)
    assert mesh_measure(dim) == pytest.approx(exact, rel=2e-3)
    x = group_nodes(dim - 1, "surface")[:, :dim]
    assert np.sum((x / np.array(axes)) ** 2, axis=1) == pytest.approx(1.0, rel=1e-6)
    assert np.abs(x).max(axis=0) == pytest.approx(axes, rel=1e-2)


@pytest.mark.parametrize(
    ("axes", "rtol"),
    [
        ((R, 0.6 * R), 1e-10),  # planar faces bounded by analytic ellipse arcs: exact
        ((R, R, R), 1e-6),  # trimmed spheres: OCC getMass itself is only ~1e-8 accurate
    ],
)
def test_polycrystal_grains(model, axes, rtol):
    dim = len(axes)
    n = 6
    meta = BUILDERS["polycrystal_particle"](semi_axes=axes, n_grains=n, seed=7, h=R / 4, dim=dim)
    names = [f"particle.grain_{k}" for k in range(n)]
    assert meta["grains"] == names == sorted(groups(dim), key=lambda s: int(s.split("_")[-1]))
    assert set(groups(dim - 1)) == {"surface", "grain_boundary"}
    gb = gmsh.model.getEntitiesForPhysicalGroup(dim - 1, groups(dim - 1)["grain_boundary"])
    assert len(gb) > 0 and group_measure(dim - 1, "grain_boundary") > 0
    volumes = meta["grain_volumes"]
    assert list(volumes) == names and min(volumes.values()) > 0
    assert sum(volumes.values()) == pytest.approx(meta["volume"], rel=rtol)
    # the mesh partitions the particle the same way as the CAD grains (order 1: chordal error)
    mesh_volumes = np.array([group_measure(dim, g) for g in names])
    assert mesh_volumes.sum() == pytest.approx(mesh_measure(dim), rel=1e-12)
    assert mesh_volumes == pytest.approx(np.array(list(volumes.values())), rel=0.15)
    # each seed lies in its own grain (the CAD model is in units of length_scale)
    scale = meta["length_scale"]
    for g in names:
        (entity,) = gmsh.model.getEntitiesForPhysicalGroup(dim, groups(dim)[g])
        seed = np.zeros(3)
        seed[:dim] = np.array(meta["seeds"][g]) / scale
        assert gmsh.model.isInside(dim, entity, seed.tolist())
    assert_cells_tagged_once(dim)


def test_polycrystal_orientations(model):
    from scipy.spatial.transform import Rotation

    meta = BUILDERS["polycrystal_particle"](semi_axes=(R, R, R), n_grains=3, seed=11, h=R / 2)
    expected = Rotation.random(3, random_state=11)
    got = Rotation.from_euler("ZXZ", list(meta["orientations"].values()))
    assert (got.inv() * expected).magnitude() == pytest.approx(0.0, abs=1e-12)
    for phi1, Phi, phi2 in meta["orientations"].values():
        assert 0 <= phi1 < 2 * math.pi and 0 <= Phi <= math.pi and 0 <= phi2 < 2 * math.pi


def test_polycrystal_2d_orientation_is_in_plane(model):
    meta = BUILDERS["polycrystal_particle"](semi_axes=(R, R), n_grains=3, seed=4, h=R / 3, dim=2)
    assert all(e[1] == 0.0 and e[2] == 0.0 for e in meta["orientations"].values())


def test_single_grain(model):
    meta = BUILDERS["polycrystal_particle"](semi_axes=(R, R, R), n_grains=1, seed=0, h=R / 2)
    assert meta["grains"] == ["particle.grain_0"]
    assert meta["facet_groups"] == ["surface"]
    assert meta["grain_volumes"]["particle.grain_0"] == pytest.approx(meta["volume"], rel=1e-12)


def _snapshot():
    tags, coords, _ = gmsh.model.mesh.getNodes()
    types, etags, enodes = gmsh.model.mesh.getElements()
    return tags, coords, types, etags, enodes, gmsh.model.getPhysicalGroups()


def test_deterministic():
    params = {"semi_axes": (R, 0.8 * R, 0.7 * R), "n_grains": 5, "seed": 3, "h": R / 3}
    snaps, metas = [], []
    for _ in range(2):
        gmsh.initialize()
        gmsh.option.setNumber("General.Terminal", 0)
        gmsh.model.add("femcell")
        try:
            metas.append(BUILDERS["polycrystal_particle"](**params))
            snaps.append(_snapshot())
        finally:
            gmsh.finalize()
    assert metas[0] == metas[1]
    for a, b in zip(*snaps, strict=True):
        if isinstance(a, list) and a and isinstance(a[0], np.ndarray):
            assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
        else:
            assert np.array_equal(np.asarray(a), np.asarray(b))


BAD = [
    ("interval", {"radius": -1e-6, "n_cells": 4}, "radius"),
    ("interval", {"radius": R, "n_cells": 0}, "n_cells"),
    ("interval", {"radius": R, "n_cells": 2.5}, "n_cells"),
    ("interval", {"radius": R, "n_cells": 4, "grading": 0.0}, "grading"),
    ("sphere", {"radius": 0.0, "h": 1e-6}, "radius"),
    ("sphere", {"radius": R, "h": -1e-7}, "h"),
    ("sphere", {"radius": R, "h": 2 * R}, "h"),
    ("sphere", {"radius": R, "h": R / 4, "order": 3}, "order"),
    ("sphere", {"radius": R, "h": R / 4, "dim": 1}, "dim"),
    ("sphere", {"radius": R, "h": R / 4, "dim": 2, "center": (0, 0, 1e-6)}, "center"),
    ("sphere", {"radius": float("nan"), "h": R / 4}, "radius"),
    ("half_disk", {"radius": R, "h": 0}, "h"),
    ("ellipsoid", {"semi_axes": (R, R), "h": R / 4}, "semi_axes"),
    ("ellipsoid", {"semi_axes": (R, -R, R), "h": R / 4}, "semi_axes[1]"),
    ("ellipsoid", {"semi_axes": (R, 0.1 * R, R), "h": R / 4}, "h"),
    (
        "polycrystal_particle",
        {"semi_axes": (R, R, R), "n_grains": 0, "seed": 1, "h": R},
        "n_grains",
    ),
    ("polycrystal_particle", {"semi_axes": (R, R, R), "n_grains": 3, "seed": -1, "h": R}, "seed"),
    ("polycrystal_particle", {"semi_axes": (R, R, R), "n_grains": 3, "seed": 1, "h": 0}, "h"),
]


@pytest.mark.parametrize(
    ("name", "params", "culprit"), BAD, ids=lambda p: p if isinstance(p, str) else ""
)
def test_invalid_parameters(model, name, params, culprit):
    with pytest.raises(GeometryError) as info:
        BUILDERS[name](**params)
    message = str(info.value)
    assert isinstance(info.value, ValueError)
    assert f"{culprit}=" in message and "\n" not in message and name in message
    assert gmsh.model.getEntities() == []  # rejected before anything was built


def test_dolfinx_round_trip():
    """Rank 0 builds, dolfinx distributes: regions keep their names and measures."""
    MPI = pytest.importorskip("mpi4py.MPI")
    pytest.importorskip("dolfinx")
    import ufl
    from dolfinx import fem
    from dolfinx.io.gmsh import model_to_mesh

    comm = MPI.COMM_WORLD
    meta = None
    if comm.rank == 0:
        gmsh.initialize()
        gmsh.option.setNumber("General.Terminal", 0)
        gmsh.model.add("femcell")
        meta = BUILDERS["polycrystal_particle"](
            semi_axes=(R, R, R), n_grains=4, seed=5, h=R / 3, order=2
        )
    try:
        meta = comm.bcast(meta, root=0)
        data = model_to_mesh(gmsh.model if comm.rank == 0 else None, comm, 0, gdim=meta["gdim"])
    finally:
        if comm.rank == 0:
            gmsh.finalize()
    assert set(data.physical_groups) == set(meta["cell_groups"]) | set(meta["facet_groups"])
    dx = ufl.Measure("dx", domain=data.mesh, subdomain_data=data.cell_tags)
    ds = ufl.Measure("ds", domain=data.mesh, subdomain_data=data.facet_tags)

    def integral(form):
        return comm.allreduce(fem.assemble_scalar(fem.form(form)), op=MPI.SUM)

    one = fem.Constant(data.mesh, 1.0)
    for name in meta["grains"]:
        vol = integral(one * dx(data.physical_groups[name].tag))
        assert vol == pytest.approx(meta["grain_volumes"][name], rel=5e-3)
    total = integral(one * dx)
    assert total == pytest.approx(4 / 3 * math.pi * R**3, rel=1e-3)
    area = integral(one * ds(data.physical_groups["surface"].tag))
    assert area == pytest.approx(4 * math.pi * R**2, rel=1e-3)
    gb = data.physical_groups["grain_boundary"].tag
    n_gb = comm.allreduce(int(np.sum(data.facet_tags.values == gb)), op=MPI.SUM)
    assert n_gb > 0
