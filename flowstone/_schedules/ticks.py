"""Cron ticks as plain functions: when a schedule is due, in its zone, across DST.

``croniter`` parses the expression and steps through *wall-clock* times (naive, in the
schedule's zone); this module maps each wall-clock time to one instant:

* a wall-clock time that exists once is that instant;
* one in the hour skipped by a spring-forward (02:30 in Berlin on the last Sunday of
  March) fires once, at the first valid instant after it (03:00 CEST, the transition);
  several such times collapse into that one instant;
* one in the hour repeated by a fall-back fires once, at its first occurrence (fold 0).

Nothing here reads a clock, touches a database or starts a thread.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Literal, TypeAlias
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from croniter import croniter as Croniter  # noqa: N812

__all__ = ["CatchUp", "due_ticks", "iter_ticks", "next_tick", "to_instant", "valid_cron"]

CatchUp: TypeAlias = Literal["latest", "all", "none"]


def _croniter(cron: str, start: datetime) -> Croniter:
    # croniter (and dateutil) load on first use: ``import flowstone`` stays fast.
    from croniter import croniter  # noqa: PLC0415

    return croniter(cron, start)


def valid_cron(expression: str) -> bool:
    """Whether ``croniter`` accepts ``expression`` (five fields, or six with seconds)."""
    from croniter import croniter  # noqa: PLC0415

    return isinstance(expression, str) and bool(expression.strip()) and croniter.is_valid(expression)


def _exists(wall: datetime, zone: ZoneInfo) -> bool:
    back = wall.replace(tzinfo=zone).astimezone(UTC).astimezone(zone).replace(tzinfo=None)
    return back == wall


def to_instant(wall: datetime, zone: ZoneInfo) -> datetime:
    """The aware instant (in ``zone``) at which a naive wall-clock tick fires."""
    if _exists(wall, zone):
        return wall.replace(tzinfo=zone, fold=0)
    # In a gap: fold=1 reads it with the offset before the gap, fold=0 with the one
    # after; the transition lies between the two instants. Find the first instant whose
    # wall-clock time is past ``wall`` (to the second: transitions fall on whole minutes).
    low = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    high = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if low > high:
        low, high = high, low
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(zone).replace(tzinfo=None) > wall:
            high = middle
        else:
            low = middle
    return high.replace(microsecond=0).astimezone(zone)


def iter_ticks(cron: str, zone: ZoneInfo, after: datetime) -> Iterator[datetime]:
    """Every tick strictly after the aware instant ``after``, in order, each once."""
    # Walking on from ``after``'s wall-clock time is enough: a wall-clock time before it
    # maps to an instant before it, also across a gap or a repeated hour.
    walls = _croniter(cron, after.astimezone(zone).replace(tzinfo=None))
    last: datetime | None = None
    while True:
        wall = walls.get_next(datetime)
        instant = to_instant(wall, zone)
        if instant <= after or (last is not None and instant <= last):
            continue  # before the start, or collapsed into a tick already given
        last = instant
        yield instant


def next_tick(cron: str, zone: ZoneInfo, after: datetime) -> datetime:
    """The first tick strictly after ``after``."""
    return next(iter_ticks(cron, zone, after))


def _ticks_back(cron: str, zone: ZoneInfo, *, after: datetime, now: datetime) -> Iterator[datetime]:
    """Ticks in ``(after, now]``, newest first, each once."""
    local = now.astimezone(zone)
    # From just after now's wall-clock time; in the second pass of a repeated hour, the
    # wall-clock times up to an hour later were (fold 0) before now as well.
    start = local.replace(tzinfo=None) + timedelta(seconds=1, hours=1 if local.fold else 0)
    walls = _croniter(cron, start)
    seen: datetime | None = None
    while True:
        instant = to_instant(walls.get_prev(datetime), zone)
        if instant <= after:
            return
        if instant > now or instant == seen:
            continue
        seen = instant
        yield instant


def due_ticks(
    cron: str,
    zone: ZoneInfo,
    *,
    after: datetime,
    now: datetime,
    catch_up: CatchUp,
    max_catch_up: int,
    grace: timedelta,
) -> list[datetime]:
    """The ticks to fire at ``now``, oldest first, given that every tick up to ``after`` is done.

    A tick due no more than ``grace`` before ``now`` is on time and always fires. Older
    ones were *missed* (no node was up, or the schedule was just loaded): ``"all"`` fires
    the newest ``max_catch_up`` of them, ``"latest"`` the newest one (none if a tick is
    on time), ``"none"`` none of them.
    """
    on_time: list[datetime] = []
    missed: list[datetime] = []
    wanted = {"all": max_catch_up, "latest": 1, "none": 0}[catch_up]
    for tick in _ticks_back(cron, zone, after=after, now=now):
        if now - tick <= grace:
            on_time.append(tick)
        elif len(missed) < wanted and not (catch_up == "latest" and on_time):
            missed.append(tick)
        else:
            break
    return sorted(on_time + missed)
