"""`femcell bench scaling`: weak and strong parallel scaling of a fixed study family.

The driver (`femcell bench scaling [options]`, or `python -m femcell.bench_scaling`) plans one
mesh per case and rank count, launches itself once per rank count as an MPI job

    $FEMCELL_MPIEXEC -n K python -m mpi4py -m femcell.bench_scaling --worker SPEC

and collects the JSON lines rank 0 of each job prints (one per case). The launcher is
FEMCELL_MPIEXEC when set (e.g. "srun --mpi=pmi2"; "{n}" in it is replaced by the rank
count, otherwise "-n K" is appended), else the mpiexec next to the Python interpreter, else
`mpiexec` on PATH; FEMCELL_PYTHON replaces the workers' interpreter (default: this one). See
container/SCALING.md.

The family (fixed geometry; only the element size changes):
    diffusion  LiFePO4 in a 20 um cube of 27 Voronoi grains, per-grain anisotropic D
               (1D channels, D_b / D_a = 1000), c held on one face, BDF2 steps of 2e4 s;
               linear: operators assembled once, a step is a right-hand side and a CG solve.
    charge     Li | polycrystalline LLZO | Li, 3D, Butler-Volmer on both interfaces, a
               current ramp of 1 mA/cm^2 per 1 s step: Newton with a Jacobian per iteration.
    elasticity not yet available (issue 12 adds it); the driver says so.

Sizes: two small gmsh probes count nodes, tetrahedra and boundary triangles per region; power
laws through them give the element size h for a target DOF count, and rank 0 meshes again
with a corrected h when its mesh would miss the target by more than 5 %. Meshes above
--max-mesh-dofs are made coarser by gmsh on rank 0 and reach the target by uniform
refinement in parallel (about 7x the DOFs per level), so the serial mesher never limits a
cluster run. Strong scaling uses one mesh for every rank count.

Timing: after warm-up steps (the first step with the preconditioner set-up; for BDF2 also
the switch from the BDF1 start), --steps steps are timed, each between barriers. Per step:
the median wall time (robust to other jobs on a shared machine; mean and minimum are in
the JSON), Newton and Krylov iterations, and the mean assembly / solve wall time from
Problem.stats (max over ranks). Efficiency: weak T_1 / T_p, strong T_1 / (p T_p), with the
smallest rank count as the reference when 1 is not among them.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import math
import os
import shlex
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from femcell.config import ConfigError

PROG = "femcell bench scaling"
CASES = ("diffusion", "charge", "elasticity")
MODES = ("weak", "strong")
MIN_DOFS = 2000  # the coarsest meshes of the family have ~600 DOFs
MAX_DOFS = 10**10
DEFAULT_DOFS_PER_RANK = 10_000
DEFAULT_MAX_MESH_DOFS = 8_000  # gmsh makes ~2-3e3 nodes/s on these polycrystals
MESH_DOFS_PER_RANK = 250  # auto cap: at least this many coarse DOFs per rank of the largest run
MAX_STEPS = 1000
MAX_LEVELS = 8
MARK = "femcell_bench_scaling"
PROBE_RATIO = 1.5  # the second probe mesh is this much finer
CALIBRATION_TOL = 0.05  # remesh when the DOFs would miss the target by more
CALIBRATION_MESHES = 3
ELASTICITY_NOTE = "elasticity: not yet available (issue 12 adds it); no numbers"

# case -> builder, its fixed parameters, probe size h0 [m], coarsest allowed h [m], warm-up
FAMILY = {
    "diffusion": {
        "builder": "polycrystal",
        "params": {"dim": 3, "size": [20e-6, 20e-6, 20e-6], "mean_grain_size": 20e-6 / 3,
                   "seed": 1, "region": "electrode"},
        "regions": None,  # one field on the whole mesh
        "h0": 2e-6, "h_max": 4e-6, "warmup": 2, "dt": 2e4,
        "describe": "LiFePO4 20 um cube, 27 grains, anisotropic D, BDF2 dt = 2e4 s",
    },
    "charge": {
        "builder": "symmetric_cell",
        "params": {"dim": 3, "width": 40e-6, "electrolyte_thickness": 40e-6,
                   "anode_thickness": 10e-6, "cathode_thickness": 10e-6,
                   "grains": {"mean_size": 20e-6, "seed": 1}},
        "regions": ("anode", "electrolyte", "cathode"),  # one potential per region
        "h0": 4e-6, "h_max": 8e-6, "warmup": 1, "dt": 1.0,
        "describe": "Li|LLZO|Li 40x40x60 um, 8 grains, Butler-Volmer, ramp 1 mA/cm^2/s",
    },
}
RAMP = 10.0  # charge case: current density ramp [A m^-2 s^-1]

COLUMNS = ("case", "mode", "ranks", "dofs", "dofs_per_rank", "target_dofs", "cells",
           "h_m", "refinements", "gmsh_meshes", "solver", "steps", "time_per_step_s",
           "time_per_step_mean_s", "time_per_step_min_s", "newton_per_step",
           "krylov_per_step", "assemble_per_step_s", "solve_per_step_s", "mesh_s", "setup_s",
           "imbalance", "efficiency", "status")


class _Parser(argparse.ArgumentParser):
    """Argument errors become one-line ConfigErrors (exit code 2 in the CLI)."""

    def error(self, message):
        raise ConfigError(f"{self.prog}: {message}")


def _bad(option: str, value, why: str) -> ConfigError:
    return ConfigError(f"{PROG}: {option} {value}: {why}")


def _int_list(option: str, text: str) -> list[int]:
    try:
        out = sorted({int(x) for x in text.split(",") if x.strip()})
    except ValueError:
        raise _bad(option, text, "must be comma-separated integers, e.g. 1,2,4") from None
    if not out or out[0] < 1:
        raise _bad(option, text, "must be positive integers, e.g. 1,2,4")
    return out


def _names(option: str, text: str, known: tuple[str, ...]) -> list[str]:
    out = [x.strip() for x in text.split(",") if x.strip()]
    bad = [x for x in out if x not in known]
    if bad or not out:
        raise _bad(option, text, f"unknown {', '.join(bad) or '(none)'}; choose from "
                   f"{', '.join(known)}")
    return [k for k in known if k in out]


def parse_args(extra: list[str]) -> argparse.Namespace:
    """Parse and check the driver's options.

    Raises:
        ConfigError: one line naming the option and its value.
    """
    ap = _Parser(prog=PROG, description="Weak and strong scaling of a fixed study family "
                 "(container/SCALING.md).")
    ap.add_argument("--ranks", help="rank counts, e.g. 1,2,4 (default 1, 2, 4, ... up to "
                    "--max-ranks)")
    ap.add_argument("--max-ranks", type=int, help="largest rank count (default: cores)")
    ap.add_argument("--dofs-per-rank", type=int, default=DEFAULT_DOFS_PER_RANK,
                    help=f"weak scaling: DOFs per rank (default {DEFAULT_DOFS_PER_RANK})")
    ap.add_argument("--dofs", type=int, help="strong scaling: total DOFs (default "
                    "--dofs-per-rank x the largest rank count)")
    ap.add_argument("--steps", type=int, default=5, help="timed steps per run (default 5)")
    ap.add_argument("--cases", default=",".join(CASES), help="diffusion,charge,elasticity")
    ap.add_argument("--modes", default=",".join(MODES), help="weak,strong")
    ap.add_argument("--max-mesh-dofs", type=int, help="largest mesh gmsh makes on rank 0; "
                    "bigger ones come from uniform parallel refinement (default "
                    f"max({DEFAULT_MAX_MESH_DOFS}, {MESH_DOFS_PER_RANK} x the largest rank "
                    "count))")
    ap.add_argument("--timeout", type=float, default=3600.0,
                    help="seconds allowed per MPI job (default 3600)")
    ap.add_argument("--output", "-o", help="write the rows to FILE.json or FILE.csv")
    args = ap.parse_args(extra)
    if args.ranks is not None and args.max_ranks is not None:
        raise ConfigError(f"{PROG}: give --ranks or --max-ranks, not both")
    if args.ranks is not None:
        args.ranks = _int_list("--ranks", args.ranks)
    else:
        top = args.max_ranks if args.max_ranks is not None else (os.cpu_count() or 1)
        if top < 1:
            raise _bad("--max-ranks", top, "must be at least 1")
        args.ranks = [2**k for k in range(int(math.log2(top)) + 1)]
    args.cases = _names("--cases", args.cases, CASES)
    args.modes = _names("--modes", args.modes, MODES)
    if not MIN_DOFS <= args.dofs_per_rank <= MAX_DOFS:
        raise _bad("--dofs-per-rank", args.dofs_per_rank, f"must be within {MIN_DOFS}-"
                   f"{MAX_DOFS:.0e} (a cluster node: e.g. 200000)")
    if args.dofs is None:
        args.dofs = args.dofs_per_rank * args.ranks[-1]
    elif not MIN_DOFS <= args.dofs <= MAX_DOFS:
        raise _bad("--dofs", args.dofs, f"must be within {MIN_DOFS}-{MAX_DOFS:.0e}")
    if not 1 <= args.steps <= MAX_STEPS:
        raise _bad("--steps", args.steps, f"must be within 1-{MAX_STEPS}")
    if args.max_mesh_dofs is None:
        args.max_mesh_dofs = max(DEFAULT_MAX_MESH_DOFS, MESH_DOFS_PER_RANK * args.ranks[-1])
    elif not MIN_DOFS <= args.max_mesh_dofs <= 10**7:
        raise _bad("--max-mesh-dofs", args.max_mesh_dofs, f"must be within {MIN_DOFS}-1e7")
    if not (math.isfinite(args.timeout) and args.timeout > 0):
        raise _bad("--timeout", args.timeout, "must be a positive number of seconds")
    if args.output is not None:
        out = Path(args.output)
        if out.suffix not in (".json", ".csv"):
            raise _bad("--output", args.output, "must end in .json or .csv")
        if not out.resolve().parent.is_dir():
            raise _bad("--output", args.output, "its folder does not exist")
    return args


# ---------------------------------------------------------------------------- launching
def launcher() -> tuple[list[str], list[str]]:
    """(MPI launcher prefix, worker interpreter) from FEMCELL_MPIEXEC / FEMCELL_PYTHON, the
    mpiexec next to this interpreter or mpiexec on PATH.

    Raises:
        ConfigError: when no launcher is found or FEMCELL_MPIEXEC does not parse.
    """
    env = os.environ.get("FEMCELL_MPIEXEC", "").strip()
    if env:
        try:
            cmd = shlex.split(env)
        except ValueError as exc:
            raise ConfigError(f"{PROG}: FEMCELL_MPIEXEC={env!r}: {exc}") from None
    else:
        near = Path(sys.executable).parent / "mpiexec"
        found = str(near) if near.is_file() and os.access(near, os.X_OK) else shutil.which(
            "mpiexec")
        if found is None:
            raise ConfigError(f"{PROG}: no mpiexec next to {sys.executable} or on PATH; set "
                              "FEMCELL_MPIEXEC (e.g. 'srun --mpi=pmi2')")
        cmd = [found]
    py = os.environ.get("FEMCELL_PYTHON", "").strip()
    return cmd, (shlex.split(py) if py else [sys.executable])


def mpi_command(ranks: int, role: list[str]) -> list[str]:
    """The command that runs this module on `ranks` MPI ranks with arguments `role`."""
    cmd, python = launcher()
    if any("{n}" in c for c in cmd):
        cmd = [c.replace("{n}", str(ranks)) for c in cmd]
    else:
        cmd = cmd + ["-n", str(ranks)]
    return cmd + python + ["-m", "mpi4py", "-m", "femcell.bench_scaling"] + role


def _launch(ranks: int, role: list[str], timeout: float) -> tuple[dict | None, str]:
    """Run one MPI job and merge the JSON lines its rank 0 printed: (the record, or None
    when nothing came back; a one-line reason when the job failed, else "")."""
    cmd = mpi_command(ranks, role)
    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", "1")  # one core per rank (BLAS, gmsh threads)
    try:  # its own process group: a timeout or Ctrl-C ends the launcher and every rank
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, env=env, start_new_session=True)
    except OSError as exc:
        raise ConfigError(f"{PROG}: cannot run {cmd[0]!r} ({exc.strerror}); set "
                          "FEMCELL_MPIEXEC") from None
    why = ""
    try:
        with _sigterm_as_interrupt():
            out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _stop(proc)
        try:  # ranks outside the group may hold the pipes: do not wait for them
            out, err = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            out, err = "", ""
        why = f"timed out after {timeout:g} s (--timeout)"
    except BaseException:
        _stop(proc)
        raise
    record = None
    for line in out.splitlines():
        if line.startswith("{") and MARK in line:
            try:
                got = json.loads(line)
            except json.JSONDecodeError:
                continue
            if record is None:
                record = got
            else:
                record["rows"] = record.get("rows", []) + got.get("rows", [])
    if not why and proc.returncode != 0:
        lines = [x for x in (err + out).splitlines() if x.strip()]
        why = f"exit {proc.returncode}: {lines[-1].strip() if lines else 'no output'}"
    if not why and record is None:
        why = "no result line"
    return record, why


@contextlib.contextmanager
def _sigterm_as_interrupt():
    """SIGTERM to the driver raises KeyboardInterrupt while a job runs, so the job's process
    group is ended too (it runs in its own session)."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def _stop(proc) -> None:
    """Terminate a launched job's process group (then kill it after 10 s)."""
    import signal

    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


