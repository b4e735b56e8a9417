"""``flowstone.http``: an HTTP API as a node resource, on httpx (``pip install 'flowstone[http]'``).

``fs.http.Client(base_url, ...)`` is an ``fs.Resource``: the node opens its connection
pool when it starts and closes it when it stops; assets get a session whose
``get/post/put/patch/delete`` retry transport errors, 429 and 5xx by ``fs.http.Retry``
(``Retry-After`` honoured, capped at ``max_delay``; POST/PATCH only with an
``idempotency_key``) and raise ``fs.http.HTTPError`` when a request fails for good.
See docs/resources.md ("HTTP client").
"""

from __future__ import annotations

try:
    import httpx  # noqa: F401 - only to fail here, with the fix, when the extra is missing
except ImportError as exc:  # pragma: no cover - the dev group installs httpx
    raise ImportError(
        "flowstone.http needs httpx, which is not installed: pip install 'flowstone[http]'"
    ) from exc

from flowstone._http_error import HTTPError
from flowstone.http._client import Client
from flowstone.http._policy import Retry
from flowstone.http._session import Session

__all__ = ["Client", "HTTPError", "Retry", "Session"]
