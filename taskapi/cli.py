"""flask commands: `flask --app wsgi <command> --help` explains each.

`flask db ...` (Alembic) is here; each domain adds its own commands from its
cli.py: create-token (auth), seed-demo and the purges (tasks), mcp-stdio (mcp),
deliver-webhooks (webhooks), create-access-token (tokens)."""

import logging
import sys
from pathlib import Path

import click
from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.util import CommandError
from flask import current_app
from flask.cli import AppGroup

from .core.db import behind_pgbouncer, get_engine
from .core.timeouts import store_role_timeouts

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


def init_app(app) -> None:
    """`flask db ...`, and each domain's own commands (its cli.py)."""
    from .accounts.cli import COMMANDS as ACCOUNTS
    from .auth.cli import COMMANDS as AUTH
    from .mcp.cli import COMMANDS as MCP
    from .tasks.cli import COMMANDS as TASKS
    from .tokens.cli import COMMANDS as TOKENS
    from .webhooks.cli import COMMANDS as WEBHOOKS

    app.cli.add_command(db_cli)
    for domain_command in (*AUTH, *TASKS, *MCP, *WEBHOOKS, *TOKENS, *ACCOUNTS):
        app.cli.add_command(domain_command)
