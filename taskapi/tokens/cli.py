"""flask create-access-token: an access token for a user, from the command line
(the same rules as POST /tokens)."""

import click
from flask.cli import with_appcontext
from marshmallow import ValidationError

from ..core.routes import SCOPES
from ..core.users import user_id_argument
from .schemas import DEFAULT_DAYS, TokenCreateSchema
from .service import create_token


@click.command("create-access-token")
@with_appcontext
@click.argument("user_id", callback=user_id_argument)
@click.option("--name", required=True, help="What the token is for (1-100 characters).")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    required=True,
    type=click.Choice(SCOPES),
    help="A scope; repeat for more.",
)
@click.option(
    "--days",
    default=DEFAULT_DAYS,
    show_default=True,
    type=click.IntRange(1, 366),
    help="Days until it expires.",
)
def create_access_token(user_id, name, scopes, days):
    """Create an access token for USER_ID and print it (shown this once)."""
    try:
        fields = TokenCreateSchema().load(
            {"name": name, "scopes": list(scopes), "expires_in_days": days}
        )
    except ValidationError as error:
        raise click.UsageError(str(error.messages)) from None
    click.echo(create_token(user_id, fields).token)


COMMANDS = (create_access_token,)
