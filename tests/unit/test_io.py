"""Output files read back by the programs users open them with (pyvista, meshio): values,
time steps, array names, region names. Runs serially and under mpiexec -n 2: files are
written collectively and read on rank 0 after a barrier."""

from __future__ import annotations

import json
import traceback

import numpy as np
import pytest
from conftest import two_region_builder

from femcell._dolfinx import MPI, dolfinx
from femcell.domain import Domain
from femcell.io import FieldWriter, read_regions, write_mesh_tags

TIMES = (0.0, 0.5, 2.0)
RTOL = 1e-10


def on_root(comm, check) -> None:
    """Run `check()` on rank 0 after a barrier; every rank fails if it fails (no hang)."""
    comm.barrier()
    err = None
    if comm.rank == 0:
        try:
            check()
        except Exception:
            err = traceback.format_exc()
    err = comm.bcast(err, root=0)
    assert err is None, err


def read_steps(path) -> list:
    """[(time, pyvista grid)] of every step of a VTKHDF file (pyvista's HDFReader has no
    time API, so step through its vtkHDFReader)."""
    import pyvista as pv

    vtk_reader = pv.get_reader(str(path)).reader
    vtk_reader.UpdateInformation()
    out = []
    for k in range(vtk_reader.GetNumberOfSteps()):
        vtk_reader.SetStep(k)
        vtk_reader.Update()
        out.append((vtk_reader.GetTimeValue(), pv.wrap(vtk_reader.GetOutputDataObject(0)).copy()))
    return out


def field_string(grid, name: str) -> str:
    return str(np.asarray(grid.field_data[name]).ravel()[0])


def close(a, b) -> bool:
    a, b = np.asarray(a, float), np.asarray(b, float)
    return a.shape == b.shape and np.allclose(a, b, rtol=RTOL, atol=RTOL * np.abs(b).max())


# analytic fields [SI]; the functions hold them divided by their factor to SI
def f_left(x, t):
    return (1.0 + t) * (1.0 + 2.0 * x[0] - 3.0 * x[1])


def f_right(x, t):  # quadratic: exact in P2, its P1 interpolant is exact at the nodes
    return x[0] ** 2 + x[1] + t


def f_vec(x, t):
    return np.vstack([x[0] + t, 2.0 * x[1]])


def f_itf(x, t):
    return 5.0 * x[1] - t


@pytest.fixture(scope="module")
def domain():
    return Domain.from_builder(two_region_builder(0.25))


def test_field_writer_writes_every_mesh_with_exact_values(domain, shared_tmp):
    comm = domain.comm
    left = domain.submesh("left").mesh
    right = domain.submesh("right").mesh
    itf_mesh, _ = domain.interface_submesh("left|right")
    fn = dolfinx.fem.Function
    fs = dolfinx.fem.functionspace
    u_left = fn(fs(left, ("Lagrange", 1)))
    u_right = fn(fs(right, ("Lagrange", 2)))
    u_vec = fn(fs(domain.mesh, ("Lagrange", 1, (2,))))
    u_dg0 = fn(fs(domain.mesh, ("DG", 0)))
    u_itf = fn(fs(itf_mesh, ("Lagrange", 1)))
    fields = {"phi_left": (u_left, 2.0), "c_right": (u_right, 1.0), "u": (u_vec, 1.0),
              "j": (u_dg0, 1.0), "theta": (u_itf, 1.0)}
    w = FieldWriter(comm, shared_tmp / "fields.bp", fields, domain=domain)
    for t in TIMES:
        u_left.interpolate(lambda x, t=t: f_left(x, t) / 2.0)
        u_right.interpolate(lambda x, t=t: f_right(x, t))
        u_vec.interpolate(lambda x, t=t: f_vec(x, t))
        u_dg0.interpolate(lambda x, t=t: x[0] + t)
        u_itf.interpolate(lambda x, t=t: f_itf(x, t))
        w.write(t)
    w.close()

    has_vtx = bool(getattr(dolfinx.common, "has_adios2", False))
    names = {p.name for p in w.paths}
    assert {"fields.vtkhdf", "fields_left.vtkhdf", "fields_right.vtkhdf",
            "fields_left--right.vtkhdf"} <= names
    assert ("fields_right.bp" in names) == has_vtx  # P2 on a P1 mesh: exact copy in VTX
    desc = w.describe()
    assert desc["fields_right.vtkhdf"]["interpolated"] == ["c_right"]
    n_cells = {r: domain.comm.allreduce(domain.cells(r).size) for r in ("left", "right")}
    n_itf = comm.allreduce(itf_mesh.topology.index_map(1).size_local)

    expect = {  # file -> (region, point arrays, cell arrays, number of cells)
        "fields.vtkhdf": ("", ["u"], ["j"], n_cells["left"] + n_cells["right"]),
        "fields_left.vtkhdf": ("left", ["phi_left"], [], n_cells["left"]),
        "fields_right.vtkhdf": ("right", ["c_right"], [], n_cells["right"]),
        "fields_left--right.vtkhdf": ("left|right", ["theta"], [], n_itf),
    }

    def check():
        for name, (region, point, cell, ncells) in expect.items():
            steps = read_steps(shared_tmp / name)
            assert [t for t, _ in steps] == pytest.approx(TIMES), name
            for t, g in steps:
                assert sorted(g.point_data.keys()) == point, name
                assert sorted(g.cell_data.keys()) == cell, name
                assert field_string(g, "femcell_region") == region, name
                assert g.n_cells == ncells, name
                x = g.points.T
                if name == "fields.vtkhdf":
                    want = np.vstack([f_vec(x, t), np.zeros(g.n_points)]).T
                    assert close(g.point_data["u"], want)
                    centres = g.cell_centers().points.T
                    assert close(g.cell_data["j"], centres[0] + t)
                elif name == "fields_left.vtkhdf":
                    assert close(g.point_data["phi_left"], f_left(x, t))
                    assert np.all(x[0] <= 0.5 + 1e-12)
                elif name == "fields_right.vtkhdf":
                    assert close(g.point_data["c_right"], f_right(x, t))
                    assert "c_right" in field_string(g, "femcell_note")
                else:
                    assert close(g.point_data["theta"], f_itf(x, t))
                    assert np.allclose(x[0], 0.5)

    on_root(comm, check)


