"""Operating FlowStone: ``tree``, ``jobs ...`` and ``db ...`` (``health`` has a module of its own)."""

from __future__ import annotations

import json
import time
from typing import Any

import click

from flowstone.cli._common import EXIT_FAILURE, EXIT_OK, database_option, guarded
from flowstone.cli._output import echo_json, table_console
from flowstone.cli._tags import parse_tag_filters

__all__ = ["db", "jobs", "tree"]

_json = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON to stdout.")


def _open(database_url: str) -> Any:
    from flowstone._store.sql import SQLStore  # noqa: PLC0415

    store = SQLStore(database_url)
    store.open()
    return store


def _table(store: Any) -> Any:
    from flowstone._jobs.table import JobTable  # noqa: PLC0415

    return JobTable(store)


def _trees(store: Any) -> Any:
    from rich.console import Group  # noqa: PLC0415
    from rich.text import Text  # noqa: PLC0415

    from supervisors import TreeNode, render_tree  # noqa: PLC0415

    parts: list[Any] = []
    for row in _table(store).live_nodes():  # each within its own rescue_after
        age = row["heartbeat_age_s"]
        heading = f"{row['node_id']} on {row['hostname']} (pid {row['pid']}), heartbeat {age:.0f} s ago"
        parts.append(Text(heading, style="bold"))
        drawing = (
            render_tree(TreeNode.from_dict(json.loads(row["tree"]))) if row["tree"] else "(no snapshot yet)"
        )
        parts.append(Text(drawing + "\n"))
    if not parts:
        parts.append(Text("no live node shares this database"))
    return Group(*parts)


@click.command()
@click.option("--watch", is_flag=True, help="Refresh until interrupted.")
@click.option("--interval", type=float, default=2.0, show_default=True, help="Seconds between refreshes.")
@_json
@database_option
@click.pass_context
def tree(ctx: click.Context, watch: bool, interval: float, as_json: bool, database_url: str) -> None:
    """Show the supervision trees of every live node sharing the database.

    Each node writes its tree snapshot with its heartbeat, so a worker on another machine
    can be inspected from here.

    \b
    Example:
      flowstone tree --watch --database-url postgresql+psycopg://app@db/flowstone
    """

    def body() -> int:
        store = _open(database_url)
        try:
            if as_json:
                rows = _table(store).live_nodes()
                echo_json(
                    [
                        {
                            **{k: v for k, v in r.items() if k != "tree"},
                            "tree": json.loads(r["tree"]) if r["tree"] else None,
                        }
                        for r in rows
                    ]
                )
                return EXIT_OK
            from rich.console import Console  # noqa: PLC0415
            from rich.live import Live  # noqa: PLC0415

            console = Console()
            if not watch:
                console.print(_trees(store))
                return EXIT_OK
            with Live(_trees(store), console=console, refresh_per_second=4) as live:
                try:
                    while True:
                        time.sleep(interval)  # a display refresh, not synchronisation
                        live.update(_trees(store))
                except KeyboardInterrupt:
                    return EXIT_OK
        finally:
            store.close()

    guarded(ctx, body)


@click.group()
def jobs() -> None:
    """Inspect and administer durable jobs.

    \b
    Example:
      flowstone jobs list --state discarded
    """


@jobs.command("list")
@click.option(
    "--state",
    type=click.Choice(
        ["available", "scheduled", "executing", "retryable", "completed", "discarded", "cancelled"]
    ),
)
@click.option("--queue")
@click.option("--limit", type=int, default=50, show_default=True)
@click.option("--tag", "tags", multiple=True, metavar="KEY=VALUE", help="Only jobs with this run tag.")
@_json
@database_option
@click.pass_context
def list_jobs(
    ctx: click.Context,
    state: str | None,
    queue: str | None,
    limit: int,
    tags: tuple[str, ...],
    as_json: bool,
    database_url: str,
) -> None:
    """List jobs, newest first (with --tag: only those with every tag given).

    \b
    Example:
      flowstone jobs list --state discarded --queue assets --json
      flowstone jobs list --tag team=finance
    """
    wanted = parse_tag_filters(tags)

    def body() -> int:
        store = _open(database_url)
        try:
            found = _table(store).find(state=state, queue=queue, limit=limit, tags=wanted)
        finally:
            store.close()
        if as_json:
            echo_json(found)
            return EXIT_OK
        from rich.table import Table  # noqa: PLC0415

        table = Table()
        for column in ("id", "state", "queue", "asset", "partition", "attempt", "last error"):
            table.add_column(column, overflow="fold")
        for job in found:
            last = job.errors[-1]["error"] if job.errors else ""
            table.add_row(
                str(job.id),
                job.state,
                job.queue,
                job.asset,
                job.partition_key,
                f"{job.attempt}/{job.max_attempts}",
                last,
            )
        table_console().print(table)
        return EXIT_OK

    guarded(ctx, body)


