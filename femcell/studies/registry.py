"""Study kinds as data: kind -> (schema, runner), imported only when used.

A kind is a procedure (a time loop, a protocol, current ramps, a frequency sweep, ...). It
is two modules, its schema (a `femcell.config.StudyBase` subclass holding its own tables and
naming the physics it takes; no DOLFINx) and its runner (`run(cfg, run) -> Result` for a
`femcell.studies.lifecycle.StudyRun`), plus one line in KINDS. `register` adds one at run
time (plugins, tests).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    """A registered study kind.

    Attributes:
        schema: "module:Class" of its schema.
        runner: "module:function" of its runner.
        description: one line for `femcell list`.
    """

    schema: str
    runner: str
    description: str = ""


KINDS: dict[str, Kind] = {
    "transient": Kind("femcell.studies.transient_schema:TransientStudy",
                      "femcell.studies.transient:run",
                      "a time-dependent solve to an end time with adaptive steps ([time])"),
    "protocol": Kind("femcell.studies.protocol_schema:ProtocolStudy",
                     "femcell.studies.protocol:run",
                     "an experiment: current, ramp, rest and hold steps ([time], [[protocol]])"),
    "ccd_ramp": Kind("femcell.studies.ccd_ramp_schema:CCDRampStudy",
                     "femcell.studies.ccd_ramp:run",
                     "stripping current ramps over temperatures and cases: j_crit and its "
                     "Arrhenius fit ([ramp], [[cases]])"),
    "phase_field": Kind("femcell.studies.phase_field_schema:PhaseFieldStudy",
                        "femcell.studies.phase_field:run",
                        "[cahn_hilliard] phase separation to time.end with adaptive steps "
                        "([time]): the free energy at report times, mass conservation"),
    "quasistatic": Kind("femcell.studies.quasistatic_schema:QuasistaticStudy",
                        "femcell.studies.quasistatic:run",
                        "[mechanics] (and [fracture]) under a load factor 0 -> 1 in "
                        "[loading] steps: reactions, cracks, Sneddon / Griffith references"),
    "plating_ccd": Kind("femcell.studies.plating_schema:PlatingStudy",
                        "femcell.studies.plating:run",
                        "plating in steps of increasing current into a metal-filled flaw "
                        "([filament], [fracture], [plating]): the plating CCD next to the "
                        "Griffith estimate"),
    "impedance": Kind("femcell.studies.impedance_schema:ImpedanceStudy",
                      "femcell.studies.impedance:run",
                      "small-signal impedance Z(f) of a [charge] cell about its open-circuit "
                      "or DC state ([impedance]): arcs, Kramers-Kronig test, circuit fit"),
    "four_probe": Kind("femcell.studies.four_probe_schema:FourProbeStudy",
                       "femcell.studies.four_probe:run",
                       "four-probe / van der Pauw resistances of a [conduction] sample and the "
                       "conductivity the textbook formulas infer from them"),
}


def register(name: str, schema: str | type, runner: str | object, description: str = "") -> None:
    """Add (or replace) a study kind.

    Args:
        name: the value of `[study] kind`.
        schema: "module:Class" or the class itself.
        runner: "module:function" or the function itself.
        description: one line.
    """
    KINDS[name] = Kind(schema, runner, description)
    from femcell.config.compose import study_model

    study_model.cache_clear()


def _load(ref):
    if not isinstance(ref, str):
        return ref
    mod, _, attr = ref.partition(":")
    return getattr(importlib.import_module(mod), attr)


def get(name: str) -> Kind:
    """The kind registered as `name` (KeyError if none)."""
    return KINDS[name]


def schema(name: str) -> type:
    return _load(KINDS[name].schema)


def runner(name: str):
    return _load(KINDS[name].runner)
register_kind = register  # the name femcell exports
