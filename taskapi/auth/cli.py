"""flask create-token: a token for local use, signed with the app's secret."""

from datetime import timedelta

import click
import jwt
from flask import current_app
from flask.cli import with_appcontext

from ..core.columns import utcnow
from ..core.users import user_id_argument


@click.command("create-token")
@with_appcontext
@click.argument("user_id", callback=user_id_argument)
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


COMMANDS = (create_token,)
