"""Unknowns with their time history and the shared time levels (BDF) of a composite problem.

Physics create their `Field`s in `setup` and write time derivatives with the `TimeContext`
that the problem (monolithic or staggered) shares between all of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from femcell._dolfinx import PETSc, dolfinx


@dataclass
class Field:
    """An unknown with its time history.

    Attributes:
        name: field name ("c", "phi_l", ...).
        u: the unknown at the new time level (scaled, O(1)).
        history: previous levels [u^n, u^(n-1), u^(n-2)].
    """

    name: str
    u: dolfinx.fem.Function
    history: list = field(default_factory=list)

    @classmethod
    def create(cls, name: str, space, levels: int = 3) -> Field:
        u = dolfinx.fem.Function(space, name=name)
        hist = [dolfinx.fem.Function(space, name=f"{name}_{k}") for k in range(levels)]
        return cls(name, u, hist)

    def set_all(self, values_from) -> None:
        """Set u and all history levels from a Function or callable."""
        if callable(values_from) and not isinstance(values_from, dolfinx.fem.Function):
            self.u.interpolate(values_from)
        else:
            self.u.x.array[:] = values_from.x.array
        self.u.x.scatter_forward()
        for h in self.history:
            h.x.array[:] = self.u.x.array


class TimeContext:
    """Time level constants and the BDF time derivative shared by all physics.

    ddt(u) = (a0 m(u) + a1 m(u^n) + a2 m(u^(n-1))) / dt, with the coefficients of variable-step
    BDF1 (backward Euler) or BDF2 set by `set_scheme`.
    """

    def __init__(self, mesh):
        c = dolfinx.fem.Constant
        self.t = c(mesh, PETSc.ScalarType(0.0))  # new time level [s]
        self.dt = c(mesh, PETSc.ScalarType(1.0))  # step [s]
        self.a = [c(mesh, PETSc.ScalarType(v)) for v in (1.0, -1.0, 0.0)]
        self.order = 1
        # numpy views of the constants' storage: setting them costs ~0.1 us, not ~1 us
        self._views = [k._cpp_object.value for k in (self.t, self.dt, *self.a)]

    @staticmethod
    def bdf_coefficients(order: int, dt: float, dt_prev: float | None) -> tuple[float, ...]:
        """(a0, a1, a2) of variable-step BDF of the given order (1 or 2)."""
        if order == 1 or dt_prev is None:
            return (1.0, -1.0, 0.0)
        w = dt / dt_prev
        if abs(w - 1.0) < 1e-9:  # equal steps up to round-off in t: keep operators reusable
            w = 1.0
        return ((1 + 2 * w) / (1 + w), -(1 + w), w * w / (1 + w))

    def set_scheme(self, t_new: float, dt: float, order: int, dt_prev: float | None) -> tuple:
        coeffs = self.bdf_coefficients(order, dt, dt_prev)
        for view, v in zip(self._views, (t_new, dt, *coeffs), strict=True):
            view[...] = v
        self.order = 1 if coeffs[2] == 0.0 else 2
        return coeffs

    def ddt(self, f: Field, storage=None):
        """BDF time derivative of storage(u) [units of storage per second]."""
        m = storage or (lambda v: v)
        return (self.a[0] * m(f.u) + self.a[1] * m(f.history[0])
                + self.a[2] * m(f.history[1])) / self.dt
