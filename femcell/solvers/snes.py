"""A SNES wrapper that never accepts an unconverged solve."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from femcell._dolfinx import PETSc

_SNES_REASONS = {v: k for k, v in PETSc.SNES.ConvergedReason.__dict__.items()
                 if not k.startswith("_") and isinstance(v, int)}
_KSP_REASONS = {v: k for k, v in PETSc.KSP.ConvergedReason.__dict__.items()
                if not k.startswith("_") and isinstance(v, int)}


class SolverError(RuntimeError):
    """A solve that failed after the allowed retries (the run stops cleanly)."""


@dataclass
class SolveReport:
    """What one nonlinear solve did.

    Attributes:
        converged: SNES reason > 0, KSP fine and the solution finite.
        reason: SNES converged reason (name).
        newton_its: Newton iterations.
        krylov_its: total linear iterations.
        at_limit: the solve stopped where a limit of the run was reached before it
            converged (a crack running through to the counter electrode: the short); the
            state is not an equilibrium and may only end the run at that limit.
    """

    converged: bool
    reason: str
    newton_its: int
    krylov_its: int
    at_limit: bool = False

    def __str__(self):
        return f"{self.reason} after {self.newton_its} Newton / {self.krylov_its} Krylov its"


def snes_reason_name(reason: int) -> str:
    return _SNES_REASONS.get(reason, str(reason))


def run_snes(problem) -> SolveReport:
    """Solve a dolfinx NonlinearProblem and read every converged reason.

    A solve counts as converged only when SNES reports a positive reason, the last linear
    solve did not diverge and the solution holds no Inf/NaN (LU can return garbage without
    a negative reason when pivots underflow: STACK.md).
    """
    snes = problem.solver
    try:
        problem.solve()
    except PETSc.Error as exc:  # e.g. a zero pivot raised by the factorisation
        return SolveReport(False, f"PETSc error {exc.ierr}", snes.getIterationNumber(),
                           snes.getLinearSolveIterations())
    reason = snes.getConvergedReason()
    ksp_reason = snes.getKSP().getConvergedReason()
    its = snes.getIterationNumber()
    lits = snes.getLinearSolveIterations()
    finite = bool(np.isfinite(problem.x.norm()))
    ok = reason > 0 and ksp_reason >= 0 and finite
    name = snes_reason_name(reason)
    if ksp_reason < 0:
        name += f" (linear solve: {_KSP_REASONS.get(ksp_reason, ksp_reason)})"
    if not finite:
        name += " (non-finite solution)"
    return SolveReport(ok, name, its, lits)


def vi_convergence_test(snes) -> None:
    """Give a variational-inequality SNES (vinewtonrsls) the step-length test of the default
    Newton test.

    PETSc's VI convergence test checks only the residual (absolute, relative, NaN), not
    snes_stol. A residual with a round-off floor above snes_atol (the scaled potentials of a
    full cell are ~160 V_T, metal rows add ~1e-16 sigma_s / sigma_l of that) then never
    converges although Newton has (updates of 1e-17 of the solution). This test is the
    default one plus ||dx|| < stol ||x|| after the first iteration, with the tolerances of
    the SNES's own options.
    """
    rtol, atol, stol, max_it = snes.getTolerances()
    R = PETSc.SNES.ConvergedReason
    state = {}

    def converged(snes_, it, norms):
        xnorm, ynorm, fnorm = norms
        if not np.isfinite(fnorm):
            return R.DIVERGED_FNORM_NAN
        if it == 0:
            state["f0"] = fnorm
        if fnorm < atol:
            return R.CONVERGED_FNORM_ABS
        if it > 0 and fnorm <= rtol * state.get("f0", fnorm):
            return R.CONVERGED_FNORM_RELATIVE
        if it > 0 and ynorm < stol * xnorm:
            return R.CONVERGED_SNORM_RELATIVE
        if it >= max_it:
            return R.DIVERGED_MAX_IT
        return R.ITERATING

    snes.setConvergenceTest(converged)
