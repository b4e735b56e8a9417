"""Checks on single partition values that partition sets and mappings build on.

``validate``, ``describe`` and ``static`` are re-exported by :mod:`flowstone.partitions`;
they live here, below the partition-set modules, so that those modules can use them
without importing the public ``partitions`` module that imports them (issue 22: the
import graph of a package runs one way).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import cast

from flowstone._partition_format import MAX_DEPTH, Partition, encode
from flowstone.errors import PartitionError


def validate(partition: object) -> Partition:
    """Return ``partition`` unchanged if it is an allowed partition value.

    Validation serializes the value, because the 1,024-byte limit is a limit on the text.

    Raises:
        PartitionError: naming the offending part's path (``partition[1][0]: ...``) and
            what is allowed.
    """
    encode(partition)
    return cast("Partition", partition)  # encode() has just proved it is one


def describe(partition: object) -> str:
    """Return a short human form for messages and logs; it is not meant to be parsed.

    Dates and datetimes are ISO text, strings are shown as they are, ``None`` is ``None``
    and tuples are ``(a, b)``. Any value is accepted, so that describing a bad partition in
    an error message never raises a second error.
    """
    return _describe(partition, 0)


def _describe(value: object, depth: int) -> str:
    if value is None or isinstance(value, str):
        return str(value)
    if isinstance(value, date):  # datetime too
        return value.isoformat()
    if isinstance(value, tuple):
        if depth > MAX_DEPTH:
            return "(...)"
        return "(" + ", ".join(_describe(item, depth + 1) for item in value) + ")"
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            return str(value)
        except ValueError:  # beyond CPython's int-to-str digit limit
            return f"<int of {value.bit_length()} bits>"
    return repr(value)


def static(values: Iterable[Partition]) -> tuple[Partition, ...]:
    """Return ``values`` as a tuple after validating each and refusing duplicates.

    Duplicates are values that compare equal, which includes two datetimes naming the same
    instant with different UTC offsets: they would be two stored partitions for one hour.

    Raises:
        PartitionError: a value is not allowed (named as ``values[i]``), a value repeats
            an earlier one, or ``values`` is a single ``str`` (which would iterate as its
            characters).
    """
    if isinstance(values, str | bytes):
        raise PartitionError(
            f"static() takes an iterable of partitions, not a single {type(values).__name__}; "
            f"wrap it: static([{values!r}])"
        )
    seen: dict[Partition, int] = {}
    result: list[Partition] = []
    for index, value in enumerate(values):
        encode(value, f"values[{index}]")
        first = seen.setdefault(value, index)
        if first != index:
            raise PartitionError(
                f"values[{index}]: {describe(value)!r} repeats values[{first}]; "
                "static partitions must be unique"
            )
        result.append(value)
    return tuple(result)
