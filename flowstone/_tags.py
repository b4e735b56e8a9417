"""Run tags: string metadata a caller attaches to a run (issue 19, run metadata).

Tags are validated once, where a run is asked for (``node.run``/``submit``/``backfill``),
and travel with the run as a read-only mapping: into the store (the run's row and its
audit entries), ``ctx.tags``, events, durable jobs and resumed waits. Keys are short
and predictable so that ``--tag key=value`` filters can match them exactly.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from flowstone.errors import TagError

__all__ = ["EMPTY", "MAX_TAGS", "MAX_VALUE", "Tags", "decode_tags", "encode_tags", "tagged", "validate_tags"]

Tags = Mapping[str, str]
MAX_TAGS = 32
MAX_VALUE = 256
_KEY = re.compile(r"[a-z0-9_.\-]{1,64}")
EMPTY: Tags = MappingProxyType({})


def validate_tags(tags: object) -> Tags:
    """``tags`` checked and frozen; ``TagError`` naming the first bad key or value."""
    if tags is None:
        return EMPTY
    if not isinstance(tags, Mapping):
        raise TagError(f"tags must be a mapping of str to str, got {type(tags).__name__}")
    if len(tags) > MAX_TAGS:
        raise TagError(f"a run takes at most {MAX_TAGS} tags, got {len(tags)}; drop some or join them")
    checked: dict[str, str] = {}
    for key, value in tags.items():
        if not isinstance(key, str) or _KEY.fullmatch(key) is None:
            raise TagError(
                f"tag key {key!r} is invalid: keys are 1 to 64 characters of [a-z0-9_.-]",
                key=key if isinstance(key, str) else repr(key),
            )
        if not isinstance(value, str):
            raise TagError(
                f"tag {key!r} has value {value!r} ({type(value).__name__}): tag values are str",
                key=key,
            )
        if len(value) > MAX_VALUE:
            raise TagError(
                f"tag {key!r} has a value of {len(value)} characters: at most {MAX_VALUE}", key=key
            )
        checked[key] = value
    return MappingProxyType(checked) if checked else EMPTY


def encode_tags(tags: Tags) -> str:
    """The JSON a store keeps for ``tags`` (sorted, so equal tags read equal)."""
    return json.dumps(dict(tags), sort_keys=True)


def decode_tags(text: str | None) -> Tags:
    """Tags read back from the store (``{}`` for a row written before tags existed)."""
    if not text:
        return EMPTY
    loaded = json.loads(text)
    return MappingProxyType({str(k): str(v) for k, v in loaded.items()}) if loaded else EMPTY


def tagged(tags: Tags) -> dict[str, Any]:
    """The ``tags`` entry of an audit entry's details: nothing for an untagged run, so the
    entries of untagged runs read as they always have."""
    return {"tags": dict(tags)} if tags else {}
