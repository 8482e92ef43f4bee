"""A user creates access tokens for scripts and agents: shown once, stored as a
hash, listed newest first, revoked at once; the format's checksum refuses a
mistyped token without the database; bad input is a 422 naming the field and
creates nothing."""

import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import text

from taskapi.core.columns import utcnow
from taskapi.core.db import Session, begin_transaction
from taskapi.tokens.format import ALPHABET, LENGTH, checksum, new_token, well_formed
from taskapi.tokens.service import BY_HASH_SQL
from tests.support.responses import assert_error, assert_unauthorized
from tests.support.sql import sent_statements as count_statements
from tests.support.tokens import (
    INVALID,
    create_access_token,
    expire,
    with_access_token,
)
from tests.support.users import User, bearer, new_user_id


def test_a_new_token_is_shown_once_and_works_as_its_user(alice, prefix):
    user = alice.via(prefix.replace("<user_id>", alice.id))
    response = user.post("/tokens", json={"name": "cron", "scopes": ["tasks:read"]})
    assert response.status_code == 201, response.get_json()
    created = response.get_json()
    assert set(created) == {
        "id", "name", "scopes", "created_at", "expires_at", "last_used_at", "token"
    }  # fmt: skip
    assert created["token"].startswith("tsk_") and len(created["token"]) == LENGTH
    assert created["scopes"] == ["tasks:read"] and created["last_used_at"] is None
    assert response.headers["Location"].endswith(f"/tokens/{created['id']}")
    lifetime = utcnow() + timedelta(days=90)
    assert created["expires_at"][:10] == lifetime.isoformat()[:10]

    listed = user.get("/tokens").get_json()
    assert [t["id"] for t in listed] == [created["id"]]
    assert "token" not in listed[0]
    one = user.get(f"/tokens/{created['id']}").get_json()
    assert "token" not in one and one["name"] == "cron"

    task = alice.create(title="Mine")
    script = with_access_token(alice, created["token"], user.prefix)
    got = script.get(f"/tasks/{task['id']}")
    assert got.status_code == 200 and got.get_json()["title"] == "Mine"
    assert got.headers["X-Request-ID"]


def test_tokens_are_listed_newest_first_and_isolated(alice, bob):
    first = create_access_token(alice, ["tasks:read"], name="first")
    second = create_access_token(alice, ["mcp"], name="second")
    create_access_token(bob, ["tasks:read"])
    listed = alice.get("/tokens").get_json()
    assert [t["id"] for t in listed] == [second["id"], first["id"]]
    assert_error(bob.get(f"/tokens/{first['id']}"), 404)
    assert_error(bob.delete(f"/tokens/{first['id']}"), 404)
    assert_error(alice.get("/tokens/not-a-uuid"), 404)
    # bob's sign-in token cannot reach alice's path either
    assert_error(alice.client.get(f"/api/{alice.id}/tokens", headers=bob.headers), 403)


def test_the_stored_row_holds_no_secret(app, alice):
    created = create_access_token(alice, ["tasks:read", "tasks:write"])
    token = created["token"]
    with app.app_context():
        row = (
            Session.execute(
                text("SELECT * FROM access_tokens WHERE user_id = :user"),
                {"user": alice.id},
            )
            .mappings()
            .one()
        )
        Session.remove()
    stored = " ".join(str(value) for value in row.values())
    assert token not in stored and token[4:] not in stored
    assert token[4:34] not in stored  # not even most of it
    assert row["token_hash"] == hashlib.sha256(token.encode()).hexdigest()


def test_a_revoked_token_is_refused_from_the_next_request(alice):
    created = create_access_token(alice, ["tasks:read"])
    script = with_access_token(alice, created["token"])
    assert script.get("/tasks").status_code == 200
    assert alice.delete(f"/tokens/{created['id']}").status_code == 204
    response = script.get("/tasks")
    assert_unauthorized(response)
    assert response.headers["WWW-Authenticate"] == INVALID
    assert_error(alice.delete(f"/tokens/{created['id']}"), 404)
    assert alice.get("/tokens").get_json() == []


def test_an_expired_token_is_refused(app, alice):
    created = create_access_token(alice, ["tasks:read"], expires_in_days=1)
    script = with_access_token(alice, created["token"])
    assert script.get("/tasks").status_code == 200
    expire(app, created["token"])
    response = script.get("/tasks")
    assert_unauthorized(response)
    assert response.headers["WWW-Authenticate"] == INVALID
    assert "expired" in response.get_json()["detail"]


