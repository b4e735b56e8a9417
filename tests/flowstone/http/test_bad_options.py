"""``fs.http.Client`` and ``fs.http.Retry`` reject bad options with ``OptionError`` when
they are declared, never a bare ``TypeError`` or a failure at the first request."""

from __future__ import annotations

import math
from typing import Any

import httpx
import pytest

import flowstone as fs


@pytest.mark.parametrize("headers", [3, [("a", "b")], {"a": 1}, {1: "x"}, {"": "x"}])
def test_client_headers_must_map_names_to_strings(headers: Any) -> None:
    with pytest.raises(fs.OptionError, match=r"fs\.http\.Client: (a )?header"):
        fs.http.Client("http://api.test", headers=headers)


def test_client_headers_may_be_env_placeholders() -> None:
    fs.http.Client("http://api.test", headers={"Authorization": fs.env("TOKEN", default="t")})


@pytest.mark.parametrize("base_url", ["example.com", "ftp://x", "", 3])
def test_client_base_url_must_be_an_http_url(base_url: Any) -> None:
    with pytest.raises(fs.OptionError, match="base_url must be an http"):
        fs.http.Client(base_url)


def test_a_base_url_read_from_the_environment_is_checked_at_setup(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("T20_API_URL", "example.com")
    client = fs.http.Client(
        fs.env("T20_API_URL"), transport=httpx.MockTransport(lambda r: httpx.Response(200))
    )
    with pytest.raises(fs.ResourceError, match=r"'api'.*base_url must be an http"):
        fs.start(resources={"api": client})


@pytest.mark.parametrize("timeout", [math.inf, math.nan, 0, -1])
def test_client_timeout_must_be_finite_and_positive(timeout: float) -> None:
    with pytest.raises(fs.OptionError, match="timeout"):
        fs.http.Client("http://api.test", timeout=timeout)


@pytest.mark.parametrize("jitter", [1, 0, 1.0])
def test_retry_jitter_numbers_are_not_booleans(jitter: Any) -> None:
    with pytest.raises(fs.OptionError, match="jitter"):
        fs.http.Retry(jitter=jitter)


@pytest.mark.parametrize("key", [5, "", b"k"])
def test_an_idempotency_key_must_be_a_non_empty_string(key: Any) -> None:
    sent: list[httpx.Request] = []

    def server(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200)

    session = fs.http.Client("http://api.test", transport=httpx.MockTransport(server)).setup()
    try:
        with pytest.raises(fs.OptionError, match="idempotency_key must be a non-empty str"):
            session.post("/refunds", json={"order": 7}, idempotency_key=key)
    finally:
        session.close()
    assert sent == []  # nothing was sent


def test_the_asset_retry_policy_given_to_a_client_says_which_one_it_takes() -> None:
    with pytest.raises(fs.OptionError, match=r"a client takes fs\.http\.Retry"):
        fs.http.Client("http://api.test", retry=fs.Retry(max_attempts=3))  # type: ignore[arg-type]
