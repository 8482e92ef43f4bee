"""Each user has a request budget on /api; past it, 429 with Retry-After.

The default is 1000 requests a minute per user (API_RATE_LIMIT). These tests use
apps with a tiny limit, so they stay fast; the Redis ones run against the real
redis-server that scripts/test starts (TEST_REDIS_URL).
"""

import os
import time

import pytest
import redis

from taskapi import config
from tests.support.responses import assert_error, exposed_headers
from tests.support.servers import free_port
from tests.support.sql import sent_statements
from tests.support.users import User, bearer, new_user_id

ORIGIN = "http://localhost:3000"
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL")
needs_redis = pytest.mark.skipif(
    not TEST_REDIS_URL,
    reason="NO REDIS: scripts/test starts redis-server (apt-get install redis-server)",
)
LIMIT_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")


@pytest.fixture(scope="module")
def limited_app(make_app):
    return make_app(API_RATE_LIMIT="3/hour")


def user_of(app, name="alice", prefix="/api"):
    return User(app.test_client(), new_user_id(name), prefix=prefix)


def use_up(user, count=3):
    for _ in range(count):
        assert user.get("/tasks").status_code == 200


def test_the_default_is_1000_a_minute_per_user_and_every_answer_says_so(alice):
    assert config.TestingConfig().API_RATE_LIMIT == "1000/minute"
    first = alice.get("/tasks")
    second = alice.post("/tasks", json={"title": "x"})
    assert first.headers["X-RateLimit-Limit"] == "1000"
    assert first.headers["X-RateLimit-Remaining"] == "999"
    assert second.headers["X-RateLimit-Remaining"] == "998"
    reset = int(first.headers["X-RateLimit-Reset"])
    assert time.time() < reset <= time.time() + 61
    assert "Retry-After" not in first.headers


def test_the_limit_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("API_RATE_LIMIT", "50/second;1000/hour")
    assert config.TestingConfig().API_RATE_LIMIT == "50/second;1000/hour"
    monkeypatch.setenv("API_RATE_LIMIT", "lots")
    with pytest.raises(RuntimeError, match="API_RATE_LIMIT"):
        config.TestingConfig()


def test_past_the_limit_the_answer_is_429_json_with_retry_after(limited_app):
    alice = user_of(limited_app)
    remaining = [alice.get("/tasks").headers["X-RateLimit-Remaining"] for _ in range(3)]
    assert remaining == ["2", "1", "0"]

    response = alice.post("/tasks", json={"title": "one too many"})
    body = assert_error(response, 429, "Too Many Requests")
    assert "3/hour" in body["detail"]
    retry_after = int(response.headers["Retry-After"])
    assert 1 <= retry_after <= 3601  # the window, rounded up to whole seconds
    assert response.headers["X-RateLimit-Limit"] == "3"
    assert response.headers["X-RateLimit-Remaining"] == "0"
    assert (
        abs(int(response.headers["X-RateLimit-Reset"]) - time.time() - retry_after) < 3
    )
    assert response.headers["Cache-Control"] == "no-store"


def test_a_refused_request_changes_nothing(limited_app, client):
    alice = user_of(limited_app)
    task = alice.create(title="before")
    use_up(alice, 2)
    assert alice.post("/tasks", json={"title": "refused"}).status_code == 429
    assert alice.patch(f"/tasks/{task['id']}", json={"title": "x"}).status_code == 429
    assert alice.delete(f"/tasks/{task['id']}").status_code == 429
    # the same user, through the default app (another budget): nothing changed
    seen = User(client, alice.id, prefix="/api").get("/tasks").get_json()
    assert seen == [task]


def test_when_the_window_ends_the_budget_is_whole_again_and_old_counts_go(make_app):
    app = make_app(API_RATE_LIMIT="2/second")
    alice, bob = user_of(app), user_of(app, "bob")
    use_up(alice, 2)
    refused = alice.get("/tasks")
    assert refused.status_code == 429
    # The window ends at Reset (whole seconds); sleeping past it by more than that
    # rounding is the only way to see the budget come back.
    time.sleep(max(0.0, int(refused.headers["X-RateLimit-Reset"]) - time.time()) + 1.1)
    again = alice.get("/tasks")
    assert again.status_code == 200
    assert again.headers["X-RateLimit-Remaining"] == "1"

    # memory:// (one process): a counter does not outlive its window for long,
    # and no timer thread is started to drop it: the next request a window later,
    # anyone's, does
    storage = app.extensions["taskapi.ratelimit"].storage
    assert any(alice.id in key for key in storage.storage)
    time.sleep(1.1)  # past alice's 1-second window, so her counter is stale
    assert bob.get("/tasks").status_code == 200
    assert not any(alice.id in key for key in storage.storage)
    assert any(bob.id in key for key in storage.storage)
    assert not storage.timer.is_alive()


