"""The phase-field kind: problems/pfhub_bm1.toml on a coarse mesh and a short time, through
the same path as `femcell run` (1 and 2 ranks); bad [cahn_hilliard] input by name."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import PROBLEMS, one_rank

from femcell._dolfinx import MPI
from femcell.config import load_config
from femcell.config.base import ConfigError
from femcell.studies import run_study

BM1 = PROBLEMS / "pfhub_bm1.toml"
SHORT = ["geometry.params.h=4 um", "time.end=20 s", "time.outputs=2", 'report_times=["5 s"]']
F_UNIT = 1e-12  # J/m per benchmark energy unit (1 J/m^3 x 1 um^2)


def test_pfhub_bm1_starts_at_its_benchmark_energy_and_conserves_mass(shared_tmp):
    cfg = load_config(BM1, SHORT)
    res = run_study(cfg, shared_tmp / "bm1", progress=False, source=str(BM1))
    assert res.value("free_energy_initial") / F_UNIT == pytest.approx(319.04, rel=1e-3)
    assert res.value("mean_drift") < 1e-12
    # spinodal decomposition lowers the free energy, and c separates
    assert res.value("free_energy_end") < res.value("free_energy[t=5s]") < res.value(
        "free_energy_initial")
    assert res.value("c_max") - res.value("c_min") > 0.1
    if MPI.COMM_WORLD.rank == 0:
        folder = shared_tmp / "bm1"
        summary = json.loads((folder / "summary.json").read_text())
        assert summary["status"] == "completed"
        for f in ("free_energy.png", "field.png", "fields.vtkhdf", "quantities.csv"):
            assert (folder / f).exists(), f


def test_convex_splitting_with_euler_never_raises_the_free_energy_and_is_rank_independent():
    cfg = load_config(BM1, SHORT + ["cahn_hilliard.scheme=convex_splitting",
                                    "time.scheme=euler", "output.plots=false"])
    par = run_study(cfg, progress=False, write=False, comm=MPI.COMM_WORLD)
    F = par.column("free_energy")
    assert par.value("free_energy_rise_max") <= 1e-12 * abs(F[0])
    assert np.all(np.diff(F) <= 1e-12 * abs(F[0]))
    ser = run_study(cfg, progress=False, write=False, comm=MPI.COMM_SELF)
    assert np.allclose(par.column("free_energy"), ser.column("free_energy"), rtol=1e-8, atol=0)


@pytest.mark.parametrize("override, culprit", [
    ('cahn_hilliard.energy={ kind = "double_well" }', "rho"),
    ('cahn_hilliard.energy={ kind = "regular_solution", interaction = "10 kJ/mol" }',
     "molar_volume"),
    ("cahn_hilliard.mobility=-1", "mobility"),
    ('report_times=["2000 s"]', "report_times"),
    ("cahn_hilliard.kappa=[[1e-12, 0], [0, 1e-12], [0, 0]]", "kappa"),
    ("cahn_hilliard.kappa=[[1e-12, 0], [0]]", "kappa"),
    ('cahn_hilliard.initial={ kind = "noise", value = 0.5, amplitude = 0.1 }', "amplitude"),
    ('cahn_hilliard.energy={ kind = "double_well", rho = 5, molar_volume = 1e-5 }',
     "molar_volume"),
])
def test_bad_phase_field_input_is_named(override, culprit):
    with pytest.raises(ConfigError, match=culprit):
        cfg = load_config(BM1, [override])
        run_study(cfg, progress=False, write=False)


def test_a_site_fraction_outside_zero_one_is_a_warning_not_a_silent_result():
    """The double well does not bound c: recorded states beyond [0, 1] give one warning (what
    the run puts in summary.json warnings) with the count and the worst state."""
    from femcell.physics.cahn_hilliard import CahnHilliard, DoubleWell

    ch = CahnHilliard(DoubleWell(5.0), 2e-12, 5e-12, 0.5)
    rows = [{"t": 0.0, "c_min": 0.3, "c_max": 0.7}, {"t": 1.0, "c_min": -0.01, "c_max": 0.7},
            {"t": 2.0, "c_min": 0.3, "c_max": 1.02}]
    (w,) = ch.admissibility_warnings(rows)
    assert "outside [0, 1] in 2 of 3" in w and "1.02" in w and "t = 2" in w
    assert ch.admissibility_warnings(rows[:1]) == []


LFP_AB = PROBLEMS / "lfp_coherent_ab.toml"


def _softest_modulation_energy() -> float:
    """B(a) [J m^-3]: the strain energy per unit c^2 of a modulation along a, from the
    library stiffness and misfit (eps* C eps* - (C eps*)_a^2 / C_aa), by hand."""
    from femcell.materials.mechanical import get_mechanics

    el = get_mechanics("lfp").elastic
    c = np.array(el.voigt())[:3, :3]
    eps = np.array(el.chemical_expansion) / 43.66e-6  # per unit site fraction
    sig = c @ eps
    return float(eps @ sig - sig[0] ** 2 / c[0, 0])


@one_rank("the coherency stress on 2 ranks in tests/verification/test_cahn_hilliard.py")
def test_coherency_picks_boundaries_normal_to_a_and_narrows_the_gap():
    """problems/lfp_coherent_ab.toml: held coherent, the square separates into stripes
    normal to a (the softest direction of the misfit in the a-b plane), between the coherent
    spinodal and binodal of f + B(a) (c - 1/2)^2 / 2; without the misfit a labyrinth
    separates to near the chemical binodal."""
    from scipy.optimize import brentq

    from femcell.units import R

    rt, om, vm = R * 298.15, 11177.0, 43.66e-6
    b = _softest_modulation_energy() * vm  # J/mol
    spinodal = 0.5 + np.sqrt(0.25 - rt / (2 * om - b))
    binodal = brentq(lambda c: rt * np.log(c / (1 - c)) + om * (1 - 2 * c) + b * (c - 0.5),
                     0.5 + 1e-6, 1 - 1e-9)
    assert 0.70 < spinodal < binodal < 0.85  # 0.704 and 0.829
    runs = {}
    for on in (True, False):
        cfg = load_config(LFP_AB, [f"mechanics.swelling={str(on).lower()}"])
        runs[on] = {k: v.value for k, v in run_study(cfg, progress=False,
                                                     write=False).headline.items()}
    coh, inc = runs[True], runs[False]
    assert coh["gradient_share[x]"] > 0.9  # found 0.98
    assert spinodal < coh["c_max"] < binodal + 0.03  # found 0.80
    assert coh["elastic_energy_end"] > 0
    assert inc["gradient_share[x]"] < 0.8  # found 0.53
    assert inc["c_max"] > 0.95  # found 0.99


def test_periodic_bm1_conserves_mass_and_is_rank_independent():
    """pfhub_bm1_periodic.toml (the doubly periodic variant), coarse and short: the mean
    stays, F falls, and 1 and 2 ranks (far-side nodes whose partners live on the other
    rank) give the same free energies."""
    path = PROBLEMS / "pfhub_bm1_periodic.toml"
    cfg = load_config(path, SHORT + ["output.plots=false"])
    par = run_study(cfg, progress=False, write=False, comm=MPI.COMM_WORLD)
    assert par.value("mean_drift") < 1e-12
    assert par.value("free_energy_end") < par.value("free_energy_initial")
    # the periodic copy of the benchmark's field changes F(0) only in the last elements
    assert par.value("free_energy_initial") / F_UNIT == pytest.approx(319.04, rel=5e-3)
    ser = run_study(cfg, progress=False, write=False, comm=MPI.COMM_SELF)
    assert np.allclose(par.column("free_energy"), ser.column("free_energy"), rtol=1e-8, atol=0)


def test_a_physics_without_a_periodic_form_on_a_periodic_plate_exits_2(capsys):
    from femcell import cli

    code = cli.main(["run", str(PROBLEMS / "sneddon.toml"), "-q", "--set",
                     'geometry.params.periodic=["x"]', "--set", "geometry.params.h_fine=2 um"])
    err = capsys.readouterr().err
    assert code == 2
    if MPI.COMM_WORLD.rank == 0:
        assert "periodic" in err and "cannot run on a periodic domain" in err, err
        assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
