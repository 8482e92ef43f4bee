"""One delivery over HTTP: the event's signed body (signing.py) POSTed with a
total deadline and a bounded read.

The deadline covers the name look-up, connect, TLS, sending and the reply's
head, not each read: every socket operation gets only the time the delivery has
left (a network backend of httpcore's), so a receiver dripping its reply a byte
at a time is cut off at DEADLINE like one that never answers. Of the reply's
body at most REPLY_BYTES are read, to reuse the connection when it is small;
only the status counts. Redirects are not followed (httpcore never does).
"""

import logging
import math
import threading
import time

import httpcore
import httpx

from .signing import event_body, signature_headers
from .urls import RefusedURL, pinned_request, public_addresses

log = logging.getLogger("taskapi.webhooks")
DEADLINE = 5.0
REPLY_BYTES = 4096

# When the delivery this thread is making must end (time.monotonic()).
_deadline = threading.local()


def _time_left(timeout: float | None, expired: type[Exception]) -> float:
    left = getattr(_deadline, "at", math.inf) - time.monotonic()
    if left <= 0:
        raise expired("the delivery's deadline has passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream):
        self._stream = stream

    def read(self, max_bytes, timeout=None):
        return self._stream.read(max_bytes, _time_left(timeout, httpcore.ReadTimeout))

    def write(self, buffer, timeout=None):
        self._stream.write(buffer, _time_left(timeout, httpcore.WriteTimeout))

    def close(self):
        self._stream.close()

    def start_tls(self, ssl_context, server_hostname=None, timeout=None):
        timeout = _time_left(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(
            self._stream.start_tls(ssl_context, server_hostname, timeout)
        )

    def get_extra_info(self, info):
        return self._stream.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's sockets, each operation bounded by the delivery's time left."""

    def __init__(self):
        self._backend = httpcore.SyncBackend()

    def connect_tcp(
        self, host, port, timeout=None, local_address=None, socket_options=None
    ):
        timeout = _time_left(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(
            self._backend.connect_tcp(
                host, port, timeout, local_address, socket_options
            )
        )

    def connect_unix_socket(self, path, timeout=None, socket_options=None):
        timeout = _time_left(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(
            self._backend.connect_unix_socket(path, timeout, socket_options)
        )

    def sleep(self, seconds):
        self._backend.sleep(seconds)


class Sender:
    """POSTs events, up to `concurrency` at once (from as many threads)."""

    def __init__(self, concurrency: int, private_urls: bool):
        self.private_urls = private_urls
        self.pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=concurrency,
            network_backend=_DeadlineBackend(),
        )

    def close(self) -> None:
        self.pool.close()

    def post(self, event) -> tuple[int | None, str | None]:
        """(status code, None) or (None, why there is none), within DEADLINE."""
        _deadline.at = time.monotonic() + DEADLINE
        try:
            return self._post(event)
        except RefusedURL as refused:
            return None, f"refused: {refused}"
        except httpcore.TimeoutException:
            return None, f"timeout: no answer within {DEADLINE:g} s"
        except (
            httpcore.NetworkError,
            httpcore.ProtocolError,
            httpcore.UnsupportedProtocol,
        ) as error:
            return None, f"{type(error).__name__}: {error}"[:500]
        except Exception:  # a bug here must not stop every other delivery
            log.exception("delivering event %s", event.event_id)
            return None, "internal error: see the worker's log"
        finally:
            _deadline.at = math.inf

    def _post(self, event) -> tuple[int, None]:
        body = event_body(event)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "taskapi-webhooks",
            **signature_headers(event, body),
        }
        url, extensions = event.url, {}
        if not self.private_urls:
            address = public_addresses(url)[0]
            url, host, extensions = pinned_request(url, address)
            headers.update(host)
        left = _time_left(None, httpcore.ConnectTimeout)  # after the look-up
        phases = dict.fromkeys(("connect", "read", "write", "pool"), left)
        with self.pool.stream(
            "POST",
            url,
            headers=headers,
            content=body.encode(),
            extensions={**extensions, "timeout": phases},
        ) as response:
            self._read_a_little(response)
            return response.status, None

    @staticmethod
    def _read_a_little(response) -> None:
        """Up to REPLY_BYTES of the body, so a short reply's connection is kept
        for the next delivery; a longer or slower one is closed unread. The
        status is in already, so nothing here fails the delivery."""
        read = 0
        try:
            for chunk in response.iter_stream():
                read += len(chunk)
                if read > REPLY_BYTES:
                    return
        except (
            httpcore.TimeoutException,
            httpcore.NetworkError,
            httpcore.ProtocolError,
        ):
            return
