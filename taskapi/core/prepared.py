"""Server-side prepared statements for the hot statements (PostgreSQL).

psycopg2 sends every statement as text, which PostgreSQL parses and plans on every
execution; for these statements planning costs more than running them. Not used
behind a transaction-pooling PgBouncer (db.prepares_statements), which hands each
transaction to any server connection, where the statement was never prepared.
"""

import re

from sqlalchemy import event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.types import NullType

OPTION = "taskapi_prepared"
_ON_CONNECTION = "taskapi.prepared"  # in the pool's per-connection info
_PLACEHOLDER = re.compile(r"%\((\w+)\)s")  # psycopg2's named parameters
# invalid_sql_statement_name (the statement is gone); feature_not_supported
# ("cached plan must not change result type": the table changed under it)
STALE_STATEMENT_CODES = frozenset({"26000", "0A000"})


def prepared(statement):
    """Mark a statement built once (module level or cached) to run prepared.

    On each pooled connection it is PREPAREd the first time it runs there, then
    sent as `EXECUTE name(parameters)`; PostgreSQL keeps a generic plan once it
    is as good. Mark only statements whose text does not change with the
    request, so that each connection holds a few dozen at most."""
    return statement.execution_options(**{OPTION: True})


def _parameter_type(bind, dialect) -> str:
    # LIMIT and OFFSET binds carry no type: PostgreSQL infers it ("unknown")
    if isinstance(bind.type, NullType):
        return "unknown"
    type_ = bind.type.dialect_impl(dialect)
    if getattr(type_, "collation", None):
        # a parameter's type takes no COLLATE (tasks.position is "C")
        type_ = type_.copy()
        type_.collation = None
    return type_.compile(dialect=dialect)


def _prepare(cursor, statement: str, context, name: str) -> str:
    """PREPARE the statement under `name`; the EXECUTE text that runs it."""
    names: list[str] = []

    def number(match) -> str:
        if match.group(1) not in names:
            names.append(match.group(1))
        return f"${names.index(match.group(1)) + 1}"

    body = _PLACEHOLDER.sub(number, statement).replace("%%", "%")
    binds = {key: bind for bind, key in context.compiled.bind_names.items()}
    types = [_parameter_type(binds[key], context.dialect) for key in names]
    cursor.execute(f"PREPARE {name}{_listed(types)} AS {body}")
    return f"EXECUTE {name}{_listed(f'%({key})s' for key in names)}"


def _listed(items) -> str:
    """` (a, b)`, or nothing: PostgreSQL refuses an empty list (`PREPARE name ()`)."""
    text = ", ".join(items)
    return f" ({text})" if text else ""


def _run_prepared(conn, cursor, statement, parameters, context, executemany):
    """before_cursor_execute: a marked statement runs as EXECUTE of its prepared
    twin on this connection. SQLAlchemy clears `conn.info` whenever the pool
    replaces the DBAPI connection, so a fresh connection prepares again."""
    if executemany or not context.execution_options.get(OPTION):
        return statement, parameters
    on_connection = conn.info.setdefault(_ON_CONNECTION, {})
    executed = on_connection.get(statement)
    if executed is None:
        name = f"taskapi_{len(on_connection)}"
        executed = on_connection[statement] = _prepare(cursor, statement, context, name)
    return executed, parameters


def _stale_statement_is_a_lost_connection(context):
    """handle_error: a gone or stale prepared statement (a migration changed a
    column's type while this worker ran) is handled as a dropped connection: the
    pool replaces it, the request answers 503 with Retry-After, and the next one
    prepares again on a fresh connection."""
    code = getattr(context.original_exception, "pgcode", None)
    execution = context.execution_context
    if (
        code in STALE_STATEMENT_CODES
        and execution is not None
        and execution.execution_options.get(OPTION)
    ):
        context.is_disconnect = True
        return DisconnectionError(
            f"prepared statement unusable: {context.original_exception}"
        )
    return None


def init_engine(engine) -> None:
    event.listen(engine, "before_cursor_execute", _run_prepared, retval=True)
    event.listen(engine, "handle_error", _stale_statement_is_a_lost_connection)
