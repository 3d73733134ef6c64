"""Boundary conditions of a concentration field by facet region name (Diffusion)."""

from __future__ import annotations

from dataclasses import dataclass

from femcell.physics.base import time_function
from femcell.units import F as FARADAY


@dataclass(frozen=True)
class Dirichlet:
    """Fixed concentration on a facet region.

    Attributes:
        region: facet region name.
        value: concentration [mol m^-3]: a float, a function of time f(t), or a function of
            position and time f(x, t) with x of shape (3, n) [m].
    """

    region: str
    value: object


@dataclass(frozen=True)
class Flux:
    """Prescribed molar flux INTO the region through a facet region (galvanostatic).

    Attributes:
        region: facet region name.
        value: inward molar flux [mol m^-2 s^-1], a float or a function of time [s].
    """

    region: str
    value: object

    @classmethod
    def from_current(cls, region: str, current_density, charge_number: int = 1) -> Flux:
        """Flux from an insertion current density j [A m^-2] (j > 0 inserts): q = j / (z F)."""
        jf = time_function(current_density)
        return cls(region, lambda t: jf(t) / (charge_number * FARADAY))


@dataclass(frozen=True)
class Robin:
    """Inward flux q = k (c_ext - c) through a facet region.

    Attributes:
        region: facet region name.
        transfer_coefficient: k [m s^-1] (>= 0).
        c_ext: external concentration [mol m^-3], a float or a function of time [s].
    """

    region: str
    transfer_coefficient: float
    c_ext: object


def _takes_position(value) -> bool:
    """True for a callable f(x, t) (two parameters)."""
    if not callable(value):
        return False
    import inspect

    try:
        return len(inspect.signature(value).parameters) >= 2
    except (TypeError, ValueError):
        return False
