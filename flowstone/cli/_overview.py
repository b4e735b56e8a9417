"""``flowstone status`` without ``--partition`` on assets with partition sets: an overview.

One line per asset (``orders: 56 of 59 days materialized, 2 failed, 1 running``) and the
partitions that failed; ``--json`` prints the same data (``PartitionStatus.to_json``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from flowstone.cli._output import echo_json

if TYPE_CHECKING:
    import flowstone as fs

__all__ = ["print_overview", "wants_overview"]

_SHOWN = 10  # failed partitions (or ranges) listed per asset before "and N more"


def wants_overview(pipeline: fs.Pipeline, names: list[str], partition: str | None) -> bool:
    """An overview when no partition is asked for and an asset shown declares a set."""
    return partition is None and any(pipeline.get(name).options.partitions is not None for name in names)


def print_overview(node: fs.Node, pipeline: fs.Pipeline, names: list[str], *, as_json: bool) -> None:
    """Print each asset's ``PartitionStatus``: a line and its failures, or JSON."""
    overview = [node.partition_status(pipeline, name) for name in names]
    if as_json:
        echo_json([status.to_json() for status in overview])
        return
    for status in overview:
        click.echo(f"{status.asset}: {status.summary()}")
        failed = status.describe("failed")
        if failed:
            more = f" and {len(failed) - _SHOWN} more" if len(failed) > _SHOWN else ""
            click.echo(f"  failed: {', '.join(failed[:_SHOWN])}{more}")
