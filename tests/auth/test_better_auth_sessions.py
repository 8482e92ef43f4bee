"""Sign-out signs out: the real Better Auth (tests/betterauth/server.mjs, its own
migration, its HTTP handler) on the test cluster, and the API pointed at its
database with BETTER_AUTH_DATABASE_URL."""

import time

import pytest
from sqlalchemy import create_engine, text

from taskapi.auth.better_auth import EXTENSION, SESSION_ENDED, USER_GONE
from taskapi.config import database_url
from tests.support.better_auth import BetterAuth
from tests.support.databases import fresh_database, through_the_pooler
from tests.support.environment import through_pgbouncer
from tests.support.servers import wait_until
from tests.support.sql import sent_statements
from tests.support.users import SECRET, make_token, new_user_id

pytestmark = pytest.mark.postgres_only


@pytest.fixture(scope="module")
def better_auth(worker_id, tmp_path_factory):
    log = tmp_path_factory.mktemp("better-auth") / "server.log"
    with (
        fresh_database(f"better_auth_{worker_id}") as url,
        BetterAuth(url, SECRET, log) as peer,
    ):
        if through_pgbouncer:  # the API checks through the pooler, as on Neon
            peer.database_url = database_url(through_the_pooler(url))
        yield peer


@pytest.fixture(scope="module")
def checked_app(make_app, better_auth):
    """Every request checks Better Auth's database (no remembering)."""
    return make_app(
        BETTER_AUTH_DATABASE_URL=better_auth.database_url,
        BETTER_AUTH_CHECK_SECONDS=0,
        JWT_JWKS_URL=better_auth.jwks_url,
    )


def tasks(app, token):
    return app.test_client().get(
        "/api/tasks", headers={"Authorization": f"Bearer {token}"}
    )


def assert_refused(response, detail):
    assert response.status_code == 401, response.get_json()
    assert response.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    assert response.get_json()["detail"] == detail


def checks_sent(app):
    """The statements the app sent to Better Auth's database while the block ran."""
    return sent_statements(app, app.extensions[EXTENSION].engine)


def test_a_signed_in_users_session_jwt_is_accepted(checked_app, better_auth):
    account = better_auth.sign_up()
    response = tasks(checked_app, account.session_jwt)
    assert response.status_code == 200, response.get_json()


def test_signing_out_refuses_the_token_at_once_when_every_request_checks(
    checked_app, better_auth
):
    account = better_auth.sign_up()
    token = account.session_jwt
    assert tasks(checked_app, token).status_code == 200

    better_auth.sign_out(account)

    assert_refused(tasks(checked_app, token), SESSION_ENDED)


def test_signing_out_refuses_the_token_within_the_check_interval(make_app, better_auth):
    app = make_app(
        BETTER_AUTH_DATABASE_URL=better_auth.database_url, BETTER_AUTH_CHECK_SECONDS=1
    )
    account = better_auth.sign_up()
    token = account.session_jwt
    assert tasks(app, token).status_code == 200

    better_auth.sign_out(account)

    # remembered for at most 1 s; the 2 s margin covers a slow machine
    refused = wait_until(
        lambda: (r := tasks(app, token)).status_code != 200 and r, timeout=1 + 2
    )
    assert_refused(refused, SESSION_ENDED)


def test_revoking_a_session_from_another_device_refuses_that_token(
    checked_app, better_auth
):
    laptop = better_auth.sign_up()
    phone = better_auth.sign_in(laptop)

    better_auth.post("/revoke-session", {"token": laptop.session_token}, phone)

    assert_refused(tasks(checked_app, laptop.session_jwt), SESSION_ENDED)
    assert tasks(checked_app, phone.session_jwt).status_code == 200


def test_revoking_the_other_sessions_refuses_their_tokens(checked_app, better_auth):
    laptop = better_auth.sign_up()
    phone = better_auth.sign_in(laptop)
    tablet = better_auth.sign_in(laptop)

    better_auth.post("/revoke-other-sessions", {}, phone)

    assert_refused(tasks(checked_app, laptop.session_jwt), SESSION_ENDED)
    assert_refused(tasks(checked_app, tablet.session_jwt), SESSION_ENDED)
    assert tasks(checked_app, phone.session_jwt).status_code == 200


def test_a_deleted_users_plugin_token_is_refused(checked_app, better_auth):
    account = better_auth.sign_up()
    session_jwt = account.session_jwt
    plugin_token = better_auth.plugin_token(account)  # EdDSA, verified by JWKS
    assert tasks(checked_app, plugin_token).status_code == 200

    better_auth.post("/delete-user", {"password": account.password}, account)

    assert_refused(tasks(checked_app, plugin_token), USER_GONE)
    assert_refused(tasks(checked_app, session_jwt), SESSION_ENDED)


