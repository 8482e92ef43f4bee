"""A user's access tokens: creating (at most 50 live), reading and revoking
them; and the one look-up that turns a token into who it acts for
(auth/bearer.py's call), with last_used_at written at most once a minute."""

import functools
import json
import uuid
from datetime import timedelta
from typing import NamedTuple

from sqlalchemy import Text, bindparam, delete, func, or_, select, type_coerce, update
from werkzeug.exceptions import NotFound

from ..core.columns import utcnow
from ..core.db import (
    Session,
    begin_transaction,
    dbapi_first_row,
    refuse_past_limit,
)
from ..core.digests import digest
from ..core.prepared import prepared
from ..core.routes import READ, WRITE
from ..core.scope import of_user, uuid_or_404
from .format import new_token
from .models import AccessToken

MAX_LIVE_TOKENS = 50
TOKEN_NOT_FOUND = "Access token not found."
LAST_USED_RESOLUTION = timedelta(minutes=1)

# The database answers the time checks and hands the scopes over as text: what
# parses fastest on every request (the one statement every token pays for).
BY_HASH_SQL = (
    "SELECT id, user_id, scopes::text, expires_at <= now(), last_used_at IS NULL"
    " OR last_used_at < now() - interval"
    f" '{LAST_USED_RESOLUTION.total_seconds():g} seconds'"
    " FROM access_tokens WHERE token_hash = %s"
)
_BY_HASH = prepared(
    select(
        AccessToken.id,
        AccessToken.user_id,
        type_coerce(AccessToken.scopes, Text),
        AccessToken.expires_at,
        AccessToken.last_used_at,
    ).where(AccessToken.token_hash == bindparam("token_hash"))
)
_TOUCH = (
    update(AccessToken)
    .where(
        AccessToken.id == bindparam("token_id"),
        or_(
            AccessToken.last_used_at.is_(None),
            AccessToken.last_used_at < bindparam("stale_before"),
        ),
    )
    .values(last_used_at=bindparam("now"))
)


class Grant(NamedTuple):
    """Who a valid access token acts for, and its scopes (tasks:write brings
    tasks:read)."""

    user_id: str
    scopes: frozenset


class Refused(Exception):
    """An unknown, revoked or expired access token: a 401 with this detail."""


@functools.lru_cache(maxsize=64)
def granted_scopes(stored: str) -> frozenset:
    """The scopes a token's stored JSON list grants (a handful of distinct lists
    exist, so each is parsed once)."""
    scopes = frozenset(json.loads(stored))
    return scopes | {READ} if WRITE in scopes else scopes


def _row_by_hash(token_hash: str):
    """(id, user_id, scopes as JSON text, expired, last_used_at stale) of the
    token, or None."""
    connection = Session.connection()
    if connection.dialect.name == "postgresql":
        return dbapi_first_row(connection, BY_HASH_SQL, (token_hash,))
    row = connection.execute(_BY_HASH, {"token_hash": token_hash}).first()
    if row is None:
        return None
    token_id, user_id, scopes, expires_at, last_used_at = row
    now = utcnow()
    stale = last_used_at is None or last_used_at < now - LAST_USED_RESOLUTION
    return token_id, user_id, scopes, expires_at <= now, stale


def grant_for(token: str) -> Grant:
    """One indexed look-up by the token's SHA-256 (a well-formed token: the
    caller checked format.well_formed); a stale last_used_at is brought up to
    date by a guarded UPDATE that a concurrent request's makes a no-op.

    On the request's own connection (autocommitted), which its view goes on
    using: one checkout per request, as with a sign-in token (a write's
    begin_transaction ends this read first). On PostgreSQL through the driver's
    cursor: SQLAlchemy's statement and result machinery would double the cost
    of the check (bench/tokens.py)."""
    row = _row_by_hash(digest(token))
    if row is None:
        raise Refused("Unknown or revoked access token.")
    token_id, user_id, scopes, expired, stale = row
    if expired:
        raise Refused("The access token has expired.")
    if stale:
        now = utcnow()
        Session.execute(
            _TOUCH,
            {
                "token_id": uuid.UUID(str(token_id)),
                "stale_before": now - LAST_USED_RESOLUTION,
                "now": now,
            },
        )
        Session.commit()
    return Grant(user_id, granted_scopes(scopes))


def create_token(user_id: str, fields: dict) -> AccessToken:
    """The new row, carrying the token as `.token` (in this object only: the
    row holds its SHA-256). Under the user's tokens lock, so concurrent creates
    cannot all pass the count."""
    token = new_token()
    begin_transaction()
    now = utcnow()
    refuse_past_limit(
        f"access_tokens:{user_id}",
        select(func.count())
        .select_from(AccessToken)
        .where(*of_user(user_id, AccessToken), AccessToken.expires_at > now),
        MAX_LIVE_TOKENS,
        f"At most {MAX_LIVE_TOKENS} live access tokens per user: revoke one first.",
    )
    created = AccessToken(
        user_id=user_id,
        name=fields["name"],
        scopes=fields["scopes"],
        token_hash=digest(token),
        created_at=now,
        expires_at=now + timedelta(days=fields["expires_in_days"]),
    )
    Session.add(created)
    Session.commit()
    created.token = token
    return created


def get_tokens(user_id: str) -> list[AccessToken]:
    """Newest first."""
    return Session.scalars(
        select(AccessToken)
        .where(*of_user(user_id, AccessToken))
        .order_by(AccessToken.created_at.desc(), AccessToken.id.desc())
    ).all()


def get_token(user_id: str, token_id: str) -> AccessToken:
    found = Session.scalars(
        select(AccessToken).where(
            *of_user(user_id, AccessToken),
            AccessToken.id == uuid_or_404(token_id, TOKEN_NOT_FOUND),
        )
    ).one_or_none()
    if found is None:
        raise NotFound(TOKEN_NOT_FOUND)
    return found


def revoke_token(user_id: str, token_id: str) -> None:
    """Deleted: its next request finds no row, on every worker."""
    begin_transaction()
    revoked = Session.execute(
        delete(AccessToken).where(
            *of_user(user_id, AccessToken),
            AccessToken.id == uuid_or_404(token_id, TOKEN_NOT_FOUND),
        )
    ).rowcount
    if not revoked:
        raise NotFound(TOKEN_NOT_FOUND)
    Session.commit()
