"""Erasing a user for good (DELETE /account, `flask purge-user`): one
transaction that removes everything the user owns and clears their id from
what stays with others (decision 0028).

What others saw of the user goes the way a deleted list or a member who leaves
goes, so that their change feeds and webhooks report it as for those: a list
that had members is deleted for them, its rows kept as emptied tombstones under
a placeholder owner until purge-deleted removes them; a membership elsewhere
ends, its row kept likewise. Nothing kept names the user."""

import uuid

from sqlalchemy import Text, cast, delete, func, or_, select, update

from ..calendars.models import CalendarFeed
from ..changes.models import TaskDeparture
from ..core.columns import utcnow
from ..core.db import Session, begin_transaction, dialect_name
from ..core.memberships import MEMBERS, Membership
from ..core.scope import of_user
from ..core.timeouts import lift_statement_timeout
from ..lists.models import LISTS, TaskList
from ..lists.service import sharing_lock
from ..reminders.models import Reminder
from ..reminders.service import creator
from ..sharing.models import Invitation
from ..tasks.models import TASKS, IdempotencyKey, ListTaskCount, Task, TaskCount
from ..tokens.models import AccessToken
from ..webhooks.models import Webhook, WebhookDelivery, WebhookEvent

# The columns of tasks others keep that may name the erased user: cleared.
NAMING_COLUMNS = ("created_by", "assignee_id", "changed_by")
PLACEHOLDER_PREFIX = "erased:"


def erase_user(user_id: str) -> None:
    """Remove the user's tasks, lists (deleted for their members too),
    memberships, invitations, tokens, calendar feeds, webhooks with their
    events and deliveries, reminders and idempotency keys; clear their id from
    the tasks and pending events that stay with other users. One transaction,
    exempt from the statement timeout (a user may own 100,000 tasks)."""
    begin_transaction()
    lift_statement_timeout(Session.connection())
    now = utcnow()
    # one placeholder per erasure: no two erased users' tombstones meet
    placeholder = f"{PLACEHOLDER_PREFIX}{uuid.uuid4().hex}"
    _leave_behind_tombstones(user_id, placeholder, now)
    _remove_owned(user_id)
    _clear_from_others(user_id, now)
    Session.commit()


def _shared_lists(user_id: str) -> list:
    """The user's lists that have (or had) members, each held as delete_list
    holds it: its row against new tasks (FOR NO KEY UPDATE waits for the
    creates holding it FOR SHARE), its sharing lock against a member joining."""
    lists = Session.scalars(
        select(LISTS.id)
        .where(*of_user(user_id, LISTS))
        .order_by(LISTS.id)
        .with_for_update(key_share=True)
    ).all()
    for list_id in lists:
        sharing_lock(list_id)
    return Session.scalars(
        select(MEMBERS.list_id).where(MEMBERS.list_id.in_(lists)).distinct()
    ).all()


def _leave_behind_tombstones(user_id: str, placeholder: str, now) -> None:
    """The user's shared lists and their tasks deleted, emptied and handed to
    the placeholder (the members' feeds and webhooks report them deleted, as
    for a deleted list); the user's memberships elsewhere ended likewise."""
    shared = _shared_lists(user_id)
    Session.execute(delete(Invitation).where(Invitation.list_id.in_(shared)))
    in_shared = (*of_user(user_id, TASKS), TASKS.list_id.in_(shared))
    Session.execute(
        delete(Reminder).where(Reminder.task_id.in_(select(TASKS.id).where(*in_shared)))
    )
    Session.execute(
        update(Task.__table__)
        .where(*in_shared)
        .values(
            user_id=placeholder,
            deleted_at=func.coalesce(TASKS.deleted_at, now),
            title="",
            description=None,
            tags=[],
            due_date=None,
            recurrence=None,
            reminders=[],
            created_by=None,
            assignee_id=None,
            changed_by=None,
            version=TASKS.version + 1,
            updated_at=now,
        )
    )
    Session.execute(
        update(TaskList.__table__)
        .where(LISTS.id.in_(shared))
        .values(
            user_id=placeholder,
            name="",
            name_key="",
            deleted_at=func.coalesce(LISTS.deleted_at, now),
            version=LISTS.version + 1,
            updated_at=now,
        )
    )
    Session.execute(
        update(Membership.__table__)
        .where(*of_user(user_id, MEMBERS))
        .values(user_id=placeholder, left_at=func.coalesce(MEMBERS.left_at, now))
    )


