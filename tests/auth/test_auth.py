"""Only a valid bearer token opens the API, and it names the user."""

import json
import time

import jwt
import pytest

from taskapi.auth.bearer import Identity, VerifiedTokens
from taskapi.auth.better_auth import Subject
from tests.support.responses import assert_error, assert_unauthorized
from tests.support.users import (
    SECRET,
    User,
    b64url,
    bearer,
    forge_token,
    hmac_signer,
    make_token,
)


def call(client, token=None):
    return client.get("/api/tasks", headers=bearer(token) if token is not None else {})


def test_no_token_is_401_with_a_bearer_challenge(client):
    response = call(client)
    assert_unauthorized(response)
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_every_route_needs_a_token(client, alice):
    task = alice.create()
    for prefix in (f"/api/{alice.id}", "/api"):
        for method, path in [
            ("GET", "/tasks"),
            ("POST", "/tasks"),
            ("GET", f"/tasks/{task['id']}"),
            ("PUT", f"/tasks/{task['id']}"),
            ("PATCH", f"/tasks/{task['id']}"),
            ("DELETE", f"/tasks/{task['id']}"),
            ("PATCH", f"/tasks/{task['id']}/complete"),
        ]:
            assert_unauthorized(
                client.open(prefix + path, method=method, json={"title": "x"})
            )
    assert alice.get(f"/tasks/{task['id']}").get_json() == task


@pytest.mark.parametrize(
    "header",
    [
        "Bearer",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "Token abc",
        "Bearer a b",
        "Bearer not-a-jwt",
        "Bearer a.b.c",
        "Bearer ....",
        "Bearer eyJhbGciOiJIUzI1NiJ9.e30",
        "bearer",
        ",",
    ],
)
def test_malformed_authorization_headers_are_401(client, header):
    assert_unauthorized(client.get("/api/tasks", headers={"Authorization": header}))


def test_a_token_signed_with_another_secret_is_401(client):
    assert_unauthorized(call(client, make_token("alice", secret="x" * 40)))


def test_a_tampered_payload_is_401(client):
    header, _, signature = make_token("alice").split(".")
    forged = b64url(
        json.dumps({"sub": "mallory", "exp": int(time.time()) + 600}).encode()
    )
    assert_unauthorized(call(client, f"{header}.{forged}.{signature}"))


def test_expiry_is_enforced_with_thirty_seconds_of_leeway(client):
    assert call(client, make_token("alice", lifetime=-20)).status_code == 200
    assert_unauthorized(call(client, make_token("alice", lifetime=-31)))
    assert_unauthorized(call(client, make_token("alice", lifetime=-3600)))


# An accepted HS256 token is remembered (auth.VerifiedTokens), so its next requests
# skip the decoding; these stories hold the remembered token to the same rules.


def test_a_token_accepted_while_valid_is_refused_once_it_expires(client):
    token = make_token("alice", lifetime=-27)  # inside the 30 s leeway for 2-3 s
    assert call(client, token).status_code == 200
    assert call(client, token).status_code == 200  # remembered now
    expires_at = jwt.decode(token, options={"verify_signature": False})["exp"] + 30
    # Nothing to poll: the token stays good until exp + leeway, so sleep past it.
    time.sleep(max(0.0, expires_at - time.time()) + 0.2)
    assert_unauthorized(call(client, token))


def test_a_remembered_token_with_its_signature_altered_is_refused(client):
    token = make_token("alice")
    assert call(client, token).status_code == 200
    header, payload, signature = token.split(".")
    altered = signature[:5] + ("B" if signature[5] == "A" else "A") + signature[6:]
    assert_unauthorized(call(client, f"{header}.{payload}.{altered}"))
    assert call(client, token).status_code == 200


def test_a_token_one_app_accepted_is_refused_by_an_app_with_another_secret(
    app, make_app
):
    token = make_token("alice")
    assert call(app.test_client(), token).status_code == 200
    elsewhere = make_app(JWT_SECRET_KEY="another-secret-of-at-least-32-characters")
    assert_unauthorized(call(elsewhere.test_client(), token))


