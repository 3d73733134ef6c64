"""A block preconditioner for two-field Jacobians J = [[A00, A01], [A10, A11]] (a petsc4py
"python" PC): the full block factorisation

    J = [[I, 0], [A10 A00^-1, I]] [[A00, 0], [0, S]] [[I, A00^-1 A01], [0, I]],
    S = A11 - A10 A00^-1 A01,

applied with an iterative solve of A00 (CG + Jacobi: a mass-like, symmetric positive
definite block; the caller makes sure it is) and an approximate
S^-1 that the physics supplies (an object with `setup(A11)` and `apply(x, y)`, e.g. the
Cahn-Hilliard matching of femcell.physics.cahn_hilliard). The inner solves are inexact, so
the outer Krylov method is flexible GMRES.
"""

from __future__ import annotations

from femcell._dolfinx import PETSc


def block_index_sets(fields, comm):
    """The global index sets of each field in the block (kind "mpi") vector of a Problem
    whose unknowns are `fields` (Functions), in order: owned dofs of field 0, then 1, ..."""
    sizes = [f.function_space.dofmap.index_map.size_local
             * f.function_space.dofmap.index_map_bs for f in fields]
    start = comm.exscan(sum(sizes)) or 0
    out = []
    for n in sizes:
        out.append(PETSc.IS().createStride(n, first=start, step=1, comm=comm))
        start += n
    return out


class SchurPC:
    """Context of a petsc4py python PC (see the module docstring).

    Args:
        is0, is1: index sets of the two blocks.
        schur: the approximate inverse of S: `setup(A11)` on every new Jacobian and
            `apply(x, y)` (y = S^-1 x; returns False when its inner solves failed).
        comm: the communicator.
        rtol0: relative tolerance of the A00 solves.
    """

    def __init__(self, is0, is1, schur, comm, rtol0: float = 1e-10):
        self.is0, self.is1, self.schur = is0, is1, schur
        self.ksp0 = PETSc.KSP().create(comm)
        self.ksp0.setType("cg")
        self.ksp0.getPC().setType("jacobi")
        self.ksp0.setTolerances(rtol=rtol0, atol=0.0, max_it=500)
        self.blocks = [None] * 4
        self.work = None
        self.inner_its = 0  # CG iterations of the A00 solves

    def setUp(self, pc):
        pc.setFailedReason(PETSc.PC.FailedReason.NOERROR)
        _, P = pc.getOperators()
        pairs = [(self.is0, self.is0), (self.is0, self.is1), (self.is1, self.is0),
                 (self.is1, self.is1)]
        self.blocks = [P.createSubMatrix(r, c, submat=old)
                       for (r, c), old in zip(pairs, self.blocks, strict=True)]
        a00, _, _, a11 = self.blocks
        self.ksp0.setOperators(a00)
        self.ksp0.setUp()
        if self.work is None:
            v0, v1 = a00.createVecLeft(), a11.createVecLeft()
            self.work = (v0, v0.duplicate(), v1, v1.duplicate())
        self.schur.setup(a11)

    def _solve0(self, b, x) -> bool:
        """x = A00^-1 b; False on a breakdown (reaching max_it is an inexact solve, which
        the flexible outer method absorbs)."""
        self.ksp0.solve(b, x)
        self.inner_its += self.ksp0.getIterationNumber()
        reason = self.ksp0.getConvergedReason()
        return reason >= 0 or reason == PETSc.KSP.ConvergedReason.DIVERGED_ITS

    def apply(self, pc, x, y):
        _, a01, a10, _ = self.blocks
        z0, t0, z1, t1 = self.work
        x0, x1 = x.getSubVector(self.is0), x.getSubVector(self.is1)
        try:
            ok = self._solve0(x0, z0)            # z0 = A00^-1 x0
            a10.mult(z0, t1)
            t1.aypx(-1.0, x1)                    # t1 = x1 - A10 z0
            ok &= bool(self.schur.apply(t1, z1))  # z1 = S^-1 t1
            a01.mult(z1, t0)
            t0.aypx(-1.0, x0)                    # t0 = x0 - A01 z1
            ok &= self._solve0(t0, z0)           # z0 = A00^-1 t0
        finally:
            x.restoreSubVector(self.is0, x0)
            x.restoreSubVector(self.is1, x1)
        y0, y1 = y.getSubVector(self.is0), y.getSubVector(self.is1)
        try:
            z0.copy(y0)
            z1.copy(y1)
        finally:
            y.restoreSubVector(self.is0, y0)
            y.restoreSubVector(self.is1, y1)
        if not ok:
            # as PETSc's own PCs do: flag the failure and return Inf, so that the outer KSP
            # stops with DIVERGED_PC_FAILED and the step is cut (raising here would skip
            # PETSc's clean-up and leave the SNES vectors locked for every later solve)
            pc.setFailedReason(PETSc.PC.FailedReason.SUBPC_ERROR)
            y.set(float("inf"))

    def destroy(self, pc=None):
        for obj in [self.ksp0, *self.blocks, *(self.work or ())]:
            if obj is not None:
                obj.destroy()
        self.blocks, self.work = [None] * 4, None
        self.schur.destroy()


def install(ksp, context, rtol: float | None, restart: int = 100) -> None:
    """Make `ksp` flexible GMRES (restarted every `restart` iterations) with the python PC
    `context` (rtol: its tolerance, None: as the options say)."""
    ksp.setType("fgmres")
    ksp.setGMRESRestart(restart)
    if rtol is not None:
        _, atol, dtol, max_it = ksp.getTolerances()
        ksp.setTolerances(rtol=rtol, atol=atol, divtol=dtol, max_it=max_it)
    pc = ksp.getPC()
    pc.setType("python")
    pc.setPythonContext(context)
    # the direct preset's factor options (in place of which this PC came) are not read now:
    # PETSc would list them as unused at exit
    opts = PETSc.Options()
    for key in ("pc_factor_mat_solver_type", "pc_factor_mat_ordering_type"):
        name = (ksp.getOptionsPrefix() or "") + key
        if opts.hasName(name):
            opts.delValue(name)


def use_direct(ksp, num_dofs: int, ranks: int) -> None:
    """Make `ksp` the LU of the presets (femcell.solvers.presets.direct_options)."""
    from femcell.solvers.presets import direct_options

    opts = direct_options(num_dofs, ranks)
    ksp.setType(opts["ksp_type"])
    pc = ksp.getPC()
    pc.setType(opts["pc_type"])
    if "pc_factor_mat_solver_type" in opts:
        pc.setFactorSolverType(opts["pc_factor_mat_solver_type"])
    if "pc_factor_mat_ordering_type" in opts:
        pc.setFactorOrdering(opts["pc_factor_mat_ordering_type"])
