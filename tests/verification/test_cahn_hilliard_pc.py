"""The block preconditioner of Cahn-Hilliard ([solver] linear = "iterative":
femcell.solvers.schur with femcell.physics.cahn_hilliard.MatchedSchur), PFHub BM1 units:

- the same solution as LU (1e-9 relative in the free energy after five steps);
- the Krylov iterations per Newton iteration do not grow with the mesh: h = 1 um and
  0.5 um (4x the unknowns) within 25 % of each other, below 30 (algebraic multigrid on
  the whole saddle-point Jacobian needs hundreds, and grows);
- on a doubly periodic square too (the matched operator folded by the periodic map);
- a bounded (log-potential) Newton and a c-dependent mobility get LU instead (reduced
  systems; a c rows' block that is not a mass matrix);
- a failed inner solve fails the step cleanly, and the next solve works;
- "auto" takes it on 3D meshes above BLOCK_PC_3D_DOFS unknowns, LU below and in 2D; the
  user's own ksp_type / pc_type are left alone.
Runs on 1 and 2 ranks.
"""

from __future__ import annotations

import numpy as np
import pytest

from femcell.domain import Domain
from femcell.physics.cahn_hilliard import CahnHilliard, DoubleWell, RegularSolution
from femcell.problem import Problem
from femcell.solvers import StepController, TimeIntegrator

L0 = 1e-6
RHO, KAPPA, MOB = 5.0, 2.0 * L0**2, 5.0 * L0**2
WELL = DoubleWell(RHO, 0.3, 0.7)


def _bm1_like(x):
    """Two modes of the benchmark's initial field on a 50 um square."""
    return (0.5 + 0.01 * np.cos(0.105 * x[0] / L0) * np.cos(0.11 * x[1] / L0)
            + 0.01 * np.cos((0.3 * x[0] + 0.2 * x[1]) / L0))


def _run(h, linear, periodic=()):
    domain = Domain.from_builder("plate", width=50 * L0, height=50 * L0, h=h * L0,
                                 origin="corner", structured=True, periodic=list(periodic))
    ch = CahnHilliard(WELL, KAPPA, MOB, _bm1_like)
    pb = Problem(domain, [ch], linear_solver=linear)
    pb.initialise()
    integ = TimeIntegrator(pb, StepController(dt_initial=1.0, adaptive=False, order=1))
    for _ in range(5):
        integ.step(1e9)
    st = pb.stats
    out = (ch.quantities()["free_energy"], st["krylov_its"] / st["newton_its"],
           pb.solver.getKSP().getPC().getType())
    pb.close()
    return out


@pytest.mark.parametrize("periodic", [(), ("x", "y")], ids=["no_flux", "periodic"])
def test_the_block_preconditioner_matches_lu_with_mesh_independent_iterations(periodic):
    f_lu, _, _ = _run(1.0, "direct", periodic)
    f1, its1, pc = _run(1.0, "iterative", periodic)
    assert pc == "python"
    assert f1 == pytest.approx(f_lu, rel=1e-9)
    f2, its2, _ = _run(0.5, "iterative", periodic)
    assert its1 < 30 and its2 < 30
    assert its2 / its1 < 1.25, (its1, its2)


@pytest.mark.parametrize("case", ["log_potential", "mobility_of_c"])
def test_where_the_blocks_do_not_apply_the_solver_is_lu(case):
    domain = Domain.from_builder("plate", width=50 * L0, height=50 * L0, h=5 * L0,
                                 origin="corner", structured=True)
    if case == "log_potential":
        energy = RegularSolution(298.15, 3 * 8.314462618 * 298.15, 1e-5)
        ch = CahnHilliard(energy, KAPPA, MOB, 0.5)
    else:
        ch = CahnHilliard(WELL, KAPPA, lambda c: MOB * (1 + c * c), _bm1_like)
    pb = Problem(domain, [ch], linear_solver="iterative")
    pc = pb.solver.getKSP().getPC()
    assert (pb.solver.getKSP().getType(), pc.getType()) == ("preonly", "lu")
    pb.close()


def test_a_failed_inner_solve_fails_the_step_and_the_next_solve_works():
    domain = Domain.from_builder("plate", width=50 * L0, height=50 * L0, h=2 * L0,
                                 origin="corner", structured=True)
    ch = CahnHilliard(WELL, KAPPA, MOB, _bm1_like)
    pb = Problem(domain, [ch], linear_solver="iterative")
    pb.initialise()
    schur = ch._block_pc.schur
    apply = schur.apply
    schur.apply = lambda x, y: apply(x, y) and False  # an inner solve that broke down
    report = pb.solve_step(1.0, 1.0, 1, None)
    assert not report.converged and "PC" in report.reason, report  # (PETSc: PCSETUP_FAILED)
    schur.apply = apply
    report = pb.solve_step(1.0, 1.0, 1, None)
    assert report.converged, report
    pb.close()


@pytest.mark.parametrize("dim, h, options, expected", [
    (3, 1.0, None, "python"), (3, 2.0, None, "lu"), (2, 0.25, None, "lu"),
    (3, 1.0, {"ksp_type": "gmres", "pc_type": "jacobi"}, "jacobi")])
def test_auto_takes_the_block_preconditioner_on_large_3d_meshes(dim, h, options, expected):
    from femcell.physics.cahn_hilliard import BLOCK_PC_3D_DOFS

    size = {"width": 20 * L0, "height": 20 * L0} | ({"depth": 20 * L0} if dim == 3 else {})
    domain = Domain.from_builder("plate", h=h * L0, origin="corner", structured=True, **size)
    ch = CahnHilliard(WELL, KAPPA, MOB, _bm1_like)
    pb = Problem(domain, [ch], petsc_options=options)
    if dim == 3:
        assert (pb.num_dofs > BLOCK_PC_3D_DOFS) == (h == 1.0)
    assert pb.solver.getKSP().getPC().getType() == expected
    pb.close()
