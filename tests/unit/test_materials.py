"""Materials: Arrhenius laws, diffusivity tensors, D(c) laws and the library."""

from __future__ import annotations

import math

import numpy as np
import pytest

from femcell.materials import (
    Arrhenius,
    Constant,
    IntercalationMaterial,
    Interstitial,
    LatticeGas,
    MaterialError,
    Tabulated,
    Vacancy,
    diffusivity_tensor,
    get_material,
    list_materials,
    rotation_from_euler,
)
from femcell.materials.core import LAWS, RegularSolution
from femcell.units import EV, K_B, T_REF, F, R

THETA = np.linspace(0.0, 0.99, 199)


# ------------------------------------------------------------------------------ Arrhenius
def test_arrhenius_ratio_between_two_temperatures():
    ea = 0.3 * EV
    law = Arrhenius(1e-14, ea)
    t1, t2 = 280.0, 340.0
    expected = math.exp(-ea / K_B * (1.0 / t2 - 1.0 / t1))
    assert law(t2) / law(t1) == pytest.approx(expected, rel=1e-12)
    # independent number: 0.3 eV / k_B = 3481.36 K; exp(3481.36 K * (1/280 - 1/340) K^-1)
    assert expected == pytest.approx(8.9722, rel=1e-4)
    assert law(T_REF) == pytest.approx(1e-14, rel=1e-15)


def test_arrhenius_zero_activation_energy_is_constant():
    law = Arrhenius(4e-15)
    for t in (250.0, T_REF, 400.0):
        assert law(t) == 4e-15


def test_arrhenius_ev_and_units():
    law = Arrhenius.ev(2e-15, 0.27, t_ref=300.0, citation="x")
    assert law.activation_energy == pytest.approx(0.27 * 1.602176634e-19, rel=1e-15)
    assert law.activation_energy_ev == pytest.approx(0.27, rel=1e-15)
    assert law.activation_energy_molar == pytest.approx(0.27 * F, rel=1e-9)  # J/mol
    assert law.t_ref == 300.0
    assert law(300.0) == pytest.approx(2e-15, rel=1e-15)
    assert law.citation == "x"


def test_arrhenius_from_prefactor_consistent_with_ev():
    k0, ea_ev = 3e-9, 0.4
    a = Arrhenius.from_prefactor(k0, ea_ev)
    b = Arrhenius.ev(k0 * math.exp(-ea_ev * EV / (K_B * T_REF)), ea_ev)
    for t in (250.0, T_REF, 330.0, 400.0):
        direct = k0 * math.exp(-ea_ev * EV / (K_B * t))
        assert a(t) == pytest.approx(direct, rel=1e-12)
        assert b(t) == pytest.approx(direct, rel=1e-12)
    assert a.activation_energy_ev == pytest.approx(ea_ev, rel=1e-15)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"value_ref": -1e-14},
        {"value_ref": 0.0},
        {"value_ref": math.nan},
        {"value_ref": 1e-14, "activation_energy": -1e-20},
        {"value_ref": 1e-14, "t_ref": 0.0},
    ],
)
def test_arrhenius_rejects_unphysical_values(kwargs):
    with pytest.raises(MaterialError):
        Arrhenius(**kwargs)


def test_arrhenius_rejects_non_positive_temperature():
    with pytest.raises(MaterialError, match="temperature"):
        Arrhenius(1e-14, 0.1 * EV)(0.0)


# ------------------------------------------------------------------------------ tensors
def test_rotation_from_euler_bunge_columns_are_crystal_axes():
    phi = math.radians(30.0)
    q = rotation_from_euler([phi, 0.0, 0.0])
    np.testing.assert_allclose(q[:, 0], [math.cos(phi), math.sin(phi), 0.0], atol=1e-15)
    np.testing.assert_allclose(q[:, 1], [-math.sin(phi), math.cos(phi), 0.0], atol=1e-15)
    np.testing.assert_allclose(q[:, 2], [0.0, 0.0, 1.0], atol=1e-15)
    # a single angle is the in-plane (2D) rotation
    np.testing.assert_allclose(rotation_from_euler(phi), q, atol=1e-15)


def test_diffusivity_tensor_eigen_decomposition():
    rng = np.random.default_rng(7)
    angles = rng.uniform([0, 0, 0], [2 * np.pi, np.pi, 2 * np.pi])
    q = rotation_from_euler(angles)
    np.testing.assert_allclose(q.T @ q, np.eye(3), atol=1e-14)
    assert np.linalg.det(q) == pytest.approx(1.0, abs=1e-14)
    p = np.array([1e-18, 1e-15, 3e-17])
    d = diffusivity_tensor(p, q)
    assert d.shape == (3, 3)
    np.testing.assert_allclose(d, d.T, rtol=0, atol=1e-15 * 1e-15)
    for i in range(3):  # D q_i = p_i q_i: the crystal axes are the principal directions
        np.testing.assert_allclose(d @ q[:, i], p[i] * q[:, i], rtol=0, atol=1e-12 * p.max())
    np.testing.assert_allclose(np.sort(np.linalg.eigvalsh(d)), np.sort(p), rtol=1e-9)
    assert np.trace(d) == pytest.approx(p.sum(), rel=1e-12)


