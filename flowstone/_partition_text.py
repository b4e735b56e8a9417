"""Partitions as people type them: the one parser the API and the command line share.

This is the loose, typed-by-shape syntax of ``--partition`` and ``Daily.parse``, not the
canonical stored text of :mod:`flowstone._partition_format` (which quotes strings so that
every value has exactly one spelling). Here a token is read by its shape:

- ``2025-01-31`` is a date, ``2025-01-31T05:00:00+00:00`` an aware datetime (an offset is
  required: a naive time names no single hour), ``42`` or ``-7`` an int (canonical digits
  only, so ``007`` stays the string ``007`` and ``format`` gives back what was typed);
- ``("us",2025-01-01)`` is a tuple and ``"42"`` (with the quotes) a string, in the
  canonical syntax, for the values the shapes above cannot say;
- anything else is the string itself.

``a,b,c`` lists partitions and ``START..END`` is an inclusive daily or hourly range. Every
error is a ``PartitionError`` raised here, so the API and the CLI say the same thing for
the same bad text (the CLI shows it as a bad parameter).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Final

from flowstone._partition_format import Partition, decode, encode
from flowstone.errors import PartitionError

__all__ = ["RANGE_EXAMPLE", "parse_bound", "parse_one", "split_list", "split_range", "to_text"]

RANGE_EXAMPLE: Final = (
    "e.g. 2025-01-01..2025-01-31 (days) or 2025-01-01T00:00:00+00:00..2025-01-01T05:00:00+00:00 (hours)"
)
_DATE_SHAPE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATETIME_SHAPE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T.+")
_INT: Final = re.compile(r"0|-?[1-9][0-9]*")


def parse_one(text: str) -> Partition:
    """Read one partition from its typed text (see the module docstring).

    Raises:
        PartitionError: the text has the shape of a date, datetime or tuple but is not a
            valid one (``2025-02-30``, a naive datetime, a malformed tuple).
    """
    if not isinstance(text, str):
        raise PartitionError(f"partition text must be a str, got {type(text).__name__}")
    if _DATE_SHAPE.fullmatch(text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            raise PartitionError(f"partition {text!r} is not a valid date (YYYY-MM-DD)") from None
    if _DATETIME_SHAPE.fullmatch(text):
        return _aware(text)
    if _INT.fullmatch(text) and len(text) <= 1000:
        return int(text)
    if text.startswith(("(", '"')):
        return decode(text)
    encode(text)  # the size and character limits of a stored partition
    return text


def _aware(text: str) -> datetime:
    try:  # the canonical spelling first: it is exact where fromisoformat is not (offsets)
        value = decode(text)
    except PartitionError:
        pass
    else:
        if isinstance(value, datetime):
            return value
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise PartitionError(
            f"partition {text!r} is not a valid ISO datetime, e.g. 2025-01-01T05:00:00+00:00"
        ) from None
    if moment.utcoffset() is None:
        raise PartitionError(f"partition {text!r} is a naive datetime; add its UTC offset, e.g. {text}+00:00")
    return moment


def to_text(partition: Partition) -> str:
    """The typed text of ``partition``: what :func:`parse_one` reads back as it.

    A string that :func:`parse_one` would read as something else (``"42"``,
    ``"2025-01-01"``, one starting with a parenthesis or a quote) is given in the
    canonical quoted form, which :func:`parse_one` reads back as that string.
    """
    if isinstance(partition, str):
        if partition and not _looks_typed(partition):
            return partition
        return encode(partition)
    if isinstance(partition, date):  # datetime too
        return partition.isoformat()
    if isinstance(partition, int):
        return str(partition)
    if partition is None:
        raise PartitionError("the partition None has no typed text: leave the partition out instead")
    return encode(partition)


def _looks_typed(text: str) -> bool:
    return bool(
        _DATE_SHAPE.fullmatch(text)
        or _DATETIME_SHAPE.fullmatch(text)
        or _INT.fullmatch(text)
        or text.startswith(("(", '"'))
    )


def split_list(text: str) -> list[str]:
    """The items of ``a,b,c`` (empty items are dropped, so a trailing comma is harmless)."""
    return [item for item in text.split(",") if item]


def split_range(text: str) -> tuple[str, str] | None:
    """``(START, END)`` when ``text`` is a range, None when it has no ``..``.

    Raises:
        PartitionError: more than one ``..``, or an empty bound.
    """
    start, separator, end = text.strip().partition("..")
    if not separator:
        return None
    if ".." in end or not start.strip() or not end.strip():
        raise PartitionError(f"partition range {text!r} is not START..END, {RANGE_EXAMPLE}")
    return start.strip(), end.strip()


def parse_bound(text: str, bound: str) -> date | datetime:
    """One end of the range ``text``: a date or an aware datetime.

    Raises:
        PartitionError: naming the range and the bad bound.
    """
    try:
        value = parse_one(bound)
    except PartitionError as exc:
        raise PartitionError(f"partition range {text!r}: {exc}") from None
    if not isinstance(value, date):
        raise PartitionError(
            f"partition range {text!r}: {bound!r} is neither a YYYY-MM-DD date nor an ISO "
            f"datetime with a UTC offset; {RANGE_EXAMPLE}"
        )
    return value
