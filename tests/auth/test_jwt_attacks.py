"""Forged, switched, oversized and booby-trapped tokens never open the API.

tests/auth/test_auth.py has the basics (alg none, HS384/HS512, a tampered payload, the
30 s expiry leeway, tokens in the query string); these are the attacks on top.
"""

import http.server
import json
import threading
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from tests.support.responses import assert_error, assert_unauthorized
from tests.support.servers import http_get
from tests.support.users import SECRET, bearer, forge_token, hmac_signer, make_token

OVERSIZED = 64 * 1024


def hs256(header: dict, payload: dict, key: bytes) -> str:
    """Sign by hand, with any key at all (PyJWT refuses some of these)."""
    return forge_token(header, payload, hmac_signer(key))


def claims(sub="alice"):
    now = int(time.time())
    return {"sub": sub, "iat": now, "exp": now + 600}


ASYMMETRIC_KEYS = {
    "RS256": lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048),
    "PS256": lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048),
    "ES256": lambda: ec.generate_private_key(ec.SECP256R1()),
    "EdDSA": ed25519.Ed25519PrivateKey.generate,
}


@pytest.mark.parametrize("algorithm", sorted(ASYMMETRIC_KEYS))
def test_asymmetric_tokens_are_401_when_no_jwks_is_configured(client, algorithm):
    key = ASYMMETRIC_KEYS[algorithm]()
    token = jwt.encode(claims(), key, algorithm=algorithm, headers={"kid": "k1"})
    assert_unauthorized(client.get("/api/tasks", headers=bearer(token)))


def test_the_shared_secret_signing_an_rs256_header_is_401(client):
    """Algorithm confusion the other way: an HMAC with the secret, labelled RS256."""
    token = hs256({"alg": "RS256", "typ": "JWT"}, claims(), SECRET.encode())
    assert_unauthorized(client.get("/api/tasks", headers=bearer(token)))


@pytest.mark.parametrize(
    "kid, key",
    [
        ("../../../../../../dev/null", b""),
        ("../../etc/passwd", b"root:x:0:0:root:/root:/bin/bash\n"),
        ("' OR 1=1 --", b"' OR 1=1 --"),
        ("x' UNION SELECT 'secret' --", b"secret"),
        ("/proc/self/environ", SECRET.encode()[:-1]),
        ("|cat /etc/passwd", b"0"),
    ],
)
def test_kid_tricks_with_the_attackers_key_are_401(client, alice, kid, key):
    token = hs256({"alg": "HS256", "typ": "JWT", "kid": kid}, claims(alice.id), key)
    assert_unauthorized(client.get("/api/tasks", headers=bearer(token)))
    assert_unauthorized(
        client.post("/api/tasks", json={"title": "x"}, headers=bearer(token))
    )
    assert alice.get("/tasks").get_json() == []


def test_kid_is_not_consulted_for_tokens_made_with_the_shared_secret(client, alice):
    """Without JWT_JWKS_URL there is one key: a `kid` can point nowhere else."""
    header = {"alg": "HS256", "typ": "JWT", "kid": "../../etc/passwd"}
    token = hs256(header, claims(alice.id), SECRET.encode())
    assert client.get("/api/tasks", headers=bearer(token)).status_code == 200


class RecordingServer(http.server.ThreadingHTTPServer):
    """A loopback HTTP server that notes every request it gets."""

    def __init__(self):
        self.requests = []
        recorded = self.requests

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                recorded.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"keys": []}')

            def log_message(self, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)


@pytest.fixture
def recorder():
    server = RecordingServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_jku_x5u_and_jwk_headers_are_never_fetched_nor_trusted(client, recorder):
    server, base = recorder
    attacker = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(attacker.public_key()))
    for headers in (
        {"jku": f"{base}/jwks.json", "kid": "k1"},
        {"x5u": f"{base}/cert.pem", "kid": "k1"},
        {"jwk": {**public_jwk, "kid": "k1"}, "kid": "k1"},
    ):
        for algorithm, key in (("RS256", attacker), ("HS256", "attacker-" * 4)):
            token = jwt.encode(claims(), key, algorithm=algorithm, headers=headers)
            assert_unauthorized(client.get("/api/tasks", headers=bearer(token)))
    # A fetch made while handling the request is recorded before it answers; this
    # leaves a background fetch (on loopback: milliseconds) a second to show up.
    time.sleep(1)
    assert server.requests == []


