"""`femcell bench particle`: time to 1 % and 0.1 % surface-concentration error (docs/benchmarks.md).

For the galvanostatic sphere (R = 5 um, D = 1e-14 m^2/s, 1 h) it finds, for each code, the
cheapest resolution on a fixed ladder that meets each accuracy target against Crank's series,
and prints setup and solve wall times: femcell 1D spherical and 3D, the hand-written DOLFINx
script (femcell/benchmarks/particle_handwritten.py) and PyBaMM's finite-volume particle when
pybamm is installed (pip install '.[bench]'). Benchmarks print; they never fail.
"""

from __future__ import annotations

import argparse
import math
import time

from femcell.analytic import crank_sphere_surface
from femcell.config import ConfigError

CASE = {"radius": 5e-6, "diffusivity": 1e-14, "flux": 1.5e-5, "c0": 1.0e4, "t_end": 3600.0}
LADDER_1D = [(5, 25), (5, 50), (10, 50), (10, 100), (20, 100), (20, 200), (40, 200),
             (40, 400), (80, 400)]
LADDER_3D = [1.0, 0.5, 0.35, 0.25]  # h / R with second-order tets
REPEAT = 5
CELL_H = (2e-6, 1e-6, 0.5e-6)  # element sizes of the cell benchmark [m] (before --size)
CELL_BOX = (200e-6, 140e-6)  # its width and total thickness [m]
MAX_BENCH_STEPS = 10_000


class _Parser(argparse.ArgumentParser):
    """Argument errors become one-line ConfigErrors (exit code 2 in the CLI)."""

    def error(self, message):
        raise ConfigError(f"{self.prog}: {message}")


def _cell_args(extra: list[str]) -> argparse.Namespace:
    """Parse and check `femcell bench cell` arguments (--size, --steps).

    Raises:
        ConfigError: naming the argument and its value.
    """
    from femcell.geometry import GeometryError
    from femcell.geometry._common import CellCount

    ap = _Parser(prog="femcell bench cell")
    ap.add_argument("--size", type=float, default=1.0, help="refine all meshes by this factor")
    ap.add_argument("--steps", type=int, default=5, help="time steps per run")
    args = ap.parse_args(extra)
    if not (math.isfinite(args.size) and args.size > 0):
        raise ConfigError(f"femcell bench cell: --size {args.size:g}: must be a positive "
                          "factor (1 = the default meshes, 2 = half the element size)")
    if not 1 <= args.steps <= MAX_BENCH_STEPS:
        raise ConfigError(f"femcell bench cell: --steps {args.steps}: must be within "
                          f"1-{MAX_BENCH_STEPS}")
    h = min(CELL_H) / args.size  # the finest mesh must respect the cell limit
    try:
        CellCount("symmetric_cell", 2, CELL_BOX, CELL_BOX[0] * CELL_BOX[1], h).check()
    except GeometryError as exc:
        raise ConfigError(f"femcell bench cell: --size {args.size:g} makes the finest mesh "
                          f"too large ({exc})") from None
    return args


def _exact():
    c = CASE
    return crank_sphere_surface(c["t_end"], radius=c["radius"], diffusivity=c["diffusivity"],
                                flux=c["flux"], c0=c["c0"])


def _femcell_run(domain, n_steps):
    """Time femcell's own loop on the benchmark case: (surface c, setup s, loop s, DOFs)."""
    from femcell.materials import Arrhenius, IntercalationMaterial
    from femcell.physics import Diffusion, Flux
    from femcell.problem import Problem
    from femcell.solvers import StepController, TimeIntegrator

    c = CASE
    t0 = time.perf_counter()
    mat = IntercalationMaterial("bench", 5e4, (Arrhenius(c["diffusivity"]),))
    pb = Problem(domain, [Diffusion(mat, [Flux("surface", c["flux"])], initial=c["c0"])])
    pb.initialise()
    integ = TimeIntegrator(pb, StepController(dt_initial=c["t_end"] / n_steps,
                                              adaptive=False))
    setup = time.perf_counter() - t0
    t0 = time.perf_counter()
    integ.run(c["t_end"])
    loop = time.perf_counter() - t0
    return pb.quantities()["c_surface[surface]"], setup, loop, pb.num_dofs


def _femcell_1d(n_cells, n_steps):
    from femcell.domain import Domain

    t0 = time.perf_counter()
    dom = Domain.from_builder("interval", coordinates="spherical", radius=CASE["radius"],
                              n_cells=n_cells)
    cs, _, loop, _ = _femcell_run(dom, n_steps)
    return cs, time.perf_counter() - t0 - loop, loop  # setup includes the mesh


