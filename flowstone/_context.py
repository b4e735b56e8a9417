"""The context an asset function receives as its first argument."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeVar

from flowstone._scatter.batching import BatchInfo
from flowstone.errors import OptionError, PartitionError
from flowstone.partitions import Partition, describe

if TYPE_CHECKING:
    from structlog.typing import FilteringBoundLogger

    from flowstone._scatter.options import Rate
    from flowstone._waits.gates import Gate
    from flowstone._waits.records import ApprovalDecision

__all__ = ["Context"]

_P = TypeVar("_P")
_NO_TAGS: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Context:
    """What an asset knows about the materialization it is running in.

    Attributes:
        run_id: the id of this run (shared by all assets a ``run`` materializes).
        asset: this asset's name.
        partition: the partition being materialized (None when unpartitioned).
        attempt: 1 for the first try, 2 for the first retry, and so on.
        pipeline: the pipeline's name.
        log: a structlog logger with run_id, asset and partition bound (typed as
            structlog's ``FilteringBoundLogger``: ``ctx.log.info("event", key=value)``).
        resources: the node's resources by name (read-only).
        scatter_key: in a scatter asset, the key this run of the function is for (None
            otherwise, and when the scatter runs batches).
        batch: in a scatter asset with ``fs.Batch``, the batch this run is for.
        approval: once an approval the asset asked for is granted, who granted it, why
            and when (``fs.RequestApproval``); None otherwise.
        tags: the run's tags (``node.run(..., tags={...})``), read-only; empty when none.
    """

    run_id: str
    asset: str
    partition: Partition
    attempt: int
    pipeline: str
    log: FilteringBoundLogger
    resources: Mapping[str, Any]
    scatter_key: Any = None
    batch: BatchInfo | None = None
    approval: ApprovalDecision | None = None
    tags: Mapping[str, str] = field(default_factory=lambda: _NO_TAGS)
    _waits: Any = field(default=None, repr=False, compare=False)
    #: Asks the node's resources actor for a rate grant (``flowstone/_limits.py``).
    _reserve: Any = field(default=None, repr=False, compare=False)

    @contextlib.contextmanager
    def limit(self, rate: Rate) -> Iterator[None]:
        """Wait until ``rate`` allows one more start of its key (default: this asset),
        then run the block: ``with ctx.limit(fs.Rate(5, per=1.0, key="api")): ...``.

        Shared by every asset of this node (docs/resources.md); outside a node (in
        ``fs.testing.run_asset``) it does not wait.
        """
        from flowstone._limits import Reserve, wait_for_grant  # noqa: PLC0415 - loaded when first used
        from flowstone._scatter.options import Rate  # noqa: PLC0415 - loaded when first used

        if not isinstance(rate, Rate):  # checked outside a node too, where it never waits
            raise OptionError(
                f"ctx.limit takes an fs.Rate(limit, per=seconds, key=...), got {rate!r}: "
                f"write ctx.limit(fs.Rate({rate!r}, per=1.0))"
            )
        if self._reserve is not None:
            key = rate.key if rate.key is not None else f"{self.pipeline}/{self.asset}"
            wait_for_grant(self._reserve, Reserve(key, rate.limit, float(rate.per)), time.monotonic)
        yield

    def gate(
        self,
        key: str,
        *,
        timeout: float | None,
        on_timeout: str = "fail",
        max_timeout_retries: int = 3,
        metadata: Mapping[str, Any] | None = None,
    ) -> Gate:
        """Write a signal gate for this materialization now, and return it (``fs.Gate``).

        Return the gate from the asset to suspend it until ``node.signal(gate.token, payload)``
        (a signal that arrives before it returns is kept). Called twice with one key in one
        materialization, it returns the same gate. ``SignalError(reason="bad_key")`` for a
        key that is not 1 to 128 characters of ``[A-Za-z0-9._:@/-]``.
        """
        from flowstone._waits.gates import open_gate  # noqa: PLC0415 - loaded when first used
        from flowstone.errors import FlowStoneError  # noqa: PLC0415

        if self._waits is None and (self.scatter_key is not None or self.batch is not None):
            raise FlowStoneError(
                f"asset {self.asset!r}: a scatter's key or batch cannot wait on a gate (it runs as a "
                "part of its asset's attempt); gate in an asset downstream of the scatter instead"
            )
        if self._waits is None:
            raise FlowStoneError(
                f"asset {self.asset!r}: ctx.gate needs a node (run the asset with node.run or submit)"
            )
        return open_gate(
            self,
            self._waits,
            key,
            timeout=timeout,
            on_timeout=on_timeout,
            max_timeout_retries=max_timeout_retries,
            metadata=metadata,
        )

    # --- typed partition accessors --------------------------------------------------------
    # ``partition`` is the union of every partition shape, so typed code would need a cast
    # for each use; these narrow it once, and a wrong shape is a PartitionError naming the
    # asset and the partition rather than an AttributeError further down.
    @property
    def partition_date(self) -> date:
        """The partition as a ``date`` (a daily partition); ``PartitionError`` otherwise."""
        if isinstance(self.partition, datetime):  # a datetime is a date too: refuse it
            raise self._wrong_partition("a date (not a datetime)")
        return self._partition_as(date, "a date")

    @property
    def partition_datetime(self) -> datetime:
        """The partition as a ``datetime`` (an hourly partition); ``PartitionError`` otherwise."""
        return self._partition_as(datetime, "a datetime")

    @property
    def partition_str(self) -> str:
        """The partition as a ``str`` (a region, a key); ``PartitionError`` otherwise."""
        return self._partition_as(str, "a str")

    @property
    def partition_int(self) -> int:
        """The partition as an ``int``; ``PartitionError`` otherwise (``bool`` is refused)."""
        if isinstance(self.partition, bool):
            raise self._wrong_partition("an int")
        return self._partition_as(int, "an int")

    @property
    def partition_tuple(self) -> tuple[Partition, ...]:
        """The partition as a tuple (a multi-dimensional partition); ``PartitionError`` otherwise."""
        return self._partition_as(tuple, "a tuple")

    def _partition_as(self, kind: type[_P], wanted: str) -> _P:
        if not isinstance(self.partition, kind):
            raise self._wrong_partition(wanted)
        return self.partition

    def _wrong_partition(self, wanted: str) -> PartitionError:
        return PartitionError(
            f"asset {self.asset!r} (run {self.run_id}) expected its partition to be {wanted}, got "
            f"{describe(self.partition)!r} ({type(self.partition).__name__}); declare the partitions "
            "it accepts with @pipeline.asset(partitions=...) or use ctx.partition"
        )
