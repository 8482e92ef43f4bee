"""An operator deploys with environment variables: secrets, database URL, pooling."""

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import event
from sqlalchemy.pool import NullPool, QueuePool

from taskapi.config import DevelopmentConfig, ProductionConfig, database_url
from taskapi.db import get_engine

ROOT = Path(__file__).resolve().parent.parent
NEON_DIRECT = "postgresql://u:p@ep-cool-name-123456.eu-central-1.aws.neon.tech/db"
NEON_POOLED = (
    "postgresql://u:p@ep-cool-name-123456-pooler.eu-central-1.aws.neon.tech/db"
)
VARIABLES = (
    "APP_ENV",
    "DATABASE_URL",
    "BETTER_AUTH_SECRET",
    "JWT_SECRET_KEY",
    "DATABASE_POOL",
    "DATABASE_POOL_SIZE",
    "DATABASE_MAX_OVERFLOW",
)


@pytest.fixture
def env(monkeypatch):
    """A clean process environment for the config classes, which read it."""
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


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
    assert engine.pool._pre_ping is True
    assert engine.pool._recycle == 300


@pytest.mark.parametrize(
    ("url", "mode", "pooled"),
    [
        (NEON_POOLED, None, True),  # auto-detected from Neon's -pooler host
        (NEON_POOLED, "auto", True),
        (NEON_DIRECT, None, False),
        (NEON_DIRECT, "pgbouncer", True),  # any PgBouncer in transaction mode
        (NEON_POOLED, "app", False),  # explicitly keep the app's own pool
    ],
)
def test_behind_pgbouncer_the_app_keeps_no_pool_of_its_own(
    env, make_app, url, mode, pooled
):
    variables = {"DATABASE_URL": url}
    if mode:
        variables["DATABASE_POOL"] = mode
    engine = get_engine(production_app(make_app, env, **variables))

    assert isinstance(engine.pool, NullPool) is pooled


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
