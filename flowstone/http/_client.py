"""``fs.http.Client``: an HTTP API as a node resource (set up, torn down, health-checked).

The resource holds the configuration; ``setup()`` opens an ``httpx.Client`` and returns
the ``Session`` assets use, ``teardown`` closes it, ``health`` asks ``GET health_path``
once (no retries, no rate: a health check is bounded by the node's ``health_timeout``).
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from flowstone._error_base import OptionError
from flowstone._http_error import HTTPError
from flowstone._resources import Env, Resource
from flowstone._scatter.options import Rate
from flowstone.http._policy import Retry
from flowstone.http._rate import RequestRate
from flowstone.http._session import Session, Timing
from supervisors._log import get_logger

__all__ = ["Client"]

log = get_logger("flowstone.http")


def _timed_wait(seconds: float) -> None:
    # An Event nobody sets: a timed wait that, unlike time.sleep, reads as one in a dump.
    threading.Event().wait(seconds)


def _check_base_url(base_url: Any) -> None:
    """An absolute http(s) URL: without a scheme httpx fails every request, far from here."""
    if isinstance(base_url, Env):
        return
    if not isinstance(base_url, str) or not base_url.startswith(("http://", "https://")):
        raise OptionError(
            f"fs.http.Client: base_url must be an http:// or https:// URL or fs.env(...), got {base_url!r}"
        )


def _check_headers(headers: Any) -> None:
    if headers is None:
        return
    if not isinstance(headers, Mapping):
        raise OptionError(f"fs.http.Client: headers must be a mapping of names to values, got {headers!r}")
    for name, value in headers.items():
        if not isinstance(name, str) or not name:
            raise OptionError(f"fs.http.Client: a header name must be a non-empty str, got {name!r}")
        if not isinstance(value, str | Env):
            raise OptionError(f"fs.http.Client: header {name!r} must be a str or fs.env(...), got {value!r}")


def _is_asset_retry(value: Any) -> bool:
    from flowstone._retry import Retry as AssetRetry  # noqa: PLC0415 - only to word the error

    return isinstance(value, AssetRetry)


def _check(base_url: Any, timeout: Any, retry: Any, rate: Any, health_path: Any) -> None:
    """``OptionError`` naming the option, when the client is declared (not when it starts)."""
    _check_base_url(base_url)
    if (
        isinstance(timeout, bool)
        or not isinstance(timeout, int | float)
        or not (math.isfinite(timeout) and timeout > 0)
    ):
        raise OptionError(f"fs.http.Client: timeout must be a finite number of seconds > 0, got {timeout!r}")
    if retry is not None and not isinstance(retry, Retry):
        hint = (
            " (fs.Retry is an asset's retry policy; a client takes fs.http.Retry)"
            if _is_asset_retry(retry)
            else ""
        )
        raise OptionError(f"fs.http.Client: retry must be an fs.http.Retry, got {retry!r}{hint}")
    if rate is not None and not isinstance(rate, Rate):
        raise OptionError(f"fs.http.Client: rate must be an fs.Rate or None, got {rate!r}")
    if not isinstance(health_path, str) or not health_path.startswith("/"):
        raise OptionError(
            f"fs.http.Client: health_path must be a path starting with '/', got {health_path!r}"
        )


class Client(Resource):
    """An HTTP API for assets: ``ctx.resources["api"].get("/orders")``.

    Args:
        base_url: what request paths are relative to (``fs.env("API_URL")`` works: it
            is read when the node starts).
        timeout: seconds for each attempt (httpx's connect/read/write/pool timeout).
        headers: sent with every request (values may be ``fs.env(...)``).
        retry: the retry policy (``fs.http.Retry``).
        rate: at most ``rate.n`` request starts per ``rate.per`` seconds for this client
            in this process (every attempt counts); None for no limit.
        health_path: what ``node.health()`` asks with one ``GET``; a status outside 2xx
            is unhealthy.
        optional: a failing setup leaves the resource unhealthy instead of failing the start.
        transport: an ``httpx`` transport instead of the network (``httpx.MockTransport``
            in tests).
        sleep: the wait between attempts and for the rate (injected by tests; default a
            timed wait).
    """

    def __init__(
        self,
        base_url: str | Env,
        *,
        timeout: float = 30.0,
        headers: Mapping[str, Any] | None = None,
        retry: Retry | None = None,
        rate: Rate | None = None,
        health_path: str = "/health",
        optional: bool = False,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        _check(base_url, timeout, retry, rate, health_path)
        _check_headers(headers)
        self.base_url = base_url
        self.timeout = timeout
        self.headers = dict(headers or {})
        self.retry = retry if retry is not None else Retry()
        self.rate = rate
        self.health_path = health_path
        self.optional = optional
        self.transport = transport
        self.sleep = sleep if sleep is not None else _timed_wait

    def __repr__(self) -> str:
        return f"fs.http.Client({self.base_url!r})"

    def setup(self) -> Session:
        """Open the connection pool; what assets receive."""
        if isinstance(self.base_url, Env):  # set up by hand, not by a node (which resolves it)
            self.base_url = self.base_url.resolve("fs.http.Client")
        _check_base_url(self.base_url)  # a value read from fs.env(...) is checked now
        who = f"fs.http.Client({self.base_url!r})"
        headers = {k: v.resolve(who) if isinstance(v, Env) else v for k, v in self.headers.items()}
        client = httpx.Client(
            base_url=str(self.base_url), timeout=self.timeout, headers=headers, transport=self.transport
        )
        timing = Timing(sleep=self.sleep, now=time.time, monotonic=time.monotonic, random=random.random)
        rate = RequestRate(self.rate, time.monotonic, self.sleep) if self.rate is not None else None
        return Session(client, self.retry, rate, timing)

    def teardown(self, obj: Session) -> None:
        """Close the connections."""
        obj.close()

    def health(self, obj: Session) -> bool:
        """``GET health_path`` once: False on a status outside 2xx, ``HTTPError`` when no
        response comes."""
        try:
            response = obj.client.get(self.health_path)
        except httpx.TransportError as exc:
            url = str(obj.client.build_request("GET", self.health_path).url)
            raise HTTPError(
                f"GET {url} (health) got no response ({type(exc).__name__}: {exc}); check the server",
                method="GET",
                url=url,
                status=None,
                attempts=1,
            ) from exc
        if response.is_success:
            return True
        log.warning("http.unhealthy", path=self.health_path, status=response.status_code)
        return False
