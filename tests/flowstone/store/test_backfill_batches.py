"""A SQL store records a backfill's one-asset runs after they end, a batch per transaction.

Each run's runner only computes the value; the backfill collects finished runs and
writes their rows (run, materialization, value, lineage, audit) in one transaction,
reporting a partition only once its batch has committed. The memory store still
records each run as it happens.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.engine import make_url

import flowstone as fs
from supervisors.testing import wait_for
from tests.flowstone.store.tcp_proxy import TcpProxy

Query = Callable[..., list[Any]]

RUNS = "SELECT run_id, partition_key, status, error FROM flowstone_runs WHERE pipeline = :p AND asset = :a"
RECORDS = (
    "SELECT run_id, partition_key, status, attempts, error, started_at, finished_at, duration_ms"
    " FROM flowstone_materializations WHERE pipeline = :p AND asset = :a"
)
VALUES = "SELECT partition_key FROM flowstone_values WHERE pipeline = :p AND asset = :a"
AUDIT = "SELECT resource, event_type, details FROM flowstone_audit_log WHERE resource LIKE :prefix"


def key(partition: fs.partitions.Partition) -> str:
    return fs.partitions.serialize(partition)


def closable(results: Iterator[fs.PartitionResult]) -> Generator[fs.PartitionResult, None, None]:
    """``backfill_iter``'s results as the generator they are, which a caller may ``close``."""
    assert isinstance(results, Generator)
    return results


def audit_counts(query: Query, url: str, pipeline: str, asset: str) -> Counter[tuple[str, str]]:
    """How many audit rows each (partition key, event type) has."""
    rows = query(url, AUDIT, prefix=f"{pipeline}/{asset}/%")
    prefix = len(f"{pipeline}/{asset}/")
    return Counter((r.resource[prefix:], r.event_type) for r in rows)


@pytest.fixture
def node(database_url: str) -> Iterator[fs.Node]:
    with fs.start(database_url=database_url, max_concurrency=4, max_parallel=4) as started:
        yield started


def labelled(name: str) -> fs.Pipeline:
    """One partitioned asset whose value names its partition."""
    pipeline = fs.Pipeline(name)

    @pipeline.asset
    def label(ctx: fs.Context) -> str:
        return f"value of {ctx.partition}"

    return pipeline


