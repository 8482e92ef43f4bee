"""flask deliver-webhooks: the webhook worker (the Procfile's `worker:`)."""

import signal

import click
from flask import current_app
from flask.cli import with_appcontext

from ..core.db import get_engine
from .worker import Worker


@click.command("deliver-webhooks")
@with_appcontext
def deliver_webhooks():
    """Run the webhook worker until SIGTERM or SIGINT: deliver events, fire
    reminder.due (PostgreSQL only; several may run at once)."""
    if get_engine(current_app).dialect.name != "postgresql":
        raise click.ClickException("The webhook worker needs PostgreSQL.")
    worker = Worker(current_app)
    signal.signal(signal.SIGTERM, worker.stop)
    signal.signal(signal.SIGINT, worker.stop)
    worker.run()


COMMANDS = (deliver_webhooks,)
