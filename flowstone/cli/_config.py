"""``flowstone config``: each node option's value and where it came from."""

from __future__ import annotations

import click

from flowstone.cli._common import EXIT_OK, guarded
from flowstone.cli._output import echo_json, table_console

__all__ = ["config"]


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON to stdout.")
@click.pass_context
def config(ctx: click.Context, as_json: bool) -> None:
    """Show every plain node option: its value and its source (argument, FLOWSTONE_<OPTION>,
    the config file, or default). Secrets and the database password are masked.

    \b
    Example:
      FLOWSTONE_QUEUES=assets=8 flowstone config
    """

    def body() -> int:
        from flowstone._settings import resolve, shown  # noqa: PLC0415

        resolved = resolve({})
        rows = shown(resolved)
        if as_json:
            echo_json({"file": None if resolved.file is None else str(resolved.file), "options": rows})
            return EXIT_OK
        from rich.table import Table  # noqa: PLC0415

        table = Table(title=f"node options (file: {resolved.file or 'none found'})")
        for column in ("option", "value", "source", "environment variable"):
            table.add_column(column)
        for row in rows:
            table.add_row(row["option"], repr(row["value"]), row["source"], row["env"])
        table_console().print(table)
        return EXIT_OK

    guarded(ctx, body)
