"""An unreachable database: a clear ``StoreUnavailableError``, ``down`` health, and recovery."""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading
from collections.abc import Iterator

import pytest
from sqlalchemy.engine import make_url

import flowstone as fs
from supervisors.testing import wait_for


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


class TcpProxy:
    """Forwards 127.0.0.1:<port> to a target; ``stop`` cuts every connection, ``start`` reopens.

    One thread serves the listener and every connection through a selector, so stopping
    means waking it and joining one thread.
    """

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = 0
        self._thread: threading.Thread | None = None
        self._wake: tuple[socket.socket, socket.socket] | None = None

    def start(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self._wake = socket.socketpair()
        self._thread = threading.Thread(
            target=self._serve, args=(listener, self._wake[0]), name="tcp-proxy", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._thread is None or self._wake is None:
            return
        self._wake[1].send(b"x")
        self._thread.join(timeout=10)
        assert not self._thread.is_alive(), "the proxy thread did not stop"
        for end in self._wake:
            end.close()
        self._thread = self._wake = None

    def _serve(self, listener: socket.socket, wake: socket.socket) -> None:
        selector = selectors.DefaultSelector()
        selector.register(listener, selectors.EVENT_READ, "accept")
        selector.register(wake, selectors.EVENT_READ, "wake")
        peers: dict[socket.socket, socket.socket] = {}

        def close(sock: socket.socket) -> None:
            other = peers.pop(sock, None)
            for end in (sock, other):
                if end is not None:
                    peers.pop(end, None)
                    with contextlib.suppress(KeyError, ValueError):
                        selector.unregister(end)
                    end.close()

        try:
            while True:
                for key, _ in selector.select():
                    if key.data == "wake":
                        return
                    if key.data == "accept":
                        client, _ = listener.accept()
                        try:
                            upstream = socket.create_connection(self.target, timeout=5)
                        except OSError:
                            client.close()
                            continue
                        upstream.settimeout(None)
                        peers[client], peers[upstream] = upstream, client
                        selector.register(client, selectors.EVENT_READ, "pipe")
                        selector.register(upstream, selectors.EVENT_READ, "pipe")
                        continue
                    sock = key.fileobj
                    assert isinstance(sock, socket.socket)
                    if sock not in peers:
                        continue
                    try:
                        data = sock.recv(65536)
                        if data:
                            peers[sock].sendall(data)
                    except OSError:
                        data = b""
                    if not data:
                        close(sock)
        finally:
            for sock in list(peers):
                if sock in peers:
                    close(sock)
            selector.close()
            listener.close()


@pytest.fixture
def proxy(postgres_url: str) -> Iterator[TcpProxy]:
    target = make_url(postgres_url)
    started = TcpProxy((target.host or "127.0.0.1", target.port or 5432))
    started.start()
    try:
        yield started
    finally:
        started.stop()


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
