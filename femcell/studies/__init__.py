"""Study kinds and their shared run lifecycle.

`run_study(cfg)` looks up the kind of `cfg` in the registry (femcell.studies.registry) and
runs it inside one lifecycle (femcell.studies.lifecycle). Names are imported lazily so that
`femcell.load_config` never imports DOLFINx.
"""

from __future__ import annotations

import importlib

_LAZY = {
    "run_study": "femcell.studies.lifecycle",
    "build_domain": "femcell.studies.lifecycle",
    "StudyRun": "femcell.studies.lifecycle",
    "run_sweep": "femcell.studies.sweeps",
    "Result": "femcell.studies.results",
    "Value": "femcell.studies.results",
    "fmt_headline": "femcell.studies.results",
    "KINDS": "femcell.studies.registry",
    "register": "femcell.studies.registry",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'femcell.studies' has no attribute {name!r}")
