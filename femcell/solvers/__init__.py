"""PETSc option presets, a SNES wrapper that checks converged reasons, and time stepping."""

from femcell.solvers.presets import linear_solver_options
from femcell.solvers.snes import SolveReport, SolverError
from femcell.solvers.timestepping import StepController, TimeIntegrator

__all__ = [
    "SolveReport",
    "SolverError",
    "StepController",
    "TimeIntegrator",
    "linear_solver_options",
]
