"""What runs inside a process child's OS process: its start function, then a loop that
answers the parent's messages.

Messages cross the pipe as bytes made by the child's codec (JSON by default), never as
pickles; multiprocessing pickles only what it needs to start the process (the start
function, by reference, its arguments, and the codec). SIGTERM raises ``SystemExit`` in
the main thread: the target is stopped cleanly and the process exits 0, unless it hangs,
when the parent kills it with SIGKILL after its shutdown budget.
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

__all__ = ["Codec", "JsonCodec", "serve"]

#: Reply tags: ``[OK, value]``, ``[ERROR, type name, message]``; the first message is READY.
OK, ERROR, READY = "ok", "error", "ready"
#: The exit status of a process whose target raised (a crash, as for a thread actor).
CRASH_STATUS = 1


class Codec(Protocol):
    """Turns messages into bytes and back; both sides of the pipe use the same one."""

    def encode(self, value: Any) -> bytes: ...
    def decode(self, data: bytes) -> Any: ...


class JsonCodec:
    """JSON messages: plain types only (a tuple comes back as a list)."""

    def encode(self, value: Any) -> bytes:
        return json.dumps(value, separators=(",", ":")).encode()

    def decode(self, data: bytes) -> Any:
        return json.loads(data)


def _on_sigterm(_signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(0)


def _handler(target: Any) -> tuple[Callable[[Any], Any], Any]:
    """A function answering one message, and the actor ref to stop at the end (if any)."""
    lifecycle = getattr(target, "_lifecycle", None)
    ask = getattr(target, "ask", None)
    if lifecycle is not None and callable(ask):  # a supervisors.Actor ref
        return ask, target
    receive = getattr(target, "on_receive", None)
    if callable(receive):
        return receive, None
    if callable(target):
        return target, None
    raise TypeError(
        f"a process child's start function must return a supervisors.Actor ref, an object with "
        f"on_receive, or a callable; got {target!r}"
    )


def serve(conn: Connection, start: Callable[..., Any], args: tuple[Any, ...], codec: Codec) -> None:
    """The process's main function: start the target, answer messages until told to stop."""
    signal.signal(signal.SIGTERM, _on_sigterm)
    ref = None
    try:
        try:
            handle, ref = _handler(start(*args))
        except Exception as exc:  # noqa: BLE001 - reported to the parent: its start fails
            conn.send_bytes(codec.encode([ERROR, type(exc).__name__, str(exc)]))
            os._exit(CRASH_STATUS)
        conn.send_bytes(codec.encode([READY]))
        while True:
            try:
                data = conn.recv_bytes()
            except EOFError:  # the parent is gone: nothing will ask any more
                return
            try:
                reply = codec.encode([OK, handle(codec.decode(data))])
            except Exception as exc:  # noqa: BLE001 - the caller receives it, then the child ends
                conn.send_bytes(codec.encode([ERROR, type(exc).__name__, str(exc)]))
                # OTP's rule, as for thread actors: a crash while answering ends the child
                _stop(ref)
                os._exit(CRASH_STATUS)
            conn.send_bytes(reply)
    except SystemExit:
        return
    finally:
        _stop(ref)


def _stop(ref: Any) -> None:
    if ref is not None and ref.is_alive():
        ref.stop()
