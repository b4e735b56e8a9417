"""An unreachable database: a clear ``StoreUnavailableError``, ``down`` health, and recovery."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import make_url

import flowstone as fs
from flowstone._store import MemoryStore
from supervisors.testing import wait_for
from tests.flowstone.store.tcp_proxy import TcpProxy


class TestUnreachableURL:
    def test_start_raises_store_unavailable_with_the_url_and_the_reason(self) -> None:
        url = "postgresql+psycopg://postgres@127.0.0.1:1/nope"
        with pytest.raises(fs.StoreUnavailableError) as caught:
            fs.start(database_url=url)
        assert type(caught.value) is fs.StoreUnavailableError
        assert isinstance(caught.value, fs.FlowStoneError)
        message = str(caught.value)
        assert url in message
        assert "refused" in message.lower()

    def test_the_password_is_masked(self) -> None:
        with pytest.raises(fs.StoreUnavailableError) as caught:
            fs.start(database_url="postgresql+psycopg://user:secret@127.0.0.1:1/db")
        message = str(caught.value)
        assert "secret" not in message
        assert "postgresql+psycopg://user:***@127.0.0.1:1/db" in message
        assert "refused" in message.lower()

    def test_an_environment_url_is_used_when_no_argument_is_given(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("FLOWSTONE_DATABASE_URL", "postgresql+psycopg://user:secret@127.0.0.1:1/env")
        with pytest.raises(fs.StoreUnavailableError, match=r"127\.0\.0\.1:1/env"):
            fs.start()
        with fs.start(database_url=None) as node:  # the argument wins
            assert node.health().status == "ok"


class TestTheDatabaseGoesAway:
    @pytest.mark.timeout(120)
    def test_a_run_fails_clearly_health_is_down_and_the_node_recovers_without_restart(
        self, postgres_database: str, proxy: TcpProxy
    ) -> None:
        url = make_url(postgres_database).set(host="127.0.0.1", port=proxy.port).render_as_string(False)
        cut = [True]
        pipeline = fs.Pipeline("outage")

        @pipeline.asset
        def value(ctx: fs.Context) -> int:
            if cut[0]:
                cut[0] = False
                proxy.stop()  # the database goes away while the asset runs
            return 42

        with fs.start(database_url=url, max_concurrency=2, health_timeout=5.0) as node:
            assert node.health().status == "ok"
            with pytest.raises((fs.MaterializationError, fs.StoreUnavailableError)) as caught:
                node.run(pipeline, "value", partition="p")
            error = caught.value
            if isinstance(error, fs.MaterializationError):
                assert isinstance(error.__cause__, fs.StoreUnavailableError)
                error_text = str(error.__cause__)
            else:
                error_text = str(error)
            assert f"127.0.0.1:{proxy.port}" in error_text

            health = wait_for(
                lambda: (h := node.health()).status == "down" and h,
                timeout=20,
                message="health down",
            )
            assert health.checks["store"].ok is False
            assert "StoreUnavailableError" in health.checks["store"].detail

            with pytest.raises((fs.MaterializationError, fs.StoreUnavailableError)):
                node.run(pipeline, "value", partition="q")

            proxy.start()  # the database is back, on the same port
            wait_for(lambda: node.health().status == "ok", timeout=60, message="health ok")
            assert node.is_alive()
            assert node.run(pipeline, "value", partition="p") == 42
            assert node.get(pipeline, "value", "p") == 42
            assert node.status(pipeline, "value", "p").state == "completed"


class TestAStoreThatCannotOpen:
    def test_any_error_opening_the_store_is_raised_as_store_unavailable_with_its_cause(self) -> None:
        class Broken(MemoryStore):
            def open(self) -> None:
                raise OSError("the disk is read-only")

        with pytest.raises(fs.StoreUnavailableError, match="the disk is read-only") as caught:
            fs.start(store=Broken())
        assert "Broken" in str(caught.value)
        assert isinstance(caught.value.__cause__, OSError)
