"""``fs.http.Client``'s session on ``httpx.MockTransport``: the fast cases, no network, no sleeping."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from structlog.testing import capture_logs

import flowstone as fs
from flowstone.http import Session
from flowstone.http._rate import RequestRate

Reply = int | tuple[int, dict[str, str]] | Callable[[httpx.Request], Exception]


def refused(request: httpx.Request) -> Exception:
    return httpx.ConnectError("connection refused", request=request)


class Scripted:
    """A transport answering each request with the next reply (the last one repeats)."""

    def __init__(self, *replies: Reply) -> None:
        self.replies = replies
        self.seen: list[httpx.Request] = []
        self.transport = httpx.MockTransport(self._handle)

    def _handle(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        reply = self.replies[min(len(self.seen), len(self.replies)) - 1]
        if callable(reply):
            raise reply(request)
        status, headers = reply if isinstance(reply, tuple) else (reply, {})
        return httpx.Response(status, headers=headers, json={"n": len(self.seen)})


@contextmanager
def session(scripted: Scripted, **options: Any) -> Iterator[tuple[Session, list[float]]]:
    sleeps: list[float] = []
    options.setdefault("retry", fs.http.Retry(jitter=False))
    client = fs.http.Client(
        "https://api.test/v1", transport=scripted.transport, sleep=sleeps.append, **options
    )
    obj = client.setup()
    try:
        yield obj, sleeps
    finally:
        client.teardown(obj)


class TestRetries:
    def test_503_503_200_returns_the_200_after_two_backoffs(self) -> None:
        scripted = Scripted(503, 503, 200)
        with session(scripted) as (api, sleeps):
            response = api.get("/orders")
        assert (response.status_code, response.json()) == (200, {"n": 3})
        assert sleeps == [1.0, 2.0]
        assert [str(r.url) for r in scripted.seen] == ["https://api.test/v1/orders"] * 3

    def test_jittered_sleeps_stay_within_the_backoff(self) -> None:
        with session(Scripted(503, 503, 200), retry=fs.http.Retry(base_delay=1.0)) as (api, sleeps):
            api.get("/orders")
        assert len(sleeps) == 2
        assert 0 <= sleeps[0] <= 1.0
        assert 0 <= sleeps[1] <= 2.0

    def test_the_last_failure_is_an_http_error_with_status_and_attempts(self) -> None:
        scripted = Scripted(503)
        with session(scripted) as (api, sleeps), pytest.raises(fs.http.HTTPError) as caught:
            api.get("/orders", params={"day": "2026-12-07"})
        error = caught.value
        assert (error.status, error.attempts, error.method) == (503, 3, "GET")
        assert error.url == "https://api.test/v1/orders?day=2026-12-07"
        assert error.response is not None
        assert error.response.status_code == 503
        assert "after 3 attempts" in str(error)
        assert "max_attempts=3" in str(error)
        assert sleeps == [1.0, 2.0]  # none after the last attempt
        assert isinstance(error, fs.FlowStoneError)

    def test_a_client_error_raises_at_once_with_one_attempt(self) -> None:
        scripted = Scripted(404, 200)
        with session(scripted) as (api, sleeps), pytest.raises(fs.http.HTTPError) as caught:
            api.get("/missing")
        assert (caught.value.status, caught.value.attempts, sleeps, len(scripted.seen)) == (404, 1, [], 1)
        assert "404 Not Found" in str(caught.value)
        assert "fix the request" in str(caught.value)

    def test_429_waits_what_retry_after_says(self) -> None:
        with session(Scripted((429, {"Retry-After": "4"}), 200)) as (api, sleeps):
            assert api.get("/orders").status_code == 200
        assert sleeps == [4.0]

    @pytest.mark.parametrize("method", ["get", "put", "delete"])
    def test_idempotent_methods_are_retried_without_a_key(self, method: str) -> None:
        scripted = Scripted(502, 200)
        with session(scripted) as (api, _):
            getattr(api, method)("/orders/1")
        assert len(scripted.seen) == 2
        assert "Idempotency-Key" not in scripted.seen[0].headers

    @pytest.mark.parametrize("method", ["post", "patch"])
    def test_post_and_patch_without_a_key_are_tried_once(self, method: str) -> None:
        scripted = Scripted(503, 200)
        with session(scripted) as (api, sleeps), pytest.raises(fs.http.HTTPError) as caught:
            getattr(api, method)("/orders", json={"id": 1})
        assert (caught.value.attempts, len(scripted.seen), sleeps) == (1, 1, [])
        assert "idempotency_key" in str(caught.value)

    @pytest.mark.parametrize("method", ["post", "patch"])
    def test_post_and_patch_with_a_key_are_retried_and_send_it_each_time(self, method: str) -> None:
        scripted = Scripted(503, 200)
        with session(scripted) as (api, _):
            response = getattr(api, method)("/orders", json={"id": 1}, idempotency_key="order-1")
        assert response.status_code == 200
        assert [r.headers["Idempotency-Key"] for r in scripted.seen] == ["order-1", "order-1"]
        assert [r.content for r in scripted.seen] == [b'{"id":1}'] * 2

    def test_a_transport_error_is_retried_then_raised_with_no_status(self) -> None:
        scripted = Scripted(refused)
        with session(scripted) as (api, sleeps), pytest.raises(fs.http.HTTPError) as caught:
            api.get("/orders")
        error = caught.value
        assert (error.status, error.attempts, error.response, len(sleeps)) == (None, 3, None, 2)
        assert isinstance(error.__cause__, httpx.ConnectError)
        assert "got no response after 3 attempts" in str(error)

    def test_a_transport_error_then_a_200_succeeds(self) -> None:
        with session(Scripted(refused, 200)) as (api, _):
            assert api.get("/orders").status_code == 200


class TestRequests:
    def test_headers_params_and_json_are_sent(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("TEST_HTTP_TOKEN", "s3cret")
        scripted = Scripted(201)
        headers = {"Authorization": fs.env("TEST_HTTP_TOKEN"), "X-App": "shop"}
        with session(scripted, headers=headers) as (api, _):
            api.post("/orders", json={"id": 7}, params={"dry": "1"}, headers={"X-Trace": "t1"})
        sent = scripted.seen[0]
        assert (sent.method, sent.url.path, sent.url.params["dry"]) == ("POST", "/v1/orders", "1")
        assert (sent.headers["Authorization"], sent.headers["X-App"], sent.headers["X-Trace"]) == (
            "s3cret",
            "shop",
            "t1",
        )
        assert sent.content == b'{"id":7}'

    def test_each_attempt_is_an_event_with_method_path_status_attempt_and_duration(self) -> None:
        with capture_logs() as logs, session(Scripted(503, refused, 200)) as (api, _):
            api.get("/orders")
        events = [e for e in logs if e["event"] == "http.request"]
        assert [(e["method"], e["path"], e["status"], e["attempt"]) for e in events] == [
            ("GET", "/v1/orders", 503, 1),
            ("GET", "/v1/orders", None, 2),
            ("GET", "/v1/orders", 200, 3),
        ]
        assert all(e["duration"] >= 0 and e["duration_ms"] >= 0 for e in events)
        assert "ConnectError" in events[1]["error"]

    def test_teardown_closes_the_httpx_client(self) -> None:
        client = fs.http.Client("https://api.test", transport=Scripted(200).transport)
        api = client.setup()
        client.teardown(api)
        assert api.client.is_closed


class TestRate:
    def test_the_window_grants_at_most_n_starts_per_period(self) -> None:
        now = [100.0]
        waits: list[float] = []

        def wait(seconds: float) -> None:
            waits.append(seconds)
            now[0] += seconds

        limiter = RequestRate(fs.Rate(2, per=1.0), lambda: now[0], wait)
        starts = []
        for _ in range(5):
            limiter.acquire()
            starts.append(now[0])
        assert starts == [100.0, 100.0, 101.0, 101.0, 102.0]
        assert waits == [1.0, 1.0]

    def test_a_client_with_a_rate_waits_for_a_grant_before_each_request(self) -> None:
        scripted = Scripted(200)
        with session(scripted, rate=fs.Rate(2, per=60.0)) as (api, sleeps):
            for _ in range(4):
                api.get("/orders")
        assert len(scripted.seen) == 4
        # The injected sleep does not pass time: the 3rd and 4th wait for the next window.
        assert len(sleeps) == 2
        assert all(59.0 < s <= 60.0 for s in sleeps)


class TestHealth:
    def test_a_2xx_is_healthy(self) -> None:
        scripted = Scripted(200)
        client = fs.http.Client("https://api.test", transport=scripted.transport, health_path="/ping")
        api = client.setup()
        try:
            assert client.health(api) is True
        finally:
            client.teardown(api)
        assert scripted.seen[0].url.path == "/ping"

    def test_a_5xx_is_unhealthy_without_retries(self) -> None:
        scripted = Scripted(503)
        client = fs.http.Client("https://api.test", transport=scripted.transport)
        api = client.setup()
        try:
            assert client.health(api) is False
        finally:
            client.teardown(api)
        assert len(scripted.seen) == 1

    def test_no_response_is_an_http_error(self) -> None:
        client = fs.http.Client("https://api.test", transport=Scripted(refused).transport)
        api = client.setup()
        try:
            with pytest.raises(fs.http.HTTPError, match=re.escape("GET https://api.test/health")):
                client.health(api)
        finally:
            client.teardown(api)


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"base_url": ""}, "base_url"),
        ({"timeout": 0}, "timeout"),
        ({"timeout": True}, "timeout"),
        ({"retry": 3}, "retry"),
        ({"rate": 10}, "rate"),
        ({"health_path": "health"}, "health_path"),
    ],
)
def test_a_bad_client_option_is_an_option_error_naming_it(options: dict[str, Any], named: str) -> None:
    arguments = {"base_url": "https://api.test"} | options
    with pytest.raises(fs.OptionError, match=f"fs.http.Client: {named}"):
        fs.http.Client(**arguments)


def test_http_error_is_one_class_under_the_root_and_needs_no_httpx() -> None:
    from flowstone.errors import HTTPError

    assert HTTPError is fs.http.HTTPError
    assert issubclass(HTTPError, fs.FlowStoneError)


def test_a_missing_httpx_names_the_extra_to_install() -> None:
    code = "import sys; sys.modules['httpx'] = None\nimport flowstone as fs\nfs.http"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode != 0
    assert "pip install 'flowstone[http]'" in result.stderr
