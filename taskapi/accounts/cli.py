"""flask purge-user: erase a user for good from the command line (what
DELETE /account does)."""

import click
from flask.cli import with_appcontext

from ..core.users import user_id_argument
from .service import erase_user


@click.command("purge-user")
@with_appcontext
@click.argument("user_id", callback=user_id_argument)
def purge_user(user_id):
    """Erase USER_ID for good: their tasks, lists, tokens, feeds, webhooks."""
    erase_user(user_id)
    click.echo(f"Erased {user_id}.")


COMMANDS = (purge_user,)
