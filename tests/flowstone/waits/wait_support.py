"""Helpers of the wait tests (importable as ``wait_support``: conftest modules share a name)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["HERE", "SECRET", "TICK", "Background", "python"]

HERE = Path(__file__).parent
SECRET = "a-test-secret-of-32-bytes-------"
TICK = 0.05  # the nodes' wait_tick: timeouts fire within about this


class Background:
    """Runs ``fn`` in a thread; ``result()`` joins it and returns (or raises) its outcome."""

    def __init__(self, fn: Callable[[], Any]) -> None:
        self._outcome: list[Any] = []
        self._thread = threading.Thread(target=self._run, args=(fn,))
        self._thread.start()

    def _run(self, fn: Callable[[], Any]) -> None:
        try:
            self._outcome.append((fn(), None))
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            self._outcome.append((None, exc))

    def result(self, timeout: float = 20.0) -> Any:
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "the call did not return"
        value, error = self._outcome[0]
        if error is not None:
            raise error
        return value


def python(script: str, url: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    """Run ``script`` in another Python process with ``wait_pipelines`` importable."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
        "FS_URL": url,
        "FS_SECRET": SECRET,
    }
    return subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
