"""Hand-written DOLFINx reference for the galvanostatic sphere (docs/benchmarks.md problem 1).

The efficient baseline femcell is compared with: 1D spherical P1, BDF2 with a fixed step,
operators assembled once in nondimensional form, the matrix factorised once; each step is
one mat-vec, one axpy and one triangular solve.
"""

from __future__ import annotations

import time

import numpy as np

from femcell._dolfinx import MPI, PETSc, dolfinx, ufl


def run(n_cells: int, n_steps: int, *, radius: float, diffusivity: float, flux: float,
        c0: float, t_end: float) -> dict:
    """Return the surface concentration at t_end and the setup / loop wall times [s]."""
    t0 = time.perf_counter()
    mesh = dolfinx.mesh.create_interval(MPI.COMM_SELF, n_cells, [0.0, 1.0])  # r / R
    V = dolfinx.fem.functionspace(mesh, ("Lagrange", 1))
    u, v = ufl.TrialFunction(V), ufl.TestFunction(V)
    r = ufl.SpatialCoordinate(mesh)[0]
    w = r * r
    tau = diffusivity * t_end / radius**2
    dt = tau / n_steps  # nondimensional step
    M = dolfinx.fem.petsc.assemble_matrix(dolfinx.fem.form(u * v * w * ufl.dx))
    M.assemble()
    K = dolfinx.fem.petsc.assemble_matrix(
        dolfinx.fem.form(ufl.inner(ufl.grad(u), ufl.grad(v)) * w * ufl.dx))
    K.assemble()
    # nondimensional flux g = q R / (D c_ref) at r = 1 (weight 1 there)
    g = flux * radius / (diffusivity * max(c0, 1.0))
    bvec = dolfinx.fem.petsc.assemble_vector(dolfinx.fem.form(g * v * w * ufl.ds))
    A1 = M.copy()
    A1.axpy(dt, K)  # BE for the first step
    A2 = M.copy()
    A2.scale(1.5)
    A2.axpy(dt, K)  # BDF2: (3/2 u - 2 u^n + 1/2 u^(n-1)) / dt
    ksp = PETSc.KSP().create(MPI.COMM_SELF)
    ksp.setType("preonly")
    ksp.getPC().setType("lu")
    x_n = M.createVecRight()
    x_n.set(c0 / max(c0, 1.0))
    x_nm1 = x_n.copy()
    rhs = x_n.duplicate()
    x = x_n.duplicate()
    hist = x_n.duplicate()
    t_setup = time.perf_counter() - t0
    t0 = time.perf_counter()
    ksp.setOperators(A1)
    M.mult(x_n, rhs)
    rhs.axpy(dt, bvec)
    ksp.solve(rhs, x)
    x_nm1, x_n, x = x_n, x, x_nm1
    ksp.setOperators(A2)
    for _ in range(n_steps - 1):
        x_n.copy(hist)
        hist.scale(2.0)
        hist.axpy(-0.5, x_nm1)
        M.mult(hist, rhs)
        rhs.axpy(dt, bvec)
        ksp.solve(rhs, x)
        x_nm1, x_n, x = x_n, x, x_nm1
    t_loop = time.perf_counter() - t0
    cs = float(x_n.getArray()[np.argmax(V.tabulate_dof_coordinates()[:, 0])]) * max(c0, 1.0)
    return {"surface": cs, "setup_s": t_setup, "loop_s": t_loop}
