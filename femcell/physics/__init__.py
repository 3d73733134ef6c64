"""Physics modules: each declares fields, contributes residual terms and reports quantities."""

from femcell.physics.base import ElectrodeCoupling, Physics
from femcell.physics.diffusion import Diffusion, Dirichlet, Flux, Robin

__all__ = ["Diffusion", "Dirichlet", "ElectrodeCoupling", "Flux", "Physics", "Robin"]
