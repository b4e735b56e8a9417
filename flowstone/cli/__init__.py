"""The ``flowstone`` command (also ``python -m flowstone``).

Results go to stdout and logs and progress to stderr, so ``--json`` output is pure JSON.
Exit codes: 0 ok, 1 the work failed, 2 bad usage (``health``: 1 degraded, 2 down).
"""

from __future__ import annotations

import os

import click

from flowstone.cli._common import configure_logging, logging_options
from flowstone.cli._config import config
from flowstone.cli._health import health
from flowstone.cli._inspect import assets, graph, lineage, status
from flowstone.cli._ops import db, jobs, tree
from flowstone.cli._run import backfill, run
from flowstone.cli._schedules import schedules, sensors
from flowstone.cli._waits import approvals, gates, signal
from flowstone.cli._worker import worker

__all__ = ["main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="flowstone")
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
@click.option("--verbose", "-v", is_flag=True, help="Log at info level (to stderr).")
@logging_options
@click.option(
    "--config",
    "config_file",
    envvar="FLOWSTONE_CONFIG",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Node options from this flowstone.toml or pyproject.toml (env FLOWSTONE_CONFIG; default: "
    "the nearest one from the working directory).",
)
@click.pass_context
def main(
    ctx: click.Context,
    debug: bool,
    verbose: bool,
    log_level: str | None,
    log_format: str | None,
    config_file: str | None,
) -> None:
    """FlowStone: asset-first data orchestration on a supervision tree.

    \b
    Example:
      flowstone run examples/daily_sales.py:pipeline revenue --partition 2025-01-05
    """
    ctx.obj = {"debug": debug, "log_level": log_level, "log_format": log_format}
    if config_file is not None:  # every node this command starts reads it (flowstone/_settings.py)
        os.environ["FLOWSTONE_CONFIG"] = config_file
    configure_logging(verbose)


for command in (
    run,
    backfill,
    status,
    assets,
    graph,
    lineage,
    tree,
    health,
    jobs,
    db,
    worker,
    signal,
    gates,
    approvals,
    schedules,
    sensors,
    config,
):
    main.add_command(command)
