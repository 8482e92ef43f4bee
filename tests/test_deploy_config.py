"""An operator deploys with environment variables: secrets, database URL, pooling."""

import ast
import gc
import os
import re
import runpy
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import event
from sqlalchemy.pool import NullPool, QueuePool

from taskapi.config import DevelopmentConfig, ProductionConfig, database_url
from taskapi.core.db import check_on_checkout, get_engine
from taskapi.core.prepared import _run_prepared
from tests.support.environment import ROOT, documented_variables
from tests.support.servers import gunicorn, wait_until

NEON_DIRECT = "postgresql://u:p@ep-cool-name-123456.eu-central-1.aws.neon.tech/db"
NEON_POOLED = (
    "postgresql://u:p@ep-cool-name-123456-pooler.eu-central-1.aws.neon.tech/db"
)


def production_app(make_app, env, **variables):
    env.setenv("BETTER_AUTH_SECRET", "s" * 32)
    for name, value in variables.items():
        env.setenv(name, value)
    return make_app(ProductionConfig)


@pytest.mark.parametrize("secret", [None, "", "x" * 31])
def test_production_refuses_to_start_without_a_32_character_secret(env, secret):
    env.setenv("DATABASE_URL", NEON_DIRECT)
    if secret is not None:
        env.setenv("BETTER_AUTH_SECRET", secret)

    with pytest.raises(RuntimeError) as refused:
        ProductionConfig()

    message = str(refused.value)
    assert "BETTER_AUTH_SECRET" in message
    assert "at least 32 characters" in message
    assert f"got {len(secret or '')}" in message


def test_production_accepts_the_jwt_secret_key_alias(env):
    env.setenv("DATABASE_URL", NEON_DIRECT)
    env.setenv("JWT_SECRET_KEY", "k" * 32)

    assert ProductionConfig().JWT_SECRET_KEY == "k" * 32


def test_production_refuses_to_start_without_a_database_url(env):
    env.setenv("BETTER_AUTH_SECRET", "s" * 40)

    with pytest.raises(RuntimeError, match="DATABASE_URL is not set"):
        ProductionConfig()


