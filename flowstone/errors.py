"""Every error FlowStone raises, under one root.

The hierarchy::

    FlowStoneError
    ├── OptionError                  an option or argument has a bad value (also a ValueError and a TypeError)
    │   └── TagError                 a run's tags break a rule (``.key`` names the tag)
    ├── DefinitionError              a pipeline is defined wrongly (raised at definition/validation)
    │   └── CycleError               the dependency graph has a cycle (``.cycle`` names it)
    ├── PartitionError               a partition value is outside the documented type set
    ├── AssetNotFoundError           an asset name that the pipeline does not define
    ├── DependencyNotReadyError      ``with_deps=False`` and an upstream value is missing
    ├── NotMaterializedError         ``get`` of a value that was never stored
    ├── MaterializationError         running an asset failed (``__cause__`` is the user's error)
    ├── RouteError                   a router returned something that is not one of its branches
    ├── LineageError                 lineage could not be recorded (``lineage_failure="fail"``)
    ├── ScatterKeyError              a scatter key is too big, or cannot be encoded
    ├── ScatterError                 more keys of a scatter failed than it tolerates
    ├── ScatterCancelledError        ``node.cancel(run_id)`` stopped a scatter
    ├── IsolationError               an asset isolated in a process could not run there
    ├── EncodeError                  a value cannot be encoded by ``flowstone.codec``
    ├── DecodeError                  stored bytes are not a value this codec wrote
    ├── SignalError                  a signal was refused (``.reason`` says why); nothing changed
    ├── ApprovalError                an approval cannot be decided (``.reason``); nothing changed
    ├── WaitEndedError               a durable wait ended without resuming its asset
    │   ├── GateTimeoutError         a gate or approval expired (``on_timeout="fail"``)
    │   ├── ApprovalRejectedError    a person rejected the approval
    │   ├── WaitCancelledError       the wait was cancelled (``on_timeout="cancel"``, cancel_gate)
    │   └── ParallelBranchError      a parallel asset's branches failed: it did not join
    │       └── ParallelTimeoutError a branch (or the group) ran past its timeout
    ├── ResourceError                a resource could not be set up (``.resource`` names it)
    │   └── ResourceUnavailableError an asset requires an optional resource that is down
    ├── HTTPError                    a ``fs.http.Client`` request failed (``.status``, ``.attempts``)
    └── StoreUnavailableError        the database cannot be reached, or cannot be used
        └── SchemaVersionError       its schema is at a revision this FlowStone cannot use

Run-time errors carry the asset, partition and run id they are about, so a log line or
a traceback always says *what* failed, and their messages end with what to do about it.
The root and the durable-wait errors are written in ``_error_base`` and ``_wait_errors``
(to keep modules small), ``HTTPError`` in ``_http_error`` (also ``flowstone.http.HTTPError``;
catching it needs no httpx) and belong here: their ``__module__`` is ``flowstone.errors``.
"""

from __future__ import annotations

from typing import Any

from flowstone._error_base import FlowStoneError, OptionError, _AssetPartitionError
from flowstone._http_error import HTTPError
from flowstone._wait_errors import (
    ApprovalError,
    ApprovalRejectedError,
    GateTimeoutError,
    ParallelBranchError,
    ParallelTimeoutError,
    SignalError,
    WaitCancelledError,
    WaitEndedError,
)

__all__ = [
    "ApprovalError",
    "ApprovalRejectedError",
    "AssetNotFoundError",
    "CycleError",
    "DecodeError",
    "DefinitionError",
    "DependencyNotReadyError",
    "EncodeError",
    "FlowStoneError",
    "GateTimeoutError",
    "HTTPError",
    "IsolationError",
    "LineageError",
    "MaterializationError",
    "NotMaterializedError",
    "OptionError",
    "PartitionError",
    "ScatterCancelledError",
    "ScatterError",
    "ScatterKeyError",
    "RouteError",
    "SchemaVersionError",
    "SignalError",
    "StoreUnavailableError",
    "WaitCancelledError",
    "WaitEndedError",
    "ParallelBranchError",
    "ParallelTimeoutError",
    "ResourceError",
    "ResourceUnavailableError",
    "TagError",
]


