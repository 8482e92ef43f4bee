"""The database's own rules for tasks: each user's count of live tasks in
`task_counts` and each list's in `list_task_counts`, kept by statement-level
triggers on `tasks` (migrations 0003 and 0015), so the unfiltered listing's
total is a row read per place (listing.py).

Registered in migrations/env.py with alembic_utils, so `flask db check` compares
them with the database: a definition here must equal what the latest migration
that touched it created (tests/core/test_migrations.py). To change one, change it here
and let `flask db revision --autogenerate` write the migration. PostgreSQL only
(SQLite, for development, counts instead: see models.TaskCount).
"""

from alembic_utils.pg_function import PGFunction
from alembic_utils.pg_trigger import PGTrigger

from ..core.errors import MAX_LIVE_TASKS

# Statement-level triggers over transition tables: one upsert per user and
# statement, so a bulk insert of N rows costs one counter update, not N updates of
# one row (which PostgreSQL makes quadratic within a transaction). An INSERT past
# MAX_LIVE_TASKS is refused (migration 0012): the upsert returns each inserting
# user's count as it now stands, after waiting for any concurrent writer of it.
_CHANGES = {
    "added": "SELECT user_id, 1 AS delta FROM new_rows WHERE deleted_at IS NULL",
    "removed": "SELECT user_id, -1 AS delta FROM old_rows WHERE deleted_at IS NULL",
}


def _upsert(changes: str) -> str:
    return f"""
    INSERT INTO task_counts (user_id, live)
    SELECT user_id, sum(delta) FROM ({changes}) AS changes
    GROUP BY user_id HAVING sum(delta) <> 0 ORDER BY user_id
    ON CONFLICT (user_id) DO UPDATE SET live = task_counts.live + EXCLUDED.live"""


_LIMITED_INSERT = f"""
        WITH counted AS ({_upsert(_CHANGES["added"])}
            RETURNING live
        )
        SELECT max(live) INTO most FROM counted;
        IF most > {MAX_LIVE_TASKS} THEN
            RAISE EXCEPTION 'At most {MAX_LIVE_TASKS} live tasks per user'
                USING ERRCODE = 'check_violation', CONSTRAINT = 'tasks_live_limit';
        END IF;"""
_BOTH = f"{_CHANGES['added']} UNION ALL {_CHANGES['removed']}"

# The same per list (migration 0015): the total of a member's listing.
_IN_A_LIST = "deleted_at IS NULL AND list_id IS NOT NULL"
_LIST_CHANGES = {
    "added": f"SELECT list_id, 1 AS delta FROM new_rows WHERE {_IN_A_LIST}",
    "removed": f"SELECT list_id, -1 AS delta FROM old_rows WHERE {_IN_A_LIST}",
}
_LIST_BOTH = f"{_LIST_CHANGES['added']} UNION ALL {_LIST_CHANGES['removed']}"


def _list_upsert(changes: str) -> str:
    return f"""
    INSERT INTO list_task_counts (list_id, live)
    SELECT list_id, sum(delta) FROM ({changes}) AS changes
    GROUP BY list_id HAVING sum(delta) <> 0 ORDER BY list_id
    ON CONFLICT (list_id) DO UPDATE SET live = list_task_counts.live + EXCLUDED.live"""


TASK_COUNTS_APPLY = PGFunction(
    schema="public",
    signature="task_counts_apply()",
    definition=f"""RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    most integer;
BEGIN
    IF TG_OP = 'INSERT' THEN {_LIMITED_INSERT}
        {_list_upsert(_LIST_CHANGES["added"])};
    ELSIF TG_OP = 'DELETE' THEN {_upsert(_CHANGES["removed"])};
        {_list_upsert(_LIST_CHANGES["removed"])};
    ELSE {_upsert(_BOTH)};
        {_list_upsert(_LIST_BOTH)};
    END IF;
    RETURN NULL;
END $$""",
)
TASK_COUNTS_CLEAR = PGFunction(
    schema="public",
    signature="task_counts_clear()",
    definition="""RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        DELETE FROM task_counts;
        DELETE FROM list_task_counts;
        RETURN NULL;
    END $$""",
)


# The manual order's append (ordering.append_position) inside the INSERT itself, so
# a create is one statement: fractional_indexing's generate_key_between(last, None),
# step for step. SQLite runs the package's own function (ordering.init_app).
TASK_POSITION_AFTER = PGFunction(
    schema="public",
    signature="task_position_after(last text)",
    definition="""RETURNS text LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    digits CONSTANT text :=
        '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
    head integer;
    size integer;
    body text;
    tail text := '';
    i integer;
    d integer;
BEGIN
    IF last IS NULL THEN
        RETURN 'a0';
    END IF;
    head := ascii(last);
    IF head BETWEEN ascii('a') AND ascii('z') THEN
        size := head - ascii('a') + 2;
    ELSIF head BETWEEN ascii('A') AND ascii('Z') THEN
        size := ascii('Z') - head + 2;
    ELSE
        RAISE EXCEPTION 'invalid order key: %', last;
    END IF;
    -- increment the integer part, its digits from the right
    body := substr(last, 2, size - 1);
    FOR i IN REVERSE size - 1..1 LOOP
        d := strpos(digits, substr(body, i, 1));
        IF d < 62 THEN
            body := overlay(body PLACING substr(digits, d + 1, 1) FROM i FOR 1);
            RETURN chr(head) || body;
        END IF;
        body := overlay(body PLACING '0' FROM i FOR 1);
    END LOOP;
    IF head = ascii('Z') THEN
        RETURN 'a0';
    ELSIF head BETWEEN ascii('a') AND ascii('y') THEN  -- one digit longer
        RETURN chr(head + 1) || body || '0';
    ELSIF head BETWEEN ascii('A') AND ascii('Y') THEN  -- one digit shorter
        RETURN chr(head + 1) || substr(body, 2);
    END IF;
    -- the largest integer part: the midpoint of the fraction and the end
    FOR i IN 1..length(last) - size LOOP
        d := strpos(digits, substr(last, size + i, 1)) - 1;
        IF d < 61 THEN
            RETURN substr(last, 1, size) || tail || substr(digits, (d + 63) / 2 + 1, 1);
        END IF;
        tail := tail || 'z';
    END LOOP;
    RETURN substr(last, 1, size) || tail || 'V';
END $$""",
)


def _on_tasks(name: str, definition: str) -> PGTrigger:
    return PGTrigger(
        schema="public",
        signature=name,
        on_entity="public.tasks",
        definition=definition,
    )


ENTITIES = [
    TASK_POSITION_AFTER,
    TASK_COUNTS_APPLY,
    TASK_COUNTS_CLEAR,
    _on_tasks(
        "task_counts_insert",
        "AFTER INSERT ON public.tasks REFERENCING NEW TABLE AS new_rows "
        "FOR EACH STATEMENT EXECUTE FUNCTION task_counts_apply()",
    ),
    _on_tasks(
        "task_counts_update",
        "AFTER UPDATE ON public.tasks "
        "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows "
        "FOR EACH STATEMENT EXECUTE FUNCTION task_counts_apply()",
    ),
    _on_tasks(
        "task_counts_delete",
        "AFTER DELETE ON public.tasks REFERENCING OLD TABLE AS old_rows "
        "FOR EACH STATEMENT EXECUTE FUNCTION task_counts_apply()",
    ),
    _on_tasks(
        "task_counts_truncate",
        "AFTER TRUNCATE ON public.tasks "
        "FOR EACH STATEMENT EXECUTE FUNCTION task_counts_clear()",
    ),
]