def test_the_wsgi_entry_point_stops_with_the_message_when_the_secret_is_short():
    """What an operator sees in the PaaS log: the reason, not a worker boot loop."""
    result = subprocess.run(
        [sys.executable, "-c", "import wsgi"],
        cwd=ROOT,
        env={
            "APP_ENV": "production",
            "DATABASE_URL": NEON_DIRECT,
            "BETTER_AUTH_SECRET": "short",
            "PATH": "/usr/bin:/bin",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode != 0
    assert "at least 32 characters (got 5)" in result.stderr


def test_development_starts_on_sqlite_with_a_generated_secret_and_says_so(
    env, make_app, tmp_path, log_lines
):
    env.setenv("APP_ENV", "development")

    class Development(DevelopmentConfig):
        def __init__(self, _instance_path=None):
            super().__init__(tmp_path / "instance")

    app = make_app(Development)

    secret_file = tmp_path / "instance" / "dev-secret"
    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///")
    assert app.config["JWT_SECRET_KEY"] == secret_file.read_text().strip()
    assert len(app.config["JWT_SECRET_KEY"]) >= 32
    warnings = [line for line in log_lines() if line["level"] == "WARNING"]
    assert any(
        "generated development secret" in line["message"]
        and str(secret_file) in line["message"]
        for line in warnings
    )
    # The same secret on the next start, so tokens from create-token keep working.
    assert (
        make_app(Development).config["JWT_SECRET_KEY"] == app.config["JWT_SECRET_KEY"]
    )


def test_a_development_secret_from_the_environment_is_not_announced(
    env, make_app, tmp_path, log_lines
):
    env.setenv("BETTER_AUTH_SECRET", "d" * 32)

    class Development(DevelopmentConfig):
        def __init__(self, _instance_path=None):
            super().__init__(tmp_path / "instance")

    app = make_app(Development)

    assert app.config["JWT_SECRET_KEY"] == "d" * 32
    assert not (tmp_path / "instance" / "dev-secret").exists()
    assert not any("generated" in line["message"] for line in log_lines())


class Captured(Exception):
    pass


def psycopg2_connect_arguments(engine) -> dict:
    """What psycopg2.connect() would be called with, without connecting."""

    def capture(_dialect, _record, _args, kwargs):
        raise Captured(kwargs)

    event.listen(engine, "do_connect", capture)
    with pytest.raises(Captured) as captured:
        engine.connect()
    return captured.value.args[0]


def test_neon_sslmode_and_other_url_options_reach_psycopg2(env, make_app):
    url = NEON_DIRECT + "?sslmode=require&channel_binding=require"
    engine = get_engine(production_app(make_app, env, DATABASE_URL=url))

    assert engine.url.drivername == "postgresql+psycopg2"
    arguments = psycopg2_connect_arguments(engine)
    assert arguments["sslmode"] == "require"
    assert arguments["channel_binding"] == "require"
    assert arguments["connect_timeout"] == 5


def test_a_connect_timeout_in_the_url_wins(env, make_app):
    url = NEON_DIRECT + "?connect_timeout=12"
    engine = get_engine(production_app(make_app, env, DATABASE_URL=url))

    assert psycopg2_connect_arguments(engine)["connect_timeout"] == "12"


def test_heroku_style_postgres_urls_mean_psycopg2():
    assert database_url("postgres://u:p@h:5432/d?sslmode=require") == (
        "postgresql+psycopg2://u:p@h:5432/d?sslmode=require"
    )


def test_a_direct_connection_gets_a_checked_pool_sized_from_the_environment(
    env, make_app
):
    engine = get_engine(
        production_app(
            make_app,
            env,
            DATABASE_URL=NEON_DIRECT,
            DATABASE_POOL_SIZE="7",
            DATABASE_MAX_OVERFLOW="3",
        )
    )

    assert isinstance(engine.pool, QueuePool)
    assert engine.pool.size() == 7
    assert engine.pool._max_overflow == 3
    assert engine.pool._recycle == 300
    # dropped connections are found at checkout (test_operations), without a
    # SELECT 1 per request; every statement commits unless a transaction is begun
    assert engine.pool._pre_ping is False
    assert event.contains(engine, "checkout", check_on_checkout)
    assert engine.dialect._on_connect_isolation_level == "AUTOCOMMIT"


@pytest.mark.parametrize(
    ("url", "mode", "pooled", "prepares"),
    [
        (NEON_POOLED, None, True, False),  # auto-detected from Neon's -pooler host
        (NEON_POOLED, "auto", True, False),
        (NEON_DIRECT, None, False, True),
        (NEON_DIRECT, "pgbouncer", True, False),  # any PgBouncer in transaction mode
        # the app's own pool kept on a -pooler host, but nothing prepared: the
        # PgBouncer behind the name still hands out server connections per transaction
        (NEON_POOLED, "app", False, False),
    ],
)
def test_behind_pgbouncer_the_app_keeps_no_pool_and_prepares_nothing(
    env, make_app, url, mode, pooled, prepares
):
    variables = {"DATABASE_URL": url}
    if mode:
        variables["DATABASE_POOL"] = mode
    engine = get_engine(production_app(make_app, env, **variables))

    assert isinstance(engine.pool, NullPool) is pooled
    assert event.contains(engine, "before_cursor_execute", _run_prepared) is prepares


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DATABASE_POOL", "pgbouncr", "DATABASE_POOL='pgbouncr' is not one of"),
        ("DATABASE_POOL_SIZE", "ten", "DATABASE_POOL_SIZE='ten' must be a whole"),
        ("DATABASE_MAX_OVERFLOW", "-1", "DATABASE_MAX_OVERFLOW='-1' must be a whole"),
    ],
)
def test_a_bad_pool_setting_stops_the_start_with_its_name(
    env, make_app, name, value, message
):
    with pytest.raises(RuntimeError, match=message):
        production_app(make_app, env, DATABASE_URL=NEON_DIRECT, **{name: value})


def gunicorn_settings(env, **variables):
    for name in ("PORT", "WEB_CONCURRENCY", "GUNICORN_THREADS", "GUNICORN_PIN_WORKERS"):
        env.delenv(name, raising=False)
    for name, value in variables.items():
        env.setenv(name, value)
    return runpy.run_path(str(ROOT / "gunicorn.conf.py"))


def test_gunicorn_binds_port_and_runs_web_concurrency_threaded_workers(env):
    settings = gunicorn_settings(env, PORT="8123", WEB_CONCURRENCY="3")

    assert settings["bind"] == "0.0.0.0:8123"
    assert settings["workers"] == 3
    assert settings["worker_class"] == "taskapi.web.gunicorn_worker.JSONErrorWorker"
    assert settings["threads"] == 2
    assert settings["preload_app"] is True
    # one listening socket per worker: keep-alive connections spread over the workers
    assert settings["reuse_port"] is True


