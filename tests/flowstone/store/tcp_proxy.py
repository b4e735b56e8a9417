"""A TCP proxy in front of PostgreSQL that a test can stop and restart: a database outage
without stopping the shared server."""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading

__all__ = ["TcpProxy"]


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
