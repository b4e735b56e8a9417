"""Explaining why a value cannot be encoded: the path to the offending part, and advice.

For msgpack only called after encoding failed, so the happy path pays nothing for it;
JSON values are checked before they are written, as :mod:`json` would change some types.
Either way the walk costs memory in proportion to the value and stops at the nesting
limit, so no value can make explaining it exhaust the process.
"""

from __future__ import annotations

import dataclasses
import enum
import math
import reprlib
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
_FLATTEN = "flatten it, for example a tree as rows that name their parent"
_UNPAIRED = "has an unpaired surrogate, which UTF-8 cannot encode; fix the text's decoding"
# What msgpack writes itself even with strict_types=True; the locator accepts them too.
_NATIVE: Final = frozenset(
    {type(None), bool, int, float, bytes, bytearray, memoryview, msgpack.ExtType, msgpack.Timestamp}
)
# In this order a subclass is told its nearest supported base (datetime before date).
_BASES: Final = (int, float, str, bytes, list, tuple, dict, frozenset, set, datetime, date, time)
_IN_KEY, _IN_SET, _IN_FROZENSET = "in a dict key", "in a set element", "in a frozenset element"
_FRIENDLY_NAMES: Final = MappingProxyType({"_thread.lock": "Lock", "_thread.RLock": "RLock"})


MSGPACK_MAX_DEPTH: Final = 1024
"""The most levels msgpack writes (and reads back), the value itself and leaves included."""
JSON_MAX_DEPTH: Final = 512
"""The most levels :func:`encode_json` takes: Python's json recurses once per container on
the caller's stack (about 1,000 frames in all), so the limit leaves room for the caller."""

_SHORT = reprlib.Repr()
_SHORT.maxstring = _SHORT.maxother = _SHORT.maxlong = 120
_SHORT.maxlevel = 4


@dataclasses.dataclass(frozen=True, slots=True)
class _Child:
    """A part of a container: its subscript key (an index or a dict key), or a note when it
    has none (a set element, a dict key), the path then stopping at the container."""

    obj: Any
    key: Any = None
    note: str = ""


_Path = tuple["_Path | None", Any]  # (the parent's path, this step's key); None is the root
_Inspect = Callable[[Any], "str | list[_Child] | None"]


def _locate(value: Any, inspect: _Inspect, max_depth: int) -> tuple[str, str] | None:
    """Return ``(path, message)`` for the first part ``inspect`` rejects, in writing order.

    ``inspect`` returns a message for a rejected part, the children of a container (a list,
    maybe empty), or None for anything else. The walk is iterative, so a deep value cannot
    overflow the Python stack; it tracks the containers on the current path (not all seen
    ones), so a shared sub-value is fine while a container inside itself is reported as a
    cycle. Each pending part costs a few words: its path is a link to its parent's, spelled
    out only for the report (a string per part made memory grow with the square of the
    depth). A part deeper than ``max_depth`` levels (the value itself is level 1) is
    reported at once, so the rest of a very deep value is never walked.
    """
    active: set[int] = set()
    # (leaving, part, path, note, depth): a container is left once its children are done.
    stack: list[tuple[bool, Any, _Path | None, str, int]] = [(False, value, None, "", 1)]
    while stack:
        leaving, obj, path, note, depth = stack.pop()
        if leaving:
            active.discard(id(obj))
            continue
        if depth > max_depth:
            levels = f"at most {max_depth} levels, counting the value and its innermost parts"
            deep = f"nests containers more than about {max_depth - 1} deep ({levels})"
            return _report(path, note, f"the value {deep}; {_FLATTEN}")
        result = inspect(obj)
        if isinstance(result, str):
            return _report(path, note, result)
        if not result:
            continue
        if id(obj) in active:
            cycle = "contains itself (a reference cycle); store a tree, e.g. ids instead of links"
            return _report(path, note, f"{_name(obj)} {cycle}")
        active.add(id(obj))
        stack.append((True, obj, path, note, depth))
        for child in reversed(result):
            if note or child.note:  # within a key or set element, the path stops
                stack.append((False, child.obj, path, note or child.note, depth + 1))
            else:
                stack.append((False, child.obj, (path, child.key), "", depth + 1))
    return None


def _report(path: _Path | None, note: str, problem: str) -> tuple[str, str]:
    keys = []
    while path is not None:
        path, key = path
        keys.append(key)
    spelled = "value" + "".join(f"[{_SHORT.repr(key)}]" for key in reversed(keys))
    where = f"{spelled} ({note})" if note else spelled
    return spelled, f"{where}: {problem}"


def _msgpack_children(obj: Any, encoders: Mapping[type, Callable[[Any], Any]]) -> str | list[_Child] | None:
    kind = type(obj)
    if kind in _NATIVE:
        return None
    if kind is str:
        return None if _is_utf8(obj) else f"str {_UNPAIRED}"
    if kind is list or kind is tuple:
        return [_Child(item, i) for i, item in enumerate(obj)]
    if kind is dict:  # msgpack writes each key before its value
        return [
            child for key, item in obj.items() for child in (_Child(key, note=_IN_KEY), _Child(item, key))
        ]
    if kind is set or kind is frozenset:
        note = _IN_SET if kind is set else _IN_FROZENSET
        return [_Child(item, note=note) for item in obj]
    encoder = encoders.get(kind)
    if encoder is None:
        return f"{_name(obj)} is not serializable; {_advice(obj)}"
    try:
        encoder(obj)
    except Exception as exc:  # noqa: BLE001 - reported to the caller, never swallowed
        return f"{_name(obj)} cannot be encoded ({type(exc).__name__}: {exc}); {_PLAIN_DATA}"
    return None


def _json_children(obj: Any) -> str | list[_Child] | None:
    kind = type(obj)
    if obj is None or kind is bool or kind is int:
        return None
    if kind is str:
        return None if obj.isascii() or _is_utf8(obj) else f"str {_UNPAIRED}"
    if kind is float:
        return None if math.isfinite(obj) else f"float {obj!r} is not allowed; {_JSON_ONLY}"
    if kind is list:
        return [_Child(item, i) for i, item in enumerate(obj)]
    if kind is dict:
        for key in obj:
            if type(key) is not str:
                return (
                    f"dict key {_SHORT.repr(key)} ({_name(key)}) is not a str, and json would "
                    f"turn it into one; {_JSON_ONLY}"
                )
        return [_Child(item, key) for key, item in obj.items()]
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
    found = _locate(value, lambda obj: _msgpack_children(obj, encoders), MSGPACK_MAX_DEPTH)
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
