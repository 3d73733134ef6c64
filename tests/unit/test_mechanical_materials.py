"""Mechanical materials: elastic constants, Bond rotation, creep, toughness and the library."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from femcell.materials import MaterialError, list_materials
from femcell.materials.mechanical import (
    ElasticSolid,
    MechanicalMaterial,
    NortonCreep,
    Toughness,
    ToughnessByDensity,
    bond_matrix,
    get_mechanics,
    list_mechanics,
)
from femcell.units import EV, K_B, N_A, T_REF

GPA = 1e9
MPA = 1e6


def rotation(axis, angle_deg: float) -> np.ndarray:
    """Rodrigues rotation matrix about ``axis`` by ``angle_deg`` (right-handed)."""
    k = np.asarray(axis, dtype=float)
    k /= np.linalg.norm(k)
    kx = np.array([[0.0, -k[2], k[1]], [k[2], 0.0, -k[0]], [-k[1], k[0], 0.0]])
    t = math.radians(angle_deg)
    return np.eye(3) + math.sin(t) * kx + (1.0 - math.cos(t)) * kx @ kx


PAIRS = ((0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1))


def tensor_rotation(c6: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Independent check: rotate the 4th-order tensor C_ijkl and return its Voigt matrix."""
    c = np.zeros((3, 3, 3, 3))
    for p, (i, j) in enumerate(PAIRS):
        for q, (k, l) in enumerate(PAIRS):
            for a, b in {(i, j), (j, i)}:
                for cc, d in {(k, l), (l, k)}:
                    c[a, b, cc, d] = c6[p, q]
    c_lab = np.einsum("ip,jq,kr,ls,pqrs->ijkl", r, r, r, r, c)
    return np.array([[c_lab[i, j, k, l] for (k, l) in PAIRS] for (i, j) in PAIRS])


CU = ElasticSolid.cubic("cu", 168.4 * GPA, 121.4 * GPA, 75.4 * GPA)  # copper-like constants


# ------------------------------------------------------------------------------ Bond rotation
def test_isotropic_stiffness_is_invariant_under_any_rotation():
    iso = ElasticSolid("iso", youngs_modulus=150 * GPA, poisson_ratio=0.26)
    for r in (rotation((0, 0, 1), 33.0), rotation((1, 2, 3), 71.0), rotation((1, -1, 0), 120)):
        np.testing.assert_allclose(iso.rotated_voigt(r), iso.voigt(), atol=1e-6 * GPA)


def test_cubic_stiffness_maps_to_itself_under_90_degrees_about_z():
    np.testing.assert_allclose(CU.rotated_voigt(rotation((0, 0, 1), 90.0)), CU.voigt(),
                               atol=1e-6 * GPA)


def test_cubic_stiffness_rotated_45_degrees_about_z_textbook_values():
    c11, c12, c44 = 168.4 * GPA, 121.4 * GPA, 75.4 * GPA
    c = CU.rotated_voigt(rotation((0, 0, 1), 45.0))
    assert c[0, 0] == pytest.approx((c11 + c12) / 2 + c44, rel=1e-12)  # 220.3 GPa
    assert c[0, 0] == pytest.approx(220.3 * GPA, rel=1e-12)
    assert c[0, 1] == pytest.approx((c11 + c12) / 2 - c44, rel=1e-12)
    assert c[5, 5] == pytest.approx((c11 - c12) / 2, rel=1e-12)
    assert c[2, 2] == pytest.approx(c11, rel=1e-12)
    assert c[3, 3] == pytest.approx(c44, rel=1e-12)
    assert abs(c[0, 5]) < 1e-6 * GPA  # no coupling appears for 45 deg in a cubic crystal


def test_bond_matrix_agrees_with_fourth_order_tensor_rotation():
    ortho = ((200, 60, 50, 0, 0, 0), (60, 150, 40, 0, 0, 0), (50, 40, 120, 0, 0, 0),
             (0, 0, 0, 30, 0, 0), (0, 0, 0, 0, 40, 0), (0, 0, 0, 0, 0, 50))
    solid = ElasticSolid("ortho", stiffness=tuple(tuple(v * GPA for v in row) for row in ortho))
    r = rotation((0.3, -1.0, 0.7), 57.0)
    c_lab = solid.rotated_voigt(r)
    np.testing.assert_allclose(c_lab, tensor_rotation(solid.voigt(), r), atol=1e-6 * GPA)
    np.testing.assert_allclose(c_lab, c_lab.T, atol=1e-6 * GPA)
    # rotating back recovers the crystal-frame stiffness
    back = ElasticSolid("lab", stiffness=tuple(map(tuple, c_lab))).rotated_voigt(r.T)
    np.testing.assert_allclose(back, solid.voigt(), atol=1e-6 * GPA)


