"""Initial crack shapes (femcell.physics.cracks) and their [fracture] tables: which points
start broken, and one clear error for a malformed planar flaw."""

from __future__ import annotations

import numpy as np
import pytest

from femcell.config import ConfigError
from femcell.materials import MaterialError
from femcell.physics.cracks import PlanarFlaw, Segment, crack_shape
from femcell.sections.fracture import FractureSection

A, C, B = 10.0, 5.0, 0.5  # depth, half width, band half width (any unit)


def _flaw(shape):
    # enters the surface z = 0 at the origin downwards, spans y: the plane x = 0
    return PlanarFlaw([0, 0, 0], [0, 0, -2], A, 2 * C, [0, 3, 0.1], shape)


def test_a_semi_elliptical_flaw_breaks_its_half_ellipse_and_a_band_around_it():
    f = _flaw("semi_elliptical")
    assert np.allclose(f.e1, [0, 0, -1]) and np.allclose(f.e2, [0, 1, 0])
    pts = np.array([[0, 0, -A / 2],              # inside
                    [0.9 * B, 0, -A / 2],        # within the band off the plane
                    [1.1 * B, 0, -A / 2],        # beyond it
                    [0, 0, -(A + 0.9 * B)],      # just past the deepest point
                    [0, 0, -(A + 1.1 * B)],
                    [0, 0.7 * C, -0.7 * A],      # 0.49 + 0.49 < 1: inside the ellipse
                    [0, 0.8 * C, -0.8 * A],      # 0.64 + 0.64 > 1: outside
                    [0, C + 0.9 * B, 0.0],       # the trace on the surface, grown by B
                    [0, 0, 2 * B]])              # above the surface
    assert f.near(pts, B).tolist() == [True, True, False, True, False, True, False, True,
                                       False]
    assert f.depth == A


def test_a_rectangular_flaw_keeps_its_corners():
    f = _flaw("rectangle")
    pts = np.array([[0, 0.95 * C, -0.95 * A], [0, C + 1.1 * B, -A / 2]])
    assert f.near(pts, B).tolist() == [True, False]


def test_segments_and_bad_shapes():
    s = crack_shape([[0, 0], [3, 4]], 2)
    assert isinstance(s, Segment) and s.depth == pytest.approx(5.0)
    pts = np.array([[1.5, 2.0, 0], [1.5 + 0.8, 2.0 - 0.6, 0]])
    assert s.near(pts, 0.9).tolist() == [True, False]
    with pytest.raises(MaterialError, match="3D only"):
        crack_shape({"start": [0, 0], "direction": [0, -1], "length": 1, "width": 1,
                     "span": [1, 0]}, 2)
    with pytest.raises(MaterialError, match="parallel"):
        PlanarFlaw([0, 0, 0], [0, 0, 1], 1.0, 1.0, [0, 0, 2])
    with pytest.raises(MaterialError, match="shape"):
        PlanarFlaw([0, 0, 0], [0, 0, 1], 1.0, 1.0, [0, 1, 0], "penny")


@pytest.mark.parametrize("crack, needle", [
    ({"start": [0, 0, 0], "direction": [0, 0, -1], "length": 1e-6, "width": 1e-6},
     "initial_cracks.0.span"),
    ({"start": [0, 0, 0], "direction": [0, 0, -1], "length": 1e-6, "span": [0, 1, 0]},
     "initial_cracks.0.width"),
    ({"start": [0, 0], "direction": [0, -1], "length": 1e-6, "width": 1e-6,
      "span": [1, 0, 0]}, "3D only"),
    ({"start": [0, 0, 0], "direction": [0, 0, -1], "length": 1e-6, "width": 1e-6,
      "span": [0, 0, 3]}, "parallel"),
    ({"start": [0, 0, 0], "direction": [0, 0, -1], "length": 1e-6, "shape": "rectangle"},
     "initial_cracks.0.shape"),
])
def test_a_malformed_planar_flaw_names_its_key(crack, needle):
    from pydantic import ValidationError

    from femcell.config.messages import validation_message

    with pytest.raises((ValidationError, ConfigError)) as err:
        FractureSection(length=1e-6, initial_cracks=[crack])
    text = (validation_message(err.value, "fracture") if isinstance(err.value, ValidationError)
            else str(err.value))
    assert needle in text, text
