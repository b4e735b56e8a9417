"""Each kind of wait and what resumes it: the one table a new kind of wait is added to."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

from flowstone._parallel.join import JoinResumption
from flowstone._scatter.wait import ScatterResumption
from flowstone._waits.approvals import ApprovalResumption
from flowstone._waits.gates import GateResumption
from flowstone._waits.records import WaitRecord
from flowstone._waits.suspension import Resumption
from flowstone.events import ApprovalExpired, GateExpired, WaitEvent

__all__ = ["EXPIRED_EVENTS", "RESUMPTIONS", "resumption_for"]

#: kind → the continuation of a resolved wait of that kind.
RESUMPTIONS: Mapping[str, Callable[[WaitRecord], Resumption]] = MappingProxyType(
    {
        "gate": GateResumption,
        "approval": ApprovalResumption,
        "scatter": ScatterResumption,
        "parallel": JoinResumption,
    }
)
#: kind → the event sent when its timeout fires.
EXPIRED_EVENTS: Mapping[str, type[WaitEvent]] = MappingProxyType(
    {"gate": GateExpired, "approval": ApprovalExpired}
)


def resumption_for(record: WaitRecord) -> Resumption:
    try:
        make = RESUMPTIONS[record.kind]
    except KeyError:
        raise ValueError(
            f"wait {record.id} is of kind {record.kind!r}, which this FlowStone cannot resume"
        ) from None
    return make(record)
