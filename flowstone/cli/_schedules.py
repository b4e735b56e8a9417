"""``flowstone schedules`` and ``flowstone sensors``: list them, pause and resume them, on
the database every node shares (no node is started)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click

from flowstone.cli._common import EXIT_OK, database_option, fail, guarded
from flowstone.cli._output import echo_json, table_console

__all__ = ["schedules", "sensors"]

_json = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON to stdout.")


@contextmanager
def _apis(database_url: str) -> Iterator[tuple[Any, Any]]:
    from flowstone._jobs.table import JobTable  # noqa: PLC0415 - SQLAlchemy loads lazily
    from flowstone._schedules.api import ScheduleAPI  # noqa: PLC0415
    from flowstone._schedules.clock import SystemWallClock  # noqa: PLC0415
    from flowstone._schedules.sensor_api import SensorAPI  # noqa: PLC0415
    from flowstone._schedules.sql_sensor_state import SQLSensorState  # noqa: PLC0415
    from flowstone._schedules.sql_state import SQLScheduleState  # noqa: PLC0415
    from flowstone._store.sql import SQLStore  # noqa: PLC0415

    store = SQLStore(database_url, auto_migrate=False)
    store.open()
    try:
        table = JobTable(store)
        nobody = lambda: None  # noqa: E731 - no actor to tell: every node polls the rows
        yield (
            ScheduleAPI(SQLScheduleState(table), SystemWallClock(), nobody),
            SensorAPI(SQLSensorState(table), nobody),
        )
    finally:
        store.close()


def _show(rows: list[dict[str, Any]], columns: list[str], as_json: bool, empty: str) -> int:
    if as_json:
        echo_json(rows)
        return EXIT_OK
    if not rows:
        click.echo(empty)
        return EXIT_OK
    from rich.table import Table  # noqa: PLC0415

    table = Table()
    for column in columns:
        table.add_column(column.replace("_", " "))
    for row in rows:
        table.add_row(*("" if row[c] is None else str(row[c]) for c in columns))
    table_console().print(table)
    return EXIT_OK


def _change(ctx: click.Context, database_url: str, action: Callable[[Any, Any], None], done: str) -> None:
    def body() -> int:
        with _apis(database_url) as (schedule_api, sensor_api):
            try:
                action(schedule_api, sensor_api)
            except KeyError as exc:
                fail(str(exc))
        click.echo(done)
        return EXIT_OK

    guarded(ctx, body)


@click.group(invoke_without_command=True)
@_json
@database_option
@click.pass_context
def schedules(ctx: click.Context, as_json: bool, database_url: str) -> None:
    """List the schedules (name, cron, zone, next fire time, last tick, paused).

    \b
    Example:
      flowstone schedules --json
      flowstone schedules pause daily_report
    """
    if ctx.invoked_subcommand is not None:
        return

    def body() -> int:
        with _apis(database_url) as (api, _):
            rows = [info.to_dict() for info in api.list()]
        columns = ["name", "cron", "timezone", "next_fire", "last_tick", "paused"]
        return _show(rows, columns, as_json, "no schedules")

    guarded(ctx, body)


@schedules.command("pause")
@click.argument("name")
@database_option
@click.pass_context
def pause_schedule(ctx: click.Context, name: str, database_url: str) -> None:
    """Fire no tick of schedule NAME, on any node, until it is resumed.

    \b
    Example:
      flowstone schedules pause daily_report
    """
    _change(ctx, database_url, lambda api, _: api.pause(name), f"paused schedule {name}")


@schedules.command("resume")
@click.argument("name")
@database_option
@click.pass_context
def resume_schedule(ctx: click.Context, name: str, database_url: str) -> None:
    """Fire schedule NAME again from its next tick (ticks while paused are skipped).

    \b
    Example:
      flowstone schedules resume daily_report
    """
    _change(ctx, database_url, lambda api, _: api.resume(name), f"resumed schedule {name}")


@click.group(invoke_without_command=True)
@_json
@database_option
@click.pass_context
def sensors(ctx: click.Context, as_json: bool, database_url: str) -> None:
    """List the sensors (last poll, cursor, polls, errors).

    \b
    Example:
      flowstone sensors --json
      flowstone sensors pause new_files
    """
    if ctx.invoked_subcommand is not None:
        return

    def body() -> int:
        with _apis(database_url) as (_, api):
            rows = [info.to_dict() for info in api.list()]
        columns = [
            "name",
            "target",
            "interval",
            "last_poll",
            "cursor",
            "polls",
            "errors",
            "last_error",
            "paused",
        ]
        return _show(rows, columns, as_json, "no sensors")

    guarded(ctx, body)


@sensors.command("pause")
@click.argument("name")
@database_option
@click.pass_context
def pause_sensor(ctx: click.Context, name: str, database_url: str) -> None:
    """Poll sensor NAME on no node until it is resumed.

    \b
    Example:
      flowstone sensors pause new_files
    """
    _change(ctx, database_url, lambda _, api: api.pause(name), f"paused sensor {name}")


@sensors.command("resume")
@click.argument("name")
@database_option
@click.pass_context
def resume_sensor(ctx: click.Context, name: str, database_url: str) -> None:
    """Poll sensor NAME again, from its cursor.

    \b
    Example:
      flowstone sensors resume new_files
    """
    _change(ctx, database_url, lambda _, api: api.resume(name), f"resumed sensor {name}")
