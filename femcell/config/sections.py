"""The sections every study file has, whatever its kind and physics: [study], [geometry]
(in base.py), [solver], [output], and the base model the kinds' schemas extend."""

from __future__ import annotations

import re
from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from femcell.config.base import GeometrySection, _error, _Model


class StudySection(_Model):
    """[study]: the name (it names the run folder), the procedure and its resolution.

    `resolution = "fine"` halves every mesh size of the geometry (builder parameters `h`,
    `h_*`, the `h` of `refine` boxes, or `h` of a .geo file) and refines the kind's own
    time step (see each kind).
    """

    name: str = Field(pattern=r"^[A-Za-z0-9_.\-]+$")
    description: str = ""
    kind: str
    resolution: Literal["default", "fine"] = "default"


class SolverSection(_Model):
    """[solver]: discretisation and linear algebra shared by every physics."""

    degree: Literal[1, 2, 3] = 1
    linear: Literal["auto", "direct", "iterative"] = "auto"
    # PETSc options merged over femcell's presets, without the leading "-" (e.g.
    # ksp_type = "cg", snes_monitor = ""); log_view writes petsc_log.txt into the run folder
    petsc_options: dict[str, str | int | float | bool] = {}

    @field_validator("petsc_options")
    @classmethod
    def _option_names(cls, v):
        for key in v:
            if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", key):
                raise ValueError(f"PETSc option {key!r}: a name such as ksp_type (letters, "
                                 "digits and '_', no leading '-')")
        return v


class CheckpointSection(_Model):
    """[checkpoint]: when a run writes a restart point (run folder/checkpoints/). A signal
    (SIGTERM, SIGUSR1, SIGINT) always writes one; 0 switches a trigger off."""

    every_steps: int = Field(default=0, ge=0)  # accepted steps between checkpoints
    every_minutes: float = Field(default=0.0, ge=0.0)  # wall minutes between checkpoints
    keep: int = Field(default=2, ge=1)  # complete checkpoints kept


class OutputSection(_Model):
    """[output]: what a run writes besides summary.json and quantities.csv."""

    fields: bool = True
    plots: bool = True
    field_every: int = Field(default=10, ge=1)  # steps between field outputs (protocols)


class StudyBase(_Model):
    """The sections of every study; a kind's schema extends it with its own tables.

    Class attributes:
        PHYSICS: {physics section name (femcell.sections): True if the kind requires it}.
    """

    PHYSICS: ClassVar[dict[str, bool]] = {}

    study: StudySection
    geometry: GeometrySection
    solver: SolverSection = SolverSection()
    output: OutputSection = OutputSection()
    checkpoint: CheckpointSection = CheckpointSection()
    sweep: dict[str, Any] | None = None  # run as a sweep (femcell.sweep), not by the kind

    @model_validator(mode="before")
    @classmethod
    def _resolution_shorthand(cls, data):
        """A top-level `resolution` (`--set resolution=fine`) is [study] resolution."""
        if not isinstance(data, dict) or "resolution" not in data:
            return data
        data = dict(data)
        value = data.pop("resolution")
        study = data.get("study")
        if isinstance(study, dict):
            given = study.get("resolution")
            if given is not None and given != value:
                raise _error("resolution", f"= {value!r} but study.resolution = {given!r}: "
                             "give one")
            data["study"] = {**study, "resolution": value}
        return data

    @model_validator(mode="before")
    @classmethod
    def _sections_of_kind(cls, data):
        """A physics section the kind does not take is named, not reported as unknown."""
        if not isinstance(data, dict):
            return data
        from femcell.sections import section_keys

        kind = data.get("study", {}).get("kind") if isinstance(data.get("study"), dict) else None
        takes = [p for p in cls.PHYSICS]
        for key, physics in section_keys().items():
            if key in data and physics not in takes:
                raise _error(key, f"is a section of the {physics!r} physics, which a "
                             f"{kind!r} study does not take (it takes: "
                             f"{', '.join(takes) or 'no physics sections'})")
        return data

    @model_validator(mode="after")
    def _moving_anode(self):
        """A moving anode (ALE mesh motion) takes a straight-sided mesh and no [mechanics]."""
        if (getattr(self, "moving_front", None) is not None
                and getattr(self, "mechanics", None) is not None):
            raise _error("moving_front", "with [mechanics]: the mechanics' displacements "
                         "refer to the mesh as built (not combined yet)")
        anode = getattr(self, "anode", None)
        if anode is None or anode.geometry != "moving":
            return self
        if getattr(self, "mechanics", None) is not None:
            raise _error(("anode", "geometry"), "= \"moving\" with [mechanics]: the "
                         "mechanics' displacements refer to the mesh as built (not combined "
                         "yet; use geometry = \"fixed\")")
        if self.geometry.file is not None and self.geometry.order != 1:
            raise _error(("anode", "geometry"), "= \"moving\" needs a straight-sided mesh "
                         "(geometry.order = 1)")
        return self

    @property
    def kind(self) -> str:
        return self.study.kind

    def refined(self) -> StudyBase:
        """The study at resolution "fine" (a no-op at "default"): mesh sizes halved here, the
        kind's step refined by `refine_steps`."""
        if self.study.resolution != "fine":
            return self
        from femcell.config.base import ConfigError

        g = self.geometry
        if g.builder is not None:
            params = dict(g.params)
            sizes = [k for k, v in params.items()
                     if (k == "h" or k.startswith("h_")) and isinstance(v, int | float)]
            for k in sizes:
                params[k] = params[k] / 2
            if "refine" in params:  # refine boxes {x, y, h} (one table or a list)
                boxes = params["refine"]
                half = lambda b: ({**b, "h": b["h"] / 2}  # noqa: E731
                                  if isinstance(b, dict) and isinstance(b.get("h"), int | float)
                                  else b)
                params["refine"] = ([half(b) for b in boxes] if isinstance(boxes, list)
                                    else half(boxes))
            from femcell.geometry import builder_parameters

            defaults = {n: d for n, d, _ in builder_parameters(g.builder)}
            if "n_cells" in defaults:  # 1D builders: twice the cells
                n = params.get("n_cells", defaults["n_cells"])
                params["n_cells"] = int(round(2 * n))
            elif "h" not in sizes:
                raise ConfigError("study.resolution = 'fine': give geometry.params.h (the mesh "
                                  "size to halve; the builder derives its default)")
            g = g.model_copy(update={"params": params})
        elif g.h is not None:
            g = g.model_copy(update={"h": g.h / 2})
        else:
            raise ConfigError("study.resolution = 'fine': give geometry.h (a .geo file) or a "
                              "builder; a .msh file has a fixed mesh")
        return self.model_copy(update={"geometry": g}).refine_steps()

    def refine_steps(self) -> StudyBase:
        """The kind's time steps at resolution "fine" (kinds override)."""
        return self
