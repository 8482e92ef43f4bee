"""flask commands: `flask --app wsgi <command> --help` explains each."""

import logging
import random
import signal
import sys
from datetime import timedelta
from pathlib import Path

import click
import jwt
from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.util import CommandError
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from . import idempotency, task_queries
from .auth import MAX_USER_ID_LENGTH
from .db import behind_pgbouncer, get_engine
from .models import PRIORITIES, utcnow
from .timeouts import store_role_timeouts
from .webhook_worker import Worker

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"

db_cli = AppGroup("db", help="Database schema migrations (Alembic).")


def alembic_config() -> AlembicConfig:
    # Show what Alembic does ("Running upgrade  -> 0001, ..."): the release phase's log.
    alembic_logger = logging.getLogger("alembic")
    if all(isinstance(h, logging.NullHandler) for h in alembic_logger.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        alembic_logger.addHandler(handler)
        alembic_logger.setLevel(logging.INFO)
    config = AlembicConfig(stdout=sys.stdout)  # the current one (click's, in tests)
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = get_engine(current_app)
    return config


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision):
    """Migrate the database up to REVISION (default: the newest)."""
    command.upgrade(alembic_config(), revision)
    config = current_app.config
    if behind_pgbouncer(config["SQLALCHEMY_DATABASE_URI"], config["DATABASE_POOL"]):
        # PgBouncer refuses the timeouts in the startup packet: the role's defaults
        stored = store_role_timeouts(get_engine(current_app), config)
        if stored:
            click.echo(stored)


@db_cli.command("downgrade")
@click.argument("revision", default="-1")
def db_downgrade(revision):
    """Migrate the database down to REVISION (default: one step)."""
    command.downgrade(alembic_config(), revision)


@db_cli.command("current")
def db_current():
    """Show the revision the database is at."""
    command.current(alembic_config(), verbose=False)


@db_cli.command("check")
def db_check():
    """Fail if the models and the migrated database differ (autogenerate finds
    something to do): a model change that needs a migration, or the reverse."""
    try:
        command.check(alembic_config())
    except CommandError as error:  # the differences, or a database not at head
        raise click.ClickException(str(error)) from None


@db_cli.command("revision")
@click.option("-m", "--message", required=True, help="What the migration does.")
@click.option(
    "--autogenerate", is_flag=True, help="Diff the models against the database."
)
def db_revision(message, autogenerate):
    """Write a new migration script to review and edit."""
    command.revision(alembic_config(), message=message, autogenerate=autogenerate)


def user_id_argument(value: str) -> str:
    if not 0 < len(value) <= MAX_USER_ID_LENGTH:
        raise click.BadParameter(f"must be 1-{MAX_USER_ID_LENGTH} characters")
    return value


@click.command("create-token")
@with_appcontext
@click.argument("user_id", callback=lambda ctx, param, value: user_id_argument(value))
@click.option(
    "--minutes",
    default=60,
    show_default=True,
    type=click.IntRange(1, 60 * 24 * 30),
    help="How long the token stays valid.",
)
def create_token(user_id, minutes):
    """Print an HS256 token for USER_ID signed with the app's secret (for local use)."""
    now = utcnow()
    claims = {"sub": user_id, "iat": now, "exp": now + timedelta(minutes=minutes)}
    click.echo(
        jwt.encode(claims, current_app.config["JWT_SECRET_KEY"], algorithm="HS256")
    )


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
@click.argument("user_id", callback=lambda ctx, param, value: user_id_argument(value))
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
    help="Purge tasks (and lists) deleted at least DAYS days ago.",
)
def purge_deleted(days):
    """Remove soft-deleted tasks, then lists no task refers to, for good."""
    purged = task_queries.purge_deleted(before=utcnow() - timedelta(days=days))
    click.echo(f"Purged {purged} deleted task(s) older than {days} day(s).")


@click.command("purge-idempotency-keys")
@with_appcontext
def purge_idempotency_keys():
    """Remove Idempotency-Key records older than 24 hours (they are expired)."""
    purged = idempotency.purge_expired()
    click.echo(f"Purged {purged} expired idempotency key(s).")


@click.command("mcp-stdio")
@click.option("--user", "user_id", required=True, help="The user the tools act for.")
@with_appcontext
def mcp_stdio(user_id):
    """Serve the MCP tools over stdio for a local agent, acting for --user."""
    from flask import current_app

    from .mcp_server import build_server

    if not 0 < len(user_id) <= MAX_USER_ID_LENGTH:
        raise click.BadParameter(f"must be 1-{MAX_USER_ID_LENGTH} characters")
    import anyio
    from mcp.server.stdio import stdio_server

    app = current_app._get_current_object()
    server = build_server(app, stdio_user=user_id)

    async def serve():
        async with stdio_server() as (read, write):
            await server.run(read, write, server.create_initialization_options())

    anyio.run(serve)


@click.command("deliver-webhooks")
@with_appcontext
def deliver_webhooks():
    """Run the webhook worker until SIGTERM or SIGINT (it exits within 10 s):
    deliver events, fire reminder.due (PostgreSQL only; several may run at once)."""
    if get_engine(current_app).dialect.name != "postgresql":
        raise click.ClickException("The webhook worker needs PostgreSQL.")
    worker = Worker(current_app)
    signal.signal(signal.SIGTERM, worker.stop)
    signal.signal(signal.SIGINT, worker.stop)
    worker.run()


def init_app(app) -> None:
    app.cli.add_command(db_cli)
    for cmd in (
        create_token,
        seed_demo,
        purge_deleted,
        purge_idempotency_keys,
        mcp_stdio,
        deliver_webhooks,
    ):
        app.cli.add_command(cmd)