# ---------------------------------------------------------------------------- sizing
def refined_dofs(counts: list[list[float]], levels: int) -> float:
    """P1 DOFs after `levels` uniform refinements (each splits a tetrahedron in 8) of a
    mesh with, per field region, [nodes, tetrahedra, boundary triangles]."""
    total = 0.0
    for v, t, f in counts:
        for _ in range(levels):
            edges = v + t + f / 2 - 1  # Euler: V - E + F - T = 1, 4T = 2F - F_boundary
            v, t, f = v + edges, 8 * t, 4 * f
        total += v
    return total


def counts_at(probes: list[list[list[int]]], h: float, h0: float) -> list[list[float]]:
    """Per field region [nodes, tetrahedra, boundary triangles] at element size h [m], by
    power laws through the two probe meshes (at h0 and h0 / PROBE_RATIO) with exponents
    clamped to [2, 3] (surface-dominated coarse meshes grow slower than h^-3)."""
    coarse, fine = probes
    out = []
    for c0, c1 in zip(coarse, fine, strict=True):
        row = []
        for x0, x1 in zip(c0, c1, strict=True):
            k = min(3.0, max(2.0, math.log(x1 / x0) / math.log(PROBE_RATIO)))
            row.append(x1 * (h0 / PROBE_RATIO / h) ** k)
        out.append(row)
    return out


