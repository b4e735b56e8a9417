"""Unique jobs [3]: one job per key and period, enforced by the database, not by a race."""

from __future__ import annotations

import threading
import time

import pytest
from job_pipelines import pipeline
from job_support import Database, StartNode

import flowstone as fs
from supervisors.testing import wait_for

PERIOD = 60.0


def away_from_window_edge(period: float = PERIOD, margin: float = 2.0) -> None:
    """Wait until the current ``period`` window has ``margin`` seconds left.

    Uniqueness is bucketed into period-long windows; two submits straddling a window edge
    would be two jobs, which is not what these tests are about.
    """
    wait_for(lambda: period - time.time() % period > margin, timeout=margin + 1, message="window edge")


def count_jobs(db: Database, asset: str) -> int:
    return int(db.rows("SELECT count(*) FROM flowstone_jobs WHERE asset = :asset", asset=asset)[0][0])


class TestPerAsset:
    def test_a_duplicate_submit_returns_the_existing_job(self, start_node: StartNode, db: Database) -> None:
        node = start_node()
        away_from_window_edge()
        first = node.submit(pipeline, "unique_value", partition="eu")
        second = node.submit(pipeline, "unique_value", partition="eu")
        assert second.id == first.id
        assert count_jobs(db, "unique_value") == 1

    def test_a_different_partition_is_a_new_job(self, start_node: StartNode, db: Database) -> None:
        node = start_node()
        away_from_window_edge()
        eu = node.submit(pipeline, "unique_value", partition="eu")
        us = node.submit(pipeline, "unique_value", partition="us")
        assert eu.id != us.id
        assert count_jobs(db, "unique_value") == 2

    def test_a_duplicate_of_a_completed_job_returns_it(self, start_node: StartNode) -> None:
        node = start_node(queues={"assets": 1})
        away_from_window_edge()
        first = node.submit(pipeline, "unique_value", partition="eu")
        assert first.wait(10) == "unique:eu"
        again = node.submit(pipeline, "unique_value", partition="eu")
        assert again.id == first.id
        assert again.wait(10) == "unique:eu"

    def test_a_cancelled_job_no_longer_blocks_a_new_one(self, start_node: StartNode, db: Database) -> None:
        node = start_node()
        away_from_window_edge()
        first = node.submit(pipeline, "unique_value", partition="eu")
        assert first.cancel()
        second = node.submit(pipeline, "unique_value", partition="eu")
        assert second.id != first.id
        assert second.status().state == "available"
        assert count_jobs(db, "unique_value") == 2


class TestPerSubmit:
    def test_unique_on_submit_dedupes_a_plain_asset(self, start_node: StartNode, db: Database) -> None:
        node = start_node()
        unique = fs.Unique(period=PERIOD, keys=("asset", "partition"))
        away_from_window_edge()
        first = node.submit(pipeline, "value", partition="eu", unique=unique)
        second = node.submit(pipeline, "value", partition="eu", unique=unique)
        assert second.id == first.id
        node.submit(pipeline, "value", partition="eu")  # not unique: always a new job
        assert count_jobs(db, "value") == 2

    def test_states_without_completed_allow_a_new_job_after_completion(self, start_node: StartNode) -> None:
        node = start_node(queues={"assets": 1})
        unique = fs.Unique(period=PERIOD, states=("available", "scheduled", "executing", "retryable"))
        away_from_window_edge()
        first = node.submit(pipeline, "value", partition="eu", unique=unique)
        first.wait(10)
        second = node.submit(pipeline, "value", partition="eu", unique=unique)
        assert second.id != first.id

    def test_a_unique_submit_racing_from_eight_threads_yields_one_job(
        self, start_node: StartNode, db: Database
    ) -> None:
        node = start_node()
        start = threading.Barrier(8)
        ids: list[int] = []
        errors: list[BaseException] = []
        lock = threading.Lock()

        def submit() -> None:
            try:
                start.wait(timeout=10)
                handle = node.submit(pipeline, "unique_value", partition="race")
                with lock:
                    ids.append(handle.id)
            except BaseException as exc:  # noqa: BLE001 - collected and checked below
                with lock:
                    errors.append(exc)

        away_from_window_edge()
        threads = [threading.Thread(target=submit, name=f"submit-{n}") for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert errors == []
        assert len(ids) == 8
        assert len(set(ids)) == 1
        assert count_jobs(db, "unique_value") == 1

    @pytest.mark.parametrize(
        "options",
        [{"period": 0}, {"keys": ()}, {"keys": ("colour",)}, {"states": ("finished",)}],
    )
    def test_invalid_unique_options_are_refused(self, options: dict[str, object]) -> None:
        with pytest.raises(ValueError, match="Unique"):
            fs.Unique(**options)  # type: ignore[arg-type]
