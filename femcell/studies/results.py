"""Typed results: a headline number carries its unit and what it means (no unit-suffixed
keys). summary.json writes each as {"value", "unit", "description"}."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class Value:
    """A result: value in SI (or a count, a label), its unit ("" dimensionless), meaning.

    Attributes:
        value: the number (None when it could not be determined, e.g. no critical current).
        unit: SI unit, e.g. "A m^-2", "eV", "mol m^-3"; "" for a dimensionless number.
        description: one line saying what the number is.
    """

    value: float | int | str | None
    unit: str = ""
    description: str = ""

    def __float__(self) -> float:
        return float("nan") if self.value is None else float(self.value)

    def json(self) -> dict:
        return {"value": self.value, "unit": self.unit, "description": self.description}

    def text(self) -> str:
        v = self.value
        shown = f"{v:.6g}" if isinstance(v, float) and math.isfinite(v) else str(v)
        return f"{shown} {self.unit}".rstrip()


def headline_json(headline: dict) -> dict:
    """summary.json form of a headline: {name: {"value", "unit", "description"}}."""
    return {k: (v.json() if isinstance(v, Value) else {"value": v, "unit": "",
                                                         "description": ""})
            for k, v in headline.items()}


def fmt_headline(headline: dict) -> str:
    """Human-readable headline lines: name, value and unit."""
    return "\n".join(f"  {k:45s} {v.text() if isinstance(v, Value) else v}"
                     for k, v in headline.items())


@dataclass
class Result:
    """What a study produced.

    Attributes:
        name: study name.
        folder: run folder (None when nothing was written).
        quantities: one dict of SI quantities per accepted step (all ranks); for kinds made
            of several runs (CCD ramps), one dict per run.
        headline: {name: Value}.
        summary: the summary.json content.
        paths: written files by kind.
    """

    name: str
    folder: Path | None
    quantities: list[dict]
    headline: dict
    summary: dict
    paths: dict = field(default_factory=dict)

    def column(self, key: str) -> np.ndarray:
        return np.array([row[key] for row in self.quantities])

    def value(self, name: str) -> float | int | str | None:
        """The bare value of a headline entry."""
        return self.headline[name].value