def test_diffusivity_tensor_defaults_and_isotropic():
    np.testing.assert_array_equal(diffusivity_tensor([1.0, 2.0, 3.0]), np.diag([1.0, 2.0, 3.0]))
    q = rotation_from_euler([0.3, 1.1, -0.4])
    np.testing.assert_allclose(diffusivity_tensor(5e-15, q), 5e-15 * np.eye(3), rtol=0, atol=1e-29)


def test_diffusivity_tensor_2d_restriction():
    phi = math.radians(40.0)
    q = rotation_from_euler(phi)
    p = np.array([4.0, 1.0, 9.0])
    d2 = diffusivity_tensor(p, q, dim=2)
    assert d2.shape == (2, 2)
    np.testing.assert_allclose(d2, diffusivity_tensor(p, q)[:2, :2], rtol=1e-15)
    # an in-plane rotation keeps c out of plane: the 2D tensor has principal values a and b
    np.testing.assert_allclose(np.linalg.eigvalsh(d2), [1.0, 4.0], rtol=1e-12)
    np.testing.assert_allclose(d2 @ q[:2, 0], 4.0 * q[:2, 0], atol=1e-12)
    c, s = math.cos(phi), math.sin(phi)
    np.testing.assert_allclose(
        d2, [[4 * c * c + s * s, 3 * c * s], [3 * c * s, 4 * s * s + c * c]], rtol=1e-12
    )
    np.testing.assert_allclose(diffusivity_tensor(p, q, dim=1), [[4 * c * c + s * s]], rtol=1e-12)


@pytest.mark.parametrize("p", [[-1e-14, 1e-14, 1e-14], [0.0], [1e-14, 1e-14], [np.inf]])
def test_diffusivity_tensor_rejects_bad_principal_values(p):
    with pytest.raises(MaterialError):
        diffusivity_tensor(p)


# ------------------------------------------------------------------------------ D(c) laws
def test_constant_law():
    np.testing.assert_array_equal(Constant().factor(THETA), np.ones_like(THETA))
    assert Constant().linear


def test_lattice_gas_factor_is_one():
    f = LatticeGas().factor(THETA)
    np.testing.assert_allclose(f, 1.0, rtol=0, atol=1e-12)
    lg = LatticeGas()
    np.testing.assert_allclose(lg.tracer(THETA, T_REF), 1.0 - THETA, rtol=1e-15)
    np.testing.assert_allclose(lg.gamma(THETA, T_REF), 1.0 / (1.0 - THETA), rtol=1e-15)
    # theta outside [0, 1] is clipped, not singular
    np.testing.assert_allclose(lg.factor(np.array([-0.5, 1.0, 1.5])), 1.0, atol=1e-9)


def test_vacancy_falls_monotonically_to_its_floor():
    law = Vacancy(exponent=2.0, floor=1e-3)
    f = law.factor(THETA)
    np.testing.assert_allclose(f, np.maximum((1.0 - THETA) ** 2, 1e-3), rtol=1e-14)
    assert f[0] == 1.0
    assert np.all(np.diff(f) <= 0)
    assert np.all(np.diff(f[THETA < 0.95]) < 0)  # strictly above the floor
    assert law.factor(np.array([1.0, 1.2]))[0] == 1e-3
    assert law.factor(np.array([-0.3]))[0] == 1.0  # clipped at theta = 0


def test_interstitial_rises():
    law = Interstitial(beta=1.5)
    f = law.factor(THETA)
    np.testing.assert_allclose(f, np.exp(1.5 * THETA), rtol=1e-15)
    assert np.all(np.diff(f) > 0)
    assert f[-1] == pytest.approx(math.exp(1.5 * 0.99), rel=1e-15)


def test_tabulated_interpolates_linearly_and_is_flat_outside():
    law = Tabulated(theta=(0.1, 0.5, 0.9), values=(2.0, 1.0, 0.5))
    th = np.array([-0.2, 0.0, 0.1, 0.3, 0.5, 0.7, 0.9, 1.0, 1.3])
    np.testing.assert_allclose(
        law.factor(th), [2.0, 2.0, 2.0, 1.5, 1.0, 0.75, 0.5, 0.5, 0.5], rtol=1e-15
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        {"theta": (0.0, 0.5, 0.4), "values": (1.0, 1.0, 1.0)},
        {"theta": (0.0, 1.0), "values": (1.0, -1.0)},
        {"theta": (0.0, 1.0), "values": (1.0,)},
        {"theta": (0.0,), "values": (1.0,)},
    ],
)
def test_tabulated_rejects_bad_tables(kwargs):
    with pytest.raises(MaterialError, match="tabulated"):
        Tabulated(**kwargs)


def test_vacancy_and_interstitial_reject_bad_parameters():
    with pytest.raises(MaterialError):
        Vacancy(exponent=0.0)
    with pytest.raises(MaterialError):
        Vacancy(floor=0.0)
    with pytest.raises(MaterialError):
        Interstitial(beta=-1.0)


