"""Shared fixtures. The same suite runs serially and under `mpiexec -n 2 python -m mpi4py -m
pytest`: every rank runs every test, collective calls happen on all ranks, and folders that
ranks share come from rank 0."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest

from femcell._dolfinx import MPI

ROOT = Path(__file__).resolve().parents[1]
PROBLEMS = ROOT / "problems"
# li_dendrite_3d.toml on a small cell: a 10 um semicircular flaw, the band at h = 1.5 l
PLATING_3D_SMALL = [
    'plating.currents=["2 mA/cm^2"]', "plating.substeps=1", "plating.tolerance=1e-4",
    "geometry.params.width=50 um", "geometry.params.depth=50 um",
    "geometry.params.electrolyte_thickness=40 um",
    'geometry.params.refine={x = ["20 um", "30 um"], y = ["12.5 um", "37.5 um"], '
    'z = ["35 um", "52 um"], h = "7.5 um"}',
    'fracture.initial_cracks.0.start=["25 um", "25 um", "50 um"]',
    "fracture.initial_cracks.0.length=10 um", "fracture.initial_cracks.0.width=20 um"]


# lfp_particle_ch.toml on a 25 nm particle at h = 3 nm, to x ~ 0.55 (~30 s on one rank)
LFP_SMALL = ["geometry.params.width=60 nm", "geometry.params.cathode_thickness=60 nm",
             "geometry.params.electrolyte_thickness=15 nm",
             "geometry.params.anode_thickness=10 nm", "geometry.params.h=5 nm",
             "geometry.params.composite.radius_mean=25 nm",
             'geometry.params.refine.y=["25 nm", "85 nm"]', "geometry.params.refine.h=3 nm",
             "protocol.0.current_density=2 uA/cm^2",  # 1C for the smaller particle
             "protocol.0.until.time=1900 s", "output.fields=false"]


def one_rank(covered_by: str):
    """Mark a long test to run in the serial pass only (the suite's time budget): its
    parallel code path is exercised on 2 ranks by `covered_by`."""
    return pytest.mark.skipif(MPI.COMM_WORLD.size > 1,
                              reason=f"serial pass only; on 2 ranks: {covered_by}")


# a test comparing a parallel run with a one-rank run: nothing to compare in the serial pass
several_ranks = pytest.mark.skipif(MPI.COMM_WORLD.size == 1,
                                   reason="compares ranks: runs under mpiexec -n 2")


@pytest.fixture(autouse=True)
def _collect_petsc_garbage():
    """Free PETSc objects of finished tests collectively on every rank: petsc4py defers the
    destruction of garbage-collected objects, and hundreds of leftover solvers exhaust MPI's
    communicator context ids under mpiexec (the run is then killed)."""
    yield
    import gc

    from femcell._dolfinx import PETSc

    gc.collect()
    PETSc.garbage_cleanup(MPI.COMM_WORLD)


@pytest.fixture
def comm():
    return MPI.COMM_WORLD


@pytest.fixture
def shared_tmp():
    """A temporary folder shared by all ranks (rank 0 makes and removes it)."""
    c = MPI.COMM_WORLD
    path = tempfile.mkdtemp(prefix="femcell-test-") if c.rank == 0 else None
    path = Path(c.bcast(path, root=0))
    yield path
    c.barrier()
    if c.rank == 0:
        shutil.rmtree(path, ignore_errors=True)


def run_study_once(tmp_path_factory, problem, overrides=()):
    """(run folder, StudyResult) of a problem file run once into a folder all ranks share
    (for module-scoped fixtures)."""
    from femcell.config import load_config
    from femcell.studies import run_study

    c = MPI.COMM_WORLD
    folder = tmp_path_factory.mktemp(problem.stem) if c.rank == 0 else None
    folder = c.bcast(folder, root=0) / "run"
    return folder, run_study(load_config(problem, list(overrides)), folder, progress=False,
                             source=str(problem))


def assert_refused(capsys, argv, folder, needles):
    """`femcell <argv>` exits 2 with one line (rank 0) holding every needle, no traceback,
    and writes no summary.json into `folder`."""
    from femcell import cli

    capsys.readouterr()
    code = cli.main(argv)
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    if MPI.COMM_WORLD.rank == 0:
        line = err.strip().splitlines()
        assert len(line) == 1 and all(n in line[0] for n in needles), line
    assert not (folder / "summary.json").exists()


def box_builder(lo, hi, n, *, region="domain", boundary="boundary"):
    """A gmsh builder for a structured box (3D) or rectangle (2D) with one named boundary.

    Args:
        lo, hi: corners [m] (2 or 3 values).
        n: cells per direction.
    """

    def build():
        import gmsh

        dim = len(lo)
        occ = gmsh.model.occ
        if dim == 3:
            tag = occ.addBox(*lo, *(np.subtract(hi, lo)))
        else:
            tag = occ.addRectangle(*lo, 0.0, *(np.subtract(hi, lo)))
        occ.synchronize()
        for _d, t in gmsh.model.getEntities(1):
            gmsh.model.mesh.setTransfiniteCurve(t, n + 1)
        for _d, t in gmsh.model.getEntities(2):
            gmsh.model.mesh.setTransfiniteSurface(t)
        if dim == 3:
            gmsh.model.mesh.setTransfiniteVolume(tag)
        gmsh.model.addPhysicalGroup(dim, [tag], name=region)
        faces = [t for _, t in gmsh.model.getBoundary([(dim, tag)], oriented=False)]
        gmsh.model.addPhysicalGroup(dim - 1, faces, name=boundary)
        gmsh.model.mesh.generate(dim)
        return {"gdim": dim}

    return build


def two_region_builder(h=0.25):
    """Unit square split at x = 0.5 into 'left' | 'right' (2D), with outer facets 'outer'."""

    def build():
        import gmsh

        occ = gmsh.model.occ
        a = occ.addRectangle(0, 0, 0, 0.5, 1)
        b = occ.addRectangle(0.5, 0, 0, 0.5, 1)
        occ.fragment([(2, a)], [(2, b)])
        occ.synchronize()
        left = [t for d, t in gmsh.model.getEntities(2)
                if occ.getCenterOfMass(2, t)[0] < 0.5]
        right = [t for d, t in gmsh.model.getEntities(2)
                 if occ.getCenterOfMass(2, t)[0] > 0.5]
        gmsh.model.addPhysicalGroup(2, left, name="left")
        gmsh.model.addPhysicalGroup(2, right, name="right")
        outer = [t for _, t in gmsh.model.getBoundary(
            [(2, x) for x in left + right], combined=True, oriented=False)]
        gmsh.model.addPhysicalGroup(1, outer, name="outer")
        gmsh.option.setNumber("Mesh.MeshSizeMax", h)
        gmsh.model.mesh.generate(2)
        return {"gdim": 2}

    return build


def layered_builder(thicknesses, width, h, names=("anode", "electrolyte", "cathode"),
                    refine=()):
    """2D stack along x of layers (e.g. anode | electrolyte | cathode) of given thicknesses
    [m], height `width` [m]; facets "anode_cc" (x = 0) and "cathode_cc" (far end). `refine`:
    boxes (x0, x1, y0, y1, h_box) [m] meshed at h_box."""

    def build():
        import gmsh

        occ = gmsh.model.occ
        s = sum(thicknesses)  # draw in units of the total length (OCC tolerance)
        x = 0.0
        tags = []
        for t in thicknesses:
            tags.append(occ.addRectangle(x / s, 0, 0, t / s, width / s))
            x += t
        occ.fragment([(2, tags[0])], [(2, t) for t in tags[1:]])
        occ.synchronize()
        edges = np.cumsum([0.0, *thicknesses]) / s
        for i, name in enumerate(names):
            sel = [t for _, t in gmsh.model.getEntities(2)
                   if edges[i] < occ.getCenterOfMass(2, t)[0] < edges[i + 1]]
            gmsh.model.addPhysicalGroup(2, sel, name=name)
        curves = gmsh.model.getEntities(1)
        cx = {t: occ.getCenterOfMass(1, t)[0] for _, t in curves}
        gmsh.model.addPhysicalGroup(1, [t for t, v in cx.items() if abs(v) < 1e-9],
                                    name="anode_cc")
        gmsh.model.addPhysicalGroup(1, [t for t, v in cx.items() if abs(v - 1.0) < 1e-9],
                                    name="cathode_cc")
        gmsh.option.setNumber("Mesh.MeshSizeMax", h / s)
        fields = []
        for x0, x1, y0, y1, hb in refine:
            f = gmsh.model.mesh.field.add("Box")
            for key, v in (("VIn", hb / s), ("VOut", h / s), ("XMin", x0 / s),
                           ("XMax", x1 / s), ("YMin", y0 / s), ("YMax", y1 / s),
                           ("Thickness", 4 * hb / s)):
                gmsh.model.mesh.field.setNumber(f, key, v)
            fields.append(f)
        if fields:
            fmin = gmsh.model.mesh.field.add("Min")
            gmsh.model.mesh.field.setNumbers(fmin, "FieldsList", fields)
            gmsh.model.mesh.field.setAsBackgroundMesh(fmin)
        gmsh.model.mesh.generate(2)
        gmsh.model.mesh.affineTransform([s, 0, 0, 0, 0, s, 0, 0, 0, 0, s, 0])
        return {"gdim": 2}

    return build


def contact_spot_builder(a, rb, h_edge, h_far):
    """A metal disk contact ("anode", radius a, on top) on a hemispherical electrolyte of
    radius rb (the half-space model), enclosed by a thin metal shell ("cathode") whose outer
    surface is "cathode_cc"; the top of the disk is "anode_cc". Refined at the disk edge."""

    def build():
        import gmsh

        occ = gmsh.model.occ
        s = rb  # draw in units of rb
        ball = occ.addSphere(0, 0, 0, 1.0)
        shell = occ.addSphere(0, 0, 0, 1.05)
        cut_box = occ.addBox(-2, -2, 0, 4, 4, 2)
        lower_ball = occ.cut([(3, ball)], [(3, cut_box)], removeTool=False)[0]
        lower_shell = occ.cut([(3, shell)], [(3, cut_box)])[0]
        disk = occ.addCylinder(0, 0, 0, 0, 0, 0.5 * a / s, a / s)
        occ.fragment(lower_shell + [(3, disk)], lower_ball)
        occ.synchronize()
        groups = {"anode": [], "electrolyte": [], "cathode": []}
        for _, t in gmsh.model.getEntities(3):
            x, y, z = occ.getCenterOfMass(3, t)
            if z > 0:
                groups["anode"].append(t)
            elif occ.getMass(3, t) < 0.5 * (2 / 3) * np.pi:  # the thin shell
                groups["cathode"].append(t)
            else:
                groups["electrolyte"].append(t)
        for name, tags in groups.items():
            gmsh.model.addPhysicalGroup(3, tags, name=name)
        top, outer = [], []
        for _, t in gmsh.model.getEntities(2):
            x, y, z = occ.getCenterOfMass(2, t)
            if abs(z - 0.5 * a / s) < 1e-6:
                top.append(t)
            elif z < -0.1 and np.sqrt(x * x + y * y + z * z) > 0.5 and occ.getMass(2, t) > 2.0 * (
                    np.pi * 1.05**2) * 0.99:
                outer.append(t)
        gmsh.model.addPhysicalGroup(2, top, name="anode_cc")
        gmsh.model.addPhysicalGroup(2, outer, name="cathode_cc")
        edge = [t for _, t in gmsh.model.getEntities(1)
                if abs(occ.getCenterOfMass(1, t)[2]) < 1e-9
                and abs(occ.getMass(1, t) - 2 * np.pi * a / s) < 1e-6]
        f = gmsh.model.mesh.field
        d = f.add("Distance")
        f.setNumbers(d, "CurvesList", edge)
        th = f.add("Threshold")
        f.setNumber(th, "InField", d)
        f.setNumber(th, "SizeMin", h_edge / s)
        f.setNumber(th, "SizeMax", h_far / s)
        f.setNumber(th, "DistMin", 0.2 * a / s)
        f.setNumber(th, "DistMax", 0.6)
        f.setAsBackgroundMesh(th)
        gmsh.option.setNumber("Mesh.MeshSizeExtendFromBoundary", 0)
        gmsh.option.setNumber("Mesh.MeshSizeFromPoints", 0)
        gmsh.option.setNumber("Mesh.MeshSizeFromCurvature", 0)
        gmsh.model.mesh.generate(3)
        gmsh.model.mesh.affineTransform([s, 0, 0, 0, 0, s, 0, 0, 0, 0, s, 0])
        return {"gdim": 3}

    return build
