"""Signing in through Better Auth's JWT plugin: tokens checked against its key set.

Each test runs a real JWKS endpoint on loopback (http.server in a thread) that
publishes keys made with `cryptography` the way Better Auth does (no `use`, `alg`
optional) and counts how often it is fetched, and gets its own app with
JWT_JWKS_URL pointing at it, so key caches never leak from one test to another.
"""

import hashlib
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from taskapi import config, create_app
from taskapi.core.db import get_engine
from tests.support.environment import config_with
from tests.support.responses import assert_error, assert_unauthorized
from tests.support.servers import free_port
from tests.support.users import (
    SECRET,
    b64url,
    bearer,
    forge_token,
    hmac_signer,
    make_token,
    new_user_id,
)

AUTH_URL = "http://localhost:3000"  # Better Auth's base URL: its tokens' iss and aud
JWKS_PATH = "/api/auth/jwks"
FIFTEEN_MINUTES = 15 * 60


def unsigned_bytes(number: int, length: int | None = None) -> bytes:
    return number.to_bytes(length or (number.bit_length() + 7) // 8, "big")


class SigningKey:
    """A key pair as Better Auth's `jwt()` plugin keeps one: the private half signs
    tokens, the public half is published as a JWK under `kid`."""

    def __init__(self, alg="EdDSA", *, publish_alg=False, curve=None):
        self.alg = alg
        self.kid = f"{alg.lower()}-{uuid.uuid4().hex[:10]}"
        self.publish_alg = publish_alg
        if alg == "EdDSA":
            self.private = ed25519.Ed25519PrivateKey.generate()
        elif alg.startswith("ES"):
            self.private = ec.generate_private_key(curve or ec.SECP256R1())
        else:
            self.private = rsa.generate_private_key(
                public_exponent=65537, key_size=2048
            )
        self.public = self.private.public_key()

    def jwk(self) -> dict:
        if isinstance(self.public, ed25519.Ed25519PublicKey):
            raw = self.public.public_bytes(Encoding.Raw, PublicFormat.Raw)
            jwk = {"kty": "OKP", "crv": "Ed25519", "x": b64url(raw)}
        elif isinstance(self.public, ec.EllipticCurvePublicKey):
            numbers, size = self.public.public_numbers(), self.public.key_size // 8
            size += self.public.key_size % 8 > 0
            crv = {"secp256r1": "P-256", "secp384r1": "P-384"}[self.public.curve.name]
            jwk = {
                "kty": "EC",
                "crv": crv,
                "x": b64url(unsigned_bytes(numbers.x, size)),
                "y": b64url(unsigned_bytes(numbers.y, size)),
            }
        else:
            numbers = self.public.public_numbers()
            jwk = {
                "kty": "RSA",
                "n": b64url(unsigned_bytes(numbers.n)),
                "e": b64url(unsigned_bytes(numbers.e)),
            }
        jwk["kid"] = self.kid
        if self.publish_alg:
            jwk["alg"] = self.alg
        return jwk

    def public_pem(self) -> bytes:
        return self.public.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)

    def token(self, sub, *, alg=None, headers=None, **claims) -> str:
        """A token like Better Auth's: sub, iss = aud = its base URL, 15 minutes."""
        return jwt.encode(
            better_auth_claims(sub, **claims),
            self.private,
            algorithm=alg or self.alg,
            headers={"kid": self.kid, **(headers or {})},
        )


def better_auth_claims(sub, **claims) -> dict:
    """Claims as Better Auth sets them; a claim given as None is left out."""
    now = int(time.time())
    payload = {
        "iat": now,
        "exp": now + FIFTEEN_MINUTES,
        "iss": AUTH_URL,
        "aud": AUTH_URL,
        "sub": sub,
        **claims,
    }
    return {k: v for k, v in payload.items() if v is not None}