def test_field_writer_on_a_curved_mesh_and_without_domain(shared_tmp):
    """P2 geometry: a P2 field is exact at the 6 nodes of each curved triangle; a P1 field
    is interpolated to P2 (exact for a linear function). No domain: one mesh, fields.vtkhdf.
    """
    comm = MPI.COMM_WORLD
    dom = Domain.from_builder("sphere", radius=1e-5, h=4e-6, order=2, dim=2)
    fs = dolfinx.fem.functionspace
    u2 = dolfinx.fem.Function(fs(dom.mesh, ("Lagrange", 2)))
    u1 = dolfinx.fem.Function(fs(dom.mesh, ("Lagrange", 1)))
    w = FieldWriter(comm, shared_tmp, {"c": (u2, 10.0), "phi": (u1, 1.0)})
    for t in TIMES:
        u2.interpolate(lambda x, t=t: (x[0] * x[1] * 1e10 + t) / 10.0)
        u1.interpolate(lambda x, t=t: 1e5 * x[0] - t)
        w.write(t)
    w.close()
    assert w.paths[0].name == "fields.vtkhdf"
    tags = write_mesh_tags(dom, shared_tmp)

    def mid_edge_offsets(points, cells):  # |mid-edge node - edge midpoint| / edge length
        x = np.asarray(points)
        return np.array([np.linalg.norm(x[cells[:, 3 + k]] - 0.5 * (x[cells[:, a]] +
                                                                  x[cells[:, b]]), axis=1)
                         / np.linalg.norm(x[cells[:, a]] - x[cells[:, b]], axis=1)
                         for k, (a, b) in enumerate(((0, 1), (1, 2), (2, 0)))])

    def check():
        import meshio
        import pyvista as pv

        # curved triangles keep their node order in mesh.vtu: mid-edge nodes sit at the
        # edge midpoints inside, a little off them on the circle
        m = meshio.read(tags["mesh"])
        assert m.cells[0].type == "triangle6"
        g = pv.read(tags["mesh"])
        for off in (mid_edge_offsets(m.points, m.cells[0].data),
                    mid_edge_offsets(g.points, np.asarray(g.cells).reshape(-1, 7)[:, 1:])):
            assert np.median(off) < 1e-12 and 1e-6 < off.max() < 0.2
        steps = read_steps(shared_tmp / "fields.vtkhdf")
        assert len(steps) == len(TIMES)
        for t, g in steps:
            x = g.points.T
            assert g.n_points > 3 * g.n_cells / 2  # mid-edge nodes are there
            assert close(g.point_data["c"], x[0] * x[1] * 1e10 + t)
            # P1 on curved cells is linear in reference coordinates: exact at the vertices,
            # the mean of its two vertices at each mid-edge node
            tri = np.asarray(g.cells).reshape(g.n_cells, 7)[:, 1:]
            phi = np.asarray(g.point_data["phi"])
            vert = tri[:, :3].ravel()
            assert close(phi[vert], 1e5 * x[0][vert] - t)
            for k, (a, b) in enumerate(((0, 1), (1, 2), (2, 0))):
                assert close(phi[tri[:, 3 + k]], 0.5 * (phi[tri[:, a]] + phi[tri[:, b]]))
            assert field_string(g, "femcell_mesh") == "mesh"

    on_root(comm, check)


