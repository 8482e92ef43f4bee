"""Users of the API and their tokens: real signed JWTs, forged ones, and a user
that calls the app's test client with its token."""

import base64
import hashlib
import hmac
import json
import time
import uuid

import jwt

SECRET = "tests-secret-" * 5  # 65 bytes: long enough for every HMAC size


def make_token(
    sub="alice", *, secret=SECRET, algorithm="HS256", lifetime=600, **claims
):
    """A real signed JWT; `sub=None` leaves the claim out."""
    now = int(time.time())
    payload = {"iat": now, "exp": now + lifetime, **claims}
    if sub is not None:
        payload["sub"] = sub
    payload = {k: v for k, v in payload.items() if v is not None}
    return jwt.encode(payload, secret, algorithm=algorithm)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge_token(header: dict, payload: dict, sign=lambda signing_input: b"") -> str:
    """A JWT built by hand, for headers and claims no honest library would write;
    `sign(signing_input)` returns its signature (empty by default)."""
    segments = [
        b64url(json.dumps(header).encode()),
        b64url(json.dumps(payload).encode()),
    ]
    signature = sign(".".join(segments).encode())
    return ".".join([*segments, b64url(signature)])


def hmac_signer(key: bytes, digest=hashlib.sha256):
    """A `sign` for forge_token: an HMAC with any key at all."""
    return lambda signing_input: hmac.new(key, signing_input, digest).digest()


def bearer(token):
    """The Authorization header that sends `token`."""
    return {"Authorization": f"Bearer {token}"}


def new_user_id(name):
    return f"{name}-{uuid.uuid4().hex[:12]}"


class User:
    """A user of the API: `alice.post("/tasks", json=...)` calls /api/<id>/tasks
    with her token. `prefix="/api"` switches to the token-only route family."""

    def __init__(self, client, user_id, prefix=None):
        self.client = client
        self.id = user_id
        self.token = make_token(user_id)
        self.headers = bearer(self.token)
        self.prefix = prefix if prefix is not None else f"/api/{user_id}"

    def via(self, prefix):
        """The same user calling through another route family."""
        return User(self.client, self.id, prefix)

    def request(self, method, path, headers=None, **kwargs):
        return self.client.open(
            self.prefix + path,
            method=method,
            headers={**self.headers, **(headers or {})},
            **kwargs,
        )

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path, **kwargs):
        return self.request("POST", path, **kwargs)

    def put(self, path, **kwargs):
        return self.request("PUT", path, **kwargs)

    def patch(self, path, **kwargs):
        return self.request("PATCH", path, **kwargs)

    def delete(self, path, **kwargs):
        return self.request("DELETE", path, **kwargs)

    def create(self, **fields):
        """Create a task through the API and return its body."""
        fields.setdefault("title", "A task")
        response = self.post("/tasks", json=fields)
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    def create_list(self, name="A list"):
        """Create a list through the API and return its body."""
        response = self.post("/lists", json={"name": name})
        assert response.status_code == 201, response.get_json()
        return response.get_json()