def plan(case: str, probes, target: int, max_mesh_dofs: int) -> dict:
    """Element size h [m] and refinement levels reaching about `target` DOFs for `case`,
    with at most about `max_mesh_dofs` DOFs in the mesh gmsh makes."""
    fam = FAMILY[case]
    h0 = fam["h0"]
    best = None
    for levels in range(MAX_LEVELS + 1):
        lo, hi = math.log(h0) - 12, math.log(h0) + 6  # bisection on log h
        for _ in range(100):
            mid = 0.5 * (lo + hi)
            if refined_dofs(counts_at(probes, math.exp(mid), h0), levels) > target:
                lo = mid
            else:
                hi = mid
        h = min(math.exp(0.5 * (lo + hi)), fam["h_max"])
        if levels > 0 and h >= fam["h_max"]:
            break  # coarser than the geometry allows: keep the previous level
        best = {"h": h, "levels": levels}
        if sum(c[0] for c in counts_at(probes, h, h0)) <= max_mesh_dofs:
            break
    return best


def probe(case: str) -> list[list[list[int]]]:
    """Mesh `case` with gmsh (serially) at its probe size h0 and at h0 / PROBE_RATIO; per
    mesh and field region [nodes, tetrahedra, boundary triangles]."""
    import gmsh

    from femcell.geometry import BUILDERS

    fam = FAMILY[case]
    out = []
    init = not gmsh.isInitialized()
    if init:
        gmsh.initialize(interruptible=False)
    gmsh.option.setNumber("General.Terminal", 0)
    try:
        for h in (fam["h0"], fam["h0"] / PROBE_RATIO):
            gmsh.model.add(f"probe_{case}")
            try:
                BUILDERS[fam["builder"]](**fam["params"], h=h)
                out.append(model_counts(case))
            finally:
                gmsh.model.remove()
    finally:
        if init:
            gmsh.finalize()
    return out


