"""Configuration comes from the environment, with safe defaults."""

import pytest

from taskapi.config import DevelopmentConfig, ProductionConfig, database_url

GOOD_SECRET = "s" * 32


@pytest.mark.parametrize(
    "given, expected",
    [
        ("postgres://u:p@host/db", "postgresql+psycopg2://u:p@host/db"),
        (
            "postgresql://u:p@host/db?sslmode=require",
            "postgresql+psycopg2://u:p@host/db?sslmode=require",
        ),
        ("postgresql+psycopg2://u@h/db", "postgresql+psycopg2://u@h/db"),
        ("sqlite:///x.db", "sqlite:///x.db"),
    ],
)
def test_paas_database_urls_mean_psycopg2(given, expected):
    assert database_url(given) == expected


def test_production_refuses_to_start_without_a_long_secret(env):
    env.setenv("DATABASE_URL", "postgresql://u@h/db")
    with pytest.raises(RuntimeError, match="BETTER_AUTH_SECRET"):
        ProductionConfig()
    env.setenv("BETTER_AUTH_SECRET", "s" * 31)
    with pytest.raises(RuntimeError, match="at least 32 characters"):
        ProductionConfig()
    env.setenv("BETTER_AUTH_SECRET", GOOD_SECRET)
    assert ProductionConfig().JWT_SECRET_KEY == GOOD_SECRET


def test_production_needs_a_database_url(env):
    env.setenv("BETTER_AUTH_SECRET", GOOD_SECRET)
    with pytest.raises(RuntimeError, match="DATABASE_URL"):
        ProductionConfig()


def test_jwt_secret_key_is_an_alias(env):
    env.setenv("DATABASE_URL", "postgresql://u@h/db")
    env.setenv("JWT_SECRET_KEY", GOOD_SECRET)
    assert ProductionConfig().JWT_SECRET_KEY == GOOD_SECRET


def test_cors_origins_default_and_aliases(env):
    env.setenv("DATABASE_URL", "postgresql://u@h/db")
    env.setenv("BETTER_AUTH_SECRET", GOOD_SECRET)
    assert ProductionConfig().CORS_ORIGINS == ["http://localhost:3000"]
    env.setenv("FRONTEND_URL", "https://app.example.com/")
    assert ProductionConfig().CORS_ORIGINS == ["https://app.example.com"]
    env.setenv("CORS_ORIGINS", "https://a.example, https://b.example")
    assert ProductionConfig().CORS_ORIGINS == ["https://a.example", "https://b.example"]


def test_development_uses_sqlite_and_a_generated_secret_it_keeps(env, tmp_path):
    first = DevelopmentConfig(tmp_path)
    assert f"sqlite:///{tmp_path / 'taskapi.sqlite3'}" == first.SQLALCHEMY_DATABASE_URI
    assert len(first.JWT_SECRET_KEY) >= 32
    assert DevelopmentConfig(tmp_path).JWT_SECRET_KEY == first.JWT_SECRET_KEY
    env.setenv("BETTER_AUTH_SECRET", GOOD_SECRET)
    assert DevelopmentConfig(tmp_path).JWT_SECRET_KEY == GOOD_SECRET


def test_better_auths_session_check_is_off_unless_its_database_is_named(env):
    env.setenv("DATABASE_URL", "postgresql://u@h/db")
    env.setenv("BETTER_AUTH_SECRET", GOOD_SECRET)
    config = ProductionConfig()
    assert config.BETTER_AUTH_DATABASE_URL is None
    assert config.BETTER_AUTH_CHECK_SECONDS == 30
    assert (config.BETTER_AUTH_USER_TABLE, config.BETTER_AUTH_SESSION_TABLE) == (
        "user",
        "session",
    )
    env.setenv("BETTER_AUTH_DATABASE_URL", "postgres://ba@h/auth")
    assert ProductionConfig().BETTER_AUTH_DATABASE_URL == (
        "postgresql+psycopg2://ba@h/auth"
    )


@pytest.mark.parametrize("value", ["soon", "-1", "inf"])
def test_a_bad_better_auth_check_interval_stops_the_start(env, value):
    env.setenv("DATABASE_URL", "postgresql://u@h/db")
    env.setenv("BETTER_AUTH_SECRET", GOOD_SECRET)
    env.setenv("BETTER_AUTH_CHECK_SECONDS", value)
    with pytest.raises(RuntimeError, match="BETTER_AUTH_CHECK_SECONDS"):
        ProductionConfig()


def test_the_env_fixture_clears_every_variable_the_configuration_documents(env):
    """A developer's shell (DATABASE_URL, PORT, LOG_LEVEL...) cannot leak into a
    test that builds a config: the fixture unsets every documented variable."""
    import os

    from tests.support.environment import documented_variables

    assert {
        "DATABASE_URL",
        "JWT_JWKS_URL",
        "PORT",
        "LOG_LEVEL",
    } <= documented_variables()
    assert [name for name in documented_variables() if name in os.environ] == []
