r"""Partition values: what they may be, their stored text form, and ranges of them.

A partition is ``None``, a ``str``, an ``int``, a ``datetime.date``, a timezone-aware
``datetime.datetime``, or a tuple of these nested at most 4 deep. The set is small on
purpose: every member compares exactly and has one canonical text form, so a partition
stored by one process is found again by another, across versions. Floats (inexact),
bools (``True == 1`` would make two partitions one), naive datetimes (no single instant)
and subclasses of the allowed types (they would come back as the plain type) are refused.

The text form, written by :func:`serialize` and read by :func:`deserialize`::

    partition := scalar | tuple
    tuple     := "(" [ partition ( "," partition )* ] ")"    at most 4 deep; "(1)" is a 1-tuple
    scalar    := "null" | int | date | datetime | string
    int       := "0" | [ "-" ] [1-9] [0-9]*                   no "+", no leading zeros
    date      := YYYY "-" MM "-" DD                           date.isoformat()
    datetime  := date "T" hh ":" mm ":" ss [ "." ffffff ] offset      datetime.isoformat()
    offset    := ( "+" | "-" ) hh ":" mm [ ":" ss [ "." ffffff ] ]
    string    := '"' ( char | escape )* '"'     char: not '"', '\', U+0000-U+001F
    escape    := '\"' | '\\' | '\b' | '\f' | '\n' | '\r' | '\t' | '\u00' hex hex   (never \u0000)

There is no whitespace. A string is a JSON string that escapes only what it must, and
the control characters, so that the text stays on one line in logs; the six-character
``\u00xx`` form (lowercase hex) is used only for controls with no short escape. Only
bare tokens are dates, datetimes, ints and ``null``, so the string ``"2024-01-01"`` can
never come back as a date. Each value has exactly one spelling and :func:`deserialize`
refuses every other, so ``serialize(deserialize(text)) == text`` holds as well.
Examples: ``2024-01-01``, ``"us-east"``, ``42``, ``null``, ``2024-01-01T05:00:00+02:00``,
``("us",2024-01-01)``. The text is at most 1,024 bytes of UTF-8.

Partition *sets* (:class:`Daily`, :class:`Hourly`, :class:`Static`, :class:`Multi`) say
which partitions an asset has; :func:`parse` and :func:`parse_many` read partitions as
typed on a command line (docs/partitions.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import cast

from flowstone._partition_format import MAX_BYTES, MAX_DEPTH, Partition, decode, encode
from flowstone._partition_mappings import All, Identity, Last, PartitionMapping, Unpartitioned, Window
from flowstone._partition_sets import Daily, Hourly, Multi, PartitionSet, Static, TimeSet
from flowstone._partition_text import RANGE_EXAMPLE, parse_bound, parse_one, split_list, split_range, to_text
from flowstone._partition_values import describe, static, validate
from flowstone.errors import PartitionError

__all__ = [
    "Partition",
    "validate",
    "serialize",
    "deserialize",
    "describe",
    "daily",
    "hourly",
    "static",
    "parse_range",
    "parse",
    "parse_many",
    "format_partition",
    "Daily",
    "Hourly",
    "Static",
    "Multi",
    "PartitionSet",
    "TimeSet",
    "PartitionMapping",
    "Identity",
    "Unpartitioned",
    "All",
    "Window",
    "Last",
    "MAX_BYTES",
    "MAX_DEPTH",
]

_HOUR = timedelta(hours=1)


def serialize(partition: Partition) -> str:
    """Return the canonical text of ``partition``, validating it first.

    The text is stable across processes and versions (see the module docstring), so it is
    what stores index and compare.

    Raises:
        PartitionError: ``partition`` is not an allowed value.
    """
    return encode(partition)


def deserialize(text: str) -> Partition:
    """Return the partition whose canonical text is ``text``; the inverse of serialize.

    Raises:
        PartitionError: ``text`` is not exactly what :func:`serialize` writes for a value.
    """
    return decode(text)


def daily(start: date | str, end: date | str) -> Iterator[date]:
    """Return the dates from ``start`` to ``end``, both included, one day apart.

    Prefer :class:`Daily` (``Daily(start, end)``), which is also sized and checks membership.

    The iterator is lazy, so a range of a million days costs nothing until consumed. Bad
    bounds raise here rather than at the first ``next()``, where the caller would no
    longer know which call was wrong.

    Args:
        start: the first day, a ``date`` or ``YYYY-MM-DD`` text.
        end: the last day, a ``date`` or ``YYYY-MM-DD`` text.

    Raises:
        PartitionError: a bound is not a date, or ``end`` is before ``start``.
    """
    first = _as_date("start", start)
    last = _as_date("end", end)
    if last < first:
        raise PartitionError(
            f"daily range ends ({last.isoformat()}) before it starts ({first.isoformat()}); swap the bounds"
        )
    # Ordinals cannot step past date.max, unlike repeatedly adding a day.
    return map(date.fromordinal, range(first.toordinal(), last.toordinal() + 1))


def hourly(start: datetime | str, end: datetime | str) -> Iterator[datetime]:
    """Return aware datetimes from ``start`` to at most ``end``, exactly one hour apart.

    Prefer :class:`Hourly`, which is also sized and checks membership.

    Steps are in elapsed time, so a range across a daylight-saving change still yields
    one value per real hour; each value is shown in ``start``'s timezone. ``end`` is
    included when it falls a whole number of hours after ``start``. The iterator is lazy.

    Args:
        start: the first hour, an aware ``datetime`` or ISO text with a UTC offset.
        end: the last hour, likewise.

    Raises:
        PartitionError: a bound is naive or not a datetime, or ``end`` is before ``start``.
    """
    first = _as_aware("start", start)
    last = _as_aware("end", end)
    zone = first.tzinfo
    try:
        first_utc = first.astimezone(UTC)
        last_utc = last.astimezone(UTC)
    except OverflowError:
        raise PartitionError(
            f"hourly range {first.isoformat()}..{last.isoformat()} is out of the datetime range in UTC"
        ) from None
    if last_utc < first_utc:
        raise PartitionError(
            f"hourly range ends ({last.isoformat()}) before it starts ({first.isoformat()}); swap the bounds"
        )
    steps = (last_utc - first_utc) // _HOUR
    return ((first_utc + _HOUR * step).astimezone(zone) for step in range(steps + 1))


def parse(text: str, within: PartitionSet | None = None) -> Partition:
    """Read one partition as typed on a command line: the one parser the CLI uses too.

    ``2025-01-31`` is a date, ``2025-01-31T05:00:00+00:00`` an aware datetime, ``42`` an
    int, ``("us",2025-01-01)`` a tuple and anything else the string itself. With
    ``within``, the set's own :meth:`PartitionSet.parse` reads it (``eu|2025-01-01`` for a
    :class:`Multi`) and a partition outside the set is refused.

    Raises:
        PartitionError: malformed text, or a partition outside ``within``.
    """
    if within is not None:
        return within.parse(text)
    return parse_one(text)


def format_partition(partition: Partition) -> str:
    """The typed text of ``partition``, which :func:`parse` reads back as it.

    A string that would read as another type (``"42"``, ``"2025-01-01"``) is written in
    the canonical quoted form (``"42"`` with its quotes). ``None`` has no typed text (on
    the command line it is the absence of ``--partition``).

    Raises:
        PartitionError: ``partition`` is None or not an allowed value.
    """
    return to_text(partition)


def parse_many(text: str, within: PartitionSet | None = None) -> PartitionSet | list[Partition]:
    """Read ``a,b,c`` (a list), ``START..END`` (a sized, lazy set) or one partition.

    A range inside ``within`` is ``within.range(START, END)``; without a set it is a
    :class:`Daily` (two dates) or :class:`Hourly` (two aware datetimes) set.

    Raises:
        PartitionError: malformed text, a partition outside ``within``, or a bad range.
    """
    bounds = split_range(text)
    if bounds is None:
        return [parse(item, within) for item in split_list(text)]
    if within is not None:
        return within.range(*bounds)
    start = parse_bound(text, bounds[0])
    end = parse_bound(text, bounds[1])
    if isinstance(start, datetime) and isinstance(end, datetime):
        offset = start.isoformat()[-6:]  # hours shown at start's offset, as hourly() does
        return Hourly(start, end, timezone="UTC" if offset == "+00:00" else offset)
    if not isinstance(start, datetime) and not isinstance(end, datetime):
        if end < start:
            raise PartitionError(f"partition range {text!r} ends before it starts; swap the bounds")
        return Daily(start, end)
    raise PartitionError(
        f"partition range {text!r} mixes a date and a datetime; use two dates for days or two "
        "aware datetimes for hours"
    )


def parse_range(text: str) -> Iterator[date] | Iterator[datetime]:
    """Parse ``START..END`` into the lazy :func:`daily` or :func:`hourly` range.

    ``2025-01-01..2025-01-31`` gives days; ``2025-01-01T00:00:00+00:00..2025-01-01T05:00:00+00:00``
    gives hours. Both bounds must be the same kind. It reads ranges as :func:`parse_many`
    does, with the same errors; prefer that, which returns a sized set.

    Raises:
        PartitionError: the text is not two dates or two aware datetimes joined by ``..``,
            or the range is empty.
    """
    if not isinstance(text, str):
        raise PartitionError(f"parse_range() takes text, not {type(text).__name__}")
    if split_range(text) is None:
        raise PartitionError(f"partition range {text!r} is not START..END, {RANGE_EXAMPLE}")
    start_text, end_text = cast("tuple[str, str]", split_range(text))
    start = parse_bound(text, start_text)
    end = parse_bound(text, end_text)
    if isinstance(start, datetime) and isinstance(end, datetime):
        return hourly(start, end)
    if not isinstance(start, datetime) and not isinstance(end, datetime):
        return daily(start, end)
    raise PartitionError(
        f"partition range {text!r} mixes a date and a datetime; use two dates for days or two "
        "aware datetimes for hours"
    )


def _as_date(name: str, value: object) -> date:
    if isinstance(value, datetime):
        raise PartitionError(f"daily {name} {value.isoformat()} is a datetime; pass a date, or use hourly()")
    if isinstance(value, date):
        return value
    if isinstance(value, str) and len(value) == 10 and value[4] == value[7] == "-":
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise PartitionError(f"daily {name} {value!r} is not a date or YYYY-MM-DD text")


def _as_aware(name: str, value: object) -> datetime:
    moment = value
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise PartitionError(
                f"hourly {name} {value!r} is not ISO datetime text, e.g. 2025-01-01T00:00:00+00:00"
            ) from None
    if not isinstance(moment, datetime):
        raise PartitionError(f"hourly {name} {value!r} is not a datetime; pass an aware datetime or ISO text")
    if moment.utcoffset() is None:
        raise PartitionError(
            f"hourly {name} {moment.isoformat()} is naive; hourly ranges need aware datetimes "
            "(e.g. tzinfo=datetime.UTC) so that an hour is an hour"
        )
    return moment