def model_counts(case: str) -> list[list[int]]:
    """Per field region of `case`, [nodes, tetrahedra, boundary triangles] of the current
    gmsh model's mesh (order 1)."""
    import gmsh
    import numpy as np

    fam = FAMILY[case]
    groups: dict[str, list[np.ndarray]] = {}
    for dim, tag in gmsh.model.getPhysicalGroups(3):
        top = "all" if fam["regions"] is None else gmsh.model.getPhysicalName(
            dim, tag).split(".")[0]
        for ent in gmsh.model.getEntitiesForPhysicalGroup(dim, tag):
            types, _, nodes = gmsh.model.mesh.getElements(3, ent)
            for typ, nd in zip(types, nodes, strict=True):
                if typ == 4:  # 4-node tetrahedra
                    groups.setdefault(top, []).append(np.asarray(nd).reshape(-1, 4))
    counts = []
    for name in (fam["regions"] or ("all",)):
        tets = np.unique(np.concatenate(groups[name]), axis=0)
        faces = np.sort(np.concatenate([tets[:, [1, 2, 3]], tets[:, [0, 2, 3]],
                                        tets[:, [0, 1, 3]], tets[:, [0, 1, 2]]]), axis=1)
        _, n = np.unique(faces, axis=0, return_counts=True)
        counts.append([int(np.unique(tets).size), int(len(tets)), int(np.sum(n == 1))])
    return counts


