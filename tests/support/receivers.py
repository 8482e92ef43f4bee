"""Webhook receivers on loopback that misbehave as broken or hostile ones do: one
drips its reply a byte at a time, one answers with a body of hundreds of MiB, one
takes seconds to answer 200. Raw sockets, so the bytes on the wire are exactly
these. Each keeps when requests arrived and when each connection ended (the
worker hung up, or the reply was done). tests/helpers.py's Receiver is the
well-behaved one that verifies signatures."""

import json
import select
import socket
import threading
import time

ZEROS = bytes(1 << 20)


class RawReceiver:
    """Accepts connections, reads one request from each, then `reply`s (a
    subclass's) and closes. Stop it with close()."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}/hook"
        self.lock = threading.Lock()
        self.arrived = []  # time.monotonic() of each request
        self.held = []  # seconds from each request to the end of its connection
        self.bodies = []  # each request's JSON body
        self.in_flight = threading.Event()  # a request has arrived
        self.closing = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def requests(self) -> int:
        return len(self.arrived)

    def close(self) -> None:
        self.closing.set()
        self.listener.close()

    def _accept(self) -> None:
        while not self.closing.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:  # closed
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        arrived = None
        with conn:
            try:
                conn.settimeout(30)
                body = read_request(conn)
                arrived = time.monotonic()
                with self.lock:
                    self.arrived.append(arrived)
                    self.bodies.append(json.loads(body))
                self.in_flight.set()
                self.reply(conn)
            except OSError:  # the worker hung up
                pass
            finally:
                if arrived is not None:
                    with self.lock:
                        self.held.append(time.monotonic() - arrived)

    def reply(self, conn: socket.socket) -> None:
        raise NotImplementedError

    def hung_up(self, conn: socket.socket, wait: float) -> bool:
        """Wait up to `wait` s; has the peer closed its end meanwhile?"""
        readable, _, _ = select.select([conn], [], [], wait)
        return bool(readable) and conn.recv(1) == b""


def read_request(conn: socket.socket) -> bytes:
    """One HTTP/1.1 request with a Content-Length; its body."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            raise ConnectionResetError("the client left before its request ended")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            raise ConnectionResetError("the client left before its request ended")
        body += chunk
    return body


class DripReceiver(RawReceiver):
    """Sends its reply one byte every `interval` seconds, from the status line
    on, and never finishes: a per-read timeout longer than `interval` never
    fires."""

    REPLY = b"HTTP/1.1 200 OK\r\nContent-Length: 999999999\r\n\r\n"

    def __init__(self, interval: float = 3.0):
        self.interval = interval
        super().__init__()

    def reply(self, conn):
        sent = 0
        while not self.closing.is_set():
            byte = self.REPLY[sent : sent + 1] or b"x"
            conn.sendall(byte)
            sent += 1
            if self.hung_up(conn, self.interval):
                return


class HugeReceiver(RawReceiver):
    """Answers 200 with a body of `size` bytes, as fast as loopback takes them;
    `sent` counts the bytes the worker let it send."""

    def __init__(self, size: int):
        self.size = size
        self.sent = 0
        super().__init__()

    def reply(self, conn):
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
            b"Connection: close\r\nContent-Length: %d\r\n\r\n" % self.size
        )
        left = self.size
        while left > 0 and not self.closing.is_set():
            chunk = ZEROS[: min(left, len(ZEROS))]
            conn.sendall(chunk)
            left -= len(chunk)
            with self.lock:
                self.sent += len(chunk)


class SlowReceiver(RawReceiver):
    """Answers 200, with an empty body, `delay` seconds after each request
    arrived (sooner if the worker hangs up)."""

    def __init__(self, delay: float):
        self.delay = delay
        super().__init__()

    def reply(self, conn):
        if not self.hung_up(conn, self.delay):
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            )
