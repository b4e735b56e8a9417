"""The ``flowstone`` command (also ``python -m flowstone``)."""

from __future__ import annotations

import click

from flowstone.cli._worker import worker

__all__ = ["main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="flowstone")
def main() -> None:
    """FlowStone: asset-first data orchestration on a supervision tree.

    \b
    Example:
      flowstone run examples/daily_sales.py:pipeline revenue --partition 2025-01-05
    """


main.add_command(worker)
