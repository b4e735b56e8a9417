"""Node options from the environment and a config file: ``FLOWSTONE_<FIELD>``, ``flowstone.toml``.

Every ``NodeConfig`` field that is plain data (text, numbers, flags, choices, the queue
table, lists of text) can be set by an environment variable ``FLOWSTONE_<FIELD>`` and by
a ``flowstone.toml`` (or ``[tool.flowstone]`` of a ``pyproject.toml``), found from the
working directory upwards or named by ``FLOWSTONE_CONFIG``. Precedence: an explicit
argument > the environment > the file > the default. Objects (stores, IO managers,
retry policies, schedules, clocks, resources) are arguments only.

A bad value names where it came from (``FLOWSTONE_QUEUES: ...``, ``flowstone.toml:
queues: ...``) so that the fix is obvious. tomllib and our own parsing, not
pydantic-settings: docs/decisions.md says why.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from flowstone._node.config import NodeConfig
from flowstone.errors import OptionError

__all__ = ["PLAIN_FIELDS", "SECRET_FIELDS", "Resolved", "env_name", "find_file", "merge", "resolve", "shown"]

SECRET_FIELDS: Final = frozenset({"signal_secret", "previous_signal_secrets"})
_TRUE, _FALSE = frozenset({"1", "true", "yes", "on"}), frozenset({"0", "false", "no", "off"})


def _text(raw: str) -> str:
    return raw


def _bool(raw: str) -> bool:
    if raw.strip().lower() in _TRUE:
        return True
    if raw.strip().lower() in _FALSE:
        return False
    raise ValueError(f"expected true or false, got {raw!r}")


def _int(raw: str) -> int:
    try:
        return int(raw.strip().replace("_", ""))
    except ValueError:
        raise ValueError(f"expected a whole number, got {raw!r}") from None


def _float(raw: str) -> float:
    try:
        return float(raw.strip())
    except ValueError:
        raise ValueError(f"expected a number of seconds, got {raw!r}") from None


def _queues(raw: str) -> dict[str, int]:
    """``assets=8,reports=2`` (commas or spaces), as ``flowstone worker --queues`` takes."""
    table: dict[str, int] = {}
    for pair in re.split(r"[,\s]+", raw.strip()):
        name, sep, limit = pair.partition("=")
        if not pair or not sep or not name:
            raise ValueError(f"expected NAME=N pairs such as assets=8,reports=2, got {raw!r}")
        table[name] = _int(limit)
    return table


def _names(raw: str) -> tuple[str, ...]:
    return tuple(part for part in re.split(r"[,\s]+", raw.strip()) if part)


#: field -> parser of its environment text; the file gives TOML values of the same shape.
PLAIN_FIELDS: Final[Mapping[str, Callable[[str], Any]]] = {
    "name": _text,
    "database_url": _text,
    "auto_migrate": _bool,
    "max_value_bytes": _int,
    "max_concurrency": _int,
    "max_parallel": _int,
    "lineage_failure": _text,
    "health_timeout": _float,
    "memory_records": _int,
    "queues": _queues,
    "rescue_after": _float,
    "prune_after": _float,
    "shutdown_grace": _float,
    "poll_interval": _float,
    "connect_timeout": _float,
    "statement_timeout": _float,
    "upkeep": _bool,
    "allow_imports": _names,
    "max_scatter_key_bytes": _int,
    "scatter_lease": _float,
    "signal_secret": _text,
    "previous_signal_secrets": _names,
    "max_signal_bytes": _int,
    "wait_tick": _float,
    "route_decisions": _text,
    "route_decision_ttl": _float,
    "on_give_up": _text,
    "isolation": _text,
    "testing": _text,
}
_OPTIONAL: Final = frozenset({"database_url", "upkeep", "allow_imports", "signal_secret", "testing"})


def env_name(field: str) -> str:
    return f"FLOWSTONE_{field.upper()}"


@dataclass(frozen=True, slots=True)
class Resolved:
    """The options to build a ``NodeConfig`` from, and where each plain one came from."""

    values: dict[str, Any]
    sources: dict[str, str]  # field -> "argument", "FLOWSTONE_X", "<file>" or "default"
    file: Path | None


def find_file(start: Path, environ: Mapping[str, str]) -> tuple[Path, str] | None:
    """The config file and how to name it: ``FLOWSTONE_CONFIG``, else the nearest
    ``flowstone.toml`` or ``pyproject.toml`` with ``[tool.flowstone]`` from ``start`` up."""
    named = environ.get("FLOWSTONE_CONFIG")
    if named:
        path = Path(named)
        if not path.is_file():
            raise OptionError(f"FLOWSTONE_CONFIG: no such file {named!r}")
        return path, _label(path)
    for folder in (start, *start.parents):
        if (folder / "flowstone.toml").is_file():
            return folder / "flowstone.toml", _label(folder / "flowstone.toml")
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file() and "flowstone" in _read(pyproject, str(pyproject)).get("tool", {}):
            return pyproject, _label(pyproject)
    return None


def _label(path: Path) -> str:
    return f"{path} [tool.flowstone]" if path.name == "pyproject.toml" else str(path)


def _read(path: Path, label: str) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise OptionError(f"{label}: cannot read it as TOML: {exc}") from None


def _file_values(path: Path, label: str) -> dict[str, Any]:
    data = _read(path, label)
    table = data.get("tool", {}).get("flowstone", {}) if path.name == "pyproject.toml" else data
    unknown = sorted(set(table) - set(PLAIN_FIELDS))
    if unknown:
        raise OptionError(
            f"{label}: unknown option {unknown[0]!r}; the file may set {', '.join(sorted(PLAIN_FIELDS))}"
        )
    # TOML arrays become tuples, as NodeConfig holds its lists of text
    return {key: tuple(value) if isinstance(value, list) else value for key, value in table.items()}


def _env_values(environ: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for field, parse in PLAIN_FIELDS.items():
        raw = environ.get(env_name(field))
        if raw is None:
            continue
        if raw == "" and field in _OPTIONAL:
            values[field] = None
            continue
        try:
            values[field] = parse(raw)
        except ValueError as exc:
            raise OptionError(f"{env_name(field)}: {exc}") from None
    return values


def resolve(
    explicit: Mapping[str, Any], *, environ: Mapping[str, str] | None = None, cwd: Path | None = None
) -> Resolved:
    """Merge explicit options over the environment over the file; check the result.

    Raises:
        OptionError: a value that does not parse or does not pass ``NodeConfig``'s checks,
            prefixed with the variable or file it came from.
    """
    resolved = merge(explicit, environ=environ, cwd=cwd)
    try:
        NodeConfig(**resolved.values)
    except OptionError as exc:
        raise _from_source(exc, resolved.sources) from None
    except TypeError:
        pass  # an unknown or misspelt explicit keyword: build_options reports it, with hints
    return resolved


def merge(
    explicit: Mapping[str, Any], *, environ: Mapping[str, str] | None = None, cwd: Path | None = None
) -> Resolved:
    """``resolve`` without the final check: each layer parsed, then merged by precedence."""
    environ = os.environ if environ is None else environ
    found = find_file(cwd or Path.cwd(), environ)
    from_file = _file_values(*found) if found else {}
    from_env = _env_values(environ)
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for layer, name_of in (
        (from_file, lambda _field: found[1] if found else ""),
        (from_env, env_name),
        (explicit, lambda _field: "argument"),
    ):
        for field, value in layer.items():
            values[field] = value
            sources[field] = name_of(field)
    for field in PLAIN_FIELDS:
        sources.setdefault(field, "default")
    return Resolved(values, sources, found[0] if found else None)


def _from_source(exc: OptionError, sources: Mapping[str, str]) -> OptionError:
    message = str(exc)
    for field in sorted(sources, key=len, reverse=True):
        if re.match(rf"{field}\b", message) and sources[field] != "argument":
            return OptionError(f"{sources[field]}: {message}")
    return exc


def shown(resolved: Resolved) -> list[dict[str, Any]]:
    """Each plain field's value (secrets masked, the URL's password too) and its source."""
    defaults = NodeConfig()
    rows = []
    for field in PLAIN_FIELDS:
        value = resolved.values.get(field, getattr(defaults, field))
        if field in SECRET_FIELDS and value:
            value = "********"
        elif field == "database_url" and value:
            from flowstone._store.sql.engine import mask  # noqa: PLC0415 - SQLAlchemy loads lazily

            value = mask(value)
        rows.append(
            {"option": field, "value": value, "source": resolved.sources[field], "env": env_name(field)}
        )
    return rows