def test_a_deleted_users_access_tokens_stop_working(checked_app, better_auth):
    account = better_auth.sign_up()
    created = checked_app.test_client().post(
        "/api/tokens",
        json={"name": "cron", "scopes": ["tasks:read"]},
        headers={"Authorization": f"Bearer {account.session_jwt}"},
    )
    assert created.status_code == 201, created.get_json()
    access_token = created.get_json()["token"]
    assert tasks(checked_app, access_token).status_code == 200

    better_auth.post("/delete-user", {"password": account.password}, account)

    assert_refused(tasks(checked_app, access_token), USER_GONE)


def test_a_token_for_a_user_who_never_existed_is_refused(checked_app):
    token = make_token(new_user_id("ghost"))  # signed with the right secret
    assert_refused(tasks(checked_app, token), USER_GONE)


def test_an_expired_session_row_is_refused(checked_app, better_auth):
    account = better_auth.sign_up()
    with better_auth.database() as conn:
        conn.execute(
            text(
                'UPDATE "session" SET "expiresAt" = now() - interval \'1 second\' '
                "WHERE id = :id"
            ),
            {"id": account.session_id},
        )
    assert_refused(tasks(checked_app, account.session_jwt), SESSION_ENDED)


def test_the_check_is_one_indexed_query_per_session_per_interval(make_app, better_auth):
    app = make_app(
        BETTER_AUTH_DATABASE_URL=better_auth.database_url, BETTER_AUTH_CHECK_SECONDS=30
    )
    first, second = better_auth.sign_up(), better_auth.sign_up()
    with checks_sent(app) as sent:
        for _ in range(20):
            assert tasks(app, first.session_jwt).status_code == 200
            assert tasks(app, second.session_jwt).status_code == 200
    # one per session, by its primary key, with the statement timeout
    expected = (
        'SET LOCAL statement_timeout = 3000; SELECT session."expiresAt" '
        "FROM session WHERE session.id = %(subject_id)s"
    )
    assert [" ".join(s.split()) for s in sent] == [expected] * 2


def test_table_names_are_configurable(make_app, better_auth):
    with better_auth.database() as conn:
        conn.execute(
            text('CREATE OR REPLACE VIEW auth_sessions AS SELECT * FROM "session"')
        )
    app = make_app(
        BETTER_AUTH_DATABASE_URL=better_auth.database_url,
        BETTER_AUTH_CHECK_SECONDS=0,
        BETTER_AUTH_SESSION_TABLE="auth_sessions",
    )
    account = better_auth.sign_up()
    token = account.session_jwt
    with checks_sent(app) as sent:
        assert tasks(app, token).status_code == 200
    assert "auth_sessions" in sent[0]

    better_auth.sign_out(account)
    assert_refused(tasks(app, token), SESSION_ENDED)


def test_better_auths_database_down_is_503_then_accepted_again(
    make_app, cluster, tmp_path
):
    with BetterAuth(cluster.url, SECRET, tmp_path / "server.log") as peer:
        account = peer.sign_up()
    app = make_app(
        BETTER_AUTH_DATABASE_URL=peer.database_url,
        BETTER_AUTH_CHECK_SECONDS=0,
        BETTER_AUTH_TIMEOUT=1,
    )
    assert tasks(app, account.session_jwt).status_code == 200

    cluster.kill()
    started = time.monotonic()
    response = tasks(app, account.session_jwt)
    assert response.status_code == 503, response.get_json()
    assert int(response.headers["Retry-After"]) >= 1
    assert time.monotonic() - started < 10  # within the timeouts, not hung

    cluster.start()
    wait_until(
        lambda: tasks(app, account.session_jwt).status_code == 200,
        timeout=15,
        message="accepted again after the restart",
    )


def test_better_auths_database_slow_is_503_within_the_timeout(make_app, better_auth):
    app = make_app(
        BETTER_AUTH_DATABASE_URL=better_auth.database_url,
        BETTER_AUTH_CHECK_SECONDS=0,
        BETTER_AUTH_TIMEOUT=1,
    )
    account = better_auth.sign_up()
    engine = create_engine(better_auth.database_url)
    try:
        with engine.connect() as locker:  # holds the lock until the block ends
            locker.execute(text('LOCK TABLE "session" IN ACCESS EXCLUSIVE MODE'))
            started = time.monotonic()
            response = tasks(app, account.session_jwt)
            waited = time.monotonic() - started
            locker.rollback()
    finally:
        engine.dispose()
    assert response.status_code == 503, response.get_json()
    assert response.headers["Retry-After"]
    assert 1 <= waited < 5  # the statement timeout cut it, not an endless wait
