"""flask seed-demo, purge-deleted and purge-idempotency-keys."""

import random
from datetime import timedelta

import click
from flask.cli import with_appcontext

from ..changes import service as changes
from ..core.columns import utcnow
from ..core.users import user_id_argument
from . import idempotency
from . import service as task_queries
from .models import PRIORITIES

DEMO_TITLES = (
    "Buy milk",
    "Call the plumber",
    "Write the quarterly report",
    "Book flights",
    "Renew passport",
    "Water the plants",
    "Review pull request",
    "Plan the party",
)
DEMO_TAGS = ("home", "work", "errands", "travel", "urgent-ish")


@click.command("seed-demo")
@with_appcontext
@click.argument("user_id", callback=user_id_argument)
@click.option(
    "--count",
    default=20,
    show_default=True,
    type=click.IntRange(1, 10_000),
    help="How many tasks to create.",
)
def seed_demo(user_id, count):
    """Create COUNT sample tasks for USER_ID."""
    rng = random.Random(user_id)
    for number in range(1, count + 1):
        task_queries.create_task(
            user_id,
            {
                "title": f"{rng.choice(DEMO_TITLES)} #{number}",
                "description": rng.choice([None, "Created by seed-demo."]),
                "priority": rng.choice(PRIORITIES),
                "completed": rng.random() < 0.3,
                "due_date": rng.choice(
                    [None, utcnow() + timedelta(days=rng.randint(-3, 30))]
                ),
                "tags": rng.sample(DEMO_TAGS, rng.randint(0, 2)),
            },
        )
    click.echo(f"Created {count} tasks for {user_id}.")


@click.command("purge-deleted")
@with_appcontext
@click.option(
    "--older-than",
    "days",
    required=True,
    type=click.IntRange(min=0),
    help="Purge tasks (and lists) deleted, and memberships ended, at least DAYS "
    "days ago.",
)
def purge_deleted(days):
    """Remove soft-deleted tasks, then lists no task refers to, for good; then
    ended memberships and the change feed's departures as old (a cursor older
    than any of them answers 410)."""
    before = utcnow() - timedelta(days=days)
    purged = task_queries.purge_deleted(before=before)
    members, departures = changes.purge_memberships_and_departures(before)
    click.echo(f"Purged {purged} deleted task(s) older than {days} day(s).")
    click.echo(
        f"Purged {members} ended membership(s) and {departures} task departure(s)."
    )


@click.command("purge-idempotency-keys")
@with_appcontext
def purge_idempotency_keys():
    """Remove Idempotency-Key records older than 24 hours (they are expired)."""
    purged = idempotency.purge_expired()
    click.echo(f"Purged {purged} expired idempotency key(s).")


COMMANDS = (seed_demo, purge_deleted, purge_idempotency_keys)
