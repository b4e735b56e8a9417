"""What the store keeps about a durable wait, and the views the public API returns."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, TypeAlias

from flowstone.errors import EncodeError, OptionError

__all__ = [
    "OPEN",
    "ApprovalDecision",
    "ApprovalInfo",
    "GateInfo",
    "OnTimeout",
    "WaitRecord",
]

OnTimeout: TypeAlias = Literal["fail", "retry", "cancel"]
ON_TIMEOUT: tuple[str, ...] = ("fail", "retry", "cancel")

#: The states of a wait that nothing has resolved yet (a gate's, an approval's). Any
#: other state is an outcome that resumes the waiting materialization once it is armed.
OPEN: tuple[str, ...] = ("waiting", "pending")


@dataclass(frozen=True, slots=True, kw_only=True)
class WaitRecord:
    """One row of ``flowstone_waits``: one thing one materialization waits for.

    ``kind`` names the kind of wait (``gate``, ``approval``, ...) and picks what resumes
    it (``flowstone._waits.kinds``); ``key`` is unique per run, asset and partition.
    ``armed`` once the materialization has suspended on it (before that, a resolution
    is only kept); ``resumed`` once someone took its continuation (exactly one does).
    ``generation`` grows when a timeout retries it: older tokens then no longer match.
    ``resume`` is the run to continue (its target, plan and options, ``ResumePoint``).
    """

    id: str
    kind: str
    key: str
    run_id: str
    pipeline: str
    asset: str
    partition_key: str
    attempt: int
    state: str
    created_at: datetime
    armed: bool = False
    resumed: bool = False
    generation: int = 0
    expires_at: datetime | None = None
    on_timeout: str = "fail"
    max_timeout_retries: int = 3
    timeout_retries: int = 0
    payload: bytes | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    message: str | None = None
    decided_by: str | None = None
    reason: str | None = None
    decided_at: datetime | None = None
    resume: Mapping[str, Any] | None = None

    @property
    def open(self) -> bool:
        return self.state in OPEN


@dataclass(frozen=True, slots=True)
class GateInfo:
    """A gate as stored (``node.gates()``, ``node.signal``)."""

    id: str
    key: str
    token: str
    state: str  # waiting | signaled | expired | cancelled
    run_id: str
    pipeline: str
    asset: str
    partition_key: str
    created_at: datetime
    expires_at: datetime | None
    on_timeout: str
    metadata: Mapping[str, Any]
    partition: Any = None  # the partition itself (``partition_key`` serialized)

    @property
    def run(self) -> str:
        return self.run_id


@dataclass(frozen=True, slots=True)
class ApprovalInfo:
    """An approval as stored (``node.approvals()``)."""

    id: str
    run_id: str
    pipeline: str
    asset: str
    partition: Any  # the partition itself (None when unpartitioned)
    message: str
    context: Mapping[str, Any]
    requested_at: datetime
    timeout_at: datetime | None
    state: str  # pending | approved | rejected | expired
    decided_by: str | None = None
    reason: str | None = None
    decided_at: datetime | None = None
    partition_key: str = "null"

    @property
    def run(self) -> str:
        return self.run_id


@dataclass(frozen=True, slots=True)
class ApprovalDecision:
    """``ctx.approval`` once approved: who, why, and when."""

    id: str
    by: str
    reason: str | None
    at: datetime


def check_metadata(name: str, value: object) -> None:
    """A wait's ``metadata`` (a gate's) or ``context`` (an approval's) is stored as JSON: a
    mapping of JSON values, refused now (``EncodeError`` with the part's path) rather
    than turned into text or lost when it is written."""
    if value is None:
        return
    if not isinstance(value, Mapping):
        raise OptionError(f"{name} must be a mapping (a dict of JSON values) or None, got {value!r}")
    from flowstone import codec  # noqa: PLC0415 - avoids an import cycle at load

    try:
        codec.encode_json(dict(value))
    except EncodeError as exc:
        raise EncodeError(f"{name}: {exc}", path=exc.path) from exc