def _admin(action: str) -> Any:
    @click.argument("job_id", type=int)
    @database_option
    @click.pass_context
    def command(ctx: click.Context, job_id: int, database_url: str) -> None:
        def body() -> int:
            store = _open(database_url)
            try:
                done = getattr(_table(store), action)(job_id)
            finally:
                store.close()
            click.echo(
                f"job {job_id}: {action} {'done' if done else 'refused (no such job, or in the wrong state)'}"
            )
            return EXIT_OK if done else EXIT_FAILURE

        guarded(ctx, body)

    command.__doc__ = f"{action.capitalize()} the job JOB_ID.\n\n\b\nExample:\n  flowstone jobs {action} 42\n"
    return command


jobs.command("retry")(_admin("retry"))
jobs.command("cancel")(_admin("cancel"))


def _pause(resume: bool) -> Any:
    @click.argument("queue")
    @database_option
    @click.pass_context
    def command(ctx: click.Context, queue: str, database_url: str) -> None:
        from flowstone._jobs.table import QueuePauses  # noqa: PLC0415

        def body() -> int:
            store = _open(database_url)
            try:
                pauses = QueuePauses(_table(store))
                if resume:
                    pauses.resume(queue)
                else:
                    pauses.pause(queue, by="cli")
            finally:
                store.close()
            click.echo(
                f"queue {queue!r} {'resumed' if resume else 'paused'} on every node (from their next poll)"
            )
            return EXIT_OK

        guarded(ctx, body)

    verb = "resume" if resume else "pause"
    command.__doc__ = (
        f"{verb.capitalize()} QUEUE on every node sharing the database.\n\n\b\nExample:\n"
        f"  flowstone jobs {verb} assets\n"
    )
    return command


jobs.command("pause")(_pause(False))
jobs.command("resume")(_pause(True))


@jobs.command("stats")
@_json
@database_option
@click.pass_context
def stats(ctx: click.Context, as_json: bool, database_url: str) -> None:
    """Counts per queue and state, and the age of the oldest available job.

    \b
    Example:
      flowstone jobs stats --json
    """

    def body() -> int:
        store = _open(database_url)
        try:
            data = _table(store).stats()
        finally:
            store.close()
        if as_json:
            echo_json(data)
            return EXIT_OK
        for queue, states in sorted(data["queues"].items()):
            click.echo(f"{queue}: " + ", ".join(f"{s}={n}" for s, n in sorted(states.items())))
        age = data["oldest_available_age"]
        click.echo(f"oldest available: {'none' if age is None else f'{age:.1f} s'}")
        return EXIT_OK

    guarded(ctx, body)


@click.group()
def db() -> None:
    """Database schema: upgrade it or show its revision.

    \b
    Example:
      flowstone db upgrade --database-url sqlite:///flowstone.db
    """


@db.command()
@database_option
@click.pass_context
def upgrade(ctx: click.Context, database_url: str) -> None:
    """Migrate the schema to the newest revision (safe to run from several places at once).

    \b
    Example:
      flowstone db upgrade --database-url postgresql+psycopg://app@db/flowstone
    """

    def body() -> int:
        from flowstone._store.sql import SQLStore  # noqa: PLC0415
        from flowstone._store.sql.migrate import head_revision, upgrade  # noqa: PLC0415

        store = SQLStore(database_url, auto_migrate=False)
        store.connect()  # the schema is this command's to change: not checked first
        try:
            # SchemaVersionError for a newer schema; another migrator is waited for a while.
            changed = upgrade(store.engines.write, wait=store.timeouts.statement)
        finally:
            store.close()
        click.echo(f"{'upgraded to' if changed else 'already at'} {head_revision()}")
        return EXIT_OK

    guarded(ctx, body)


@db.command()
@_json
@database_option
@click.pass_context
def current(ctx: click.Context, as_json: bool, database_url: str) -> None:
    """Print the schema revision of the database and the newest one shipped; exit 1 if behind.

    \b
    Example:
      flowstone db current
    """

    def body() -> int:
        from flowstone._store.sql import SQLStore  # noqa: PLC0415
        from flowstone._store.sql.migrate import check, current_revision, head_revision  # noqa: PLC0415
        from flowstone.errors import SchemaVersionError  # noqa: PLC0415

        store = SQLStore(database_url, auto_migrate=False)
        store.connect()  # reports any revision, where opening the store would refuse some
        try:
            revision = current_revision(store.engines.read)
            try:
                check(store.engines.read)
                verdict = ""
            except SchemaVersionError as exc:
                verdict = f" ({exc})"
        finally:
            store.close()
        if as_json:
            echo_json({"current": revision, "newest": head_revision(), "problem": verdict[2:-1] or None})
        else:
            click.echo(f"current: {revision or '(empty)'}; newest: {head_revision()}{verdict}")
        return EXIT_OK if revision == head_revision() else EXIT_FAILURE

    guarded(ctx, body)
