"""Durable waits from the command line: ``signal``, ``gates`` and ``approvals``.

They need only the database: a signal or a decision is recorded there, and whichever
node runs the pipeline resumes the waiting run. A refusal exits 1 with its reason on
stderr (``error: signal refused (already_signaled): ...``); bad usage exits 2.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from flowstone.cli._common import EXIT_FAILURE, EXIT_OK, database_option, fail, guarded
from flowstone.cli._output import echo_json, table_console
from flowstone.errors import ApprovalError, SignalError

__all__ = ["approvals", "gates", "signal"]

_json = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON to stdout.")
GATE_STATES = ("waiting", "signaled", "expired", "cancelled", "all")
APPROVAL_STATES = ("pending", "approved", "rejected", "expired", "all")


@contextmanager
def _waits(database_url: str) -> Iterator[Any]:
    """The database's waits, without a node (signals are accepted; nothing is resumed here)."""
    from flowstone._store.sql import SQLStore  # noqa: PLC0415 - SQLAlchemy loads lazily
    from flowstone._waits.runtime import Waits, WaitSettings  # noqa: PLC0415
    from flowstone._waits.sql import SQLWaits  # noqa: PLC0415

    store = SQLStore(database_url)
    store.open()
    try:
        waits = Waits(SQLWaits(store), WaitSettings())
        waits.records = store
        yield waits
    finally:
        store.close()


def _payload(text: str | None) -> Any:
    if text is None:
        return None
    from flowstone import codec  # noqa: PLC0415
    from flowstone.errors import DecodeError  # noqa: PLC0415

    try:
        if text.startswith("@"):
            return codec.decode_json(Path(text[1:]).read_text(encoding="utf-8"))
        return codec.decode_json(text)
    except OSError as exc:
        fail(f"cannot read the payload file {text[1:]!r}: {exc}", code=2)
    except DecodeError as exc:  # not JSON, or NaN / Infinity, which JSON does not have
        fail(f"the payload is not JSON: {exc}", code=2)


def _refused(kind: str, exc: SignalError | ApprovalError) -> int:
    click.echo(f"error: {kind} refused ({exc.reason}): {exc}", err=True)
    return EXIT_FAILURE


@click.command()
@click.argument("token")
@click.option("--payload", help="The payload as JSON, or @path/to/file.json.")
@_json
@database_option
@click.pass_context
def signal(ctx: click.Context, token: str, payload: str | None, as_json: bool, database_url: str) -> None:
    """Signal the gate TOKEN names; its waiting asset resumes.

    \b
    Example:
      flowstone signal "$TOKEN" --payload '{"url": "s3://bucket/out.mp4"}'
    """
    value = _payload(payload)

    def body() -> int:
        from flowstone._waits.gates import signal as send  # noqa: PLC0415

        with _waits(database_url) as waits:
            try:
                info = send(waits, token, value)
            except SignalError as exc:
                return _refused("signal", exc)
        if as_json:
            echo_json(info)
        else:
            click.echo(f"gate {info.key!r} of {info.pipeline}/{info.asset} (run {info.run_id}): {info.state}")
        return EXIT_OK

    guarded(ctx, body)


@click.command()
@click.option("--state", type=click.Choice(GATE_STATES), default="waiting", show_default=True)
@_json
@database_option
@click.pass_context
def gates(ctx: click.Context, state: str, as_json: bool, database_url: str) -> None:
    """List gates (with their tokens).

    \b
    Example:
      flowstone gates --state waiting --json
    """

    def body() -> int:
        from flowstone._waits.gates import KIND, gate_info  # noqa: PLC0415

        with _waits(database_url) as waits:
            states = None if state == "all" else (state,)
            found = [gate_info(waits, r) for r in waits.store.select(kind=KIND, states=states)]
        if as_json:
            echo_json(found)
            return EXIT_OK
        _print_table(
            ("id", "state", "pipeline/asset", "partition", "key", "expires", "token"),
            [
                (g.id, g.state, f"{g.pipeline}/{g.asset}", g.partition_key, g.key, str(g.expires_at), g.token)
                for g in found
            ],
        )
        return EXIT_OK

    guarded(ctx, body)


def _print_table(columns: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> None:
    from rich.table import Table  # noqa: PLC0415

    table = Table()
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*row)
    table_console().print(table)


_approval_state = click.option(
    "--state", type=click.Choice(APPROVAL_STATES), default="pending", show_default=True
)


@click.group(invoke_without_command=True)
@_approval_state
@_json
@database_option
@click.pass_context
def approvals(ctx: click.Context, state: str, as_json: bool, database_url: str) -> None:
    """List pending approvals, or approve or reject one.

    \b
    Example:
      flowstone approvals
      flowstone approvals approve 3f2a... --by alice --reason "numbers checked"
      flowstone approvals reject 3f2a... --by bob --reason "wrong quarter"
    """
    if ctx.invoked_subcommand is None:
        guarded(ctx, lambda: _list_approvals(state, as_json, database_url))


@approvals.command("list")
@_approval_state
@_json
@database_option
@click.pass_context
def list_approvals(ctx: click.Context, state: str, as_json: bool, database_url: str) -> None:
    """List approvals (pending ones by default).

    \b
    Example:
      flowstone approvals list --state all --json
    """
    guarded(ctx, lambda: _list_approvals(state, as_json, database_url))


def _list_approvals(state: str, as_json: bool, database_url: str) -> int:
    from flowstone._waits.approvals import KIND, approval_info  # noqa: PLC0415

    with _waits(database_url) as waits:
        states = None if state == "all" else (state,)
        found = [approval_info(r) for r in waits.store.select(kind=KIND, states=states)]
    if as_json:
        echo_json(found)
        return EXIT_OK
    rows = [
        (
            a.id,
            a.state,
            f"{a.pipeline}/{a.asset}",
            a.partition_key,
            a.message,
            str(a.requested_at),
            str(a.timeout_at),
        )
        for a in found
    ]
    _print_table(("id", "state", "pipeline/asset", "partition", "message", "requested", "timeout"), rows)
    return EXIT_OK


def _decide(approve: bool) -> Callable[..., None]:
    @click.argument("approval_id")
    @click.option("--by", required=True, help="Who decides (recorded in the audit log).")
    @click.option("--reason", required=not approve, help="Why (required to reject).")
    @_json
    @database_option
    @click.pass_context
    def command(
        ctx: click.Context, approval_id: str, by: str, reason: str | None, as_json: bool, database_url: str
    ) -> None:
        def body() -> int:
            from flowstone._waits.approvals import decide  # noqa: PLC0415

            with _waits(database_url) as waits:
                try:
                    info = decide(waits, approval_id, approve=approve, by=by, reason=reason)
                except ApprovalError as exc:
                    return _refused("decision", exc)
                except ValueError as exc:
                    fail(str(exc), code=2)
            if as_json:
                echo_json(info)
            else:
                click.echo(f"approval {info.id} of {info.pipeline}/{info.asset}: {info.state} by {by}")
            return EXIT_OK

        guarded(ctx, body)

    verb = "Approve" if approve else "Reject"
    example = (
        'flowstone approvals approve 3f2a9c --by alice --reason "numbers checked"'
        if approve
        else 'flowstone approvals reject 3f2a9c --by bob --reason "wrong quarter"'
    )
    command.__doc__ = f"{verb} the pending approval APPROVAL_ID.\n\n\b\nExample:\n  {example}\n"
    return command


approvals.command("approve")(_decide(approve=True))
approvals.command("reject")(_decide(approve=False))
