"""The one place that imports DOLFINx, PETSc and MPI.

`dolfinx_solver` (the pip wheel of DOLFINx) must be imported before `dolfinx` and `petsc4py`
because it loads MPI; a conda / Spack / container DOLFINx has no such module and works
unchanged. Everything else in femcell imports DOLFINx through this module.
"""

from __future__ import annotations

import importlib.metadata as _md

try:  # pip wheel: load MPI first
    import dolfinx_solver  # noqa: F401

    HAS_DOLFINX_SOLVER = True
except ImportError:  # conda / Spack / container build
    HAS_DOLFINX_SOLVER = False

import basix  # noqa: E402
import dolfinx  # noqa: E402
import dolfinx.fem  # noqa: E402
import dolfinx.fem.petsc  # noqa: E402
import dolfinx.io  # noqa: E402
import dolfinx.io.gmsh  # noqa: E402
import dolfinx.mesh  # noqa: E402
import ufl  # noqa: E402
from mpi4py import MPI  # noqa: E402
from petsc4py import PETSc  # noqa: E402

__all__ = [
    "MPI",
    "PETSc",
    "basix",
    "dolfinx",
    "ufl",
    "capabilities",
    "versions",
    "has_package",
]

_PACKAGES = ("mumps", "superlu_dist", "scalapack", "ptscotch", "metis", "parmetis", "hypre",
             "ml", "hdf5", "suitesparse")


def has_package(name: str) -> bool:
    """True when PETSc was built with the external package `name` (e.g. "mumps")."""
    try:
        return bool(PETSc.Sys.hasExternalPackage(name))
    except Exception:  # pragma: no cover - very old petsc4py
        return False


def capabilities() -> dict[str, bool]:
    """PETSc external packages and DOLFINx features found in this build."""
    caps = {name: has_package(name) for name in _PACKAGES}
    caps["adios2"] = bool(getattr(dolfinx.common, "has_adios2", False))
    caps["gamg"] = True  # part of PETSc itself
    caps["complex"] = bool(PETSc.ScalarType().dtype.kind == "c")
    return caps


def _dist_version(*names: str) -> str:
    for name in names:
        try:
            return _md.version(name)
        except _md.PackageNotFoundError:
            continue
    return "unknown"


def versions() -> dict[str, str]:
    """Versions of femcell and the stack it runs on."""
    petsc = ".".join(str(v) for v in PETSc.Sys.getVersion())
    return {
        "femcell": _dist_version("femcell"),
        "dolfinx": dolfinx.__version__,
        "dolfinx_build": "pip wheel (dolfinx-solver-real)" if HAS_DOLFINX_SOLVER else "external",
        "basix": basix.__version__,
        "ufl": _dist_version("fenics-ufl", "ufl"),
        "ffcx": _dist_version("fenics-ffcx", "ffcx"),
        "petsc": petsc,
        "mpi": MPI.Get_library_version().splitlines()[0].strip(),
        "mpi4py": _dist_version("mpi4py"),
        "gmsh": _dist_version("gmsh"),
    }