class DefinitionError(FlowStoneError):
    """A pipeline or asset definition is invalid; fix the definition and reload."""


class CycleError(DefinitionError):
    """The assets' dependencies form a cycle.

    Attributes:
        cycle: the asset names along the cycle, the first repeated at the end.
    """

    def __init__(self, message: str, cycle: tuple[str, ...]) -> None:
        super().__init__(message)
        self.cycle = cycle


class PartitionError(FlowStoneError, ValueError):
    """A partition value is not one FlowStone can store and compare exactly."""


class AssetNotFoundError(FlowStoneError, LookupError):
    """The pipeline defines no asset of that name."""

    def __init__(self, message: str, *, asset: str, pipeline: str) -> None:
        super().__init__(message)
        self.asset = asset
        self.pipeline = pipeline


class DependencyNotReadyError(_AssetPartitionError):
    """An upstream value is missing and the caller asked not to run dependencies."""

    def __init__(
        self,
        message: str,
        *,
        asset: str,
        partition: Any = None,
        run_id: str | None = None,
        missing: tuple[str, ...] = (),
    ) -> None:
        super().__init__(message, asset=asset, partition=partition, run_id=run_id)
        self.missing = missing


class NotMaterializedError(_AssetPartitionError, LookupError):
    """No value is stored for that asset and partition."""


class MaterializationError(_AssetPartitionError):
    """Running an asset failed; ``__cause__`` is what the asset (or the store) raised."""

    def __init__(
        self,
        message: str,
        *,
        asset: str,
        partition: Any = None,
        run_id: str | None = None,
        attempts: int = 0,
    ) -> None:
        super().__init__(message, asset=asset, partition=partition, run_id=run_id)
        self.attempts = attempts


class RouteError(_AssetPartitionError):
    """A router returned a value that is neither one of its branches nor None.

    Attributes:
        value: what the router returned.
        branches: the branches it may choose from.
    """

    #: A router's bug: trying it again returns the same value, so it is never retried.
    retryable = False

    def __init__(
        self,
        message: str,
        *,
        asset: str,
        partition: Any = None,
        run_id: str | None = None,
        value: Any = None,
        branches: tuple[str, ...] = (),
    ) -> None:
        super().__init__(message, asset=asset, partition=partition, run_id=run_id)
        self.value = value
        self.branches = branches


class LineageError(_AssetPartitionError):
    """Lineage for a materialization could not be recorded."""


