"""What the test run was given: the database servers of the pass (TEST_DATABASE_URL,
TEST_PGBOUNCER_URL), the repository's root, and app configurations made for a test."""

import os
import re
from pathlib import Path

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL") or None

on_postgres = bool(TEST_DATABASE_URL and TEST_DATABASE_URL.startswith("postgres"))

ROOT = Path(__file__).resolve().parent.parent.parent

# A transaction-pooling PgBouncer in front of TEST_DATABASE_URL's server
TEST_PGBOUNCER_URL = os.environ.get("TEST_PGBOUNCER_URL") or None

through_pgbouncer = bool(on_postgres and TEST_PGBOUNCER_URL)
# What an app reaching the database through that PgBouncer must be told (the
# startup packet's timeouts are refused there): for configs and subprocesses.
POOLER_SETTINGS = {"DATABASE_POOL": "pgbouncer"} if through_pgbouncer else {}


def documented_variables() -> set[str]:
    """The environment variables docs/configuration.md documents: the first
    column of its table (tests/test_deploy_config.py holds it to the code)."""
    text = (ROOT / "docs" / "configuration.md").read_text()
    first_cells = [
        line.split("|")[1] for line in text.splitlines() if line.startswith("| `")
    ]
    return {name for cell in first_cells for name in re.findall(r"`(\w+)`", cell)}


def config_with(base, **settings):
    """`base`, a config class, with these settings changed."""

    class Config(base):
        def __init__(self, instance_path="instance"):
            super().__init__(instance_path)
            for name, value in settings.items():
                setattr(self, name, value)

    return Config
