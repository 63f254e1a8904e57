"""A real HTTP receiver for webhook tests: http.server on 127.0.0.1 in a thread, keeping
every request it got and answering with the statuses it is told, in turn."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float

    def json(self):
        return json.loads(self.body)


@dataclass
class Receiver:
    server: ThreadingHTTPServer
    requests: list[Received] = field(default_factory=list)
    # The statuses to answer, in turn; 200 once they run out.
    statuses: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # Seconds to wait before answering, and a body to answer with instead of the usual.
    delay: float = 0.0
    answer: bytes | None = None

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def wait_for(self, count: int, *, seconds: float = 60.0, why=lambda: "") -> list[Received]:
        """The first `count` requests, once they have come (fails after `seconds`)."""
        deadline = time.monotonic() + seconds
        while True:
            with self.lock:
                if len(self.requests) >= count:
                    return list(self.requests[:count])
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"the receiver got {len(self.requests)} of {count} requests\n{why()}"
                )
            time.sleep(0.1)


def start_receiver() -> Receiver:
    receiver: Receiver

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with receiver.lock:
                receiver.requests.append(
                    Received(self.path, dict(self.headers.items()), body, time.time())
                )
                status = receiver.statuses.pop(0) if receiver.statuses else 200
            answer = receiver.answer or (
                f'{{"ok": {str(status < 300).lower()}, "status": {status}}}'.encode()
            )
            time.sleep(receiver.delay)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            with contextlib.suppress(OSError):  # the sender gave up waiting
                self.wfile.write(answer)

        def log_message(self, *args) -> None:  # quiet in the test output
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver = Receiver(server=server)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return receiver