def _femcell_3d(h_over_r, n_steps=60):
    from femcell.domain import Domain

    t0 = time.perf_counter()
    dom = Domain.from_builder("sphere", radius=CASE["radius"], h=h_over_r * CASE["radius"],
                              order=2)
    cs, _, loop, dofs = _femcell_run(dom, n_steps)
    return cs, time.perf_counter() - t0 - loop, loop, dofs, n_steps


def _handwritten(n_cells, n_steps):
    from femcell.benchmarks.particle_handwritten import run

    r = run(n_cells, n_steps, **CASE)
    return r["surface"], r["setup_s"], r["loop_s"]


def _pybamm(npts):
    try:
        import pybamm
    except ImportError:
        return None
    c = CASE
    model = pybamm.BaseModel()
    cvar = pybamm.Variable("c", domain="particle")
    r = pybamm.SpatialVariable("r", domain=["particle"], coord_sys="spherical polar")
    D = pybamm.Scalar(c["diffusivity"])
    N = -D * pybamm.grad(cvar)
    model.rhs = {cvar: -pybamm.div(N)}
    model.boundary_conditions = {cvar: {"left": (pybamm.Scalar(0), "Neumann"),
                                        "right": (pybamm.Scalar(c["flux"]) / D, "Neumann")}}
    model.initial_conditions = {cvar: pybamm.Scalar(c["c0"])}
    model.variables = {"surface": pybamm.surf(cvar)}
    geom = {"particle": {r: {"min": pybamm.Scalar(0), "max": pybamm.Scalar(c["radius"])}}}
    mesh = pybamm.Mesh(geom, {"particle": pybamm.Uniform1DSubMesh}, {r: npts})
    disc = pybamm.Discretisation(mesh, {"particle": pybamm.FiniteVolume()})
    t0 = time.perf_counter()
    disc.process_model(model)
    solver = pybamm.IDAKLUSolver() if hasattr(pybamm, "IDAKLUSolver") else pybamm.CasadiSolver()
    setup = time.perf_counter() - t0
    t0 = time.perf_counter()
    sol = solver.solve(model, [0, c["t_end"]])
    loop = time.perf_counter() - t0
    return float(sol["surface"].entries[-1]), setup, loop


def _first_meeting(fn, ladder, target, exact):
    for params in ladder:
        best = None
        for _ in range(REPEAT):
            out = fn(*params) if isinstance(params, tuple) else fn(params)
            if out is None:
                return None
            best = out if best is None or out[2] < best[2] else best
        err = abs(best[0] / exact - 1)
        if err <= target:
            return params, err, best
    return None


def bench_cell(extra: list[str]) -> int:
    """docs/benchmarks.md problem 2: the polycrystalline Li|LLZO|Li cell at three refinements
    with the scalable (GMRES + GAMG) and the direct solver: Newton iterations per step,
    Krylov iterations per solve (and their growth per refinement), time per step, DOFs/s.
    `femcell bench cell --size F` divides the element sizes by F (bigger problems)."""
    from femcell._dolfinx import MPI
    from femcell.domain import Domain
    from femcell.materials import Arrhenius, get_material
    from femcell.physics.charge import ChargeTransport
    from femcell.physics.kinetics import ButlerVolmer, InterfaceKinetics
    from femcell.problem import Problem
    from femcell.solvers import StepController, TimeIntegrator

    args = _cell_args(extra)
    comm = MPI.COMM_WORLD
    rows = []
    for solver in ("iterative", "direct"):
        prev = None
        for h in CELL_H:  # ~9e3, 3.4e4, 1.4e5 DOFs
            h = h / args.size
            t0 = time.perf_counter()
            dom = Domain.from_builder("symmetric_cell", comm, dim=2, width=CELL_BOX[0],
                                      electrolyte_thickness=100e-6, anode_thickness=20e-6,
                                      cathode_thickness=20e-6, h=h,
                                      grains={"mean_size": 20e-6, "seed": 1})
            t_mesh = time.perf_counter() - t0
            law = ButlerVolmer(Arrhenius(250.0))
            li = get_material("li")
            ct = ChargeTransport({"anode": li, "electrolyte": get_material("llzo"),
                                  "cathode": li},
                                 [InterfaceKinetics("anode", "electrolyte", law),
                                  InterfaceKinetics("cathode", "electrolyte", law)],
                                 current_density=lambda t: 10.0 * t)
            t0 = time.perf_counter()
            pb = Problem(dom, [ct], linear_solver=solver)
            pb.initialise()
            integ = TimeIntegrator(pb, StepController(dt_initial=1.0, adaptive=False))
            t_setup = time.perf_counter() - t0
            t0 = time.perf_counter()
            integ.run(float(args.steps))
            t_loop = time.perf_counter() - t0
            newton = [r["newton_its"] for r in integ.log]
            krylov = sum(r["krylov_its"] for r in integ.log) / max(sum(newton), 1)
            growth = "" if prev is None else f"{100 * (krylov / prev - 1):+.0f} %"
            prev = krylov
            rows.append((solver, pb.num_dofs, f"{sum(newton) / len(newton):.1f}",
                         max(newton), f"{krylov:.1f}", growth,
                         f"{t_loop / len(newton):.3f}", f"{pb.num_dofs * len(newton) / t_loop:.3g}",
                         f"{t_mesh:.2f}", f"{t_setup:.2f}"))
    if comm.rank == 0:
        print(f"polycrystalline Li|LLZO|Li symmetric cell, 2D, current ramp, {comm.size} rank(s)")
        head = ("solver", "DOFs", "Newton/step", "max", "Krylov/solve", "growth",
                "s/step", "DOFs*steps/s", "mesh s", "setup s")
        print(" | ".join(f"{h:>12s}" for h in head))
        for r in rows:
            print(" | ".join(f"{str(x):>12s}" for x in r))
        print("targets: <= 5 Newton iterations per step; Krylov growth < 30 % per refinement")
    return 0


