"""``fs.Schedule``: an asset materialized on a cron, in a time zone."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flowstone._schedules.ticks import CatchUp, next_tick, valid_cron
from flowstone.errors import AssetNotFoundError, DefinitionError

if TYPE_CHECKING:
    from flowstone._pipeline import Pipeline

__all__ = ["Schedule", "tick_date"]


def tick_date(tick: datetime) -> date:
    """The default partition of a tick: its date in the schedule's zone."""
    return tick.date()


@dataclass(frozen=True, slots=True)
class Schedule:
    """Materialize ``asset`` of ``pipeline`` at every tick of ``cron`` in ``timezone``.

    ``fs.Schedule(p, "daily_report", cron="0 6 * * *", timezone="Europe/Berlin")`` runs
    ``daily_report`` at 06:00 Berlin time, for the partition ``partition(tick)`` (default:
    the tick's date), as one durable job per tick (a task in the node without a database).

    Attributes:
        pipeline: the pipeline the asset belongs to.
        asset: the asset to materialize.
        cron: a cron expression (five fields; a sixth for seconds), parsed by croniter.
        timezone: an IANA zone name (``"Europe/Berlin"``) the cron reads its hours in.
        partition: maps the tick (an aware datetime in ``timezone``) to the partition.
        catch_up: after downtime, ``"latest"`` runs the most recent missed tick, ``"all"``
            every missed tick (oldest first, at most ``max_catch_up``), ``"none"`` none.
        max_catch_up: the most missed ticks ``"all"`` runs.
        name: the schedule's name, unique on a node (default: the asset's name).
        queue: the job queue its runs go to.
    """

    pipeline: Pipeline
    asset: str
    _: KW_ONLY
    cron: str
    timezone: str = "UTC"
    partition: Callable[[datetime], Any] = tick_date
    catch_up: CatchUp = "latest"
    max_catch_up: int = 100
    name: str = ""
    queue: str = "assets"
    zone: ZoneInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.name:
            object.__setattr__(self, "name", self.asset)
        where = f"schedule {self.name!r}"
        if not isinstance(self.asset, str) or not self.asset:
            raise DefinitionError(f"{where}: asset must be an asset name, got {self.asset!r}")
        try:
            self.pipeline.get(self.asset)
        except AssetNotFoundError as exc:
            raise DefinitionError(f"{where}: asset: {exc}") from None
        if not valid_cron(self.cron):
            raise DefinitionError(
                f"{where}: cron {self.cron!r} is not a valid cron expression; "
                "use five fields, e.g. cron='0 6 * * *' for 06:00 every day"
            )
        try:
            zone = ZoneInfo(self.timezone) if isinstance(self.timezone, str) and self.timezone else None
        except (ZoneInfoNotFoundError, ValueError):
            zone = None
        if zone is None:
            raise DefinitionError(
                f"{where}: timezone {self.timezone!r} is not a known time zone; "
                "use an IANA name such as 'Europe/Berlin' or 'UTC'"
            )
        object.__setattr__(self, "zone", zone)
        if not callable(self.partition):
            raise DefinitionError(
                f"{where}: partition must be a function of the tick, got {self.partition!r}"
            )
        if self.catch_up not in get_args(CatchUp):
            raise DefinitionError(
                f"{where}: catch_up must be one of {get_args(CatchUp)}, got {self.catch_up!r}"
            )
        if (
            isinstance(self.max_catch_up, bool)
            or not isinstance(self.max_catch_up, int)
            or self.max_catch_up < 1
        ):
            raise DefinitionError(f"{where}: max_catch_up must be an int ≥ 1, got {self.max_catch_up!r}")
        if not isinstance(self.queue, str) or not self.queue:
            raise DefinitionError(f"{where}: queue must be a queue name, got {self.queue!r}")

    def next_after(self, instant: datetime) -> datetime:
        """The first tick strictly after ``instant``, in the schedule's zone."""
        return next_tick(self.cron, self.zone, instant)

    def interval(self, around: datetime) -> float:
        """Seconds between the two ticks after ``around`` (a health check's lateness bound)."""
        first = self.next_after(around)
        return (self.next_after(first) - first).total_seconds()