class TestEveryRunIsRecorded:
    def test_a_backfill_of_many_batches_records_each_partition_once_and_completed(
        self, node: fs.Node, database_url: str, query: Query
    ) -> None:
        pipeline = labelled("many")
        days = [f"p{i:03d}" for i in range(150)]  # batches of 1, 2, 4 … 64, then the rest
        report = node.backfill(pipeline, "label", days, parallel=4)
        assert (report.succeeded, report.failed, report.timed_out, report.skipped) == (150, 0, 0, 0)

        where = {"p": "many", "a": "label"}
        records = query(database_url, RECORDS, **where)
        assert Counter((r.partition_key, r.status) for r in records) == {
            (key(d), "completed"): 1 for d in days
        }
        assert all(r.attempts == 1 and r.error is None for r in records)
        assert all(r.started_at <= r.finished_at and r.duration_ms is not None for r in records)
        runs = query(database_url, RUNS, **where)
        assert Counter((r.partition_key, r.status) for r in runs) == {(key(d), "completed"): 1 for d in days}
        assert {r.run_id for r in runs} == {r.run_id for r in records}
        assert sorted(r.partition_key for r in query(database_url, VALUES, **where)) == sorted(
            key(d) for d in days
        )
        audits = audit_counts(query, database_url, "many", "label")
        assert audits == {
            **{(key(d), "run.started"): 1 for d in days},
            **{(key(d), "run.finished"): 1 for d in days},
        }

        run_of = {r.partition_key: r.run_id for r in runs}
        for day in days:
            assert node.get(pipeline, "label", day) == f"value of {day}"
            status = node.status(pipeline, "label", day)
            assert status.state == "completed"
            assert status.run_id == run_of[key(day)]

    def test_a_batched_runs_times_read_back_as_those_of_a_run_recorded_as_it_happens(
        self, node: fs.Node
    ) -> None:
        pipeline = labelled("times")
        before = datetime.now(UTC)
        node.backfill(pipeline, "label", ["batched"])
        node.run(pipeline, "label", partition="alone")
        after = datetime.now(UTC)
        for partition in ("batched", "alone"):
            status = node.status(pipeline, "label", partition)
            assert status.started_at is not None
            assert status.finished_at is not None
            assert status.started_at.utcoffset() == status.finished_at.utcoffset() == timedelta(0)
            assert before <= status.started_at <= status.finished_at <= after
        entries = [e for e in node.audit(limit=10) if e.resource.startswith("times/")]
        assert all(before <= e.at <= after for e in entries)
        assert len(entries) == 4

    def test_each_partition_is_in_the_database_when_it_is_reported(
        self, node: fs.Node, database_url: str, query: Query
    ) -> None:
        pipeline = labelled("reported")
        for result in node.backfill_iter(pipeline, "label", [f"p{i:02d}" for i in range(70)], parallel=4):
            assert result.status == "succeeded"
            rows = query(
                database_url,
                "SELECT r.status, m.status FROM flowstone_runs r JOIN flowstone_materializations m"
                " ON m.run_id = r.run_id JOIN flowstone_values v ON v.pipeline = m.pipeline"
                " AND v.asset = m.asset AND v.partition_key = m.partition_key WHERE r.run_id = :run",
                run=result.run_id,
            )
            assert [tuple(row) for row in rows] == [("completed", "completed")], result.partition

    @pytest.mark.timeout(60)
    def test_each_batch_is_one_transaction_growing_from_one_run_to_64(
        self, postgres_database: str, query: Query
    ) -> None:
        # PostgreSQL stamps every row with the transaction that wrote it (xmin): rows of one
        # batch share it, and the rows of one run are all in the same transaction.
        pipeline = labelled("xmin")
        days = [f"p{i:03d}" for i in range(150)]
        with fs.start(database_url=postgres_database, max_concurrency=4, max_parallel=4) as node:
            assert node.backfill(pipeline, "label", days, parallel=4).succeeded == 150

        where = {"p": "xmin", "a": "label"}
        runs = query(
            postgres_database,
            "SELECT run_id, partition_key, xmin::text::bigint AS tx FROM flowstone_runs"
            " WHERE pipeline = :p AND asset = :a",
            **where,
        )
        tx_of = {r.run_id: r.tx for r in runs}
        records = query(
            postgres_database,
            "SELECT run_id, xmin::text::bigint AS tx FROM flowstone_materializations"
            " WHERE pipeline = :p AND asset = :a",
            **where,
        )
        assert {r.run_id: r.tx for r in records} == tx_of
        values = query(
            postgres_database,
            "SELECT partition_key, xmin::text::bigint AS tx FROM flowstone_values"
            " WHERE pipeline = :p AND asset = :a",
            **where,
        )
        assert {r.partition_key: r.tx for r in values} == {r.partition_key: r.tx for r in runs}
        audits = query(
            postgres_database,
            "SELECT details, xmin::text::bigint AS tx FROM flowstone_audit_log WHERE resource LIKE 'xmin/%'",
        )
        assert len(audits) == 300
        assert all(tx_of[json.loads(a.details)["run_id"]] == a.tx for a in audits)

        sizes = [count for _, count in sorted(Counter(tx_of.values()).items())]
        assert sum(sizes) == 150
        assert len(sizes) < 30, f"batch sizes {sizes}"
        parallel = 4  # runs that finish together join the batch being filled
        for index, size in enumerate(sizes):
            assert size <= min(2**index, 64) + parallel - 1, f"batch sizes {sizes}"


class TestLineage:
    def test_a_dependant_backfilled_after_its_dependency_records_its_upstream(
        self, node: fs.Node, database_url: str, query: Query
    ) -> None:
        pipeline = fs.Pipeline("chained")

        @pipeline.asset
        def source(ctx: fs.Context) -> int:
            return int(str(ctx.partition)[1:])

        @pipeline.asset
        def doubled(ctx: fs.Context, source: int) -> int:
            return source * 2

        days = [f"p{i:02d}" for i in range(20)]
        assert node.backfill(pipeline, "source", days, parallel=4).succeeded == 20
        assert node.backfill(pipeline, "doubled", days, parallel=4).succeeded == 20  # plan: doubled alone

        run_of = {r.partition_key: r.run_id for r in query(database_url, RUNS, p="chained", a="doubled")}
        edges = query(
            database_url,
            "SELECT run_id, partition_key, upstream_asset, upstream_partition_key FROM flowstone_lineage"
            " WHERE pipeline = 'chained' AND asset = 'doubled'",
        )
        assert sorted((e.partition_key, e.upstream_asset, e.upstream_partition_key) for e in edges) == [
            (key(d), "source", key(d)) for d in days
        ]
        assert all(e.run_id == run_of[e.partition_key] for e in edges)
        for i, day in enumerate(days):
            upstream = node.lineage.upstream(pipeline, "doubled", day)
            assert [(r.asset, r.partition, r.depth) for r in upstream] == [("source", day, 1)]
            assert node.get(pipeline, "doubled", day) == i * 2


