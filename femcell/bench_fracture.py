"""`femcell bench fracture`: alternate minimisation, over-relaxation and Anderson mixing on the
same single-edge notched tension (SENT) problem at equal tolerance (sweeps and wall time per
load step), and Krylov iterations of the elasticity solve (CG + algebraic multigrid with the
rigid-body near-nullspace) across mesh refinements (h = l/2 to l/16). A benchmark prints; it asserts
nothing (docs/benchmarks.md)."""

from __future__ import annotations

import time

import numpy as np

from femcell.config import ConfigError

SCHEMES = ("alternate", "overrelax", "anderson")


def _sent(h_fine: float, scheme: str, steps: int, tol: float, linear: str = "auto"):
    """Run SENT (LLZO, plane strain, AT1, crack from the left edge to the centre) and return
    (sweeps per step, wall per step [s], dofs, krylov per elasticity solve, peak force)."""
    from femcell.domain import Domain
    from femcell.materials.mechanical import get_mechanics
    from femcell.physics.fracture import PhaseFieldFracture
    from femcell.physics.mechanics import Displacement, Elasticity
    from femcell.solvers import StepController, TimeIntegrator
    from femcell.solvers.staggered import StaggeredProblem

    W, ell = 100e-6, 4e-6
    dom = Domain.from_builder("plate", width=W, height=W, h=W / 10, refine=[
        {"x": [-0.05 * W, 0.5 * W], "y": [-0.06 * W, 0.06 * W], "h": h_fine}])
    mat = get_mechanics("llzo")
    u_max = 0.5e-6
    mech = Elasticity({None: mat.elastic}, [Displacement("bottom", {"x": 0.0, "y": 0.0}),
                                            Displacement("top", {"y": u_max})],
                      mode="plane_strain", load_factor=lambda t: t)
    gc = mat.toughness.gc(mat.elastic)
    frac = PhaseFieldFracture(mech, toughness=gc, length=ell, model="AT1", split="voldev",
                              initial_cracks=[((-0.5 * W, 0.0), (0.0, 0.0))])
    acc = None if scheme == "alternate" else scheme
    prob = StaggeredProblem(dom, [mech, frac], [[mech], [frac]], rtol=0.0, atol=tol,
                            max_sweeps=2000, acceleration=acc, linear_solver=linear)
    prob.initialise()
    integ = TimeIntegrator(prob, StepController(dt_initial=1 / steps, adaptive=False,
                                                order=1))
    sweeps, walls, forces = [], [], []
    t0 = [time.perf_counter()]

    def on_step(rec):
        sweeps.append(prob.last_sweeps)
        now = time.perf_counter()
        walls.append(now - t0[0])
        t0[0] = now
        forces.append(prob.quantities()["u_reaction[top.y]"])

    integ.run(1.0, on_step)
    st = prob.subs[0].stats
    kry = st["krylov_its"] / max(st["newton_its"], 1)
    dofs = prob.num_dofs
    prob.close()
    return np.array(sweeps), np.array(walls), dofs, kry, max(np.abs(forces))


def main(extra: list[str]) -> int:
    """Print the fracture benchmark (rank 0)."""
    from femcell._dolfinx import MPI

    if extra:
        raise ConfigError(f"femcell bench fracture: takes no arguments (got {' '.join(extra)})")
    rank0 = MPI.COMM_WORLD.rank == 0
    steps, tol = 12, 1e-4
    if rank0:
        print(f"SENT, LLZO, AT1 + vol-dev split, l = 4 um, h = 1 um, {steps} load steps, "
              f"sweep tolerance {tol:g}")
        print(f"{'scheme':>10s} | {'sweeps':>7s} | {'max/step':>8s} | {'wall [s]':>8s} | "
              f"{'s/step':>7s} | {'peak force [N/m]':>16s}")
    res = {}
    for scheme in SCHEMES:
        sw, wall, dofs, _, peak = _sent(1e-6, scheme, steps, tol)
        res[scheme] = sw.sum()
        if rank0:
            print(f"{scheme:>10s} | {sw.sum():7d} | {sw.max():8d} | {wall.sum():8.2f} | "
                  f"{wall.mean():7.3f} | {peak:16.6g}")
    if rank0:
        for scheme in SCHEMES[1:]:
            print(f"{scheme}: {res['alternate'] / max(res[scheme], 1):.2f}x fewer sweeps than "
                  f"alternate minimisation (target >= 3x)")
        print("elasticity solve, CG + GAMG with the rigid-body near-nullspace (h = l/2 .. l/16; "
              "the band is resolved from l/4):")
    for h in (2e-6, 1e-6, 0.5e-6, 0.25e-6):
        _, _, dofs, kry, _ = _sent(h, "anderson", 2, tol, linear="iterative")
        if rank0:
            print(f"  h = {h:.2g} m: {dofs} dofs, {kry:.1f} Krylov iterations per solve")
    return 0
