"""Registering webhooks: both route families, ETags, isolation, the limit of 10,
the secret shown once, bad input, and (outside development and testing) URLs
that would reach internal addresses refused."""

import pytest

from tests.support.responses import assert_error
from tests.support.users import User, new_user_id

HOOK = {"url": "https://hooks.example.com/taskapi", "events": ["task.created"]}


def register(user, **body):
    response = user.post("/webhooks", json={**HOOK, **body})
    assert response.status_code == 201, response.get_json()
    return response


@pytest.mark.parametrize("family", ["/api/<user>", "/api"])
def test_a_registered_webhook_shows_its_secret_once(alice, family):
    user = alice if family == "/api/<user>" else alice.via("/api")
    response = register(user)
    created = response.get_json()
    assert created["secret"].startswith("whsec_")
    assert created["active"] is True
    assert created["events"] == ["task.created"]
    assert response.headers["Location"].endswith(f"/webhooks/{created['id']}")

    listed = user.get("/webhooks").get_json()
    assert [hook["id"] for hook in listed] == [created["id"]]
    assert "secret" not in listed[0]
    one = user.get(f"/webhooks/{created['id']}")
    assert "secret" not in one.get_json()
    assert one.headers["ETag"] == response.headers["ETag"]


def test_events_left_out_are_all_five(alice):
    response = alice.post("/webhooks", json={"url": HOOK["url"]})
    assert response.status_code == 201
    assert response.get_json()["events"] == [
        "task.created",
        "task.updated",
        "task.completed",
        "task.deleted",
        "reminder.due",
    ]
    repeated = register(alice, events=["task.deleted", "task.deleted"]).get_json()
    assert repeated["events"] == ["task.deleted"]


def test_conditional_get_and_delete(alice):
    response = register(alice)
    path, etag = f"/webhooks/{response.get_json()['id']}", response.headers["ETag"]
    assert alice.get(path, headers={"If-None-Match": etag}).status_code == 304
    assert_error(alice.delete(path, headers={"If-Match": '"other"'}), 412)
    assert alice.get(path).status_code == 200
    assert alice.delete(path, headers={"If-Match": etag}).status_code == 204
    assert_error(alice.get(path), 404)
    assert_error(alice.get(f"{path}/deliveries"), 404)


def test_another_users_webhook_is_not_found(alice, bob):
    hook_id = register(alice).get_json()["id"]
    for path in (f"/webhooks/{hook_id}", f"/webhooks/{hook_id}/deliveries"):
        assert_error(bob.get(path), 404)
    assert_error(bob.delete(f"/webhooks/{hook_id}"), 404)
    assert bob.get("/webhooks").get_json() == []
    assert alice.get(f"/webhooks/{hook_id}").status_code == 200
    assert_error(alice.get("/webhooks/not-a-uuid"), 404)


def test_a_new_webhook_has_no_deliveries(alice):
    hook_id = register(alice).get_json()["id"]
    response = alice.get(f"/webhooks/{hook_id}/deliveries")
    assert response.status_code == 200
    assert response.get_json() == []


def test_at_most_ten_webhooks(alice):
    for number in range(10):
        register(alice, url=f"https://hooks.example.com/{number}")
    assert_error(alice.post("/webhooks", json=HOOK), 409)
    assert len(alice.get("/webhooks").get_json()) == 10


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"url": ""},
        {"url": 42},
        {"url": "ftp://hooks.example.com/"},
        {"url": "hooks.example.com/path"},
        {"url": "https://user:pw@hooks.example.com/"},
        {"url": "https://hooks.example.com:99999/"},
        {"url": "https://hooks.example.com/" + "a" * 2000},
        {**HOOK, "events": []},
        {**HOOK, "events": ["task.exploded"]},
        {**HOOK, "events": "task.created"},
        {**HOOK, "events": None},
        {**HOOK, "secret": "whsec_mine"},
        {**HOOK, "active": False},
        {**HOOK, "colour": "red"},
    ],
)
def test_bad_registrations_are_422_and_create_nothing(alice, body):
    assert_error(alice.post("/webhooks", json=body), 422)
    assert alice.get("/webhooks").get_json() == []


@pytest.fixture
def production(make_app):
    """The app as deployed: webhook URLs checked against their addresses."""
    return make_app(WEBHOOK_PRIVATE_URLS=False)


@pytest.mark.parametrize(
    "url",
    [
        "http://93.184.215.14/hook",  # public, but not https
        "https://127.0.0.1/hook",
        "https://localhost:8443/hook",
        "https://10.1.2.3/hook",
        "https://192.168.0.10/hook",
        "https://172.16.5.4/hook",
        "https://169.254.169.254/latest/meta-data",  # cloud metadata
        "https://100.64.0.1/hook",  # CGNAT
        "https://0.0.0.0/hook",
        "https://[::1]/hook",
        "https://[fd00:ec2::254]/hook",  # AWS metadata over IPv6
        "https://[::ffff:127.0.0.1]/hook",
        "https://no-such-host.invalid/hook",
    ],
)
def test_production_refuses_internal_urls(production, url):
    user = User(production.test_client(), new_user_id("carol"))
    body = assert_error(user.post("/webhooks", json={"url": url}), 422)
    assert "url" in body["errors"]["json"]
    assert user.get("/webhooks").get_json() == []


def test_production_accepts_a_public_https_url(production):
    user = User(production.test_client(), new_user_id("carol"))
    response = user.post("/webhooks", json={"url": "https://93.184.215.14/hook"})
    assert response.status_code == 201
