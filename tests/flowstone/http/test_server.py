"""``fs.http.Client`` against a real HTTP server on 127.0.0.1 (the ``server`` fixture)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

import pytest

import flowstone as fs
from flowstone.http import Session
from tests.flowstone.http.local_server import LocalServer


@contextmanager
def api_for(url: str, **options: Any) -> Iterator[tuple[Session, list[float]]]:
    sleeps: list[float] = []
    options.setdefault("retry", fs.http.Retry(max_attempts=3, base_delay=0.5, max_delay=30.0, jitter=False))
    client = fs.http.Client(url, timeout=5.0, sleep=sleeps.append, **options)
    api = client.setup()
    try:
        yield api, sleeps
    finally:
        client.teardown(api)


def test_503_503_200_is_retried_to_the_200(server: LocalServer) -> None:
    server.reply("/orders", 503, 503, 200)
    with api_for(server.url) as (api, sleeps):
        response = api.get("/orders")
    assert (response.status_code, response.json()) == (200, {"status": 200, "attempt": 3})
    assert [s.method for s in server.seen] == ["GET"] * 3
    assert sleeps == [0.5, 1.0]


def test_503_every_time_raises_after_the_last_attempt_without_sleeping_after_it(server: LocalServer) -> None:
    server.reply("/orders", 503)
    with api_for(server.url) as (api, sleeps), pytest.raises(fs.http.HTTPError) as caught:
        api.get("/orders")
    assert (caught.value.status, caught.value.attempts, len(server.seen)) == (503, 3, 3)
    assert caught.value.url == f"{server.url}/orders"
    assert sleeps == [0.5, 1.0]


def test_429_with_retry_after_in_seconds_waits_that_long(server: LocalServer) -> None:
    server.reply("/orders", (429, {"Retry-After": "3"}), 200)
    with api_for(server.url) as (api, sleeps):
        assert api.get("/orders").status_code == 200
    assert sleeps == [3.0]


def test_429_with_retry_after_in_seconds_is_capped_at_max_delay(server: LocalServer) -> None:
    server.reply("/orders", (429, {"Retry-After": "3600"}), 200)
    retry = fs.http.Retry(max_attempts=2, max_delay=7.0, jitter=False)
    with api_for(server.url, retry=retry) as (api, sleeps):
        assert api.get("/orders").status_code == 200
    assert sleeps == [7.0]


def test_429_with_retry_after_as_an_http_date_waits_until_then_capped(server: LocalServer) -> None:
    soon = format_datetime(datetime.fromtimestamp(time.time() + 20, tz=UTC), usegmt=True)
    late = format_datetime(datetime.fromtimestamp(time.time() + 3600, tz=UTC), usegmt=True)
    server.reply("/orders", (429, {"Retry-After": soon}), (429, {"Retry-After": late}), 200)
    retry = fs.http.Retry(max_attempts=3, max_delay=30.0, jitter=False)
    with api_for(server.url, retry=retry) as (api, sleeps):
        assert api.get("/orders").status_code == 200
    assert 17.0 <= sleeps[0] <= 20.0  # the date has one-second resolution
    assert sleeps[1] == 30.0


def test_a_post_without_an_idempotency_key_is_not_retried(server: LocalServer) -> None:
    server.reply("/orders", 503, 201)
    with api_for(server.url) as (api, sleeps), pytest.raises(fs.http.HTTPError) as caught:
        api.post("/orders", json={"id": 1})
    assert (caught.value.status, caught.value.attempts, len(server.seen), sleeps) == (503, 1, 1, [])
    assert "Idempotency-Key" not in server.seen[0].headers


def test_a_post_with_an_idempotency_key_is_retried_and_sends_it(server: LocalServer) -> None:
    server.reply("/orders", 503, 201)
    with api_for(server.url) as (api, _):
        response = api.post("/orders", json={"id": 1}, idempotency_key="order-1")
    assert response.status_code == 201
    assert [s.headers.get("Idempotency-Key") for s in server.seen] == ["order-1", "order-1"]
    assert [s.body for s in server.seen] == [b'{"id":1}'] * 2


def test_a_client_error_is_not_retried(server: LocalServer) -> None:
    server.reply("/orders", 422, 200)
    with api_for(server.url) as (api, sleeps), pytest.raises(fs.http.HTTPError) as caught:
        api.put("/orders", json={"id": "x"})
    assert (caught.value.status, caught.value.attempts, len(server.seen), sleeps) == (422, 1, 1, [])
    assert caught.value.response.json() == {"status": 422, "attempt": 1}


def test_a_refused_connection_is_retried_then_an_http_error(closed_port: int) -> None:
    with (
        api_for(f"http://127.0.0.1:{closed_port}") as (api, sleeps),
        pytest.raises(fs.http.HTTPError) as caught,
    ):
        api.get("/orders")
    assert (caught.value.status, caught.value.attempts, caught.value.response) == (None, 3, None)
    assert sleeps == [0.5, 1.0]
    assert "got no response after 3 attempts" in str(caught.value)


class TestAsAResource:
    def test_an_asset_requires_it_and_gets_the_session(self, server: LocalServer) -> None:
        server.reply("/orders", 503, 200)
        server.reply("/health", 200)
        p = fs.Pipeline("http_resource")
        used: list[Session] = []

        @p.asset(requires=("api",))
        def orders(ctx: fs.Context) -> Any:
            assert sorted(ctx.resources) == ["api"]
            used.append(ctx.resources["api"])
            return ctx.resources["api"].get("/orders").json()

        api = fs.http.Client(server.url, retry=fs.http.Retry(base_delay=0.0, jitter=False))
        with fs.start(resources={"api": api, "config": {"region": "eu"}}) as node:
            assert node.run(p, "orders") == {"status": 200, "attempt": 2}
            assert node.health().checks["resource:api"].ok
            assert not used[0].client.is_closed
        assert [s.path for s in server.seen] == ["/orders", "/orders", "/health"]
        assert used[0].client.is_closed  # torn down with the node

    def test_a_failing_health_path_is_an_unhealthy_resource(self, server: LocalServer) -> None:
        server.reply("/ready", 503)
        with fs.start(resources={"api": fs.http.Client(server.url, health_path="/ready")}) as node:
            health = node.health()
        assert not health.checks["resource:api"].ok
        assert [s.path for s in server.seen] == ["/ready"]

    def test_the_base_url_can_come_from_the_environment(
        self, server: LocalServer, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("TEST_HTTP_API_URL", server.url)
        server.reply("/health", 204)
        with fs.start(resources={"api": fs.http.Client(fs.env("TEST_HTTP_API_URL"))}) as node:
            assert node.health().checks["resource:api"].ok