# ---------------------------------------------------------------------------- worker
def refine(data):
    """One uniform refinement of a distributed gmsh mesh (the result of
    dolfinx.io.gmsh.model_to_mesh), its cell and facet tags carried over; cells stay on
    their parent's rank. DOLFINx's transfer_meshtag refuses ghosted meshes, so the tags are
    moved here: owned cells from their parent, ghost cells by a scatter."""
    import numpy as np

    from femcell._dolfinx import dolfinx

    mesh = data.mesh
    tdim = mesh.topology.dim
    mesh.topology.create_entities(1)
    fine, parent, parent_facet = dolfinx.mesh.refine(
        mesh, option=dolfinx.mesh.RefinementOption.parent_cell_and_facet)
    cmap, fmap = mesh.topology.index_map(tdim), fine.topology.index_map(tdim)
    n = fmap.size_local
    # refine's arrays follow the cells before DOLFINx reordered them
    order = np.asarray(fine.topology.original_cell_index)[:n] - fmap.local_range[0]
    parent = np.asarray(parent)[order]
    parent_facet = np.asarray(parent_facet).reshape(-1, tdim + 1)[order].astype(np.int64)
    marker = np.full(cmap.size_local + cmap.num_ghosts, -1.0)
    marker[data.cell_tags.indices] = data.cell_tags.values
    vec = dolfinx.la.vector(fmap, 1)
    vec.array[:n] = marker[parent]
    vec.scatter_forward()
    values = np.rint(vec.array).astype(np.int32)
    cells = np.flatnonzero(values >= 0).astype(np.int32)
    cell_tags = dolfinx.mesh.meshtags(fine, tdim, cells, values[cells])
    mesh.topology.create_connectivity(tdim, tdim - 1)
    fine.topology.create_connectivity(tdim, tdim - 1)
    nf = tdim + 1
    facet_map = mesh.topology.index_map(tdim - 1)
    fmark = np.full(facet_map.size_local + facet_map.num_ghosts, -1, dtype=np.int64)
    fmark[data.facet_tags.indices] = data.facet_tags.values
    c2f = mesh.topology.connectivity(tdim, tdim - 1).array.reshape(-1, nf)
    c2f_fine = fine.topology.connectivity(tdim, tdim - 1).array.reshape(-1, nf)[:n]
    on_parent = parent_facet >= 0
    pfacet = c2f[parent][np.arange(n)[:, None], np.where(on_parent, parent_facet, 0)]
    val = np.where(on_parent, fmark[pfacet], -1)
    keep = val >= 0
    facets, first = np.unique(c2f_fine[keep], return_index=True)
    facet_tags = dolfinx.mesh.meshtags(fine, tdim - 1, facets.astype(np.int32),
                                       val[keep][first].astype(np.int32))
    return data._replace(mesh=fine, cell_tags=cell_tags, facet_tags=facet_tags)


def build_domain(case: str, h: float, levels: int, comm, target: int | None = None):
    """The case's Domain: gmsh at element size h [m] on rank 0, distributed, then refined
    `levels` times in parallel.

    With a `target` DOF count, rank 0 first counts the mesh gmsh made and, when the DOFs
    after refinement would miss the target by more than CALIBRATION_TOL, meshes again with
    a corrected h (secant in log h - log DOFs, at most CALIBRATION_MESHES meshes).

    Returns:
        (Domain, h used [m], gmsh meshes made).
    """
    import gmsh

    from femcell._domain_build import mesh_from_gmsh
    from femcell.domain import Domain
    from femcell.geometry import BUILDERS

    fam = FAMILY[case]

    def fill():
        tried = []  # (log h, log DOFs)
        hh = h
        while True:
            meta = BUILDERS[fam["builder"]](**fam["params"], h=hh)
            if target is None:
                break
            dofs = refined_dofs(model_counts(case), levels)
            tried.append((math.log(hh), math.log(dofs)))
            if abs(dofs / target - 1) <= CALIBRATION_TOL or len(tried) >= CALIBRATION_MESHES:
                break
            slope = -2.5  # DOFs ~ h^-2.5 on these meshes until two points say better
            if len(tried) > 1 and tried[-1][0] != tried[-2][0]:
                slope = min(-1.5, (tried[-1][1] - tried[-2][1]) / (tried[-1][0] - tried[-2][0]))
            new = math.exp(tried[-1][0] + (math.log(target) - tried[-1][1]) / slope)
            if min(new, fam["h_max"]) == hh:
                break
            hh = min(new, fam["h_max"])
            gmsh.model.remove()
            gmsh.model.add("femcell")
        meta["bench_mesh"] = {"h": hh, "meshes": max(len(tried), 1)}
        return meta

    data, meta = mesh_from_gmsh(fill, comm)
    for _ in range(levels):
        data = refine(data)
    return Domain(data, meta), meta["bench_mesh"]["h"], meta["bench_mesh"]["meshes"]


