"""Fixtures of the webhook tests."""

import pytest


@pytest.fixture
def logs(tmp_path):
    """Where a test's webhook worker writes its log."""
    return tmp_path / "worker.log"
