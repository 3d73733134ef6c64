"""Reading study files, --set overrides and one-line validation messages (no DOLFINx)."""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import ValidationError

from femcell.config.base import ConfigError, _show

_TYPE_NAMES = ("float", "int", "str", "bool", "none", "any")
# pydantic error types whose message does not show the value: it is added
_SHOW_INPUT = ("greater_than", "greater_than_equal", "less_than", "less_than_equal",
               "multiple_of", "int_type", "int_parsing", "int_from_float", "float_type",
               "float_parsing", "bool_type", "bool_parsing", "string_type", "dict_type",
               "list_type", "string_pattern_mismatch")


def _loc_part(p) -> bool:
    """False for the entries pydantic adds to an error location for unions and validators
    ("function-after[...]", "list[...]", "float", ...), which are not keys."""
    text = str(p)
    return not (text in _TYPE_NAMES or text.startswith(("function-", "list[", "dict[",
                                                         "literal[", "tagged-union[",
                                                         "union[", "nullable[", "tuple[",
                                                         "lax-or-strict[", "chain[",
                                                         "json-or-python[")))


def validation_message(exc: Exception, prefix: str = "study") -> str:
    """One line naming the key path and the problem of a pydantic ValidationError (for other
    exceptions, their first line), e.g. "study.toml: time.end: '5 m' is not a time ...".

    Args:
        exc: the exception (usually a pydantic ValidationError).
        prefix: what the line starts with: the file, or e.g. "cases.x.set".
    """
    if not isinstance(exc, ValidationError):
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        return f"{prefix}: {first}"
    errs = exc.errors()
    # with unions (a value or a list), the deepest location names the real culprit
    e = max(errs, key=lambda x: (x["type"] != "missing", x["type"] == "femcell",
                                 len(x["loc"])))
    loc = ".".join(str(p) for p in e["loc"] if _loc_part(p))
    msg = e["msg"].removeprefix("Value error, ")
    ctx = e.get("ctx") or {}
    if e["type"] == "femcell":
        msg = ctx["msg"]
        if ctx.get("sub"):
            loc = f"{loc}.{ctx['sub']}" if loc else ctx["sub"]
    elif e["type"] == "finite_number":
        msg = f"= {_show(e.get('input'))} is not a finite number"
    elif e["type"] in _SHOW_INPUT and isinstance(e.get("input"), int | float | str):
        msg = f"= {_show(e['input'])}: {msg}"
    elif e["type"] == "too_short" and isinstance(e.get("input"), list | dict):
        n = ctx.get("min_length", 1)
        msg = f"is empty (give at least {n} entr{'y' if n == 1 else 'ies'})"
        return f"{prefix}: {loc} {msg}" if loc else f"{prefix}: {msg}"
    msg = " ".join(msg.split())  # one line
    if e["type"] == "extra_forbidden":
        return f"{prefix}: unknown key '{loc}'"
    if e["type"] == "missing":
        return f"{prefix}: missing key '{loc}'"
    if e["type"] == "literal_error":
        return f"{prefix}: {loc} = {e.get('input')!r}: {msg}"
    if not loc:
        return f"{prefix}: {msg}"
    if msg.startswith("= "):
        return f"{prefix}: {loc} {msg}"
    if msg.startswith(loc) and msg[len(loc):len(loc) + 1] in (".", ":", " "):
        return f"{prefix}: {msg}"  # the message names the full key path itself
    return f"{prefix}: {loc}: {msg}"


_format = validation_message  # the former name


def read_study(path: str | Path, _chain: tuple = ()) -> dict:
    """Read a study TOML file into a dict.

    A top-level `extends = "other.toml"` (a path relative to this file) reads that study
    first and merges this file over it: tables merge key by key, any other value (a list,
    a number, a string) replaces the base's; a [sweep] table replaces the base's whole. A
    sweep file can so hold only its [study] and [sweep] tables and what it changes. A
    relative geometry.file of the base resolves against the base's folder.

    Raises:
        ConfigError: one line naming the file: missing, unreadable, not UTF-8, not TOML, a
            bad or circular `extends`.
    """
    data = _read_toml(path)
    base = data.pop("extends", None)
    if base is None:
        return data
    source = str(path)
    if not isinstance(base, str) or not base:
        raise ConfigError(f"{source}: extends = {base!r}: give the path of a study file")
    target = (Path(path).parent / base).resolve()
    if target in _chain or target == Path(path).resolve():
        raise ConfigError(f"{source}: extends = {base!r}: circular (the file extends itself)")
    if not target.is_file():
        raise ConfigError(f"{source}: extends = {base!r}: no such study file ({target})")
    parent = read_study(target, (*_chain, Path(path).resolve()))
    geo = parent.get("geometry")
    if isinstance(geo, dict) and isinstance(geo.get("file"), str):
        # a mesh or .geo file named by the base resolves against the base's folder
        f = Path(geo["file"])
        if not f.is_absolute():
            parent["geometry"] = {**geo, "file": str((target.parent / f).resolve())}
    return _merged(parent, data, whole=("sweep",))


def _merged(base: dict, over: dict, whole=()) -> dict:
    """base with over merged into it (tables key by key, other values replaced; the
    top-level tables named in `whole` replaced as a whole)."""
    out = dict(base)
    for k, v in over.items():
        out[k] = (_merged(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict)
                  and k not in whole else v)
    return out


def _read_toml(path: str | Path) -> dict:
    source = str(path)
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"{source}: no such study file")
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{source}: cannot read the file ({exc.strerror or exc})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(f"{source}: not UTF-8 text (byte 0x{raw[exc.start]:02x} on line "
                          f"{line}); save the file with UTF-8 encoding") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML ({exc})") from None
    except RecursionError:
        raise ConfigError(f"{source}: not valid TOML (nested too deeply)") from None


def _parse_value(text: str):
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except (tomllib.TOMLDecodeError, RecursionError):
        return text


def split_key(dotted: str) -> list[str]:
    """The parts of a dotted key as TOML reads it: "a.b.0.c" -> [a, b, 0, c], and a part in
    quotes may hold dots: 'charge.group_conductors."electrolyte.matrix".conductivity'."""
    try:
        node, parts = tomllib.loads(f"{dotted.strip()} = 0"), []
        while isinstance(node, dict) and len(node) == 1:
            (k, node), = node.items()
            parts.append(k)
        return parts
    except (tomllib.TOMLDecodeError, RecursionError):
        return dotted.strip().split(".")


def apply_overrides(data: dict, overrides: list[str]) -> dict:
    """Apply ["a.b=c", ...] overrides (TOML literals or plain strings) to nested data. A key
    below a value given by name (`material = "nmc811"`) turns it into a table with that
    name (`{name = "nmc811", c_max = ...}`)."""
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"--set {item!r}: expected key=value")
        key, text = item.split("=", 1)
        parts = split_key(key)
        node = data
        for i, p in enumerate(parts[:-1]):
            if isinstance(node, list):
                try:
                    node = node[int(p)]
                except (ValueError, IndexError):
                    raise ConfigError(f"--set {key}: no list item {p!r}") from None
                continue
            nxt = node.setdefault(p, {})
            if isinstance(nxt, str):  # a thing given by name ("nmc811") gets a key: a table
                nxt = node[p] = {"name": nxt}
            if not isinstance(nxt, dict | list):
                raise ConfigError(f"--set {key}: '{'.'.join(parts[: i + 1])}' is not a table")
            node = nxt
        last = parts[-1]
        if isinstance(node, list):
            raise ConfigError(f"--set {key}: cannot set a list item directly")
        node[last] = _parse_value(text.strip())
    return data


