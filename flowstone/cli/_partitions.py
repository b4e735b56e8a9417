"""Partitions on the command line, parsed one way everywhere.

``YYYY-MM-DD`` is a date, ``YYYY-MM-DDTHH:MM:SS±HH:MM`` an aware datetime, an integer an
int, anything else a string; ``a,b,c`` is a list and ``START..END`` an inclusive daily (or,
with times, hourly) range. ``--partition-str`` keeps the text as one string.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import date, datetime

import click

from flowstone import partitions
from flowstone.errors import PartitionError

__all__ = ["parse_many", "parse_one"]

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?[+-]\d{2}:\d{2}$")
_INT = re.compile(r"^[+-]?\d+$")


def parse_one(text: str | None, *, as_string: bool = False) -> partitions.Partition:
    """One partition from its command-line text (None stays None)."""
    if text is None:
        return None
    if as_string:
        return text
    try:
        if _DATE.match(text):
            return date.fromisoformat(text)
        if _DATETIME.match(text):
            return datetime.fromisoformat(text)
    except ValueError as exc:
        raise click.BadParameter(f"{text!r}: {exc}", param_hint="--partition") from exc
    if _INT.match(text):
        return int(text)
    return text


def parse_many(text: str, *, as_string: bool = False) -> Iterable[partitions.Partition]:
    """``a,b,c`` or ``START..END`` (a lazy range) or a single partition."""
    if as_string:
        return [text]
    if ".." in text:
        start, _, end = text.partition("..")
        try:
            first, last = parse_one(start), parse_one(end)
            if isinstance(first, datetime) and isinstance(last, datetime):
                return _Sized(partitions.hourly(first, last), int((last - first).total_seconds() // 3600) + 1)
            if isinstance(first, date) and isinstance(last, date):
                return _Sized(partitions.daily(first, last), (last - first).days + 1)
        except PartitionError as exc:
            raise click.BadParameter(str(exc), param_hint="--partitions") from exc
        raise click.BadParameter(
            f"{text!r}: a range needs two dates (2025-01-01..2025-01-31) or two aware datetimes",
            param_hint="--partitions",
        )
    return [parse_one(item) for item in text.split(",") if item]


class _Sized:
    """A lazy range that knows its length, for progress bars with an ETA."""

    def __init__(self, items: Iterator[partitions.Partition], count: int) -> None:
        self._items = items
        self._count = max(0, count)

    def __iter__(self) -> Iterator[partitions.Partition]:
        return self._items

    def __len__(self) -> int:
        return self._count