def build_physics(case: str, domain) -> list:
    """The physics of a case on its Domain (see the module docstring)."""
    from femcell.materials import Arrhenius, get_material, rotation_from_euler

    if case == "diffusion":
        from femcell.physics.diffusion import Diffusion, Dirichlet

        mat = get_material("lfp")
        euler = domain.metadata["orientations"]
        rot = {g: rotation_from_euler(euler[g]) for g in domain.grains("electrode")}
        return [Diffusion(mat, [Dirichlet("left", 0.95 * mat.c_max)],
                          initial=0.05 * mat.c_max, orientations=rot)]
    from femcell.physics.charge import ChargeTransport
    from femcell.physics.kinetics import ButlerVolmer, InterfaceKinetics

    law = ButlerVolmer(Arrhenius(250.0))  # i0 = 25 mA/cm^2
    li = get_material("li")
    return [ChargeTransport({"anode": li, "electrolyte": get_material("llzo"), "cathode": li},
                            [InterfaceKinetics("anode", "electrolyte", law),
                             InterfaceKinetics("cathode", "electrolyte", law)],
                            current_density=lambda t: RAMP * t)]


def solver_label(problem, physics) -> str:
    """Krylov method + preconditioner of the Problem's iterative preset, e.g. "cg+gamg"."""
    from femcell.solvers.presets import linear_solver_options

    opts = linear_solver_options(problem.num_dofs, "iterative",
                                 all(p.symmetric for p in physics), problem.domain.comm.size)
    return f"{opts['ksp_type']}+{opts['pc_type']}"


def run_case(case: str, h: float, levels: int, steps: int, comm,
             target: int | None = None) -> dict:
    """Build, warm up and time one case on `comm`; the measured numbers (same on all
    ranks). With a `target` DOF count the mesh size h [m] is calibrated first (see
    `build_domain`)."""
    import numpy as np

    from femcell._dolfinx import MPI
    from femcell.problem import Problem
    from femcell.solvers import SolverError, StepController, TimeIntegrator

    fam = FAMILY[case]
    comm.Barrier()
    t0 = time.perf_counter()
    domain, h, meshes = build_domain(case, h, levels, comm, target)
    mesh_s = comm.allreduce(time.perf_counter() - t0, op=MPI.MAX)
    physics = build_physics(case, domain)
    t0 = time.perf_counter()
    problem = Problem(domain, physics, linear_solver="iterative")
    problem.initialise()
    integ = TimeIntegrator(problem, StepController(dt_initial=fam["dt"], adaptive=False))
    setup_s = comm.allreduce(time.perf_counter() - t0, op=MPI.MAX)
    owned = sum(f.u.function_space.dofmap.index_map.size_local
                * f.u.function_space.dofmap.index_map_bs for f in problem.fields)
    per_rank = comm.allgather(owned)
    row = {"case": case, "ranks": comm.size, "dofs": problem.num_dofs,
           "cells": domain.mesh.topology.index_map(domain.tdim).size_global, "h_m": h,
           "refinements": levels, "gmsh_meshes": meshes,
           "solver": solver_label(problem, physics), "steps": steps, "mesh_s": mesh_s,
           "setup_s": setup_s,
           "imbalance": max(per_rank) / (sum(per_rank) / len(per_rank)), "status": "ok"}
    try:
        for _ in range(fam["warmup"]):
            integ.step(math.inf)
        before = dict(problem.stats)
        first = len(integ.log)
        times = np.zeros(steps)
        for k in range(steps):  # each step between barriers: its slowest rank's time
            comm.Barrier()
            t0 = time.perf_counter()
            integ.step(math.inf)
            comm.Barrier()
            times[k] = time.perf_counter() - t0
        comm.Allreduce(MPI.IN_PLACE, times, op=MPI.MAX)
    except SolverError as exc:  # collective: every rank raises it
        row["status"] = f"failed: {exc}"
        return row
    finally:
        problem.close()
    log = integ.log[first:]
    split = [comm.allreduce(problem.stats[k] - before[k], op=MPI.MAX)
             for k in ("assemble_s", "solve_s")]
    row.update({"time_per_step_s": float(np.median(times)),
                "time_per_step_mean_s": float(np.mean(times)),
                "time_per_step_min_s": float(np.min(times)),
                "newton_per_step": sum(r["newton_its"] for r in log) / steps,
                "krylov_per_step": sum(r["krylov_its"] for r in log) / steps,
                "assemble_per_step_s": float(split[0]) / steps,
                "solve_per_step_s": float(split[1]) / steps})
    if any(r["cuts"] for r in log):
        row["status"] = f"ok ({sum(r['cuts'] for r in log)} step cuts)"
    return row


