"""Alembic environment: runs against the app's own engine."""

import warnings

from alembic import context

from taskapi import models  # noqa: F401  (registers the tables on Base.metadata)
from taskapi.db import Base
from taskapi.timeouts import lift_statement_timeout

config = context.config


def engine():
    if "engine" in config.attributes:  # called from `flask db ...`
        return config.attributes["engine"]
    from taskapi import create_app  # called from the plain `alembic` command
    from taskapi.db import get_engine

    return get_engine(create_app())


def object_filters(connection):
    """What autogenerate and `db check` compare: the models, less what the
    migrations deliberately leave out here and what Alembic cannot see.

    (The task_counts triggers and their functions are invisible to Alembic and
    need no filter.)"""
    dialect = connection.dialect.name
    # Read when first needed: a query before the migration's own BEGIN would
    # leave Alembic inside a transaction it does not commit.
    extensions = []

    def installed(extension: str) -> bool:
        if not extensions:
            found = connection.exec_driver_sql("SELECT extname FROM pg_extension")
            extensions.extend(found.scalars())
        return extension in extensions

    def include_name(name, type_, parent_names):
        # A database shared with Better Auth holds its tables too: not ours to drop.
        return type_ != "table" or name in Base.metadata.tables

    def include_object(obj, name, type_, reflected, compare_to):
        if reflected:  # in the database only: always a difference
            return True
        info = obj.info
        if info.get("postgresql_only") and dialect != "postgresql":
            return False
        if info.get("sqlite_only") and dialect != "sqlite":
            return False
        if info.get("extension") and not installed(info["extension"]):
            return False  # migration 0003 skips it when the role may not create it
        # In both, with a definition Alembic cannot compare: its "change" is not one.
        return compare_to is None or info.get("compare_definition", True)

    if dialect == "sqlite":
        # Alembic warns that it cannot compare these expression indexes before it
        # asks include_object, which leaves them out anyway.
        for table in Base.metadata.tables.values():
            for index in table.indexes:
                if index.info.get("postgresql_only"):
                    warnings.filterwarnings("ignore", f".* index '{index.name}';")
    return include_name, include_object


with engine().connect() as connection:
    include_name, include_object = object_filters(connection)
    if connection.dialect.name == "postgresql":
        # The app's engine autocommits each statement; a migration is one transaction.
        connection.execution_options(isolation_level="READ COMMITTED")
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_name=include_name,
        include_object=include_object,
    )
    with context.begin_transaction():
        lift_statement_timeout(connection)  # rewriting a big table takes time
        context.run_migrations()
