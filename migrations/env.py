"""Alembic environment: runs against the app's own engine."""

from alembic import context

from taskapi import models  # noqa: F401  (registers the tables on Base.metadata)
from taskapi.db import Base

config = context.config


def engine():
    if "engine" in config.attributes:  # called from `flask db ...`
        return config.attributes["engine"]
    from taskapi import create_app  # called from the plain `alembic` command
    from taskapi.db import get_engine

    return get_engine(create_app())


with engine().connect() as connection:
    if connection.dialect.name == "postgresql":
        # The app's engine autocommits each statement; a migration is one transaction.
        connection.execution_options(isolation_level="READ COMMITTED")
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
