"""The hot statements run as server-side prepared statements on PostgreSQL
(taskapi/core/prepared.py), and a connection whose statements went missing or stale
costs one 503, not a run of 500s."""

import pytest
from sqlalchemy import literal_column, select

from taskapi.core.db import Session, get_engine
from taskapi.core.prepared import prepared
from tests.support.bulk import run_unbounded
from tests.support.responses import assert_error
from tests.support.sql import sent_statements
from tests.support.users import User, new_user_id

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.no_pgbouncer("nothing is prepared behind PgBouncer"),
]


def test_a_users_everyday_requests_run_prepared(app, alice):
    task = alice.create(title="first")
    path = f"/tasks/{task['id']}"
    requests = [
        ("POST", "/tasks", {"json": {"title": "second", "tags": ["home"]}}, 201),
        ("GET", path, {}, 200),
        ("PATCH", f"{path}/complete", {}, 200),
        ("PATCH", f"{path}/complete", {"json": {"completed": True}}, 200),
        ("GET", "/tasks", {}, 200),
        ("GET", "/tasks?sort=title&page=2&per_page=1", {}, 200),
    ]
    for method, path, options, status in requests:
        for _ in range(7):  # past the executions PostgreSQL plans one by one
            with sent_statements(app) as sent:
                response = alice.request(method, path, **options)
            assert response.status_code == status, (method, path, response.get_json())
            assert sent[0].startswith("EXECUTE taskapi_"), (method, path, sent)
    for _ in range(7):
        doomed = alice.create()
        with sent_statements(app) as sent:
            assert alice.delete(f"/tasks/{doomed['id']}").status_code == 204
        assert sent[0].startswith("EXECUTE taskapi_"), sent
        assert alice.get(f"/tasks/{doomed['id']}").status_code == 404


def test_answers_from_prepared_statements_are_the_same_as_planned_ones(app, alice):
    task = alice.create(title="Buy milk", tags=["home"], priority="high")
    page = alice.get("/tasks")
    one = alice.get(f"/tasks/{task['id']}")
    # the same reads with a filter, which is never prepared
    with sent_statements(app) as sent:
        filtered = alice.get("/tasks?priority=high")
    assert not sent[0].startswith("EXECUTE"), sent
    assert filtered.get_json() == page.get_json() == [one.get_json()]
    assert one.get_json() == task


def test_filtered_listings_and_deep_pages_are_planned_each_time(app, alice):
    """A filtered listing's text varies; a deep page's best plan depends on its
    OFFSET, which a generic plan cannot see."""
    alice.create(title="Buy milk")
    for query in ("q=milk", "page=4&per_page=100"):
        for _ in range(7):
            with sent_statements(app) as sent:
                assert alice.get(f"/tasks?{query}").status_code == 200
            assert sent[0].startswith("SELECT"), (query, sent)


def test_behind_pgbouncer_nothing_is_prepared(make_app):
    app = make_app(DATABASE_POOL="pgbouncer")
    carol = User(app.test_client(), new_user_id("carol"))
    task = carol.create()
    with sent_statements(app) as sent:
        assert carol.get(f"/tasks/{task['id']}").status_code == 200
        assert carol.patch(f"/tasks/{task['id']}/complete").status_code == 200
    assert sent and not any(s.startswith(("EXECUTE", "PREPARE")) for s in sent), sent


@pytest.fixture
def one_connection(make_app):
    """An app whose pool holds a single connection, and a user of it."""
    app = make_app(DATABASE_POOL_SIZE=1, DATABASE_MAX_OVERFLOW=0)
    return app, User(app.test_client(), new_user_id("dave"))


def test_a_connection_that_lost_its_statements_costs_one_503(one_connection):
    app, dave = one_connection
    task = dave.create()
    assert dave.get(f"/tasks/{task['id']}").status_code == 200
    with app.app_context(), get_engine(app).connect() as connection:
        connection.exec_driver_sql("DEALLOCATE ALL")  # the pool's one connection

    response = dave.get(f"/tasks/{task['id']}")
    assert_error(response, 503)
    assert int(response.headers["Retry-After"]) > 0
    # the connection was replaced; the next request prepares again
    assert dave.get(f"/tasks/{task['id']}").get_json() == task


def test_a_column_changing_type_under_a_prepared_statement_costs_one_503(
    one_connection,
):
    app, dave = one_connection
    task = dave.create()
    assert dave.get(f"/tasks/{task['id']}").status_code == 200
    engine = get_engine(app)
    try:
        # a table rewrite: exempt from the statement timeout, as a migration is
        run_unbounded(engine, "ALTER TABLE tasks ALTER COLUMN title TYPE text")
        # "cached plan must not change result type"
        assert_error(dave.get(f"/tasks/{task['id']}"), 503)
        assert dave.get(f"/tasks/{task['id']}").get_json() == task
    finally:
        run_unbounded(engine, "ALTER TABLE tasks ALTER COLUMN title TYPE varchar(200)")


def test_a_marked_statement_without_parameters_runs_prepared_too(app):
    statement = prepared(select(literal_column("'plain'")))
    with app.app_context(), sent_statements(app) as sent:
        answers = [Session.execute(statement).scalar_one() for _ in range(3)]
        Session.remove()
    assert answers == ["plain"] * 3
    assert sent == [sent[0]] * 3 and sent[0].startswith("EXECUTE taskapi_"), sent
