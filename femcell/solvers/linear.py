"""Affine single-field problems stepped with pre-assembled operators (see `LinearStepper`)."""

from __future__ import annotations

import time as _time

import numpy as np

from femcell._dolfinx import MPI, PETSc, dolfinx, ufl
from femcell.solvers.snes import SolveReport, SolverError


class LinearStepper:
    """Affine single-field problems with time-stepping operators built from two matrices.

    The residual is F = (a0 m(u) + a1 m(u^n) + a2 m(u^(n-1))) / dt + k(u) - f(t) with linear
    m and k, so with M = dm/du and K = dk/du (both exact by construction from the UFL
    residual: K = J at a0 = 0, M = dF/du^n at a1 = dt = 1):

        (K + a0/dt M) u = lift - M (a1/dt u^n + a2/dt u^(n-1)) - F0,

    F0 = F(u = 0, history = 0) the load. K and M are assembled once (again only when a
    coefficient changes); a new step size or scheme costs one matrix sum and one
    factorisation; F0 is rebuilt only when a Constant of the load changes and the Dirichlet
    lifting only when a boundary value changes. A step is then one mat-vec, two vector
    updates and one triangular solve - the hand-written loop's work.
    """

    def __init__(self, problem, residual, bcs, opts: dict):
        nlp = problem._nlp
        f = problem.fields[0]
        tc = problem.time
        self.problem, self.field, self.bcs = problem, f, bcs
        V = f.u.function_space
        du = ufl.TrialFunction(V)
        self.h = [f.history[0], f.history[1]]
        em = problem._entity_maps or None
        J = ufl.derivative(residual, f.u, du)
        self.K_form = dolfinx.fem.form(ufl.replace(J, {tc.a[0]: ufl.as_ufl(0.0)}),
                                       entity_maps=em)
        self.M_form = dolfinx.fem.form(ufl.replace(
            ufl.derivative(residual, self.h[0], du),
            {tc.a[1]: ufl.as_ufl(1.0), tc.dt: ufl.as_ufl(1.0)}), entity_maps=em)
        self.A = nlp.A
        self.J = nlp.J
        self.F = nlp.F
        self.K = dolfinx.fem.petsc.create_matrix(self.K_form)
        self.M = dolfinx.fem.petsc.create_matrix(self.M_form)
        self.Mz = self.Mr = None
        # the load F0 changes only with the residual's own constants (not dt and the BDF
        # coefficients, which multiply terms that vanish at u = history = 0)
        step_consts = {id(c) for c in (tc.dt, *tc.a)}
        self._const_views = [c._cpp_object.value for c in residual.constants()
                             if id(c) not in step_consts]
        self.b = f.u.x.petsc_vec.duplicate()
        self.F0 = f.u.x.petsc_vec.duplicate()
        self.lift = f.u.x.petsc_vec.duplicate()
        self.tmp = f.u.x.petsc_vec.duplicate()
        self.ksp = PETSc.KSP().create(problem.domain.comm)
        prefix = problem.prefix + "lin_"
        self.ksp.setOptionsPrefix(prefix)
        popts = PETSc.Options()
        for k, v in opts.items():
            if k.startswith(("ksp_", "pc_", "mat_")):
                popts[prefix + k] = v
        self.ksp.setFromOptions()
        self._key = None
        self._ops_current = False
        self._const_sig = None
        self._bc_sig = None
        self._batch_key = None
        self._hist = (0.0, 0.0)
        self._work = [f.u.x.petsc_vec.duplicate() for _ in range(3)]
        rows = np.concatenate([bc.dof_indices()[0][: bc.dof_indices()[1]]
                               for bc in bcs]) if bcs else np.empty(0, np.int32)
        imap, bs = V.dofmap.index_map, V.dofmap.index_map_bs
        rows = rows.astype(np.int64)
        blocks = imap.local_to_global((rows // bs).astype(np.int32))
        self._bc_rows = (blocks * bs + rows % bs).astype(PETSc.IntType)

    def destroy(self) -> None:
        """Destroy the KSP and the operator matrices (collective)."""
        for obj in (self.ksp, self.K, self.M, self.Mz, self.Mr):
            if obj is not None:
                obj.destroy()

    def prepare(self) -> None:
        """Assemble K, M, the pattern of A and the load for the current coefficients."""
        from dolfinx.fem.petsc import assemble_matrix

        self._build_KM()
        for fn in (self.field.u, *self.field.history):  # PETSc wrappers are made lazily
            fn.x.petsc_vec  # noqa: B018
        if not self.A.isAssembled():
            assemble_matrix(self.A, self.J, self.bcs, diag=1.0)
            self.A.assemble()
            # symbolic factorisation (ordering, fill) now: later steps refactor numerically
            self.ksp.setOperators(self.A)
            self.ksp.setUp()
        self._update_load(force=True)

    def _update_load(self, force: bool = False) -> None:
        """Rebuild F0 = F(u = 0, history = 0) when a Constant of the load changed."""
        from dolfinx.fem.petsc import assemble_vector

        sig = tuple(v.tobytes() for v in self._const_views)
        if not force and sig == self._const_sig:
            return
        u = self.field.u
        saved = [u.x.array.copy()] + [h.x.array.copy() for h in self.h]
        for fn in [u, *self.h]:
            fn.x.array[:] = 0.0
        with self.F0.localForm() as loc:
            loc.set(0.0)
        assemble_vector(self.F0, self.F)
        self.F0.ghostUpdate(PETSc.InsertMode.ADD, PETSc.ScatterMode.REVERSE)
        u.x.array[:] = saved[0]
        for h, arr in zip(self.h, saved[1:], strict=True):
            h.x.array[:] = arr
        self._const_sig = sig

    def _build_KM(self):
        from dolfinx.fem.petsc import assemble_matrix

        self.K.zeroEntries()
        assemble_matrix(self.K, self.K_form, self.bcs, diag=1.0)
        self.K.assemble()
        self.M.zeroEntries()
        assemble_matrix(self.M, self.M_form)
        self.M.assemble()
        self.Mz = self.M.copy()  # Dirichlet rows and columns out: added to K
        self.Mr = self.M.copy()  # Dirichlet rows out: the batched right-hand side
        if self.bcs:
            self.Mz.zeroRowsColumns(self._bc_rows, diag=0.0)
            self.Mr.zeroRows(self._bc_rows, diag=0.0)
        self.problem.stats["jacobians"] += 1
        self._ops_current = True

    def advance(self, n: int) -> None:
        """n steps with unchanged operators and data, as a hand-written loop would do them:
        one mat-vec, two vector updates and one triangular solve per step, on work vectors;
        the fields and their history are updated once at the end."""
        if self._batch_key != (self._key, self._const_sig, self._bc_sig):
            c = self.F0.duplicate()  # c = lift - F0 with Dirichlet rows = g
            self.lift.copy(c)
            c.axpy(-1.0, self.F0)
            if self.bcs:
                from dolfinx.fem.petsc import set_bc

                set_bc(c, self.bcs)
            self._c = c
            self._batch_key = (self._key, self._const_sig, self._bc_sig)
        f = self.field
        x_n, x_nm1, x_nm2 = self._work
        f.history[0].x.petsc_vec.copy(x_n)
        f.history[1].x.petsc_vec.copy(x_nm1)
        alpha, beta = self._hist
        ratio = beta / alpha
        b, c, M, ksp = self.b, self._c, self.Mr, self.ksp
        for _ in range(n):
            x_nm2.waxpy(ratio, x_nm1, x_n)  # x_nm2 is free until the solve overwrites it
            M.mult(x_nm2, b)
            b.aypx(-alpha, c)  # b = c - alpha M (x_n + ratio x_nm1)
            ksp.solve(b, x_nm2)
            if ksp.getConvergedReason() <= 0:
                raise SolverError(f"linear solve failed in a batch of fixed steps (KSP reason "
                                  f"{ksp.getConvergedReason()})")
            x_nm2, x_nm1, x_n = x_nm1, x_n, x_nm2
        if not np.isfinite(x_n.norm()):
            raise SolverError("non-finite solution in a batch of fixed steps")
        for dst, src in ((f.u, x_n), (f.history[0], x_n), (f.history[1], x_nm1),
                         (f.history[2], x_nm2)):
            src.copy(dst.x.petsc_vec)
            dst.x.scatter_forward()

    def _bc_signature(self):
        sig = []
        for bc in self.bcs:
            g = bc.g
            val = getattr(g, "value", None)
            if val is not None:
                sig.append(np.asarray(val).tobytes())
            else:
                sig.append(g.x.array.tobytes())
        return tuple(sig)

    def solve(self, key, changed: bool) -> SolveReport:
        from dolfinx.fem.petsc import apply_lifting, set_bc

        u = self.field.u
        rebuilt = False
        if changed or not self._ops_current:
            self._build_KM()
            self._key = None
        if key != self._key:
            dt, (a0, a1, a2) = key
            if not self.A.isAssembled():
                self.prepare()
            self.A.zeroEntries()
            self.A.axpy(1.0, self.K, structure=PETSc.Mat.Structure.SUBSET_NONZERO_PATTERN)
            self.A.axpy(a0 / dt, self.Mz, structure=PETSc.Mat.Structure.SUBSET_NONZERO_PATTERN)
            self.ksp.setOperators(self.A)
            self._hist = (a1 / dt, a2 / dt)
            self._key = key
            rebuilt = True
        self._update_load(force=changed)
        bsig = self._bc_signature() if self.bcs else ()
        # collective decision: the lifting exchanges ghost data, every rank must join
        if self.problem.domain.comm.allreduce(rebuilt or bsig != self._bc_sig, op=MPI.LOR):
            with self.lift.localForm() as loc:
                loc.set(0.0)
            if self.bcs:
                apply_lifting(self.lift, [self.J], bcs=[self.bcs])
                self.lift.ghostUpdate(PETSc.InsertMode.ADD, PETSc.ScatterMode.REVERSE)
            self._bc_sig = bsig
        alpha, beta = self._hist
        b, tmp = self.b, self.tmp
        tmp.waxpy(beta / alpha, self.h[1].x.petsc_vec, self.h[0].x.petsc_vec)
        self.M.mult(tmp, b)
        b.scale(alpha)
        b.axpy(1.0, self.F0)
        b.aypx(-1.0, self.lift)  # b = lift - (M (a1 h0 + a2 h1) / dt + F0)
        if self.bcs:
            set_bc(b, self.bcs)
        x = u.x.petsc_vec
        t0 = _time.perf_counter()
        try:
            self.ksp.solve(b, x)
        except PETSc.Error as exc:
            return SolveReport(False, f"PETSc error {exc.ierr}", 1, 0)
        finally:
            self.problem.stats["solve_s"] += _time.perf_counter() - t0
        u.x.scatter_forward()
        reason = self.ksp.getConvergedReason()
        its = self.ksp.getIterationNumber()
        finite = bool(np.isfinite(x.norm()))
        ok = reason > 0 and finite
        name = "LINEAR_SOLVE" if ok else f"KSP reason {reason}" + (
            "" if finite else " (non-finite solution)")
        return SolveReport(ok, name, 1, its)
