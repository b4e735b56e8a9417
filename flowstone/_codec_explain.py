"""Explaining why a value cannot be encoded: the path to the offending part, and advice.

Only called after encoding failed, so the happy path pays nothing for it.
"""

from __future__ import annotations

import dataclasses
import enum
import math
from collections.abc import Callable, Mapping
from datetime import date, datetime, time
from types import MappingProxyType
from typing import Any, Final

import msgpack

from flowstone.errors import EncodeError

_PLAIN_DATA = (
    "return plain data: dict, list, str, int, float, bool, None, bytes, date/datetime/time, "
    "Decimal, UUID, tuple, set; or convert the object to one of these"
)
_JSON_ONLY = (
    "the JSON format takes only JSON types (None, bool, int, finite float, str, list, "
    "dict with str keys); use the default msgpack format for other values"
)
_UNPAIRED = "has an unpaired surrogate, which UTF-8 cannot encode; fix the text's decoding"
# What msgpack writes itself even with strict_types=True; the locator accepts them too.
_NATIVE: Final = frozenset(
    {type(None), bool, int, float, bytes, bytearray, memoryview, msgpack.ExtType, msgpack.Timestamp}
)
# In this order a subclass is told its nearest supported base (datetime before date).
_BASES: Final = (int, float, str, bytes, list, tuple, dict, frozenset, set, datetime, date, time)
_FRIENDLY_NAMES: Final = MappingProxyType({"_thread.lock": "Lock", "_thread.RLock": "RLock"})


@dataclasses.dataclass(frozen=True, slots=True)
class _Child:
    """A part of a container: its subscript step, or a note when it has none (a set element)."""

    obj: Any
    step: str = ""
    note: str = ""


def _locate(value: Any, inspect: Callable[[Any], str | list[_Child]]) -> tuple[str, str] | None:
    """Return ``(path, message)`` for the first part ``inspect`` rejects, in writing order.

    The walk is iterative, so a deep value cannot overflow the Python stack, and it tracks
    the containers on the current path (not all seen ones), so a shared sub-value is fine
    while a container inside itself is reported as a cycle.
    """
    active: set[int] = set()
    stack: list[tuple[bool, Any, str, str]] = [(False, value, "value", "")]
    while stack:
        leaving, obj, path, note = stack.pop()
        if leaving:
            active.discard(id(obj))
            continue
        where = f"{path} ({note})" if note else path
        result = inspect(obj)
        if isinstance(result, str):
            return path, f"{where}: {result}"
        if not result:
            continue
        if id(obj) in active:
            cycle = "contains itself (a reference cycle); store a tree, e.g. ids instead of links"
            return path, f"{where}: {_name(obj)} {cycle}"
        active.add(id(obj))
        stack.append((True, obj, path, note))
        for child in reversed(result):
            inside = note or child.note  # within a key or set element, the path stops
            stack.append((False, child.obj, path if inside else path + child.step, inside))
    return None


def _msgpack_children(obj: Any, encoders: Mapping[type, Callable[[Any], Any]]) -> str | list[_Child]:
    kind = type(obj)
    if kind in _NATIVE:
        return []
    if kind is str:
        return [] if _is_utf8(obj) else f"str {_UNPAIRED}"
    if kind is list or kind is tuple:
        return [_Child(item, f"[{i}]") for i, item in enumerate(obj)]
    if kind is dict:  # msgpack writes each key before its value
        return [
            child
            for key, item in obj.items()
            for child in (_Child(key, note="in a dict key"), _Child(item, f"[{key!r}]"))
        ]
    if kind is set or kind is frozenset:
        return [_Child(item, note=f"in a {kind.__name__} element") for item in obj]
    encoder = encoders.get(kind)
    if encoder is None:
        return f"{_name(obj)} is not serializable; {_advice(obj)}"
    try:
        encoder(obj)
    except Exception as exc:  # noqa: BLE001 - reported to the caller, never swallowed
        return f"{_name(obj)} cannot be encoded ({type(exc).__name__}: {exc}); {_PLAIN_DATA}"
    return []


def _json_children(obj: Any) -> str | list[_Child]:
    kind = type(obj)
    if obj is None or kind is bool or kind is int:
        return []
    if kind is str:
        return [] if obj.isascii() or _is_utf8(obj) else f"str {_UNPAIRED}"
    if kind is float:
        return [] if math.isfinite(obj) else f"float {obj!r} is not allowed; {_JSON_ONLY}"
    if kind is list:
        return [_Child(item, f"[{i}]") for i, item in enumerate(obj)]
    if kind is dict:
        for key in obj:
            if type(key) is not str:
                return (
                    f"dict key {key!r} ({_name(key)}) is not a str, and json would turn it "
                    f"into one; {_JSON_ONLY}"
                )
        return [_Child(item, f"[{key!r}]") for key, item in obj.items()]
    if kind is tuple:
        return (
            "tuple is not a JSON type: it would come back as a list; use a list, or the "
            "default msgpack format, which keeps tuples"
        )
    return f"{_name(obj)} is not a JSON type; {_JSON_ONLY}"


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _name(obj: Any) -> str:
    kind = type(obj)
    return _FRIENDLY_NAMES.get(f"{kind.__module__}.{kind.__qualname__}", kind.__name__)


def _advice(obj: Any) -> str:
    if isinstance(obj, enum.Enum):
        return "store its .value instead (decoding never looks a class up by name)"
    if dataclasses.is_dataclass(obj):
        return f"convert it with dataclasses.asdict(), or {_PLAIN_DATA}"
    for base in _BASES:
        if isinstance(obj, base):
            return (
                f"it is a subclass of {base.__name__} and only exact types are stored (it "
                f"would come back as a plain {base.__name__}); convert it to {base.__name__}"
            )
    return _PLAIN_DATA


def _explain(value: Any, exc: Exception, encoders: Mapping[type, Callable[[Any], Any]]) -> EncodeError:
    found = _locate(value, lambda obj: _msgpack_children(obj, encoders))
    if found is not None:
        return EncodeError(found[1], path=found[0])
    if isinstance(exc, ValueError) and "recursion" in str(exc):
        return EncodeError(f"value nests containers more than about 1023 deep ({exc}); flatten it")
    return EncodeError(f"value cannot be encoded: {type(exc).__name__}: {exc}; {_PLAIN_DATA}")


def _check_size(size: int, max_bytes: int) -> None:
    if size > max_bytes:
        raise EncodeError(
            f"value encodes to {size:,} bytes ({size / 2**20:.1f} MiB), over the limit of "
            f"{max_bytes:,} bytes ({max_bytes / 2**20:.1f} MiB); store large data with a "
            "Files IO manager, or raise the limit (max_value_bytes)"
        )
