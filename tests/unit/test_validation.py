"""Bad input is one ConfigError (or GeometryError/UnitError) line naming the key, never a
traceback, a hang or a silent success: unreadable files, non-finite numbers, wrong signs,
empty lists, implausible temperatures and magnitudes, huge meshes, CCD case overrides.

Nothing here meshes more than the small default geometries, and nothing is collective: every
rank runs the same checks on its own (files go to a per-rank temporary folder).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import gmsh
import pytest
from conftest import PROBLEMS
from pydantic import ValidationError

from femcell.config import (
    ConfigError,
    apply_overrides,
    load_config,
    read_study,
    validation_message,
)
from femcell.geometry import BUILDERS, GeometryError, builder_parameters, check_parameters
from femcell.units import UnitError, to_si

SPHERE = PROBLEMS / "particle_sphere_1d.toml"
CELL = PROBLEMS / "li_llzo_li_symmetric.toml"
CCD = PROBLEMS / "na_ccd_ramp.toml"


@pytest.fixture
def own_tmp():
    with tempfile.TemporaryDirectory(prefix="femcell-validation-") as d:
        yield Path(d)


def bad(path, *sets) -> str:
    """The one-line ConfigError of loading `path` with the overrides."""
    with pytest.raises(ConfigError) as info:
        load_config(path, list(sets))
    msg = str(info.value)
    assert "\n" not in msg and msg.startswith(str(path)), msg
    return msg


@pytest.fixture
def model():
    """A fresh gmsh model on this rank (builders are called directly)."""
    gmsh.initialize()
    gmsh.option.setNumber("General.Terminal", 0)
    gmsh.model.add("femcell")
    yield
    gmsh.finalize()


# ---------------------------------------------------------------- 1. unreadable files
def test_non_utf8_file(own_tmp):
    path = own_tmp / "latin1.toml"
    path.write_bytes(SPHERE.read_bytes().replace(b"NMC811", "NMC811 \u00e9t\u00e9".encode(
        "latin-1")))
    for call in (lambda: read_study(path), lambda: load_config(path)):
        with pytest.raises(ConfigError) as info:
            call()
        msg = str(info.value)
        assert str(path) in msg and "UTF-8" in msg and "0xe9" in msg and "\n" not in msg


def test_binary_file_and_bad_toml(own_tmp):
    path = own_tmp / "binary.toml"
    path.write_bytes(bytes(range(256)))
    with pytest.raises(ConfigError, match="binary.toml: not UTF-8"):
        read_study(path)
    path.write_text("[study\n")
    with pytest.raises(ConfigError, match="binary.toml: not valid TOML"):
        read_study(path)
    with pytest.raises(ConfigError, match="no such study file"):
        read_study(own_tmp / "missing.toml")


def test_utf8_with_bom_is_read(own_tmp):
    path = own_tmp / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + SPHERE.read_bytes())
    assert read_study(path)["study"]["name"] == "particle_sphere_1d"
    assert load_config(path).study.name == "particle_sphere_1d"


# ---------------------------------------------------------------- 2. non-finite numbers
@pytest.mark.parametrize(("path", "setting", "key"), [
    (CCD, "anode.interface.creep_exponent=inf", "anode.interface.creep_exponent"),
    (CCD, "anode.interface.creep_exponent=nan", "anode.interface.creep_exponent"),
    (CCD, "cases.0.rate_factor=inf", "cases.0.rate_factor"),
    (CCD, 'cases.1.set={"anode.interface.creep_exponent"=inf}',
     "cases.1.set.anode.interface.creep_exponent"),
    (CCD, 'anode.vacancies.diffusivity="inf m^2/s"', "anode.vacancies.diffusivity"),
    (CCD, 'ramp.temperatures=["25 degC", -inf]', "ramp.temperatures.1"),
    (CCD, "ramp.rate=1e999", "ramp.rate"),
    (CCD, "geometry.params.h=inf", "geometry.params.h"),
    (CCD, 'geometry.params.h="nan"', "geometry.params.h"),
    (SPHERE, "time.end=inf", "time.end"),
    (SPHERE, "time.rtol=nan", "time.rtol"),
    (SPHERE, "diffusion.boundary.0.c_rate=-inf", "diffusion.boundary.0.c_rate"),
    # the shipped file names the material by a string: the override gives the table form
    (SPHERE, 'diffusion.material={ name = "nmc811", law = { theta = [0.0, nan] } }',
     "diffusion.material.law.theta.1"),
    (CELL, "protocol.0.steps.0.until.time=inf", "protocol.0.steps.0.until.time"),
    (CELL, 'protocol.1.until.quantity=["contact_fraction", "below", nan]',
     "protocol.1.until.quantity.2"),
    (CELL, 'kinetics.0.exchange_current_density="inf A/m^2"',
     "kinetics.0.exchange_current_density"),
])
def test_non_finite_numbers(path, setting, key):
    msg = bad(path, setting)
    assert key in msg and "finite" in msg


def test_to_si_rejects_non_finite_and_runaway_values():
    for value in (float("inf"), "nan m", "1e999 m", 10**400):
        with pytest.raises(UnitError, match="^width: .*not a finite number"):
            to_si(value, "length", name="width")
    for text in ("9**9**9 m", "9^(9^9) m", "10**400 m"):  # would never finish in pint
        with pytest.raises(UnitError, match="^width: cannot read"):
            to_si(text, "length", name="width")
    assert to_si("2 mol/(m^2*s)", "molar_flux") == 2.0


# ---------------------------------------------------------------- 3. signs, empty lists
@pytest.mark.parametrize(("path", "setting", "key", "why"), [
    (CELL, 'protocol.1.dt="-10 s"', "protocol.1.dt", "positive"),
    (CELL, "protocol.1.dt=0", "protocol.1.dt", "positive"),
    (CELL, 'protocol.1.until.time="-1 min"', "protocol.1.until.time", "positive"),
    (CELL, 'protocol.0.steps.1.until.time="-30 s"', "protocol.0.steps.1.until.time",
     "positive"),
    (CELL, 'protocol.1.until.charge="-1 C/m^2"', "protocol.1.until.charge", "positive"),
    (CELL, "protocol.0.repeat=0", "protocol.0.repeat", ">= 1"),
    (CELL, "protocol.0.repeat=2.5", "protocol.0.repeat", "whole number"),
    (CELL, 'protocol.1.kind="jump"', "protocol.1", "current, ramp, rest, hold"),
    (CELL, "protocol.1.until={}", "protocol.1", "until-condition"),
    (CELL, "protocol=[]", "protocol", "empty"),
    (CELL, "kinetics=[]", "kinetics", "empty"),
    (CELL, "charge.conductors={}", "charge.conductors", "empty"),
    (CELL, 'time.dt="-1 s"', "time.dt", "positive"),
    (CCD, "kinetics=[]", "kinetics", "empty"),
    (CCD, "cases=[]", "cases", "empty"),
    (CCD, "ramp.temperatures=[]", "ramp.temperatures", "empty"),
    (CCD, "anode.interface.stack_pressure=-1", "anode.interface.stack_pressure", ">= 0"),
    (SPHERE, "diffusion.orientation.seed=-1", "diffusion.orientation.seed", "-1"),
])
def test_wrong_signs_and_empty_lists(path, setting, key, why):
    msg = bad(path, setting)
    assert key in msg and why in msg


@pytest.mark.parametrize(("path", "sets", "key"), [
    (CELL, ['protocol.1.dt="1 ns"'], "protocol.1"),
    (CELL, ["protocol.0.repeat=1000000000"], "protocol.0"),
    (CCD, ['ramp.dt="1 ns"'], "ramp.dt"),
    (CCD, ['ramp.hold_current="1 mA/cm^2"', 'ramp.hold_dt="1 ns"'], "ramp.hold_dt"),
    (SPHERE, ["time.adaptive=false", 'time.dt="1 ns"'], "time.dt"),
])
def test_runaway_step_counts(path, sets, key, monkeypatch):
    monkeypatch.delenv("FEMCELL_MAX_STEPS", raising=False)
    msg = bad(path, *sets)
    assert key in msg and "time steps" in msg and "FEMCELL_MAX_STEPS" in msg
    monkeypatch.setenv("FEMCELL_MAX_STEPS", "1e20")
    load_config(path, sets)


# ---------------------------------------------------------------- 4. temperatures
@pytest.mark.parametrize(("path", "setting", "key", "value"), [
    (SPHERE, "temperature=25", "temperature", "25"),
    (SPHERE, 'temperature="-5"', "temperature", "-5"),
    (CELL, "temperature=60", "temperature", "60"),
    (CELL, "protocol.1.temperature=60", "protocol.1.temperature", "60"),
    (CCD, "ramp.temperatures=[25, 60]", "ramp.temperatures.0", "25"),
    (CCD, 'ramp.temperatures=["25 degC", 80]', "ramp.temperatures.1", "80"),
])
def test_bare_celsius_temperatures(path, setting, key, value):
    msg = bad(path, setting)
    assert f"{key} = {value} K is outside 150-1500 K; did you mean '{value} degC'?" in msg


@pytest.mark.parametrize("setting", ['temperature="25 K"', "temperature=2000",
                                     'temperature="-300 degC"'])
def test_implausible_temperatures_without_a_hint(setting):
    msg = bad(SPHERE, setting)
    assert "temperature = " in msg and "outside 150-1500 K" in msg and "degC'?" not in msg


def test_plausible_temperatures_pass():
    assert load_config(SPHERE, ["temperature=330"]).temperature == 330.0
    cfg = load_config(CCD, ['ramp.temperatures=["25 degC", 353.15]'])
    assert cfg.ramp.temperatures == pytest.approx([298.15, 353.15])
    load_config(CELL, ['protocol.1.temperature="60 degC"'])


# ---------------------------------------------------------------- 5. magnitudes, meshes
@pytest.mark.parametrize(("path", "setting", "key", "hint"), [
    (CCD, "geometry.params.width=4", "geometry.params.width", "'4 um'"),
    (CCD, "geometry.params.electrolyte_thickness=0.02", "geometry.params.electrolyte_thickness",
     "'0.02 um'"),
    (CCD, 'geometry.params.h="2 m"', "geometry.params.h", "'2 um'"),
    (SPHERE, "geometry.params.radius=5", "geometry.params.radius", "'5 um'"),
    (CCD, "anode.vacancies.sink_spacing=3", "anode.vacancies.sink_spacing", "'3 um'"),
])
def test_implausible_lengths(path, setting, key, hint):
    msg = bad(path, setting)
    assert key in msg and "implausibly large" in msg and f"did you mean {hint}?" in msg


@pytest.mark.parametrize(("path", "setting", "key"), [
    (CCD, "geometry.params.widht=4e-6", "geometry.params.widht"),
    (SPHERE, "geometry.params.n_cell=10", "geometry.params.n_cell"),
    (CCD, 'geometry.builder="cube"', "geometry.builder"),
])
def test_unknown_geometry_names(path, setting, key):
    msg = bad(path, setting)
    assert key in msg
    assert ("electrolyte_thickness" in msg or "n_cells" in msg or "symmetric_cell" in msg)


@pytest.mark.parametrize(("builder", "params", "culprit"), [
    ("symmetric_cell", {"h": 1e-8}, "h=1e-08"),
    ("symmetric_cell", {"h": 2e-6, "h_interface": 1e-10}, "h_interface=1e-10"),
    ("symmetric_cell", {"h": 4e-6, "flaws": [{"interface": "anode", "x": 50e-6,
                                             "length": 10e-6, "tip_radius": 1e-6}],
                        "h_tip": 1e-10}, "h_tip=1e-10"),
    ("sphere", {"radius": 2e-3, "h": 1e-6}, "h=1e-06"),
    ("polycrystal", {"size": [1e-3, 1e-3], "mean_grain_size": 1e-4, "h": 1e-7}, "h=1e-07"),
    ("composite_cathode", {"h_interface": 1e-10}, "h_interface=1e-10"),
    ("notched_electrolyte", {"h": 1e-9}, "h=1e-09"),
    ("four_probe", {"h": 1e-7}, "h=1e-07"),
    ("ellipsoid", {"h": 1e-9}, "h=1e-09"),
    ("half_disk", {"h": 1e-10}, "h=1e-10"),
])
def test_huge_meshes_are_refused_before_meshing(model, builder, params, culprit, monkeypatch):
    monkeypatch.delenv("FEMCELL_MAX_CELLS", raising=False)
    with pytest.raises(GeometryError) as info:
        BUILDERS[builder](**params)
    msg = str(info.value)
    assert msg.startswith(f"{builder}: {culprit} m on a ") and "cells (limit 5e+06" in msg
    assert "FEMCELL_MAX_CELLS" in msg and "\n" not in msg
    assert gmsh.model.getEntities() == []  # nothing was built


def test_interval_cell_limit_and_scientific_integers(model, monkeypatch):
    monkeypatch.delenv("FEMCELL_MAX_CELLS", raising=False)
    with pytest.raises(GeometryError, match=r"^interval: n_cells=20000000 exceeds"):
        BUILDERS["interval"](n_cells=2e7)
    monkeypatch.setenv("FEMCELL_MAX_CELLS", "10")
    with pytest.raises(GeometryError, match="n_cells=20 exceeds the limit of 10 cells"):
        BUILDERS["interval"](n_cells=2e1)
    meta = BUILDERS["interval"](n_cells=1e1)  # an integral float is an integer
    assert meta["params"]["n_cells"] == 10


@pytest.mark.parametrize("raw", ["0", "-5", "lots", "nan"])
def test_bad_cell_limit_variable(model, monkeypatch, raw):
    monkeypatch.setenv("FEMCELL_MAX_CELLS", raw)
    with pytest.raises(GeometryError, match="FEMCELL_MAX_CELLS"):
        BUILDERS["sphere"]()


def test_cell_limit_can_be_raised(model, monkeypatch):
    from femcell.geometry._common import CellCount

    monkeypatch.setenv("FEMCELL_MAX_CELLS", "1e13")
    assert CellCount("sphere", 3, [1e-3] * 3, 1e-9, 1e-7).check() > 5e6


@pytest.mark.parametrize(("builder", "params", "culprit", "hint"), [
    ("symmetric_cell", {"width": 4}, "width=4", "'4 um'"),
    ("symmetric_cell", {"pores": {"interface": "anode", "radius": 0.5, "count": 1}},
     "pores[0].radius=0.5", "'0.5 um'"),
    ("polycrystal", {"size": [2, 2]}, "size[0]=2", "'2 um'"),
    ("sphere", {"radius": 5.0}, "radius=5.0", "'5 um'"),
    ("four_probe", {"length": 10}, "length=10", "'10 mm'"),
    ("notched_electrolyte", {"flaws": [{"x": 10e-6, "length": 3, "tip_radius": 1e-7}]},
     "flaws[0].length=3.0", "'3 um'"),
])
def test_implausible_builder_lengths(model, builder, params, culprit, hint):
    with pytest.raises(GeometryError) as info:
        BUILDERS[builder](**params)
    msg = str(info.value)
    assert msg.startswith(f"{builder}: {culprit} m is implausibly large") and hint in msg


# ---------------------------------------------------------------- 6. CCD case overrides
@pytest.mark.parametrize(("setting", "key"), [
    ({"anode.interface.creep_exponent": -2.0}, "anode.interface.creep_exponent"),
    ({"ramp.temperatures": [25]}, "ramp.temperatures.0"),
    ({"anode.vacancies.bogus": 1.0}, "anode.vacancies.bogus"),
    ({"ramp.dt": "-1 s"}, "ramp.dt"),
])
def test_validation_message_names_the_case_key(setting, key):
    cfg = load_config(CCD)
    data = cfg.model_dump()
    sets = [f"{k}={v}" if not isinstance(v, str) else f'{k}="{v}"' for k, v in setting.items()]
    with pytest.raises(ValidationError) as info:
        type(cfg).model_validate(apply_overrides(data, sets))
    msg = validation_message(info.value, "cases.x.set")
    assert msg.startswith("cases.x.set: ") and key in msg and "\n" not in msg
    assert "validation error" not in msg


def test_validation_message_of_other_exceptions():
    assert validation_message(ValueError("a\nb"), "cases.x.set") == "cases.x.set: a"


# ---------------------------------------------------------------- 8. builder parameters
def test_every_builder_has_defaults_and_documented_parameters():
    for name, fn in BUILDERS.items():
        table = builder_parameters(name)
        assert [p for p, _, _ in table] == list(__import__("inspect").signature(fn).parameters)
        for param, _default, doc in table:
            assert doc and "\n" not in doc, (name, param)
        with pytest.raises(GeometryError) as info:
            check_parameters(name, {"no_such_parameter": 1})
        msg = str(info.value)
        assert f"{name}: no_such_parameter=1 is not a parameter" in msg
        assert all(p in msg for p, _, _ in table)
    units = dict((p, d) for p, _, d in builder_parameters("symmetric_cell"))
    assert "(m" in units["width"] and "(m" in units["h"]
    with pytest.raises(GeometryError, match="unknown geometry builder 'cube'"):
        builder_parameters("cube")


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_every_builder_runs_alone(model, name):
    meta = BUILDERS[name]()
    assert meta["builder"] == name and meta["cell_groups"]
    _, tags, _ = gmsh.model.mesh.getElements(meta["tdim"])
    assert 0 < sum(len(t) for t in tags) < 10_000  # small and quick


def test_builder_wrappers_keep_signatures():
    import inspect

    assert "mean_grain_size" in inspect.signature(BUILDERS["polycrystal"]).parameters
    with pytest.raises(GeometryError, match="polycrystal: foo=1 is not a parameter"):
        BUILDERS["polycrystal"](foo=1)


# ---------------------------------------------------------------- shipped studies
def test_shipped_studies_stay_valid():
    for path in sorted(PROBLEMS.glob("*.toml")):
        data = read_study(path)
        data.pop("sweep", None)  # the sweep driver removes it before validating
        load_config(path, data=data)


# ---------------------------------------------------------------- study kinds
@pytest.mark.parametrize(("path", "old", "new"), [
    (SPHERE, "diffusion", "transient"), (CELL, "charge", "protocol"), (CCD, "ccd", "ccd_ramp")])
def test_old_study_format_is_named(path, old, new):
    data = read_study(path)
    del data["study"]["kind"]
    data["study"]["physics"] = old
    with pytest.raises(ConfigError) as info:
        load_config(path, data=data)
    msg = str(info.value)
    assert msg.startswith(f"{path}: study.physics = {old!r} is the old study format: write "
                          f"[study] kind = {new!r}") and "\n" not in msg


def test_study_kind_is_required_and_known():
    msg = bad(SPHERE, 'study.kind="frequency"')
    assert "study.kind = 'frequency' is not a study kind" in msg and "transient" in msg
    data = read_study(SPHERE)
    del data["study"]["kind"]
    with pytest.raises(ConfigError, match="missing key 'study.kind'"):
        load_config(SPHERE, data=data)


def test_a_key_below_a_material_given_by_name():
    """`--set diffusion.material.c_max=...` on a file that names its material with a string:
    the material becomes a table with that name (also for sweep points)."""
    from femcell.studies.sweeps import set_path

    cfg = load_config(SPHERE, ["diffusion.material.c_max=40000"])
    assert cfg.diffusion.material.name == "nmc811" and cfg.diffusion.material.c_max == 40000
    data = set_path(read_study(SPHERE), "diffusion.material.diffusivity", 1e-15)
    assert load_config(data=data).diffusion.material.diffusivity == 1e-15


def test_a_conductor_with_values_of_the_study_and_a_key_with_dots():
    """A [charge] conductor given as a table (a library name with the study's own
    conductivity, activation energy, permittivity); a dotted key whose part holds dots
    (a cell group) in quotes, as TOML reads it, for --set and sweep points."""
    from femcell.config.messages import split_key
    from femcell.materials import get_material
    from femcell.sections.charge import conductor_of
    from femcell.studies.sweeps import set_path

    assert split_key('charge.group_conductors."electrolyte.matrix".conductivity') == [
        "charge", "group_conductors", "electrolyte.matrix", "conductivity"]
    assert split_key("kinetics.0.alpha_a") == ["kinetics", "0", "alpha_a"]
    cfg = load_config(CELL, ['charge.conductors.electrolyte.conductivity="1 mS/cm"',
                             "charge.conductors.electrolyte.permittivity=60",
                             'charge.group_conductors."electrolyte.gb"="llzo_gb"'])
    spec = cfg.charge.conductors["electrolyte"]
    lib = get_material(spec.name)
    mat = conductor_of("charge.conductors.electrolyte", spec)
    assert mat.conductivity.value_ref == pytest.approx(0.1)  # S/m, at 25 degC
    assert mat.conductivity.t_ref == pytest.approx(298.15)
    assert mat.conductivity.activation_energy == lib.conductivity.activation_energy
    assert mat.permittivity == 60 and "set by the study file" in mat.citations[-1]
    assert cfg.charge.group_conductors["electrolyte.gb"].name == "llzo_gb"
    assert conductor_of("x", cfg.charge.conductors["anode"]) is get_material("li")
    data = set_path(read_study(CELL), 'charge.group_conductors."electrolyte.gb".conductivity',
                    "2 mS/cm")
    data = set_path(data, 'charge.group_conductors."electrolyte.gb".name', "llzo_gb")
    gb = load_config(data=data).charge.group_conductors["electrolyte.gb"]
    assert gb.conductivity == pytest.approx(0.2)
    with pytest.raises(ConfigError, match="charge.conductors.electrolyte.permittivity"):
        load_config(CELL, ["charge.conductors.electrolyte.permittivity=0.5"])


@pytest.mark.parametrize("path, setting, key", [
    (SPHERE, "diffusion.material=nmc999", "diffusion.material.name"),
    (CELL, "charge.conductors.anode=lithium", "charge.conductors.anode"),
    (PROBLEMS / "full_cell_li_lpscl_nmc.toml", "intercalation.0.material=nmc9",
     "intercalation.0.material"),
])
def test_unknown_material_is_named_with_its_key_when_the_file_is_read(path, setting, key):
    """Before any mesh is built: the key path, the name and the known materials."""
    with pytest.raises(ConfigError) as info:
        load_config(path, [setting])
    msg = str(info.value)
    assert key in msg and "unknown material" in msg and "nmc811" in msg and "\n" not in msg
