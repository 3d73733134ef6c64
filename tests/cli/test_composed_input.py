"""Study files of the composed format: mistakes a user makes in the physics sections and
the kind's tables get one line naming the key (exit 2) before anything runs or is written,
and an [anode] on either metal electrode is the same physics."""

from __future__ import annotations

import pytest
from conftest import PROBLEMS, assert_refused

from femcell import cli
from femcell._dolfinx import MPI

COMM = MPI.COMM_WORLD

CELL = """temperature = "25 degC"
[study]
name = "tiny_prot"
kind = "protocol"
[geometry]
builder = "symmetric_cell"
[geometry.params]
dim = 2
width = "4 um"
electrolyte_thickness = "20 um"
anode_thickness = "20 um"
cathode_thickness = "20 um"
h = "4 um"
[charge]
conductors = { anode = "li", electrolyte = "li6ps5cl", cathode = "li" }
[[kinetics]]
electrode = "anode"
exchange_current_density = "10 mA/cm^2"
activation_energy = "0.2 eV"
[[kinetics]]
electrode = "cathode"
exchange_current_density = "10 mA/cm^2"
activation_energy = "0.2 eV"
[anode]
parameters = "li|li6ps5cl"
[time]
dt = "1 s"
[[protocol]]
kind = "current"
current_density = "1.5 mA/cm^2"
until = { time = "3 s" }
label = "strip"
[output]
fields = false
plots = false
"""

SPHERE = """[study]
name = "tiny_tr"
kind = "transient"
[geometry]
builder = "interval"
coordinates = "spherical"
params = { radius = "5 um" }
[diffusion]
material = "nmc811"
initial = { stoichiometry = 0.3 }
[[diffusion.boundary]]
region = "surface"
type = "current"
c_rate = 1.0
[time]
end = "1 min"
outputs = 2
[output]
plots = false
"""


@pytest.fixture
def files(shared_tmp):
    if COMM.rank == 0:
        (shared_tmp / "cell.toml").write_text(CELL)
        (shared_tmp / "sphere.toml").write_text(SPHERE)
    COMM.barrier()
    return shared_tmp


@pytest.mark.parametrize("which, sets, needles", [
    ("cell", ["anode.collector=cathode_cc"], ["anode.collector", "cathode_cc", "anode.region"]),
    ("cell", ["anode.region=electrolyte"], ["anode.region", "electrolyte", "kinetics"]),
    ("cell", ['study.kind=["transient"]'], ["study.kind", "known kinds"]),
    ("cell", ['anode.parameters=["li|li6ps5cl"]'], ["anode.parameters", "library set"]),
    ("cell", ["anode.interface.stack_pressure=1 MPa/s"], ["anode.interface.stack_pressure"]),
    ("cell", ["anode.interface.stack_presure=1e6"], ["anode.interface.stack_presure"]),
    ("cell", ['intercalation=[{region="cathode", material="nmc811", initial_stoichiometry=0.5},'
              '{region="cathode", material="nmc811", initial_stoichiometry=0.2}]'],
     ["intercalation.1.region", "cathode"]),
    ("cell", ['protocol.0.until={time="3 s", quantity=["contact_fractio", "below", 0.5]}'],
     ["until.quantity", "contact_fractio", "contact_fraction"]),
    ("sphere", ["diffusion.material=li"], ["diffusion.material.name", "intercalation"]),
    ("sphere", ["output.field_every=5"], ["unknown key", "output.field_every"]),
    ("sphere", ["study.resolution=fine", "geometry.builder=sphere", "geometry.params={}"],
     ["study.resolution", "geometry.params.h"]),
])
def test_mistakes_in_a_composed_study_give_one_line(files, capsys, which, sets, needles):
    argv = ["run", str(files / f"{which}.toml"), "-q", "-o", str(files / "run")]
    for s in sets:
        argv += ["--set", s]
    code = cli.main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    if COMM.rank == 0:
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
        for n in needles:
            assert n in err, err
    assert not (files / "run" / "summary.json").exists()  # found before anything ran


def test_resolution_fine_doubles_the_default_cells_of_a_1d_builder(files):
    from femcell.config import load_config

    cfg = load_config(files / "sphere.toml", ["study.resolution=fine"]).refined()
    assert cfg.geometry.params["n_cells"] == 100  # the interval builder's default: 50


def test_resolution_fine_halves_the_refine_boxes_and_doubles_the_plating_substeps():
    from conftest import PROBLEMS

    from femcell.config import load_config

    base = load_config(PROBLEMS / "li_dendrite_llzo.toml")
    fine = load_config(PROBLEMS / "li_dendrite_llzo.toml", [
        "study.resolution=fine", 'geometry.params.refine=[{x = ["25 um", "35 um"], h = "1 um"}, '
        '{y = ["8 um", "72 um"], h = "2 um"}]']).refined()
    assert [b["h"] for b in fine.geometry.params["refine"]] == pytest.approx([0.5e-6, 1e-6])
    assert fine.geometry.params["h"] == pytest.approx(base.geometry.params["h"] / 2)
    assert fine.plating.substeps == 2 * base.plating.substeps
    assert fine.fracture.length == base.fracture.length  # l is physics, not mesh


def test_voiding_anode_on_either_metal_electrode_is_the_same_physics(files):
    """[anode] region = "cathode" with the current reversed mirrors the default: the contact
    fraction after the same stripping is the same to round-off."""
    from femcell.config import load_config
    from femcell.studies import run_study

    a = run_study(load_config(files / "cell.toml"), progress=False, write=False)
    b = run_study(load_config(files / "cell.toml", [
        "anode.region=cathode", "anode.collector=cathode_cc",
        "protocol.0.current_density=-1.5 mA/cm^2"]), progress=False, write=False)
    fa, fb = a.value("final_contact_fraction[anode]"), b.value("final_contact_fraction[cathode]")
    assert fa < 0.95  # the interface did void
    assert fb == pytest.approx(fa, rel=1e-8)


@pytest.mark.parametrize("sets, needles", [
    (["mechanics.creep=true"], ["mechanics.creep", "'active'"]),
    (['anode={parameters="li|li6ps5cl", interface={creep_stress="mechanics"}}'],
     ["anode.interface.creep_stress", "'active'"]),
])
def test_a_coherent_particle_region_refuses_what_needs_its_field_outside_it(
        shared_tmp, capsys, sets, needles):
    """lfp_particle_coherent.toml: creep, or the anode's creep under the solved stress, would
    need the particle's field (a submesh function) outside its region."""
    argv = ["run", str(PROBLEMS / "lfp_particle_coherent.toml"), "-q", "-o",
            str(shared_tmp / "run")]
    for s in sets:
        argv += ["--set", s]
    assert_refused(capsys, argv, shared_tmp / "run", needles)
