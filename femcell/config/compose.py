"""load_config: a study file -> the validated model of its kind, composed of the kind's own
tables and the sections of the physics it takes. Imports no DOLFINx."""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path

from pydantic import ValidationError, create_model

from femcell.config.base import ConfigError
from femcell.config.messages import apply_overrides, read_study, validation_message
from femcell.config.sections import StudyBase

# the old format chose a schema with [study] physics = ...: how to migrate, in one line
_MIGRATE = {"diffusion": "transient", "charge": "protocol", "ccd": "ccd_ramp"}


@cache
def study_model(kind: str) -> type[StudyBase]:
    """The composed schema of a kind: its own class plus, for every physics it takes, that
    physics' sections (required or optional as the kind says)."""
    from femcell import sections
    from femcell.studies import registry

    base = registry.schema(kind)
    fields = {}
    for physics, required in base.PHYSICS.items():
        for key, (annotation, default) in sections.module(physics).KEYS.items():
            if key in base.model_fields:  # the kind declares it itself
                continue
            fields[key] = ((annotation, default) if required
                           else (annotation | None, None if default is ... else default))
    return create_model(f"{base.__name__}File", __base__=base, **fields)


def _kind_of(data: dict, source: str) -> str:
    from femcell.studies.registry import KINDS

    study = data.get("study")
    if not isinstance(study, dict):
        raise ConfigError(f"{source}: missing table [study] (name, kind; known kinds: "
                          f"{', '.join(KINDS)})")
    if "physics" in study:
        old = study["physics"]
        new = _MIGRATE.get(old, "transient") if isinstance(old, str) else "transient"
        raise ConfigError(
            f"{source}: study.physics = {old!r} is the old study format: write [study] kind = "
            f"{new!r} and put the physics in their own sections (README, 'Study file "
            f"format')")
    kind = study.get("kind")
    if kind is None:
        raise ConfigError(f"{source}: missing key 'study.kind' (known kinds: "
                          f"{', '.join(KINDS)})")
    if not isinstance(kind, str) or kind not in KINDS:
        raise ConfigError(f"{source}: study.kind = {kind!r} is not a study kind (known kinds: "
                          f"{', '.join(KINDS)})")
    return kind


def load_config(path: str | Path | None = None, overrides: list[str] | None = None,
                data: dict | None = None) -> StudyBase:
    """Read and validate a study TOML (or a dict), applying --set style overrides.

    Args:
        path: the study file (or None with `data`).
        overrides: ["a.b=value", ...] applied before validation.
        data: the study as a dict (instead of reading `path`).

    Returns:
        The validated study (the composed schema of its kind), values in SI.

    Raises:
        ConfigError: one line naming the file and key.
    """
    source = str(path) if path is not None else "study"
    if data is None:
        data = read_study(path)
    data = apply_overrides(copy.deepcopy(data), overrides or [])
    model = study_model(_kind_of(data, source))
    try:
        cfg = model.model_validate(data)
        if cfg.study.resolution == "fine":
            cfg.refined()  # what cannot be refined is bad input now, not at run time
        return cfg
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from None
    except ValidationError as exc:
        raise ConfigError(validation_message(exc, source)) from None
    except RecursionError:
        raise ConfigError(f"{source}: nested too deeply") from None
