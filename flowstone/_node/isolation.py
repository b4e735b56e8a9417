"""Isolated assets: ``@p.asset(isolation="process")`` runs in a supervised worker process.

The node keeps warm worker processes (``supervisors.ProcessChild``, temporary children of
its ``isolated`` DynamicSupervisor), at most one per materialization in flight. A
materialization of an isolated asset takes an idle worker (or starts one), sends it the
asset's module, qualified name, context and dependency values — all through
``flowstone.codec``, never pickled — and waits for the value:

- the asset's ``timeout`` kills the worker (SIGKILL): its CPU and memory are freed, and
  the attempt fails with ``TimeoutError``;
- a crash of the worker (a segfault, ``os._exit``, the kernel's OOM killer) fails only
  that materialization, with ``IsolationError`` naming the exit reason; the next one gets
  a fresh worker;
- an exception raised by the asset comes back as the same built-in exception type (other
  types as ``IsolationError`` naming the type), with the remote traceback in the message.

An isolated asset must be a module-level function of an importable module; its
``ctx.resources`` is empty (resources live in the node's process).
"""

from __future__ import annotations

import builtins
import contextlib
import importlib
import importlib.util
import os
import queue
import signal
import sys
import traceback
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import pykka

import supervisors
from flowstone import codec
from flowstone._context import Context
from flowstone.errors import IsolationError

if TYPE_CHECKING:
    from flowstone._asset import AssetDef

__all__ = ["IsolatedPool", "WorkerCodec", "asset_caller", "isolated_spec", "worker"]


class WorkerCodec:
    """``flowstone.codec`` as a ``supervisors`` codec (picklable by reference)."""

    def encode(self, value: Any) -> bytes:
        return codec.encode(value)

    def decode(self, data: bytes) -> Any:
        return codec.decode(data)


# --- in the worker process -------------------------------------------------------------
class _Worker:
    """Runs asset functions by name; imported modules stay loaded (a warm worker)."""

    def __init__(self) -> None:
        self._functions: dict[tuple[str, str], Callable[..., Any]] = {}

    def _function(self, module: str, qualname: str, path: str) -> Callable[..., Any]:
        key = (module, qualname)
        fn = self._functions.get(key)
        if fn is None:
            target: Any = _module(module, path)
            for part in qualname.split("."):
                target = getattr(target, part)
            fn = self._functions[key] = target
        return fn

    def on_receive(self, message: Any) -> Any:
        if message == "pid":
            return os.getpid()
        module, qualname, path, ctx_fields, kwargs = message
        try:
            fn = self._function(module, qualname, path)
            from supervisors._log import get_logger  # noqa: PLC0415 - the worker's own logger

            run_id, asset, partition, attempt, pipeline = ctx_fields
            log = get_logger("flowstone").bind(run_id=run_id, asset=asset, attempt=attempt)
            ctx = Context(run_id, asset, partition, attempt, pipeline, log, {})
            return ("ok", fn(ctx, **kwargs))
        except Exception as exc:  # noqa: BLE001 - the user-code boundary: sent back to the node
            return ("raised", type(exc).__name__, str(exc), traceback.format_exc())


def _module(name: str, path: str) -> Any:
    """The asset's module: by name, else (not on this process's path, like a test module
    imported by file) loaded from its file under the same name."""
    if name == "__main__" and "__mp_main__" in sys.modules:
        return sys.modules["__mp_main__"]
    if name in sys.modules:
        return sys.modules[name]
    try:
        return importlib.import_module(name)
    except ImportError:
        spec = importlib.util.spec_from_file_location(name, path) if path else None
        if spec is None or spec.loader is None:
            raise
        loaded = importlib.util.module_from_spec(spec)
        sys.modules[name] = loaded
        spec.loader.exec_module(loaded)
        return loaded


def worker() -> _Worker:
    """The start function of a worker process (called there)."""
    return _Worker()


