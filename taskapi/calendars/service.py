"""A user's calendar feeds: creating (at most 20), listing and revoking them;
and serving one by its secret: the look-up, the ETag from one aggregate
statement, and the tasks read in keyset pages (bounded memory, whatever their
number) for the view to stream."""

import secrets
import uuid
from collections.abc import Iterator
from types import SimpleNamespace

from sqlalchemy import delete, func, select
from werkzeug.exceptions import NotFound

from ..core.columns import utcnow
from ..core.db import Session, begin_transaction, refuse_past_limit
from ..core.digests import digest
from ..core.errors import invalid
from ..core.pagination import keyset_pages
from ..core.scope import in_list, of_user, seen_lists, seen_tasks, uuid_or_404
from ..lists.models import LIST_NOT_FOUND, LISTS
from ..tasks.models import TASKS
from . import ics
from .models import CalendarFeed

MAX_FEEDS = 20
FEED_NOT_FOUND = "Calendar feed not found."
ALL_TASKS_NAME = "Tasks"
PAGE_SIZE = 500
# Bumped when the document's form changes, so every feed's ETag changes with it.
FORMAT_VERSION = 1
# token_urlsafe(24): 192 random bits, 32 URL-safe characters.
SECRET_BYTES = 24
SECRET_LENGTH = 32

COLUMNS = (
    TASKS.id,
    TASKS.title,
    TASKS.description,
    TASKS.due_date,
    TASKS.tags,
    TASKS.priority,
    TASKS.created_at,
    TASKS.updated_at,
    TASKS.version,
    TASKS.recurrence,
    TASKS.reminders,
)


def well_formed(secret: str) -> bool:
    return len(secret) == SECRET_LENGTH and all(
        c.isascii() and (c.isalnum() or c in "-_") for c in secret
    )


def create_feed(user_id: str, fields: dict) -> CalendarFeed:
    """The new row, carrying its secret as `.secret` (in this object only: the
    row holds its SHA-256). Under the user's feeds lock, so concurrent creates
    cannot all pass the count."""
    secret = secrets.token_urlsafe(SECRET_BYTES)
    begin_transaction()
    list_id = fields.get("list_id")
    if list_id is not None and not _sees_list(user_id, list_id):
        raise invalid("list_id", LIST_NOT_FOUND)
    refuse_past_limit(
        f"calendar_feeds:{user_id}",
        select(func.count())
        .select_from(CalendarFeed)
        .where(*of_user(user_id, CalendarFeed)),
        MAX_FEEDS,
        f"At most {MAX_FEEDS} calendar feeds per user: revoke one first.",
    )
    created = CalendarFeed(
        user_id=user_id,
        list_id=list_id,
        secret_hash=digest(secret),
        created_at=utcnow(),
    )
    Session.add(created)
    Session.commit()
    created.secret = secret
    return created


def _sees_list(user_id: str, list_id: uuid.UUID) -> bool:
    return (
        Session.execute(
            select(LISTS.id).where(*seen_lists(user_id, LISTS), LISTS.id == list_id)
        ).first()
        is not None
    )


def get_feeds(user_id: str) -> list[CalendarFeed]:
    """Newest first."""
    return Session.scalars(
        select(CalendarFeed)
        .where(*of_user(user_id, CalendarFeed))
        .order_by(CalendarFeed.created_at.desc(), CalendarFeed.id.desc())
    ).all()


def revoke_feed(user_id: str, feed_id: str) -> None:
    """Deleted: its URL is 404 from the next poll on."""
    begin_transaction()
    revoked = Session.execute(
        delete(CalendarFeed).where(
            *of_user(user_id, CalendarFeed),
            CalendarFeed.id == uuid_or_404(feed_id, FEED_NOT_FOUND),
        )
    ).rowcount
    if not revoked:
        raise NotFound(FEED_NOT_FOUND)
    Session.commit()


# Serving a feed ---------------------------------------------------------------


class Feed(SimpleNamespace):
    """A feed being served: `id`, `user_id`, `list_id`, `name` (X-WR-CALNAME),
    `conditions` (the WHERE clause of its tasks), and `version`, which with
    `id` makes its ETag (core/etags.py)."""


def feed_by_secret(secret: str) -> Feed:
    """The feed whose URL holds `secret`, with its tasks' WHERE clause; 404 for
    an unknown or revoked secret, or a list the user no longer sees."""
    if not well_formed(secret):
        raise NotFound(FEED_NOT_FOUND)
    row = Session.execute(
        select(CalendarFeed.id, CalendarFeed.user_id, CalendarFeed.list_id).where(
            CalendarFeed.secret_hash == digest(secret)
        )
    ).first()
    if row is None:
        raise NotFound(FEED_NOT_FOUND)
    feed_id, user_id, list_id = row
    open_and_dated = (
        TASKS.due_date.is_not(None),
        TASKS.completed.is_(False),
        TASKS.deleted_at.is_(None),
    )
    if list_id is None:
        conditions = (*seen_tasks(user_id, TASKS), *open_and_dated)
        name, list_version = ALL_TASKS_NAME, 0
    else:
        seen = Session.execute(
            select(LISTS.user_id, LISTS.name, LISTS.version).where(
                *seen_lists(user_id, LISTS), LISTS.id == list_id
            )
        ).first()
        if seen is None:  # deleted, or the user left it
            raise NotFound(FEED_NOT_FOUND)
        owner_id, name, list_version = seen
        conditions = (*in_list(TASKS, list_id, owner_id), *open_and_dated)
    feed = Feed(id=feed_id, user_id=user_id, list_id=list_id, name=name)
    feed.conditions = conditions
    feed.version = _version(conditions, list_version)
    return feed


def _version(conditions, list_version: int) -> str:
    """What changes whenever the document would: the number of its tasks, the
    latest change among them and the sum of their versions (a task leaving the
    feed lowers the count or the sum; one entering or changing raises the
    latest or the sum), the list's version (its name), the format."""
    count, latest, versions = Session.execute(
        select(func.count(), func.max(TASKS.updated_at), func.sum(TASKS.version)).where(
            *conditions
        )
    ).one()
    stamp = latest.isoformat() if latest is not None else "-"
    return f"{FORMAT_VERSION}:{list_version}:{count}:{stamp}:{versions or 0}"


def zones(feed: Feed) -> list[str]:
    """The time zones of the feed's recurring tasks (one VTIMEZONE each)."""
    named = Session.execute(
        select(TASKS.recurrence["timezone"].as_string())
        .where(*feed.conditions, TASKS.recurrence.is_not(None))
        .distinct()
    ).scalars()
    return sorted({ics.zone_of({"timezone": name or "UTC"}) for name in named})


def tasks(feed: Feed) -> Iterator:
    """The feed's tasks in pages of PAGE_SIZE, by (due_date, id): memory holds
    one page at a time."""
    statement = select(*COLUMNS).where(*feed.conditions)
    for page in keyset_pages(statement, (TASKS.due_date, TASKS.id), PAGE_SIZE):
        yield from page
