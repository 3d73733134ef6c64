"""Periodic boundary conditions as a constraint on the assembled system (no dolfinx_mpc).

On a domain periodic along an axis d (a box from lo to hi, `Domain.periodic`), every dof on
the far side (x_d = hi_d) is a copy of its partner at x - (hi_d - lo_d) e_d ("slave" and
"master"; a corner of a doubly periodic box is a copy of the corner at lo). The unknown
vector keeps every dof; the square matrix Q maps it to a periodic one: (Q x)_i = x_i, except
(Q x)_s = x_m(s). Newton then solves

    F_p(x) = Q^T F(Q x) = 0,    J_p = Q^T J(Q x) Q + I_s,

where I_s is the identity on the slave rows: the residual is evaluated at the periodic
state, and the test function of a master dof is its hat function plus its slaves' (the test
space is periodic too). The slave rows of F_p vanish and Newton never moves them; after a
solve, u <- Q u. This is the reduced system on the periodic space, with the slave unknowns
carried along (the matrix stays square, direct and Krylov solvers see a regular system).
"""

from __future__ import annotations

import numpy as np

from femcell._dolfinx import MPI, PETSc, dolfinx
from femcell.domain import DomainError

AXES = "xyz"


class PeriodicError(DomainError):
    """A periodic domain that a problem cannot use: a far side with nodes that have no
    partner on the near side, or a physics without a periodic formulation (bad input)."""


