"""The partition text format: exactly one human-readable spelling per partition value.

The grammar is documented in :mod:`flowstone.partitions`, whose public functions wrap
these. Validation and encoding are one pass, because the size limit is a limit on the
encoded text: checking the types without encoding could not decide it.

Speed matters here (every run serializes its partition), so the scalar cases that make up
nearly all partitions are tried first, and the path of a bad value inside a tuple is only
assembled when there is an error to report.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from typing import Final, TypeAlias

from flowstone.errors import PartitionError

__all__ = ["ALLOWED", "MAX_BYTES", "MAX_DEPTH", "Partition", "decode", "encode"]

Partition: TypeAlias = str | int | date | datetime | tuple["Partition", ...] | None

MAX_DEPTH: Final = 4
MAX_BYTES: Final = 1024
ALLOWED: Final = (
    f"allowed: None, str, int, date, aware datetime, or tuples of these nested at most {MAX_DEPTH} deep"
)

# Below this many characters the UTF-8 form cannot exceed MAX_BYTES (4 bytes per code
# point at most), so short texts skip the encode() that measures them.
_SAFE_CHARS: Final = MAX_BYTES // 4
# An int of more bits than this has more than MAX_BYTES digits; refusing it before str()
# also keeps str() away from CPython's 4,300-digit conversion limit.
_MAX_INT_BITS: Final = 3402
# n items need at least n characters plus n - 1 commas plus two parentheses.
_MAX_TUPLE_ITEMS: Final = (MAX_BYTES - 1) // 2

# JSON's escapes, so a string token is also a JSON string; controls are escaped so the
# text stays on one line in logs.
_ESCAPES: Final = {code: f"\\u{code:04x}" for code in range(0x20)} | {
    0x08: "\\b",
    0x09: "\\t",
    0x0A: "\\n",
    0x0C: "\\f",
    0x0D: "\\r",
    0x22: '\\"',
    0x5C: "\\\\",
}
_UNESCAPES: Final = {"b": "\b", "t": "\t", "n": "\n", "f": "\f", "r": "\r", '"': '"', "\\": "\\"}
_FORBIDDEN_CHAR: Final = re.compile("[\x00\ud800-\udfff]")
_PLAIN_STRING: Final = re.compile('"([^"\\\\\x00-\x1f\ud800-\udfff]*)"')
_STRING: Final = re.compile(r'"([^"\\\x00-\x1f]*(?:\\.[^"\\\x00-\x1f]*)*)"', re.DOTALL)
_ESCAPE_SEQUENCE: Final = re.compile(r'\\(?:u00([01][0-9a-f])|(["\\bfnrt]))')
_BARE: Final = re.compile(r'[^,()"]+')
_INT: Final = re.compile(r"0|-?[1-9][0-9]*")
_DATE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATETIME: Final = re.compile(
    r"([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{6})?)"
    r"([+-])([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.([0-9]{6}))?)?"
)


class _Invalid(Exception):  # noqa: N818 - internal signal, never escapes this module
    """A value is not a partition; carries the tuple indices back up to the root."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.trail: list[int] = []


def encode(value: object, root: str = "partition") -> str:
    """Validate ``value`` and return its canonical text.

    Args:
        value: the candidate partition.
        root: how error messages name the value (``partition`` or ``values[3]``).

    Raises:
        PartitionError: naming the path of the offending part and what is allowed.
    """
    try:
        if type(value) is str:
            text = _encode_str(value)
        elif type(value) is date:
            return value.isoformat()  # always 10 bytes: no size check needed
        elif type(value) is int:
            text = _encode_int(value)
        else:
            text = _encode_any(value, 0)
    except _Invalid as exc:
        path = root + "".join(f"[{index}]" for index in reversed(exc.trail))
        raise PartitionError(f"{path}: {exc.reason}") from None
    if len(text) > _SAFE_CHARS:
        size = len(text) if text.isascii() else len(text.encode("utf-8"))
        if size > MAX_BYTES:
            raise PartitionError(
                f"{root}: serialized form is {size} bytes, over the {MAX_BYTES}-byte limit; "
                "use a shorter key (partition keys are stored and indexed)"
            )
    return text


def _encode_str(value: str) -> str:
    if value.isprintable() and '"' not in value and "\\" not in value:
        return '"' + value + '"'
    bad = _FORBIDDEN_CHAR.search(value)
    if bad is not None:
        what = "NUL" if bad.group() == "\x00" else f"a lone surrogate {bad.group()!r}"
        raise _Invalid(
            f"str contains {what} at index {bad.start()}, which cannot be stored as text; "
            f"{ALLOWED} (strings without NUL or lone surrogates)"
        )
    return '"' + value.translate(_ESCAPES) + '"'


def _encode_int(value: int) -> str:
    if value.bit_length() > _MAX_INT_BITS:
        raise _Invalid(
            f"int of {value.bit_length()} bits has more than {MAX_BYTES} digits, "
            f"over the {MAX_BYTES}-byte limit; use a shorter key"
        )
    return str(value)


def _encode_any(value: object, depth: int) -> str:
    if value is None:
        return "null"
    if type(value) is str:
        return _encode_str(value)
    if type(value) is int:
        return _encode_int(value)
    if type(value) is date:
        return value.isoformat()
    if type(value) is datetime:
        if value.utcoffset() is None:
            raise _Invalid(
                f"naive datetime {value.isoformat()} has no UTC offset, so it names no single "
                f"instant; attach a tzinfo (e.g. tzinfo=datetime.timezone.utc); {ALLOWED}"
            )
        return value.isoformat()
    if type(value) is tuple:
        return _encode_tuple(value, depth + 1)
    raise _Invalid(_not_allowed(value))


