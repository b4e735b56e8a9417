"""Run ids: 128 random bits as 32 hex digits, as ``uuid.uuid4().hex`` gave, for less.

``os.urandom`` releases the GIL around its system call, so every id drawn on its own was
a chance for another thread to take the GIL, and for the thread that wanted the id to
wait for it back: one id per job cost a job's worker 5–17 µs and a thread switch under
load (issue 22). Here one call draws the bytes of ``BATCH`` ids. The ids are as random
as before (the operating system's generator, not ``random``); a forked child drops the
ids its parent had drawn, so no two processes hand out the same one.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

__all__ = ["BATCH", "new_id"]

#: Ids drawn per ``os.urandom`` call.
BATCH = 256

_drawn: Iterator[str] = iter(())


def new_id() -> str:
    """A new id: 32 lowercase hex digits, 128 bits from the operating system's generator.

    Safe from any thread without a lock: taking the next of a list's iterator is one
    step under the GIL, and two threads that find it empty each draw a batch of their
    own (the rest of the one replaced is dropped, never handed out twice).
    """
    global _drawn
    found = next(_drawn, None)
    if found is None:
        digits = os.urandom(16 * BATCH).hex()
        batch = [digits[i : i + 32] for i in range(0, len(digits), 32)]
        found = batch.pop()
        _drawn = iter(batch)
    return found


def _forget_drawn() -> None:
    global _drawn
    _drawn = iter(())


os.register_at_fork(after_in_child=_forget_drawn)
