"""Item readers hand out pages with a cursor, and resume from any cursor they gave."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, event, insert, select

from flowstone import readers


def pages(reader: Any, limit: int, cursor: Any = None) -> list[tuple[list[Any], Any]]:
    """Every page from ``cursor`` on, as (items, next_cursor)."""
    got = []
    while True:
        items, cursor = reader.read(cursor, limit)
        got.append((items, cursor))
        if cursor is None:
            return got


def every_item(reader: Any, limit: int, cursor: Any = None) -> list[Any]:
    return [item for items, _ in pages(reader, limit, cursor) for item in items]


def test_the_readers_follow_the_protocol() -> None:
    assert isinstance(readers.Iterable(list), readers.Reader)
    assert isinstance(readers.JSONLines("x.jsonl"), readers.Reader)
    assert isinstance(readers.CSV("x.csv"), readers.Reader)
    assert isinstance(readers.SQL("sqlite://", "t"), readers.Reader)


class TestIterable:
    def test_reads_pages_and_ends_with_no_cursor(self) -> None:
        got = pages(readers.Iterable(lambda: range(5)), 2)
        assert got == [([0, 1], 2), ([2, 3], 4), ([4], None)]

    def test_resumes_from_a_cursor_in_a_fresh_reader(self) -> None:
        assert every_item(readers.Iterable(lambda: range(10)), 3, cursor=6) == [6, 7, 8, 9]

    def test_reads_a_generator_lazily(self) -> None:
        pulled: list[int] = []

        def generate() -> Iterator[int]:
            for n in range(1_000_000):
                pulled.append(n)
                yield n

        reader = readers.Iterable(generate)
        assert reader.read(None, 3) == ([0, 1, 2], 3)
        assert reader.read(3, 3) == ([3, 4, 5], 6)
        assert len(pulled) == 6


class TestJSONLines:
    def test_reads_one_item_per_line_and_resumes_from_its_cursor(self, tmp_path: Path) -> None:
        path = tmp_path / "items.jsonl"
        path.write_text("".join(json.dumps({"n": n}) + "\n" for n in range(7)) + "\n")
        got = pages(readers.JSONLines(path), 3)
        assert [items for items, _ in got] == [
            [{"n": 0}, {"n": 1}, {"n": 2}],
            [{"n": 3}, {"n": 4}, {"n": 5}],
            [{"n": 6}],
        ]
        resumed_at = got[0][1]
        assert every_item(readers.JSONLines(path), 100, cursor=resumed_at) == [{"n": n} for n in range(3, 7)]
        assert readers.JSONLines(path).count() == 7

    def test_an_exact_last_page_ends_the_reading(self, tmp_path: Path) -> None:
        path = tmp_path / "items.jsonl"
        path.write_text('{"n": 0}\n{"n": 1}\n')
        assert readers.JSONLines(path).read(None, 2) == ([{"n": 0}, {"n": 1}], None)

    def test_a_line_that_is_not_json_is_named_by_its_byte_offset(self, tmp_path: Path) -> None:
        path = tmp_path / "items.jsonl"
        path.write_text('{"id": 1}\nnot json\n')
        with pytest.raises(ValueError, match="the line at byte 10 is not JSON"):
            readers.JSONLines(path).read(None, 10)


class TestCSV:
    def test_one_dict_per_row_keyed_by_the_header(self, tmp_path: Path) -> None:
        path = tmp_path / "rows.csv"
        path.write_text('region,amount\neu,"1,5"\nus,"multi\nline"\nasia,3\n')
        assert every_item(readers.CSV(path), 10) == [
            {"region": "eu", "amount": "1,5"},
            {"region": "us", "amount": "multi\nline"},
            {"region": "asia", "amount": "3"},
        ]

    def test_resumes_from_its_cursor_past_a_quoted_newline(self, tmp_path: Path) -> None:
        path = tmp_path / "rows.csv"
        path.write_text('region,amount\neu,1\nus,"multi\nline"\nasia,3\nafrica,4\n')
        first, cursor = readers.CSV(path).read(None, 2)
        assert [r["region"] for r in first] == ["eu", "us"]
        assert every_item(readers.CSV(path), 10, cursor=cursor) == [
            {"region": "asia", "amount": "3"},
            {"region": "africa", "amount": "4"},
        ]
        assert readers.CSV(path).count() == 4

    def test_takes_csv_options(self, tmp_path: Path) -> None:
        path = tmp_path / "rows.tsv"
        path.write_text("a;b\n1;2\n", encoding="latin-1")
        assert every_item(readers.CSV(path, delimiter=";", encoding="latin-1"), 10) == [{"a": "1", "b": "2"}]

    def test_an_empty_file_has_no_rows(self, tmp_path: Path) -> None:
        path = tmp_path / "empty.csv"
        path.write_text("")
        assert readers.CSV(path).read(None, 10) == ([], None)


@pytest.fixture(params=["sqlite", "postgres"])
def sql_url(request: pytest.FixtureRequest) -> str:
    name = "sqlite_url" if request.param == "sqlite" else "postgres_database"
    url: str = request.getfixturevalue(name)
    return url


def make_orders(url: str, count: int) -> Table:
    orders = Table(
        "orders", MetaData(), Column("id", Integer, primary_key=True), Column("region", String(10))
    )
    engine = create_engine(url)
    with engine.begin() as connection:
        orders.create(connection)
        # Inserted out of order: pages follow the cursor column, not insertion order.
        ids = list(range(count, 0, -1))
        connection.execute(insert(orders), [{"id": i * 10, "region": "eu" if i % 2 else "us"} for i in ids])
    engine.dispose()
    return orders


class TestSQL:
    def test_pages_a_table_by_its_cursor_column(self, sql_url: str) -> None:
        make_orders(sql_url, 25)
        reader = readers.SQL(sql_url, "orders", page=10)
        try:
            got = pages(reader, 10)
            assert [len(items) for items, _ in got] == [10, 10, 5]
            assert [c for _, c in got] == [100, 200, None]
            assert [row["id"] for items, _ in got for row in items] == [i * 10 for i in range(1, 26)]
            assert reader.count() == 25
        finally:
            reader.close()

    def test_resumes_from_its_cursor_in_a_fresh_reader(self, sql_url: str) -> None:
        make_orders(sql_url, 25)
        first = readers.SQL(sql_url, "orders")
        _, cursor = first.read(None, 7)
        first.close()
        again = readers.SQL(sql_url, "orders")
        try:
            assert [row["id"] for row in every_item(again, 7, cursor)] == [i * 10 for i in range(8, 26)]
        finally:
            again.close()

    def test_reads_a_select_with_an_engine(self, sql_url: str) -> None:
        orders = make_orders(sql_url, 9)
        engine = create_engine(sql_url)
        reader = readers.SQL(
            engine, select(orders.c.id, orders.c.region).where(orders.c.region == "eu"), page=2
        )
        try:
            assert [row["id"] for row in every_item(reader, 2)] == [10, 30, 50, 70, 90]
            assert reader.count() == 5
        finally:
            reader.close()
            engine.dispose()

    def test_pages_by_the_cursor_never_by_offset(self, sql_url: str) -> None:
        make_orders(sql_url, 3)
        engine = create_engine(sql_url)
        executed: list[tuple[str, Any]] = []

        def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
            executed.append((statement, parameters))

        event.listen(engine, "before_cursor_execute", record)
        reader = readers.SQL(engine, "orders")
        try:
            assert [row["id"] for row in every_item(reader, 1)] == [10, 20, 30]
        finally:
            engine.dispose()
        paged = [(sql, params) for sql, params in executed if "LIMIT" in sql.upper()]
        assert len(paged) == 4
        # Pages after the first ask for rows past the cursor; an OFFSET (SQLite's dialect
        # always writes one) is always 0.
        assert all(">" in sql for sql, _ in paged[1:])
        for sql, params in paged:
            if "OFFSET" in sql.upper():
                values = list(params.values()) if isinstance(params, dict) else list(params)
                assert values[-1] == 0


class TestS3:
    """Against moto's server; skipped unless the ``s3`` extra (boto3) and moto are installed."""

    @pytest.fixture
    def s3_endpoint(self) -> Iterator[str]:
        pytest.importorskip("boto3")
        server_module = pytest.importorskip("moto.server")
        server = server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        try:
            host, port = server.get_host_and_port()
            yield f"http://{host}:{port}"
        finally:
            server.stop()

    def test_lists_objects_under_a_prefix_and_resumes_after_the_last_key(self, s3_endpoint: str) -> None:
        import boto3

        options = {
            "endpoint_url": s3_endpoint,
            "region_name": "us-east-1",
            "aws_access_key_id": "test",
            "aws_secret_access_key": "test",
        }
        client = boto3.client("s3", **options)
        client.create_bucket(Bucket="data")
        for n in range(5):
            client.put_object(Bucket="data", Key=f"in/{n:02d}.json", Body=b"x" * n)
        client.put_object(Bucket="data", Key="other/skip.json", Body=b"")
        reader = readers.S3("data", "in/", **options)
        got = pages(reader, 2)
        assert [[i["key"] for i in items] for items, _ in got] == [
            ["in/00.json", "in/01.json"],
            ["in/02.json", "in/03.json"],
            ["in/04.json"],
        ]
        assert got[0][0][1] == {
            "bucket": "data",
            "key": "in/01.json",
            "size": 1,
            "etag": got[0][0][1]["etag"],
        }
        resumed = every_item(readers.S3("data", "in/", client=client), 10, cursor=got[0][1])
        assert [i["key"] for i in resumed] == ["in/02.json", "in/03.json", "in/04.json"]
