"""The one serialization boundary for stored values: msgpack by default, JSON on request.

Every stored value passes through :func:`encode`/:func:`decode` (or the JSON pair), so a
reader gets back exactly what the asset returned, with the same types at every nesting
level. There is no pickle: decoding builds only the types below and never imports or runs
anything named by the data.

Default format: a format-version byte (:data:`FORMAT_VERSION`), then msgpack. msgpack
writes plain types itself, so plain data encodes at msgpack speed; other types use
explicit extension codes:

=================  ===============================================  ==================
Python type        stored as                                        read back as
=================  ===============================================  ==================
None, bool         nil, true/false                                  same
int                int; beyond 64 bits ext 1 (two's complement)     int (any size)
float              float64 (NaN, ±inf and -0.0 kept)                float
str                str (UTF-8; unpaired surrogates are rejected)    str
bytes              bin                                              bytes
list               array                                            list
dict               map; keys may be any encodable hashable value    dict (order kept)
tuple              array led by an empty ext 2                      tuple
set, frozenset     array led by an empty ext 3 / ext 4              set, frozenset
datetime.date      ext 5: year, month, day                          date
datetime.time      ext 6: fields and fold, + UTC offset if aware    time
datetime.datetime  ext 7: fields and fold, + UTC offset if aware    datetime
decimal.Decimal    ext 8: its str (digits, exponent, NaN kept)      Decimal
uuid.UUID          ext 9: 16 bytes                                  UUID
=================  ===============================================  ==================

* Types match exactly, so ``1``, ``True`` and ``1.0`` stay distinct, as do date and
  datetime. Subclasses (``OrderedDict``, ``IntEnum``, namedtuples, ``numpy.float64``,
  ``pandas.Timestamp``) and unknown classes raise :class:`EncodeError`, naming the path
  and how to convert, since they could only come back as their base type.
* Naive datetimes and times stay naive. Aware ones keep wall-clock fields, ``fold`` and
  UTC offset, and come back with a fixed-offset :class:`datetime.timezone` (a
  ``ZoneInfo`` name is not stored): the instant and the offset are exact.
* msgpack itself writes ``bytearray`` and ``memoryview`` as bin (they come back as
  ``bytes``) and writes its own ``ExtType``/``Timestamp`` raw; do not store those.
* Size is at most ``max_bytes`` (:data:`DEFAULT_MAX_VALUE_BYTES`, 64 MiB); containers
  nest at most 1,024 deep (512 in JSON), a deeper value being refused where it crosses
  the limit, without a walk of the rest; reference cycles are rejected.
* Sets are written in iteration order, so their bytes can differ between processes (str
  hashes are randomised); the decoded value is always equal.

JSON format (:func:`encode_json`/:func:`decode_json`), for values queried in SQL: None,
bool, int, finite float, str, list and dict with str keys, nothing else; tuples are
rejected because they would come back as lists. The text has no version byte, so it stays
plain JSON; the store records which format a value uses.

Raises:
    EncodeError: ``err.path`` names the offending place in subscript syntax, such as
        ``value['rows'][3][1]``, and the message says what to do instead.
    DecodeError: the bytes or text were not written by this codec, or are corrupt.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Callable, Mapping
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Final, NoReturn
from uuid import UUID

import msgpack

from flowstone._codec_explain import (
    _JSON_ONLY,
    JSON_MAX_DEPTH,
    _check_size,
    _explain,
    _json_children,
    _locate,
)
from flowstone.errors import DecodeError, EncodeError

__all__ = [
    "DEFAULT_MAX_VALUE_BYTES",
    "FORMAT_VERSION",
    "encode",
    "decode",
    "encode_json",
    "decode_json",
]

DEFAULT_MAX_VALUE_BYTES: Final = 64 * 1024 * 1024
"""The default limit on one encoded value; bigger data belongs in files, not the store."""

FORMAT_VERSION: Final = 1
"""The byte that leads every :func:`encode` output."""

_EXT_INT, _EXT_TUPLE, _EXT_SET, _EXT_FROZENSET, _EXT_DATE = 1, 2, 3, 4, 5
_EXT_TIME, _EXT_DATETIME, _EXT_DECIMAL, _EXT_UUID = 6, 7, 8, 9
_DATE = struct.Struct("<HBB")  # year, month, day
_TIME = struct.Struct("<BBBIB")  # hour, minute, second, microsecond, fold
_DATETIME = struct.Struct("<HBBBBBIB")  # the date's fields, then the time's
_OFFSET = struct.Struct("<q")  # UTC offset in microseconds, appended only when aware
_MICROSECOND: Final = timedelta(microseconds=1)
_VERSION_PREFIX: Final = bytes([FORMAT_VERSION])


class _UnencodableError(TypeError):
    """Raised by the msgpack hook for an unsupported type; :func:`_locate` explains it."""


# --- msgpack -------------------------------------------------------------------------------


def encode(value: Any, *, max_bytes: int = DEFAULT_MAX_VALUE_BYTES) -> bytes:
    """Encode a value to bytes that :func:`decode` turns back into an equal, same-typed value.

    Plain data goes straight through msgpack's C packer; only when that fails is the value
    walked to find and name the offending path, so valid values pay nothing for the walk.

    Raises:
        EncodeError: a part of the value is not serializable, or the result is bigger than
            ``max_bytes``.
    """
    try:
        # Packing [value] spends the one nesting level msgpack's packer allows beyond its
        # unpacker's stack, so whatever encodes also decodes; the version byte then
        # replaces the one-byte array header (0x91).
        packed: bytes = msgpack.packb(
            [value], default=_default, strict_types=True, use_bin_type=True, datetime=False
        )
    except Exception as exc:  # noqa: BLE001 - reported to the caller, never swallowed
        raise _explain(value, exc, _ENCODERS) from (None if isinstance(exc, _UnencodableError) else exc)
    _check_size(len(packed), max_bytes)
    return _VERSION_PREFIX + memoryview(packed)[1:]


def decode(data: bytes) -> Any:
    """Decode bytes written by :func:`encode`.

    Raises:
        DecodeError: the data is empty, has an unknown format version, or is corrupt.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise DecodeError(f"expected bytes from flowstone.codec.encode, got {type(data).__name__}")
    if len(data) == 0:
        raise DecodeError("cannot decode empty bytes: a codec value starts with a version byte")
    if data[0] != FORMAT_VERSION:
        hint = "; it looks like JSON: use decode_json" if data[:1] in (b"{", b"[") else ""
        raise DecodeError(
            f"unknown codec format version {data[0]} (this FlowStone reads version "
            f"{FORMAT_VERSION}): written by a newer FlowStone, or not a codec value{hint}"
        )
    reader = _Reader()
    try:
        value = msgpack.unpackb(
            memoryview(data)[1:],
            ext_hook=reader.ext_hook,
            list_hook=reader.list_hook,
            use_list=True,
            raw=False,
            strict_map_key=False,
        )
    except DecodeError:
        raise
    except Exception as exc:  # msgpack, struct, datetime and Decimal errors alike
        raise DecodeError(f"corrupt codec value: {type(exc).__name__}: {exc}") from exc
    if reader.open_markers:
        raise DecodeError("corrupt codec value: a tuple or set marker is not first in an array")
    return value


