"""The change feed: `change_xid` on tasks and lists, set by the database on every
write, and `sync_state`, what purge-deleted has removed for good.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03

PostgreSQL: a BEFORE INSERT OR UPDATE row trigger sets `change_xid` to the writing
transaction's id (pg_current_xact_id, 64-bit, never wraps). A feed cursor holds the
snapshot of the read that handed it out; the next poll returns every row whose
transaction was not visible in that snapshot, so a transaction that started earlier
but committed later is not skipped (taskapi/changes.py).

SQLite: writers are serialised, so a counter bumped by AFTER triggers in the writing
transaction orders changes by commit. A batch migration that rebuilds `tasks` or
`lists` drops these triggers: such a migration must call create_sqlite_triggers()
again (tests/test_change_feed.py checks a write bumps the counter at head).
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

TABLES = ("tasks", "lists")


def _pg_trigger_sql(table: str) -> list[str]:
    return [
        f"""CREATE TRIGGER {table}_change_xid BEFORE INSERT OR UPDATE ON {table}
            FOR EACH ROW EXECUTE FUNCTION set_change_xid()""",
    ]


def create_sqlite_triggers() -> None:
    for table in TABLES:
        for event in ("INSERT", "UPDATE"):
            op.execute(
                f"""CREATE TRIGGER {table}_change_{event.lower()} AFTER {event} ON {table}
                BEGIN
                    UPDATE change_counter SET value = value + 1;
                    UPDATE {table} SET change_xid = (SELECT value FROM change_counter)
                        WHERE rowid = NEW.rowid;
                END"""
            )


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(
                sa.Column(
                    "change_xid",
                    sa.BigInteger(),
                    nullable=False,
                    server_default=sa.text("0"),
                )
            )
        op.create_index(
            f"ix_{table}_user_change", table, ["user_id", "change_xid", "id"]
        )
    op.create_table(
        "sync_state",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        # The highest change number among rows purge-deleted removed: a cursor
        # that has not seen it needs a tombstone that is gone (410).
        sa.Column("purged_through", sa.BigInteger(), nullable=False),
    )
    op.execute("INSERT INTO sync_state (id, purged_through) VALUES (1, 0)")
    if postgresql:
        op.execute(
            """CREATE FUNCTION set_change_xid() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                NEW.change_xid := pg_current_xact_id()::text::bigint;
                RETURN NEW;
            END $$"""
        )
        for table in TABLES:
            for statement in _pg_trigger_sql(table):
                op.execute(statement)
            op.execute(f"UPDATE {table} SET change_xid = 0")  # the trigger numbers it
    else:
        op.create_table(
            "change_counter",
            sa.Column("value", sa.BigInteger(), nullable=False),
            sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        )
        op.execute("INSERT INTO change_counter (id, value) VALUES (1, 0)")
        create_sqlite_triggers()
        for table in TABLES:
            op.execute(f"UPDATE {table} SET change_xid = 0")


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:
        for table in TABLES:
            op.execute(f"DROP TRIGGER {table}_change_xid ON {table}")
        op.execute("DROP FUNCTION set_change_xid()")
    else:
        for table in TABLES:
            for event in ("insert", "update"):
                op.execute(f"DROP TRIGGER {table}_change_{event}")
        op.drop_table("change_counter")
    op.drop_table("sync_state")
    for table in TABLES:
        op.drop_index(f"ix_{table}_user_change", table_name=table)
        with op.batch_alter_table(table) as batch:
            batch.drop_column("change_xid")
