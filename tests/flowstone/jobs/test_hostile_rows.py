"""Whatever a job row holds, the job ends [issue 13.3]: a row this version cannot read is
discarded with the reason recorded, the jobs claimed with it run as usual, and fields
written by a newer FlowStone are ignored with a warning."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import pytest
import structlog
from job_pipelines import pipeline
from job_support import Database, StartNode

import flowstone as fs

GOOD = ("a", "b", "c")


def submit_with_one_hostile_row(
    node: fs.Node, db: Database, column: str, value: str
) -> tuple[fs.RunHandle, list[fs.RunHandle]]:
    """Submit three good jobs and a fourth whose ``column`` is then set to ``value``."""
    good = [node.submit(pipeline, "value", partition=partition) for partition in GOOD]
    hostile = node.submit(pipeline, "value", partition="hostile")
    db.execute(f"UPDATE flowstone_jobs SET {column} = :value WHERE id = :id", value=value, id=hostile.id)
    return hostile, good


def assert_completed(good: list[fs.RunHandle]) -> None:
    """The jobs claimed with the hostile one end completed with their values."""
    for handle in good:
        assert handle.wait(10) == f"value:{handle.partition}"


def ended(node: fs.Node, handle: fs.RunHandle) -> fs.JobInfo:
    """The job once it has ended (``wait`` raises for a discarded job; the info says why)."""
    with contextlib.suppress(fs.MaterializationError):
        handle.wait(10)
    return handle.status()


def retry_options(**fields: Any) -> str:
    retry = {"max_attempts": 3, "backoff": "constant", "base_delay": 0.0, "max_delay": 1.0, "jitter": 0.0}
    return json.dumps({"force": False, "retry": {**retry, **fields}})


UNREADABLE = [
    pytest.param("options", "not json", "options", id="options-not-json"),
    pytest.param("options", "[1, 2]", "options", id="options-not-an-object"),
    pytest.param("options", json.dumps({"retry": 5}), "options.retry", id="retry-not-an-object"),
    pytest.param("options", retry_options(max_attempts="three"), "max_attempts", id="retry-bad-value"),
    pytest.param("options", json.dumps({"force": "yes"}), "options.force", id="force-not-a-bool"),
    pytest.param("options", json.dumps({"unique_states": 3}), "unique_states", id="unique-states-bad"),
    pytest.param("errors", "{broken", "errors", id="errors-not-json"),
    pytest.param("errors", json.dumps({"a": 1}), "errors", id="errors-not-a-list"),
    pytest.param("partition_key", "not a partition", "partition", id="partition-key"),
    pytest.param("pipeline_ref", "no colon here", "reference", id="reference-malformed"),
]


class TestAnUnreadableRowIsDiscarded:
    @pytest.mark.parametrize(("column", "value", "named"), UNREADABLE)
    def test_the_job_is_discarded_with_the_reason_and_the_jobs_claimed_with_it_complete(
        self, start_node: StartNode, db: Database, column: str, value: str, named: str
    ) -> None:
        submitter = start_node()  # enqueues only: the worker below claims all four at once
        hostile, good = submit_with_one_hostile_row(submitter, db, column, value)
        worker = start_node(queues={"assets": 4})
        info = ended(worker, hostile)
        assert info.state == "discarded", info
        assert info.attempt == 1  # not retried: the row does not fix itself
        error = info.errors[-1]["error"]
        assert named in error
        assert_completed(good)
        states = [i.state for i in worker.jobs.list(limit=10)]
        assert sorted(states) == ["completed", "completed", "completed", "discarded"]

    def test_a_discarded_unreadable_job_makes_wait_raise_with_the_reason(
        self, start_node: StartNode, db: Database
    ) -> None:
        submitter = start_node()
        hostile, _ = submit_with_one_hostile_row(submitter, db, "options", "not json")
        start_node(queues={"assets": 4})
        with pytest.raises(fs.MaterializationError, match="options"):
            hostile.wait(10)


class TestAPipelineModuleThatExitsAtImport:
    @pytest.mark.parametrize("raised", ["SystemExit(3)", "KeyboardInterrupt()"])
    def test_the_job_is_discarded_naming_the_module_and_the_worker_carries_on(
        self,
        start_node: StartNode,
        db: Database,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
        raised: str,
    ) -> None:
        name = f"exits_at_import_{abs(hash(raised))}"
        (tmp_path / f"{name}.py").write_text(f"raise {raised}\n")
        monkeypatch.syspath_prepend(str(tmp_path))
        submitter = start_node()
        hostile, good = submit_with_one_hostile_row(submitter, db, "pipeline_ref", f"{name}:pipeline")
        worker = start_node(queues={"assets": 4})
        info = ended(worker, hostile)
        assert info.state == "discarded", info
        error = info.errors[-1]["error"]
        assert name in error
        assert raised.split("(", maxsplit=1)[0] in error
        assert_completed(good)
        # The worker that met it still works: a new job runs.
        assert worker.submit(pipeline, "value", partition="after").wait(10) == "value:after"


class TestFieldsFromANewerVersion:
    def test_an_unknown_retry_field_is_ignored_with_a_warning_and_the_job_runs(
        self, start_node: StartNode, db: Database
    ) -> None:
        submitter = start_node()
        newer, good = submit_with_one_hostile_row(submitter, db, "options", retry_options(jitter_seed=42))
        with structlog.testing.capture_logs() as logs:
            start_node(queues={"assets": 4})
            assert newer.wait(10) == "value:hostile"
        info = newer.status()
        assert (info.state, info.attempt, info.errors) == ("completed", 1, [])
        warnings = [e for e in logs if e["event"] == "job.unknown_options"]
        assert [(w["job_id"], w["fields"]) for w in warnings] == [(newer.id, ["retry.jitter_seed"])]
        assert_completed(good)

    def test_the_known_retry_fields_of_a_newer_row_still_apply(
        self, start_node: StartNode, db: Database
    ) -> None:
        submitter = start_node()
        handle = submitter.submit(pipeline, "poison")
        db.execute(
            "UPDATE flowstone_jobs SET options = :o, max_attempts = 2 WHERE id = :id",
            o=retry_options(max_attempts=2, base_delay=0.0, future_option=True),
            id=handle.id,
        )
        worker = start_node(queues={"assets": 1})
        info = ended(worker, handle)
        assert (info.state, info.attempt) == ("discarded", 2)
        assert [e["attempt"] for e in info.errors] == [1, 2]

    def test_an_unknown_top_level_option_is_ignored_with_a_warning(
        self, start_node: StartNode, db: Database
    ) -> None:
        submitter = start_node()
        handle = submitter.submit(pipeline, "value", partition="top")
        db.execute(
            "UPDATE flowstone_jobs SET options = :o WHERE id = :id",
            o=json.dumps({"force": False, "priority_class": "gold"}),
            id=handle.id,
        )
        with structlog.testing.capture_logs() as logs:
            start_node(queues={"assets": 1})
            assert handle.wait(10) == "value:top"
        warnings = [e for e in logs if e["event"] == "job.unknown_options"]
        assert [w["fields"] for w in warnings] == [["priority_class"]]