def _default(obj: Any) -> Any:
    encoder = _ENCODERS.get(type(obj))
    if encoder is None:
        raise _UnencodableError
    return encoder(obj)


class _Marker:
    """What a collection's leading ext decodes to, until its array is rebuilt by ``build``."""

    __slots__ = ("build",)

    def __init__(self, build: Callable[[list[Any]], Any]) -> None:
        self.build = build


class _Reader:
    """The msgpack hooks for decoding one value.

    Tuples and sets are arrays led by an empty marker ext, not exts holding packed arrays:
    each nested ext would run msgpack's unpacker again on the C stack (about 40 KB a level,
    a crash a few hundred levels down), while marked arrays nest like lists. Markers are
    counted so that one anywhere but first in an array is an error, not a stray object.
    """

    __slots__ = ("open_markers",)

    def __init__(self) -> None:
        self.open_markers = 0

    def ext_hook(self, code: int, payload: bytes) -> Any:
        marker = _MARKERS.get(code)
        if marker is not None and not payload:
            self.open_markers += 1
            return marker
        decoder = _DECODERS.get(code)
        if decoder is None:
            raise DecodeError(f"unknown extension type {code}: not written by flowstone.codec")
        return decoder(payload)

    def list_hook(self, items: list[Any]) -> Any:
        if items and type(items[0]) is _Marker:
            self.open_markers -= 1
            return items[0].build(items[1:])
        return items


def _encode_time(t: time) -> msgpack.ExtType:
    return _clock(_EXT_TIME, _TIME.pack(t.hour, t.minute, t.second, t.microsecond, t.fold), t)


def _encode_datetime(d: datetime) -> msgpack.ExtType:
    fields = (d.year, d.month, d.day, d.hour, d.minute, d.second, d.microsecond, d.fold)
    return _clock(_EXT_DATETIME, _DATETIME.pack(*fields), d)