def test_rotation_must_be_proper_orthogonal():
    with pytest.raises(MaterialError, match="rotation"):
        bond_matrix(np.diag([1.0, 1.0, 2.0]))
    with pytest.raises(MaterialError, match="rotation"):
        CU.rotated_voigt(np.diag([1.0, 1.0, -1.0]))  # a reflection
    with pytest.raises(MaterialError, match="3x3"):
        CU.rotated_voigt(np.eye(2))


# ------------------------------------------------------------------------------ elastic
def test_isotropic_lame_against_hand_values():
    steel = ElasticSolid("steel", youngs_modulus=200 * GPA, poisson_ratio=0.3)
    lam, mu = steel.lame()
    # lambda = E nu / ((1 + nu)(1 - 2 nu)) = 60 / 0.52 GPa, mu = E / (2 (1 + nu)) = 200 / 2.6 GPa
    assert lam == pytest.approx(115.384615 * GPA, rel=1e-8)
    assert mu == pytest.approx(76.923077 * GPA, rel=1e-8)
    assert steel.shear_modulus == pytest.approx(mu)
    assert steel.bulk_modulus == pytest.approx(166.666667 * GPA, rel=1e-8)  # E / (3 (1-2nu))
    c = steel.voigt()
    assert c[0, 0] == pytest.approx(lam + 2 * mu) and c[0, 1] == pytest.approx(lam)
    assert c[3, 3] == pytest.approx(mu) and c[0, 3] == 0.0
    assert steel.isotropic and steel.effective_moduli() == (200 * GPA, 0.3)


def test_voigt_reuss_hill_of_cubic_crystal():
    assert not CU.isotropic
    # cubic: Voigt and Reuss bulk moduli are both (C11 + 2 C12) / 3
    assert CU.bulk_modulus == pytest.approx((168.4 + 2 * 121.4) / 3 * GPA, rel=1e-12)
    g_v = (168.4 - 121.4 + 3 * 75.4) / 5
    g_r = 5 * (168.4 - 121.4) * 75.4 / (4 * 75.4 + 3 * (168.4 - 121.4))
    assert CU.shear_modulus == pytest.approx(0.5 * (g_v + g_r) * GPA, rel=1e-12)
    # an isotropic "cubic" stiffness (C44 = (C11 - C12)/2) averages to itself
    iso = ElasticSolid("iso", youngs_modulus=100 * GPA, poisson_ratio=0.2)
    lam, mu = iso.lame()
    as_cubic = ElasticSolid.cubic("iso_c", lam + 2 * mu, lam, mu)
    np.testing.assert_allclose(as_cubic.lame(), (lam, mu), rtol=1e-12)
    np.testing.assert_allclose(as_cubic.effective_moduli(), (100 * GPA, 0.2), rtol=1e-12)


def test_poisson_ratio_from_e_and_g():
    s = ElasticSolid.from_moduli("llzo_like", 149.8 * GPA, 59.6 * GPA)
    assert s.poisson_ratio == pytest.approx(149.8 / 119.2 - 1.0, rel=1e-14)  # 0.25671
    assert s.shear_modulus == pytest.approx(59.6 * GPA, rel=1e-12)


def test_swelling_strain_of_lfp():
    """Anisotropic misfit +5 / +3.6 / -1.9 % along a, b, c on full lithiation (c_max =
    22820 mol/m^3 = 1 / V_m); Omega is their sum, 6.7 % of V_m = 43.82 cm^3/mol, within 2 %
    of Padhi's 6.8 % volume change."""
    lfp = get_mechanics("lfp").elastic
    c_max = 22820.0
    assert np.allclose(np.array(lfp.chemical_expansion) * c_max, (0.05, 0.036, -0.019),
                       rtol=1e-3)
    assert not lfp.isotropic_swelling
    assert lfp.partial_molar_volume == pytest.approx(sum(lfp.chemical_expansion))
    assert lfp.partial_molar_volume == pytest.approx(0.068 * 43.822e-6, rel=0.02)
    R = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])  # a -> y, b -> -x
    assert np.allclose(np.diag(lfp.expansion_tensor(R)) * c_max, (0.036, 0.05, -0.019),
                       rtol=1e-3)


@pytest.mark.parametrize("bad", [(1e-6, 2e-6), ("a", 1, 2), (1e-6, float("nan"), 0.0)])
def test_chemical_expansion_is_checked(bad):
    with pytest.raises(MaterialError, match="chemical_expansion"):
        ElasticSolid("x", youngs_modulus=1e9, poisson_ratio=0.3, chemical_expansion=bad)
    with pytest.raises(MaterialError, match="differs"):
        ElasticSolid("x", youngs_modulus=1e9, poisson_ratio=0.3, partial_molar_volume=1e-6,
                     chemical_expansion=(1e-6, 1e-6, 1e-6))


