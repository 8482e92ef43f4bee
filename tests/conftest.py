"""Fixtures: the real app on a real database, and users with real signed tokens.

The database is PostgreSQL when TEST_DATABASE_URL names one (scripts/test starts a
throwaway server), else a SQLite file; each xdist worker gets its own, migrated
with Alembic as in production. With TEST_PGBOUNCER_URL too (scripts/test's third
pass), the app and the servers the tests start reach it through PgBouncer. Users
get fresh ids, so tests never see each other's tasks. Plain helpers (not fixtures)
are in tests/support/, by concern.
"""

import json
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from taskapi import create_app
from taskapi.config import TestingConfig
from taskapi.core.db import Session, get_engine
from tests.support.browser import CHROMEDRIVER, CHROMIUM, CHROMIUM_FLAGS
from tests.support.databases import Cluster, own_database, through_the_pooler
from tests.support.environment import (
    POOLER_SETTINGS,
    TEST_PGBOUNCER_URL,
    config_with,
    documented_variables,
    on_postgres,
    through_pgbouncer,
)
from tests.support.servers import gunicorn, gunicorn_server, werkzeug_server
from tests.support.users import SECRET, User, new_user_id


def pytest_report_header(config):
    if through_pgbouncer:
        return f"database: PostgreSQL through PgBouncer ({TEST_PGBOUNCER_URL})"
    return f"database: {'PostgreSQL' if on_postgres else 'SQLite'}"


def pytest_collection_modifyitems(config, items):
    for item in items:
        no_pgbouncer = item.get_closest_marker("no_pgbouncer")
        if not on_postgres and "postgres_only" in item.keywords:
            reason = "needs PostgreSQL: runs in the PostgreSQL pass"
        elif through_pgbouncer and no_pgbouncer:
            reason = f"not through PgBouncer: {no_pgbouncer.args[0]}"
        elif not through_pgbouncer and "pgbouncer_only" in item.keywords:
            reason = "needs PgBouncer: runs in the PgBouncer pass"
        else:
            continue
        item.add_marker(pytest.mark.skip(reason=reason))


BROWSER_TESTS = "tests/web/test_browser"  # tests/web/test_browser*.py


def pytest_xdist_make_scheduler(config, log):
    """`--dist loadgroup` (scripts/test) with every browser test in one group, so one
    worker runs them all: one Chromium, one page server on port 3000. xdist 3.8
    groups `xdist_group` marks by renaming node ids, which pytest 9 ignores, so the
    group is named here from the file name instead."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadGroupScheduling

    class BrowserTestsTogether(LoadGroupScheduling):
        def _split_scope(self, nodeid):
            return "browser" if nodeid.startswith(BROWSER_TESTS) else nodeid

    return BrowserTestsTogether(config, log)


@pytest.fixture(scope="session")
def database_uri(tmp_path_factory, worker_id):
    """This xdist worker's own database (PostgreSQL) or file (SQLite)."""
    sqlite_file = tmp_path_factory.mktemp("db") / "test.sqlite3"
    with own_database(f"taskapi_test_{worker_id}", sqlite_file) as url:
        yield through_the_pooler(url) if through_pgbouncer else url


@pytest.fixture(scope="session")
def config_class(database_uri):
    return config_with(
        TestingConfig,
        SQLALCHEMY_DATABASE_URI=database_uri,
        JWT_SECRET_KEY=SECRET,
        **POOLER_SETTINGS,
    )


@pytest.fixture(scope="session")
def app(config_class):
    app = create_app(config_class)
    result = app.test_cli_runner().invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    yield app
    Session.remove()


@pytest.fixture(scope="session")
def make_app(app, config_class):
    """Another app on the test database (migrated by `app`): from another config
    class, `make_app(BrokenConfig)`, and/or with settings changed,
    `make_app(API_RATE_LIMIT="3/hour")`. Engines are disposed at the end."""
    apps = []

    def make(base=None, **settings):
        apps.append(create_app(config_with(base or config_class, **settings)))
        return apps[-1]

    yield make
    for made in apps:
        get_engine(made).dispose()


@pytest.fixture(scope="session")
def gunicorn_url(app, database_uri, tmp_path_factory):
    """The URL of the app under a real gunicorn (one worker)."""
    log_path = tmp_path_factory.mktemp("gunicorn") / "gunicorn.log"
    with gunicorn(database_uri, log_path, "--workers=1") as port:
        yield f"http://127.0.0.1:{port}"


# Every variable the configuration documents (docs/configuration.md's table,
# which tests/test_deploy_config.py holds to the code).
CONFIG_VARIABLES = tuple(sorted(documented_variables()))


@pytest.fixture
def env(monkeypatch):
    """A clean process environment for the config classes, which read it: a
    monkeypatch with every variable the configuration documents unset, so a
    developer's shell cannot leak into a test."""
    for name in CONFIG_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.fixture(scope="module")
def werkzeug_url(app):
    """The URL of the app under werkzeug's threaded server."""
    with werkzeug_server(app) as url:
        yield url


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture(params=["/api/<user_id>", "/api"], ids=["user-path", "token-only"])
def prefix(request):
    """Run a test on both route families."""
    return request.param


@pytest.fixture
def alice(client):
    return User(client, new_user_id("alice"))


@pytest.fixture
def bob(client):
    return User(client, new_user_id("bob"))


@pytest.fixture
def carol(client):
    return User(client, new_user_id("carol"))


@pytest.fixture
def users_on(client, prefix):
    """Make users who call the API through the route family under test."""

    def make(name):
        user_id = new_user_id(name)
        return User(client, user_id, prefix.replace("<user_id>", user_id))

    return make


@pytest.fixture(scope="session")
def live_server(app, database_uri, tmp_path_factory):
    """The app under a real gunicorn, for races and the browser. Its per-user
    budget is one no test spends: the sync tests write and poll as one user,
    unpaused, for seconds, which a fast machine took past 1,000 a minute (the
    rate limit's own tests run apps of their own)."""
    log_dir = tmp_path_factory.mktemp("gunicorn")
    with gunicorn_server(
        database_uri, log_dir, API_RATE_LIMIT="1000000/minute"
    ) as server:
        yield server


@pytest.fixture
def race():
    """Run the calls in threads released at the same moment; their results in order."""

    def run(calls):
        barrier = threading.Barrier(len(calls))

        def go(call):
            barrier.wait()
            return call()

        with ThreadPoolExecutor(len(calls)) as pool:
            return list(pool.map(go, calls))

    return run


@pytest.fixture(scope="session")
def browser(tmp_path_factory):
    """One headless Chromium for the test session, driven by selenium through
    Debian's chromedriver (never a downloaded one). Its console is kept
    (`browser.get_log("browser")`) so tests can read what Chromium reported."""
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not os.path.exists(path)]
    if missing:
        pytest.skip(
            f"NO BROWSER ON THIS MACHINE ({', '.join(missing)} missing): the browser "
            "tests did not run. scripts/test installs Chromium when it runs as root "
            "with apt; else `apt-get install chromium chromium-driver`."
        )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium')}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def log_lines(capsys):
    """The JSON log lines written to stderr so far, parsed."""

    def read():
        return [
            json.loads(line)
            for line in capsys.readouterr().err.splitlines()
            if line.startswith("{")
        ]

    return read


@pytest.fixture
def cluster():
    """A PostgreSQL server of the test's own, which it may stop and start."""
    cluster = Cluster()
    cluster.start()
    yield cluster
    cluster.remove()