class TestFailures:
    def test_partitions_whose_asset_raises_are_recorded_failed_with_the_error(
        self, node: fs.Node, database_url: str, query: Query
    ) -> None:
        pipeline = fs.Pipeline("partly")

        @pipeline.asset(retry=fs.Retry(max_attempts=1))
        def thirds(ctx: fs.Context) -> int:
            number = ctx.partition
            assert isinstance(number, int)
            if number % 3 == 0:
                raise ValueError(f"no value for partition {number}")
            return number

        report = node.backfill(pipeline, "thirds", range(12), parallel=4)
        bad = [0, 3, 6, 9]
        assert (report.succeeded, report.failed, report.timed_out, report.skipped) == (8, 4, 0, 0)
        assert sorted(int(str(r.partition)) for r in report.failures) == bad
        for result in report.failures:
            assert result.status == "failed"
            assert isinstance(result.error, fs.MaterializationError)
            assert isinstance(result.error.__cause__, ValueError)

        where = {"p": "partly", "a": "thirds"}
        records = {r.partition_key: r for r in query(database_url, RECORDS, **where)}
        runs = {r.partition_key: r for r in query(database_url, RUNS, **where)}
        assert len(records) == len(runs) == 12
        for p in range(12):
            record, run = records[key(p)], runs[key(p)]
            assert record.run_id == run.run_id
            if p in bad:
                assert (record.status, run.status, record.attempts) == ("failed", "failed", 1)
                assert f"no value for partition {p}" in record.error
                assert f"no value for partition {p}" in run.error
                status = node.status(pipeline, "thirds", p)
                assert status.state == "failed"
                assert status.error is not None
                assert f"no value for partition {p}" in status.error
                assert not node.exists(pipeline, "thirds", p)
            else:
                assert (record.status, run.status) == ("completed", "completed")
                assert (record.error, run.error) == (None, None)
                assert node.get(pipeline, "thirds", p) == p
        assert sorted(r.partition_key for r in query(database_url, VALUES, **where)) == sorted(
            key(p) for p in range(12) if p not in bad
        )

        audits = audit_counts(query, database_url, "partly", "thirds")
        for p in range(12):
            ended = "run.failed" if p in bad else "run.finished"
            assert audits[(key(p), "run.started")] == 1
            assert audits[(key(p), ended)] == 1
        assert sum(audits.values()) == 24
        failed = [
            r for r in query(database_url, AUDIT, prefix="partly/thirds/%") if r.event_type == "run.failed"
        ]
        assert all("no value for partition" in r.details for r in failed)

    @pytest.mark.timeout(30)
    def test_a_partition_past_its_timeout_is_recorded_failed_and_its_late_value_never_stored(
        self, node: fs.Node, database_url: str, query: Query
    ) -> None:
        release = threading.Event()
        pipeline = fs.Pipeline("late")

        @pipeline.asset
        def slowish(ctx: fs.Context) -> str:
            if ctx.partition == "slow":
                release.wait(20)
            return f"value {ctx.partition}"

        try:
            report = node.backfill(
                pipeline, "slowish", ["fast1", "slow", "fast2", "fast3"], parallel=2, timeout=0.2
            )
            assert (report.succeeded, report.failed, report.timed_out) == (3, 0, 1)
            assert [(r.partition, r.status) for r in report.failures] == [("slow", "timed_out")]
        finally:
            release.set()
        # The abandoned runner retires once the asset returns: after that its value would
        # have been stored, if it were ever going to be.
        size = node.config.max_concurrency
        wait_for(
            lambda: len(next(c for c in node.tree().children if c.id == "runners").children) == size,
            message="the abandoned runner retired",
        )

        where = {"p": "late", "a": "slowish"}
        assert not node.exists(pipeline, "slowish", "slow")
        assert key("slow") not in {r.partition_key for r in query(database_url, VALUES, **where)}
        status = node.status(pipeline, "slowish", "slow")
        assert status.state == "failed"
        assert status.error is not None
        assert "Timeout" in status.error
        records = [r for r in query(database_url, RECORDS, **where) if r.partition_key == key("slow")]
        assert [(r.status, "timed out" in r.error) for r in records] == [("failed", True)]
        runs = [r for r in query(database_url, RUNS, **where) if r.partition_key == key("slow")]
        assert [(r.status, "timed out" in r.error) for r in runs] == [("failed", True)]
        audits = audit_counts(query, database_url, "late", "slowish")
        assert (audits[(key("slow"), "run.failed")], audits[(key("slow"), "run.finished")]) == (1, 0)
        for fast in ("fast1", "fast2", "fast3"):
            assert node.get(pipeline, "slowish", fast) == f"value {fast}"


