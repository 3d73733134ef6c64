"""Shapes of initial cracks for phase-field fracture: which mesh nodes start broken.

A crack is a segment (a line crack in 2D; a needle in 3D) or, in 3D, a planar flaw: a
half ellipse ("semi_elliptical", the classic surface flaw) or a rectangle entering the body
from ``start`` (the centre of its trace on the surface) along ``direction`` by ``length``
(its depth a), ``width`` wide (2 c) along ``span`` (a direction in the surface, made
perpendicular to ``direction``). Nodes within a half width b of the crack start broken; for a
planar flaw, "within b" is |normal offset| <= b and the in-plane point inside the shape grown
by b (a box of half width b around the rectangle, whose corners reach b sqrt(3); the half
ellipse with its semi-axes grown by b, inside the true offset by b).
"""

from __future__ import annotations

import numpy as np

from femcell.materials.core import MaterialError

SHAPES = ("semi_elliptical", "rectangle")


def _unit(v, what):
    v = np.asarray(v, dtype=float)
    n = float(np.linalg.norm(v))
    if not (np.all(np.isfinite(v)) and n > 0):
        raise MaterialError(f"initial crack {what} = {v.tolist()}: must be a nonzero vector")
    return v / n


class Segment:
    """A line crack from p0 to p1 (m; gdim coordinates)."""

    def __init__(self, p0, p1, gdim):
        if any(len(p) != gdim for p in (p0, p1)):
            raise MaterialError(f"initial crack {[list(p0), list(p1)]}: two points of {gdim} "
                                f"coordinates each")
        self.p0, self.p1 = np.zeros(3), np.zeros(3)
        self.p0[:gdim], self.p1[:gdim] = p0, p1
        self.gdim = gdim

    @property
    def depth(self) -> float:
        """Length of the segment (m)."""
        return float(np.linalg.norm(self.p1 - self.p0))

    def near(self, x: np.ndarray, b: float) -> np.ndarray:
        """Points x (n, 3) within b (m) of the segment."""
        ac = self.p1 - self.p0
        L2 = float(ac @ ac)
        s = np.clip(((x - self.p0) @ ac) / L2, 0.0, 1.0) if L2 > 0 else np.zeros(len(x))
        return np.linalg.norm(x - (self.p0 + s[:, None] * ac), axis=1) <= b

    def describe(self):
        return [self.p0[:self.gdim].tolist(), self.p1[:self.gdim].tolist()]

    def front_length(self) -> float:
        """1: a line crack's front is a point (its crack measure is already a length)."""
        return 1.0


class PlanarFlaw:
    """A planar 3D flaw (see the module docstring): start, direction, length a (m), width
    2 c (m) along span, shape "semi_elliptical" or "rectangle". Attributes: o, e1 (depth
    direction), e2 (span), n (normal), a (depth, m), c (half width, m), shape."""

    def __init__(self, start, direction, length, width, span, shape="semi_elliptical"):
        if shape not in SHAPES:
            raise MaterialError(f"initial crack shape {shape!r}: one of {', '.join(SHAPES)}")
        if len(start) != 3:
            raise MaterialError(f"initial crack start {list(start)}: a planar flaw is 3D (3 "
                                f"coordinates)")
        if not (length > 0 and width > 0 and np.isfinite(length) and np.isfinite(width)):
            raise MaterialError(f"initial crack length and width must be > 0 m, got {length}, "
                                f"{width}")
        self.o = np.asarray(start, dtype=float)
        self.e1 = _unit(direction, "direction")
        s = np.asarray(span, dtype=float) - (np.asarray(span, dtype=float) @ self.e1) * self.e1
        if not np.linalg.norm(s) > 1e-9 * max(np.linalg.norm(span), 1e-300):
            raise MaterialError(f"initial crack span = {list(span)}: must not be parallel to "
                                f"the direction {list(direction)}")
        self.e2 = _unit(s, "span")
        self.n = np.cross(self.e1, self.e2)
        self.a, self.c, self.shape = float(length), 0.5 * float(width), shape
        self.gdim = 3

    @property
    def depth(self) -> float:
        """Depth a of the flaw (m)."""
        return self.a

    def near(self, x: np.ndarray, b: float) -> np.ndarray:
        """Points x (n, 3) within b (m) of the flaw (module docstring)."""
        r = x - self.o
        s1, s2, s3 = r @ self.e1, r @ self.e2, r @ self.n
        ok = (np.abs(s3) <= b) & (s1 >= -b) & (s1 <= self.a + b)
        if self.shape == "rectangle":
            return ok & (np.abs(s2) <= self.c + b)
        t = np.maximum(s1, 0.0)
        return ok & ((t / (self.a + b)) ** 2 + (s2 / (self.c + b)) ** 2 <= 1.0)

    def front_length(self) -> float:
        """Length of the crack front inside the body (m): the half-ellipse arc (Ramanujan)
        or the rectangle's bottom and two sides."""
        a, c = self.a, self.c
        if self.shape == "rectangle":
            return 2 * c + 2 * a
        h = ((a - c) / (a + c)) ** 2
        return 0.5 * np.pi * (a + c) * (1 + 3 * h / (10 + np.sqrt(4 - 3 * h)))

    def describe(self):
        return {"shape": self.shape, "start": self.o.tolist(), "direction": self.e1.tolist(),
                "span": self.e2.tolist(), "length": self.a, "width": 2 * self.c}


def crack_shape(spec, gdim: int):
    """A Segment from ((x0, y0[, z0]), (x1, ...)) or a PlanarFlaw from a dict with start,
    direction, length, width, span (and shape) [m]."""
    if isinstance(spec, dict):
        if gdim != 3:
            raise MaterialError("initial crack: a planar flaw (width, span) is 3D only")
        return PlanarFlaw(spec["start"], spec["direction"], spec["length"], spec["width"],
                          spec["span"], spec.get("shape", "semi_elliptical"))
    seg = list(spec)
    if len(seg) != 2:
        raise MaterialError(f"initial crack {seg}: two points of {gdim} coordinates each")
    return Segment(seg[0], seg[1], gdim)
