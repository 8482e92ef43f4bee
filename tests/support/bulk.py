"""Rows in bulk, for tests whose subject needs more tasks than the API would
create in a test's time (a user at the 100,000-task limit, a migration over a big
table): one statement, exempt from the statement timeout, as a migration is."""

from sqlalchemy import text

from taskapi.core.timeouts import lift_statement_timeout

_ROWS = {
    "postgresql": "SELECT i FROM generate_series(1, :count) AS i",
    "sqlite": """SELECT i FROM (WITH RECURSIVE n(i) AS (
                     SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :count)
                 SELECT i FROM n)""",
}
_ID = {
    "postgresql": "gen_random_uuid()",
    "sqlite": "lower(hex(randomblob(16)))",
}
_POSITION = {  # after any position the API hands out ('a0', 'a1', ...)
    "postgresql": "'Z' || lpad(i::text, 6, '0')",
    "sqlite": "'Z' || substr('00000' || i, -6)",
}


def run_unbounded(engine, statement: str, **parameters):
    """Run one statement in a transaction of its own, with no statement timeout."""
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="READ COMMITTED")
        with conn.begin():
            lift_statement_timeout(conn)
            return conn.execute(text(statement), parameters).rowcount


def add_tasks(engine, user_id: str, count: int, *, live: bool = True) -> None:
    """`count` plain tasks in the user's inbox, titled "Bulk <n>".

    Live ones are made deleted, then restored in one UPDATE, as an operator
    would restore them: SQLite's limit trigger counts the user's tasks for each
    row it inserts, which would make one INSERT of 100,000 quadratic."""
    dialect = engine.dialect.name
    run_unbounded(
        engine,
        f"""INSERT INTO tasks (id, user_id, title, status, completed, priority, tags,
                               position, created_at, updated_at, deleted_at, version)
            SELECT {_ID[dialect]}, :user_id, 'Bulk ' || i, 'pending', false, 1,
                   '[]', {_POSITION[dialect]}, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP,
                   CURRENT_TIMESTAMP, 1
            FROM ({_ROWS[dialect]}) AS numbers""",
        user_id=user_id,
        count=count,
    )
    if live:
        run_unbounded(
            engine,
            "UPDATE tasks SET deleted_at = NULL WHERE user_id = :user_id "
            "AND title LIKE 'Bulk %' AND deleted_at IS NOT NULL",
            user_id=user_id,
        )
    if dialect == "postgresql":
        # As autovacuum would soon: with statistics from before the rows came,
        # the planner looks a task up among the user's 100,000 for each of them
        # (ordering.py's neighbour query took 7 minutes).
        run_unbounded(engine, "ANALYZE tasks")


def remove_tasks(engine, user_id: str) -> None:
    """Every task of the user, gone for good: a test that filled the shared test
    database in bulk leaves it as other tests expect it (its size and statistics
    steer their plans and the time a table rewrite takes)."""
    run_unbounded(engine, "DELETE FROM tasks WHERE user_id = :user_id", user_id=user_id)
    if engine.dialect.name == "postgresql":
        run_unbounded(engine, "ANALYZE tasks")
