"""problems/eis_llzo_polycrystal.toml on a coarser mesh (1 and 2 ranks): three arcs, each at
the characteristic frequency of its process (grains, boundaries, charge transfer); the
circuit fit returns the grains' L / sigma and eps / L and the electrodes' 2 R_ct and C_dl / 2
from the inputs; the Kramers-Kronig test passes; the files are written; bad [impedance]
input is named."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from conftest import PROBLEMS, assert_refused, one_rank, run_study_once, several_ranks

from femcell._dolfinx import MPI
from femcell.config import load_config
from femcell.studies import run_study
from femcell.units import F, R

EIS = PROBLEMS / "eis_llzo_polycrystal.toml"
SMALL = ["geometry.params.h=1.5 um", "impedance.frequencies.per_decade=6"]
EPS0 = 8.8541878128e-12
SIGMA, EPS = 0.046, 150 * EPS0
RCT = R * 298.15 / (F * 250.0)  # i0 = 25 mA/cm^2, alpha_a + alpha_c = 1
CDL = 1.0  # 100 uF/cm^2


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    return run_study_once(tmp_path_factory, EIS, SMALL)


def test_three_arcs_at_their_characteristic_frequencies(small):
    _, res = small
    imp = res.summary["impedance"]
    char = imp["characteristic_frequencies_Hz"]
    assert char["grains[electrolyte]"] == pytest.approx(SIGMA / (2 * math.pi * EPS), rel=1e-9)
    assert char["charge_transfer[anode|electrolyte]"] == pytest.approx(
        1 / (2 * math.pi * RCT * CDL), rel=1e-6)
    arcs = imp["arcs"]
    assert sorted(a["process"].split("[")[0] for a in arcs) == ["boundaries",
                                                                "charge_transfer", "grains"]
    for a in arcs:  # each apex within 0.1 decade of its process
        assert a["decades_from_characteristic"] < 0.1, a
    # DC: every arc closed at 1 Hz: the fitted resistances add up to Z'(1 Hz)
    rows = res.quantities
    assert rows[0]["frequency"] == pytest.approx(1.0)
    p = imp["circuit_fit"]["parameters"]
    total = sum(v for k, v in p.items() if k.startswith("R_"))
    assert res.value("z_re_low_frequency") == pytest.approx(total, rel=1e-3)


def test_the_circuit_fit_returns_the_inputs(small):
    """R(RC)(RC)(RC): the grains' arc is L / sigma || eps / L, the electrodes' 2 R_ct ||
    C_dl / 2 (the boundaries' arc has no closed form on Voronoi grains)."""
    _, res = small
    p = res.summary["impedance"]["circuit_fit"]["parameters"]
    pairs = sorted((p[f"R_{k}"] * p[f"C_{k - 1}"], p[f"R_{k}"], p[f"C_{k - 1}"])
                   for k in (2, 3, 4))
    (_, r_b, c_b), (_, r_gb, _), (_, r_e, c_e) = pairs  # by time constant
    assert r_b == pytest.approx(30e-6 / SIGMA, rel=0.01)
    assert c_b == pytest.approx(EPS / 30e-6, rel=0.01)
    assert r_e == pytest.approx(2 * RCT, rel=0.01)
    assert c_e == pytest.approx(CDL / 2, rel=0.02)  # the boundary arc overlaps a little
    assert 0 < r_gb < r_b


def test_kramers_kronig_and_files(small):
    folder, res = small
    kk = res.summary["impedance"]["kramers_kronig"]
    assert kk["max_residual_percent"] < 1e-3  # found 3.4e-5 % on this coarse mesh
    if MPI.COMM_WORLD.rank == 0:
        for f in ("impedance.csv", "nyquist.png", "bode.png", "fields_electrolyte.bp",
                  "fields_electrolyte.vtkhdf", "summary.json"):
            assert (folder / f).exists(), f
        s = json.loads((folder / "summary.json").read_text())
        assert s["status"] == "completed" and s["steps"]["frequencies"] == len(res.quantities)


@several_ranks
def test_same_spectrum_on_one_and_all_ranks():
    cfg = load_config(EIS, SMALL)
    par = run_study(cfg, progress=False, write=False, comm=MPI.COMM_WORLD)
    ser = run_study(cfg, progress=False, write=False, comm=MPI.COMM_SELF)
    for key in ("z_re", "z_im"):
        a, b = par.column(key), ser.column(key)
        assert np.allclose(a, b, rtol=1e-8, atol=1e-8 * np.abs(b).max()), key


@pytest.mark.parametrize(("setting", "needles"), [
    ('impedance.double_layer_capacitance={electrolyte="1 uF/cm^2"}',
     ["impedance.double_layer_capacitance.electrolyte", "not an electrode"]),
    ("impedance.permittivity={separator=10}", ["impedance.permittivity.separator"]),
    ("impedance.permittivity={electrolyte=0.5}", ["impedance.permittivity.electrolyte", ">= 1"]),
    ('impedance.frequencies={min="1 MHz", max="1 kHz"}', ["impedance.frequencies.max"]),
    ('charge.double_layer_capacitance={anode="1 uF/cm^2"}',  # the file gives it in [impedance]
     ["impedance.double_layer_capacitance.anode", "charge.double_layer_capacitance",
      "once"]),
])
def test_bad_impedance_input(shared_tmp, capsys, setting, needles):
    assert_refused(capsys, ["run", str(EIS), "-q", "-o", str(shared_tmp / "bad"), "--set",
                            setting], shared_tmp / "bad", needles)


@one_rank("the transient double layer on 2 ranks in test_protocol and "
          "test_impedance_diffusion")
def test_double_layer_of_the_charge_physics_gives_the_same_spectrum(small):
    """C_dl in [charge] (the transient model's double layer, read off by split_rates)
    instead of [impedance]: the same spectrum, the same characteristic frequencies, no
    warning that an interface lacks a double layer."""
    _, ref = small
    cfg = load_config(EIS, SMALL + ["impedance.double_layer_capacitance={}",
                                    'charge.double_layer_capacitance={anode="100 uF/cm^2", '
                                    'cathode="100 uF/cm^2"}'])
    res = run_study(cfg, progress=False, write=False)
    assert res.summary["warnings"] == ref.summary["warnings"]
    a, b = res.column("z_re") + 1j * res.column("z_im"), ref.column("z_re") + 1j * ref.column(
        "z_im")
    assert np.abs(a - b).max() < 1e-8 * np.abs(b).max()
    assert res.summary["impedance"]["characteristic_frequencies_Hz"] == pytest.approx(
        ref.summary["impedance"]["characteristic_frequencies_Hz"], rel=1e-9)


def test_brick_layer_reading_exact_on_box_grains_and_off_on_voronoi(small):
    """The brick-layer reading (R_b C_b) / (R_gb C_gb) of the fitted arcs returns the input
    sigma_gb / sigma_b on box grains (the brick layer itself) and misses it on Voronoi
    grains (the boundary arc relaxes at another frequency when the current bends)."""
    _, voronoi = small
    box = run_study(load_config(EIS, SMALL + ['geometry.params.grains.arrangement="cubic"']),
                    progress=False, write=False)
    assert box.value("sigma_gb_over_sigma_b_input") == pytest.approx(
        voronoi.value("sigma_gb_over_sigma_b_input"), rel=1e-12)
    assert abs(box.value("brick_layer_error")) < 2e-3
    assert abs(voronoi.value("brick_layer_error")) > 0.03


@one_rank("the contrast study on 2 ranks in test_run_lifecycle, resolved layers in "
          "test_impedance_resolved_boundaries")
@pytest.mark.parametrize(("conductivity", "bulk_error", "boundaries"), [
    ("4.6 uS/cm", (0.0, 0.06), True),     # sigma_gb / sigma_b = 1/100: the brick layer
    ("46 uS/cm", (-0.4, -0.1), False),    # 1/10: the boundary arc merged into the bulk's
    ("46 mS/cm", (2.0, 5.0), False),      # 100: easy paths short the grains
])
def test_brick_layer_reading_over_the_boundaries_conductivity(conductivity, bulk_error,
                                                              boundaries):
    """Resolved boundary layers (eis_brick_layer_contrast.toml): resistive ones are read
    right (bulk and boundary arcs, off by the parallel layers' share of the width, 3 %);
    at a tenth of the grains' conductivity the boundary arc hides in the bulk's and the
    bulk reading takes it in (25 % low); conductive ones leave one arc whose
    capacitance-identified bulk reading is several times the grains' conductivity. No
    boundary reading where their arc is hidden."""
    key = 'charge.group_conductors."electrolyte.matrix"'
    cfg = load_config(PROBLEMS / "eis_brick_layer_contrast.toml",
                      ["geometry.params.h=2 um", "impedance.frequencies.per_decade=6",
                       f'{key}.conductivity="{conductivity}"'])
    res = run_study(cfg, progress=False, write=False)
    lo, hi = bulk_error
    assert lo < res.value("sigma_b_error") < hi
    if boundaries:
        assert res.value("sigma_gb_over_sigma_b_input") == pytest.approx(0.01, rel=1e-9)
        assert 0.0 < res.value("brick_layer_error") < 0.06
    else:
        assert "brick_layer_error" not in res.headline
        assert res.summary["impedance"]["circuit_fit"]["auto"]  # the circuits tried


def test_distribution_of_relaxation_times(small):
    """pyimpspec's TR-NNLS: one peak per process, each within 0.1 decade of its
    characteristic frequency (as the arcs); the peaks' areas are the arcs' resistances
    (grains L / sigma and the electrodes' 2 R_ct within 10 %); gamma integrates to
    Z'(low) - Z'(high)."""
    folder, res = small
    drt = res.summary["impedance"]["drt"]
    peaks = drt["peaks"]
    assert sorted(p["process"].split("[")[0] for p in peaks) == ["boundaries",
                                                                 "charge_transfer", "grains"]
    for p in peaks:
        assert p["decades_from_characteristic"] < 0.1, p
    by = {p["process"].split("[")[0]: p for p in peaks}
    assert by["grains"]["resistance_ohm_m2"] == pytest.approx(30e-6 / SIGMA, rel=0.1)
    assert by["charge_transfer"]["resistance_ohm_m2"] == pytest.approx(2 * RCT, rel=0.1)
    span = res.value("z_re_low_frequency") - res.value("z_re_high_frequency")
    assert drt["integral_ohm_m2"] == pytest.approx(span, rel=0.01)
    assert res.value("drt_peaks") == 3
    if MPI.COMM_WORLD.rank == 0:
        for f in ("drt.csv", "drt.png"):
            assert (folder / f).exists(), f