class TestCheapPartitionsShareMessages:
    """A runner takes several partitions of a cheap asset per message (ChunkSizer)."""

    @pytest.mark.timeout(60)
    def test_partitions_sent_with_one_that_hangs_run_elsewhere_and_only_it_times_out(
        self, node: fs.Node
    ) -> None:
        release = threading.Event()
        pipeline = fs.Pipeline("hangs")
        calls: Counter[str] = Counter()

        @pipeline.asset
        def cheap(ctx: fs.Context) -> str:
            calls[ctx.partition] += 1
            if ctx.partition == "hang":
                release.wait(30)
            return f"value {ctx.partition}"

        # Enough cheap partitions first for messages to carry many; then the one that hangs,
        # with more behind it that would wait for it if they stayed in its message.
        days = [f"a{i:03d}" for i in range(300)] + ["hang"] + [f"b{i:02d}" for i in range(40)]
        try:
            # With 1 s, nine partitions behind the hanging one once timed out with it in CI:
            # started ahead of their turn, they were timed from their start while they
            # waited in the queue (the chunk size had shrunk meanwhile). They are timed
            # from their first send now (tests/flowstone/test_run_clocks.py); 2 s leaves a
            # replacement runner time to start on a loaded 2-CPU machine.
            report = node.backfill(pipeline, "cheap", days, parallel=1, timeout=2.0)
            assert (report.succeeded, report.failed, report.timed_out) == (340, 0, 1)
            assert [(r.partition, r.status) for r in report.failures] == [("hang", "timed_out")]
        finally:
            release.set()
        for day in days[:300] + days[301:]:
            assert node.get(pipeline, "cheap", day) == f"value {day}"
        assert calls["hang"] == 1

    def test_a_halt_skips_every_partition_after_the_failure_even_those_already_sent(
        self, node: fs.Node
    ) -> None:
        pipeline = fs.Pipeline("halting")
        ran: list[str] = []

        @pipeline.asset
        def cheap(ctx: fs.Context) -> str:
            ran.append(str(ctx.partition))
            if ctx.partition == "d040":
                raise ValueError("the bad day")
            return f"value {ctx.partition}"

        days = [f"d{i:03d}" for i in range(80)]
        report = node.backfill(pipeline, "cheap", days, parallel=1, on_error="halt")
        assert (report.succeeded, report.failed, report.skipped) == (40, 1, 39)
        assert ran == days[:41]
        assert node.status(pipeline, "cheap", "d041").state == "not_found"

    def test_no_more_assets_run_at_once_than_parallel(self, node: fs.Node) -> None:
        pipeline = fs.Pipeline("bounded")
        lock = threading.Lock()
        running = [0, 0]  # now, most

        @pipeline.asset
        def counted(ctx: fs.Context) -> int:
            with lock:
                running[0] += 1
                running[1] = max(running[1], running[0])
            try:
                return len(str(ctx.partition))
            finally:
                with lock:
                    running[0] -= 1

        report = node.backfill(pipeline, "counted", [f"d{i}" for i in range(400)], parallel=2)
        assert report.succeeded == 400
        assert 1 <= running[1] <= 2