# ------------------------------------------------------------------------------ fracture
def test_griffith_energy_release_rate_llzo():
    llzo = get_mechanics("llzo")
    e, nu = llzo.elastic.effective_moduli()
    assert (e, nu) == pytest.approx((149.8 * GPA, 0.2567114), rel=1e-6)
    # (1 MPa m^0.5)^2 (1 - 0.2567114^2) / 149.8 GPa = 0.9340992 / 0.1498 J/m^2
    assert Toughness(1 * MPA).gc(llzo.elastic) == pytest.approx(6.23564, rel=1e-5)
    assert Toughness(1 * MPA).gc(llzo.elastic, plane_strain=False) == pytest.approx(
        6.67557, rel=1e-5)
    # the library K_IC = 1.25 MPa m^0.5: 1.5625 * 6.23564 J/m^2
    assert llzo.toughness.gc(llzo.elastic) == pytest.approx(9.74319, rel=1e-5)


def test_toughness_by_density_interpolates_and_refuses_extrapolation():
    table = get_mechanics("llzto").toughness
    assert isinstance(table, ToughnessByDensity)
    assert table.k_ic_at(0.83) == pytest.approx(0.44 * MPA)
    assert table.k_ic_at(0.98) == pytest.approx(1.51 * MPA)
    assert table.k_ic_at(0.905) == pytest.approx(0.975 * MPA, rel=1e-12)  # middle
    assert table.k_ic_at(0.88) == pytest.approx((0.44 + 1.07 / 3) * MPA, rel=1e-12)
    assert table.at(0.905).k_ic == pytest.approx(0.975 * MPA, rel=1e-12)
    for rho in (0.80, 0.99, float("nan")):
        with pytest.raises(MaterialError, match="outside the toughness table"):
            table.k_ic_at(rho)
    elastic = get_mechanics("llzto").elastic
    assert table.gc(elastic, relative_density=0.98) == pytest.approx(
        Toughness(1.51 * MPA).gc(elastic), rel=1e-12)
    with pytest.raises(MaterialError, match="relative_density"):
        table.gc(elastic)


# ------------------------------------------------------------------------------ creep
def test_norton_creep_rate_stress_and_temperature_dependence():
    li = get_mechanics("li").creep
    assert li.rate(1 * MPA, T_REF) == pytest.approx(0.01, rel=1e-12)
    assert li.rate(2 * MPA, T_REF) / li.rate(1 * MPA, T_REF) == pytest.approx(2 ** 6.56)
    # 37 kJ/mol = 0.3835 eV per atom
    assert li.activation_energy / EV == pytest.approx(0.38347, rel=1e-4)
    assert li.activation_energy == pytest.approx(37e3 / N_A)
    t = 333.15
    expected = math.exp(-li.activation_energy / K_B * (1 / t - 1 / T_REF))
    assert li.rate(1 * MPA, t) / li.rate(1 * MPA, T_REF) == pytest.approx(expected, rel=1e-12)
    assert expected == pytest.approx(4.7973, rel=1e-4)  # exp(4450.2 K * 3.5236e-4 K^-1)
    rates = li.rate(np.array([0.0, 0.5, 1.0]) * MPA)
    assert rates.shape == (3,) and rates[0] == 0.0
    na = get_mechanics("na").creep
    assert na.exponent == 5.0 and na.rate(1 * MPA) == pytest.approx(0.53)


# ------------------------------------------------------------------------------ library
def test_library_mechanics_are_listed_and_cited():
    names = list_mechanics()
    assert {"llzo", "llzto", "latp", "li6ps5cl", "na_beta_alumina", "li", "na", "nmc811",
            "lfp"} <= set(names)
    assert set(names) - {"latp", "llzto"} <= set(list_materials())
    assert get_mechanics("li").creep is not None and get_mechanics("na").creep is not None
    for name in names:
        mech = get_mechanics(name)
        assert isinstance(mech, MechanicalMaterial) and mech.name == name
        assert mech.elastic.name == name
        for part in (mech.elastic, mech.creep, mech.toughness):
            if part is not None:
                assert part.citations and all(c.strip() for c in part.citations), (name, part)
        assert set(mech.elastic.citations) <= set(mech.citations)
        e, nu = mech.elastic.effective_moduli()
        assert 1e9 < e < 1e12 and 0 < nu < 0.5


def test_unknown_mechanics_lists_known_names():
    with pytest.raises(MaterialError, match="known: .*llzo"):
        get_mechanics("graphite")


