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


HTTPError.__module__ = "flowstone.errors"
