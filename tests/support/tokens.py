"""Access tokens for tests: one made through the API with a user's sign-in token,
and a User that calls with it."""

from tests.support.users import User, bearer


def create_access_token(user, scopes, name="A script", **body):
    """POST /tokens with the user's sign-in token; the 201 body."""
    response = user.client.post(
        "/api/tokens",
        json={"name": name, "scopes": list(scopes), **body},
        headers=bearer(user.token),
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def with_access_token(user, token, prefix=None):
    """The same user calling with `token` instead of their sign-in token."""
    caller = User(user.client, user.id, prefix if prefix is not None else user.prefix)
    caller.token = token
    caller.headers = bearer(token)
    return caller
