"""``flowstone run`` and ``flowstone backfill``."""

from __future__ import annotations

from typing import Any

import click

from flowstone._jobs.records import RecordedError
from flowstone.cli._common import (
    EXIT_FAILURE,
    EXIT_OK,
    database_option,
    error_json,
    guarded,
    load_target,
)
from flowstone.cli._output import echo_json, pretty, table_console
from flowstone.cli._partitions import declared_set, parse_many, parse_one

__all__ = ["backfill", "run"]

_json = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON to stdout.")


@click.command()
@click.argument("target")
@click.argument("asset")
@click.option("--partition", help="YYYY-MM-DD, an aware datetime, an int, or text.")
@click.option("--partition-str", is_flag=True, help="Take --partition as a plain string.")
@click.option("--force", is_flag=True, help="Re-run the asset even if it is materialized.")
@click.option("--stale", "stale_only", is_flag=True, help="Re-run only the stale values it needs.")
@click.option(
    "--timeout",
    type=float,
    default=None,
    help="Seconds to wait for a run that waits (a gate, an approval); it stays waiting after.",
)
@_json
@database_option
@click.pass_context
def run(
    ctx: click.Context,
    target: str,
    asset: str,
    partition: str | None,
    partition_str: bool,
    force: bool,
    stale_only: bool,
    timeout: float | None,
    as_json: bool,
    database_url: str,
) -> None:
    """Materialize ASSET of the pipeline TARGET and print its value and run id.

    TARGET is path/to/file.py:pipeline or package.module:pipeline. A run that waits
    (docs/waits.md) says on stderr what it waits for and which command resumes it, and
    this command returns once the run ends (or after --timeout, exit 1, the run waiting).

    \b
    Example:
      flowstone run examples/daily_sales.py:pipeline revenue --partition 2025-01-05
    """
    import flowstone as fs  # noqa: PLC0415

    pipeline = load_target(target)
    value_partition = parse_one(partition, as_string=partition_str, within=declared_set(pipeline, asset))

    def body() -> int:
        from flowstone.cli._scatter import scatter_bars  # noqa: PLC0415
        from flowstone.cli._waiting import announce_waits  # noqa: PLC0415

        with (
            fs.start(database_url=database_url) as node,
            scatter_bars(node, enabled=not as_json),
            announce_waits(node),
        ):
            try:
                value = node.run(
                    pipeline,
                    asset,
                    partition=value_partition,
                    force=force,
                    timeout=timeout,
                    stale_only=stale_only,
                )
            except TimeoutError as exc:
                if as_json:  # the run waits on: its id is how to look it up or signal it
                    waiting = node.status(pipeline, asset, value_partition)
                    echo_json(
                        {**error_json(exc), "error": str(exc), "asset": asset, "run_id": waiting.run_id}
                    )
                click.echo(f"error: {exc}", err=True)
                return EXIT_FAILURE
            status = node.status(pipeline, asset, value_partition)
        skipped = value is fs.SKIPPED  # no router selected it: no value (docs/routing.md)
        if as_json:
            echo_json(
                {
                    "asset": asset,
                    "partition": value_partition,
                    "run_id": status.run_id,
                    "value": None if skipped else value,
                    "state": status.state,
                }
            )
        else:
            click.echo("skipped (not selected by its router)" if skipped else pretty(value))
            click.echo(f"run {status.run_id}", err=True)
        return EXIT_OK

    guarded(ctx, body)


