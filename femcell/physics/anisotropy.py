"""Anisotropic transport: crystal axes of grains as projector fields (lab components)."""

from __future__ import annotations

import numpy as np

from femcell._dolfinx import MPI, dolfinx
from femcell.materials.core import MaterialError


def crystal_projectors(domain, orientations, gdim: int) -> list:
    """DG0 tensor fields P_i = q_i q_i^T (lab components) of the three crystal axes q_i.

    Args:
        domain: the Domain.
        orientations: crystal -> lab rotation: None (axes = lab axes), one 3x3 array, or
            {cell group name: 3x3 array} (grains; every cell must belong to one).
        gdim: geometric dimension.
    """
    T = dolfinx.fem.functionspace(domain.mesh, ("DG", 0, (gdim, gdim)))
    P = [dolfinx.fem.Function(T, name=f"P{i}") for i in range(3)]
    rot = orientations
    if rot is None or isinstance(rot, np.ndarray):
        groups = {None: np.eye(3) if rot is None else np.asarray(rot)}
    else:
        groups = dict(rot)
    for grp, Q in groups.items():
        Q = np.asarray(Q, dtype=float)
        if Q.shape != (3, 3) or not np.allclose(Q @ Q.T, np.eye(3), atol=1e-8):
            raise MaterialError(f"orientation of {grp or 'the domain'} is not a rotation")
        cells = domain.cells(grp, include_ghosts=True)
        for i in range(3):
            q = Q[:gdim, i]
            arr = P[i].x.array.reshape(-1, gdim * gdim)
            arr[cells] = np.outer(q, q).ravel()
    if isinstance(rot, dict):
        covered = np.zeros(P[0].x.array.size // (gdim * gdim), dtype=bool)
        for grp in groups:
            covered[domain.cells(grp, include_ghosts=True)] = True
        n_missing = domain.comm.allreduce(int((~covered).sum()), op=MPI.SUM)
        if n_missing:
            raise MaterialError(f"orientations: {n_missing} cells belong to no oriented "
                                f"grain (given: {', '.join(sorted(groups))})")
    for p in P:
        p.x.scatter_forward()
    return P
