"""Units at the input boundary (`to_si`) and the nondimensional `Scales`."""

from __future__ import annotations

import math

import pytest

from femcell.units import EV, T_REF, F, R, Scales, UnitError, celsius, to_si


@pytest.mark.parametrize(
    ("text", "dimension", "expected"),
    [
        ("1 mA/cm^2", "current_density", 10.0),
        ("60 degC", "temperature", 333.15),
        ("25 degC", "temperature", 298.15),
        ("298.15 K", "temperature", 298.15),
        ("50 um", "length", 5e-5),
        ("5.22 um", "length", 5.22e-6),
        ("0.14 eV", "energy", 0.14 * 1.602176634e-19),
        ("30 min", "time", 1800.0),
        ("2 h", "time", 7200.0),
        ("1e-14 m^2/s", "diffusivity", 1e-14),
        ("1e-10 cm^2/s", "diffusivity", 1e-14),
        ("49.6 mol/L", "concentration", 49600.0),
        ("10 kJ/mol", "molar_energy", 1e4),
        ("1 mol/(m^2*s)", "molar_flux", 1.0),
    ],
)
def test_to_si_converts(text, dimension, expected):
    assert to_si(text, dimension) == pytest.approx(expected, rel=1e-12)


def test_electronvolt_is_the_elementary_charge_in_joule():
    assert EV == 1.602176634e-19
    assert to_si("1 eV", "energy") == pytest.approx(EV, rel=1e-12)


@pytest.mark.parametrize("value", [0, 3, 2.5, -1.0, 1e-14])
def test_numbers_pass_through_as_si(value):
    out = to_si(value, "length")
    assert isinstance(out, float)
    assert out == value


def test_dimensionless_number_string():
    assert to_si("0.5", "dimensionless") == 0.5


@pytest.mark.parametrize(
    ("value", "dimension"),
    [("5 m", "time"), ("3 m", "temperature"), ("1 A", "current_density"), ("1 s", "length")],
)
def test_wrong_dimension_raises_naming_the_key(value, dimension):
    with pytest.raises(UnitError) as info:
        to_si(value, dimension, name="time.end")
    msg = str(info.value)
    assert msg.startswith("time.end: ")
    assert repr(value) in msg
    assert f"not a {dimension}" in msg
    assert "\n" not in msg


@pytest.mark.parametrize("value", ["banana", "3 furlongz", "1 m/", ""])
def test_garbage_raises_naming_the_key(value):
    with pytest.raises(UnitError) as info:
        to_si(value, "length", name="geometry.params.radius")
    assert str(info.value).startswith("geometry.params.radius: ")


@pytest.mark.parametrize("value", [True, float("nan"), float("inf"), "inf m"])
def test_booleans_and_non_finite_values_raise(value):
    with pytest.raises(UnitError, match="^x: "):
        to_si(value, "length", name="x")


def test_unknown_dimension_is_a_programming_error():
    with pytest.raises(KeyError):
        to_si("1 m", "lenght")


def test_celsius():
    assert celsius(25.0) == pytest.approx(T_REF, rel=1e-15)


def test_scales_diffusion_time_is_l2_over_d():
    L, D, c = 5e-6, 1e-14, 4.9e4
    s = Scales.diffusion(L, D, c)
    assert s.length == L
    assert s.concentration == c
    assert s.time == pytest.approx(L**2 / D, rel=1e-14)
    assert s.time == pytest.approx(2500.0, rel=1e-12)
    assert s.potential == pytest.approx(R * T_REF / F, rel=1e-15)
    assert s.potential == pytest.approx(0.025693, rel=1e-4)  # thermal voltage at 25 degC
    assert s.form_factor(3) == pytest.approx(2500.0 / L**3, rel=1e-14)
    assert s.form_factor(1) == pytest.approx(2500.0 / L, rel=1e-14)


@pytest.mark.parametrize("bad", [0.0, -1.0, math.inf, math.nan])
def test_scales_must_be_positive_and_finite(bad):
    with pytest.raises(ValueError, match="Scales.length"):
        Scales(length=bad, time=1.0, concentration=1.0)
    with pytest.raises(ValueError, match="Scales.concentration"):
        Scales(length=1.0, time=1.0, concentration=bad)


def test_scales_diffusion_rejects_negative_diffusivity():
    with pytest.raises(ValueError, match="Scales.time"):
        Scales.diffusion(1e-6, -1e-14, 1.0)
