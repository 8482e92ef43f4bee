"""A create in one statement: the append position of the manual order computed
inside the INSERT by `task_position_after(last)`, fractional_indexing's key after
`last` (taskapi/tasks/triggers.py, ordering.append_position), instead of a read of
the last position and then the INSERT.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07

PostgreSQL only: SQLite runs the Python package's own function, registered on
each connection.
"""

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

POSITION_AFTER = """CREATE OR REPLACE FUNCTION public.task_position_after(last text)
RETURNS text LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
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
END $$"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSITION_AFTER)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION public.task_position_after(text)")