def test_at_most_max_size_tokens_are_remembered_the_oldest_goes_first():
    tokens = VerifiedTokens(leeway=30, max_size=2)
    claims = {"exp": time.time() + 600}
    for user in ("ann", "ben", "cat"):
        identity = Identity(user, Subject("user", user))
        tokens.remember(f"Bearer {user}", identity, claims)

    assert tokens.identity_for("Bearer ann") is None
    assert tokens.identity_for("Bearer ben").user_id == "ben"
    assert tokens.identity_for("Bearer cat").user_id == "cat"


def test_a_token_without_exp_is_401(client):
    assert_unauthorized(call(client, make_token("alice", exp=None)))


@pytest.mark.parametrize("exp", ["tomorrow", float("inf"), float("nan"), [1], {"a": 1}])
def test_a_nonsense_exp_is_401(client, exp):
    payload = {"sub": "alice", "exp": exp}
    header = {"alg": "HS256", "typ": "JWT"}
    token = forge_token(header, payload, hmac_signer(SECRET.encode()))
    assert_unauthorized(call(client, token))


def test_tokens_from_the_future_are_401(client):
    later = int(time.time()) + 120
    assert_unauthorized(call(client, make_token("alice", nbf=later)))
    assert_unauthorized(call(client, make_token("alice", iat=later)))


@pytest.mark.parametrize("algorithm", ["HS384", "HS512"])
def test_only_hs256_is_accepted_with_the_shared_secret(client, algorithm):
    assert_unauthorized(call(client, make_token("alice", algorithm=algorithm)))


def test_alg_none_is_401(client):
    payload = {"sub": "alice", "exp": int(time.time()) + 600}
    for alg in ("none", "None", "NONE"):
        assert_unauthorized(
            call(client, forge_token({"alg": alg, "typ": "JWT"}, payload))
        )


def test_tokens_in_the_query_string_are_ignored(client):
    token = make_token("alice")
    for name in ("jwt", "token", "access_token"):
        assert_unauthorized(client.get(f"/api/tasks?{name}={token}"))


def test_better_auth_session_jwts_name_the_user_in_user_id(client):
    """Better Auth's own HS256 session JWT (cookie cache, strategy "jwt") has no sub."""
    token = make_token(
        sub=None,
        session={
            "id": "sess_1",
            "userId": "kX3k9aBc",
            "expiresAt": "2026-12-01T00:00:00Z",
        },
        user={"id": "kX3k9aBc", "email": "a@example.com", "name": "A"},
        lifetime=300,
    )
    headers = bearer(token)
    created = client.post(
        "/api/tasks", json={"title": "From the session JWT"}, headers=headers
    )
    assert created.status_code == 201
    assert created.get_json()["user_id"] == "kX3k9aBc"
    assert client.get("/api/kX3k9aBc/tasks", headers=headers).status_code == 200


def test_sub_wins_over_user_id(client):
    token = make_token("from-sub", user={"id": "from-user"})
    response = client.post("/api/tasks", json={"title": "x"}, headers=bearer(token))
    assert response.get_json()["user_id"] == "from-sub"


@pytest.mark.parametrize(
    "claims",
    [
        {"sub": ""},
        {"sub": "x" * 256},
        {"sub": 42},
        {"sub": None},
        {"sub": None, "user": "alice"},
        {"sub": None, "user": {"id": ""}},
        {"sub": None, "user": {"id": 7}},
        {"sub": None, "user": {"name": "no id"}},
        {"sub": None, "user": ["alice"]},
    ],
)
def test_tokens_that_name_no_usable_user_are_401(client, claims):
    assert_unauthorized(call(client, make_token(**claims)))


@pytest.mark.parametrize(
    "user_id",
    [
        "kX3k9aBcD3fGh1jK",
        "0b9c2c1e-4f7e-4e54-9a39-5a2f8a1d6c11",
        "12345",
        "x" * 255,
        "user@example.com",
        "ünï-çødé",
    ],
)
def test_user_ids_are_opaque_strings(client, user_id):
    user = User(client, user_id, prefix="/api")
    task = user.create(title="mine")
    assert task["user_id"] == user_id
    assert [t["id"] for t in user.get("/tasks").get_json()] == [task["id"]]


def test_issuer_and_audience_are_not_checked_when_not_configured(client):
    token = make_token(
        "alice", iss="https://auth.example.com", aud="https://auth.example.com"
    )
    assert call(client, token).status_code == 200


def test_a_token_for_another_user_in_the_path_is_403(client, alice, bob):
    assert_error(client.get(f"/api/{bob.id}/tasks", headers=alice.headers), 403)
