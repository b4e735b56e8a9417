"""Time partition sets: one partition per day or per elapsed hour, optionally open-ended.

An open-ended set (``end=None``) has every day (hour) from ``start`` on as a member;
counting or iterating it stops at the current day (hour) in the set's timezone, which is
what "backfill everything so far" means. That is the only clock read of the sets.
"""

from __future__ import annotations

import re
from abc import abstractmethod
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flowstone._partition_base import PartitionSet
from flowstone._partition_format import Partition, decode
from flowstone._partition_text import parse_one, to_text
from flowstone.errors import OptionError, PartitionError

__all__ = ["Daily", "Hourly", "TimeSet"]

_OFFSET: Final = re.compile(r"[+-][01][0-9]:[0-5][0-9]")


def _zone(name: object) -> tzinfo:
    if not isinstance(name, str):
        raise OptionError(f"timezone must be an IANA name such as 'UTC', got {name!r}")
    if name == "UTC":
        return UTC
    if _OFFSET.fullmatch(name):  # a fixed offset, as a range of aware datetimes gives
        sign = -1 if name[0] == "-" else 1
        return timezone(sign * timedelta(hours=int(name[1:3]), minutes=int(name[4:6])))
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise OptionError(
            f"timezone {name!r} is not a known IANA timezone or a ±HH:MM offset, e.g. 'Europe/Paris'"
        ) from None


class TimeSet(PartitionSet):
    """A daily or hourly set: evenly spaced, ordered members from ``start``."""

    __slots__ = ("_first", "_last", "_zone", "timezone")

    timezone: str
    _zone: tzinfo
    _first: int
    _last: int | None

    @property
    def start(self) -> date:
        """The first member (a ``datetime`` for :class:`Hourly`)."""
        return self._at(self._first)  # type: ignore[return-value]  # a date or datetime

    @property
    def end(self) -> date | None:
        """The last member, or None for an open-ended set."""
        return None if self._last is None else self._at(self._last)  # type: ignore[return-value]

    def _bound(self) -> int:
        """The last position to iterate: ``end``'s, or now's for an open-ended set."""
        return self._last if self._last is not None else self._now()

    @abstractmethod
    def _now(self) -> int: ...

    @abstractmethod
    def _at(self, position: int) -> Partition: ...

    @abstractmethod
    def _position(self, partition: object) -> int | None: ...

    def _key_span(self) -> tuple[str, str, str] | None:
        """``(first key, last key, LIKE pattern)`` when the stored keys of members sort in
        the set's order and match the pattern (so a database can count them by a range of
        its index), else None. Up to now for an open-ended set."""
        return None

    def _key_position(self, key: str) -> int | None:
        """The position of the partition whose stored text is ``key`` (None if none)."""
        try:
            return self._position(decode(key))
        except PartitionError:
            return None

    def __contains__(self, partition: object) -> bool:
        position = self._position(partition)
        return (
            position is not None
            and self._first <= position
            and (self._last is None or position <= self._last)
        )

    def __iter__(self) -> Iterator[Partition]:
        return map(self._at, range(self._first, self._bound() + 1))

    def __len__(self) -> int:
        return max(0, self._bound() - self._first + 1)

    def _order(self, partition: Partition) -> int:
        position = self._position(partition)
        assert position is not None  # only called on members
        return position

    def __eq__(self, other: object) -> bool:
        return (
            type(other) is type(self)
            and isinstance(other, TimeSet)
            and (self._first, self._last, self.timezone) == (other._first, other._last, other.timezone)
        )

    def __hash__(self) -> int:
        return hash((type(self).__name__, self._first, self._last, self.timezone))


class Daily(TimeSet):
    """One partition per calendar day (a ``datetime.date``) from ``start`` to ``end``.

    ``end`` is included; without it the set is open-ended and runs up to today in
    ``timezone``. ``Daily("2025-01-01")``, ``Daily(date(2025, 1, 1), "2025-12-31")``.
    """

    __slots__ = ()

    def __init__(self, start: date | str, end: date | str | None = None, timezone: str = "UTC") -> None:
        self._zone = _zone(timezone)
        self.timezone = timezone
        self._first = _as_date("start", start).toordinal()
        self._last = None if end is None else _as_date("end", end).toordinal()
        if self._last is not None and self._last < self._first:
            raise PartitionError(f"Daily ends ({end}) before it starts ({start}); swap the bounds")

    @property
    def start(self) -> date:
        return date.fromordinal(self._first)

    @property
    def end(self) -> date | None:
        return None if self._last is None else date.fromordinal(self._last)

    def _now(self) -> int:
        return datetime.now(self._zone).date().toordinal()

    def _at(self, position: int) -> Partition:
        return date.fromordinal(position)

    def _position(self, partition: object) -> int | None:
        return partition.toordinal() if type(partition) is date else None

    def _key_span(self) -> tuple[str, str, str] | None:
        # A day's key is its isoformat: fixed width for years 1 to 9999, so text order is time order.
        return (
            date.fromordinal(self._first).isoformat(),
            date.fromordinal(self._bound()).isoformat(),
            "____-__-__",
        )

    def _key_position(self, key: str) -> int | None:
        # A bare 10-character key with a dash at 4 is a date's isoformat: the hot case of
        # an overview of many days, parsed without the general decoder.
        if len(key) == 10 and key[4] == "-":
            try:
                return date.fromisoformat(key).toordinal()
            except ValueError:
                return None
        return None

    def _parse(self, text: str) -> Partition:
        value = parse_one(text)
        if type(value) is not date:
            raise PartitionError(f"{self!r}: {text!r} is not a day; write it as YYYY-MM-DD")
        return value

    def _format(self, partition: Partition) -> str:
        return to_text(partition)

    def _range(self, first: Partition, last: Partition) -> PartitionSet:
        return Daily(first, last, self.timezone)  # type: ignore[arg-type]  # members are dates

    def __repr__(self) -> str:
        end = "" if self._last is None else f", end={self.end!s}"
        zone = "" if self.timezone == "UTC" else f", timezone={self.timezone!r}"
        return f"Daily(start={self.start!s}{end}{zone})"


