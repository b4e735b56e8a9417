"""Several processes and several nodes materializing the same asset and partition at once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import text

import flowstone as fs

PROCESSES = 3
PARTITIONS = ("p1", "p2")
ROUNDS = 2

# Each process starts its node (several migrating a fresh database at once), says it is
# ready, waits for "go" on stdin, then runs the same asset for the same partitions.
SCRIPT = textwrap.dedent(
    """
    import json, logging, sys

    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))

    import flowstone as fs

    pipeline = fs.Pipeline("shared")

    @pipeline.asset
    def value(ctx: fs.Context) -> dict:
        return {"partition": ctx.partition, "rows": list(range(100))}

    url, partitions, rounds = sys.argv[1], sys.argv[2].split(","), int(sys.argv[3])
    with fs.start(database_url=url, max_concurrency=2) as node:
        print("ready", flush=True)
        assert sys.stdin.readline().strip() == "go"
        results = []
        for _ in range(rounds):
            for key in partitions:
                results.append(node.run(pipeline, "value", partition=key, force=True)["partition"])
    print(json.dumps(results), flush=True)
    """
)


def check_rows(
    query: Callable[..., list[Any]], url: str, pipeline: str, asset: str, runs: int, partitions: int
) -> None:
    """One value per partition; one materialization row per run, completed once."""
    values = query(
        url,
        "SELECT partition_key, COUNT(*) FROM flowstone_values "
        "WHERE pipeline = :p AND asset = :a GROUP BY partition_key",
        p=pipeline,
        a=asset,
    )
    assert len(values) == partitions
    assert all(count == 1 for _, count in values)
    per_run = query(
        url,
        "SELECT run_id, COUNT(*), SUM(CASE WHEN status = 'completed' THEN 1 ELSE 0 END) "
        "FROM flowstone_materializations WHERE pipeline = :p AND asset = :a GROUP BY run_id",
        p=pipeline,
        a=asset,
    )
    assert len(per_run) == runs
    assert all((count, completed) == (1, 1) for _, count, completed in per_run)
    statuses = query(
        url, "SELECT status, COUNT(*) FROM flowstone_runs WHERE pipeline = :p GROUP BY status", p=pipeline
    )
    assert [tuple(row) for row in statuses] == [("completed", runs)]


class TestSeveralProcesses:
    @pytest.mark.timeout(90)
    def test_all_finish_with_one_value_and_one_completion_per_run(
        self, database_url: str, query: Callable[..., list[Any]]
    ) -> None:
        env = {k: v for k, v in os.environ.items() if k != "FLOWSTONE_DATABASE_URL"}
        processes = [
            subprocess.Popen(
                [sys.executable, "-c", SCRIPT, database_url, ",".join(PARTITIONS), str(ROUNDS)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
            )
            for _ in range(PROCESSES)
        ]
        try:
            for process in processes:
                assert process.stdout is not None
                line = process.stdout.readline()
                assert line.strip() == "ready", process.communicate(timeout=30)[1]
            for process in processes:
                assert process.stdin is not None
                process.stdin.write("go\n")
                process.stdin.flush()
            outputs = [process.communicate(timeout=60) for process in processes]
        finally:
            for process in processes:
                if process.poll() is None:
                    process.kill()
                    process.wait()
        for process, (out, err) in zip(processes, outputs, strict=True):
            assert process.returncode == 0, err
            assert json.loads(out.strip().splitlines()[-1]) == list(PARTITIONS) * ROUNDS
        check_rows(
            query, database_url, "shared", "value", PROCESSES * len(PARTITIONS) * ROUNDS, len(PARTITIONS)
        )


class TestSeveralNodesInOneProcess:
    @pytest.mark.timeout(60)
    def test_all_finish_with_one_value_and_one_completion_per_run(
        self, database_url: str, query: Callable[..., list[Any]]
    ) -> None:
        nodes_count = 3
        # The asset waits until every node is inside it, so the three really overlap.
        inside = threading.Barrier(nodes_count, timeout=20)
        pipeline = fs.Pipeline("shared_nodes")

        @pipeline.asset
        def value(ctx: fs.Context) -> dict[str, object]:
            inside.wait()
            return {"partition": ctx.partition, "rows": list(range(100))}

        results: list[object] = []
        errors: list[BaseException] = []
        lock = threading.Lock()

        def run(node: fs.Node) -> None:
            try:
                result = node.run(pipeline, "value", partition="p1", force=True)
                with lock:
                    results.append(result)
            except BaseException as exc:  # noqa: BLE001 - collected and checked below
                with lock:
                    errors.append(exc)

        nodes = [fs.start(database_url=database_url, max_concurrency=2) for _ in range(nodes_count)]
        try:
            threads = [threading.Thread(target=run, args=(n,), name=f"run-{i}") for i, n in enumerate(nodes)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=40)
            assert not any(t.is_alive() for t in threads)
        finally:
            for node in nodes:
                node.stop()
        assert errors == []
        assert results == [{"partition": "p1", "rows": list(range(100))}] * nodes_count
        check_rows(query, database_url, "shared_nodes", "value", nodes_count, 1)


class TestSQLiteSettings:
    def test_sqlite_runs_in_wal_mode_with_a_busy_timeout_of_at_least_30_seconds(
        self, sqlite_url: str
    ) -> None:
        with fs.start(database_url=sqlite_url) as node:
            engines = node._store.engines  # type: ignore[attr-defined]
            for engine in (engines.read, engines.write):
                with engine.connect() as connection:
                    assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
                    assert connection.execute(text("PRAGMA busy_timeout")).scalar() >= 30_000
