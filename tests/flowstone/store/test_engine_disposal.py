"""A connection still checked out when its pool is disposed is closed when it comes back.

Without this the driver's connection stayed open in the discarded pool until the garbage
collector found it, and psycopg warned (``ResourceWarning``) from whichever test ran then.
"""

from __future__ import annotations

import pytest

from flowstone._store.sql.engine import create_engines


@pytest.fixture(params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest) -> str:
    name = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    value: str = request.getfixturevalue(name)
    return value


class TestDisposal:
    def test_a_connection_out_during_dispose_is_closed_on_its_return(self, url: str) -> None:
        engines = create_engines(url)
        out = engines.write.raw_connection()
        driver = out.driver_connection
        engines.dispose()
        assert not _closed(driver)  # a thread still at work keeps its connection
        out.close()
        assert _closed(driver)

    def test_connections_of_the_new_pool_are_kept_open_on_return(self, url: str) -> None:
        engines = create_engines(url)
        engines.dispose()
        out = engines.write.raw_connection()
        driver = out.driver_connection
        out.close()
        assert not _closed(driver)
        engines.dispose()
        assert _closed(driver)


def _closed(driver: object) -> bool:
    closed = getattr(driver, "closed", None)
    if closed is not None:  # psycopg
        return bool(closed)
    try:  # sqlite3: a closed connection refuses statements
        driver.execute("SELECT 1")  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001
        return True
    return False
