"""Item readers: where a scatter's keys come from when they are too many to hold.

A reader hands out items a page at a time, each page with a cursor to resume from, so a
scatter that crashes resumes from its last page rather than from the start::

    items, next_cursor = reader.read(cursor, limit)   # cursor None for the first page

``next_cursor`` is None after the last page. Cursors are plain codec values (numbers,
strings, tuples), stored with the scatter's barrier. A reader may also have ``count()``,
the number of items when that is cheap to know (a progress bar shows a total then).

Readers here: ``Iterable(fn)``, ``JSONLines(path)``, ``CSV(path, **csv_options)``,
``SQL(url_or_engine, table_or_select, cursor="id", page=1000)`` (keyset pagination), and
``S3(bucket, prefix)`` with the ``flowstone[s3]`` extra (boto3). Any object with such a
``read`` is a reader too (``Reader``).
"""

from __future__ import annotations

import csv
import itertools
import json
import threading
from collections.abc import Callable, Iterator, Mapping
from collections.abc import Iterable as AnyIterable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from sqlalchemy import Engine, Select

__all__ = ["CSV", "SQL", "S3", "Iterable", "JSONLines", "Page", "Reader"]

Page = tuple[list[Any], Any]
"""One page: the items and the cursor of the next page (None after the last)."""

DEFAULT_PAGE = 1000


@runtime_checkable
class Reader(Protocol):
    """The protocol of an item reader (``count()`` is optional and not part of it)."""

    def read(self, cursor: Any, limit: int) -> Page:
        """Up to ``limit`` items from ``cursor`` (None: the start), and the next cursor."""


class Iterable:
    """Items from ``fn()`` (any iterable, read lazily); the cursor counts items read.

    Resuming calls ``fn()`` again and skips the items already read, so ``fn`` must give
    the same items in the same order each time.
    """

    def __init__(self, fn: Callable[[], AnyIterable[Any]]) -> None:
        if not callable(fn):
            raise TypeError(f"Iterable takes a function returning the items, got {fn!r}")
        self.fn = fn
        self._lock = threading.Lock()
        self._iterator: Iterator[Any] | None = None
        self._position = 0

    def __repr__(self) -> str:
        return f"readers.Iterable({self.fn!r})"

    def read(self, cursor: int | None, limit: int) -> Page:
        start = cursor or 0
        with self._lock:
            if self._iterator is None or self._position != start:
                # A fresh reader, or a resume: start again and skip what was read.
                self._iterator = iter(self.fn())
                self._position = 0
                for _ in itertools.islice(self._iterator, start):
                    self._position += 1
            items = list(itertools.islice(self._iterator, limit))
            self._position += len(items)
            if len(items) < limit:
                self._iterator = None
                return items, None
            return items, self._position


def _lines(file: IO[bytes]) -> Iterator[bytes]:
    while line := file.readline():
        yield line