def test_a_64_kib_token_is_431_json(client):
    token = make_token("alice", padding="x" * OVERSIZED)
    assert len(token) > OVERSIZED
    assert_error(client.get("/api/tasks", headers=bearer(token)), 431)
    # just under the limit: decoded, and refused as a bad token
    assert_unauthorized(client.get("/api/tasks", headers=bearer("x" * 8000)))


def test_a_64_kib_token_through_gunicorn_is_a_json_431(gunicorn_url):
    token = make_token("alice", padding="x" * OVERSIZED)
    assert_error(http_get(gunicorn_url, "/api/tasks", bearer(token)), 431)


def test_a_bad_token_through_gunicorn_is_a_json_401(gunicorn_url):
    assert_unauthorized(http_get(gunicorn_url, "/api/tasks", bearer("x" * 4000)))


def test_a_valid_token_through_gunicorn_works(gunicorn_url):
    response = http_get(gunicorn_url, "/api/tasks", bearer(make_token("g-user")))
    assert response.status_code == 200
    assert response.get_json() == []


def test_a_token_a_second_past_the_leeway_is_401(client):
    # expired 25 s ago: inside the 30 s leeway, with room for a slow machine
    # (make_token truncates to whole seconds, and a busy run spends some)
    assert (
        client.get(
            "/api/tasks", headers=bearer(make_token("alice", lifetime=-25))
        ).status_code
        == 200
    )
    assert_unauthorized(
        client.get("/api/tasks", headers=bearer(make_token("alice", lifetime=-31)))
    )


def test_tokens_elsewhere_than_the_authorization_header_are_ignored(client):
    token = make_token("alice")
    for request in (
        {"query_string": {"access_token": token}},
        {"headers": {"Cookie": f"access_token_cookie={token}"}},
        {"headers": {"X-Access-Token": token}},
        {"headers": {"Authorization": f"Token {token}"}},
    ):
        assert_unauthorized(client.get("/api/tasks", **request))
    assert_unauthorized(client.post("/api/tasks", data={"access_token": token}))


# A signed token with an id no database can hold: PostgreSQL's text refuses NUL, and
# UTF-8 has no lone surrogates. Correctly signed, such a token still names no one.
UNSTORABLE_IDS = ["a\x00b", "\x00", "\ud800", "x\udfff", "\udc80abc"]


@pytest.mark.parametrize("user_id", UNSTORABLE_IDS)
@pytest.mark.parametrize("claim", ["sub", "user.id"])
def test_a_user_id_with_nul_or_a_lone_surrogate_is_401(client, user_id, claim):
    token = (
        make_token(user_id)
        if claim == "sub"
        else make_token(sub=None, user={"id": user_id})
    )
    for method, path in (
        ("GET", "/api/tasks"),
        ("POST", "/api/tasks"),
        ("GET", "/api/reminders"),
        ("GET", "/api/webhooks"),
    ):
        response = client.open(
            path, method=method, json={"title": "x"}, headers=bearer(token)
        )
        assert "no usable" in assert_unauthorized(response)["detail"]


@pytest.mark.parametrize("session_id", UNSTORABLE_IDS)
def test_a_session_id_with_nul_or_a_lone_surrogate_is_401_before_any_look_up(
    make_app, database_uri, session_id
):
    """With sessions checked in Better Auth's database (here any database: the
    token is refused before a query is sent)."""
    app = make_app(BETTER_AUTH_DATABASE_URL=database_uri)
    token = make_token("alice", session={"id": session_id, "userId": "alice"})
    response = app.test_client().get("/api/tasks", headers=bearer(token))
    assert "session id" in assert_unauthorized(response)["detail"]