def test_the_429_can_be_read_by_a_browser_frontend(limited_app):
    alice = user_of(limited_app)
    use_up(alice)
    response = alice.get("/tasks", headers={"Origin": ORIGIN})
    assert response.status_code == 429
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    expected = {"retry-after", *(name.lower() for name in LIMIT_HEADERS)}
    assert expected <= exposed_headers(response)


def test_the_budget_is_per_user_and_shared_by_both_route_families(limited_app):
    alice = user_of(limited_app)
    bob = user_of(limited_app, "bob")
    alice_by_path = User(alice.client, alice.id)  # /api/<her id>/tasks
    assert alice.get("/tasks").status_code == 200
    assert alice_by_path.get("/tasks").status_code == 200
    assert alice.get("/tasks").status_code == 200
    assert alice_by_path.get("/tasks").status_code == 429
    assert alice.get("/tasks").status_code == 429
    assert bob.get("/tasks").headers["X-RateLimit-Remaining"] == "2"


def test_health_and_preflight_are_never_limited(limited_app):
    alice = user_of(limited_app)
    use_up(alice)
    client = alice.client
    for _ in range(5):
        health = client.get("/health", headers=alice.headers)
        assert health.status_code == 200
        assert "X-RateLimit-Limit" not in health.headers
        preflight = client.options(
            "/api/tasks",
            headers={
                "Origin": ORIGIN,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization, content-type",
            },
        )
        assert preflight.status_code == 200
        assert preflight.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert alice.get("/tasks").status_code == 429


def test_requests_without_a_valid_token_are_401_and_use_no_budget(limited_app):
    client = limited_app.test_client()
    for _ in range(5):
        response = client.get("/api/tasks", headers=bearer("x.y.z"))
        assert response.status_code == 401
        assert "X-RateLimit-Limit" not in response.headers


def test_the_limiter_adds_no_database_round_trip(make_app):
    unlimited = make_app(RATELIMIT_ENABLED=False)
    limited = make_app(API_RATE_LIMIT="2/hour")
    counts = {}
    for name, app in (("unlimited", unlimited), ("limited", limited)):
        user = user_of(app)
        task = user.create()
        with sent_statements(app) as statements:
            assert user.get(f"/tasks/{task['id']}").status_code == 200
        counts[name] = len(statements)
        if name == "limited":
            with sent_statements(app) as statements:
                assert user.get("/tasks").status_code == 429
            assert statements == []  # refused before any query
    assert counts["limited"] == counts["unlimited"] == 1


def test_without_its_storage_the_api_keeps_answering(make_app):
    app = make_app(RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{free_port()}/0")
    alice = user_of(app)
    for _ in range(3):
        response = alice.get("/tasks")
        assert response.status_code == 200
        assert "X-RateLimit-Limit" not in response.headers


@needs_redis
def test_two_instances_share_one_limit_through_redis(make_app):
    settings = {"API_RATE_LIMIT": "3/hour", "RATELIMIT_STORAGE_URI": TEST_REDIS_URL}
    first, second = make_app(**settings), make_app(**settings)
    user_id = new_user_id("alice")
    on_first = User(first.test_client(), user_id, prefix="/api")
    on_second = User(second.test_client(), user_id, prefix="/api")
    assert on_first.get("/tasks").headers["X-RateLimit-Remaining"] == "2"
    assert on_second.get("/tasks").headers["X-RateLimit-Remaining"] == "1"
    assert on_first.get("/tasks").headers["X-RateLimit-Remaining"] == "0"
    refused = on_second.get("/tasks")
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    assert on_first.get("/tasks").status_code == 429
    # another user on the same Redis is untouched
    bob = User(second.test_client(), new_user_id("bob"), prefix="/api")
    assert bob.get("/tasks").headers["X-RateLimit-Remaining"] == "2"


@needs_redis
def test_the_redis_keys_are_prefixed_and_expire(make_app):
    app = make_app(API_RATE_LIMIT="3/hour", RATELIMIT_STORAGE_URI=TEST_REDIS_URL)
    alice = user_of(app)
    assert alice.get("/tasks").status_code == 200
    server = redis.Redis.from_url(TEST_REDIS_URL)
    keys = [key.decode() for key in server.scan_iter(f"*{alice.id}*")]
    assert len(keys) == 1 and keys[0].startswith("LIMITS:LIMITER/taskapi/")
    assert 0 < server.ttl(keys[0]) <= 3600
