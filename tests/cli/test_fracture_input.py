"""Mistakes in [mechanics] / [fracture] / [loading] of a quasi-static study give one line
naming the key and exit 2, on every rank, before anything is solved."""

from __future__ import annotations

import pytest
from conftest import PROBLEMS

from femcell import cli
from femcell._dolfinx import MPI

COMM = MPI.COMM_WORLD
SMALL = ["geometry.params.h_fine=2 um", "geometry.params.width=100 um",
         "geometry.params.height=100 um", "fracture.length=6 um", "loading.steps=1"]
SMALL_SURFING = ["geometry.params.h_fine=5 um", "geometry.params.h=20 um",
                 "fracture.length=10 um", "loading.steps=1"]


@pytest.mark.parametrize("study, sets, needles", [
    ("sneddon", ["mechanics.creep=true"], ["mechanics.creep", "quasistatic"]),
    ("crack_volume_control", ["fracture.split=voldev"], ["fracture.split", "volume control"]),
    ("crack_volume_control", ["fracture.volume=1e-12 m^3"], ["fracture.volume", "area"]),
    ("sneddon", ['fracture.initial_cracks=[[["900 um", 0], ["950 um", 0]]]'],
     ["initial crack", "no mesh node"]),
    ("sneddon", ['fracture.initial_cracks=[[["1 um", 0, 0], ["2 um", 0, 0]]]'],
     ["fracture.initial_cracks.0.0", "2 coordinates"]),
    ("sneddon", ["fracture.toughness=5 J/m^2", "fracture.k_ic=1 MPa m^0.5"], ["fracture.k_ic"]),
    ("sneddon", ["fracture.model=AT3"], ["fracture.model"]),
    ("sneddon", ["mechanics.material=graphite"], ["mechanics.material", "mechanical data"]),
    ("sneddon", ['mechanics.bc=[{region="bottom", displacement={x=0}, pressure="1 MPa"}]'],
     ["mechanics.bc.0", "exactly one"]),
    ("sneddon", ['mechanics.bc=[{region="nowhere", symmetry=true}]'],
     ["mechanics.bc.0.region", "nowhere"]),
    ("sneddon", ["mechanics.poisson_ratio=0.6", "mechanics.youngs_modulus=1 GPa"],
     ["mechanics.poisson_ratio"]),
    ("sent", ["loading.scheme=newton"], ["loading.scheme"]),
    ("surfing", ["fracture.j_integral.direction=[1, 0, 0]"],
     ["fracture.j_integral.direction", "2 components"]),
    ("surfing", ["fracture.j_integral.layer=60 um"], ["fracture.j_integral.layer", "half"]),
    ("surfing", ['fracture.pressure=1 MPa'], ["fracture.j_integral", "pressure"]),
    ("surfing", ['mechanics.bc.0.k_field.k=1 MPa m^0.5',
                 'mechanics.bc.0.k_field.energy_release_rate=5 J/m^2'],
     ["mechanics.bc.0.k_field.k", "not both"]),
    ("surfing", ['mechanics.bc.0.k_field.tip=["1 um"]'], ["mechanics.bc.0.k_field.tip"]),
    ("surfing", ["mechanics.mode=plane_stress", "fracture.split=voldev"],
     ["plane stress"]),
    ("surfing", ["mechanics.mode=3d"], ["mechanics.bc.0.k_field", "2D planar"]),
    ("sent", ['fracture.intact=["grip"]'], ["fracture.intact.0", "grip"]),
    ("sent", ['fracture.intact=["left"]'], ["fracture.intact", "initial crack"]),
    ("surfing", ["fracture.j_integral.direction=[0, 0]"], ["fracture.j_integral.direction",
                                                          "nonzero"]),
    ("sneddon", ['fracture.weak_surfaces={facets = "grain_boundary", k_ic_ratio = 0.5}'],
     ["fracture.weak_surfaces.facets", "grain_boundary", "known"]),
    ("sneddon", ['fracture.weak_surfaces={facets = "bottom", k_ic_ratio = 1.5}'],
     ["fracture.weak_surfaces.k_ic_ratio"]),
    ("sneddon", ['fracture.weak_surfaces={facets = "bottom", k_ic_ratio = 0.5, '
                 'half_width = "-1 um"}'], ["fracture.weak_surfaces.half_width"]),
    ("sent", ["fracture.stack_stress=10 MPa"], ["fracture.stack_stress", "volume control"]),
    ("sneddon", ["fracture.stack_stress=10 MPa"], ["fracture.stack_stress", "volume control"]),
    ("crack_volume_control", ["fracture.stack_stress=-10 MPa"], ["fracture.stack_stress"]),
    ("sneddon", ['fracture.initial_cracks=[{start = ["1 um", 0], direction = [0, 0], '
                 'length = "5 um"}]'], ["fracture.initial_cracks.0.direction", "zero"]),
    ("sneddon", ['fracture.initial_cracks=[{start = ["1 um", 0, 0], direction = [1, 0, 0], '
                 'length = "5 um"}]'], ["fracture.initial_cracks.0.start", "2 coordinates"]),
])
def test_bad_fracture_input_is_one_line_exit_2(study, sets, needles, capsys, shared_tmp):
    args = ["run", str(PROBLEMS / f"{study}.toml"), "-q", "-o", str(shared_tmp / "x")]
    for s in (SMALL_SURFING if study == "surfing" else SMALL) + sets:
        args += ["--set", s]
    code = cli.main(args)
    err = capsys.readouterr().err
    assert code == 2, err
    if COMM.rank == 0:
        assert "Traceback" not in err
        line = err.strip().splitlines()[-1]
        for n in needles:
            assert n in line, line
