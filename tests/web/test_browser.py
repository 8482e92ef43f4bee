"""A frontend on another origin, in a real browser: headless Chromium loads a page
from http://localhost:3000 (the app's default CORS origin) whose script calls the
API on a real gunicorn at http://127.0.0.1:<port> with fetch() and a bearer token,
and shows what it got. Only a browser enforces CORS, so only a browser proves the
API's answers, headers and errors are readable from the frontend's origin, and
that the same page on an origin not allowed learns nothing.

Runs in the PostgreSQL pass only: what it checks does not depend on the database,
and one Chromium run per suite is enough on a small machine.
"""

import errno
import json
import threading
import uuid
import warnings
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlencode

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.support.servers import LiveUser, gunicorn_server
from tests.support.users import make_token, new_user_id

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.no_pgbouncer("exercises HTTP, not the way to the database"),
]

FRONTEND = Path(__file__).resolve().parent.parent / "frontend"
FRONTEND_PORT = 3000  # where `next dev` serves a frontend


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


@pytest.fixture(scope="module")
def frontend():
    """tests/frontend served on 127.0.0.1:3000, so the page is at
    http://localhost:3000 (allowed) and at http://127.0.0.1:3000 (the same page on
    an origin the API does not allow). If 3000 is taken, another port, and the API
    is told about it (see `api`)."""
    handler = partial(QuietHandler, directory=str(FRONTEND))
    try:
        server = ThreadingHTTPServer(("127.0.0.1", FRONTEND_PORT), handler)
    except OSError as error:
        if error.errno != errno.EADDRINUSE:
            raise
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        warnings.warn(
            f"port {FRONTEND_PORT} is taken: the browser tests use port "
            f"{server.server_address[1]} and CORS_ORIGINS set to match, so the "
            "default CORS origin was not exercised",
            stacklevel=1,
        )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def allowed_origin(frontend):
    return f"http://localhost:{frontend}"


@pytest.fixture(scope="module")
def other_origin(frontend):
    return f"http://127.0.0.1:{frontend}"


@pytest.fixture(scope="module")
def api(app, database_uri, tmp_path_factory, frontend, allowed_origin):
    """The API on a real gunicorn. On port 3000 the frontend relies on the default
    CORS origin: the variables are set empty (which means unset to the app) so that
    neither the caller's environment nor a developer's .env can change it."""
    cors = "" if frontend == FRONTEND_PORT else allowed_origin
    with gunicorn_server(
        database_uri,
        tmp_path_factory.mktemp("browser-api"),
        CORS_ORIGINS=cors,
        FRONTEND_URL="",
    ) as server:
        yield server


class Page:
    """What the test page showed: one summary line and one JSON result per step."""

    def __init__(self, browser):
        self.browser = browser
        self.done = browser.find_element(By.ID, "done").text
        self.console = [entry["message"] for entry in browser.get_log("browser")]
        self.steps = [
            item.get_attribute("id").removeprefix("step-")
            for item in browser.find_elements(By.CSS_SELECTOR, "#steps > li")
        ]

    def summary(self, step):
        return self.browser.find_element(By.CSS_SELECTOR, f"#step-{step} .summary").text

    def __getitem__(self, step):
        pre = self.browser.find_element(By.CSS_SELECTOR, f"#step-{step} pre")
        return json.loads(pre.get_attribute("textContent"))


def open_page(browser, origin, api, token):
    query = urlencode({"api": api.url, "token": token, "run": uuid.uuid4().hex})
    browser.get_log("browser")  # so the page's console holds only this page's lines
    browser.get(f"{origin}/tasks.html?{query}")
    WebDriverWait(browser, 60).until(lambda b: b.find_elements(By.ID, "done"))
    return Page(browser)


@pytest.fixture(scope="module")
def alice_id():
    return new_user_id("alice")


@pytest.fixture(scope="module")
def lifecycle(browser, api, allowed_origin, alice_id):
    """Alice's frontend, on the allowed origin, through a task's whole life."""
    page = open_page(browser, allowed_origin, api, make_token(alice_id))
    assert page.done == "finished", (page.done, page.console)
    return page


def test_the_page_runs_every_step_without_a_browser_complaint(lifecycle):
    assert lifecycle.steps == [
        "create",
        "replay",
        "create-second",
        "list",
        "read",
        "revalidate",
        "update",
        "stale-update",
        "toggle",
        "delete",
        "gone",
    ]
    # Chromium logs every CORS refusal (and failed load) to the console
    assert not [line for line in lifecycle.console if "CORS" in line]


def test_a_created_task_comes_back_with_readable_location_and_etag(lifecycle, alice_id):
    created = lifecycle["create"]

    assert lifecycle.summary("create") == "201"
    task = created["body"]
    assert task["title"] == "Buy milk 🥛"
    assert task["priority"] == "high"
    assert task["tags"] == ["home", "errands"]
    assert task["user_id"] == alice_id
    assert created["headers"]["location"].endswith(f"/api/tasks/{task['id']}")
    assert created["headers"]["etag"].startswith('"')
    assert created["headers"]["x-request-id"]
    assert created["headers"]["content-type"] == "application/json"


