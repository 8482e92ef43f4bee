"""The SQL the app sends: a recorder of its statements, and EXPLAIN of the last one
(PostgreSQL)."""

import contextlib

from sqlalchemy import event

from taskapi.core.db import get_engine


def explain_last_statement(app, call, seqscan=True, nth=-1):
    """Run `call()`, then EXPLAIN (FORMAT JSON) the last statement the app sent
    (or the `nth`), with its parameters, as sent: (call's result, the plan's root
    node). `seqscan=False` for tables too small for the planner to use an index."""
    ran = []

    def record(conn, cursor, statement, parameters, context, executemany):
        ran.append((statement, parameters, cursor.connection))

    engine = get_engine(app)
    event.listen(engine, "after_cursor_execute", record)
    try:
        result = call()
    finally:
        event.remove(engine, "after_cursor_execute", record)
    statement, parameters, connection = ran[nth]
    # On the connection that ran it: `EXECUTE taskapi_N (...)` names a statement
    # prepared there, which is another statement, or none, on the pool's others.
    # Behind PgBouncer (no pool, nothing prepared) that one is closed: any will do.
    with contextlib.ExitStack() as stack:
        if connection.closed:
            connection = stack.enter_context(engine.connect()).connection
        with connection.cursor() as cursor:
            if not seqscan:
                cursor.execute("SET enable_seqscan = off")
            cursor.execute(f"EXPLAIN (FORMAT JSON) {statement}", parameters)
            plan = cursor.fetchone()[0][0]["Plan"]
            if not seqscan:
                cursor.execute("RESET enable_seqscan")  # the pooled one is shared
    return result, plan


def plan_nodes(plan) -> list:
    """(node type, index or table) of every node of a plan, depth first."""
    nodes = [(plan["Node Type"], plan.get("Index Name") or plan.get("Relation Name"))]
    for child in plan.get("Plans", []):
        nodes.extend(plan_nodes(child))
    return nodes


@contextlib.contextmanager
def sent_statements(app, engine=None, with_parameters=False):
    """The SQL text of each statement the app's engine (or `engine`) sent while
    the block ran, as sent: `EXECUTE taskapi_N (...)` for a prepared one
    (taskapi/core/prepared.py); `with_parameters`: (text, parameters) pairs."""
    sent = []

    def record(conn, cursor, statement, parameters, context, executemany):
        sent.append((statement, parameters) if with_parameters else statement)

    engine = engine or get_engine(app)
    event.listen(engine, "after_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine, "after_cursor_execute", record)
