"""What gunicorn answers itself, before the app sees a request, is JSON too.

A request line or headers over gunicorn's limits, or bytes that are not HTTP, are
refused by gunicorn (taskapi/web/gunicorn_worker.py) with the contract's error body.
"""

import json
import socket
import urllib.parse

import pytest

from tests.support.users import make_token

LIMIT = 8190  # gunicorn.conf.py's limit_request_line


def exchange(base_url, data: bytes):
    """Send raw bytes, read the answer to the end; (status, headers, body)."""
    url = urllib.parse.urlsplit(base_url)
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(status_line.split()[1]), headers, body


def get(base_url, target, *header_lines):
    token = make_token("alice")
    lines = [
        f"GET {target} HTTP/1.1",
        "Host: localhost",
        f"Authorization: Bearer {token}",
        *header_lines,
        "Connection: close",
    ]
    return exchange(base_url, ("\r\n".join(lines) + "\r\n\r\n").encode())


def assert_json_error(answer, status):
    got, headers, body = answer
    assert got == status, body[:300]
    assert headers["content-type"] == "application/json"
    assert headers["x-request-id"]
    error = json.loads(body)
    assert error["status"] == status
    assert isinstance(error["title"], str) and error["title"]
    assert isinstance(error["detail"], str) and error["detail"]
    return error


def request_line_of(length: int, query: str) -> str:
    """`/api/tasks?<query>...` padded so that `GET <target> HTTP/1.1` is `length`."""
    target = f"/api/tasks?{query}"
    return target + "x" * (length - len(f"GET {target} HTTP/1.1"))


def test_a_request_line_over_the_limit_is_a_json_414(gunicorn_url):
    error = assert_json_error(get(gunicorn_url, request_line_of(LIMIT + 1, "q=")), 414)
    assert str(LIMIT) in error["detail"]


def test_many_tags_past_the_limit_are_a_json_414(gunicorn_url):
    target = "/api/tasks?" + "&".join(f"tag=tag-{n:04}" for n in range(1000))
    assert_json_error(get(gunicorn_url, target), 414)


def test_a_request_line_at_the_limit_reaches_the_app(gunicorn_url):
    status, headers, body = get(gunicorn_url, request_line_of(LIMIT, "q="))
    assert status == 422  # the app's answer: `q` is longer than it accepts
    assert json.loads(body)["errors"]["query"]["q"]


def test_too_many_headers_are_a_json_431(gunicorn_url):
    extra = [f"X-Extra-{n}: {n}" for n in range(100)]
    assert_json_error(get(gunicorn_url, "/api/tasks", *extra), 431)


def test_a_header_past_gunicorns_field_limit_is_a_json_431(gunicorn_url):
    assert_json_error(
        get(gunicorn_url, "/api/tasks", "X-Big: " + "y" * (128 * 1024 + 1)), 431
    )


@pytest.mark.parametrize(
    "data",
    [
        b"NOT HTTP AT ALL\r\n\r\n",
        b"GET /api/tasks HTTP/9.9\r\nHost: localhost\r\n\r\n",
        b"GET /api/tasks HTTP/1.1\r\nBad Header Name: x\r\n\r\n",
    ],
    ids=["garbage", "http-version", "header-name"],
)
def test_bytes_that_are_not_http_are_a_json_400(gunicorn_url, data):
    assert_json_error(exchange(gunicorn_url, data), 400)
