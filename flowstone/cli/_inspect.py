"""``flowstone status``, ``assets``, ``graph`` and ``lineage``."""

from __future__ import annotations

import click

from flowstone.cli._common import EXIT_OK, database_option, guarded, load_target
from flowstone.cli._output import echo_json, table_console
from flowstone.cli._partitions import declared_set, parse_one

__all__ = ["assets", "graph", "lineage", "status"]

_json = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON to stdout.")
_partition = click.option("--partition", help="YYYY-MM-DD, an aware datetime, an int, or text.")
_partition_str = click.option("--partition-str", is_flag=True, help="Take --partition as a plain string.")


_Branch = tuple[str, list["_Branch"]]  # a lineage tree: its label and its children


def _console() -> object:
    return table_console()  # piped: as wide as the rows, never wrapped mid-word


@click.command()
@click.argument("target")
@click.argument("asset", required=False)
@_partition
@_partition_str
@click.option(
    "--tag", "tags", multiple=True, metavar="KEY=VALUE", help="Only assets whose latest run has this tag."
)
@_json
@database_option
@click.pass_context
def status(
    ctx: click.Context,
    target: str,
    asset: str | None,
    partition: str | None,
    partition_str: bool,
    tags: tuple[str, ...],
    as_json: bool,
    database_url: str,
) -> None:
    """Show where each asset (or ASSET) stands for a partition.

    Without --partition, assets that declare a partition set get an overview instead:
    how many of their partitions are materialized, failed or running, and which failed.

    With --tag (repeatable), only assets whose latest run has every tag given are shown.

    \b
    Example:
      flowstone status examples/daily_sales.py:pipeline --partition 2025-01-05
    """
    import flowstone as fs  # noqa: PLC0415
    from flowstone.cli._tags import parse_tag_filters  # noqa: PLC0415

    wanted = parse_tag_filters(tags).items()

    pipeline = load_target(target)
    within = None if asset is None else declared_set(pipeline, asset)
    value = parse_one(partition, as_string=partition_str, within=within)

    def body() -> int:
        from flowstone.cli._overview import print_overview, wants_overview  # noqa: PLC0415
        from flowstone.cli._scatter import describe, progress_of  # noqa: PLC0415

        names = [asset] if asset else pipeline.assets()
        if wants_overview(pipeline, names, partition) and not wanted:
            with fs.start(database_url=database_url) as node:
                print_overview(node, pipeline, names, as_json=as_json)
            return EXIT_OK
        with fs.start(database_url=database_url) as node:
            rows = [(name, node.status(pipeline, name, value)) for name in names]
            run_tags = {name: dict(node.run_tags(s.run_id)) if s.run_id else {} for name, s in rows}
            rows = [(name, s) for name, s in rows if wanted <= run_tags[name].items()]
            keys = {name: progress_of(node, pipeline, name, s.run_id) for name, s in rows}
        if as_json:
            echo_json(
                [
                    {
                        "asset": name,
                        **echo_fields(s),
                        "tags": run_tags[name],
                        **({"scatter": echo_fields(keys[name])} if keys[name] else {}),
                    }
                    for name, s in rows
                ]
            )
            return EXIT_OK
        from rich.table import Table  # noqa: PLC0415

        table = Table(title=f"{pipeline.name} — partition {fs.partitions.describe(value)}")
        scattered = any(keys.values())
        for column in (
            "asset",
            "state",
            "attempts",
            "finished",
            "run",
            "error",
            *(("keys",) if scattered else ()),
        ):
            table.add_column(column, overflow="fold")
        for name, s in rows:
            finished = s.finished_at.isoformat(timespec="seconds") if s.finished_at else ""
            extra = (describe(keys[name]),) if scattered else ()
            table.add_row(name, s.state, str(s.attempts), finished, s.run_id or "", s.error or "", *extra)
        _console().print(table)  # type: ignore[attr-defined]
        return EXIT_OK

    guarded(ctx, body)


def echo_fields(s: object) -> dict[str, object]:
    from flowstone.cli._output import jsonable  # noqa: PLC0415

    data: dict[str, object] = jsonable(s)
    return data