class ScatterKeyError(FlowStoneError, ValueError):
    """A scatter key is bigger than ``max_key_bytes``, or the codec cannot encode it.

    Raised before the key is written or run; the scatter then stops and leaves nothing of
    its barrier behind.

    Attributes:
        asset: the scatter asset.
        position: the key's 0-based position among the keys the asset produced.
        size: the key's encoded size in bytes (None when it cannot be encoded).
        limit: ``max_key_bytes`` in force.
        path: where inside the key the codec failed (None when it is only too big).
        run_id: the run, when known.
    """

    def __init__(
        self,
        message: str,
        *,
        asset: str,
        position: int,
        size: int | None,
        limit: int,
        path: str | None = None,
        run_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.asset = asset
        self.position = position
        self.size = size
        self.limit = limit
        self.path = path
        self.run_id = run_id


class ScatterError(FlowStoneError):
    """More keys of a scatter failed (after their retries) than its ``tolerate`` allows.

    Gather was not called. Attributes:
        asset: the scatter asset.
        run_id: the run, when known.
        total: how many keys (or batches) the scatter ran.
        failed: how many of them failed.
        tolerate: the fraction of failures the scatter allowed.
        errors: the first failures as (key, error text) pairs.
    """

    def __init__(
        self,
        message: str,
        *,
        asset: str,
        total: int,
        failed: int,
        tolerate: float,
        errors: tuple[tuple[Any, str], ...] = (),
        run_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.asset = asset
        self.run_id = run_id
        self.total = total
        self.failed = failed
        self.tolerate = tolerate
        self.errors = errors


class ScatterCancelledError(FlowStoneError):
    """``node.cancel(run_id)`` stopped a scatter: no more of its keys were started, and the
    asset ended as cancelled. Run it again to start afresh."""

    def __init__(self, message: str, *, asset: str, run_id: str) -> None:
        super().__init__(message)
        self.asset = asset
        self.run_id = run_id


class EncodeError(FlowStoneError, TypeError):
    """A value cannot be encoded; ``path`` says where inside the value the problem is."""

    def __init__(
        self,
        message: str,
        *,
        path: str = "value",
        asset: str | None = None,
        partition: Any = None,
    ) -> None:
        super().__init__(message)
        self.path = path
        self.asset = asset
        self.partition = partition

    def with_context(self, *, asset: str, partition: str | None) -> EncodeError:
        """Return a copy whose message starts with the asset and partition it was storing.

        The codec knows only the value; the caller that stores it knows what it is for, so
        it adds this context (``asset 'report', partition '2025-01-01': value[...]: ...``).
        """
        where = f"asset {asset!r}" + (f", partition {partition!r}" if partition is not None else "")
        err = EncodeError(f"{where}: {self}", path=self.path, asset=asset, partition=partition)
        err.__cause__ = self.__cause__
        return err


class DecodeError(FlowStoneError, ValueError):
    """Bytes could not be decoded: not written by this codec, or corrupted."""


class IsolationError(FlowStoneError):
    """An isolated asset (``isolation="process"``) could not run in its worker process: the
    process ended before answering (a crash or a kill: the exit reason is in the message),
    the asset raised an exception of a non-built-in type (named in the message), or the
    asset cannot be isolated (a function nested in another); fix the asset or run it on a
    thread (``isolation="thread"``)."""


class StoreUnavailableError(FlowStoneError):
    """The store's database cannot be reached or used (a file that is not a database, a
    schema of another version); the URL (password masked) and the reason say why."""


class SchemaVersionError(StoreUnavailableError):
    """The database's schema is not the one this FlowStone uses, so the store cannot open.

    A newer FlowStone migrated it (upgrade FlowStone), its revision is unknown, or, with
    ``auto_migrate=False``, it is behind (run ``flowstone db upgrade``). Nothing is changed.

    Attributes:
        current: the database's revision; None for a database without FlowStone's schema.
        head: the newest revision this FlowStone ships.
    """

    def __init__(self, message: str, *, current: str | None, head: str) -> None:
        super().__init__(message)
        self.current = current
        self.head = head


class TagError(OptionError):
    """A run's ``tags`` are invalid (issue 19, run metadata): the message names the
    offending key or value and the rule it broke.

    Attributes:
        key: the tag key at fault (None when the whole mapping is: too many tags).
    """

    def __init__(self, message: str, *, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


class ResourceError(FlowStoneError):
    """A resource could not be set up (a failing ``setup`` or a missing ``fs.env``
    variable): the node does not start. ``resource`` names it."""

    def __init__(self, message: str, *, resource: str) -> None:
        super().__init__(message)
        self.resource = resource

    def __reduce__(self) -> tuple[Any, ...]:
        # The keyword-only ``resource`` is not in ``args``: without this, pickle and
        # copy.copy fail to rebuild the error (and a subprocess could not send it back).
        return (_rebuild, (type(self), str(self), {"resource": self.resource}), self.__dict__)


def _rebuild(cls: type[ResourceError], message: str, fields: dict[str, Any]) -> ResourceError:
    return cls(message, **fields)


class ResourceUnavailableError(ResourceError):
    """An asset requires an optional resource whose setup failed; other assets run."""
