"""Run ids (``flowstone._ids.new_id``): 32 hex digits, never handed out twice, not even
by a forked child and its parent, nor by threads drawing at once."""

from __future__ import annotations

import os
import re
import threading

import pytest

from flowstone._ids import BATCH, new_id


def test_an_id_is_32_lowercase_hex_digits() -> None:
    assert all(re.fullmatch(r"[0-9a-f]{32}", new_id()) for _ in range(BATCH * 3))


def test_ids_do_not_repeat_across_many_batches() -> None:
    drawn = [new_id() for _ in range(BATCH * 40)]
    assert len(set(drawn)) == len(drawn)


def test_threads_drawing_at_once_get_distinct_ids() -> None:
    drawn: list[list[str]] = [[] for _ in range(4)]
    start = threading.Barrier(4)

    def draw(into: list[str]) -> None:
        start.wait()
        into.extend(new_id() for _ in range(BATCH * 5))

    threads = [threading.Thread(target=draw, args=(into,)) for into in drawn]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    every = [i for into in drawn for i in into]
    assert len(every) == 4 * BATCH * 5
    assert len(set(every)) == len(every)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_does_not_hand_out_its_parents_next_ids() -> None:
    new_id()  # the parent holds a batch, partly used
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its next ids, to the parent
        os.close(read)
        os.write(write, "".join(new_id() for _ in range(8)).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        child = pipe.read()
    os.waitpid(pid, 0)
    parents = [new_id() for _ in range(8)]
    childs = [child[i : i + 32] for i in range(0, len(child), 32)]
    assert len(childs) == 8
    assert not set(parents) & set(childs)
