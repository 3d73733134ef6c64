"""Four-probe and van der Pauw (femcell.physics.conduction, kind "four_probe") against the
textbook formulas, 1 and 2 ranks.

- van der Pauw, symmetric square: R_A = R_B and R_s = (pi / ln 2) R, the conductivity back
  to 0.1 % (the corner contacts are 1/20 of the side); reciprocity R_AB,CD = R_CD,AB to
  round-off; the same in 3D on a thin plate (R_s = 1 / (sigma t)).
- anisotropic square, sigma = diag(4, 1) sigma_0: R_A / R_B ~ 120, and van der Pauw reports
  sqrt(det sigma) (within 1 %): the isotropic sheet an anisotropic one acts like.
- collinear pads on a bar: a thin bar (W / s = 0.04) is the 1D formula s / (W R) to
  round-off; a wide one approaches the half-plane formula ln(s13 s24 / (s12 s34)) / (pi R).
- polycrystals (grain boundaries with conductance g_gb and capacitance c_gb per area): a
  thin bar of cubic grains reads the series 1 / (1/(sigma + i w eps) + 1/(d (g + i w c)))
  exactly at DC and AC; a square of cubic grains is an isotropic sheet of the brick-layer
  conductivity; weak boundaries of random Voronoi grains read it too (to first order).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import several_ranks

from femcell._dolfinx import MPI
from femcell.config import ConfigError, load_config
from femcell.studies import run_study

SIGMA = 0.046
EPS0 = 8.8541878128e-12


def _run(geometry: dict, conduction: dict | None = None, comm=MPI.COMM_WORLD,
         frequencies: dict | None = None):
    data = {"study": {"name": "fp", "kind": "four_probe"},
            "geometry": {"builder": "four_probe", "params": geometry},
            "conduction": conduction or {"conductivity": SIGMA}, "output": {"fields": False}}
    if frequencies is not None:
        data["four_probe"] = {"frequencies": frequencies}
    return run_study(load_config(data=data), progress=False, write=False, comm=comm)


VDP = {"kind": "van_der_pauw", "dim": 2, "side": 5e-3, "contact_size": 2.5e-4, "h": 2.5e-4}


def test_van_der_pauw_square():
    res = _run(VDP)
    ra, rb = res.value("resistance_A"), res.value("resistance_B")
    assert ra == pytest.approx(rb, rel=1e-3)
    assert res.value("vdp_over_input") == pytest.approx(1.0, abs=1e-3)
    assert res.value("sheet_resistance") == pytest.approx(math.pi / math.log(2) * ra, rel=1e-3)
    assert res.value("reciprocity_error") < 1e-10


def test_van_der_pauw_reports_the_geometric_mean_of_an_anisotropic_sheet():
    res = _run(VDP, {"conductivity": [[4 * SIGMA, 0.0], [0.0, SIGMA]]})
    assert res.value("anisotropy_ratio") > 50
    assert res.value("conductivity_input") == pytest.approx(2 * SIGMA)
    assert res.value("vdp_over_input") == pytest.approx(1.0, abs=0.01)


def test_van_der_pauw_thin_plate_3d():
    res = _run({"kind": "van_der_pauw", "dim": 3, "side": 5e-3, "thickness": 2.5e-4,
                "contact_size": 2.5e-4, "h": 5e-4})
    assert res.value("vdp_over_input") == pytest.approx(1.0, abs=0.01)


def test_collinear_thin_bar_is_one_dimensional():
    pos = [1.25e-3, 3.75e-3, 6.25e-3, 8.75e-3]
    res = _run({"kind": "bar", "dim": 2, "length": 10e-3, "width": 1e-4, "h": 2.5e-5,
                "contact_positions": pos, "contact_width": 2.5e-4})
    assert res.value("thin_bar_over_input") == pytest.approx(1.0, abs=1e-8)
    assert res.value("reciprocity_error") < 1e-10


def test_collinear_wide_bar_approaches_the_half_plane():
    """A bar 40 spacings long and 10 deep: the half-plane formula within 2 %, the thin-bar
    formula far off (it is not a thin bar); reciprocity V_23 / I_14 = V_14 / I_23."""
    s = 2.5e-3
    pos = [50e-3 - 1.5 * s, 50e-3 - 0.5 * s, 50e-3 + 0.5 * s, 50e-3 + 1.5 * s]
    res = _run({"kind": "bar", "dim": 2, "length": 100e-3, "width": 25e-3, "h": 2.5e-3,
                "contact_positions": pos, "contact_width": 2.5e-4, "h_contact": 1.25e-4})
    assert res.value("half_space_over_input") == pytest.approx(1.0, abs=0.02)
    assert res.value("thin_bar_over_input") < 0.5
    assert res.value("reciprocity_error") < 1e-9


def test_collinear_thin_bar_3d():
    """A 3D bar 0.5 mm wide and 0.1 mm thick with full-width pads: s / (W t R) within 1 %
    (the pads' own width spreads the current a little)."""
    pos = [1.25e-3, 3.75e-3, 6.25e-3, 8.75e-3]
    res = _run({"kind": "bar", "dim": 3, "length": 10e-3, "width": 5e-4, "thickness": 1e-4,
                "h": 1e-4, "contact_positions": pos, "contact_width": 2.5e-4})
    assert res.value("thin_bar_over_input") == pytest.approx(1.0, abs=0.01)


@several_ranks
def test_same_resistances_on_one_and_all_ranks():
    par, ser = _run(VDP), _run(VDP, comm=MPI.COMM_SELF)
    for k in ("resistance_A", "resistance_B"):
        assert par.value(k) == pytest.approx(ser.value(k), rel=1e-9)


@pytest.mark.parametrize(("geometry", "conduction", "needle"), [
    (VDP, {"material": "llzo", "conductivity": 1.0}, "one of them"),
    (VDP, {"conductivity": [[1.0, 2.0], [2.0, 1.0]]}, "positive definite"),
    (VDP, {"conductivity": 1.0, "region": "bulk"}, "conduction.region"),
    (VDP, {"material": "li_gb"}, "conduction.material"),
])
def test_bad_input_is_named(geometry, conduction, needle):
    with pytest.raises(ConfigError, match=needle):
        _run(geometry, conduction)


def test_a_method_that_does_not_fit_the_geometry_is_refused():
    data = {"study": {"name": "fp", "kind": "four_probe"},
            "geometry": {"builder": "four_probe", "params": VDP},
            "conduction": {"conductivity": SIGMA}, "four_probe": {"method": "collinear"},
            "output": {"fields": False}}
    with pytest.raises(ConfigError, match="does not fit the geometry"):
        run_study(load_config(data=data), progress=False, write=False)



AC = {"min": 1e3, "max": 1e10, "per_decade": 3}


def _ac(res, name="vdp"):
    ac = res.summary["four_probe"]["ac"]
    f = np.asarray(ac["frequency_Hz"])
    s = ac["sigma_star_S_m"][name]
    return f, np.asarray(s["re"]) + 1j * np.asarray(s["im"])


def test_ac_van_der_pauw_reads_the_admittivity():
    """AC, isotropic sheet: the transfer impedances are the DC ones over 1 + i omega eps /
    sigma (one operator, scaled: to 1e-8); van der Pauw read with them returns
    sigma + i omega eps0 eps_r, the permittivity to the DC reading's accuracy."""
    res = _run({**VDP, "h": 5e-4}, {"conductivity": SIGMA, "permittivity": 150.0},
               frequencies=AC)
    f, s_star = _ac(res)
    w = 2 * np.pi * f
    eps = 150.0 * EPS0
    ratio = res.value("vdp_over_input")
    assert np.abs(s_star / (SIGMA + 1j * w * eps) - ratio).max() < 1e-8
    assert res.value("permittivity_ac_over_input[vdp]") == pytest.approx(ratio, rel=1e-8)
    assert res.value("ac_apex_frequency") == pytest.approx(SIGMA / (2 * np.pi * eps),
                                                           rel=0.5)  # the sampled point


@pytest.mark.parametrize("anisotropy", [4.0, 16.0])
def test_ac_van_der_pauw_of_an_anisotropic_sheet(anisotropy):
    """sigma = diag(4, 1) sigma_0 with an isotropic permittivity: van der Pauw reads
    sqrt((sigma_x + i omega eps)(sigma_y + i omega eps)) (the DC geometric mean continued
    to complex admittivities), so its permittivity at low frequency is eps times the
    arithmetic over the geometric mean of sigma_x, sigma_y (1.25 at 4:1), eps itself only
    where omega eps >> sigma. Van der Pauw's complex equation has several roots: the
    reading follows the DC one up in frequency (at 16:1 a start from the isotropic guess
    lands on another root near the relaxation, off by up to 270 %)."""
    sx, sy = anisotropy * SIGMA, SIGMA
    res = _run({**VDP, "h": 5e-4}, {"conductivity": [[sx, 0.0], [0.0, sy]],
                                    "permittivity": 150.0}, frequencies=AC)
    f, s_star = _ac(res)
    w = 2 * np.pi * f
    eps = 150.0 * EPS0
    exact = np.sqrt((sx + 1j * w * eps) * (sy + 1j * w * eps))
    dc = res.value("vdp_over_input")  # the mesh's DC error (0.4 % at 4:1, 7 % at 16:1,
    # where R_B is 3.5e5 times below R_A), carried to AC: no jump to another root
    assert np.abs(s_star / exact - 1).max() < abs(dc - 1) + 0.005
    assert s_star[-1].imag / (w[-1] * EPS0) == pytest.approx(150.0, rel=0.01)
    if anisotropy == 4.0:  # (at 16:1 the phase of the tiny R_B needs a finer mesh)
        eps_low = s_star[0].imag / (w[0] * EPS0)
        mean_ratio = (1 + anisotropy) / (2 * np.sqrt(anisotropy))  # arithmetic / geometric
        assert eps_low == pytest.approx(150.0 * mean_ratio, rel=0.01)
    assert s_star[-1].imag / (w[-1] * EPS0) == pytest.approx(150.0, rel=0.01)


def test_ac_needs_a_permittivity():
    with pytest.raises(ConfigError, match="conduction.permittivity"):
        _run(VDP, {"conductivity": SIGMA}, frequencies=AC)


def test_ac_collinear_thin_bar_in_3d():
    """AC on the collinear 3D bar (the second method, a plate's thickness): the thin-bar
    formula read with the complex V_23 / I_14 returns sigma + i omega eps0 eps_r as its DC
    reading returns sigma; the half-space one its own DC ratio at every frequency."""
    pos = [1.25e-3, 3.75e-3, 6.25e-3, 8.75e-3]
    res = _run({"kind": "bar", "dim": 3, "length": 10e-3, "width": 5e-4, "thickness": 1e-4,
                "h": 2e-4, "contact_positions": pos, "contact_width": 2.5e-4},
               {"conductivity": SIGMA, "permittivity": 60.0}, frequencies=AC)
    for name in ("thin_bar", "half_space"):
        f, s_star = _ac(res, name)
        ratio = res.value(f"{name}_over_input")
        exact = SIGMA + 2j * np.pi * f * 60.0 * EPS0
        assert np.abs(s_star / exact - ratio).max() < 1e-8 * ratio, name
        assert res.value(f"permittivity_ac_over_input[{name}]") == pytest.approx(ratio,
                                                                                rel=1e-8)


def test_van_der_pauw_newton_stops_at_the_round_off_floor():
    """R_B / R_A ~ 4e5 (the 16:1 sheet on 2 ranks): the root's Newton steps stall at ~4e-13
    of 1 / R_s once ea + eb - 1 is one ulp; before, that could end in "did not converge"
    depending on round-off. The root is the one from a good start, and it solves the
    equation to round-off."""
    import cmath

    from femcell.studies.four_probe import complex_sheet_resistance

    ra = 4.3160586806230696e-05 + 3.4552048071404035e-06j
    rb = 16.91024867185024 - 0.16332391314022077j
    far = complex_sheet_resistance(ra, rb, 10.0)
    near = complex_sheet_resistance(ra, rb, 4.0)
    assert abs(far - near) <= 1e-11 * abs(near)
    assert abs(cmath.exp(-cmath.pi * ra / far) + cmath.exp(-cmath.pi * rb / far) - 1) < 1e-15


# ------------------------------------------------------------------------- polycrystals
D_GRAIN = 1e-3  # m
G_GB = 0.5 * SIGMA / D_GRAIN  # S m^-2: the boundaries resist twice as much as the grains
C_GB = 1e-6  # F m^-2
GRAIN_BAR = {"kind": "bar", "dim": 2, "length": 20e-3, "width": 1e-3, "h": 2.5e-4,
             "grain_size": D_GRAIN, "grain_arrangement": "cubic"}


def test_thin_bar_of_cubic_grains_is_the_series_of_grains_and_boundaries():
    """Pads 2 and 3 sit mid-grain 5 grains apart, 5 bar widths from the current pads (the
    current is uniform there to exp(-5 pi)): R = (s23 / W) (1/sigma + 1/(g d)) and the AC
    reading sigma* = 1 / (1/(sigma + i w eps) + 1/(d (g + i w c_gb))), to 1e-6. Without the
    boundary terms R would be a third of this; with c_gb missing the AC fails by 100 %."""
    res = _run(GRAIN_BAR, {"conductivity": SIGMA, "permittivity": 60.0,
                           "grain_boundaries": {"conductance": G_GB, "capacitance": C_GB}},
               frequencies={"min": 1.0, "max": 1e9, "per_decade": 2})
    s23, width = 5e-3, 1e-3
    assert res.value("resistance") == pytest.approx(
        s23 / width * (1 / SIGMA + 1 / (G_GB * D_GRAIN)), rel=1e-6)
    assert res.value("thin_bar_over_brick_layer") == pytest.approx(1.0, abs=1e-6)
    f, s_star = _ac(res, "thin_bar")
    w = 2 * np.pi * f
    exact = 1 / (1 / (SIGMA + 1j * w * 60.0 * EPS0) + 1 / (D_GRAIN * (G_GB + 1j * w * C_GB)))
    assert np.abs(s_star / exact - 1).max() < 1e-6
    assert res.value("permittivity_gb_brick_layer") == pytest.approx(C_GB * D_GRAIN / EPS0)


def test_ac_potential_fields_are_per_ampere(shared_tmp):
    """The written AC potential of the thin bar of cubic grains: frame f = 0 is the DC
    potential per ampere (imaginary part 0); at each apex of -Z'' the potential difference
    between the voltage pads (mid-grain, where the current is uniform) is Z(f) itself."""
    import pyvista as pv

    data = {"study": {"name": "fp", "kind": "four_probe"},
            "geometry": {"builder": "four_probe", "params": GRAIN_BAR},
            "conduction": {"conductivity": SIGMA, "permittivity": 60.0,
                           "grain_boundaries": {"conductance": G_GB, "capacitance": C_GB}},
            "four_probe": {"frequencies": {"min": 1e3, "max": 1e9, "per_decade": 2}},
            "output": {"plots": False}}
    res = run_study(load_config(data=data), shared_tmp / "fp", progress=False)
    if MPI.COMM_WORLD.rank != 0:
        return
    import csv

    with open(shared_tmp / "fp" / "four_probe_ac.csv") as fh:
        rows = list(csv.DictReader(fh))
    f = np.array([float(row["frequency"]) for row in rows])
    zc = np.array([float(row["z_re[collinear]"]) + 1j * float(row["z_im[collinear]"])
                   for row in rows])
    r = pv.get_reader(str(shared_tmp / "fp" / "fields_sample.vtkhdf")).reader
    r.UpdateInformation()
    frames = []
    for k in range(r.GetNumberOfSteps()):
        r.SetStep(k)
        r.Update()
        frames.append((r.GetTimeValue(), pv.wrap(r.GetOutputDataObject(0))))
    assert frames[0][0] == 0.0 and len(frames) >= 2
    pads = [np.array([7.5e-3, 1e-3, 0.0]), np.array([12.5e-3, 1e-3, 0.0])]
    for t, grid in frames:
        i, j = (grid.find_closest_point(p) for p in pads)
        phi = grid.point_data["phi_ac_re"] + 1j * grid.point_data["phi_ac_im"]
        if t == 0.0:
            assert np.allclose(grid.point_data["phi_ac_re"], grid.point_data["phi"])
            assert np.abs(grid.point_data["phi_ac_im"]).max() == 0.0
            assert phi[i] - phi[j] == pytest.approx(res.value("resistance"), rel=1e-6)
        else:
            k = int(np.argmin(np.abs(f - t)))
            assert f[k] == pytest.approx(t)
            assert phi[i] - phi[j] == pytest.approx(zc[k], rel=1e-6)


@pytest.mark.parametrize(("arrangement", "side", "grain", "delta", "tol"),
                         [("cubic", 2e-4, 1.1e-5, 1e-7, 0.002),
                          ("random", 1e-4, 1e-5, 1e-8, 0.005)])
def test_van_der_pauw_of_a_polycrystal_reads_the_brick_layer(arrangement, side, grain, delta,
                                                             tol):
    """A square of grains, boundaries of llzo_gb. Cubic grains in 200 um (11 um asked, so 18
    of 200 / 18 um: the estimate takes the pitch, 1 % off with the 11 um asked), boundaries
    100 nm thick (g d = 1.3 sigma): a sheet of 1 / (1/sigma + 1/(g d)) up to the finite
    number of grains (0.3 % off with 9 grains across, less with 18). Random grains in
    100 um, boundaries 10 nm thick (g d = 13 sigma): the same to first order in
    sigma / (g d) (found 4e-4 off; seeds 2 and 3: 1.6e-3, 2.3e-3), 7 % below the grains."""
    geo = {"kind": "van_der_pauw", "dim": 2, "side": side, "contact_size": side / 20,
           "h": 2.5e-6, "grain_size": grain, "grain_arrangement": arrangement,
           "grain_seed": 1}
    res = _run(geo, {"material": "llzo",
                     "grain_boundaries": {"material": "llzo_gb", "thickness": delta}})
    g = 5.97e-4 / delta
    d = 2e-4 / 18 if arrangement == "cubic" else 1e-5
    assert res.value("grain_boundary_conductance") == pytest.approx(g, rel=1e-9)
    assert res.value("conductivity_vdp") == pytest.approx(1 / (1 / SIGMA + 1 / (g * d)),
                                                          rel=tol)
    assert res.value("vdp_over_brick_layer") == pytest.approx(1.0, abs=tol)
    assert res.value("vdp_over_input") < 0.94


@several_ranks
def test_polycrystal_on_one_and_all_ranks():
    gb = {"conductivity": SIGMA, "permittivity": 60.0,
          "grain_boundaries": {"conductance": G_GB, "capacitance": C_GB}}
    geo = {"kind": "van_der_pauw", "dim": 2, "side": 5e-3, "contact_size": 2.5e-4,
           "h": 5e-4, "grain_size": D_GRAIN}
    fr = {"min": 1e2, "max": 1e8, "per_decade": 1}
    par, ser = _run(geo, gb, frequencies=fr), _run(geo, gb, comm=MPI.COMM_SELF,
                                                      frequencies=fr)
    for k in ("resistance_A", "resistance_B"):
        assert par.value(k) == pytest.approx(ser.value(k), rel=1e-9)
    assert np.abs(_ac(par)[1] / _ac(ser)[1] - 1).max() < 1e-8


@pytest.mark.parametrize(("geometry", "conduction", "needle"), [
    (VDP, {"conductivity": SIGMA, "grain_boundaries": {"conductance": G_GB}},
     "conduction.grain_boundaries.facets"),
    ({**VDP, "grain_size": 1e-3}, {"conductivity": [[SIGMA, 0.0], [0.0, SIGMA]],
                                   "grain_boundaries": {"conductance": G_GB}}, "scalar"),
    ({**VDP, "grain_size": 1e-3}, {"conductivity": SIGMA,
                                   "grain_boundaries": {"conductance": G_GB,
                                                        "region": "bulk"}}, "region"),
    ({**VDP, "grain_size": 1e-3}, {"material": "llzo",
                                   "grain_boundaries": {"material": "li", "thickness": 1e-8}},
     "carries"),
    ({**VDP, "grain_size": 1e-4}, {"conductivity": SIGMA}, "exceed the grain size"),
    ({**VDP, "grain_size": -1e-3}, {"conductivity": SIGMA}, "grain_size"),
    ({**VDP, "grain_size": 1e-3, "grain_arrangement": "hex"}, {"conductivity": SIGMA},
     "grain_arrangement"),
    ({**VDP, "grain_arrangement": "cubic"}, {"conductivity": SIGMA}, "needs grain_size"),
    ({**VDP, "grain_size": 5e-3}, {"conductivity": SIGMA}, "one grain"),
])
def test_bad_polycrystal_input_is_named(geometry, conduction, needle):
    from femcell.geometry import GeometryError

    with pytest.raises((ConfigError, GeometryError), match=needle):
        _run(geometry, conduction)


def test_ac_of_a_polycrystal_needs_the_boundaries_capacitance():
    with pytest.raises(ConfigError, match="grain_boundaries.capacitance"):
        _run({**VDP, "grain_size": 1e-3},
             {"conductivity": SIGMA, "permittivity": 60.0,
              "grain_boundaries": {"conductance": G_GB}}, frequencies=AC)


def test_broken_operator_stays_positive_on_slivers():
    """Random Voronoi grains have edges of nanometres, meshed into slivers (here a cell 250x
    thinner than its diameter). The interior penalty scaled by the cell diameter left the
    operator indefinite there (eigenvalues down to -0.5 of the largest); scaled by each
    cell's boundary over its volume it is positive semidefinite, the constant its only null
    vector (no gauge here)."""
    from femcell._dolfinx import dolfinx, ufl
    from femcell.domain import Domain
    from femcell.physics.conduction import OhmicConduction
    from femcell.physics.grain_boundary import ResistiveBoundaries, inverse_cell_size

    if MPI.COMM_WORLD.size > 1:
        pytest.skip("a dense eigenvalue check of one rank's operator")
    d = Domain.from_builder("four_probe", kind="van_der_pauw", dim=2, side=40e-6,
                            contact_size=4e-6, h=5e-6, grain_size=10e-6, grain_seed=1)
    h = dolfinx.cpp.mesh.h(d.mesh._cpp_object, 2, np.arange(len(d.cells()), dtype=np.int32))
    assert (inverse_cell_size(d).x.array[:len(h)] * h).max() > 100  # a sliver is there
    ph = OhmicConduction(SIGMA, [f"contact_{k}" for k in range(1, 5)],
                         grain_boundaries=ResistiveBoundaries("sample", conductance=G_GB))
    ph.setup(d, None)
    u = ph.field.u
    J = ufl.derivative(ph.residuals()[0], u, ufl.TrialFunction(u.function_space))
    A = dolfinx.fem.assemble_matrix(dolfinx.fem.form(J, entity_maps=ph.entity_maps)).to_dense()
    ev = np.linalg.eigvalsh(0.5 * (A + A.T))
    assert ev[0] > -1e-12 * ev[-1]
    assert ev[1] > 1e-9 * ev[-1]
