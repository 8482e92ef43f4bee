"""Who is calling: the bearer token check that runs before every /api request.

Tokens are verified by flask-jwt-extended (HS256 with the shared secret). The user id
is the `sub` claim or, for Better Auth's own session JWT which has none, `user.id`.
Every way a token can fail answers 401 with `WWW-Authenticate: Bearer`.
"""

from flask import g, request
from flask_jwt_extended import get_jwt, verify_jwt_in_request
from flask_jwt_extended.exceptions import JWTExtendedException
from jwt import PyJWTError
from werkzeug.exceptions import Forbidden, RequestHeaderFieldsTooLarge

from .errors import error_response
from .extensions import jwt

MAX_USER_ID_LENGTH = 255
# Real tokens are 200 bytes to 2 KiB; anything this large is refused before decoding.
MAX_AUTHORIZATION_LENGTH = 8192


class InvalidToken(Exception):
    """A token that verified but does not name a user, or that PyJWT tripped over."""


def unauthorized(detail: str, *, token_presented: bool = True):
    challenge = 'Bearer error="invalid_token"' if token_presented else "Bearer"
    return error_response(401, detail, headers={"WWW-Authenticate": challenge})


def user_id_from_claims(claims: dict) -> str | None:
    """`sub`, else `user.id`; an opaque string of 1-255 characters, or None."""
    user_id = claims.get("sub")
    if user_id is None:
        user = claims.get("user")
        user_id = user.get("id") if isinstance(user, dict) else None
    if isinstance(user_id, str) and 0 < len(user_id) <= MAX_USER_ID_LENGTH:
        return user_id
    return None


def authenticate():
    """before_request for the tasks blueprint: sets `g.user_id` or refuses."""
    if request.method == "OPTIONS":  # CORS preflight carries no token
        return None
    if len(request.headers.get("Authorization", "")) > MAX_AUTHORIZATION_LENGTH:
        raise RequestHeaderFieldsTooLarge(
            f"The Authorization header is over {MAX_AUTHORIZATION_LENGTH} characters; "
            "no token is that long."
        )
    try:
        verify_jwt_in_request()
        user_id = user_id_from_claims(get_jwt())
    except (JWTExtendedException, PyJWTError):
        raise  # answered by the callbacks below
    except (ValueError, TypeError, OverflowError, KeyError) as exc:
        raise InvalidToken("Token claims are malformed.") from exc
    if user_id is None:
        raise InvalidToken("Token does not name a user (no usable `sub` or `user.id`).")
    g.user_id = user_id
    path_user = request.view_args.pop("user_id", None)
    if path_user is not None and path_user != user_id:
        raise Forbidden("This token belongs to another user.")
    return None


def init_app(app) -> None:
    """Make every flask-jwt-extended failure a 401 (its defaults include 422s)."""
    jwt.unauthorized_loader(lambda detail: unauthorized(detail, token_presented=False))
    jwt.invalid_token_loader(unauthorized)
    jwt.expired_token_loader(lambda *_: unauthorized("Token has expired."))
    jwt.revoked_token_loader(lambda *_: unauthorized("Token has been revoked."))
    jwt.needs_fresh_token_loader(lambda *_: unauthorized("Fresh token required."))
    jwt.user_lookup_error_loader(lambda *_: unauthorized("Unknown user."))
    jwt.token_verification_failed_loader(lambda *_: unauthorized("Token refused."))
    app.register_error_handler(InvalidToken, lambda exc: unauthorized(str(exc)))