def test_gunicorn_defaults_suit_a_dyno_on_a_shared_host(env):
    settings = gunicorn_settings(env)

    assert settings["bind"] == "0.0.0.0:5000"
    # one per CPU, but 2 to 4 whatever the host reports
    assert settings["workers"] == min(4, max(2, os.cpu_count()))
    assert settings["pin_workers"] is False  # GUNICORN_PIN_WORKERS=1 turns it on


def test_the_loaded_app_is_frozen_out_of_the_workers_collections(env):
    """when_ready runs in the master once the preloaded app is in memory, before
    any worker is forked: what it freezes, no worker's collection walks again."""
    settings = gunicorn_settings(env)
    gc.unfreeze()
    try:
        settings["when_ready"](None)
        assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()


@pytest.mark.parametrize("value", ["0", "two", "-1"])
def test_gunicorn_refuses_a_bad_worker_count_with_its_name(env, value):
    with pytest.raises(SystemExit, match="WEB_CONCURRENCY"):
        gunicorn_settings(env, WEB_CONCURRENCY=value)


@pytest.mark.parametrize("value", ["yes", "off", "2"])
def test_gunicorn_refuses_a_pinning_switch_other_than_0_or_1(env, value):
    with pytest.raises(SystemExit, match="GUNICORN_PIN_WORKERS must be 0 or 1"):
        gunicorn_settings(env, GUNICORN_PIN_WORKERS=value)


@pytest.mark.no_pgbouncer("the app keeps no pool of its own behind PgBouncer")
def test_after_fork_a_worker_gets_a_fresh_pool(env, app, monkeypatch):
    """The pool the master had (and any connection in it) is left to the master."""
    engine = get_engine(app)
    with engine.connect():
        pass  # one pooled connection, as if opened before the fork
    inherited = engine.pool
    pooled = inherited.checkedin()  # 1, or more if earlier tests here used several
    assert pooled >= 1
    monkeypatch.setitem(sys.modules, "wsgi", type(sys)("wsgi"))
    sys.modules["wsgi"].app = app

    gunicorn_settings(env)["post_fork"](server=None, worker=None)

    assert engine.pool is not inherited
    assert engine.pool.checkedin() == 0
    assert inherited.checkedin() == pooled  # not closed: the master's, not ours
    with engine.connect() as conn:  # and the worker connects afresh
        assert conn.exec_driver_sql("SELECT 1").scalar() == 1


CPUS = sorted(os.sched_getaffinity(0))


def live_workers(pid_file) -> dict:
    """{worker pid: the CPUs it may run on} of the gunicorn whose master's pid is
    in pid_file (none before it has written it)."""
    master = pid_file.read_text().strip() if pid_file.exists() else ""
    workers = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            state, parent = stat.read_text().rsplit(")", 1)[1].split()[:2]
            if master and parent == master and state != "Z":
                workers[int(stat.parent.name)] = os.sched_getaffinity(
                    int(stat.parent.name)
                )
        except (OSError, ValueError):
            continue  # the process ended while we looked
    return workers


def worker_cpus(pid_file, count, until=lambda workers: True):
    """live_workers(), once there are `count` of them and `until(them)` holds."""
    workers = {}

    def ready():
        workers.clear()
        workers.update(live_workers(pid_file))
        return len(workers) == count and until(workers)

    wait_until(ready, 30, interval=0.1, message=lambda: f"{count} workers: {workers}")
    return workers


@pytest.mark.skipif(len(CPUS) < 2, reason="pinning needs two CPUs to show")
def test_each_gunicorn_worker_runs_on_a_cpu_of_its_own(database_uri, tmp_path):
    pid_file = tmp_path / "gunicorn.pid"
    options = ("--workers=2", f"--pid={pid_file}")
    log = tmp_path / "gunicorn.log"
    with gunicorn(database_uri, log, *options, GUNICORN_PIN_WORKERS="1"):
        pinned = worker_cpus(pid_file, 2, until=each_on_one_cpu)
        assert len(set.union(*pinned.values())) == 2

        # A worker that dies is replaced on the CPU it left free.
        lost, freed = next(iter(pinned.items()))
        os.kill(lost, signal.SIGKILL)
        now = worker_cpus(
            pid_file, 2, until=lambda w: lost not in w and each_on_one_cpu(w)
        )
        replacement = (set(now) - set(pinned)).pop()
        assert now[replacement] == freed


def each_on_one_cpu(workers) -> bool:
    return all(len(cpus) == 1 for cpus in workers.values())