class Hourly(TimeSet):
    """One partition per hour (an aware ``datetime`` in ``timezone``) from ``start``.

    Hours are elapsed hours, so a daylight-saving change still gives one partition per
    real hour. A naive ``start``/``end`` is read in ``timezone``; both must fall on the
    hour there. ``end`` is included; without it the set runs up to the current hour.
    """

    __slots__ = ()

    def __init__(
        self, start: datetime | str, end: datetime | str | None = None, timezone: str = "UTC"
    ) -> None:
        self._zone = _zone(timezone)
        self.timezone = timezone
        self._first = self._hour_of("start", start)
        self._last = None if end is None else self._hour_of("end", end)
        if self._last is not None and self._last < self._first:
            raise PartitionError(f"Hourly ends ({end}) before it starts ({start}); swap the bounds")

    def _hour_of(self, name: str, value: object) -> int:
        moment = value
        if isinstance(value, str):
            try:
                moment = datetime.fromisoformat(value)
            except ValueError:
                raise PartitionError(
                    f"Hourly {name} {value!r} is not ISO datetime text, e.g. 2025-01-01T00:00:00+00:00"
                ) from None
        if not isinstance(moment, datetime):
            raise PartitionError(f"Hourly {name} {value!r} is not a datetime or ISO text")
        if moment.utcoffset() is None:
            moment = moment.replace(tzinfo=self._zone)
        position = self._position(moment)
        if position is None:
            raise PartitionError(f"Hourly {name} {moment.isoformat()} is not on the hour in {self.timezone}")
        return position

    @property
    def start(self) -> datetime:
        return self._at(self._first)  # type: ignore[return-value]

    @property
    def end(self) -> datetime | None:
        return None if self._last is None else self._at(self._last)  # type: ignore[return-value]

    def _now(self) -> int:
        return int(datetime.now(UTC).timestamp() // 3600)

    def _at(self, position: int) -> Partition:
        return datetime.fromtimestamp(position * 3600, UTC).astimezone(self._zone)

    def _key_span(self) -> tuple[str, str, str] | None:
        # In UTC an hour's key is a fixed-width isoformat ending +00:00: text order is time
        # order. Elsewhere the offset changes with daylight saving time, and so the order.
        if self.timezone != "UTC":
            return None
        first = datetime.fromtimestamp(self._first * 3600, UTC).isoformat()
        last = datetime.fromtimestamp(self._bound() * 3600, UTC).isoformat()
        return first, last, "____-__-__T__:00:00+00:00"

    def _position(self, partition: object) -> int | None:
        if type(partition) is not datetime or partition.utcoffset() is None:
            return None
        local = partition.astimezone(self._zone)
        if local.minute or local.second or local.microsecond:
            return None
        seconds = partition.timestamp()
        return int(seconds // 3600) if seconds % 3600 == 0 else None

    def _parse(self, text: str) -> Partition:
        value = parse_one(text)
        if type(value) is not datetime:
            raise PartitionError(f"{self!r}: {text!r} is not an hour; write it as 2025-01-01T05:00:00+00:00")
        return value.astimezone(self._zone) if value in self else value

    def _format(self, partition: Partition) -> str:
        assert isinstance(partition, datetime)
        return partition.astimezone(self._zone).isoformat()

    def _range(self, first: Partition, last: Partition) -> PartitionSet:
        return Hourly(first, last, self.timezone)  # type: ignore[arg-type]  # members are datetimes

    def __repr__(self) -> str:
        end = "" if self.end is None else f", end={self.end.isoformat()}"
        zone = "" if self.timezone == "UTC" else f", timezone={self.timezone!r}"
        return f"Hourly(start={self.start.isoformat()}{end}{zone})"


def _as_date(name: str, value: object) -> date:
    if type(value) is date:
        return value
    if isinstance(value, str):
        parsed = parse_one(value)
        if type(parsed) is date:
            return parsed
    raise PartitionError(f"Daily {name} {value!r} is not a date or YYYY-MM-DD text")