def worker(spec: dict) -> None:
    """Run the spec's cases on MPI.COMM_WORLD; rank 0 prints one JSON line per case as it
    finishes (a later failure keeps the earlier results)."""
    import gc

    from femcell._dolfinx import MPI, PETSc
    from femcell.domain import DomainError
    from femcell.geometry import GeometryError
    from femcell.solvers import SolverError

    PETSc.Options()["options_left"] = "no"  # the GMRES options the CG preset leaves unused
    comm = MPI.COMM_WORLD
    for run in spec["runs"]:
        try:
            row = run_case(run["case"], run["h"], run["levels"], spec["steps"], comm,
                           run["target"])
        except (SolverError, GeometryError, DomainError) as exc:  # raised on every rank
            row = {"case": run["case"], "ranks": comm.size, "status": f"failed: {exc}"}
        gc.collect()
        PETSc.garbage_cleanup(comm)
        if comm.rank == 0:
            print(json.dumps({MARK: 1, "ranks": comm.size, "rows": [{"key": run["key"],
                                                                     **row}]}), flush=True)


# ---------------------------------------------------------------------------- driver
def efficiencies(rows: list[dict]) -> None:
    """Set "efficiency" on every row: weak T_ref / T_p, strong p_ref T_ref / (p T_p), the
    reference being the smallest rank count of the same case and mode that ran."""
    for row in rows:
        ref = min((r for r in rows if r["case"] == row["case"] and r["mode"] == row["mode"]
                   and r.get("time_per_step_s")), key=lambda r: r["ranks"], default=None)
        t = row.get("time_per_step_s")
        if ref is None or not t:
            row["efficiency"] = None
        elif row["mode"] == "weak":
            row["efficiency"] = ref["time_per_step_s"] / t
        else:
            row["efficiency"] = ref["ranks"] * ref["time_per_step_s"] / (row["ranks"] * t)


def _num(x, width: int, fmt: str = ".3g") -> str:
    text = "-" if x is None else format(x, fmt)
    if len(text) > width and x is not None:
        text = format(x, ".1e" if abs(x) < 1 else ".0f")
    return f"{text:>{width}s}"


HEADER = (f"{'case':9s} {'mode':6s} {'p':>4s} {'DOFs':>9s} {'DOFs/p':>8s} {'solver':11s} "
          f"{'s/step':>8s} {'Newton':>6s} {'Krylov':>7s} {'asm s':>7s} {'solve s':>7s} "
          f"{'eff':>5s}")


def format_row(r: dict) -> str:
    """One fixed-width table line (under 100 columns)."""
    if not r.get("time_per_step_s"):
        return (f"{r['case']:9s} {r['mode']:6s} {r['ranks']:4d} {_num(r.get('dofs'), 9, 'd')} "
                f"{'':8s} {r['status'][:59]}")
    return (f"{r['case']:9s} {r['mode']:6s} {r['ranks']:4d} {r['dofs']:9d} "
            f"{round(r['dofs_per_rank']):8d} {r['solver'][:11]:11s} "
            f"{_num(r['time_per_step_s'], 8)} {_num(r['newton_per_step'], 6, '.1f')} "
            f"{_num(r['krylov_per_step'], 7, '.1f')} {_num(r['assemble_per_step_s'], 7)} "
            f"{_num(r['solve_per_step_s'], 7)} {_num(r.get('efficiency'), 5, '.2f')}")


