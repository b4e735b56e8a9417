"""``flowstone worker``: a long-running node that works job queues until told to stop."""

from __future__ import annotations

import importlib
import logging
import os
import signal
import sys
import threading
from types import FrameType

import click

from flowstone._jobs.reference import allowed_for_imports
from flowstone.cli._common import EXIT_OK, configure_logging, database_option, run_guarded

__all__ = ["worker"]


def _queues(pairs: tuple[str, ...]) -> dict[str, int]:
    queues: dict[str, int] = {}
    for pair in pairs:
        for item in pair.split(","):
            name, sep, count = item.partition("=")
            if not sep or not name or not count.isdigit():
                raise click.BadParameter(
                    f"{item!r}: expected NAME=CONCURRENCY, e.g. assets=8", param_hint="--queues"
                )
            queues[name] = int(count)
    return queues


@click.command()
@click.option(
    "--queues",
    "queue_pairs",
    multiple=True,
    default=("assets=8",),
    show_default=True,
    envvar="FLOWSTONE_QUEUES",
    help="Queues to work and their concurrency on this node: NAME=N (repeatable, or comma-separated; "
    "env FLOWSTONE_QUEUES).",
)
@click.option(
    "--import",
    "imports",
    multiple=True,
    metavar="MODULE",
    envvar="FLOWSTONE_IMPORT",
    help="Import a module first (repeatable), e.g. the one defining your pipelines. Jobs may name "
    "pipelines in these modules' packages only, unless --allow-import widens that (env FLOWSTONE_IMPORT, "
    "space-separated).",
)
@click.option(
    "--allow-import",
    "allow_patterns",
    multiple=True,
    metavar="PATTERN",
    envvar="FLOWSTONE_ALLOW_IMPORTS",
    help="Also let jobs name pipelines in modules matching PATTERN (repeatable): a module or package "
    "name ('reports' covers 'reports.daily'), with * wildcards ('reports_*'; '*' allows any module).",
)
@click.option(
    "--rescue-after",
    type=float,
    default=60.0,
    show_default=True,
    envvar="FLOWSTONE_RESCUE_AFTER",
    help="Seconds this worker may go without a heartbeat before another node rescues its jobs "
    "(written with its heartbeats: every node judges it by it; env FLOWSTONE_RESCUE_AFTER).",
)
@click.option(
    "--shutdown-grace",
    type=float,
    default=15.0,
    show_default=True,
    envvar="FLOWSTONE_SHUTDOWN_GRACE",
    help="Seconds to let jobs in flight finish on SIGTERM/SIGINT (env FLOWSTONE_SHUTDOWN_GRACE).",
)
@click.option("--verbose", is_flag=True, help="Log at info level (to stderr).")
@click.option("--debug", is_flag=True, help="Show tracebacks.")
@database_option
def worker(
    queue_pairs: tuple[str, ...],
    imports: tuple[str, ...],
    allow_patterns: tuple[str, ...],
    rescue_after: float,
    shutdown_grace: float,
    verbose: bool,
    debug: bool,
    database_url: str,
) -> None:
    """Run a worker node until SIGTERM/SIGINT, then drain gracefully.

    The first signal stops claiming jobs and lets those in flight finish (the supervision
    tree stops in reverse order); a second signal exits at once. Jobs left unfinished are
    rescued by another node after --rescue-after seconds.

    \b
    Example:
      flowstone worker --queues assets=8 --import myproject.pipelines \\
        --database-url postgresql+psycopg://app@db/flowstone
    """
    configure_logging(verbose, quiet_level=logging.WARNING)
    queues = _queues(queue_pairs)
    try:
        allow_imports = allowed_for_imports(imports, allow_patterns)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--allow-import") from exc
    if not allow_imports:
        click.echo(
            "warning: no --import or --allow-import: this worker may import no pipeline module, "
            "so it will discard every job",
            err=True,
        )
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    imported = []
    for module in imports:
        try:
            imported.append(importlib.import_module(module))
        except ImportError as exc:
            raise click.BadParameter(f"cannot import {module!r}: {exc}", param_hint="--import") from exc

    def body() -> int:
        import flowstone as fs  # noqa: PLC0415

        stop = threading.Event()

        def on_signal(signum: int, _frame: FrameType | None) -> None:
            if stop.is_set():
                click.echo("second signal: exiting now", err=True)
                os._exit(1)
            click.echo(f"{signal.Signals(signum).name}: draining (signal again to exit at once)", err=True)
            stop.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        node = fs.start(
            database_url=database_url,
            queues=queues,
            rescue_after=rescue_after,
            shutdown_grace=shutdown_grace,
            name="worker",
            allow_imports=allow_imports,
            on_give_up="exit",  # a worker whose tree gave up exits non-zero: its orchestrator restarts it
            # The sensors of the imported modules' pipelines are polled by the workers.
            pipelines=[p for m in imported for p in vars(m).values() if isinstance(p, fs.Pipeline)],
        )
        click.echo(f"worker {node.id} working {queues} on {node._store.url.split('@')[-1]}", err=True)
        try:
            stop.wait()
        finally:
            node.stop()  # within shutdown_grace + 1 s: jobs in flight get the grace
        click.echo("worker stopped", err=True)
        return EXIT_OK

    code = run_guarded(body, debug)
    if any(t.is_alive() for t in threading.enumerate() if t is not threading.main_thread()):
        # A job outlived the shutdown grace: its thread cannot be killed, and the job is
        # left executing for another node to rescue. Do not let it slow the exit down.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    raise SystemExit(code)