class AuthServer:
    """Better Auth's JWKS endpoint on loopback: publishes keys, counts fetches.

    `behaviour`: "ok"; "slow" (holds each request until `release` is set);
    "error" (500); "garbage" (an HTML page); "empty" (a key set with no keys).
    """

    def __init__(self):
        self.jwks = {"keys": []}
        self.behaviour = "ok"
        self.paths = []
        self.holding = threading.Event()
        self.release = threading.Event()
        self._lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        threading.Thread(
            target=self.httpd.serve_forever, args=(0.05,), daemon=True
        ).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_port}{JWKS_PATH}"

    @property
    def fetches(self) -> int:
        with self._lock:
            return self.paths.count(JWKS_PATH)

    def publish(self, *keys: SigningKey, extra=()):
        self.jwks = {"keys": [key.jwk() for key in keys] + list(extra)}

    def close(self):
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                with server._lock:
                    server.paths.append(self.path)
                status, body = 200, json.dumps(server.jwks).encode()
                if self.path != JWKS_PATH:
                    status, body = 404, b"{}"
                elif server.behaviour == "slow":
                    server.holding.set()
                    server.release.wait(10)
                elif server.behaviour == "error":
                    status, body = 500, b'{"error": "internal"}'
                elif server.behaviour == "garbage":
                    body = b"<html>Sign in</html>"
                elif server.behaviour == "empty":
                    body = b'{"keys": []}'
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the API gave up waiting

            def log_message(self, *_args):
                pass

        return Handler


@pytest.fixture
def auth_server():
    server = AuthServer()
    yield server
    server.close()


@pytest.fixture
def make_jwks_app(app, config_class, auth_server):
    """An app deployed with JWT_JWKS_URL = `auth_server`, plus `settings`, on the
    migrated database of `app`. Its own per test, so no key cache outlives it."""
    made = []

    def make(**settings):
        defaults = {
            "JWT_JWKS_URL": auth_server.url,
            "JWT_JWKS_TIMEOUT": 2,
            "JWT_JWKS_REFRESH_INTERVAL": 60,
        }
        made.append(create_app(config_with(config_class, **defaults | settings)))
        return made[-1]

    yield make
    for each in made:
        get_engine(each).dispose()


@pytest.fixture
def api(make_jwks_app):
    return make_jwks_app().test_client()


@pytest.fixture
def user_id():
    return new_user_id("ada")


def list_tasks(client, token):
    return client.get("/api/tasks", headers=bearer(token))


def assert_keys_unavailable(response):
    body = assert_error(response, 503)
    assert int(response.headers["Retry-After"]) >= 1
    assert "retry" in body["detail"]


# Better Auth's tokens are accepted, beside HS256


def test_a_user_signed_in_with_better_auth_eddsa_keys_uses_the_api(
    api, auth_server, user_id
):
    key = SigningKey("EdDSA")  # the plugin's default, published without `alg`
    auth_server.publish(key)

    created = api.post(
        "/api/tasks", json={"title": "Ship it"}, headers=bearer(key.token(user_id))
    )

    assert created.status_code == 201, created.get_json()
    assert created.get_json()["user_id"] == user_id
    # Her HS256 token (the session cookie-cache JWT) works beside it, as the same user
    listed = list_tasks(api, make_token(user_id))
    assert listed.status_code == 200
    assert [task["title"] for task in listed.get_json()] == ["Ship it"]


@pytest.mark.parametrize("publish_alg", [False, True], ids=["no-alg", "alg"])
@pytest.mark.parametrize("alg", ["EdDSA", "ES256", "RS256", "PS256"])
def test_every_algorithm_better_auth_offers_is_accepted(
    api, auth_server, user_id, alg, publish_alg
):
    key = SigningKey(alg, publish_alg=publish_alg)
    auth_server.publish(SigningKey("EdDSA"), key)

    response = list_tasks(api, key.token(user_id))

    assert response.status_code == 200, response.get_json()
    assert response.get_json() == []


def test_tokens_on_the_user_path_must_name_that_user(api, auth_server, user_id):
    key = SigningKey()
    auth_server.publish(key)

    own = api.get(f"/api/{user_id}/tasks", headers=bearer(key.token(user_id)))
    other = api.get("/api/someone-else/tasks", headers=bearer(key.token(user_id)))

    assert own.status_code == 200
    assert other.status_code == 403