def write_output(path: Path, record: dict) -> None:
    """JSON (everything) or CSV (the rows, COLUMNS)."""
    if path.suffix == ".csv":
        with path.open("w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=COLUMNS, extrasaction="ignore")
            w.writeheader()
            for r in record["rows"]:
                w.writerow({k: r.get(k) for k in COLUMNS})
    else:
        path.write_text(json.dumps(record, indent=1) + "\n")


def main(extra: list[str]) -> int:
    """`femcell bench scaling [options]` (the driver; see the module docstring).

    Returns:
        0, or 1 when a run failed (its row says why; the others are still reported).
    """
    args = parse_args(extra)
    for var in ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE"):
        if os.environ.get(var, "1").strip() not in ("", "0", "1"):
            raise ConfigError(f"{PROG}: run it as one process (not under mpiexec/srun): it "
                              "launches its own MPI jobs")
    mpi_command(1, [])  # find the launcher before anything runs
    cases = [c for c in args.cases if c in FAMILY]
    print(textwrap.fill(f"{PROG}: ranks {','.join(map(str, args.ranks))}, weak "
                        f"{args.dofs_per_rank} DOFs/rank, strong {args.dofs} DOFs, {args.steps} "
                        f"timed steps, {os.cpu_count()} cores here", 100), flush=True)
    if args.ranks[-1] > (os.cpu_count() or 1):
        print(f"note: {args.ranks[-1]} ranks on {os.cpu_count()} cores here: oversubscribed "
              "(unless the launcher spreads them over nodes)", flush=True)
    if "elasticity" in args.cases:
        print(ELASTICITY_NOTE, flush=True)
    from femcell import __version__

    record = {"benchmark": PROG, "femcell": __version__,
              "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "ranks": args.ranks,
              "dofs_per_rank": args.dofs_per_rank, "dofs": args.dofs, "steps": args.steps,
              "max_mesh_dofs": args.max_mesh_dofs, "cores": os.cpu_count(),
              "launcher": shlex.join(mpi_command(1, ["--worker", "SPEC"])),
              "family": {c: FAMILY[c]["describe"] for c in cases}, "rows": [],
              "skipped": ([{"case": "elasticity", "reason": ELASTICITY_NOTE}]
                          if "elasticity" in args.cases else [])}
    failed = False
    if cases:
        t0 = time.perf_counter()
        got, why = _launch(1, ["--probe", ",".join(cases)], args.timeout)
        if got is None:
            raise ConfigError(f"{PROG}: the mesh probe failed ({why})")
        counts = got["counts"]
        print(f"probe meshes: {time.perf_counter() - t0:.1f} s", flush=True)
        for c in cases:
            print(f"  {c}: {FAMILY[c]['describe']}", flush=True)
        print(HEADER, flush=True)
    rows = record["rows"]
    known = {}  # (case, target) -> mesh (h, levels) measured: the same mesh again
    for p in args.ranks if cases else []:
        runs, wanted = {}, []
        for c in cases:
            for mode in args.modes:
                target = p * args.dofs_per_rank if mode == "weak" else args.dofs
                key = f"{c}:{target}"
                if (c, target) in known:
                    h, levels = known[(c, target)]
                    runs[key] = {"key": key, "case": c, "h": h, "levels": levels,
                                 "target": None}
                else:
                    pl = plan(c, counts[c], target, args.max_mesh_dofs)
                    runs[key] = {"key": key, "case": c, "h": pl["h"], "levels": pl["levels"],
                                 "target": target}
                wanted.append((c, mode, target, key))
        spec = {"steps": args.steps, "runs": list(runs.values())}
        got, why = _launch(p, ["--worker", json.dumps(spec)], args.timeout)
        by_key = {r["key"]: r for r in got["rows"]} if got else {}
        failed |= bool(why)
        for r in by_key.values():
            if r.get("h_m"):
                known[(r["case"], int(r["key"].split(":")[1]))] = (r["h_m"], r["refinements"])
        for c, mode, target, key in wanted:
            r = dict(by_key.get(key) or {"case": c, "ranks": p, "status": f"failed: {why}"})
            r.pop("key", None)
            r.update({"mode": mode, "target_dofs": target})
            if r.get("dofs"):
                r["dofs_per_rank"] = r["dofs"] / p
            rows.append(r)
            efficiencies(rows)
            print(format_row(r), flush=True)
    efficiencies(rows)
    failed |= any(r["status"].startswith("failed") for r in rows)
    if rows:
        print("s/step: median wall time of a timed step; Newton, Krylov: iterations per step "
              "(Newton 1:\none linear solve); asm s / solve s: mean wall s per step in assembly "
              "/ the rest of\nthe solves (max over ranks); eff: weak T1/Tp, strong T1/(p Tp), "
              "T1 at the smallest\nrank count. Runs of equal size and ranks are measured once "
              "(weak = strong).", flush=True)
        for c in cases:
            for mode in args.modes:
                text = ", ".join(f"p={r['ranks']} h={r['h_m'] * 1e6:.3g} um x{r['refinements']}"
                                 for r in rows if r["case"] == c and r["mode"] == mode
                                 and r.get("h_m"))
                print(textwrap.fill(f"mesh {c} {mode}: {text or '-'}", 100,
                                    subsequent_indent="  "), flush=True)
        print("(h: element size gmsh meshed with; xN: uniform refinements in parallel)",
              flush=True)
    if args.output is not None:
        write_output(Path(args.output), record)
        print(f"wrote {args.output}", flush=True)
    return 1 if failed else 0


def _entry(argv: list[str]) -> int:
    """`python -m femcell.bench_scaling`: the driver, or the --probe / --worker roles."""
    if argv[:1] == ["--worker"] and len(argv) == 2:
        worker(json.loads(argv[1]))
        return 0
    if argv[:1] == ["--probe"] and len(argv) == 2:
        counts = {c: probe(c) for c in argv[1].split(",")}
        print(json.dumps({MARK: 1, "counts": counts}), flush=True)
        return 0
    try:
        return main(argv)
    except ConfigError as exc:
        print(f"femcell: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(_entry(sys.argv[1:]))
