"""Alembic environment: runs against the app's own engine."""

import importlib.util
import pkgutil
import warnings

from alembic import context
from alembic_utils.pg_function import PGFunction
from alembic_utils.pg_trigger import PGTrigger
from alembic_utils.replaceable_entity import register_entities, registry

import taskapi
from taskapi.core.db import Base
from taskapi.core.timeouts import lift_statement_timeout

config = context.config


def domain_modules(name: str):
    """Each domain's module `name` (taskapi/<domain>/<name>.py), imported."""
    for package in pkgutil.iter_modules(taskapi.__path__):
        module = f"taskapi.{package.name}.{name}"
        if package.ispkg and importlib.util.find_spec(module) is not None:
            yield importlib.import_module(module)


# Every domain's models.py, so that Base.metadata holds every table.
MODELS = list(domain_modules("models"))


def register_database_rules(dialect: str) -> set[str]:
    """Register the trigger functions and triggers each domain defines
    (taskapi/<domain>/triggers.py) with alembic_utils, so that autogenerate and
    `db check` compare them with the database; their names. PostgreSQL only:
    SQLite's own triggers (migration 0008's change counter) cannot be compared."""
    registry.clear()
    if dialect != "postgresql":
        return set()
    entities = [
        entity for module in domain_modules("triggers") for entity in module.ENTITIES
    ]
    register_entities(entities, entity_types=[PGFunction, PGTrigger])
    return {f"{entity.schema}.{entity.signature}" for entity in entities}


def engine():
    if "engine" in config.attributes:  # called from `flask db ...`
        return config.attributes["engine"]
    from taskapi import create_app  # called from the plain `alembic` command
    from taskapi.core.db import get_engine

    return get_engine(create_app())


def object_filters(connection):
    """What autogenerate and `db check` compare: the models and the database
    rules (triggers.py), less what the migrations deliberately leave out here and
    what Alembic cannot see."""
    dialect = connection.dialect.name
    rules = register_database_rules(dialect)
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
        if type_ == "table":
            return name in Base.metadata.tables
        if type_ in ("function", "trigger"):  # the same for its functions
            return name in rules
        return True

    def include_object(obj, name, type_, reflected, compare_to):
        if reflected:  # in the database only: always a difference
            return True
        info = getattr(obj, "info", {})  # alembic_utils' entities have none
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
