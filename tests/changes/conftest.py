"""Fixtures of the change feed's tests."""

import pytest
from sqlalchemy import select, update

from taskapi.changes.models import SyncState
from taskapi.core.db import Session
from tests.support.servers import gunicorn_server


@pytest.fixture
def purge_mark(app):
    """Put the purge mark back after the test: its rows were written seconds ago,
    so until every transaction of the cluster older than them ends, the mark
    would send every new cursor of this database 410 (real purges remove rows
    weeks old), which would fail the next tests for nothing."""
    with app.app_context():
        before = Session.scalar(select(SyncState.purged_through))
        Session.rollback()
    yield
    with app.app_context():
        Session.execute(update(SyncState).values(purged_through=before))
        Session.commit()


@pytest.fixture(scope="session")
def churn_server(app, database_uri, tmp_path_factory):
    """A real gunicorn (as live_server) whose per-user budget a fast machine cannot
    spend: the sync tests write and poll as one user, unpaused, for seconds, and
    the rate limit is not what they test (tests/web/test_rate_limits.py is)."""
    log_dir = tmp_path_factory.mktemp("churn")
    with gunicorn_server(
        database_uri, log_dir, API_RATE_LIMIT="1000000/minute"
    ) as server:
        yield server
