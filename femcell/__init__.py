"""femcell: finite-element multiphysics for solid-state battery interfaces and their failure.

The public API is imported lazily, so `import femcell` stays cheap (no DOLFINx, no JIT):

    import femcell
    cfg = femcell.load_config("problems/particle_sphere_1d.toml", ["time.end=30 min"])
    result = femcell.run_study(cfg, "runs/sphere")
    print(result.headline)
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_LAZY = {
    "load_config": "femcell.config",
    "ConfigError": "femcell.config",
    "StudyBase": "femcell.config",
    "Value": "femcell.studies",
    "register_kind": "femcell.studies.registry",
    "run_study": "femcell.studies",
    "Result": "femcell.studies",
    "Domain": "femcell.domain",
    "Problem": "femcell.problem",
    "Diffusion": "femcell.physics.diffusion",
    "Dirichlet": "femcell.physics.diffusion",
    "Flux": "femcell.physics.diffusion",
    "Robin": "femcell.physics.diffusion",
    "StepController": "femcell.solvers.timestepping",
    "TimeIntegrator": "femcell.solvers.timestepping",
    "SolverError": "femcell.solvers.snes",
    "get_material": "femcell.materials",
    "list_materials": "femcell.materials",
    "Scales": "femcell.units",
    "to_si": "femcell.units",
}

__all__ = sorted(_LAZY) + ["__version__"]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'femcell' has no attribute {name!r}")