def test_a_moving_mesh_is_written_with_its_nodes_at_every_step(shared_tmp):
    """ALE mesh motion (a moving metal front): a step after the nodes moved carries the new
    coordinates; a step without motion reuses them (1 and 2 ranks)."""
    from femcell.io.vtkhdf import VTKHDFSeries

    mesh = dolfinx.mesh.create_unit_square(MPI.COMM_WORLD, 4, 3)
    n = mesh.geometry.index_map().size_local
    path = shared_tmp / "moving.vtkhdf"
    series = VTKHDFSeries(MPI.COMM_WORLD, path, mesh, {"x": 1}, {})
    series.write(0.0, {"x": mesh.geometry.x[:n, 0]}, {})
    mesh.geometry.x[:, 0] *= 0.5  # the mesh shrinks along x
    series.write(1.0, {"x": mesh.geometry.x[:n, 0]}, {})
    series.write(2.0, {"x": mesh.geometry.x[:n, 0]}, {})

    def check():
        steps = read_steps(path)
        assert [t for t, _ in steps] == [0.0, 1.0, 2.0]
        for (_, grid), right in zip(steps, (1.0, 0.5, 0.5), strict=True):
            assert grid.bounds[1] == pytest.approx(right)
            assert grid.n_points == 20 and grid.n_cells == 24
            # the data sit on the nodes that carried them
            assert np.allclose(grid.point_data["x"], grid.points[:, 0])

    on_root(MPI.COMM_WORLD, check)


def test_mesh_tags_read_back_with_region_names(domain, shared_tmp):
    comm = domain.comm
    paths = write_mesh_tags(domain, shared_tmp)
    assert set(paths) == {"mesh", "facets", "regions"}
    n_cells = {r: comm.allreduce(domain.cells(r).size) for r in ("left", "right")}

    def check():
        import meshio
        import pyvista as pv

        reg = read_regions(shared_tmp)
        assert reg == json.loads(paths["regions"].read_text())
        assert set(reg["cell_regions"]) == {"left", "right"}
        assert set(reg["facet_regions"]) == {"outer"}
        assert set(reg["interfaces"]) == {"left|right"}
        name_of = {v: k for k, v in reg["cell_regions"].items()}
        for read in (lambda p: pv.read(p).cell_data["cell_region"],
                     lambda p: meshio.read(p).cell_data["cell_region"][0]):
            tags = np.asarray(read(paths["mesh"]))
            for r in ("left", "right"):
                assert np.sum(tags == reg["cell_regions"][r]) == n_cells[r]
        g = pv.read(paths["mesh"])
        side = np.where(g.cell_centers().points[:, 0] < 0.5, "left", "right")
        assert [name_of[int(v)] for v in g.cell_data["cell_region"]] == list(side)
        assert {"left", "right", "outer", "left|right"} <= set(g.field_data.keys())
        m = meshio.read(paths["mesh"])
        assert int(m.field_data["left"][0]) == reg["cell_regions"]["left"]

        f = pv.read(paths["facets"])
        mid = f.cell_centers().points
        outer = np.asarray(f.cell_data["facet_region"]) == reg["facet_regions"]["outer"]
        itf = np.asarray(f.cell_data["interface"]) == reg["interfaces"]["left|right"]
        on_box = np.isclose(mid[:, 0], 0) | np.isclose(mid[:, 0], 1) | \
            np.isclose(mid[:, 1], 0) | np.isclose(mid[:, 1], 1)
        assert np.all(on_box[outer]) and outer.sum() == np.sum(on_box)
        assert itf.sum() > 0 and np.allclose(mid[itf, 0], 0.5)
        assert np.all(outer | itf)
        mf = meshio.read(paths["facets"])
        assert mf.cells[0].type == "line"
        assert np.array_equal(np.asarray(mf.cell_data["interface"][0]) > 0, itf)

    on_root(comm, check)


def test_written_msh_reads_in_pyvista_meshio_and_domain(shared_tmp):
    """A polycrystal (many cell groups, facet groups inside) made pyvista.read fail in the
    MSH 4.1 format; the written 2.2 file reads everywhere with the same regions."""
    comm = MPI.COMM_WORLD
    msh = shared_tmp / "poly.msh"
    params = dict(size=(1e-4, 1e-4), mean_grain_size=3e-5, seed=1, h=1.5e-5)
    built = Domain.from_builder("polycrystal", msh_file=msh, **params)
    again = Domain.from_file(msh)
    assert again.cell_regions == built.cell_regions
    assert again.facet_regions == built.facet_regions
    assert again.num_cells_global() == built.num_cells_global()
    assert again.metadata["orientations"] == built.metadata["orientations"]
    for r in built.cell_regions:
        assert again.volume(r) == pytest.approx(built.volume(r), rel=1e-12)

    def check():
        import meshio
        import pyvista as pv

        groups = json.loads(msh.with_suffix(".json").read_text())["physical_groups"]
        m = meshio.read(msh)
        assert {k: [int(v[1]), int(v[0])] for k, v in m.field_data.items()} == groups
        g = pv.read(msh)
        tags = set(np.asarray(g.cell_data["gmsh:physical"]).tolist())
        assert tags == {t for _, t in groups.values()}
        cells = sum(len(c) for c in m.cells if c.type == "triangle")
        assert cells == built.num_cells_global()

    on_root(comm, check)
