"""Start functions for process children: importable by the child process (the supervisor
tests put this directory on ``sys.path``, which multiprocessing hands to its children)."""

from __future__ import annotations

import ctypes
import os
import signal
import threading
from typing import Any


class Target:
    """Answers ``ping``, ``pid``, and misbehaves on demand."""

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix
        self.kept: list[bytes] = []

    def on_receive(self, message: Any) -> Any:
        if message == "ping":
            return f"{self.prefix}pong"
        if message == "pid":
            return os.getpid()
        if message == "segfault":
            ctypes.string_at(0)
        if message == "exit":
            os._exit(3)
        if message == "raise":
            raise ValueError("bad message")
        if message == "stubborn":  # ignores SIGTERM: only SIGKILL ends it
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            return "ok"
        if message == "hang":
            threading.Event().wait()
        if isinstance(message, list) and message[0] == "alloc":
            self.kept.append(b"x" * (message[1] * 1024 * 1024))
            return len(self.kept)
        return message


def target(*prefix: str) -> Target:
    return Target("".join(prefix))


def failing_target() -> Target:
    raise RuntimeError("cannot start here")
