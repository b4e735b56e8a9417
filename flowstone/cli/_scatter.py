"""Scatter progress in the CLI: a live bar per scatter in ``flowstone run``, a column in
``flowstone status``."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

__all__ = ["describe", "progress_of", "scatter_bars"]


@contextlib.contextmanager
def scatter_bars(node: Any, *, enabled: bool) -> Iterator[None]:
    """While inside, a rich progress bar (on stderr) for each scatter the node runs."""
    if not enabled:
        yield
        return
    from rich.console import Console  # noqa: PLC0415 - rich loads only for the CLI
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn  # noqa: PLC0415

    from flowstone.events import ScatterKeyDone, ScatterKeyFailed, ScatterStarted  # noqa: PLC0415

    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        TextColumn("failed: {task.fields[failed]}"),
    )
    lock = threading.Lock()
    tasks: dict[tuple[str, str], Any] = {}
    failed: dict[tuple[str, str], int] = {}
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:

        def on_event(event: Any) -> None:
            with lock:
                if isinstance(event, ScatterStarted):
                    key = (event.run_id, event.asset)
                    tasks[key] = bar.add_task(f"{event.asset} keys", total=event.total, failed=0)
                    failed[key] = 0
                elif isinstance(event, ScatterKeyDone | ScatterKeyFailed):
                    key = (event.run_id, event.asset)
                    task = tasks.get(key)
                    if task is None:
                        return
                    if isinstance(event, ScatterKeyFailed):
                        failed[key] += 1
                    bar.update(task, advance=1, failed=failed[key])

        with node.events.subscribe(on_event):
            yield


def progress_of(node: Any, pipeline: Any, asset: str, run_id: str | None) -> Any:
    """The scatter progress of ``asset`` in ``run_id``, or None (not a scatter, never run)."""
    if run_id is None or pipeline.get(asset).options.scatter is None:
        return None
    return node.scatter_progress(run_id, asset)


def describe(progress: Any) -> str:
    """``done/total`` (and the failed) for a status table."""
    if progress is None:
        return ""
    total = "?" if progress.total is None else str(progress.total)
    text = f"{progress.done}/{total}"
    if progress.failed:
        text += f" ({progress.failed} failed)"
    if progress.running:
        text += f", {progress.running} running"
    return text
