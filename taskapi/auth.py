"""Who is calling: the bearer token check that runs before every /api request.

Tokens are verified by flask-jwt-extended: HS256 with the shared secret and, when
JWT_JWKS_URL is set, EdDSA/ES256/RS256/PS256 with Better Auth's published keys. The
key is chosen from the token header's `alg` (HS256: the secret, never a published
key; the others: the published key named by `kid`, never the secret). The user id
is the `sub` claim or, for Better Auth's own session JWT which has none, `user.id`.
Every way a token can fail answers 401 with `WWW-Authenticate: Bearer`; keys that
cannot be fetched answer 503 with `Retry-After`.
"""

import math
import time

from flask import current_app, g, request
from flask_jwt_extended import get_jwt, verify_jwt_in_request
from flask_jwt_extended.exceptions import JWTExtendedException
from jwt import PyJWK, PyJWKClient, PyJWTError
from jwt.exceptions import (
    InvalidAlgorithmError,
    InvalidTokenError,
    PyJWKClientError,
    PyJWKSetError,
)
from werkzeug.exceptions import Forbidden

from .config import ASYMMETRIC_ALGORITHMS
from .errors import error_response
from .extensions import jwt

MAX_USER_ID_LENGTH = 255
MAX_KID_LENGTH = 256
RSA_ALGORITHMS = ("RS256", "PS256")
JWKS_EXTENSION = "taskapi.jwks"


class InvalidToken(Exception):
    """A token that verified but does not name a user, or that PyJWT tripped over."""


def unauthorized(detail: str, *, token_presented: bool = True):
    challenge = 'Bearer error="invalid_token"' if token_presented else "Bearer"
    return error_response(401, detail, headers={"WWW-Authenticate": challenge})


class KeysUnavailable(Exception):
    """The key set could not be fetched (down, slow, or not a key set)."""

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


class KeySet(PyJWKClient):
    """Better Auth's published keys, through PyJWT's JWKS client.

    PyJWT does the work: the key set is cached for `lifespan` seconds, and an
    unknown `kid` re-fetches it, at most once per `refresh_interval` (counted from
    the last fetch), so a flood of made-up kids costs the auth server nothing.
    Added here: a failed fetch is not retried for `refresh_interval` either (the
    requests meanwhile get 503 at once instead of each waiting out the timeout),
    and every kind of failure, garbage included, is a `KeysUnavailable`.
    """

    def __init__(self, url: str, *, timeout, lifespan, refresh_interval):
        super().__init__(
            url,
            lifespan=lifespan,
            timeout=timeout,
            cooldown_duration=refresh_interval,
            # urllib's default agent is refused by some CDNs in front of auth servers
            headers={"User-Agent": "taskapi-jwks", "Accept": "application/json"},
        )
        self.refresh_interval = refresh_interval
        self.retry_after = max(1, math.ceil(refresh_interval))
        self._failed_at: float | None = None

    def fetch_data(self):
        # PyJWKClient calls this holding its lock, so one thread fetches at a time.
        if (
            self._failed_at is not None
            and time.monotonic() - self._failed_at < self.refresh_interval
        ):
            raise KeysUnavailable("the last key set fetch failed", self.retry_after)
        try:
            data = super().fetch_data()
        except (PyJWKClientError, PyJWKSetError, OSError, ValueError) as exc:
            self._failed_at = time.monotonic()
            current_app.logger.warning("JWKS fetch from %s failed: %s", self.uri, exc)
            raise KeysUnavailable(str(exc), self.retry_after) from exc
        self._failed_at = None
        return data

    def key_for(self, kid: str, alg: str) -> PyJWK:
        """The published key named `kid`, bound to `alg`: PyJWT then refuses to
        verify with it under any other algorithm."""
        try:
            key = self.get_signing_key(kid)
        except PyJWKClientError as exc:
            raise InvalidTokenError("No published signing key has this `kid`.") from exc
        if key.algorithm_name == alg:
            return key
        # An RSA key published without `alg` may sign RS256 or PS256.
        jwk = key._jwk_data  # PyJWK keeps the JWK only there
        if key.key_type == "RSA" and alg in RSA_ALGORITHMS and not jwk.get("alg"):
            return PyJWK(jwk, algorithm=alg)
        raise InvalidAlgorithmError("The key named by `kid` is not for this `alg`.")


def decode_key(header: dict, _claims: dict):
    """flask-jwt-extended's decode_key_loader: the key for this token's `alg`."""
    alg = header.get("alg")
    if alg == "HS256":
        return current_app.config["JWT_SECRET_KEY"]
    keys = current_app.extensions.get(JWKS_EXTENSION)
    if keys is None or alg not in ASYMMETRIC_ALGORITHMS:
        raise InvalidAlgorithmError("The token's algorithm is not accepted.")
    kid = header.get("kid")
    if not isinstance(kid, str) or not 0 < len(kid) <= MAX_KID_LENGTH:
        raise InvalidTokenError("The token header has no usable `kid`.")
    return keys.key_for(kid, alg)


def keys_unavailable(exc: KeysUnavailable):
    return error_response(
        503,
        "The auth server's signing keys cannot be fetched right now; retry shortly.",
        headers={"Retry-After": str(exc.retry_after)},
    )


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
    """Choose keys per token; make every token failure a 401 (flask-jwt-extended's
    defaults include 422s) and unreachable keys a 503."""
    if app.config.get("JWT_JWKS_URL"):
        app.extensions[JWKS_EXTENSION] = KeySet(
            app.config["JWT_JWKS_URL"],
            timeout=app.config["JWT_JWKS_TIMEOUT"],
            lifespan=app.config["JWT_JWKS_CACHE_SECONDS"],
            refresh_interval=app.config["JWT_JWKS_REFRESH_INTERVAL"],
        )
    jwt.decode_key_loader(decode_key)
    jwt.unauthorized_loader(lambda detail: unauthorized(detail, token_presented=False))
    jwt.invalid_token_loader(unauthorized)
    jwt.expired_token_loader(lambda *_: unauthorized("Token has expired."))
    jwt.revoked_token_loader(lambda *_: unauthorized("Token has been revoked."))
    jwt.needs_fresh_token_loader(lambda *_: unauthorized("Fresh token required."))
    jwt.user_lookup_error_loader(lambda *_: unauthorized("Unknown user."))
    jwt.token_verification_failed_loader(lambda *_: unauthorized("Token refused."))
    app.register_error_handler(InvalidToken, lambda exc: unauthorized(str(exc)))
    # PyJWT errors flask-jwt-extended has no handler for (a key PyJWT cannot use)
    app.register_error_handler(PyJWTError, lambda _exc: unauthorized("Token refused."))
    app.register_error_handler(KeysUnavailable, keys_unavailable)
