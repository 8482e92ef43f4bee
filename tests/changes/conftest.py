"""Fixtures of the change feed's tests."""

import pytest
from sqlalchemy import select, update

from taskapi.changes.models import SyncState
from taskapi.core.db import Session


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