def main(problem: str, extra: list[str]) -> int:
    if problem == "scaling":  # a driver that launches its own MPI jobs
        from femcell import bench_scaling

        return bench_scaling.main(extra)
    if problem == "fracture":
        from femcell import bench_fracture

        return bench_fracture.main(extra)
    if problem == "impedance":
        from femcell import bench_impedance

        return bench_impedance.main(extra)
    from femcell._dolfinx import MPI

    if problem == "cell":
        return bench_cell(extra)
    if problem != "particle":
        raise ConfigError(f"femcell bench: unknown benchmark {problem!r} (particle, cell, "
                          "scaling, fracture, impedance)")
    if extra:
        raise ConfigError(f"femcell bench particle: takes no arguments (got {' '.join(extra)})")
    if MPI.COMM_WORLD.size > 1 and MPI.COMM_WORLD.rank == 0:
        print("note: the particle benchmark is serial; running on rank 0's numbers")
    exact = _exact()
    rows = []
    for target in (1e-2, 1e-3):
        for label, fn, ladder in (
            ("femcell 1D (P1, BDF2)", _femcell_1d, LADDER_1D),
            ("hand-written DOLFINx 1D", _handwritten, LADDER_1D),
            ("PyBaMM FV (IDAKLU)", _pybamm, [5, 10, 20, 40, 80, 160]),
        ):
            got = _first_meeting(fn, ladder, target, exact)
            if got is None:
                rows.append((target, label, "n/a (not installed or not reached)", "", "", ""))
                continue
            params, err, (cs, setup, loop) = got
            rows.append((target, label, str(params), f"{err:.2e}", f"{setup * 1e3:.2f}",
                         f"{loop * 1e3:.3f}"))
        got3 = None
        for hr in LADDER_3D:
            cs, setup, loop, dofs, steps = _femcell_3d(hr)
            if abs(cs / exact - 1) <= target:
                got3 = (hr, abs(cs / exact - 1), setup, loop, dofs, steps)
                break
        if got3:
            hr, err, setup, loop, dofs, steps = got3
            rows.append((target, "femcell 3D (P1 on P2 tets)", f"h=R*{hr}, {dofs} dofs",
                         f"{err:.2e}", f"{setup * 1e3:.1f}",
                         f"{loop * 1e3:.1f} ({dofs * steps / loop:.3g} dof-steps/s)"))
        else:
            rows.append((target, "femcell 3D (P1 on P2 tets)", "not reached on ladder", "", "",
                         ""))
    if MPI.COMM_WORLD.rank == 0:
        print(f"galvanostatic sphere: R = 5 um, D = 1e-14 m^2/s, 1 h; Crank c_s = {exact:.6g}")
        head = ("target", "code", "resolution (cells, steps)", "error", "setup [ms]",
                "solve [ms]")
        print(" | ".join(f"{h:>26s}" if i == 2 else f"{h:>10s}" for i, h in enumerate(head)))
        for row in rows:
            print(" | ".join(f"{str(x):>26s}" if i == 2 else f"{str(x):>10s}"
                             for i, x in enumerate(row)))
        by = {(r[0], r[1]): r for r in rows}
        for target in (1e-2, 1e-3):
            f = by.get((target, "femcell 1D (P1, BDF2)"))
            h = by.get((target, "hand-written DOLFINx 1D"))
            if f and h and f[5] and h[5]:
                print(f"target {target:g}: femcell / hand-written solve time = "
                      f"{float(f[5]) / float(h[5]):.2f} (goal <= 1.10)")
    return 0