@click.command()
@click.argument("target")
@click.argument("asset")
@click.option(
    "--partitions",
    "spec",
    default=None,
    help="2025-01-01..2025-01-31 (daily), two aware datetimes (hourly), or a,b,c; "
    "without it, the asset's declared partition set.",
)
@click.option("--partition-str", is_flag=True, help="Take --partitions as one plain string.")
@click.option("--parallel", type=int, default=1, show_default=True, help="Partitions at once (capped).")
@click.option("--timeout", type=float, default=1800.0, show_default=True, help="Seconds per partition.")
@click.option("--force", is_flag=True, help="Re-run partitions that are already materialized.")
@click.option("--durable", is_flag=True, help="Enqueue one job per partition for workers instead.")
@_json
@database_option
@click.pass_context
def backfill(
    ctx: click.Context,
    target: str,
    asset: str,
    spec: str | None,
    partition_str: bool,
    parallel: int,
    timeout: float,
    force: bool,
    durable: bool,
    as_json: bool,
    database_url: str,
) -> None:
    """Materialize ASSET for many partitions with a live progress bar; exit 1 if any failed.

    \b
    Example:
      flowstone backfill examples/daily_sales.py:pipeline revenue \\
        --partitions 2025-01-01..2025-01-31 --parallel 4
    """
    import flowstone as fs  # noqa: PLC0415

    pipeline = load_target(target, for_workers=durable)  # refused before anything is enqueued
    within = declared_set(pipeline, asset)
    if spec is None and within is None:
        raise click.UsageError(
            f"asset {asset!r} declares no partition set: give --partitions (e.g. 2025-01-01..2025-01-31)"
        )
    items = within if spec is None else parse_many(spec, as_string=partition_str, within=within)

    def body() -> int:
        from rich.console import Console  # noqa: PLC0415
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn  # noqa: PLC0415

        console = Console(stderr=True)
        total = len(items) if hasattr(items, "__len__") else None  # type: ignore[arg-type]
        columns = (
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeRemainingColumn(),
            TextColumn("failed: {task.fields[failed]}"),
        )
        report = fs.BackfillReport()
        with (
            fs.start(database_url=database_url) as node,
            Progress(*columns, console=console, transient=as_json) as bar,
        ):
            task = bar.add_task(asset, total=total, failed=0, rate="")
            started = _clock()
            if durable:  # the same results as in-process, read from the jobs table as they end
                results = node.jobs.backfill_iter(pipeline, asset, items, force=force)
            else:
                results = node.backfill_iter(
                    pipeline, asset, items, parallel=parallel, timeout=timeout, force=force
                )
            for result in results:
                report.add(result)
                elapsed = max(_clock() - started, 1e-9)
                bar.update(
                    task,
                    completed=report.total,
                    rate=f"{report.total / elapsed:,.1f}/s",
                    failed=report.failed + report.timed_out,
                )
        _summary(report, asset, as_json)
        return EXIT_FAILURE if report.failed or report.timed_out else EXIT_OK

    guarded(ctx, body)


def _clock() -> float:
    import time  # noqa: PLC0415

    return time.monotonic()


def _summary(report: Any, asset: str, as_json: bool) -> None:
    if as_json:
        echo_json(
            {
                "asset": asset,
                "succeeded": report.succeeded,
                "failed": report.failed,
                "skipped": report.skipped,
                "not_selected": report.not_selected,
                "timed_out": report.timed_out,
                "failures": [
                    {
                        "partition": f.partition,
                        "status": f.status,
                        "run_id": f.run_id,
                        "error": None if f.error is None else f"{type(f.error).__name__}: {f.error}",
                    }
                    for f in report.failures
                ],
            }
        )
        return
    from rich.table import Table  # noqa: PLC0415

    table = Table(title=f"backfill of {asset}")
    for column in ("succeeded", "failed", "timed out", "skipped", "not selected"):
        table.add_column(column, justify="right")
    table.add_row(
        str(report.succeeded),
        str(report.failed),
        str(report.timed_out),
        str(report.skipped),
        str(report.not_selected),
    )
    out = _stdout_console()
    out.print(table)
    if report.failures:
        failed = Table(title="failures")
        failed.add_column("partition")
        failed.add_column("status")
        failed.add_column("error", overflow="fold")
        for failure in report.failures[:50]:
            failed.add_row(str(failure.partition), failure.status, _cause(failure.error))
        out.print(failed)
        if len(report.failures) > 50:
            out.print(f"... and {len(report.failures) - 50} more")


def _cause(error: BaseException | None) -> str:
    """What the asset raised (``ValueError: ...``), wherever it ran: the exception of an
    in-process run, the text a job recorded for a durable one."""
    shown = None if error is None else error.__cause__ or error
    if shown is None:
        return ""
    if isinstance(shown, RecordedError):
        return str(shown)  # already "ValueError: ..."
    return f"{type(shown).__name__}: {shown}"


def _stdout_console() -> Any:
    return table_console()  # piped: as wide as the rows, never wrapped mid-word
