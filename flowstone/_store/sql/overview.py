"""The SQL store's overview of an asset's partitions (``node.partition_status``), read
from ``flowstone_partition_states``: the newest state of each partition, which database
triggers keep in the transaction of every record written (migration 0011).

For a daily set the overview is two index reads whatever the number of days: the count
of members per state (a range of the index), then the keys of every state but the most
common one. When those add up to the whole set no member is missing, and the common
state's ranges are the gaps between the others (``partition_status_around``): 100,000
days, one in a thousand failed, read 100 keys, not 100,000. Otherwise (some days missing,
or a set whose keys do not sort in its order) every key's newest state is read from the
summary, one narrow row each.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, func, select

from flowstone import partitions
from flowstone._partition_status import PartitionStatus, partition_status, partition_status_around
from flowstone._store.sql.schema import partition_states

__all__ = ["Overview"]

S = partition_states
_ASSET = (S.c.pipeline == bindparam("b_pipeline"), S.c.asset == bindparam("b_asset"))

COUNTS_IN_SPAN = (
    select(S.c.status, func.count())
    .where(
        *_ASSET,
        S.c.partition_key.between(bindparam("b_first"), bindparam("b_last")),
        S.c.partition_key.like(bindparam("b_pattern")),
    )
    .group_by(S.c.status)
)
KEYS_IN_STATES = select(S.c.partition_key, S.c.status).where(
    *_ASSET, S.c.status.in_(bindparam("b_states", expanding=True))
)
ALL_KEYS = select(S.c.partition_key, S.c.status).where(*_ASSET)


class Overview:
    """Mixed into ``SQLStore``: ``partition_overview``."""

    def _read(self, doing: str) -> Any: ...  # SQLStore's

    def partition_overview(
        self, pipeline: str, asset: str, pset: partitions.PartitionSet | None
    ) -> PartitionStatus:
        """The overview of ``asset``'s partitions against its declared set (or None)."""
        key = {"b_pipeline": pipeline, "b_asset": asset}
        span = pset._key_span() if isinstance(pset, partitions.TimeSet) else None
        with self._read("read") as c:
            if span is not None:
                assert isinstance(pset, partitions.TimeSet)
                first, last, pattern = span
                params = {**key, "b_first": first, "b_last": last, "b_pattern": pattern}
                counts: dict[str, int] = {s: n for s, n in c.execute(COUNTS_IN_SPAN, params)}  # noqa: C416
                if not counts:
                    return partition_status(asset, pset, {})
                majority = max(counts, key=counts.__getitem__)
                minority = [s for s in counts if s != majority]
                others: dict[str, str] = {}
                if minority:
                    rows = c.execute(KEYS_IN_STATES, {**key, "b_states": minority})
                    others = {k: s for k, s in rows}  # noqa: C416
                status = partition_status_around(asset, pset, majority, counts[majority], others)
                if status is not None:
                    return status
            states = {k: s for k, s in c.execute(ALL_KEYS, key)}  # noqa: C416
        return partition_status(asset, pset, states)
