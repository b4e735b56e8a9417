"""The object assets receive from ``fs.http.Client``: an httpx client with retries, a rate and events.

Each attempt is logged as ``http.request`` (method, path, status, attempt, duration);
the decisions — retry or not, how long to wait — are the pure policy's (``_policy``).
A request that ends badly raises ``fs.http.HTTPError``; one that ends with a status below
400 returns the ``httpx.Response``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import httpx

from flowstone._error_base import OptionError
from flowstone._http_error import HTTPError
from flowstone.http._policy import Outcome, Retry, is_retryable_status, may_retry, retrying
from flowstone.http._rate import RequestRate
from supervisors._log import get_logger

__all__ = ["Session", "Timing"]

log = get_logger("flowstone.http")

_Result = httpx.Response | httpx.TransportError


@dataclass(frozen=True, slots=True, kw_only=True)
class Timing:
    """The clocks a session uses, injected so tests run retry schedules without sleeping.

    Attributes:
        sleep: waits between attempts and for a rate grant.
        now: the wall clock (epoch seconds), to read an HTTP-date ``Retry-After``.
        monotonic: measures each attempt's duration and the rate window.
        random: in ``[0, 1)``, for the jitter.
    """

    sleep: Callable[[float], None]
    now: Callable[[], float]
    monotonic: Callable[[], float]
    random: Callable[[], float]


class Session:
    """An ``httpx.Client`` on the resource's base URL, with its retry policy and rate.

    Safe to share between threads (httpx's client is). ``client`` is the underlying
    ``httpx.Client`` for what these methods do not cover (streaming, files); requests made
    through it bypass the retries, the rate and the events.
    """

    __slots__ = ("_rate", "_retry", "_timing", "client")

    def __init__(self, client: httpx.Client, retry: Retry, rate: RequestRate | None, timing: Timing) -> None:
        self.client = client
        self._retry = retry
        self._rate = rate
        self._timing = timing

    def get(
        self,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> httpx.Response:
        """``GET path`` (retried: it is idempotent)."""
        return self.request(
            "GET", path, json=json, params=params, headers=headers, idempotency_key=idempotency_key
        )

    def post(
        self,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> httpx.Response:
        """``POST path``, retried only with an ``idempotency_key``."""
        return self.request(
            "POST", path, json=json, params=params, headers=headers, idempotency_key=idempotency_key
        )

    def put(
        self,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> httpx.Response:
        """``PUT path`` (retried: it is idempotent)."""
        return self.request(
            "PUT", path, json=json, params=params, headers=headers, idempotency_key=idempotency_key
        )

    def patch(
        self,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> httpx.Response:
        """``PATCH path``, retried only with an ``idempotency_key``."""
        return self.request(
            "PATCH", path, json=json, params=params, headers=headers, idempotency_key=idempotency_key
        )

    def delete(
        self,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> httpx.Response:
        """``DELETE path`` (retried: it is idempotent)."""
        return self.request(
            "DELETE", path, json=json, params=params, headers=headers, idempotency_key=idempotency_key
        )

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> httpx.Response:
        """Send ``method path`` with the client's retries; the response when its status is
        below 400, else ``fs.http.HTTPError``.

        ``idempotency_key`` is sent as the ``Idempotency-Key`` header (the same on every
        attempt) and is what lets a POST or PATCH be retried.
        """
        method = method.upper()
        sent = dict(headers or {})
        if idempotency_key is not None:
            if not isinstance(idempotency_key, str) or not idempotency_key:
                # An empty key would make a POST retryable while the server cannot
                # recognise the repeat; an int is a bare TypeError deep inside httpx.
                raise OptionError(
                    f"fs.http: idempotency_key must be a non-empty str, got {idempotency_key!r} "
                    f"({method} {path}); pass str(...) of what identifies this operation"
                )
            sent["Idempotency-Key"] = idempotency_key
        request = self.client.build_request(method, path, json=json, params=params, headers=sent)
        retryable = may_retry(method, idempotency_key)
        result, attempts = retrying(
            lambda attempt: self._attempt(request, attempt),
            _outcome,
            retry=self._retry,
            retryable_method=retryable,
            sleep=self._timing.sleep,
            now=self._timing.now,
            random=self._timing.random,
        )
        if isinstance(result, httpx.Response) and result.status_code < 400:
            return result
        raise _failure(request, result, attempts, retryable, self._retry.max_attempts)

    def _attempt(self, request: httpx.Request, attempt: int) -> _Result:
        waited = self._rate.acquire() if self._rate is not None else 0.0
        started = self._timing.monotonic()
        try:
            response = self.client.send(request)
        except httpx.TransportError as exc:
            self._event(request, attempt, None, started, waited, error=f"{type(exc).__name__}: {exc}")
            return exc
        self._event(request, attempt, response.status_code, started, waited)
        return response

    def _event(
        self,
        request: httpx.Request,
        attempt: int,
        status: int | None,
        started: float,
        waited: float,
        error: str | None = None,
    ) -> None:
        seconds = self._timing.monotonic() - started
        fields: dict[str, Any] = {"method": request.method, "path": request.url.path, "status": status}
        # ``duration`` (seconds) is the issue's name; ``duration_ms`` the other events' convention.
        fields |= {"attempt": attempt, "duration": seconds, "duration_ms": round(seconds * 1000, 3)}
        if waited:
            fields["rate_wait_ms"] = round(waited * 1000, 3)
        if error is not None:
            fields["error"] = error
        log.info("http.request", **fields)

    def close(self) -> None:
        """Close the connections (the resource's teardown does this)."""
        self.client.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def _outcome(result: _Result) -> Outcome:
    if isinstance(result, httpx.Response):
        return Outcome(result.status_code, result.headers.get("Retry-After"))
    return Outcome(None)


def _failure(request: httpx.Request, result: _Result, attempts: int, retryable: bool, most: int) -> HTTPError:
    """The error for a request that ended badly, saying what to do about it."""
    target = f"{request.method} {request.url}"
    tries = f"after {attempts} attempt{'s' if attempts != 1 else ''}"
    if isinstance(result, httpx.Response):
        status = result.status_code
        phrase = _reason(status)
        if not is_retryable_status(status):
            what = f"{target} answered {status} {phrase} (a client error, not retried): fix the request"
            hint = "; the response is on .response"
        elif not retryable:
            what = f"{target} answered {status} {phrase} (not retried: a {request.method} without key)"
            hint = "; pass idempotency_key=... so it may be retried safely"
        else:
            what = f"{target} answered {status} {phrase} {tries}"
            hint = f"; the server kept failing: check it, or allow more than Retry(max_attempts={most})"
        return HTTPError(
            what + hint,
            method=request.method,
            url=str(request.url),
            status=status,
            attempts=attempts,
            response=result,
        )
    cause = f"{type(result).__name__}: {result}"
    if retryable:
        what = f"{target} got no response {tries} ({cause}); check the server is reachable at this URL"
    else:
        what = f"{target} got no response ({cause}, not retried: a {request.method} without key); "
        what += "check the server, and pass idempotency_key=... so it may be retried safely"
    error = HTTPError(what, method=request.method, url=str(request.url), status=None, attempts=attempts)
    error.__cause__ = result
    return error


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""
