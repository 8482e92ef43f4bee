"""A user creates calendar feeds (the whole account or one list), reads their
list, revokes them; the URL is shown once and its secret stored as a hash; a
foreign list is a 422 naming list_id, and nothing is created; at most 20."""

import hashlib

import pytest
from sqlalchemy import text

from taskapi.core.db import Session
from tests.support.calendars import create_feed, fetch, parsed
from tests.support.responses import assert_error
from tests.support.servers import LiveUser
from tests.support.sharing import shared_list
from tests.support.users import new_user_id


def test_a_new_feed_shows_its_url_once_and_serves_without_a_token(
    client, users_on, prefix
):
    alice = users_on("alice")
    response = alice.post("/calendar-feeds", json={"list_id": None})
    assert response.status_code == 201, response.get_json()
    created = response.get_json()
    assert set(created) == {"id", "list_id", "created_at", "url"}
    assert created["list_id"] is None
    assert created["url"].startswith("http://localhost/calendar/")
    assert created["url"].endswith(".ics")
    secret = created["url"].rsplit("/", 1)[1].removesuffix(".ics")
    assert len(secret) >= 22  # >= 128 bits in base64url
    assert response.headers["Location"].endswith(f"/calendar-feeds/{created['id']}")

    listed = alice.get("/calendar-feeds")
    assert listed.status_code == 200
    assert listed.get_json() == [
        {key: created[key] for key in ("id", "list_id", "created_at")}
    ]
    calendar = parsed(fetch(client, created))
    assert str(calendar["X-WR-CALNAME"]) == "Tasks"


def test_an_empty_body_means_the_whole_account(alice):
    response = alice.post("/calendar-feeds", json={})
    assert response.status_code == 201 and response.get_json()["list_id"] is None


def test_the_url_follows_the_forwarded_scheme_and_host(make_app, alice):
    client = make_app().test_client()
    response = client.post(
        f"/api/{alice.id}/calendar-feeds",
        json={},
        headers={**alice.headers, "Host": "tasks.example.com"},
        base_url="https://tasks.example.com",
    )
    assert response.status_code == 201
    assert response.get_json()["url"].startswith("https://tasks.example.com/calendar/")


def test_the_stored_row_holds_no_secret(app, alice):
    created = create_feed(alice)
    secret = created["url"].rsplit("/", 1)[1].removesuffix(".ics")
    with app.app_context():
        row = (
            Session.execute(
                text("SELECT * FROM calendar_feeds WHERE user_id = :user"),
                {"user": alice.id},
            )
            .mappings()
            .one()
        )
        Session.remove()
    assert secret not in " ".join(str(value) for value in row.values())
    assert row["secret_hash"] == hashlib.sha256(secret.encode()).hexdigest()


def test_a_revoked_feed_is_404_at_once(client, alice, bob):
    created = create_feed(alice)
    assert fetch(client, created).status_code == 200
    assert_error(bob.delete(f"/calendar-feeds/{created['id']}"), 404)
    assert alice.delete(f"/calendar-feeds/{created['id']}").status_code == 204
    assert_error(fetch(client, created), 404)
    assert alice.get("/calendar-feeds").get_json() == []
    assert_error(alice.delete(f"/calendar-feeds/{created['id']}"), 404)
    assert_error(alice.delete("/calendar-feeds/not-a-uuid"), 404)


def test_unknown_and_malformed_secrets_are_404(client):
    for path in (
        "/calendar/" + "A" * 32 + ".ics",
        "/calendar/short.ics",
        "/calendar/" + "%00" * 32 + ".ics",
        "/calendar/" + "x" * 500 + ".ics",
    ):
        assert_error(client.get(path), 404)


def test_feeds_are_listed_newest_first_and_isolated(alice, bob):
    first = create_feed(alice)
    second = create_feed(alice)
    create_feed(bob)
    listed = alice.get("/calendar-feeds").get_json()
    assert [feed["id"] for feed in listed] == [second["id"], first["id"]]
    assert all("url" not in feed for feed in listed)


def test_a_list_feed_needs_a_list_the_user_sees(alice, bob):
    own = alice.create_list("Work")
    created = create_feed(alice, own["id"])
    assert created["list_id"] == own["id"]

    foreign = bob.create_list("Bob's")
    body = assert_error(
        alice.post("/calendar-feeds", json={"list_id": foreign["id"]}), 422
    )
    assert "list_id" in body["errors"]["json"]
    shared = shared_list(bob, "Family", members=[alice], role="viewer")
    assert create_feed(alice, shared["id"])["list_id"] == shared["id"]
    assert len(alice.get("/calendar-feeds").get_json()) == 2


def test_bad_input_is_a_422_naming_the_field_and_creates_nothing(alice):
    for body, field in (
        ({"list_id": "not-a-uuid"}, "list_id"),
        ({"list_id": 7}, "list_id"),
        ({"url": "http://x"}, "url"),
        ({"secret": "x"}, "secret"),
    ):
        error = assert_error(alice.post("/calendar-feeds", json=body), 422)
        assert field in error["errors"]["json"], error
    assert alice.get("/calendar-feeds").get_json() == []


def test_at_most_twenty_feeds(alice):
    for _ in range(20):
        create_feed(alice)
    assert_error(alice.post("/calendar-feeds", json={}), 409)
    first = alice.get("/calendar-feeds").get_json()[0]
    assert alice.delete(f"/calendar-feeds/{first['id']}").status_code == 204
    create_feed(alice)


@pytest.mark.postgres_only
def test_the_limit_is_exact_under_concurrent_creates(live_server, race):
    user = LiveUser(live_server, new_user_id("racer"))
    for _ in range(15):
        assert user.post("/calendar-feeds", json={}).status_code == 201
    answers = race([lambda: user.post("/calendar-feeds", json={})] * 10)
    assert sorted(answer.status_code for answer in answers) == [201] * 5 + [409] * 5
    assert len(user.get("/calendar-feeds").get_json()) == 20
