"""Who is calling: the bearer token check that runs before every /api request.

A sign-in token (a JWT) is verified by flask-jwt-extended: HS256 with the shared
secret and, with JWT_JWKS_URL, Better Auth's published keys (jwks.py). The user
id is `sub`, else `user.id`. An access token (`tsk_...`, tokens/) is checked for
its form and checksum, then looked up once; the scope the route declares
(core/routes.py) is checked here and nowhere else. Every token failure answers
401 with `WWW-Authenticate: Bearer`; a scope the token lacks, 403
`insufficient_scope`; keys that cannot be fetched, 503 with `Retry-After`.
"""

import contextlib
import threading
import time
from collections import OrderedDict
from typing import NamedTuple

from flask import current_app, g, request
from flask_jwt_extended import get_jwt, get_jwt_header, verify_jwt_in_request
from flask_jwt_extended.exceptions import JWTExtendedException
from jwt import PyJWTError
from werkzeug.exceptions import Forbidden, RequestHeaderFieldsTooLarge

from ..core.errors import error_response
from ..core.routes import SIGN_IN_ONLY, required_scope
from ..core.users import usable_id
from ..extensions import jwt
from ..tokens import service as access_tokens
from ..tokens.format import PREFIX as ACCESS_TOKEN_PREFIX
from ..tokens.format import well_formed
from . import better_auth
from .better_auth import Subject, subject_of
from .jwks import JWKS_EXTENSION, KeySet, KeysUnavailable, decode_key, keys_unavailable

# Real tokens are 200 bytes to 2 KiB; anything this large is refused before decoding.
MAX_AUTHORIZATION_LENGTH = 8192
VERIFIED_TOKENS_EXTENSION = "taskapi.verified_tokens"
PROTECTED_EXTENSION = "taskapi.protected_blueprints"
ACCESS_TOKEN_HEADER = "Bearer " + ACCESS_TOKEN_PREFIX


class InvalidToken(Exception):
    """A token that verified but does not name a user, or that PyJWT tripped over."""


class InsufficientScope(Exception):
    """An access token without the scope the route needs (None: a sign-in
    token is needed)."""

    def __init__(self, scope: str | None):
        super().__init__(scope)
        self.scope = scope


def insufficient_scope(exc: InsufficientScope):
    """403 with RFC 6750's challenge naming the scope needed."""
    if exc.scope is None:
        detail = "This route takes a sign-in token only, not an access token."
        challenge = (
            'Bearer error="insufficient_scope", '
            'error_description="a sign-in token is needed"'
        )
    else:
        detail = f"This access token lacks the {exc.scope} scope."
        challenge = f'Bearer error="insufficient_scope", scope="{exc.scope}"'
    return error_response(403, detail, headers={"WWW-Authenticate": challenge})


def unauthorized(detail: str, *, token_presented: bool = True):
    challenge = 'Bearer error="invalid_token"' if token_presented else "Bearer"
    if request.path == "/mcp" and current_app.config.get("MCP_AUTHORIZATION_SERVER"):
        # RFC 9728: where an MCP client finds the server that issues tokens
        metadata = f"{request.host_url}.well-known/oauth-protected-resource/mcp"
        challenge += f', resource_metadata="{metadata}"'
    return error_response(401, detail, headers={"WWW-Authenticate": challenge})


def better_auth_unreachable(exc: better_auth.Unreachable):
    return error_response(
        503,
        "Better Auth's database cannot be reached to check the session; retry shortly.",
        headers={"Retry-After": str(exc.retry_after)},
    )


def user_id_from_claims(claims: dict) -> str | None:
    """`sub`, else `user.id`, if usable_id; else None."""
    user_id = claims.get("sub")
    if user_id is None:
        user = claims.get("user")
        user_id = user.get("id") if isinstance(user, dict) else None
    return user_id if usable_id(user_id) else None


class Identity(NamedTuple):
    """Who a verified token names, and what it stands for in Better Auth."""

    user_id: str
    subject: Subject


class VerifiedTokens:
    """HS256 tokens that verified, by their exact Authorization header: who they
    name and the time (exp + leeway) they stop being accepted. A frontend sends
    the same token with every request, whose next requests then skip the
    decoding and the HMAC.

    Safe to remember because nothing about such a token can change while this
    process runs: its claims are signed, the secret is fixed at start-up, and the
    only time-dependent check is `exp`, which is checked again on every use (`nbf`
    and `iat` passed already and stay passed). Tokens signed with published keys
    (JWKS) are not remembered: a key can be withdrawn from the set. At most
    `max_size` tokens are kept; the oldest entry makes room for a new one.
    Whether the token's session still exists is not remembered here: that is
    checked on every use (better_auth.check), cached for its own interval.
    """

    def __init__(self, leeway: float, max_size: int = 10_000):
        self.leeway = leeway
        self.max_size = max_size
        # OrderedDict: its get, pop and popitem are each atomic under the GIL
        self._tokens: OrderedDict[str, tuple[Identity, float]] = OrderedDict()
        self._lock = threading.Lock()

    def identity_for(self, authorization: str) -> Identity | None:
        """Who a remembered, unexpired token names; None for any other token."""
        entry = self._tokens.get(authorization)
        if entry is None:
            return None
        identity, expires_at = entry
        if time.time() < expires_at:
            return identity
        self._tokens.pop(authorization, None)
        return None

    def remember(self, authorization: str, identity: Identity, claims: dict) -> None:
        expires_at = float(claims["exp"]) + self.leeway
        with self._lock:
            if len(self._tokens) >= self.max_size:
                # the oldest; KeyError: identity_for() emptied it meanwhile
                with contextlib.suppress(KeyError):
                    self._tokens.popitem(last=False)
            self._tokens[authorization] = (identity, expires_at)