def mistyped(token: str) -> str:
    """The token with one character of its random part changed."""
    position = 10
    other = ALPHABET[(ALPHABET.index(token[position]) + 1) % len(ALPHABET)]
    return token[:position] + other + token[position + 1 :]


@pytest.fixture
def app_without_a_database(make_app, database_uri, tmp_path):
    """The app with its database out of reach: what needs a look-up is a 503."""
    if database_uri.startswith("postgres"):
        return make_app(
            SQLALCHEMY_DATABASE_URI="postgresql+psycopg2://nobody@127.0.0.1:9/none"
        )
    return make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/missing/dir/x.db")


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda token: mistyped(token), id="wrong-checksum"),
        pytest.param(lambda token: token[:-1], id="too-short"),
        pytest.param(lambda token: token + "a", id="too-long"),
        pytest.param(lambda token: token[:20] + "-" + token[21:], id="not-base62"),
        pytest.param(lambda token: "tsk_", id="prefix-only"),
        pytest.param(lambda token: token[:10] + "é" + token[11:], id="non-ascii"),
    ],
)
def test_a_malformed_token_is_refused_without_a_database_look_up(
    app_without_a_database, make
):
    bad = make(new_token())
    client = app_without_a_database.test_client()
    response = client.get("/api/tasks", headers={"Authorization": f"Bearer {bad}"})
    assert_unauthorized(response)  # not the 503 of a look-up that failed
    assert response.headers["WWW-Authenticate"] == INVALID
    # a well-formed token needs the database: its look-up's failure is a 503
    failed = client.get("/api/tasks", headers=bearer(new_token()))
    assert_error(failed, 503)
    assert failed.headers["Retry-After"]


def test_a_well_formed_unknown_token_is_one_indexed_look_up(app, alice):
    unknown = new_token()
    with count_statements(app) as statements:
        response = alice.client.get("/api/tasks", headers=bearer(unknown))
    assert_unauthorized(response)
    assert response.headers["WWW-Authenticate"] == INVALID
    if "sqlite" in app.config["SQLALCHEMY_DATABASE_URI"]:
        assert len(statements) == 1 and "access_tokens" in statements[0]
        return
    # PostgreSQL: through the driver's cursor (not seen by SQLAlchemy's events)
    assert statements == []
    with app.app_context():
        begin_transaction()
        Session.execute(text("SET LOCAL enable_seqscan = off"))
        plan = Session.execute(
            text(f"EXPLAIN {BY_HASH_SQL}".replace("%s", "'x'"))
        ).scalars()
        assert "ux_access_tokens_token_hash" in " ".join(plan)
        Session.rollback()
        Session.remove()


def test_the_format_and_its_checksum():
    token = new_token()
    assert well_formed(token)
    assert token[-6:] == checksum(token[4:38])
    assert checksum("0" * 34) == checksum("0" * 34).rjust(6, "0")
    assert all(len(checksum(new_token()[4:38])) == 6 for _ in range(50))
    assert not well_formed(mistyped(token))
    assert not well_formed("ghp_" + token[4:])


def test_last_used_at_is_written_at_most_once_a_minute(app, alice):
    created = create_access_token(alice, ["tasks:read"])
    script = with_access_token(alice, created["token"])
    with count_statements(app) as first:
        assert script.get("/tasks").status_code == 200
    used = alice.get(f"/tokens/{created['id']}").get_json()["last_used_at"]
    assert used is not None
    with count_statements(app) as again:
        for _ in range(3):
            assert script.get("/tasks").status_code == 200
    assert alice.get(f"/tokens/{created['id']}").get_json()["last_used_at"] == used
    assert sum("UPDATE access_tokens" in s for s in first) == 1
    assert sum("UPDATE access_tokens" in s for s in again) == 0


def test_an_access_token_cannot_manage_tokens(alice):
    created = create_access_token(
        alice, ["tasks:read", "tasks:write", "webhooks", "mcp"]
    )
    script = with_access_token(alice, created["token"])
    for method, path in [
        ("GET", "/tokens"),
        ("POST", "/tokens"),
        ("GET", f"/tokens/{created['id']}"),
        ("DELETE", f"/tokens/{created['id']}"),
    ]:
        response = script.request(method, path, json={"name": "x", "scopes": ["mcp"]})
        assert_error(response, 403)
        challenge = response.headers["WWW-Authenticate"]
        assert challenge.startswith('Bearer error="insufficient_scope"'), challenge
    assert len(alice.get("/tokens").get_json()) == 1


