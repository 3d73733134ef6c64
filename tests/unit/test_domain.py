"""Domain: named regions, measures by name, oriented interfaces, composite regions, files.

The interface orientation test is the important one: DOLFINx does not order the two cells of
an interior facet, so Domain must put region a on the "+" side of "a|b" itself, serially and
when the interface crosses process boundaries.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import two_region_builder

from femcell._dolfinx import MPI, dolfinx, ufl
from femcell.domain import Domain, DomainError, RegionError

R = 5e-6  # m


@pytest.fixture(scope="module")
def two():
    """Unit square, 'left' (x < 0.5) | 'right', outer facets 'outer' (built once)."""
    return Domain.from_builder(two_region_builder(h=0.2))


@pytest.fixture(scope="module")
def poly():
    return Domain.from_builder(
        "polycrystal_particle", semi_axes=(R, R, R), n_grains=4, seed=3, h=2.5e-6
    )


def _region_function(dom: Domain, values: dict[str, float]):
    """DG0 function equal to values[region] in each region's cells (ghosts included)."""
    V = dolfinx.fem.functionspace(dom.mesh, ("DG", 0))
    u = dolfinx.fem.Function(V)
    u.x.array[:] = np.nan
    for name, v in values.items():
        cells = dom.cells(name, include_ghosts=True)
        u.x.array[V.dofmap.list[cells].ravel()] = v
    assert not np.any(np.isnan(u.x.array)), "a cell belongs to no region"
    return u


# ------------------------------------------------------------------------------ regions
def test_regions(two):
    assert two.cell_regions == ["left", "right"]
    assert two.facet_regions == ["outer"]
    assert list(two.interfaces) == ["left|right"]
    assert two.tdim == 2 and two.gdim == 2
    assert two.has_region("left") and two.has_region("outer") and two.has_region("left|right")
    assert not two.has_region("middle")


def test_volumes_and_areas(two):
    assert two.volume("left") == pytest.approx(0.5, rel=1e-12)
    assert two.volume("right") == pytest.approx(0.5, rel=1e-12)
    assert two.volume() == pytest.approx(1.0, rel=1e-12)
    assert two.area("outer") == pytest.approx(4.0, rel=1e-12)
    assert two.size() == pytest.approx(1.0, rel=1e-12)


def test_cells_partition_the_mesh(two):
    n_owned = two.mesh.topology.index_map(2).size_local
    left, right = two.cells("left"), two.cells("right")
    assert np.intersect1d(left, right).size == 0
    assert left.size + right.size == n_owned
    assert two.comm.allreduce(left.size + right.size) == two.num_cells_global()
    # cell midpoints: left cells lie left of x = 0.5
    mid = dolfinx.mesh.compute_midpoints(two.mesh, 2, left)
    assert np.all(mid[:, 0] < 0.5)
    mid = dolfinx.mesh.compute_midpoints(two.mesh, 2, two.cells("right", include_ghosts=True))
    assert np.all(mid[:, 0] > 0.5)


@pytest.mark.parametrize(
    ("measure", "name", "known"),
    [
        ("dx", "middle", "left, right"),
        ("ds", "middle", "outer"),
        ("ds", "left", "outer"),
        ("dS", "middle", "left|right"),
        ("dS", "left|middle", "left|right"),
    ],
)
def test_unknown_region_lists_known_names(two, measure, name, known):
    with pytest.raises(RegionError) as info:
        getattr(two, measure)(name)
    msg = str(info.value)
    assert repr(name) in msg or name in msg
    assert known in msg
    assert "\n" not in msg and not msg.startswith('"')  # one plain line, not KeyError quoting


def test_interface_must_be_named_plus_first(two):
    with pytest.raises(RegionError, match="left|right"):
        two.dS("right|left")
    itf = two.interface("right", "left")
    assert (itf.plus, itf.minus, itf.name) == ("left", "right", "left|right")


# ------------------------------------------------------------------------------ interfaces
def test_interface_length(two):
    assert two.integrate(1.0 * two.dS("left|right")) == pytest.approx(1.0, rel=1e-12)
    # the interface holds exactly the owned facets on the line x = 0.5, each once
    fmap = two.mesh.topology.index_map(1)
    facets = np.arange(fmap.size_local, dtype=np.int32)
    on_line = np.abs(dolfinx.mesh.compute_midpoints(two.mesh, 1, facets)[:, 0] - 0.5) < 1e-12
    n_line = two.comm.allreduce(int(on_line.sum()))
    n_itf = two.comm.allreduce(two.interfaces["left|right"].entities.shape[0])
    assert n_line == n_itf >= 5


def test_interface_orientation_plus_is_left(two):
    """A DG0 function 1 in 'left' and 2 in 'right': u('+') integrates to 1, u('-') to 2."""
    u = _region_function(two, {"left": 1.0, "right": 2.0})
    dS = two.dS("left|right")
    assert two.integrate(u("+") * dS) == pytest.approx(1.0, rel=1e-12)
    assert two.integrate(u("-") * dS) == pytest.approx(2.0, rel=1e-12)
    # pointwise, not just on average: (u+ - 1)^2 + (u- - 2)^2 vanishes on every facet
    assert two.integrate(((u("+") - 1) ** 2 + (u("-") - 2) ** 2) * dS) == pytest.approx(0, abs=0)
    # the outward normal of the '+' (left) side points to +x
    n = ufl.FacetNormal(two.mesh)
    assert two.integrate(n("+")[0] * dS) == pytest.approx(1.0, rel=1e-12)
    assert two.integrate(n("-")[0] * dS) == pytest.approx(-1.0, rel=1e-12)
    assert two.integrate(abs(n("+")[1]) * dS) == pytest.approx(0.0, abs=1e-12)