# --- in the node -----------------------------------------------------------------------
def isolated_spec() -> supervisors.ChildSpec:
    """The node's ``isolated`` child: an empty DynamicSupervisor of worker processes."""
    return supervisors.ChildSpec(
        "isolated",
        lambda: supervisors.DynamicSupervisor.start(name="isolated", max_restarts=100, max_seconds=10.0),
        type="supervisor",
    )


def _worker_start() -> Any:
    return supervisors.ProcessChild.start(worker, codec=WorkerCodec(), stop_timeout=1.0, name="asset-worker")


_WORKER_SPEC = supervisors.ChildSpec("asset-worker", _worker_start, restart="temporary", shutdown=2.0)


class IsolatedPool:
    """Warm worker processes; each is used by one materialization at a time."""

    def __init__(self, lookup: Callable[[str], Any]) -> None:
        self._lookup = lookup
        self._idle: queue.SimpleQueue[tuple[Any, int]] = queue.SimpleQueue()

    def _take(self, asset: str) -> tuple[Any, int]:
        while True:
            try:
                ref, pid = self._idle.get_nowait()
            except queue.Empty:
                break
            if ref.is_alive():
                return ref, pid
        sup = self._lookup("isolated")
        if sup is None:
            raise IsolationError(f"asset {asset!r}: the node's worker processes are not running")
        ref = sup.start_child(_WORKER_SPEC)
        return ref, int(ref.ask("pid"))

    def call(self, asset: AssetDef, ctx: Context, kwargs: Mapping[str, Any]) -> Any:
        """Materialize ``asset`` in a worker process; see the module docstring."""
        fn = asset.fn
        if "<locals>" in fn.__qualname__:
            raise IsolationError(
                f"asset {asset.name!r}: an isolated asset must be a module-level function of an "
                "importable module (a worker process imports it by name)"
            )
        ref, pid = self._take(asset.name)
        ctx_fields = (ctx.run_id, ctx.asset, ctx.partition, ctx.attempt, ctx.pipeline)
        path = getattr(fn.__code__, "co_filename", "") if hasattr(fn, "__code__") else ""
        message = (fn.__module__, fn.__qualname__, path, ctx_fields, dict(kwargs))
        timeout = asset.options.timeout
        try:
            answer = ref.ask(message, block=False).get(timeout=timeout)
        except pykka.Timeout:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)  # frees its memory now; the proxy reports the exit
            raise TimeoutError(
                f"asset {asset.name!r}: attempt timed out after {timeout} s (AssetOptions.timeout); "
                "its worker process was killed"
            ) from None
        except (supervisors.ProcessExitError, supervisors.ProcessChildError, pykka.ActorDeadError) as exc:
            raise IsolationError(
                f"asset {asset.name!r} (partition {ctx.partition!r}, run {ctx.run_id}): its worker "
                f"process ended before answering: {exc}; the next attempt gets a fresh worker"
            ) from exc
        self._idle.put((ref, pid))
        return _result(asset.name, answer)


def _result(asset: str, answer: Any) -> Any:
    if answer[0] == "ok":
        return answer[1]
    _tag, type_name, message, remote_traceback = answer
    kind = getattr(builtins, type_name, None)
    detail = f"{message}\n\nin the worker process:\n{remote_traceback}"
    error: Exception | None = None
    if isinstance(kind, type) and issubclass(kind, Exception) and kind is not Exception:
        with contextlib.suppress(Exception):  # a built-in whose constructor wants more
            error = kind(detail)
    if error is not None:
        raise error
    raise IsolationError(f"asset {asset!r} raised {type_name}: {detail}")


def asset_caller(default: str, pool: IsolatedPool) -> Callable[[AssetDef, Context, Mapping[str, Any]], Any]:
    """How the node's runners call an asset function: in a worker process when the asset
    (or, without its own ``isolation``, the node) says ``"process"``."""

    def call(asset: AssetDef, ctx: Context, kwargs: Mapping[str, Any]) -> Any:
        if (asset.options.isolation or default) == "process":
            return pool.call(asset, ctx, kwargs)
        return asset.fn(ctx, **kwargs)

    return call
