"""Partitions on the command line, read by the same parser as the API.

The syntax is :func:`flowstone.partitions.parse` (one partition) and
:func:`flowstone.partitions.parse_many` (``a,b,c`` or ``START..END``); when the asset
declares a partition set, the set parses the text (``eu|2025-01-01`` for a ``Multi``) and
refuses a partition outside it. A ``PartitionError`` becomes a bad-parameter error with
the same text the API raises. ``--partition-str`` keeps the text as one string.
"""

from __future__ import annotations

from collections.abc import Iterable

import click

from flowstone import partitions
from flowstone._pipeline import Pipeline
from flowstone.errors import FlowStoneError, PartitionError

__all__ = ["declared_set", "parse_many", "parse_one"]


def declared_set(pipeline: Pipeline, asset: str) -> partitions.PartitionSet | None:
    """The partition set ``asset`` declares, to parse its partitions with (None if none).

    An unknown asset gives None here: the command itself then reports it as it does.
    """
    try:
        return pipeline.get(asset).options.partitions
    except FlowStoneError:
        return None


def parse_one(
    text: str | None, *, as_string: bool = False, within: partitions.PartitionSet | None = None
) -> partitions.Partition:
    """One partition from its command-line text (None stays None)."""
    if text is None:
        return None
    if as_string:
        return text
    try:
        return partitions.parse(text, within)
    except PartitionError as exc:
        raise click.BadParameter(str(exc), param_hint="--partition") from exc


def parse_many(
    text: str, *, as_string: bool = False, within: partitions.PartitionSet | None = None
) -> Iterable[partitions.Partition]:
    """``a,b,c`` or ``START..END`` (a sized, lazy set) or a single partition."""
    if as_string:
        return [text]
    try:
        return partitions.parse_many(text, within)
    except PartitionError as exc:
        raise click.BadParameter(str(exc), param_hint="--partitions") from exc
