"""How many cheap tasks a runner takes per message: enough to outweigh the message."""

from __future__ import annotations

from flowstone._execution.flight import ChunkSizer


class TestChunkSizer:
    def test_it_starts_with_one_task_per_message(self) -> None:
        assert ChunkSizer().size == 1

    def test_cheap_tasks_are_sent_many_at_a_time_up_to_the_limit(self) -> None:
        sizer = ChunkSizer(budget=0.002, limit=16)
        for _ in range(20):
            sizer.observe(0.00005)
        assert sizer.size == 16

    def test_tasks_of_a_millisecond_go_two_by_two(self) -> None:
        sizer = ChunkSizer(budget=0.002, limit=16)
        for _ in range(20):
            sizer.observe(0.001)
        assert sizer.size == 2

    def test_slow_tasks_go_one_by_one(self) -> None:
        sizer = ChunkSizer(budget=0.002, limit=16)
        for _ in range(20):
            sizer.observe(0.5)
        assert sizer.size == 1

    def test_a_slow_task_after_cheap_ones_shrinks_the_next_messages(self) -> None:
        sizer = ChunkSizer(budget=0.002, limit=16)
        for _ in range(20):
            sizer.observe(0.00005)
        sizer.observe(0.05)
        assert sizer.size == 1
