"""Layer stack and defect bookkeeping of ``symmetric_cell``.

``Layout`` holds the validated dimensions of the cell (all lengths in m), its layers along
the stack axis (the last one: y in 2D, z in 3D), its two metal interfaces and the defects
placed so far; the defect parsers in ``_cell_defects`` check new defects against it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from ._common import fail, options

NAME = "symmetric_cell"
MAX_GRAINS = 2000
MAX_PORES = 200  # per pores entry


@dataclass
class Side:
    """One of the two metal interfaces ("anode" or "cathode")."""

    key: str
    plane: float  # stack coordinate of the metal's face (m)
    metal: str  # metal layer id
    metal_dir: int  # -1: the metal is below the plane, +1: above
    other: str  # layer on the other side of the plane
    t_metal: float
    t_other: float
    face: float  # stack coordinate of the electrolyte face on this side (m)
    face_dir: int  # +1: notches enter the electrolyte upwards, -1: downwards
    neighbour: str  # layer across the electrolyte face (a notch "fill")
    t_neighbour: float


@dataclass
class Defect:
    """A pore, void or notch: its bounding box and how to build it."""

    label: str
    side: str
    lo: np.ndarray  # bounding box (m), dim components
    hi: np.ndarray
    build: object  # scale -> Part
    value: object = None  # the parameter value named in overlap messages
    tip: tuple | None = None  # (centre (m), radius (m), h_tip (m), slot: bool)


@dataclass
class Layout:
    """The validated cell: dimensions (m), layers, interfaces and the defects placed so far.

    Attributes:
        dim: 2 or 3.
        width, depth: footprint (m); depth equals width in 2D.
        t_a, t_i, t_e, t_c: anode, interlayer (0: none), electrolyte, cathode thickness (m).
        cathode: "metal" or "composite".
        layers: layer id -> (bottom, top) along the stack axis (m), bottom to top.
        sides: "anode"/"cathode" -> its metal interface.
        defects: pores, voids and notches accepted so far (no two overlap).
    """

    dim: int
    width: float
    depth: float
    t_a: float
    t_i: float
    t_e: float
    t_c: float
    cathode: str
    layers: dict[str, tuple[float, float]] = field(default_factory=dict)
    sides: dict[str, Side] = field(default_factory=dict)
    defects: list[Defect] = field(default_factory=list)

    @property
    def axis(self) -> int:
        """Index of the stack axis (the last one)."""
        return self.dim - 1

    @property
    def foot(self) -> np.ndarray:
        """Footprint side lengths (m): [width] in 2D, [width, depth] in 3D."""
        return np.array([self.width, self.depth][: self.dim - 1])

    @property
    def top(self) -> float:
        """Total thickness (m)."""
        return self.t_a + self.t_i + self.t_e + self.t_c

    @property
    def y_eb(self) -> float:
        """Bottom of the electrolyte (m)."""
        return self.t_a + self.t_i

    @property
    def y_et(self) -> float:
        """Top of the electrolyte (m)."""
        return self.y_eb + self.t_e

    def side_of(self, label: str, spec: Mapping) -> Side:
        """The interface named by ``spec["interface"]`` of the defect ``label``."""
        key = options(NAME, f"{label}.interface", spec["interface"], ("anode", "cathode"))
        if key == "cathode" and self.cathode == "composite":
            raise fail(NAME, f"{label}.interface", key, "needs cathode='metal'")
        return self.sides[key]

    @staticmethod
    def box(lo_f, hi_f, lo_s: float, hi_s: float) -> tuple[np.ndarray, np.ndarray]:
        """Bounding box (m) from footprint bounds and stack bounds."""
        return np.array([*lo_f, lo_s]), np.array([*hi_f, hi_s])

    def inside_footprint(self, label: str, value: object, lo_f, hi_f) -> None:
        """Refuse a defect whose footprint bounds (m) touch or cross the side walls."""
        foot = self.foot
        if np.any(lo_f <= 0) or np.any(hi_f >= foot):
            raise fail(
                NAME,
                label,
                value,
                f"puts the defect outside the footprint {foot.tolist()}"
                " m (it must not touch the side walls)",
            )

    def add_defect(self, d: Defect) -> None:
        """Accept a defect unless its bounding box overlaps one accepted before."""
        for other in self.defects:
            if overlaps(d, other):
                raise fail(
                    NAME,
                    d.label,
                    d.value,
                    f"overlaps {other.label} (bounding boxes "
                    f"{d.lo.tolist()}-{d.hi.tolist()} and {other.lo.tolist()}-"
                    f"{other.hi.tolist()} m)",
                )
        self.defects.append(d)


def make_layout(
    dim: int,
    width: float,
    depth: float,
    t_a: float,
    t_i: float,
    t_e: float,
    t_c: float,
    cathode: str,
) -> Layout:
    """Stack anode | [interlayer] | electrolyte | cathode (lengths in m) from 0 upwards.

    The top layer is "cathode" for a metal cathode, "composite" for a composite one.
    """
    lay = Layout(dim, width, depth, t_a, t_i, t_e, t_c, cathode)
    y_eb, y_et = lay.y_eb, lay.y_et
    lay.layers["anode"] = (0.0, t_a)
    if t_i > 0:
        lay.layers["interlayer"] = (t_a, y_eb)
    lay.layers["electrolyte"] = (y_eb, y_et)
    lay.layers["cathode" if cathode == "metal" else "composite"] = (y_et, lay.top)
    below_e = "interlayer" if t_i > 0 else "anode"
    above_a = "interlayer" if t_i > 0 else "electrolyte"
    lay.sides = {
        "anode": Side(
            "anode", t_a, "anode", -1, above_a, t_a, t_i or t_e, y_eb, +1, below_e, t_i or t_a
        ),
        "cathode": Side(
            "cathode", y_et, "cathode", +1, "electrolyte", t_c, t_e, y_et, -1, "cathode", t_c
        ),
    }
    return lay


def spec_of(label: str, value: object, required: Sequence[str], optional: Mapping) -> dict:
    """A defect/option dict with its required keys, defaults for the optional ones."""
    if not isinstance(value, Mapping):
        raise fail(NAME, label, value, "must be a dict")
    known = set(required) | set(optional)
    for k in value:
        if k not in known:
            raise fail(NAME, f"{label}.{k}", value[k], f"unknown key (known: {sorted(known)})")
    for k in required:
        if k not in value:
            raise fail(NAME, label, dict(value), f"misses the key {k!r}")
    return {**optional, **value}


def as_list(label: str, value: object) -> list:
    """None -> [], a dict -> [dict], a sequence -> list."""
    if value is None:
        return []
    if isinstance(value, Mapping):
        return [value]
    if isinstance(value, Sequence) and not isinstance(value, str):
        return list(value)
    raise fail(NAME, label, value, "must be a dict or a list of dicts")


def coords(label: str, value: object, n: int) -> np.ndarray:
    """``n`` finite footprint coordinates (m) as an array."""
    if n == 1 and not isinstance(value, Sequence | np.ndarray):
        value = [value]
    try:
        xy = np.array([float(v) for v in value])  # type: ignore[union-attr]
    except (TypeError, ValueError):
        raise fail(NAME, label, value, "must be a sequence of coordinates") from None
    if len(xy) != n or not np.all(np.isfinite(xy)):
        raise fail(NAME, label, value, f"must have {n} finite footprint coordinate(s)")
    return xy


def overlaps(a: Defect, b: Defect) -> bool:
    """True when the bounding boxes of two defects intersect (touching included)."""
    return bool(np.all(a.lo <= b.hi) and np.all(b.lo <= a.hi))