VALID = {"name": "cron", "scopes": ["tasks:read"], "expires_in_days": 30}


@pytest.mark.parametrize(
    "field, value",
    [
        ("name", ""),
        ("name", "   "),
        ("name", "x" * 101),
        ("name", 7),
        ("name", None),
        ("scopes", []),
        ("scopes", ["tasks:admin"]),
        ("scopes", "tasks:read"),
        ("scopes", [None]),
        ("scopes", None),
        ("expires_in_days", 0),
        ("expires_in_days", 367),
        ("expires_in_days", "30"),
        ("expires_in_days", 1.5),
        ("expires_in_days", None),
        ("token", "tsk_mine"),
        ("id", "x"),
        ("owner", "x"),
    ],
)
def test_a_bad_field_is_a_422_naming_it_and_creates_nothing(alice, field, value):
    response = alice.post("/tokens", json={**VALID, field: value})
    body = assert_error(response, 422)
    assert field in body["errors"]["json"], body
    assert alice.get("/tokens").get_json() == []


@pytest.mark.parametrize("field", ["name", "scopes"])
def test_a_missing_field_is_a_422_naming_it(alice, field):
    body = {key: value for key, value in VALID.items() if key != field}
    assert (
        field in assert_error(alice.post("/tokens", json=body), 422)["errors"]["json"]
    )
    assert alice.get("/tokens").get_json() == []


def test_at_most_50_live_tokens(app, alice):
    for number in range(50):
        create_access_token(alice, ["tasks:read"], name=f"t{number}")
    response = alice.post("/tokens", json=VALID)
    assert_error(response, 409)
    assert len(alice.get("/tokens").get_json()) == 50
    # an expired one is no longer live: room for one more
    with app.app_context():
        Session.execute(
            text(
                "UPDATE access_tokens SET expires_at = :past WHERE id IN "
                "(SELECT id FROM access_tokens WHERE user_id = :user LIMIT 1)"
            ),
            {"past": utcnow() - timedelta(days=1), "user": alice.id},
        )
        Session.commit()
        Session.remove()
    assert alice.post("/tokens", json=VALID).status_code == 201


def test_the_cli_prints_a_working_token(app, client):
    user_id = new_user_id("cli")
    result = app.test_cli_runner().invoke(
        args=[
            "create-access-token", user_id, "--name", "cron",
            "--scope", "tasks:read", "--scope", "tasks:write", "--days", "7",
        ]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    assert well_formed(token)
    script = User(client, user_id, "/api")
    script.headers = bearer(token)
    assert script.post("/tasks", json={"title": "From cron"}).status_code == 201
    listed = User(client, user_id).get("/tokens").get_json()
    assert listed[0]["scopes"] == ["tasks:read", "tasks:write"]


@pytest.mark.parametrize(
    "arguments",
    [
        ["--name", "", "--scope", "tasks:read"],
        ["--name", "x", "--scope", "tasks:admin"],
        ["--name", "x"],
        ["--name", "x", "--scope", "mcp", "--days", "400"],
    ],
)
def test_the_cli_refuses_bad_options(app, arguments):
    user_id = new_user_id("cli")
    result = app.test_cli_runner().invoke(
        args=["create-access-token", user_id, *arguments]
    )
    assert result.exit_code != 0
    assert not result.output.strip().startswith("tsk_")


def test_a_tokens_requests_count_against_its_users_rate_limit(make_app):
    limited = make_app(API_RATE_LIMIT="4/hour").test_client()
    user = User(limited, new_user_id("limited"), "/api")
    created = create_access_token(user, ["tasks:read"])  # 1
    script = with_access_token(user, created["token"])
    assert script.get("/tasks").status_code == 200  # 2
    assert user.get("/tasks").status_code == 200  # 3
    answer = script.get("/tasks")  # 4
    assert answer.status_code == 200
    assert answer.headers["X-RateLimit-Remaining"] == "0"
    assert_error(script.get("/tasks"), 429)
    assert_error(user.get("/tasks"), 429)
