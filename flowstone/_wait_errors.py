"""The errors of durable waits (signals, gates, approvals, parallel joins).

Re-exported by ``flowstone.errors``, where they are documented in the hierarchy.
"""

from __future__ import annotations

from typing import Any

from flowstone._error_base import FlowStoneError, _AssetPartitionError

__all__ = [
    "ApprovalError",
    "ApprovalRejectedError",
    "GateTimeoutError",
    "ParallelBranchError",
    "ParallelTimeoutError",
    "SignalError",
    "WaitCancelledError",
    "WaitEndedError",
]


class SignalError(FlowStoneError):
    """``node.signal`` refused a signal; nothing was changed.

    Attributes:
        reason: one of ``malformed``, ``bad_signature``, ``not_found``, ``expired``,
            ``already_signaled``, ``cancelled``, ``too_large``, ``unencodable`` (and
            ``bad_key`` from ``ctx.gate``).
    """

    REASONS = (
        "malformed",
        "bad_signature",
        "not_found",
        "expired",
        "already_signaled",
        "cancelled",
        "too_large",
        "unencodable",
        "bad_key",
    )

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class ApprovalError(FlowStoneError):
    """An approval cannot be decided; nothing was changed.

    Attributes:
        reason: ``not_found`` (no such approval) or ``not_pending`` (already decided or expired).
    """

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class WaitEndedError(_AssetPartitionError):
    """A durable wait ended without resuming its asset: the asset fails (not retried)."""


class GateTimeoutError(WaitEndedError, TimeoutError):
    """A gate (or approval) expired and its ``on_timeout`` is ``"fail"`` (or its retries ran out)."""


class ApprovalRejectedError(WaitEndedError):
    """A person rejected the approval the asset asked for; ``by`` and ``reason`` say who and why."""

    def __init__(
        self,
        message: str,
        *,
        asset: str,
        partition: Any = None,
        run_id: str | None = None,
        by: str = "",
        reason: str | None = None,
    ) -> None:
        super().__init__(message, asset=asset, partition=partition, run_id=run_id)
        self.by = by
        self.reason = reason


class WaitCancelledError(WaitEndedError):
    """The wait was cancelled (``node.cancel_gate``, or ``on_timeout="cancel"``): the
    materialization ends ``cancelled`` and its downstream assets do not run."""


class ParallelBranchError(WaitEndedError):
    """A parallel asset did not join: a branch it needed failed (any branch with
    ``failure_mode="all"``, a required one with ``"partial"``). Never retried.

    Attributes:
        failures: branch name → the error that ended it (``"TypeName: message"``).
    """

    def __init__(
        self,
        message: str,
        *,
        asset: str,
        partition: Any = None,
        run_id: str | None = None,
        failures: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message, asset=asset, partition=partition, run_id=run_id)
        self.failures = dict(failures or {})


class ParallelTimeoutError(ParallelBranchError, TimeoutError):
    """A branch the parallel asset needed (or the whole group) ran past its timeout."""


for _cls in (
    SignalError,
    ApprovalError,
    WaitEndedError,
    GateTimeoutError,
    ApprovalRejectedError,
    WaitCancelledError,
    ParallelBranchError,
    ParallelTimeoutError,
):
    _cls.__module__ = "flowstone.errors"
