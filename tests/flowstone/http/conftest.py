"""Fixtures of the HTTP client's tests: a real server on 127.0.0.1 and a port nobody listens on."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.flowstone.http.local_server import LocalServer, free_port, serve


@pytest.fixture
def server() -> Iterator[LocalServer]:
    with serve() as local:
        yield local


@pytest.fixture
def closed_port() -> int:
    return free_port()