@pytest.mark.parametrize(
    "workers, variables",
    [
        (2, {}),
        (2, {"GUNICORN_PIN_WORKERS": "0"}),
        (len(CPUS) + 1, {"GUNICORN_PIN_WORKERS": "1"}),
    ],
    ids=["by-default", "turned-off", "more-workers-than-cpus"],
)
def test_workers_are_left_to_the_kernel_unless_pinning_is_on_and_can_spread(
    database_uri, tmp_path, workers, variables
):
    pid_file = tmp_path / "gunicorn.pid"
    options = (f"--workers={workers}", f"--pid={pid_file}")
    log_path = tmp_path / "gunicorn.log"
    with gunicorn(database_uri, log_path, *options, **variables):
        started = worker_cpus(pid_file, workers)
        # A worker logs "Booting worker" a few statements before post_fork pins it;
        # a second after every worker has said so is far past any pinning.
        wait_until(
            lambda: all(
                f"Booting worker with pid: {pid}" in log_path.read_text()
                for pid in started
            ),
            30,
            message="every worker booted",
        )
        time.sleep(1)
        unpinned = worker_cpus(pid_file, workers)
    assert all(cpus == set(CPUS) for cpus in unpinned.values())


# Read by gunicorn itself, not by our code, and worth an operator knowing.
READ_BY_GUNICORN = {"FORWARDED_ALLOW_IPS"}


def variables_read_by_the_code() -> set[str]:
    """Every environment variable the app and gunicorn.conf.py read, found by walking
    their syntax trees: `env.get("X")`, `os.environ["X"]`, `os.getenv("X")`, and calls
    of any helper defined there that reads the environment for a `name` parameter
    (`seconds("X", ...)`, `whole_number(env, "X", ...)`, `_int_env("X", ...)`...)."""
    sources = [
        *sorted((ROOT / "taskapi").rglob("*.py")),
        ROOT / "gunicorn.conf.py",
        ROOT / "wsgi.py",
        ROOT / "migrations" / "env.py",
    ]
    trees = [ast.parse(source.read_text()) for source in sources if source.exists()]

    def is_os(node) -> bool:
        return isinstance(node, ast.Name) and node.id == "os"

    def reads_environment(node) -> bool:  # os.environ, os.getenv, or an `env` alias
        return any(
            (isinstance(n, ast.Attribute) and n.attr in ("environ", "getenv"))
            and is_os(n.value)
            or (isinstance(n, ast.Name) and n.id in ("env", "environ"))
            for n in ast.walk(node)
        )

    helpers = {
        node.name
        for tree in trees
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef)
        and "name" in [arg.arg for arg in node.args.args]
        and reads_environment(node)
    }

    def is_reader(func) -> bool:
        if isinstance(func, ast.Name):
            return func.id in helpers
        return isinstance(func, ast.Attribute) and (
            (func.attr == "getenv" and is_os(func.value))
            or (func.attr in ("get", "pop") and reads_environment(func.value))
        )

    def variable_name(node) -> str | None:
        is_name = (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and re.fullmatch(r"[A-Z][A-Z0-9_]*", node.value)
        )
        return node.value if is_name else None

    read = set()
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and is_reader(node.func):
                # the variable is the first string argument: get("X", "default"),
                # whole_number(env, "X", 5)
                strings = [
                    arg
                    for arg in node.args
                    if isinstance(arg, ast.Constant) and isinstance(arg.value, str)
                ]
                read.add(variable_name(strings[0]) if strings else None)
            elif isinstance(node, ast.Subscript) and reads_environment(node.value):
                read.add(variable_name(node.slice))
    return read - {None}


def test_env_example_and_the_configuration_doc_list_exactly_what_the_code_reads():
    read = variables_read_by_the_code()
    example = (ROOT / ".env.example").read_text()
    listed = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]*)=", example, flags=re.MULTILINE))

    # the walk sees every kind of reader, not just env.get
    assert {
        "DATABASE_URL", "APP_ENV", "JWT_JWKS_TIMEOUT", "JWT_JWKS_CACHE_SECONDS",
        "DATABASE_POOL_TIMEOUT", "PORT", "GUNICORN_PIN_WORKERS",
    } <= read  # fmt: skip
    expected = read | READ_BY_GUNICORN
    assert sorted(expected - listed) == [], "read by the code, missing in .env.example"
    assert sorted(listed - expected) == [], "in .env.example, read by nothing"
    assert documented_variables() == expected, "docs/configuration.md's table"


def test_the_procfile_runs_gunicorn_migrates_on_release_and_runs_the_worker():
    lines = dict(
        line.split(": ", 1)
        for line in (ROOT / "Procfile").read_text().splitlines()
        if line.strip()
    )

    assert lines == {
        "web": "gunicorn -c gunicorn.conf.py wsgi:app",
        "release": "flask --app wsgi db upgrade",
        "worker": "flask --app wsgi deliver-webhooks",
    }