class TestStreaming:
    def test_runs_finished_but_not_yet_reported_are_recorded_when_the_caller_stops(
        self, node: fs.Node, database_url: str, query: Query
    ) -> None:
        pipeline = labelled("stopped")
        node.run(pipeline, "label", partition="s1")
        node.run(pipeline, "label", partition="s2")
        # n0 is a batch of its own; n1 then waits for a second run to fill its batch, while
        # the two skipped partitions are reported; the caller stops after those.
        results = closable(node.backfill_iter(pipeline, "label", ["n0", "n1", "s1", "s2", "n2"], parallel=1))
        taken = [next(results) for _ in range(3)]
        results.close()

        assert [(r.partition, r.status) for r in taken] == [
            ("n0", "succeeded"),
            ("s1", "skipped"),
            ("s2", "skipped"),
        ]
        for reported in ("n0", "s1", "s2"):
            assert node.status(pipeline, "label", reported).state == "completed"
        n1 = node.status(pipeline, "label", "n1")
        assert n1.state == "completed"  # never reported, still recorded
        assert node.get(pipeline, "label", "n1") == "value of n1"
        runs = {r.partition_key: r for r in query(database_url, RUNS, p="stopped", a="label")}
        assert runs[key("n1")].status == "completed"
        assert runs[key("n1")].run_id == n1.run_id
        assert node.status(pipeline, "label", "n2").state == "not_found"  # never started

    def test_every_partition_reported_before_the_caller_stops_is_recorded(
        self, node: fs.Node, database_url: str, query: Query
    ) -> None:
        pipeline = labelled("early")
        results = closable(
            node.backfill_iter(pipeline, "label", [f"p{i:02d}" for i in range(40)], parallel=4)
        )
        taken = [next(results) for _ in range(3)]
        results.close()

        assert all(r.status == "succeeded" for r in taken)
        for result in taken:
            status = node.status(pipeline, "label", result.partition)
            assert (status.state, status.run_id) == ("completed", result.run_id)
            assert node.get(pipeline, "label", result.partition) == f"value of {result.partition}"
        # Whatever else was recorded is whole: a completed run, its record and its value.
        where = {"p": "early", "a": "label"}
        records = query(database_url, RECORDS, **where)
        runs = query(database_url, RUNS, **where)
        assert {(r.run_id, r.status) for r in records} == {(r.run_id, "completed") for r in runs}
        assert sorted(r.partition_key for r in query(database_url, VALUES, **where)) == sorted(
            r.partition_key for r in records
        )

    def test_the_first_result_comes_before_a_full_batch_is_pulled(self, node: fs.Node) -> None:
        pulled: list[int] = []

        def partitions() -> Iterator[int]:
            for i in range(1000):
                pulled.append(i)
                yield i

        results = closable(node.backfill_iter(labelled("first"), "label", partitions(), parallel=1))
        try:
            assert next(results).status == "succeeded"
            assert len(pulled) < 20
        finally:
            results.close()
        assert len(pulled) < 20

    def test_a_partition_listed_twice_with_force_runs_twice_and_keeps_one_value(
        self, node: fs.Node, database_url: str, query: Query
    ) -> None:
        pipeline = fs.Pipeline("twice")
        calls: list[str] = []

        @pipeline.asset
        def counted(ctx: fs.Context) -> str:
            calls.append(str(ctx.partition))
            return f"call {len(calls)}"

        # One run fills the first batch; both runs of "dup" then share the second.
        report = node.backfill(pipeline, "counted", ["warm", "dup", "dup"], parallel=1, force=True)
        assert (report.succeeded, report.failed) == (3, 0)
        assert calls == ["warm", "dup", "dup"]

        where = {"p": "twice", "a": "counted"}
        runs = [r for r in query(database_url, RUNS, **where) if r.partition_key == key("dup")]
        assert [r.status for r in runs] == ["completed", "completed"]
        assert len({r.run_id for r in runs}) == 2
        records = [r for r in query(database_url, RECORDS, **where) if r.partition_key == key("dup")]
        assert sorted((r.run_id, r.status) for r in records) == sorted((r.run_id, "completed") for r in runs)
        assert [r.partition_key for r in query(database_url, VALUES, **where)].count(key("dup")) == 1
        assert node.get(pipeline, "counted", "dup") in ("call 2", "call 3")
        status = node.status(pipeline, "counted", "dup")
        assert status.state == "completed"
        assert status.run_id in {r.run_id for r in runs}
        audits = audit_counts(query, database_url, "twice", "counted")
        assert (audits[(key("dup"), "run.started")], audits[(key("dup"), "run.finished")]) == (2, 2)


