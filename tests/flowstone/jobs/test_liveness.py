"""The pure judgements behind health: stale nodes and queues nobody claims from."""

from __future__ import annotations

import pytest

from flowstone._jobs.liveness import STALLED_AFTER, NodeBeat, QueueState, nodes_check, queue_check


def beat(age: float, rescue_after: float | None = 10.0, node_id: str = "n1") -> NodeBeat:
    return NodeBeat(
        node_id=node_id, name="w", hostname="h", pid=7, rescue_after=rescue_after, heartbeat_age_s=age
    )


class TestNodes:
    @pytest.mark.parametrize(("age", "stale"), [(9.9, False), (10.0, False), (10.1, True)])
    def test_a_node_is_stale_once_its_heartbeat_is_older_than_its_own_rescue_after(
        self, age: float, stale: bool
    ) -> None:
        assert beat(age).stale is stale

    def test_no_node_is_not_a_failure(self) -> None:
        assert nodes_check([]).ok

    def test_one_stale_node_fails_the_check_and_is_named(self) -> None:
        check = nodes_check([beat(1.0), beat(11.0, node_id="n2")])
        assert not check.ok
        assert "1 live: n1 on h (pid 7, submits only)" in check.detail
        assert "1 stale" in check.detail
        assert "n2 on h (pid 7, submits only), last heartbeat 11.0 s ago, rescue_after 10 s" in check.detail


class TestQueues:
    def test_an_empty_queue_is_ok_even_without_workers(self) -> None:
        assert queue_check(QueueState(queue="q"), workers=0, busy=0, paused=False).ok

    def test_waiting_jobs_without_a_worker_fail_at_once(self) -> None:
        state = QueueState(queue="q", waiting=1, oldest_waiting_s=0.1)
        check = queue_check(state, workers=0, busy=0, paused=False)
        assert not check.ok
        assert "no worker alive" in check.detail

    def test_waiting_jobs_of_a_paused_queue_fail_and_say_how_to_resume(self) -> None:
        state = QueueState(queue="q", waiting=2, oldest_waiting_s=0.1)
        check = queue_check(state, workers=3, busy=0, paused=True)
        assert not check.ok
        assert "flowstone jobs resume q" in check.detail

    def test_a_job_just_submitted_to_idle_workers_is_not_a_stall(self) -> None:
        state = QueueState(queue="q", waiting=1, oldest_waiting_s=0.5, last_claim_s=None)
        assert queue_check(state, workers=2, busy=0, paused=False).ok

    def test_idle_workers_that_claim_nothing_for_too_long_fail(self) -> None:
        state = QueueState(
            queue="q", waiting=1, oldest_waiting_s=STALLED_AFTER + 1, last_claim_s=STALLED_AFTER + 1
        )
        check = queue_check(state, workers=2, busy=1, paused=False)
        assert not check.ok
        assert "idle workers have claimed nothing" in check.detail

    def test_a_recent_claim_means_the_queue_moves(self) -> None:
        state = QueueState(queue="q", waiting=1, oldest_waiting_s=STALLED_AFTER + 1, last_claim_s=1.0)
        assert queue_check(state, workers=2, busy=1, paused=False).ok

    def test_all_workers_busy_is_a_backlog_not_a_failure(self) -> None:
        state = QueueState(queue="q", waiting=50, oldest_waiting_s=3600.0, executing=2, last_claim_s=3600.0)
        check = queue_check(state, workers=2, busy=2, paused=False)
        assert check.ok
        assert (
            check.detail
            == "2 workers alive, 2 busy; 50 waiting, the oldest for 3600.0 s; last claim 3600.0 s ago"
        )
