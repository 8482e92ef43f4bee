"""Every answer carries the security headers a JSON API should send, and no
token ever reaches the logs."""

import io
import logging

import pytest

from tests.support.responses import assert_security_headers
from tests.support.servers import http_get
from tests.support.users import make_token


def test_authenticated_answers_are_not_stored_by_any_cache(alice):
    task = alice.create()
    for response in (
        alice.get("/tasks"),
        alice.get(f"/tasks/{task['id']}"),
        alice.post("/tasks", json={"title": "x"}),
        alice.patch(f"/tasks/{task['id']}", json={"title": "y"}),
        alice.delete(f"/tasks/{task['id']}"),
    ):
        assert response.status_code < 300
        assert_security_headers(response, api=True)


def test_api_errors_carry_the_headers_too(client, alice, bob):
    for response in (
        client.get("/api/tasks"),  # 401
        client.get(f"/api/{bob.id}/tasks", headers=alice.headers),  # 403
        alice.get("/tasks/not-a-uuid"),  # 404
        alice.post("/tasks", json={}),  # 422
        alice.post("/tasks", data="x", content_type="text/plain"),  # 415
        client.get("/api/nope", headers=alice.headers),  # 404 on an unknown route
    ):
        assert response.status_code >= 400
        assert_security_headers(response, api=True)


def test_health_and_unknown_routes_get_nosniff_and_the_json_policy(client):
    for response in (client.get("/health"), client.get("/nope")):
        assert_security_headers(response, api=False)
        assert "Cache-Control" not in response.headers


def test_html_pages_keep_their_own_policy(app):
    """/docs and /redoc are HTML loading their own scripts: no JSON-only CSP."""
    with app.test_request_context("/docs"):
        from taskapi.web.security import add_security_headers

        page = app.response_class("<html></html>", mimetype="text/html")
        page = add_security_headers(page)
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert "Content-Security-Policy" not in page.headers


def test_the_app_sends_no_server_header_of_its_own(client):
    assert "Server" not in client.get("/health").headers


def test_gunicorn_does_not_announce_versions(gunicorn_url):
    response = http_get(gunicorn_url, "/health")
    assert response.status_code == 200
    assert response.headers["Server"] == "gunicorn"  # gunicorn's own, no version
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.fixture
def log_text(app):
    """Everything logged while the test runs, by the app or any library."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setLevel(logging.DEBUG)
    loggers = [logging.getLogger(), app.logger]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
    yield stream.getvalue
    for logger, level in zip(loggers, levels, strict=True):
        logger.removeHandler(handler)
        logger.setLevel(level)


def test_tokens_never_reach_the_logs(werkzeug_url, alice, log_text):
    """Through a real server, which logs every request line."""
    good = alice.token
    expired = make_token(alice.id, lifetime=-3600)
    forged = make_token(alice.id, secret="not-the-secret-" * 3)
    garbage = "not.a.token-" + "q" * 40
    sent = {
        f"Bearer {good}": 200,
        f"Bearer {expired}": 401,
        f"Bearer {forged}": 401,
        f"Bearer {garbage}": 401,
        f"Bearer {good[:-4]}AAAA": 401,
        f"Bearer {'z' * 9000}": 431,
        good: 401,  # no scheme
    }
    for authorization, status in sent.items():
        got = http_get(werkzeug_url, "/api/tasks", {"Authorization": authorization})
        assert got.status_code == status
    alice.create(title="logged?")
    logged = log_text()
    assert logged.count("/api/tasks") >= len(sent)  # the capture works
    for token in (good, expired, forged, garbage, good[:-4], "z" * 9000):
        assert token not in logged
    for part in good.split("."):
        assert part not in logged