def test_resending_with_the_same_idempotency_key_answers_the_same_task(lifecycle):
    replay = lifecycle["replay"]

    assert replay["status"] == 201
    assert replay["body"] == lifecycle["create"]["body"]
    assert replay["headers"]["etag"] == lifecycle["create"]["headers"]["etag"]


def test_the_list_answers_the_page_it_asked_for(lifecycle):
    listing = lifecycle["list"]

    assert listing["status"] == 200
    # per_page=1 of her two tasks, newest first (the default sort)
    assert [task["title"] for task in listing["body"]] == ["Call mum"]


def test_the_page_reads_the_listing_headers_exactly_as_the_api_sends_them(
    lifecycle, api
):
    """X-Total-Count, X-Pagination and Link (whichever the API sends) reach the
    page: the same listing asked for by a client that no CORS rule filters,
    for a user in the same state (two tasks), carries the same values."""
    same = LiveUser(api, new_user_id("carol"))
    for title in ("Buy milk", "Call mum"):
        assert same.request("POST", "/tasks", json={"title": title}).status_code == 201
    direct = api.request("GET", "/api/tasks?per_page=1", headers=same.headers)
    assert direct.status_code == 200

    read = lifecycle["list"]["headers"]
    for name in ("x-total-count", "x-pagination", "link"):
        assert read[name] == direct.headers.get(name), name
    assert read["x-total-count"] == "2"
    assert json.loads(read["x-pagination"])["total_pages"] == 2
    assert 'rel="next"' in read["link"] and "per_page=1" in read["link"]


def test_the_etag_is_readable_and_if_none_match_answers_304(lifecycle):
    read = lifecycle["read"]
    revalidated = lifecycle["revalidate"]

    assert read["status"] == 200
    assert read["headers"]["etag"] == lifecycle["create"]["headers"]["etag"]
    assert revalidated["status"] == 304
    assert revalidated["body"] is None
    assert revalidated["headers"]["etag"] == read["headers"]["etag"]


def test_an_update_with_if_match_succeeds_and_a_stale_one_reads_412(lifecycle):
    updated = lifecycle["update"]
    stale = lifecycle["stale-update"]

    assert updated["status"] == 200
    assert updated["body"]["title"] == "Buy oat milk"
    assert updated["headers"]["etag"] != lifecycle["read"]["headers"]["etag"]

    assert stale["status"] == 412
    assert stale["body"]["status"] == 412
    assert isinstance(stale["body"]["detail"], str) and stale["body"]["detail"]
    assert lifecycle.summary("stale-update") == f"412 {stale['body']['detail']}"


def test_toggling_completes_the_task_and_delete_makes_it_gone(lifecycle):
    toggled = lifecycle["toggle"]
    deleted = lifecycle["delete"]
    gone = lifecycle["gone"]

    assert toggled["status"] == 200
    assert toggled["body"]["completed"] is True
    assert toggled["body"]["completed_at"].endswith("Z")
    assert toggled["body"]["title"] == "Buy oat milk"  # the stale PATCH changed nothing
    assert toggled["body"]["priority"] == "high"
    assert deleted["status"] == 204
    assert deleted["body"] is None
    assert gone["status"] == 404
    assert gone["body"]["status"] == 404


def test_the_browser_and_the_api_agree_afterwards(lifecycle, api, alice_id):
    remaining = LiveUser(api, alice_id).request("GET", "/tasks").get_json()

    assert [task["title"] for task in remaining] == ["Call mum"]


def test_a_bad_token_is_a_401_the_page_can_read(browser, api, allowed_origin):
    page = open_page(browser, allowed_origin, api, "not-a-token")

    assert page.steps == ["create"]  # the page stops at the error it shows
    answer = page["create"]
    assert answer["status"] == 401
    assert answer["body"]["status"] == 401
    assert answer["body"]["title"] == "Unauthorized"
    assert isinstance(answer["body"]["detail"], str) and answer["body"]["detail"]
    assert answer["headers"]["x-request-id"]
    assert page.summary("create") == f"401 {answer['body']['detail']}"
    assert not [line for line in page.console if "CORS" in line]


def test_the_same_page_on_an_origin_not_allowed_is_refused_by_the_browser(
    browser, api, other_origin
):
    bob_id = new_user_id("bob")
    page = open_page(browser, other_origin, api, make_token(bob_id))

    assert page.done == "stopped at create"
    assert page["create"] == {
        "error": {"name": "TypeError", "message": "Failed to fetch"}
    }
    assert page.summary("create") == "TypeError: Failed to fetch"
    # the refusal is the browser's CORS check, not a network failure ...
    refusals = [line for line in page.console if "blocked by CORS policy" in line]
    assert refusals and other_origin in refusals[0]
    # ... made on the preflight, so the POST itself was never sent
    assert LiveUser(api, bob_id).request("GET", "/tasks").get_json() == []
