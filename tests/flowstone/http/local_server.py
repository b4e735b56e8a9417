"""A real HTTP server on 127.0.0.1 for the client's tests: scripted replies, recorded requests.

``http.server`` in a thread; ``serve()`` stops and joins it and its handler threads.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Reply = tuple[int, dict[str, str]]


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Script:
    """Per path the replies to give in order (the last one repeats), and what came in."""

    replies: dict[str, list[Reply]] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_reply(self, request: Seen) -> Reply:
        with self.lock:
            self.seen.append(request)
            queue = self.replies.get(request.path.split("?")[0], [(404, {})])
            return queue.pop(0) if len(queue) > 1 else queue[0]


class _Server(ThreadingHTTPServer):
    daemon_threads = False  # server_close() joins the handler threads: none outlives the test
    script: Script


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        seen = Seen(self.command, self.path, dict(self.headers.items()), body)
        status, headers = self.server.script.next_reply(seen)
        payload = json.dumps({"status": status, "attempt": len(self.server.script.seen)}).encode()
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    # http.server dispatches on these names.
    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve  # noqa: N815

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the tests read ``Script.seen``, not stderr."""


@dataclass
class LocalServer:
    url: str
    script: Script

    def reply(self, path: str, *replies: int | Reply) -> None:
        self.script.replies[path] = [r if isinstance(r, tuple) else (r, {}) for r in replies]

    @property
    def seen(self) -> list[Seen]:
        return self.script.seen


@contextmanager
def serve() -> Iterator[LocalServer]:
    """A server on a free port of 127.0.0.1 until the block ends (then shut down and joined)."""
    httpd = _Server(("127.0.0.1", 0), _Handler)
    httpd.script = Script()
    # A short poll interval: shutdown() returns within it instead of the default 0.5 s.
    thread = threading.Thread(target=httpd.serve_forever, args=(0.02,), name="test-http-server")
    thread.start()
    try:
        yield LocalServer(f"http://127.0.0.1:{httpd.server_address[1]}", httpd.script)
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port
