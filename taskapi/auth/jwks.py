"""Better Auth's published signing keys (JWT_JWKS_URL): the key set, fetched and
cached through PyJWT's JWKS client, and the key each token is verified with,
chosen by its `alg` and `kid`. Keys that cannot be fetched answer 503."""

import math
import time

from flask import current_app
from jwt import PyJWK, PyJWKClient
from jwt.exceptions import (
    InvalidAlgorithmError,
    InvalidTokenError,
    PyJWKClientError,
    PyJWKSetError,
)

from ..config import ASYMMETRIC_ALGORITHMS
from ..core.errors import error_response

MAX_KID_LENGTH = 256
RSA_ALGORITHMS = ("RS256", "PS256")
JWKS_EXTENSION = "taskapi.jwks"


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
    """flask-jwt-extended's decode_key_loader: the key for this token's `alg`
    (HS256: the secret, never a published key; the others: the published key
    named by `kid`, never the secret)."""
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
