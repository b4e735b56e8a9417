"""OTP supervision for pykka actors.

Build trees of ``supervisors.Actor`` workers under ``Supervisor`` and
``DynamicSupervisor``; every exit carries an ``ExitReason``, restarts follow OTP's
strategies and restart intensity, and ``SupervisorRef.tree()`` shows the whole tree.
See ``docs/supervisors.md``.
"""

import importlib
from typing import TYPE_CHECKING, Any

from supervisors._actor import Actor, ActorRef
from supervisors._backoff import backoff_delay
from supervisors._clock import Cancellable, Clock, SystemClock
from supervisors._errors import (
    AlreadyStartedError,
    ChildSpecError,
    StartChildError,
    SupervisorError,
    SupervisorTimeoutError,
)
from supervisors._intensity import GaveUp
from supervisors._links import Exit, link, unlink
from supervisors._monitor import Down, Monitor, demonitor, monitor
from supervisors._names import register, registered, unregister, whereis
from supervisors._reasons import Crashed, ExitReason, Killed, Linked, Normal, Shutdown
from supervisors._ref import DynamicSupervisor, Supervisor, SupervisorRef
from supervisors._spec import Backoff, ChildSpec, check_child_specs
from supervisors._tree import ChildInfo, TreeNode, draw_tree, render_tree

if TYPE_CHECKING:
    from supervisors._process import ProcessChild, ProcessChildError, ProcessExitError
    from supervisors._process_main import JsonCodec

# Process children load multiprocessing (~15 ms): imported when first named (PEP 562).
_LAZY = {
    "ProcessChild": "supervisors._process",
    "ProcessChildError": "supervisors._process",
    "ProcessExitError": "supervisors._process",
    "JsonCodec": "supervisors._process_main",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'supervisors' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "Supervisor",
    "DynamicSupervisor",
    "SupervisorRef",
    "ChildSpec",
    "Actor",
    "ActorRef",
    "Backoff",
    "backoff_delay",
    "ExitReason",
    "Normal",
    "Shutdown",
    "Crashed",
    "Killed",
    "ChildInfo",
    "TreeNode",
    "render_tree",
    "draw_tree",
    "check_child_specs",
    "monitor",
    "demonitor",
    "Down",
    "Monitor",
    "Clock",
    "Cancellable",
    "SystemClock",
    "SupervisorError",
    "StartChildError",
    "ChildSpecError",
    "SupervisorTimeoutError",
    "AlreadyStartedError",
    "whereis",
    "register",
    "unregister",
    "registered",
    "link",
    "unlink",
    "Exit",
    "Linked",
    "GaveUp",
    "ProcessChild",
    "ProcessChildError",
    "ProcessExitError",
    "JsonCodec",
]
