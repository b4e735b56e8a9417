"""What ``flowstone run`` says while its run waits durably: which gate or approval, and the
command that resumes it, so that a user at a terminal is never left looking at nothing."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import click

__all__ = ["announce_waits"]


@contextlib.contextmanager
def announce_waits(node: Any) -> Iterator[None]:
    """Print a line to stderr for each gate or approval a run of ``node`` waits on."""
    from flowstone.events import ApprovalRequested, GateCreated  # noqa: PLC0415

    where = "from another shell"

    def on_event(event: Any) -> None:
        if isinstance(event, GateCreated):
            tokens = [g.token for g in node.gates(state="waiting") if g.id == event.wait_id]
            token = tokens[0] if tokens else "TOKEN (see `flowstone gates`)"
            click.echo(
                f"waiting: asset {event.asset!r} (run {event.run_id}) waits on gate {event.key!r}; "
                f"resume it {where}: flowstone signal {token}",
                err=True,
            )
        elif isinstance(event, ApprovalRequested):
            click.echo(
                f"waiting: asset {event.asset!r} (run {event.run_id}) waits for approval {event.wait_id}; "
                f"decide it {where}: flowstone approvals approve {event.wait_id} --by NAME",
                err=True,
            )

    with node.events.subscribe(on_event):
        yield
