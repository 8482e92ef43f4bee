"""Access tokens for tests: one made through the API with a user's sign-in token,
a User that calls with it, and a signed-in user managing tokens on a live server."""

import hashlib
from datetime import timedelta

from sqlalchemy import text

from taskapi.core.columns import utcnow
from taskapi.core.db import Session
from tests.support.servers import LiveServer
from tests.support.users import User, bearer, make_token, new_user_id

# The challenge of a request whose token is expired, revoked or unknown
INVALID = 'Bearer error="invalid_token"'


def create_access_token(user, scopes, name="A script", **body):
    """POST /tokens with the user's sign-in token; the 201 body."""
    response = user.client.post(
        "/api/tokens",
        json={"name": name, "scopes": list(scopes), **body},
        headers=bearer(user.token),
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def expire(app, token: str) -> None:
    """Make the access token `token` expired a second ago, in the database."""
    with app.app_context():
        Session.execute(
            text("UPDATE access_tokens SET expires_at = :past WHERE token_hash = :h"),
            {
                "past": utcnow() - timedelta(seconds=1),
                "h": hashlib.sha256(token.encode()).hexdigest(),
            },
        )
        Session.commit()
        Session.remove()


def with_access_token(user, token, prefix=None):
    """The same user calling with `token` instead of their sign-in token."""
    caller = User(user.client, user.id, prefix if prefix is not None else user.prefix)
    caller.token = token
    caller.headers = bearer(token)
    return caller


class SignedIn:
    """A user with a sign-in token, managing access tokens on the live server."""

    def __init__(self, live: LiveServer, name="owner"):
        self.live = live
        self.id = new_user_id(name)
        self.headers = bearer(make_token(self.id, lifetime=3600))

    def create(self, scopes, name="script"):
        response = self.live.request(
            "POST",
            "/api/tokens",
            json_body={"name": name, "scopes": scopes},
            headers=self.headers,
        )
        assert response.status_code == 201, response.data
        return response.get_json()

    def revoke(self, token_id):
        response = self.live.request(
            "DELETE", f"/api/tokens/{token_id}", headers=self.headers
        )
        assert response.status_code == 204, response.data
