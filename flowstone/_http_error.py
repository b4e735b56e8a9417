"""``fs.http.HTTPError``: a request of ``fs.http.Client`` failed for good.

Kept outside ``flowstone/http/`` (which imports httpx) so that ``flowstone.errors`` can
re-export it and code can catch it without the ``http`` extra installed.
"""

from __future__ import annotations

from typing import Any

from flowstone._error_base import FlowStoneError

__all__ = ["HTTPError"]


class HTTPError(FlowStoneError):
    """An HTTP request failed: its last attempt got an error status or no response.

    Attributes:
        method: the request's method (``"GET"``).
        url: the full URL requested.
        status: the last response's status, or None when no response came (a transport
            error: connection refused, timeout; the error is ``__cause__``).
        attempts: how many attempts were made (1 when the failure was not retried).
        response: the last ``httpx.Response``, or None; its body is read.
    """

    def __init__(
        self,
        message: str,
        *,
        method: str,
        url: str,
        status: int | None,
        attempts: int,
        response: Any = None,
    ) -> None:
        super().__init__(message)
        self.method = method
        self.url = url
        self.status = status
        self.attempts = attempts
        self.response = response

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only fields are not in ``args``: rebuild from them so that pickle and
        # copy work (the httpx response is dropped: it holds a closed stream).
        fields = {"method": self.method, "url": self.url, "status": self.status, "attempts": self.attempts}
        state = {k: v for k, v in self.__dict__.items() if k != "response"}
        return (_rebuild, (type(self), str(self), fields), state)


def _rebuild(cls: type[HTTPError], message: str, fields: dict[str, Any]) -> HTTPError:
    return cls(message, **fields)


HTTPError.__module__ = "flowstone.errors"
