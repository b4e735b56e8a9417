"""Printing results: pure JSON to stdout with ``--json``, rich text otherwise."""

from __future__ import annotations

import base64
import dataclasses
import json
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any
from uuid import UUID

import click

__all__ = ["echo_json", "jsonable", "pretty", "table_console"]


def jsonable(value: Any) -> Any:
    """A JSON-encodable rendering of a value (dates as ISO text, sets as lists, ...)."""
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal | UUID):
        return str(value)
    if isinstance(value, bytes):
        return {"base64": base64.b64encode(value).decode()}
    if isinstance(value, dict):
        return {str(k) if not isinstance(k, str) else k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return repr(value)


def echo_json(data: Any) -> None:
    click.echo(json.dumps(jsonable(data), indent=2, sort_keys=False))


def pretty(value: Any, *, max_length: int = 20, max_string: int = 200) -> str:
    """A pretty-printed repr, truncated sensibly for a terminal."""
    from rich.pretty import pretty_repr  # noqa: PLC0415 - rich loads only for the CLI

    return pretty_repr(value, max_width=100, max_length=max_length, max_string=max_string)


def table_console() -> Any:
    """A console for tables on stdout: a terminal's width, or, when stdout is a pipe or a
    file, as wide as the rows need, so that no cell (a token, an id) is wrapped mid-word
    at rich's default 80 columns."""
    import sys  # noqa: PLC0415

    from rich.console import Console  # noqa: PLC0415 - rich loads only for the CLI

    return Console() if sys.stdout.isatty() else Console(width=100_000, soft_wrap=False)