class JSONLines:
    """One item per non-blank line of a JSON Lines file; the cursor is a byte offset."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"readers.JSONLines({str(self.path)!r})"

    def read(self, cursor: int | None, limit: int) -> Page:
        items: list[Any] = []
        with self.path.open("rb") as file:
            file.seek(cursor or 0)
            while True:
                start = file.tell()
                line = file.readline()
                if not line:
                    break
                if line.strip():
                    try:
                        items.append(json.loads(line))
                    except ValueError as exc:
                        raise ValueError(
                            f"{self.path}: the line at byte {start} is not JSON ({exc}); fix or remove "
                            "it, then run again: the scatter resumes from the page it was reading"
                        ) from exc
                    if len(items) == limit:
                        offset = file.tell()
                        return items, (offset if file.read(1) else None)
        return items, None

    def count(self) -> int:
        with self.path.open("rb") as file:
            return sum(1 for line in file if line.strip())


class CSV:
    """One dict per row of a CSV file, keyed by its header; the cursor is a byte offset.

    ``csv_options`` go to ``csv.DictReader`` (``delimiter``, ``fieldnames``, ...), except
    ``encoding`` (default UTF-8), used to decode the file.
    """

    def __init__(self, path: str | Path, **csv_options: Any) -> None:
        self.path = Path(path)
        self.encoding: str = csv_options.pop("encoding", "utf-8")
        self.options = csv_options

    def __repr__(self) -> str:
        return f"readers.CSV({str(self.path)!r})"

    def read(self, cursor: int | None, limit: int) -> Page:
        with self.path.open("rb") as file:
            # The csv module reads a line at a time, never ahead: after each row the file's
            # offset is where the next row starts, whatever quoted newlines the row held.
            lines = (line.decode(self.encoding) for line in _lines(file))
            rows = csv.DictReader(lines, **self.options)
            fieldnames = rows.fieldnames  # reads the header line
            if cursor is not None:
                file.seek(cursor)
            items: list[Any] = []
            if fieldnames is None:
                return items, None
            for row in rows:
                items.append(dict(row))
                if len(items) == limit:
                    offset = file.tell()
                    return items, (offset if file.read(1) else None)
        return items, None

    def count(self) -> int:
        items, cursor, total = None, None, 0
        while True:
            items, cursor = self.read(cursor, DEFAULT_PAGE)
            total += len(items)
            if cursor is None:
                return total


class SQL:
    """Rows of a table or a SELECT as dicts, a page at a time, by keyset pagination.

    Each page is ``WHERE cursor > :last ORDER BY cursor LIMIT :page`` (never OFFSET, so a
    page costs the same however deep it is); the cursor column must be unique and ordered.

    Args:
        url_or_engine: a database URL (the reader owns the engine; ``close()`` it) or an engine.
        table_or_select: a table name, a ``sqlalchemy.Table`` or a ``Select``.
        cursor: the column the pages are keyed by.
        page: the default page size (``read``'s ``limit`` overrides it).
    """

    def __init__(
        self, url_or_engine: str | Engine, table_or_select: Any, cursor: str = "id", page: int = DEFAULT_PAGE
    ) -> None:
        if isinstance(page, bool) or not isinstance(page, int) or page <= 0:
            raise ValueError(f"page must be an int > 0, got {page!r}")
        self.source = url_or_engine
        self.table_or_select = table_or_select
        self.cursor = cursor
        self.page = page
        self._engine: Engine | None = None
        self._select: Select[Any] | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"readers.SQL({self.table_or_select!r}, cursor={self.cursor!r})"

    def _prepare(self) -> tuple[Engine, Any]:
        from sqlalchemy import Engine, MetaData, Table, create_engine, select  # noqa: PLC0415 - lazy

        with self._lock:
            if self._engine is None:
                self._engine = (
                    self.source if isinstance(self.source, Engine) else create_engine(str(self.source))
                )
            if self._select is None:
                source = self.table_or_select
                if isinstance(source, str):
                    source = Table(source, MetaData(), autoload_with=self._engine)
                if isinstance(source, Table):
                    source = select(source)
                self._select = source
            return self._engine, self._select.subquery()

    def read(self, cursor: Any, limit: int | None = None) -> Page:
        from sqlalchemy import select  # noqa: PLC0415 - lazy

        engine, rows = self._prepare()
        size = limit or self.page
        key = rows.c[self.cursor]
        query = select(rows).order_by(key).limit(size)
        if cursor is not None:
            query = query.where(key > cursor)
        with engine.connect() as connection:
            items = [dict(row) for row in connection.execute(query).mappings()]
        if len(items) < size:
            return items, None
        return items, items[-1][self.cursor]

    def count(self) -> int:
        from sqlalchemy import func, select  # noqa: PLC0415 - lazy

        engine, rows = self._prepare()
        with engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(rows)).scalar_one())

    def close(self) -> None:
        """Dispose of the engine if the reader created it from a URL."""
        with self._lock:
            if self._engine is not None and isinstance(self.source, str):
                self._engine.dispose()
            self._engine = None


class S3:
    """The objects under ``prefix`` in ``bucket`` (``{"bucket", "key", "size", "etag"}``),
    in key order; the cursor is the last key read. Needs ``pip install flowstone[s3]``.

    ``client`` is a boto3 S3 client; by default one is made with ``client_options``
    (``endpoint_url``, ``region_name``, ...).
    """

    def __init__(self, bucket: str, prefix: str = "", *, client: Any = None, **client_options: Any) -> None:
        self.bucket = bucket
        self.prefix = prefix
        self._client = client
        self._options: Mapping[str, Any] = client_options
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"readers.S3({self.bucket!r}, {self.prefix!r})"

    def _s3(self) -> Any:
        with self._lock:
            if self._client is None:
                try:
                    import boto3  # noqa: PLC0415 - an optional extra
                except ImportError as exc:
                    raise ImportError("the S3 reader needs boto3: pip install 'flowstone[s3]'") from exc
                self._client = boto3.client("s3", **self._options)
            return self._client

    def read(self, cursor: str | None, limit: int) -> Page:
        arguments: dict[str, Any] = {
            "Bucket": self.bucket,
            "Prefix": self.prefix,
            "MaxKeys": min(limit, 1000),
        }
        if cursor is not None:
            arguments["StartAfter"] = cursor
        answer = self._s3().list_objects_v2(**arguments)
        items = [
            {"bucket": self.bucket, "key": o["Key"], "size": int(o["Size"]), "etag": str(o.get("ETag", ""))}
            for o in answer.get("Contents", [])
        ]
        if not answer.get("IsTruncated") or not items:
            return items, None
        return items, items[-1]["key"]


def read_all(reader: Reader, cursor: Any = None, limit: int = DEFAULT_PAGE) -> Iterator[tuple[Any, Any]]:
    """Every item from ``cursor`` on, each with the cursor of the page it came on."""
    while True:
        items, following = reader.read(cursor, limit)
        for item in items:
            yield cursor, item
        if following is None:
            return
        cursor = following