def test_an_expired_better_auth_token_is_refused(api, auth_server, user_id):
    key = SigningKey()
    auth_server.publish(key)
    past = int(time.time()) - FIFTEEN_MINUTES - 120

    response = list_tasks(api, key.token(user_id, iat=past, exp=past + 900))

    assert_unauthorized(response)


def test_without_jwks_url_asymmetric_tokens_are_refused(client, auth_server, user_id):
    key = SigningKey()
    auth_server.publish(key)

    response = list_tasks(client, key.token(user_id))

    assert_unauthorized(response)
    assert auth_server.fetches == 0


# Keys are cached, and rotation is followed


def test_the_key_set_is_fetched_once_and_then_cached(api, auth_server, user_id):
    key = SigningKey()
    auth_server.publish(key)

    statuses = {list_tasks(api, key.token(user_id)).status_code for _ in range(20)}

    assert statuses == {200}
    assert auth_server.fetches == 1


def test_concurrent_first_requests_share_one_fetch(make_jwks_app, auth_server):
    app = make_jwks_app()
    key = SigningKey()
    auth_server.publish(key)
    start = threading.Barrier(8)
    statuses = []

    def call():
        token = key.token(new_user_id("ada"))
        start.wait()
        statuses.append(list_tasks(app.test_client(), token).status_code)

    threads = [threading.Thread(target=call) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert statuses == [200] * 8
    assert auth_server.fetches == 1


def test_rotation_new_key_is_fetched_old_tokens_valid_while_published(
    make_jwks_app, auth_server, user_id
):
    api = make_jwks_app(JWT_JWKS_REFRESH_INTERVAL=0).test_client()
    old, new, newer = SigningKey(), SigningKey(), SigningKey()
    auth_server.publish(old)
    old_token = old.token(user_id)
    assert list_tasks(api, old_token).status_code == 200
    assert auth_server.fetches == 1

    # Better Auth rotates: the new key signs, the old one stays published
    auth_server.publish(new, old)
    assert list_tasks(api, new.token(user_id)).status_code == 200
    assert auth_server.fetches == 2
    assert list_tasks(api, old_token).status_code == 200
    assert auth_server.fetches == 2

    # Rotated again, and the old key retired: its tokens stop working
    auth_server.publish(newer, new)
    assert list_tasks(api, newer.token(user_id)).status_code == 200
    assert auth_server.fetches == 3
    assert_unauthorized(list_tasks(api, old_token))
    assert list_tasks(api, new.token(user_id)).status_code == 200


def test_an_unknown_kid_refetches_the_key_set_once(make_jwks_app, auth_server, user_id):
    api = make_jwks_app(JWT_JWKS_REFRESH_INTERVAL=0).test_client()
    key, stranger = SigningKey(), SigningKey()
    auth_server.publish(key)
    assert list_tasks(api, key.token(user_id)).status_code == 200

    response = list_tasks(api, stranger.token(user_id))

    assert_unauthorized(response)
    assert auth_server.fetches == 2  # the cached set, then exactly one refetch


def test_a_flood_of_unknown_kids_does_not_hammer_the_auth_server(
    api, auth_server, user_id
):
    key = SigningKey()
    auth_server.publish(key)
    assert list_tasks(api, key.token(user_id)).status_code == 200

    for _ in range(50):
        assert_unauthorized(list_tasks(api, SigningKey().token(user_id)))

    assert auth_server.fetches == 1  # within the refresh interval: no refetch
    assert list_tasks(api, key.token(user_id)).status_code == 200


def test_after_the_refresh_interval_an_unknown_kid_is_looked_up_again(
    make_jwks_app, auth_server, user_id
):
    api = make_jwks_app(JWT_JWKS_REFRESH_INTERVAL=0.2).test_client()
    key, rotated = SigningKey(), SigningKey()
    auth_server.publish(key)
    assert list_tasks(api, key.token(user_id)).status_code == 200
    auth_server.publish(rotated, key)

    time.sleep(0.25)  # past the 0.2 s refresh interval: a lookup is allowed again
    response = list_tasks(api, rotated.token(user_id))

    assert response.status_code == 200
    assert auth_server.fetches == 2


# The auth server down, slow or broken: 503 for those tokens, HS256 unaffected


def test_jwks_down_answers_503_and_hs256_keeps_working(make_jwks_app, user_id):
    api = make_jwks_app(
        JWT_JWKS_URL=f"http://127.0.0.1:{free_port()}{JWKS_PATH}"
    ).test_client()

    asymmetric = list_tasks(api, SigningKey().token(user_id))
    symmetric = list_tasks(api, make_token(user_id))

    assert_keys_unavailable(asymmetric)
    assert symmetric.status_code == 200


@pytest.mark.parametrize("behaviour", ["error", "garbage", "empty"])
def test_a_broken_key_set_answers_503_and_is_retried_after_the_interval(
    make_jwks_app, auth_server, user_id, behaviour
):
    # an interval a busy machine's two requests fit in, for the one fetch
    api = make_jwks_app(JWT_JWKS_REFRESH_INTERVAL=1).test_client()
    key = SigningKey()
    auth_server.publish(key)
    auth_server.behaviour = behaviour

    first = list_tasks(api, key.token(user_id))
    again = list_tasks(api, key.token(user_id))

    assert_keys_unavailable(first)
    assert_keys_unavailable(again)
    assert auth_server.fetches == 1  # the failure is remembered for the interval
    assert list_tasks(api, make_token(user_id)).status_code == 200

    auth_server.behaviour = "ok"
    time.sleep(1.1)  # past the 1 s interval the failure is remembered for
    assert list_tasks(api, key.token(user_id)).status_code == 200
    assert auth_server.fetches == 2


def test_a_slow_jwks_times_out_into_503_while_hs256_is_served(
    make_jwks_app, auth_server, user_id
):
    app = make_jwks_app(JWT_JWKS_TIMEOUT=3)  # the HS256 request answers meanwhile
    key = SigningKey()
    auth_server.publish(key)
    auth_server.behaviour = "slow"
    answers = {}

    def call_with_eddsa():
        answers["eddsa"] = list_tasks(app.test_client(), key.token(user_id))

    waiting = threading.Thread(target=call_with_eddsa)
    waiting.start()
    assert auth_server.holding.wait(5)

    symmetric = list_tasks(app.test_client(), make_token(user_id))
    fetch_in_flight = waiting.is_alive()
    waiting.join(10)

    assert symmetric.status_code == 200
    assert fetch_in_flight  # HS256 was answered while the key fetch hung
    assert not waiting.is_alive()
    assert not auth_server.release.is_set()  # the API gave up: the server never did
    assert_keys_unavailable(answers["eddsa"])


# iss and aud


@pytest.mark.parametrize(
    "claims, accepted",
    [
        ({}, True),
        ({"iss": "https://evil.example"}, False),
        ({"aud": "https://evil.example"}, False),
        ({"aud": ["https://evil.example", AUTH_URL]}, True),
        ({"iss": None}, False),
        ({"aud": None}, False),
    ],
    ids=["match", "wrong-iss", "wrong-aud", "aud-list", "no-iss", "no-aud"],
)
def test_issuer_and_audience_are_checked_when_configured(
    make_jwks_app, auth_server, user_id, claims, accepted
):
    api = make_jwks_app(JWT_ISSUER=AUTH_URL, JWT_AUDIENCE=[AUTH_URL]).test_client()
    key = SigningKey()
    auth_server.publish(key)

    response = list_tasks(api, key.token(user_id, **claims))

    if accepted:
        assert response.status_code == 200, response.get_json()
    else:
        assert_unauthorized(response)


def test_any_of_several_configured_audiences_is_accepted(
    make_jwks_app, auth_server, user_id
):
    api = make_jwks_app(JWT_AUDIENCE=["https://app.example", AUTH_URL]).test_client()
    key = SigningKey()
    auth_server.publish(key)

    assert list_tasks(api, key.token(user_id, aud=AUTH_URL)).status_code == 200
    assert (
        list_tasks(api, key.token(user_id, aud="https://app.example")).status_code
        == 200
    )
    assert_unauthorized(
        list_tasks(api, key.token(user_id, aud="https://other.example"))
    )


def test_issuer_and_audience_apply_to_hs256_tokens_too(make_jwks_app, user_id):
    api = make_jwks_app(JWT_ISSUER=AUTH_URL, JWT_AUDIENCE=[AUTH_URL]).test_client()

    assert_unauthorized(list_tasks(api, make_token(user_id)))
    good = make_token(user_id, iss=AUTH_URL, aud=AUTH_URL)
    assert list_tasks(api, good).status_code == 200


def test_unset_issuer_and_audience_accept_whatever_tokens_carry(
    api, auth_server, user_id
):
    key = SigningKey()
    auth_server.publish(key)

    token = key.token(user_id, iss="https://elsewhere.example", aud=["a", "b"])

    assert list_tasks(api, token).status_code == 200


def test_unset_issuer_and_audience_accept_hs256_tokens_carrying_them(client, user_id):
    token = make_token(user_id, iss="https://elsewhere.example", aud=["a", "b"])

    assert list_tasks(client, token).status_code == 200


def test_jwt_audience_may_list_several_comma_separated(monkeypatch):
    monkeypatch.setenv("JWT_AUDIENCE", " https://app.example, http://localhost:3000 ")

    settings = config.TestingConfig()

    assert settings.JWT_DECODE_AUDIENCE == [
        "https://app.example",
        "http://localhost:3000",
    ]


@pytest.mark.parametrize(
    "name, value",
    [
        ("JWT_JWKS_URL", "file:///etc/passwd"),
        ("JWT_JWKS_TIMEOUT", "soon"),
        ("JWT_JWKS_TIMEOUT", "0"),
        ("JWT_JWKS_CACHE_SECONDS", "inf"),
        ("JWT_JWKS_REFRESH_INTERVAL", "-1"),
    ],
)
def test_bad_jwks_settings_stop_the_app_at_startup(monkeypatch, name, value):
    monkeypatch.setenv(name, value)

    with pytest.raises(RuntimeError, match=name):
        config.TestingConfig()


# Algorithms: a fixed list, and no confusion between keys


@pytest.mark.parametrize("alg", ["EdDSA", "RS256"])
@pytest.mark.parametrize("secret_from", ["pem", "jwk-json", "raw-bytes"])
def test_hs256_signed_with_a_published_public_key_is_refused(
    api, auth_server, user_id, alg, secret_from
):
    key = SigningKey(alg)
    auth_server.publish(key)
    if secret_from == "pem":
        fake_secret = key.public_pem()
    elif secret_from == "jwk-json":
        fake_secret = json.dumps(key.jwk()).encode()
    elif alg == "EdDSA":
        fake_secret = key.public.public_bytes(Encoding.Raw, PublicFormat.Raw)
    else:
        fake_secret = key.public.public_bytes(Encoding.DER, PublicFormat.PKCS1)
    header = {"alg": "HS256", "typ": "JWT", "kid": key.kid}

    token = forge_token(header, better_auth_claims(user_id), hmac_signer(fake_secret))

    assert_unauthorized(list_tasks(api, token))


def test_a_symmetric_key_in_the_key_set_is_never_used(api, auth_server, user_id):
    planted = b"attacker-chosen-secret-attacker-chosen"
    oct_key = {"kty": "oct", "kid": "planted", "k": b64url(planted)}
    auth_server.publish(SigningKey(), extra=[oct_key])

    for alg in ("HS256", "EdDSA"):
        header = {"alg": alg, "typ": "JWT", "kid": "planted"}
        token = forge_token(header, better_auth_claims(user_id), hmac_signer(planted))
        assert_unauthorized(list_tasks(api, token))


def test_eddsa_header_with_a_secret_signature_is_refused(api, auth_server, user_id):
    key = SigningKey()
    auth_server.publish(key)
    header = {"alg": "EdDSA", "typ": "JWT", "kid": key.kid}

    token = forge_token(
        header, better_auth_claims(user_id), hmac_signer(SECRET.encode())
    )

    assert_unauthorized(list_tasks(api, token))


def test_a_published_key_only_verifies_its_own_algorithm(api, auth_server, user_id):
    eddsa, rsa_key = SigningKey("EdDSA"), SigningKey("RS256", publish_alg=True)
    auth_server.publish(eddsa, rsa_key)
    # an RSA key published for RS256 is not used for PS256
    pss = jwt.encode(
        better_auth_claims(user_id),
        rsa_key.private,
        algorithm="PS256",
        headers={"kid": rsa_key.kid},
    )
    # an ES256 header naming the Ed25519 key
    header = {"alg": "ES256", "typ": "JWT", "kid": eddsa.kid}
    mismatched = forge_token(header, better_auth_claims(user_id), eddsa.private.sign)

    assert_unauthorized(list_tasks(api, pss))
    assert_unauthorized(list_tasks(api, mismatched))


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
@pytest.mark.parametrize("mode", ["jwks", "hs256-only"])
def test_alg_none_is_refused(api, client, user_id, alg, mode):
    token = forge_token(
        {"alg": alg, "typ": "JWT"}, better_auth_claims(user_id), lambda _: b""
    )

    assert_unauthorized(list_tasks(api if mode == "jwks" else client, token))
    assert_unauthorized(list_tasks(api if mode == "jwks" else client, token + "sig"))


@pytest.mark.parametrize(
    "alg, digest", [("HS384", hashlib.sha384), ("HS512", hashlib.sha512)]
)
@pytest.mark.parametrize("mode", ["jwks", "hs256-only"])
def test_other_hmac_algorithms_are_refused(api, client, user_id, alg, digest, mode):
    header = {"alg": alg, "typ": "JWT"}
    signing = hmac_signer(SECRET.encode(), digest)
    token = forge_token(header, better_auth_claims(user_id), signing)

    assert_unauthorized(list_tasks(api if mode == "jwks" else client, token))


@pytest.mark.parametrize(
    "alg, curve", [("ES384", ec.SECP384R1()), ("RS512", None), ("PS384", None)]
)
def test_asymmetric_algorithms_outside_the_list_are_refused(
    api, auth_server, user_id, alg, curve
):
    key = SigningKey(alg, publish_alg=True, curve=curve)
    auth_server.publish(key)

    assert_unauthorized(list_tasks(api, key.token(user_id)))


def test_keys_embedded_in_the_token_header_are_ignored(api, auth_server, user_id):
    published, attacker = SigningKey(), SigningKey()
    auth_server.publish(published)
    header = {
        "alg": "EdDSA",
        "typ": "JWT",
        "kid": published.kid,
        "jwk": attacker.jwk(),
        "jku": "http://127.0.0.1:1/evil.json",
        "x5u": "http://127.0.0.1:1/evil.pem",
    }

    token = forge_token(header, better_auth_claims(user_id), attacker.private.sign)

    assert_unauthorized(list_tasks(api, token))
    assert auth_server.paths == [JWKS_PATH]


@pytest.mark.parametrize(
    "kid",
    [
        "../../../../etc/passwd",
        "/api/auth/jwks?x=",
        "' OR '1'='1' --",
        "x'; DROP TABLE tasks; --",
        "http://127.0.0.1:1/evil.json",
        "\u0000",
        "",
        "k" * 5_000,  # long, yet under the 8 KiB Authorization limit (431 past it)
        123,
        ["kid"],
        {"kid": "x"},
        None,
    ],
    ids=lambda kid: repr(kid)[:20],
)
def test_tricky_kids_are_refused_and_go_nowhere(api, auth_server, user_id, kid):
    key = SigningKey()
    auth_server.publish(key)
    header = {"alg": "EdDSA", "typ": "JWT", "kid": kid}
    if kid is None:
        del header["kid"]

    token = forge_token(header, better_auth_claims(user_id), key.private.sign)

    assert_unauthorized(list_tasks(api, token))
    assert set(auth_server.paths) <= {JWKS_PATH}
    assert auth_server.fetches <= 1
    assert list_tasks(api, key.token(user_id)).status_code == 200
