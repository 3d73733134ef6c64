"""PETSc option presets chosen by capability (what this PETSc build has) and problem size."""

from __future__ import annotations

from femcell._dolfinx import has_package

# Below this many global DOFs a sparse direct solver is the fastest robust choice.
DIRECT_DOF_LIMIT = 60_000
# Below this size, serially, PETSc's own LU beats MUMPS (whose per-solve overhead is ~10 us).
NATIVE_LU_LIMIT = 5_000


def direct_options(num_dofs: int | None = None, ranks: int = 1) -> dict:
    """LU: PETSc's own for small serial problems, else the best parallel direct solver."""
    if ranks == 1 and num_dofs is not None and num_dofs <= NATIVE_LU_LIMIT:
        return {"ksp_type": "preonly", "pc_type": "lu", "pc_factor_mat_ordering_type": "nd"}
    for pkg in ("mumps", "superlu_dist"):
        if has_package(pkg):
            return {"ksp_type": "preonly", "pc_type": "lu", "pc_factor_mat_solver_type": pkg}
    return {"ksp_type": "preonly", "pc_type": "lu"}  # serial PETSc LU


def iterative_options(symmetric: bool = False, rtol: float = 1e-12) -> dict:
    """Krylov + algebraic multigrid (GAMG is always there; hypre when the build has it)."""
    opts = {
        "ksp_type": "cg" if symmetric else "gmres",
        "ksp_rtol": rtol,
        "ksp_atol": 1e-14,
        "ksp_max_it": 1000,
        "pc_type": "gamg",
        # drop weak couplings when aggregating: keeps metal | electrolyte contrasts of 1e8
        # from spoiling the coarse spaces (8-9 GMRES iterations, flat under refinement, on
        # the polycrystalline symmetric cell; ~90-140 and growing without it)
        "pc_gamg_threshold": 0.02,
    }
    if not symmetric:
        opts["ksp_gmres_restart"] = 100  # (CG has no restart: PETSc would call it unused)
    if has_package("hypre"):
        opts.update({"pc_type": "hypre", "pc_hypre_type": "boomeramg"})
    return opts


def linear_solver_options(num_dofs: int, kind: str = "auto", symmetric: bool = False,
                          ranks: int = 1) -> dict:
    """Options for the linear solves inside SNES.

    Args:
        num_dofs: global number of unknowns.
        kind: "auto" (direct below DIRECT_DOF_LIMIT, else iterative), "direct" or "iterative".
        symmetric: the Jacobian is symmetric positive definite (CG allowed).
        ranks: number of MPI ranks.
    """
    if kind not in ("auto", "direct", "iterative"):
        raise ValueError(f"solver.linear: unknown kind {kind!r} (auto, direct, iterative)")
    if kind == "direct" or (kind == "auto" and num_dofs <= DIRECT_DOF_LIMIT):
        return direct_options(num_dofs, ranks)
    return iterative_options(symmetric)


def newton_options(rtol: float = 1e-10, atol: float = 1e-11, max_it: int = 12) -> dict:
    """Newton with a backtracking line search; the residual is O(1)-scaled, so atol means."""
    return {
        "snes_type": "newtonls",
        "snes_linesearch_type": "bt",
        "snes_rtol": rtol,
        "snes_atol": atol,
        "snes_stol": 0.0,
        "snes_max_it": max_it,
        "snes_error_if_not_converged": False,
        "ksp_error_if_not_converged": False,
    }