def _clock(code: int, payload: bytes, value: time | datetime) -> msgpack.ExtType:
    offset = value.utcoffset()  # Python's own test of awareness
    if offset is not None:
        payload += _OFFSET.pack(offset // _MICROSECOND)
    return msgpack.ExtType(code, payload)


def _zone(payload: bytes, layout: struct.Struct) -> timezone | None:
    if len(payload) == layout.size:
        return None
    (offset,) = _OFFSET.unpack(payload[layout.size :])  # struct.error unless exactly 8 bytes
    return timezone(offset * _MICROSECOND)


def _decode_time(payload: bytes) -> time:
    hour, minute, second, micro, fold = _TIME.unpack_from(payload)
    return time(hour, minute, second, micro, _zone(payload, _TIME), fold=fold)


def _decode_datetime(payload: bytes) -> datetime:
    year, month, day, hour, minute, second, micro, fold = _DATETIME.unpack_from(payload)
    tz = _zone(payload, _DATETIME)
    return datetime(year, month, day, hour, minute, second, micro, tz, fold=fold)


def _big_int(n: int) -> msgpack.ExtType:
    return msgpack.ExtType(_EXT_INT, n.to_bytes((n.bit_length() + 8) // 8, "big", signed=True))


_TUPLE_START: Final = msgpack.ExtType(_EXT_TUPLE, b"")
_SET_START: Final = msgpack.ExtType(_EXT_SET, b"")
_FROZENSET_START: Final = msgpack.ExtType(_EXT_FROZENSET, b"")
# For what msgpack does not write itself; an int arrives only when it exceeds 64 bits.
_ENCODERS: Final[Mapping[type, Callable[[Any], Any]]] = MappingProxyType(
    {
        int: _big_int,
        tuple: lambda t: [_TUPLE_START, *t],
        set: lambda s: [_SET_START, *s],
        frozenset: lambda s: [_FROZENSET_START, *s],
        date: lambda d: msgpack.ExtType(_EXT_DATE, _DATE.pack(d.year, d.month, d.day)),
        time: _encode_time,
        datetime: _encode_datetime,
        Decimal: lambda d: msgpack.ExtType(_EXT_DECIMAL, str(d).encode("ascii")),
        UUID: lambda u: msgpack.ExtType(_EXT_UUID, u.bytes),
    }
)
_MARKERS: Final[Mapping[int, _Marker]] = MappingProxyType(
    {_EXT_TUPLE: _Marker(tuple), _EXT_SET: _Marker(set), _EXT_FROZENSET: _Marker(frozenset)}
)
_DECODERS: Final[Mapping[int, Callable[[bytes], Any]]] = MappingProxyType(
    {
        _EXT_INT: lambda p: int.from_bytes(p, "big", signed=True),
        _EXT_DATE: lambda p: date(*_DATE.unpack(p)),
        _EXT_TIME: _decode_time,
        _EXT_DATETIME: _decode_datetime,
        _EXT_DECIMAL: lambda p: Decimal(p.decode("ascii")),
        _EXT_UUID: lambda p: UUID(bytes=bytes(p)),
    }
)


# --- JSON ----------------------------------------------------------------------------------


def encode_json(value: Any, *, max_bytes: int = DEFAULT_MAX_VALUE_BYTES) -> str:
    """Encode a JSON-typed value as compact JSON text, for values users query in SQL.

    The value is checked first because :mod:`json` would quietly write tuples as arrays
    and int dict keys as strings, which would not come back as they went in.

    Raises:
        EncodeError: a part of the value is not a JSON type, or the text's UTF-8 size is
            bigger than ``max_bytes``.
    """
    found = _locate(value, _json_children, JSON_MAX_DEPTH)
    if found is not None:
        raise EncodeError(found[1], path=found[0])
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    except RecursionError as exc:  # called with most of the Python stack already in use
        raise EncodeError(
            f"value nests too deeply for json from this call ({exc}); flatten it, or call "
            "encode_json with less of the Python stack in use"
        ) from exc
    except ValueError as exc:  # an int longer than sys.get_int_max_str_digits()
        raise EncodeError(f"value cannot be written as JSON: {exc}; {_JSON_ONLY}") from exc
    _check_size(len(text) if text.isascii() else len(text.encode("utf-8")), max_bytes)
    return text


def decode_json(text: str | bytes) -> Any:
    """Decode text written by :func:`encode_json`.

    Raises:
        DecodeError: the text is not JSON, or holds NaN or Infinity, which the encoder
            never writes.
    """
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except DecodeError:
        raise
    except Exception as exc:  # JSONDecodeError, UnicodeDecodeError, RecursionError, ...
        raise DecodeError(f"not codec JSON: {type(exc).__name__}: {exc}") from exc


def _reject_constant(name: str) -> NoReturn:
    raise DecodeError(f"JSON constant {name} is not allowed: the JSON format stores finite floats")


# --- finding and explaining what cannot be encoded -----------------------------------------