def test_regular_solution_factor_and_spinodal():
    rt = R * T_REF
    law = RegularSolution(omega=1.5 * rt)  # below 2RT: Fick is fine
    law.check(T_REF)
    # (1 - theta) Gamma = 1 - 2 omega theta (1 - theta) / RT
    np.testing.assert_allclose(law.factor(THETA, T_REF), 1 - 3.0 * THETA * (1 - THETA), rtol=1e-12)
    # omega just above 2RT at 25 degC but below 2RT at 60 degC: the check depends on T
    law = RegularSolution(omega=2.05 * rt)
    with pytest.raises(MaterialError, match="Cahn-Hilliard") as info:
        law.check(T_REF)
    assert "regular_solution" in str(info.value)
    law.check(333.15)
    # a material is checked at T_REF when made
    with pytest.raises(MaterialError, match="Cahn-Hilliard"):
        IntercalationMaterial("x", 1e4, (Arrhenius(1e-14),), law=RegularSolution(omega=3 * rt))


def test_laws_registry():
    assert set(LAWS) >= {
        "constant",
        "lattice_gas",
        "regular_solution",
        "vacancy",
        "interstitial",
        "tabulated",
    }
    for name, cls in LAWS.items():
        assert cls.name == name


# ------------------------------------------------------------------------------ material
def test_negative_diffusivity_raises():
    with pytest.raises(MaterialError, match="positive"):
        IntercalationMaterial("x", 1e4, (Arrhenius(-1e-14),))
    with pytest.raises(MaterialError, match="c_max"):
        IntercalationMaterial("x", -1.0, (Arrhenius(1e-14),))
    with pytest.raises(MaterialError, match="1 or 3"):
        IntercalationMaterial("x", 1e4, (Arrhenius(1e-14), Arrhenius(1e-14)))
    with pytest.raises(MaterialError, match="c_max"):
        get_material("nmc811", c_max=0.0)


def test_lfp_is_anisotropic_with_b_fastest():
    lfp = get_material("lfp")
    p = lfp.principal(T_REF)
    assert p.shape == (3,)
    assert np.argmax(p) == 1
    assert p[1] > 100 * max(p[0], p[2])
    assert not lfp.isotropic
    assert lfp.reference_diffusivity() == p[1]
    ea = lfp.diffusivity[1].activation_energy
    assert lfp.principal(333.15)[1] / p[1] == pytest.approx(
        math.exp(-ea / K_B * (1 / 333.15 - 1 / T_REF)), rel=1e-12
    )


def test_isotropic_material_has_three_equal_principal_values():
    nmc = get_material("nmc811")
    assert nmc.isotropic
    np.testing.assert_array_equal(nmc.principal(T_REF), [4e-15] * 3)
    assert nmc.c_max == 63104.0


def test_library_materials_have_citations():
    names = list_materials()
    assert names == sorted(names)
    assert {"nmc811", "graphite", "lfp"} <= set(names)
    for name in names:
        mat = get_material(name)
        assert mat.name == name
        assert mat.all_citations(), name
        if hasattr(mat, "diffusivity"):  # intercalation materials
            assert all(d.citation for d in mat.diffusivity), name
            assert mat.c_max > 0
        else:  # conductors
            assert mat.conductivity.citation, name
            assert mat.conductivity(298.15) > 0


def test_get_material_overrides():
    mat = get_material("graphite", c_max=30000.0)
    assert mat.c_max == 30000.0
    assert get_material("graphite").c_max == 33133.0  # the library entry is unchanged


def test_unknown_material_lists_known_names():
    with pytest.raises(MaterialError) as info:
        get_material("unobtainium")
    msg = str(info.value)
    assert "'unobtainium'" in msg
    for name in list_materials():
        assert name in msg


# ------------------------------------------------------------------------------ UFL path
def test_ufl_path_matches_numpy_path():
    """Tabulated, Vacancy and Interstitial as UFL: integrate factor(theta) over a unit
    interval with theta a Constant, so the integral is the factor itself."""
    from femcell._dolfinx import MPI, dolfinx, ufl

    mesh = dolfinx.mesh.create_unit_interval(MPI.COMM_WORLD, 2)
    theta = dolfinx.fem.Constant(mesh, 0.0)
    tab = Tabulated(theta=(0.1, 0.5, 0.9), values=(2.0, 1.0, 0.5))
    vac = Vacancy(exponent=2.0, floor=0.05)
    ins = Interstitial(beta=1.5)
    laws = (tab, vac, ins)
    forms = [dolfinx.fem.form(law.factor(theta) * ufl.dx) for law in laws]
    th = np.array([-0.2, 0.05, 0.1, 0.3, 0.5, 0.62, 0.9, 0.95, 1.2])
    got = np.zeros((len(laws), th.size))
    for j, t in enumerate(th):
        theta.value = t
        for i, f in enumerate(forms):
            got[i, j] = mesh.comm.allreduce(dolfinx.fem.assemble_scalar(f), op=MPI.SUM)
    for i, law in enumerate(laws):
        np.testing.assert_allclose(got[i], law.factor(th), rtol=1e-12, err_msg=law.name)