# ------------------------------------------------------------------------------ validation
BAD = [
    (lambda: ElasticSolid("x", youngs_modulus=0.0, poisson_ratio=0.3), "youngs_modulus"),
    (lambda: ElasticSolid("x", youngs_modulus=-1e9, poisson_ratio=0.3), "youngs_modulus"),
    (lambda: ElasticSolid("x", youngs_modulus=1e9, poisson_ratio=0.5), "poisson_ratio"),
    (lambda: ElasticSolid("x", youngs_modulus=1e9, poisson_ratio=-1.0), "poisson_ratio"),
    (lambda: ElasticSolid("x", youngs_modulus=1e9), "poisson_ratio"),
    (lambda: ElasticSolid("x"), "youngs_modulus"),
    (lambda: ElasticSolid("x", youngs_modulus=1e9, poisson_ratio=0.3, stiffness=CU.stiffness),
     "not both"),
    (lambda: ElasticSolid("x", stiffness=((1.0,) * 6,) * 5), "6x6"),
    (lambda: ElasticSolid("x", stiffness=tuple(
        tuple(v + (1e9 if (i, j) == (0, 1) else 0) for j, v in enumerate(row))
        for i, row in enumerate(CU.stiffness))), "symmetric"),
    (lambda: ElasticSolid.cubic("x", 100e9, 120e9, 50e9), "positive definite"),
    (lambda: ElasticSolid.cubic("x", 100e9, 50e9, -1e9), "positive definite"),
    (lambda: ElasticSolid.from_moduli("x", 100e9, 0.0), "shear_modulus"),
    (lambda: ElasticSolid.from_moduli("x", 100e9, 20e9), "poisson_ratio"),  # nu = 1.5
    (lambda: ElasticSolid("x", youngs_modulus=1e9, poisson_ratio=0.3,
                          thermal_expansion=float("inf")), "thermal_expansion"),
    (lambda: NortonCreep(prefactor=0.0, stress_ref=1e6, exponent=5), "prefactor"),
    (lambda: NortonCreep(prefactor=1.0, stress_ref=-1e6, exponent=5), "stress_ref"),
    (lambda: NortonCreep(prefactor=1.0, stress_ref=1e6, exponent=0.5), "exponent"),
    (lambda: NortonCreep(1.0, 1e6, 5, activation_energy=-1e-20), "activation_energy"),
    (lambda: NortonCreep(1.0, 1e6, 5, t_ref=0.0), "t_ref"),
    (lambda: NortonCreep(1.0, 1e6, 5).rate(-1.0), "sigma_eq"),
    (lambda: NortonCreep(1.0, 1e6, 5).rate(1e6, 0.0), "temperature"),
    (lambda: Toughness(0.0), "k_ic"),
    (lambda: Toughness(float("nan")), "k_ic"),
    (lambda: ToughnessByDensity((0.9, 0.8), (1e6, 2e6)), "increase"),
    (lambda: ToughnessByDensity((0.8, 1.1), (1e6, 2e6)), r"\(0, 1\]"),
    (lambda: ToughnessByDensity((0.8, 0.9), (1e6,)), "same length"),
    (lambda: ToughnessByDensity((0.8, 0.9), (1e6, -2e6)), "k_ic"),
    (lambda: MechanicalMaterial("x", elastic=None), "ElasticSolid"),
    (lambda: MechanicalMaterial("x", elastic=CU, toughness=1e6), "toughness"),
    (lambda: MechanicalMaterial("x", elastic=CU, creep="fast"), "creep"),
]


def test_non_physical_values_raise_one_line_material_error():
    # one test over all cases: the suite's per-test teardown (PETSc garbage collection in
    # tests/conftest.py) costs more than the checks themselves
    for n, (make, word) in enumerate(BAD):
        with pytest.raises(MaterialError, match=word) as err:
            make()
        assert "\n" not in str(err.value), (n, word)


def test_objects_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        CU.thermal_expansion = 1e-5
    with pytest.raises(dataclasses.FrozenInstanceError):
        get_mechanics("li").creep.exponent = 3.0


def test_lfp_stiffness_is_orthorhombic_with_b_stiffest():
    """Maxisch & Ceder's LiFePO4 constants: orthorhombic (no normal-shear coupling), the b
    axis (Li channels) stiffest, and the Voigt-Reuss-Hill average E ~ 124 GPa, nu ~ 0.28."""
    el = get_mechanics("lfp").elastic
    c = el.voigt()
    assert not el.isotropic
    assert np.all(c[:3, 3:] == 0) and np.count_nonzero(c[3:, 3:] - np.diag(np.diag(c[3:, 3:]))) == 0
    assert c[1, 1] == max(c[0, 0], c[1, 1], c[2, 2]) == pytest.approx(198.0e9)
    E, nu = el.effective_moduli()
    assert E == pytest.approx(124e9, rel=0.01) and nu == pytest.approx(0.28, abs=0.005)
