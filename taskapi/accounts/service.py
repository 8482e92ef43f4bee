"""Erasing a user for good (DELETE /account, `flask purge-user`): one
transaction that removes everything the user owns and clears their id from
what stays with others (decision 0028)."""

from sqlalchemy import Text, cast, delete, or_, select, update

from ..calendars.models import CalendarFeed
from ..changes.models import TaskDeparture
from ..changes.service import record_purge
from ..core.columns import utcnow
from ..core.db import Session, begin_transaction, dialect_name
from ..core.memberships import MEMBERS, Membership
from ..core.timeouts import lift_statement_timeout
from ..lists.models import LISTS, TaskList
from ..reminders.models import Reminder
from ..sharing.models import Invitation
from ..tasks.models import TASKS, IdempotencyKey, ListTaskCount, Task, TaskCount
from ..tokens.models import AccessToken
from ..webhooks.models import Webhook, WebhookDelivery, WebhookEvent

# The columns of tasks others keep that may name the erased user: cleared.
NAMING_COLUMNS = ("created_by", "assignee_id", "changed_by")


def erase_user(user_id: str) -> None:
    """Remove the user's tasks, lists (for their members too), memberships,
    invitations, tokens, calendar feeds, webhooks with their events and
    deliveries, reminders and idempotency keys; clear their id from the tasks
    and pending events that stay with other users. One transaction, exempt
    from the statement timeout (a user may own 100,000 tasks)."""
    begin_transaction()
    lift_statement_timeout(Session.connection())
    now = utcnow()
    their_tasks = select(TASKS.id).where(TASKS.user_id == user_id)
    their_lists = select(LISTS.id).where(LISTS.user_id == user_id)
    # Written first, these rows carry this transaction's change number: raising
    # the purge mark to it makes every older cursor answer 410, so the members
    # of the user's lists (and the owners of lists they were in) resynchronise
    # without them.
    Session.execute(
        update(TaskList.__table__)
        .where(LISTS.user_id == user_id)
        .values(version=LISTS.version + 1)
    )
    Session.execute(
        update(Membership.__table__)
        .where(or_(MEMBERS.user_id == user_id, MEMBERS.list_id.in_(their_lists)))
        .values(left_at=now)
    )
    record_purge(
        their_tasks,
        their_lists,
        select(MEMBERS.change_xid).where(
            or_(MEMBERS.user_id == user_id, MEMBERS.list_id.in_(their_lists))
        ),
    )
    _remove_owned(user_id, their_tasks, their_lists)
    _clear_from_others(user_id, now)
    Session.commit()


def _remove_owned(user_id: str, their_tasks, their_lists) -> None:
    """Children first: SQLite does not cascade."""
    their_webhooks = select(Webhook.id).where(Webhook.user_id == user_id)
    removals = [
        delete(Reminder).where(
            or_(Reminder.user_id == user_id, Reminder.task_id.in_(their_tasks))
        ),
        delete(WebhookEvent).where(WebhookEvent.webhook_id.in_(their_webhooks)),
        delete(WebhookDelivery).where(WebhookDelivery.webhook_id.in_(their_webhooks)),
        delete(Webhook).where(Webhook.user_id == user_id),
        delete(TaskDeparture).where(
            or_(
                TaskDeparture.list_id.in_(their_lists),
                TaskDeparture.task_id.in_(their_tasks),
            )
        ),
        delete(Invitation).where(
            or_(Invitation.created_by == user_id, Invitation.list_id.in_(their_lists))
        ),
        delete(Membership).where(
            or_(Membership.user_id == user_id, Membership.list_id.in_(their_lists))
        ),
        delete(CalendarFeed).where(
            or_(CalendarFeed.user_id == user_id, CalendarFeed.list_id.in_(their_lists))
        ),
        delete(AccessToken).where(AccessToken.user_id == user_id),
        delete(IdempotencyKey).where(IdempotencyKey.user_id == user_id),
        # subtasks before parents: one statement checks its foreign keys at its end
        delete(Task).where(Task.user_id == user_id),
        delete(TaskList).where(TaskList.user_id == user_id),
    ]
    if dialect_name() == "postgresql":
        # the count triggers wrote these rows as the tasks went
        removals += [
            delete(TaskCount).where(TaskCount.user_id == user_id),
            delete(ListTaskCount).where(ListTaskCount.list_id.in_(their_lists)),
        ]
    for statement in removals:
        Session.execute(statement)


def _clear_from_others(user_id: str, now) -> None:
    """Tasks the user created, was assigned or changed in others' lists stay
    there (they are the list owner's) without the user's id; so do the events
    waiting for the owners' webhooks."""
    for name in NAMING_COLUMNS:
        values = {name: None}
        if name == "assignee_id":  # a visible change: members sync it
            values |= {"version": TASKS.version + 1, "updated_at": now}
        Session.execute(
            update(Task.__table__).where(TASKS[name] == user_id).values(values)
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