@click.command()
@click.argument("target")
@_json
@click.pass_context
def assets(ctx: click.Context, target: str, as_json: bool) -> None:
    """List the assets of TARGET with their dependencies.

    \b
    Example:
      flowstone assets examples/daily_sales.py:pipeline
    """
    pipeline = load_target(target)

    def body() -> int:
        infos = [pipeline.info(name) for name in pipeline.assets()]
        if as_json:
            echo_json(
                [
                    {"name": i.name, "depends_on": list(i.depends_on), "description": i.description}
                    for i in infos
                ]
            )
            return EXIT_OK
        from rich.table import Table  # noqa: PLC0415

        table = Table(title=pipeline.name)
        for column in ("asset", "depends on", "description"):
            table.add_column(column)
        for info in infos:
            table.add_row(info.name, ", ".join(info.depends_on), info.description or "")
        _console().print(table)  # type: ignore[attr-defined]
        return EXIT_OK

    guarded(ctx, body)


@click.command()
@click.argument("target")
@click.option(
    "--format", "fmt", type=click.Choice(["ascii", "mermaid", "dot"]), default="ascii", show_default=True
)
@_json
@click.pass_context
def graph(ctx: click.Context, target: str, fmt: str, as_json: bool) -> None:
    """Draw the dependency graph of TARGET (--json: its assets and edges, in run order).

    \b
    Example:
      flowstone graph examples/daily_sales.py:pipeline --format mermaid
    """
    import flowstone as fs  # noqa: PLC0415

    pipeline = load_target(target)

    def body() -> int:
        if as_json:
            names = pipeline.assets()
            echo_json(
                {
                    "pipeline": pipeline.name,
                    "assets": [{"name": n, "description": pipeline.info(n).description} for n in names],
                    "edges": [{"from": dep, "to": n} for n in names for dep in pipeline.info(n).depends_on],
                }
            )
            return EXIT_OK
        click.echo(fs.graph(pipeline, fmt))  # type: ignore[arg-type]
        return EXIT_OK

    guarded(ctx, body)


@click.command()
@click.argument("target")
@click.argument("asset")
@_partition
@_partition_str
@click.option("--downstream", is_flag=True, help="Show what was computed from it instead.")
@click.option("--depth", type=int, default=None, help="How many levels (default: all).")
@_json
@database_option
@click.pass_context
def lineage(
    ctx: click.Context,
    target: str,
    asset: str,
    partition: str | None,
    partition_str: bool,
    downstream: bool,
    depth: int | None,
    as_json: bool,
    database_url: str,
) -> None:
    """Show the recorded lineage of ASSET for a partition, drawn as a tree.

    \b
    Example:
      flowstone lineage examples/daily_sales.py:pipeline revenue --partition 2025-01-05
    """
    import flowstone as fs  # noqa: PLC0415

    pipeline = load_target(target)
    within = None if asset is None else declared_set(pipeline, asset)
    value = parse_one(partition, as_string=partition_str, within=within)

    def body() -> int:
        from supervisors import draw_tree  # noqa: PLC0415 - the one tree drawing (supervisors/_tree.py)

        with fs.start(database_url=database_url) as node:
            walk = node.lineage.downstream if downstream else node.lineage.upstream
            if as_json:
                refs = walk(pipeline, asset, value, depth)
                echo_json([{"asset": r.asset, "partition": r.partition, "depth": r.depth} for r in refs])
                return EXIT_OK
            arrow = "computed into" if downstream else "computed from"
            root: _Branch = (f"{asset} [{fs.partitions.describe(value)}] ({arrow})", [])
            seen: set[tuple[str, object]] = set()

            def expand(branch: _Branch, name: str, part: object, level: int) -> None:
                if depth is not None and level >= depth:
                    return
                for ref in walk(pipeline, name, part, 1):  # type: ignore[arg-type]
                    label = f"{ref.asset} [{fs.partitions.describe(ref.partition)}]"
                    key = (ref.asset, fs.partitions.serialize(ref.partition))
                    if key in seen:
                        branch[1].append((f"{label} (see above)", []))
                        continue
                    seen.add(key)
                    child: _Branch = (label, [])
                    branch[1].append(child)
                    expand(child, ref.asset, ref.partition, level + 1)

            expand(root, asset, value, 0)
            if not root[1]:
                root[1].append(("(no lineage recorded)", []))
        click.echo(draw_tree(root, lambda branch: branch[0], lambda branch: branch[1]))
        return EXIT_OK

    guarded(ctx, body)
