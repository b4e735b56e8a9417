"""OTP supervision for pykka actors.

Build trees of ``supervisors.Actor`` workers under ``Supervisor`` and
``DynamicSupervisor``; every exit carries an ``ExitReason``, restarts follow OTP's
strategies and restart intensity, and ``SupervisorRef.tree()`` shows the whole tree.
See ``docs/supervisors.md``.
"""

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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
    from supervisors._process import ProcessChild, ProcessChildError, ProcessExitError
    from supervisors._process_main import JsonCodec
    from supervisors._reasons import Crashed, ExitReason, Killed, Linked, Normal, Shutdown
    from supervisors._ref import DynamicSupervisor, Supervisor, SupervisorRef
    from supervisors._spec import Backoff, ChildSpec, check_child_specs
    from supervisors._tree import ChildInfo, TreeNode, draw_tree, render_tree


# Every name is imported when first named (PEP 562): ``flowstone`` logs through
# ``supervisors._log`` at import, which would otherwise load the whole supervision runtime
# (pykka, the supervisor and its refs, ~40 ms; issue 22). Process children load
# multiprocessing (~15 ms) on top.
_LAZY = {
    "Actor": "supervisors._actor",
    "ActorRef": "supervisors._actor",
    "backoff_delay": "supervisors._backoff",
    "Cancellable": "supervisors._clock",
    "Clock": "supervisors._clock",
    "SystemClock": "supervisors._clock",
    "AlreadyStartedError": "supervisors._errors",
    "ChildSpecError": "supervisors._errors",
    "StartChildError": "supervisors._errors",
    "SupervisorError": "supervisors._errors",
    "SupervisorTimeoutError": "supervisors._errors",
    "GaveUp": "supervisors._intensity",
    "Exit": "supervisors._links",
    "link": "supervisors._links",
    "unlink": "supervisors._links",
    "Down": "supervisors._monitor",
    "Monitor": "supervisors._monitor",
    "demonitor": "supervisors._monitor",
    "monitor": "supervisors._monitor",
    "register": "supervisors._names",
    "registered": "supervisors._names",
    "unregister": "supervisors._names",
    "whereis": "supervisors._names",
    "Crashed": "supervisors._reasons",
    "ExitReason": "supervisors._reasons",
    "Killed": "supervisors._reasons",
    "Linked": "supervisors._reasons",
    "Normal": "supervisors._reasons",
    "Shutdown": "supervisors._reasons",
    "DynamicSupervisor": "supervisors._ref",
    "Supervisor": "supervisors._ref",
    "SupervisorRef": "supervisors._ref",
    "Backoff": "supervisors._spec",
    "ChildSpec": "supervisors._spec",
    "check_child_specs": "supervisors._spec",
    "ChildInfo": "supervisors._tree",
    "TreeNode": "supervisors._tree",
    "draw_tree": "supervisors._tree",
    "render_tree": "supervisors._tree",
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
