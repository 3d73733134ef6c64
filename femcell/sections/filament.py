"""[filament]: metal that fills the broken electrolyte (femcell.physics.dendrite). Schema here
(no DOLFINx); `build` makes the MetalFilament on the ChargeTransport of [charge] and the
damage of [fracture], and holds the crack volume at the deposited metal (volume control).

    [filament]
    electrode = "cathode"          # the plated metal electrode the filament grows from
    counter_electrode = "anode"    # the cell is shorted when the metal reaches it
    molar_volume = "13.0 cm^3/mol" # default: the electrode conductor's (library)
    exponent = 4                   # metal fraction m = d^exponent
    short_damage = 0.5             # damage on the counter interface that counts as metal
                                   # (default: the "broken" of filament_depth)

The deposition law is the [[kinetics]] entry of `electrode`, shifted by Omega p / F with
the crack pressure p.
"""

from __future__ import annotations

from pydantic import Field

from femcell.config.base import Q, _Model, _pos


class FilamentSection(_Model):
    """[filament]: the plated electrode, the counter electrode (short) and the metal."""

    electrode: str
    counter_electrode: str | None = None
    molar_volume: Q("molar_volume", _pos) | None = None
    exponent: float = Field(default=4.0, ge=2.0, le=16.0)
    short_damage: float = Field(default=0.5, gt=0.0, le=1.0)


KEYS = {"filament": (FilamentSection, ...)}


def build(cfg, ctx) -> list:
    """MetalFilament on [charge] and [fracture]; sets the crack's volume control."""
    from femcell.config.base import ConfigError
    from femcell.physics.dendrite import MetalFilament

    f = cfg.filament
    ch, frac = ctx.info.get("charge"), ctx.info.get("fracture")
    if ch is None or frac is None:
        raise ConfigError("filament: needs [charge] and [fracture] sections")
    for key in ("electrode", "counter_electrode"):
        region = getattr(f, key)
        if region is not None and region not in ch.electrodes:
            raise ConfigError(f"filament.{key}: {region!r} is not an electrode of [charge] "
                              f"({', '.join(ch.electrodes)})")
    if f.counter_electrode == f.electrode:
        raise ConfigError("filament.counter_electrode: must differ from filament.electrode")
    if cfg.fracture.volume is not None or cfg.fracture.pressure is not None:
        raise ConfigError("fracture.volume: with [filament] the deposited metal sets the "
                          "crack volume; remove fracture.volume / fracture.pressure")
    if cfg.fracture.split not in ("none", "hybrid"):
        raise ConfigError(f"fracture.split = {cfg.fracture.split!r}: a metal-filled crack is "
                          "volume-controlled, which needs split = 'hybrid' or 'none'")
    if not cfg.fracture.initial_cracks:
        raise ConfigError("filament: needs a flaw to fill (fracture.initial_cracks from the "
                          f"{f.electrode} interface)")
    kin = [k for k in ch.kinetics if k.electrode == f.electrode]
    if not kin:
        raise ConfigError(f"filament.electrode: no [[kinetics]] entry for {f.electrode!r}")
    omega = f.molar_volume or ch.conductors[f.electrode].molar_volume
    if not omega > 0:
        raise ConfigError(f"filament.molar_volume: the conductor of {f.electrode!r} has none in "
                          "the library; give it")
    fil = MetalFilament(ch, frac, electrode=f.electrode, law=kin[0].law, molar_volume=omega,
                        equilibrium_potential=kin[0].equilibrium_potential,
                        exponent=f.exponent, counter_electrode=f.counter_electrode,
                        short_damage=f.short_damage)
    ctx.info["filament"] = fil
    ctx.info["volume_control"] = (frac, lambda t: fil.metal_volume(float(fil.time.dt.value)),
                                  fil)
    return [fil]
