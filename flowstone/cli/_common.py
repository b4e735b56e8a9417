"""What every ``flowstone`` command shares: the database option, targets, exit codes,
one-line errors, and where output goes (results to stdout, logs to stderr)."""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

import click

from flowstone._pipeline import Pipeline
from flowstone.cli._logging import FORMATS, LEVELS, install
from flowstone.cli._output import echo_json, jsonable
from flowstone.cli._target import TargetError, load
from flowstone.errors import FlowStoneError

__all__ = [
    "DEFAULT_DATABASE_URL",
    "EXIT_FAILURE",
    "EXIT_OK",
    "EXIT_USAGE",
    "configure_logging",
    "database_option",
    "error_json",
    "error_text",
    "fail",
    "load_target",
    "logging_options",
]

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2
DEFAULT_DATABASE_URL = "sqlite:///.flowstone/flowstone.db"

F = TypeVar("F", bound=Callable[..., Any])


def database_option(function: F) -> F:
    """``--database-url``, falling back to ``FLOWSTONE_DATABASE_URL``, then the embedded file."""
    return click.option(
        "--database-url",
        envvar="FLOWSTONE_DATABASE_URL",
        default=None,
        callback=_database_url,
        help="sqlite:///path.db or postgresql+psycopg://user@host/db (env FLOWSTONE_DATABASE_URL, then "
        f"database_url of flowstone.toml; default {DEFAULT_DATABASE_URL}).",
    )(function)


def _database_url(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str:
    """The option, else the config file's ``database_url``, else the embedded file."""
    if value is not None:
        return value
    from flowstone._settings import merge  # noqa: PLC0415 - tomllib loads only when needed

    try:
        configured = merge({}).values.get("database_url")
    except FlowStoneError as exc:
        raise click.BadParameter(str(exc), param_hint="--database-url") from None
    return str(configured) if configured else DEFAULT_DATABASE_URL


def configure_logging(verbose: bool, *, quiet_level: int = logging.CRITICAL) -> None:
    """Logs go to stderr, so that stdout carries only results (pure JSON with --json).

    Commands are quiet unless ``--verbose`` or ``--log-level``: a failure is reported as one
    ``error:`` line, not also as the library's log events. A worker logs warnings by default.
    The group's ``--log-level``/``--log-format`` (or their environment forms) win.
    """
    ctx = click.get_current_context(silent=True)
    chosen = dict((ctx.find_root().obj or {}) if ctx is not None else {})
    named = chosen.get("log_level")
    level = logging.getLevelName(named.upper()) if named else logging.INFO if verbose else quiet_level
    install(level, chosen.get("log_format") or "console")


def logging_options(function: F) -> F:
    """``--log-level`` and ``--log-format`` (``FLOWSTONE_LOG_LEVEL``/``FLOWSTONE_LOG_FORMAT``)."""
    function = click.option(
        "--log-format",
        envvar="FLOWSTONE_LOG_FORMAT",
        type=click.Choice(FORMATS, case_sensitive=False),
        default=None,
        help="Log lines on stderr: console (default) or json, one object per line "
        "(env FLOWSTONE_LOG_FORMAT).",
    )(function)
    return click.option(
        "--log-level",
        envvar="FLOWSTONE_LOG_LEVEL",
        type=click.Choice(LEVELS, case_sensitive=False),
        default=None,
        help="Log at this level and above to stderr (env FLOWSTONE_LOG_LEVEL; default: errors "
        "are one line, a worker logs warnings).",
    )(function)


def fail(message: str, *, code: int = EXIT_FAILURE) -> NoReturn:
    """Print one clear line to stderr and exit with ``code``."""
    raise click.exceptions.Exit(_echo_error(message, code))


def _echo_error(message: str, code: int) -> int:
    click.echo(f"error: {message}", err=True)
    return code


def load_target(target: str, *, for_workers: bool = False) -> Pipeline:
    """The pipeline of ``path/to/file.py:pipeline`` or ``package.module:pipeline``.

    A target that cannot be loaded exits 2 with one line naming the file and the cause
    (and, with ``--debug``, the traceback of what its import raised first). With
    ``for_workers`` a file that workers could not import by module name is refused.
    """
    try:
        return load(target, for_workers=for_workers)
    except TargetError as exc:
        if exc.__cause__ is not None and _debug():
            traceback.print_exception(exc.__cause__, file=sys.stderr)
        fail(str(exc), code=EXIT_USAGE)


def _debug() -> bool:
    ctx = click.get_current_context(silent=True)
    return ctx is not None and bool((ctx.find_root().obj or {}).get("debug"))


def error_text(exc: BaseException) -> str:
    """The one text of an error, the same on stderr and in ``--json`` output."""
    if isinstance(exc, FlowStoneError):
        return f"{type(exc).__name__}: {exc}"
    return f"unexpected {type(exc).__name__}: {exc} (run with --debug for the traceback)"


def error_json(exc: BaseException) -> dict[str, Any]:
    """A failure as ``--json`` prints it: the error's text and type, and the run it names."""
    return {
        "error": error_text(exc),
        "type": type(exc).__name__,
        "run_id": getattr(exc, "run_id", None),
        "asset": getattr(exc, "asset", None),
        "partition": jsonable(getattr(exc, "partition", None)),
    }


def run_guarded(action: Callable[[], int], debug: bool, *, as_json: bool = False) -> int:
    """Run a command body: errors become one line on stderr (a traceback with --debug);
    with ``as_json`` also a JSON object on stdout, so a script still gets the run id."""
    try:
        return action()
    except (click.ClickException, click.exceptions.Exit, KeyboardInterrupt):
        raise
    except Exception as exc:
        if debug:
            raise
        if as_json:
            echo_json(error_json(exc))
        return _echo_error(error_text(exc), EXIT_FAILURE)


def guarded(ctx: click.Context, action: Callable[[], int]) -> None:
    """``run_guarded`` with the group's ``--debug``, exiting with the body's code."""
    debug = bool((ctx.find_root().obj or {}).get("debug"))
    ctx.exit(run_guarded(action, debug, as_json=bool(ctx.params.get("as_json"))))
