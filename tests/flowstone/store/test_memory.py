"""``MemoryStore`` specifics: what it keeps of runs a newer run of their asset overtook, and
the records it hands out."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime

import pytest

from flowstone._store import Completion, Failure, MaterializationRecord, MemoryStore, RunStart
from flowstone.io import Memory


def start(store: MemoryStore, plan: tuple[str, ...] = ("value",)) -> str:
    run_id = uuid.uuid4().hex
    store.start_run(
        RunStart(
            run_id=run_id,
            pipeline="direct",
            asset=plan[-1],
            partition_key="k",
            plan=list(plan),
            options={},
            at=datetime.now(UTC),
            actor="test",
            running=(plan[0],),
        )
    )
    return run_id


def overtaken(store: MemoryStore) -> int:
    return len(store._pipelines["direct"].overtaken)


def completion(run_id: str) -> Completion:
    """The run's only asset, ``value``, succeeded: its target, so the run ends with it."""
    return Completion(
        pipeline="direct",
        asset="value",
        partition_key="k",
        run_id=run_id,
        attempts=1,
        at=datetime.now(UTC),
        duration_ms=1.0,
        finishes_run=True,
        actor="test",
    )


class TestOvertakenRuns:
    """An overtaken run's records are kept only while it can still end them."""

    def test_they_are_forgotten_when_the_run_completes(self) -> None:
        store = MemoryStore()
        first = start(store)
        start(store)
        assert overtaken(store) == 1
        done = completion(first)
        assert store.complete(done, Memory(), 1) is True
        assert overtaken(store) == 0

    def test_a_failure_forgets_the_pending_records_its_run_will_never_reach(self) -> None:
        store = MemoryStore()
        first = start(store, ("raw", "report"))
        start(store, ("raw", "report"))
        assert overtaken(store) == 2
        failure = Failure(
            pipeline="direct",
            asset="raw",
            partition_key="k",
            run_id=first,
            attempts=1,
            at=datetime.now(UTC),
            error="RuntimeError: boom",
            actor="test",
        )
        assert store.fail(failure) is True
        assert overtaken(store) == 0

    def test_a_run_closed_after_a_timeout_forgets_them(self) -> None:
        store = MemoryStore()
        first = start(store, ("raw", "report"))
        second = start(store, ("raw", "report"))
        store.finish_run(first, status="failed", at=datetime.now(UTC), error="TimeoutError", actor="test")
        assert overtaken(store) == 0
        latest = store.latest("direct", "raw", "k")
        assert latest is not None
        assert (latest.run_id, latest.status) == (second, "running")


class TestRecordsHandedOut:
    """The store changes its own entries in place; what a reader gets is a frozen copy."""

    def test_a_record_read_is_frozen_and_does_not_change_as_its_run_goes_on(self) -> None:
        store = MemoryStore()
        run_id = start(store)
        before = store.latest("direct", "value", "k")
        assert isinstance(before, MaterializationRecord)
        assert before.status == "running"
        with pytest.raises(dataclasses.FrozenInstanceError):
            before.status = "completed"  # type: ignore[misc]
        done = completion(run_id)
        assert store.complete(done, Memory(), 1) is True
        after = store.latest("direct", "value", "k")
        assert before.status == "running"
        assert before.finished_at is None
        assert after is not None
        assert after.status == "completed"
        assert after.finished_at == done.at