def _encode_tuple(value: tuple[object, ...], depth: int) -> str:
    if depth > MAX_DEPTH:
        raise _Invalid(f"tuple nested {depth} deep is too deep; {ALLOWED}")
    if len(value) > _MAX_TUPLE_ITEMS:
        raise _Invalid(
            f"tuple of {len(value)} items cannot serialize within the {MAX_BYTES}-byte "
            "limit; use a shorter key"
        )
    parts: list[str] = []
    for index, item in enumerate(value):
        try:
            parts.append(_encode_any(item, depth))
        except _Invalid as exc:
            exc.trail.append(index)
            raise
    return "(" + ",".join(parts) + ")"


def _not_allowed(value: object) -> str:
    cls = type(value)
    if cls is bool:
        return (
            f"bool {value!r} is not a partition type (bool is refused although it is an "
            f"int subclass, so that True never stands for the partition 1); {ALLOWED}"
        )
    for base in (str, int, datetime, date, tuple):
        if isinstance(value, base):
            return (
                f"{cls.__name__} {_show(value)} is a {base.__name__} subclass, which "
                f"would come back as a plain {base.__name__}; convert it first; {ALLOWED}"
            )
    return f"{cls.__name__} {_show(value)} is not a partition type; {ALLOWED}"


def _show(value: object) -> str:
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001 - reported to the caller, never swallowed
        return "<unrepresentable>"
    return text if len(text) <= 60 else text[:57] + "..."


def decode(text: object) -> Partition:
    """Parse canonical text written by :func:`encode`.

    Raises:
        PartitionError: ``text`` is not exactly what :func:`encode` writes for some value.
    """
    if type(text) is not str:
        raise PartitionError(
            f"cannot deserialize a {type(text).__name__}; expected the str that "
            "flowstone.partitions.serialize returned"
        )
    if len(text) > _SAFE_CHARS and len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise _malformed(text, f"longer than the {MAX_BYTES}-byte limit", 0)
    first = text[:1]
    if first == '"':
        match = _PLAIN_STRING.fullmatch(text)
        if match is not None:
            return match.group(1)
    elif first not in ("(", ""):
        return _decode_bare(text, text, 0)
    value, end = _parse(text, 0, 0)
    if end != len(text):
        raise _malformed(text, "unexpected text after the value", end)
    return value


def _parse(text: str, pos: int, depth: int) -> tuple[Partition, int]:
    char = text[pos : pos + 1]
    if char == "(":
        if depth >= MAX_DEPTH:
            raise _malformed(text, f"tuples nested more than {MAX_DEPTH} deep", pos)
        pos += 1
        if text.startswith(")", pos):
            return (), pos + 1
        items: list[Partition] = []
        while True:
            item, pos = _parse(text, pos, depth + 1)
            items.append(item)
            char = text[pos : pos + 1]
            if char == ")":
                return tuple(items), pos + 1
            if char != ",":
                raise _malformed(text, "expected ',' or ')'", pos)
            pos += 1
    if char == '"':
        match = _STRING.match(text, pos)
        if match is None:
            raise _malformed(text, "unterminated or invalid string", pos)
        return _decode_string_body(text, match.group(1), pos), match.end()
    match = _BARE.match(text, pos)
    if match is None:
        raise _malformed(text, "expected a value", pos)
    return _decode_bare(text, match.group(), pos), match.end()


def _decode_string_body(text: str, body: str, pos: int) -> str:
    value = body
    if "\\" in body:
        value = _ESCAPE_SEQUENCE.sub(_unescape, body)
        # One spelling per value: \u0041 for "A", or an unknown escape, re-escapes differently.
        if value.translate(_ESCAPES) != body:
            raise _malformed(text, "non-canonical string escape", pos)
    bad = _FORBIDDEN_CHAR.search(value)
    if bad is not None:
        raise _malformed(text, "string contains NUL or a lone surrogate", pos)
    return value


def _unescape(match: re.Match[str]) -> str:
    code, short = match.groups()
    return chr(int(code, 16)) if code is not None else _UNESCAPES[short]


def _decode_bare(text: str, token: str, pos: int) -> Partition:
    if token == "null":
        return None
    # Cheap shape checks pick the one regex worth running: these are the hot cases.
    if len(token) == 10 and token[4] == "-":
        try:
            if _DATE.fullmatch(token) is not None:
                return date.fromisoformat(token)
        except ValueError:
            raise _malformed(text, f"{token!r} is not a valid date", pos) from None
    elif "-" not in token[1:] and _INT.fullmatch(token) is not None:
        return int(token)
    try:
        match = _DATETIME.fullmatch(token)
        if match is not None:
            moment = _decode_datetime(match)
            if moment.isoformat() == token:  # refuses ".000000", "+00:00:00" and "-00:00"
                return moment
    except ValueError:
        raise _malformed(text, f"{token!r} is not a valid datetime", pos) from None
    raise _malformed(text, f"{token!r} is not null, an int, a date or a datetime", pos)


def _decode_datetime(match: re.Match[str]) -> datetime:
    # The offset is parsed here, not by fromisoformat: CPython 3.11 reads
    # "+00:00:00.000001" as UTC, losing the microsecond.
    local, sign, hours, minutes, seconds, micros = match.groups()
    offset = timedelta(
        hours=int(hours),
        minutes=int(minutes),
        seconds=int(seconds or 0),
        microseconds=int(micros or 0),
    )
    zone = timezone(-offset if sign == "-" else offset)
    return datetime.fromisoformat(local).replace(tzinfo=zone)


def _malformed(text: str, reason: str, pos: int) -> PartitionError:
    shown = text if len(text) <= 80 else text[:77] + "..."
    return PartitionError(
        f"cannot deserialize partition text {shown!r}: {reason} at offset {pos}; "
        "expected text written by flowstone.partitions.serialize"
    )