def test_interface_orientation_per_rank(two):
    """Every owned interface facet on every rank has its 'left' cell first."""
    ents = two.interfaces["left|right"].entities
    mid_plus = dolfinx.mesh.compute_midpoints(two.mesh, 2, ents[:, 0].astype(np.int32))
    mid_minus = dolfinx.mesh.compute_midpoints(two.mesh, 2, ents[:, 2].astype(np.int32))
    assert np.all(mid_plus[:, 0] < 0.5) and np.all(mid_minus[:, 0] > 0.5)


# ------------------------------------------------------------------------------ composite
def test_polycrystal_composite_region(poly):
    grains = poly.grains("particle")
    assert grains == [f"particle.grain_{k}" for k in range(len(grains))]
    assert 2 <= len(grains) <= 4
    assert "particle" in poly.cell_regions
    assert set(grains) <= set(poly.cell_regions)
    assert poly.facet_regions == ["grain_boundary", "surface"]
    assert poly.interfaces == {}  # grains of one particle form no interface
    total = poly.volume("particle")
    parts = [poly.volume(g) for g in grains]
    assert total == pytest.approx(sum(parts), rel=1e-12)
    assert total == pytest.approx(poly.volume(), rel=1e-12)
    # a coarse polyhedral sphere is a little smaller than the sphere
    sphere = 4.0 / 3.0 * math.pi * R**3
    assert 0.8 * sphere < total < sphere
    occ = poly.metadata["grain_volumes"]
    for g, v in zip(grains, parts, strict=True):
        assert v == pytest.approx(occ[g], rel=0.2)


def test_grain_boundary_facets(poly):
    """dS('grain_boundary') integrates the facets between cells of different grains."""
    top = poly.mesh.topology
    tdim = poly.tdim
    f2c = top.connectivity(tdim - 1, tdim)
    n_owned = top.index_map(tdim - 1).size_local
    grain_of = np.full(top.index_map(tdim).size_local + top.index_map(tdim).num_ghosts, -1)
    for k, g in enumerate(poly.grains("particle")):
        grain_of[poly.cells(g, include_ghosts=True)] = k
    assert np.all(grain_of >= 0)
    between = [
        f
        for f in range(n_owned)
        if len(c := f2c.links(f)) == 2 and grain_of[c[0]] != grain_of[c[1]]
    ]
    between = np.asarray(between, dtype=np.int32)
    geo = dolfinx.mesh.entities_to_geometry(poly.mesh, tdim - 1, between)
    x = poly.mesh.geometry.x
    area = (
        0.5
        * np.linalg.norm(
            np.cross(x[geo[:, 1]] - x[geo[:, 0]], x[geo[:, 2]] - x[geo[:, 0]]), axis=1
        ).sum()
        if between.size
        else 0.0
    )
    area = poly.comm.allreduce(area, op=MPI.SUM)
    assert area > 0.1 * R**2
    assert poly.integrate(1.0 * poly.dS("grain_boundary")) == pytest.approx(area, rel=1e-12)
    with pytest.raises(RegionError, match="grain_boundary"):
        poly.dS("grain_bundary")


def test_surface_area_of_polycrystal(poly):
    sphere = 4.0 * math.pi * R**2
    assert 0.8 * sphere < poly.area("surface") < sphere


# ------------------------------------------------------------------------------ files
def test_from_file_missing_raises(shared_tmp):
    with pytest.raises(DomainError, match="no such file"):
        Domain.from_file(shared_tmp / "nothing.msh")
    with pytest.raises(DomainError, match=r"\.geo or \.msh"):
        Domain.from_file(shared_tmp / "nothing.stl")


GEO = """SetFactory("OpenCASCADE");
Rectangle(1) = {0, 0, 0, 2, 0.5};
Physical Surface("box") = {1};
Physical Curve("edge") = {1, 2, 3, 4};
"""


def test_from_geo_file(shared_tmp, comm):
    path = shared_tmp / "box.geo"
    if comm.rank == 0:
        path.write_text(GEO)
    comm.barrier()
    dom = Domain.from_file(path, h=0.25)
    assert dom.cell_regions == ["box"]
    assert dom.facet_regions == ["edge"]
    assert dom.tdim == 2
    assert dom.volume("box") == pytest.approx(1.0, rel=1e-12)
    assert dom.area("edge") == pytest.approx(5.0, rel=1e-12)
    assert dom.metadata["source"] == str(path)


def test_bad_coordinates():
    with pytest.raises(DomainError, match="spherical"):
        Domain.from_builder(two_region_builder(h=0.5), coordinates="spherical")


def test_failing_builder_raises_the_same_one_line_error_on_every_rank():
    from femcell.domain import DomainError

    def broken():
        raise ValueError("gmsh said no")

    with pytest.raises(DomainError, match="ValueError: gmsh said no"):
        Domain.from_builder(broken)