def _remove_owned(user_id: str) -> None:
    """Everything else of the user's, children first: SQLite does not cascade."""
    their_tasks = select(TASKS.id).where(*of_user(user_id, TASKS))
    their_lists = select(LISTS.id).where(*of_user(user_id, LISTS))
    their_webhooks = select(Webhook.id).where(*of_user(user_id, Webhook))
    removals = [
        delete(Reminder).where(Reminder.task_id.in_(their_tasks)),
        delete(WebhookEvent).where(WebhookEvent.webhook_id.in_(their_webhooks)),
        delete(WebhookDelivery).where(WebhookDelivery.webhook_id.in_(their_webhooks)),
        delete(Webhook).where(*of_user(user_id, Webhook)),
        delete(TaskDeparture).where(
            or_(
                TaskDeparture.list_id.in_(their_lists),
                TaskDeparture.task_id.in_(their_tasks),
            )
        ),
        delete(Invitation).where(
            or_(Invitation.created_by == user_id, Invitation.list_id.in_(their_lists))
        ),
        delete(CalendarFeed).where(
            or_(*of_user(user_id, CalendarFeed), CalendarFeed.list_id.in_(their_lists))
        ),
        delete(AccessToken).where(*of_user(user_id, AccessToken)),
        delete(IdempotencyKey).where(*of_user(user_id, IdempotencyKey)),
        # subtasks and parents in one statement: its foreign keys are checked at its end
        delete(Task).where(*of_user(user_id, Task)),
    ]
    if dialect_name() == "postgresql":  # the count triggers' rows
        removals.append(
            delete(ListTaskCount).where(ListTaskCount.list_id.in_(their_lists))
        )
    removals.append(delete(TaskList).where(*of_user(user_id, TaskList)))
    if dialect_name() == "postgresql":
        removals.append(delete(TaskCount).where(*of_user(user_id, TaskCount)))
    for statement in removals:
        Session.execute(statement)


def _clear_from_others(user_id: str, now) -> None:
    """Tasks the user created, was assigned or changed in others' lists stay
    there (they are the list owner's) without the user's id; so do the events
    waiting for the owners' webhooks."""
    for name in NAMING_COLUMNS:
        values = {name: None}
        if name == "assignee_id":  # a visible change, as when a member leaves
            values |= {"version": TASKS.version + 1, "updated_at": now}
        Session.execute(
            update(Task.__table__).where(TASKS[name] == user_id).values(values)
        )
    # the reminders of those tasks, which were addressed to their creator,
    # now go to whom a task without one is addressed: its place's owner
    Session.execute(
        update(Reminder)
        .where(*of_user(user_id, Reminder))
        .values(
            user_id=select(creator(TASKS))
            .where(TASKS.id == Reminder.task_id)
            .scalar_subquery()
        )
    )
    Session.execute(
        update(WebhookEvent).where(WebhookEvent.actor == user_id).values(actor=None)
    )
    # The task snapshots of pending events: few rows (the outbox drains), so
    # rewritten here rather than with each database's JSON functions.
    naming = select(WebhookEvent.id, WebhookEvent.task).where(
        cast(WebhookEvent.task, Text).contains(user_id, autoescape=True)
    )
    for event_id, task in Session.execute(naming).all():
        if user_id in task.values():
            cleared = {k: (None if v == user_id else v) for k, v in task.items()}
            Session.execute(
                update(WebhookEvent)
                .where(WebhookEvent.id == event_id)
                .values(task=cleared)
            )
