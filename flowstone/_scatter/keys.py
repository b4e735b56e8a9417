"""Scatter keys checked one at a time, as they are produced: encoded, bounded, deduplicated.

Pure functions over plain data (no store, no clock). Keys are consumed lazily, so a
generator of a million keys is never turned into a list; keys given as a list or tuple are
all checked before the first is yielded, so a bad one among them stops the scatter before
any key runs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from flowstone import codec
from flowstone.errors import EncodeError, ScatterKeyError

__all__ = ["DEFAULT_MAX_KEY_BYTES", "Key", "check_key", "checked_keys", "digest", "unique"]

DEFAULT_MAX_KEY_BYTES = 4096
"""The largest encoded scatter key unless the node or the asset says otherwise."""


@dataclass(frozen=True, slots=True)
class Key:
    """One checked key: where it came in the asset's keys, and its encoding."""

    position: int
    value: Any
    encoded: bytes

    @property
    def digest(self) -> bytes:
        """What identifies the key among the scatter's keys (equal encodings, equal keys)."""
        return digest(self.encoded)


def digest(encoded: bytes) -> bytes:
    """A fixed-size identity for an encoded key: databases index it where they cannot
    index a key of up to ``max_key_bytes``."""
    return hashlib.sha256(encoded).digest()


def check_key(value: Any, position: int, *, asset: str, limit: int, run_id: str | None = None) -> Key:
    """Encode one key and check its size; ``ScatterKeyError`` when it is unusable."""
    try:
        encoded = codec.encode(value)
    except EncodeError as exc:
        raise ScatterKeyError(
            f"asset {asset!r}: the scatter key at position {position} cannot be encoded: {exc}; "
            "keys are codec values (dicts, tuples, strings, numbers): pass an id, not an object",
            asset=asset,
            position=position,
            size=None,
            limit=limit,
            path=exc.path,
            run_id=run_id,
        ) from exc
    if len(encoded) > limit:
        raise ScatterKeyError(
            f"asset {asset!r}: the scatter key at position {position} is {len(encoded)} bytes "
            f"encoded, over max_key_bytes={limit}; use a smaller key (an id rather than the record) "
            "or raise max_key_bytes",
            asset=asset,
            position=position,
            size=len(encoded),
            limit=limit,
            run_id=run_id,
        )
    return Key(position, value, encoded)


def checked_keys(
    keys: Iterable[Any], *, asset: str, limit: int, run_id: str | None = None, start: int = 0
) -> Iterator[Key]:
    """The keys, each checked, numbered from ``start``; lazily unless given as a list/tuple."""
    if isinstance(keys, list | tuple):
        checked = [
            check_key(value, start + i, asset=asset, limit=limit, run_id=run_id)
            for i, value in enumerate(keys)
        ]
        yield from checked
        return
    for i, value in enumerate(keys):
        yield check_key(value, start + i, asset=asset, limit=limit, run_id=run_id)


def unique(keys: Iterable[Key], seen: set[bytes] | None = None) -> Iterator[Key]:
    """The keys without repeats (by encoding), the first of each kept.

    ``seen`` holds the digests already taken; a store's barrier that enforces uniqueness
    itself (a unique constraint) does not need this.
    """
    taken: set[bytes] = set() if seen is None else seen
    for key in keys:
        identity = key.digest
        if identity not in taken:
            taken.add(identity)
            yield key
