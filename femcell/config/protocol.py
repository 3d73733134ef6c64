"""Protocol tables ([[protocol]] steps) checked as the protocol runner reads them."""

from __future__ import annotations

import math
from typing import Any

from femcell.config.base import _show, _too_many_steps, temperature_problem
from femcell.units import UnitError, to_si


class _ProtocolValue(Exception):
    """A protocol value to fix (not a ValueError: passes through Protocol.from_dicts)."""


# protocol keys (the last part of the key path) that must be > 0
_PROTOCOL_POSITIVE = ("dt", "time", "charge", "current_above", "current_below")


def _protocol_value(dim: str, key: str, value: Any) -> float:
    """Protocol.from_dicts' converter: SI, finite, positive durations, steps and charges,
    plausible temperatures. Raises _ProtocolValue naming the key path."""
    try:
        x = to_si(value, dim, name=key)
    except UnitError as exc:
        raise _ProtocolValue(str(exc)) from None
    if key.rsplit(".", 1)[-1] in _PROTOCOL_POSITIVE and not x > 0:
        raise _ProtocolValue(f"{key} = {_show(value)} must be positive")
    if dim == "temperature":
        why = temperature_problem(x, value)
        if why:
            raise _ProtocolValue(f"{key} {why}")
    return x


def _check_repeats(items: list, where: str = "protocol") -> None:
    for i, it in enumerate(items):
        if isinstance(it, dict) and "repeat" in it:
            n = it["repeat"]
            if isinstance(n, bool) or not isinstance(n, int) or n < 1:
                raise _ProtocolValue(f"{where}.{i}.repeat = {_show(n)} must be a whole number "
                                     ">= 1")
            if isinstance(it.get("steps"), list):
                _check_repeats(it["steps"], f"{where}.{i}.steps")


def check_protocol(items: list[dict], dt: float | None = None):
    """Validate protocol tables as `run_cell_study` reads them (via Protocol.from_dicts),
    with positive dt, durations and charges, plausible temperatures and at most
    $FEMCELL_MAX_STEPS fixed time steps in all (`dt`: the default step [s]).

    Returns:
        The Protocol.

    Raises:
        ValueError: one line starting with the key path ("protocol.1.dt = ...").
    """
    from femcell.experiment import Protocol, ProtocolError, Repeat

    try:
        _check_repeats(items)
        proto = Protocol.from_dicts(items, _protocol_value)
    except (_ProtocolValue, ProtocolError) as exc:
        msg = str(exc)
        if not msg.startswith("protocol."):  # a step's own check: find the entry
            k = 1
            while k < len(items):
                try:
                    Protocol.from_dicts(items[:k], _protocol_value)
                except (_ProtocolValue, ProtocolError):
                    break
                k += 1
            msg = f"protocol.{k - 1}: {msg}"
        raise ValueError(msg) from None
    if dt is None:
        return proto

    def count(entries, where):  # (time steps, the step that contributes most)
        total, worst = 0.0, (0.0, "")
        for i, it in enumerate(entries):
            if isinstance(it, Repeat):
                n, _ = count(it.steps, f"{where}.{i}.steps")
                total += it.count * n
                worst = max(worst, (it.count * n, f"{where}.{i}"))
                continue
            limit = it.time_limit()
            if math.isfinite(limit):
                n = limit / (it.dt or dt)
                total += n
                worst = max(worst, (n, f"{where}.{i}"))
        return total, worst

    total, (_, where) = count(proto.items, "protocol")
    why = _too_many_steps(total, f"with dt = {dt:g} s (step dt where given), the protocol")
    if why:
        raise ValueError(f"{where}: {why}" if where else f"protocol: {why}")
    return proto