def verified_identity(authorization: str) -> Identity:
    """Verify the request's token with flask-jwt-extended; who it names."""
    try:
        verify_jwt_in_request()
        claims = get_jwt()
        user_id = user_id_from_claims(claims)
    except (JWTExtendedException, PyJWTError):
        raise  # answered by the callbacks below
    except (ValueError, TypeError, OverflowError, KeyError) as exc:
        raise InvalidToken("Token claims are malformed.") from exc
    if user_id is None:
        raise InvalidToken("Token does not name a user (no usable `sub` or `user.id`).")
    identity = Identity(user_id, subject_of(claims, user_id))
    if not usable_id(identity.subject.id):  # it is looked up in Better Auth's table
        raise InvalidToken("Token names a session id that no session can have.")
    if get_jwt_header().get("alg") == "HS256":
        current_app.extensions[VERIFIED_TOKENS_EXTENSION].remember(
            authorization, identity, claims
        )
    return identity


def access_token_identity(token: str) -> tuple[Identity, frozenset]:
    """Who an access token acts for, and its scopes. A malformed one or a bad
    checksum is refused before any database look-up."""
    if not well_formed(token):
        raise InvalidToken("Malformed access token (a character wrong or missing?).")
    try:
        grant = access_tokens.grant_for(token)
    except access_tokens.Refused as refused:
        raise InvalidToken(str(refused)) from None
    # its user must still exist in Better Auth (with the session check on)
    return Identity(grant.user_id, Subject("user", grant.user_id)), grant.scopes


def check_scope(scopes: frozenset) -> None:
    """The one place a route's declared scope meets an access token's."""
    needed = required_scope(current_app, request.endpoint, request.method)
    if needed == SIGN_IN_ONLY:
        raise InsufficientScope(None)
    if needed not in scopes:  # an undeclared route (None) takes no access token
        raise InsufficientScope(needed)


def authenticate():
    """before_request: for the protected blueprints' routes, sets `g.user_id`
    (and for an access token `g.token_scopes`) or refuses."""
    if request.blueprint not in current_app.extensions[PROTECTED_EXTENSION]:
        return None
    if request.method == "OPTIONS":  # CORS preflight carries no token
        return None
    authorization = request.headers.get("Authorization", "")
    if len(authorization) > MAX_AUTHORIZATION_LENGTH:
        raise RequestHeaderFieldsTooLarge(
            f"The Authorization header is over {MAX_AUTHORIZATION_LENGTH} characters; "
            "no token is that long."
        )
    scopes = None
    if authorization.startswith(ACCESS_TOKEN_HEADER):
        identity, scopes = access_token_identity(authorization[len("Bearer ") :])
    else:
        identity = current_app.extensions[VERIFIED_TOKENS_EXTENSION].identity_for(
            authorization
        ) or verified_identity(authorization)
    better_auth.check(identity.subject)
    g.user_id = user_id = identity.user_id
    # /api/<user_id>/...: the path's user, set aside by the blueprint's
    # url_value_preprocessor (which runs before this hook); 403 after the 401s
    path_user = g.get("path_user_id")
    if path_user is not None and path_user != user_id:
        raise Forbidden("This token belongs to another user.")
    if scopes is not None:
        check_scope(scopes)
        g.token_scopes = scopes
    return None


def init_app(app, protected_blueprints) -> None:
    """Require a token on every route of `protected_blueprints`; choose keys per
    token; make every token failure a 401 (flask-jwt-extended's defaults include
    422s) and unreachable keys a 503.

    The check is an app-level before_request, registered before the rate limiter's
    (ratelimit.init_app): Flask runs app-level hooks in order and before any
    blueprint's, and the limiter counts per user, so it needs the user first.
    """
    app.extensions[PROTECTED_EXTENSION] = frozenset(
        blueprint.name for blueprint in protected_blueprints
    )
    app.before_request(authenticate)
    if app.config.get("JWT_JWKS_URL"):
        app.extensions[JWKS_EXTENSION] = KeySet(
            app.config["JWT_JWKS_URL"],
            timeout=app.config["JWT_JWKS_TIMEOUT"],
            lifespan=app.config["JWT_JWKS_CACHE_SECONDS"],
            refresh_interval=app.config["JWT_JWKS_REFRESH_INTERVAL"],
        )
    app.extensions[VERIFIED_TOKENS_EXTENSION] = VerifiedTokens(
        leeway=app.config["JWT_DECODE_LEEWAY"]
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
    app.register_error_handler(InsufficientScope, insufficient_scope)
    # PyJWT errors flask-jwt-extended has no handler for (a key PyJWT cannot use)
    app.register_error_handler(PyJWTError, lambda _exc: unauthorized("Token refused."))
    app.register_error_handler(KeysUnavailable, keys_unavailable)
    better_auth.init_app(app)
    app.register_error_handler(better_auth.Refused, lambda exc: unauthorized(str(exc)))
    app.register_error_handler(better_auth.Unreachable, better_auth_unreachable)