class TestTheStoreGoesAway:
    @pytest.mark.timeout(60)
    def test_a_batch_that_cannot_be_written_fails_its_runs_and_records_none_of_them(
        self, postgres_database: str, proxy: TcpProxy, query: Query
    ) -> None:
        through_proxy = make_url(postgres_database).set(host="127.0.0.1", port=proxy.port)
        release = threading.Event()
        pipeline = fs.Pipeline("outage")

        @pipeline.asset
        def value(ctx: fs.Context) -> str:
            if ctx.partition != "a":
                release.wait(20)
            return f"value {ctx.partition}"

        with fs.start(
            database_url=through_proxy.render_as_string(hide_password=False),
            max_concurrency=3,
            max_parallel=3,
            health_timeout=5.0,
        ) as node:
            results = closable(node.backfill_iter(pipeline, "value", ["a", "b", "c"], parallel=3))
            down = False
            try:
                first = next(results)  # b and c are running, blocked
                assert (first.partition, first.status) == ("a", "succeeded")
                proxy.stop()  # the database goes away before b and c's batch is written
                down = True
                release.set()
                rest = list(results)
            finally:
                release.set()
                results.close()
                if down:
                    proxy.start()  # back on the same port
            assert sorted((r.partition, r.status) for r in rest) == [("b", "failed"), ("c", "failed")]
            for result in rest:
                assert isinstance(result.error, fs.MaterializationError)
                assert isinstance(result.error.__cause__, fs.StoreUnavailableError)
                assert f"127.0.0.1:{proxy.port}" in str(result.error.__cause__)
            # Read straight from the database, not through the proxy: only a was recorded.
            where = {"p": "outage", "a": "value"}
            assert [(r.partition_key, r.status) for r in query(postgres_database, RUNS, **where)] == [
                (key("a"), "completed")
            ]
            assert [(r.partition_key, r.status) for r in query(postgres_database, RECORDS, **where)] == [
                (key("a"), "completed")
            ]
            assert [r.partition_key for r in query(postgres_database, VALUES, **where)] == [key("a")]
            assert set(audit_counts(query, postgres_database, "outage", "value")) == {
                (key("a"), "run.started"),
                (key("a"), "run.finished"),
            }

            # Counted as not run: once the store is back, a new backfill runs them again.
            again = node.backfill(pipeline, "value", ["a", "b", "c"])
            assert (again.skipped, again.succeeded, again.failed) == (1, 2, 0)
            assert [node.get(pipeline, "value", p) for p in ("b", "c")] == ["value b", "value c"]


class TestRecordsInFlight:
    """The trade-off: a SQL store shows a batched run only once its batch is committed."""

    @staticmethod
    def while_running(node: fs.Node, probe: Callable[[fs.Pipeline], object]) -> object:
        """What ``probe`` returns while partition "p" of a backfill is blocked in its asset."""
        entered, release = threading.Event(), threading.Event()
        pipeline = fs.Pipeline("inflight")

        @pipeline.asset
        def blocked(ctx: fs.Context) -> str:
            entered.set()
            release.wait(20)
            return "done"

        with ThreadPoolExecutor(max_workers=1) as background:
            backfill = background.submit(node.backfill, pipeline, "blocked", ["p"])
            try:
                assert entered.wait(10), "the asset never started"
                seen = probe(pipeline)
            finally:
                release.set()
            assert backfill.result(timeout=20).succeeded == 1
        assert node.status(pipeline, "blocked", "p").state == "completed"
        return seen

    def test_the_memory_store_shows_a_partition_running_while_its_asset_runs(self) -> None:
        with fs.start(max_concurrency=2) as node:
            seen = self.while_running(node, lambda pipeline: node.status(pipeline, "blocked", "p").state)
        assert seen == "running"

    def test_a_sql_store_shows_nothing_for_a_partition_until_its_batch_commits(
        self, database_url: str, query: Query
    ) -> None:
        with fs.start(database_url=database_url, max_concurrency=2) as node:
            seen = self.while_running(
                node,
                lambda pipeline: (
                    node.status(pipeline, "blocked", "p").state,
                    query(database_url, "SELECT run_id FROM flowstone_runs"),
                ),
            )
        assert seen == ("not_found", [])