class PeriodicMap:
    """The periodic map Q of a (block) unknown vector.

    Args:
        functions: the unknowns of the problem in the order of its block vector (Functions
            on the domain's mesh).
        axes: periodic axes (0, 1, 2).
        lo, hi: the box [m] along every axis (lo[d] < hi[d] for the periodic ones).
        comm: the communicator.
        rtol: matching tolerance relative to the largest periodic extent.

    Raises:
        PeriodicError: (on every rank) a node on a far side has no partner.
    """

    def __init__(self, functions, axes, lo, hi, comm, rtol: float = 1e-8):
        self.comm = comm
        self.axes = tuple(axes)
        lo = np.asarray(lo, dtype=float)
        hi = np.asarray(hi, dtype=float)
        ext = hi - lo
        tol = rtol * max(ext[d] for d in self.axes)
        sizes = [f.function_space.dofmap.index_map.size_local
                 * f.function_space.dofmap.index_map_bs for f in functions]
        n_local = int(sum(sizes))
        start = comm.exscan(n_local) or 0
        n_global = comm.allreduce(n_local, op=MPI.SUM)
        cols = np.arange(start, start + n_local, dtype=PETSc.IntType)
        slaves = []
        missing = 0
        offset = start
        for f, size in zip(functions, sizes, strict=True):
            V = f.function_space
            bs = V.dofmap.index_map_bs
            n = V.dofmap.index_map.size_local
            X = V.tabulate_dof_coordinates()[:n]
            far = np.zeros(n, dtype=bool)
            target = X.copy()
            for d in self.axes:
                on = np.abs(X[:, d] - hi[d]) < tol
                far |= on
                target[on, d] -= ext[d]
            near = ~far & np.any([np.abs(X[:, d] - lo[d]) < tol for d in self.axes], axis=0)
            # the masters of this field on every rank: coordinates and global (block) index
            mine = (X[near], offset + bs * np.flatnonzero(near))
            gathered = comm.allgather(mine)
            coords = np.concatenate([g[0] for g in gathered]).reshape(-1, 3)
            index = np.concatenate([g[1] for g in gathered])
            far_nodes = np.flatnonzero(far)
            if far_nodes.size:
                from scipy.spatial import cKDTree

                if coords.shape[0]:
                    dist, hit = cKDTree(coords).query(target[far_nodes],
                                                      distance_upper_bound=tol)
                else:
                    dist, hit = np.full(far_nodes.size, np.inf), np.zeros(far_nodes.size, int)
                ok = np.isfinite(dist)
                missing += int(np.count_nonzero(~ok))
                for comp in range(bs):
                    rows = bs * far_nodes[ok] + comp + offset - start
                    cols[rows] = index[hit[ok]] + comp
                    slaves.append(rows)
            offset += size
        missing = comm.allreduce(missing, op=MPI.SUM)
        if missing:
            names = ", ".join(AXES[d] for d in self.axes)
            raise PeriodicError(f"periodic along {names}: {missing} node(s) on the far side "
                                "have no partner on the near side (the mesh is not periodic: "
                                "build it with the plate's periodic option)")
        slave_rows = (np.concatenate(slaves) if slaves else np.zeros(0, dtype=np.int64))
        self.num_slaves = comm.allreduce(int(slave_rows.size), op=MPI.SUM)
        indptr = np.arange(n_local + 1, dtype=PETSc.IntType)
        self.Q = PETSc.Mat().createAIJ(((n_local, n_global), (n_local, n_global)),
                                       csr=(indptr, cols, np.ones(n_local)), comm=comm)
        self.Q.assemble()
        is_slave = np.zeros(n_local, dtype=bool)
        is_slave[slave_rows] = True
        dptr = np.concatenate([[0], np.cumsum(is_slave)]).astype(PETSc.IntType)
        self.D = PETSc.Mat().createAIJ(
            ((n_local, n_global), (n_local, n_global)),
            csr=(dptr, (start + np.flatnonzero(is_slave)).astype(PETSc.IntType),
                 np.ones(int(is_slave.sum()))), comm=comm)
        self.D.assemble()
        self._objects = [self.Q, self.D]
        self._vectors = {}

    @classmethod
    def of_domain(cls, functions, domain):
        """The map of Functions on a Domain built periodic (`Domain.periodic`)."""
        box = domain.periodic
        pad = [0.0] * (3 - len(box["lo"]))
        return cls(functions, [AXES.index(a) for a in box["axes"]], box["lo"] + pad,
                   box["hi"] + pad, domain.comm)

    def wrap(self, nlp, residual, jacobian):
        """SNES callbacks and matrix of the periodic system F_p, J_p (module docstring) from
        the callbacks `residual(snes, x, F)` and `jacobian(snes, x, A, P)` of a dolfinx
        NonlinearProblem `nlp` (which assemble into nlp.b-like vectors and nlp.A)."""
        y = nlp.x.duplicate()
        fw = nlp.b.duplicate()
        A = nlp.A
        if not A.isAssembled():  # insert the pattern (assembling an empty Mat drops it)
            dolfinx.fem.petsc.assemble_matrix(A, nlp.J)
            A.assemble()
        T = A.PtAP(self.Q)
        J = T.duplicate(copy=True)
        J.axpy(1.0, self.D, structure=PETSc.Mat.Structure.DIFFERENT_NONZERO_PATTERN)
        ns = A.getNearNullSpace()
        if ns.handle:  # (rigid-body modes for AMG: kept, though not folded)
            J.setNearNullSpace(ns)
        subset = PETSc.Mat.Structure.SUBSET_NONZERO_PATTERN
        self._objects += [y, fw, T, J]

        def periodic_residual(snes, x, F):
            self.Q.mult(x, y)
            residual(snes, y, fw)
            self.Q.multTranspose(fw, F)

        def periodic_jacobian(snes, x, Jp, P):
            self.Q.mult(x, y)
            jacobian(snes, y, A, nlp.P_mat)
            A.PtAP(self.Q, result=T)
            Jp.zeroEntries()
            Jp.axpy(1.0, T, structure=subset)
            Jp.axpy(1.0, self.D, structure=subset)

        return periodic_residual, periodic_jacobian, J

    def project(self, functions) -> None:
        """u <- Q u for Functions in the block order of the map (collective)."""
        assign = dolfinx.fem.petsc.assign
        key = tuple(id(f.function_space) for f in functions)
        if key not in self._vectors:  # one pair of work vectors per layout
            spaces = [f.function_space for f in functions]
            x = dolfinx.fem.petsc.create_vector(spaces if len(spaces) > 1 else spaces[0])
            self._vectors[key] = (x, x.duplicate())
            self._objects += list(self._vectors[key])
        x, y = self._vectors[key]
        target = functions if len(functions) > 1 else functions[0]
        assign(target, x)
        self.Q.mult(x, y)
        y.ghostUpdate(addv=PETSc.InsertMode.INSERT, mode=PETSc.ScatterMode.FORWARD)
        assign(y, target)
        for f in functions:
            f.x.scatter_forward()

    def close(self) -> None:
        """Free the PETSc objects."""
        for obj in self._objects:
            obj.destroy()
        self._objects = []
        self._vectors = {}
