"""Study TOML schema (pydantic), composed: [study], [geometry], [solver], [output] here, each
physics' sections in femcell.sections, each kind's tables in its schema module
(femcell.studies.registry). Values with units become SI floats; every error a user can make
becomes a one-line ConfigError naming the key (exit code 2 in the CLI). Imports no DOLFINx.
"""

from femcell.config.base import (
    MAX_STEPS_ENV,
    T_MAX,
    T_MIN,
    ConfigError,
    GeometrySection,
    Q,
    _geometry_param,
    max_steps,
    temperature_problem,
)
from femcell.config.compose import load_config, study_model
from femcell.config.messages import apply_overrides, read_study, validation_message
from femcell.config.protocol import check_protocol
from femcell.config.sections import OutputSection, SolverSection, StudyBase, StudySection

__all__ = ["MAX_STEPS_ENV", "T_MAX", "T_MIN", "ConfigError", "GeometrySection",
           "OutputSection", "Q", "SolverSection", "StudyBase", "StudySection",
           "_geometry_param", "apply_overrides", "check_protocol", "load_config", "max_steps",
           "read_study", "study_model", "temperature_problem", "validation_message"]
