"""``flowstone health``: the database, and the nodes and queues on it, with exit codes."""

from __future__ import annotations

from typing import Any

import click

from flowstone.cli._common import EXIT_FAILURE, EXIT_OK, database_option, guarded
from flowstone.cli._output import echo_json, table_console

__all__ = ["health"]

EXIT_DOWN = 2


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON to stdout.")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=2.0,
    show_default=True,
    help="Seconds to wait for the database before reporting it down (a node's health_timeout).",
)
@database_option
@click.pass_context
def health(ctx: click.Context, as_json: bool, timeout: float, database_url: str) -> None:
    """Report the database, its nodes (from their heartbeats) and its queues; exit 0 ok,
    1 degraded, 2 down.

    It starts no node and changes nothing: a missing or never-migrated database is down,
    a node whose heartbeat is late by its own rescue_after is stale (degraded), and so is a
    queue whose jobs wait with no worker claiming them.

    \b
    Example:
      flowstone health --json --timeout 5
    """
    from flowstone._jobs.survey import survey  # noqa: PLC0415 - SQLAlchemy loads lazily

    def body() -> int:
        found = survey(database_url, timeout)
        if as_json:
            echo_json(found.to_dict())
        else:
            _print(found)
        return {"ok": EXIT_OK, "degraded": EXIT_FAILURE, "down": EXIT_DOWN}[found.health.status]

    guarded(ctx, body)


def _print(found: Any) -> None:
    from rich.table import Table  # noqa: PLC0415

    table = Table(title=f"health: {found.health.status}")
    for column in ("check", "ok", "detail", "ms"):
        table.add_column(column, overflow="fold")
    for name, check in found.health.checks.items():
        table.add_row(name, "yes" if check.ok else "[red]no[/]", check.detail, f"{check.latency_ms:.1f}")
    for beat in found.nodes:
        heartbeat = f"heartbeat {beat.heartbeat_age_s:.1f} s ago (rescue_after {beat.judged_by:g} s)"
        state = "[red]stale[/]" if beat.stale else "live"
        table.add_row(f"node {beat.node_id}", state, f"{beat.describe()}, {heartbeat}", "")
    table_console().print(table)
