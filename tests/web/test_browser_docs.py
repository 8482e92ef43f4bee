"""A frontend developer tries the API from its documentation page: Swagger UI at
/docs, in headless Chromium that can resolve no host but localhost, lists the task
operations, takes a token through "Authorize", and a "Try it out" list call
answers 200 with the developer's tasks. A screenshot is kept in
test-artifacts/docs.png.

PostgreSQL pass only, like tests/web/test_browser.py (same browser, same reasons).
"""

from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ready
from selenium.webdriver.support.ui import WebDriverWait

from tests.support.environment import ROOT
from tests.support.servers import LiveUser
from tests.support.users import new_user_id

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.no_pgbouncer("exercises HTTP, not the way to the database"),
]

ARTIFACTS = ROOT / "test-artifacts"


def operation(browser, method, path):
    """The Swagger UI block of one operation, found by what it shows."""
    for block in browser.find_elements(By.CSS_SELECTOR, f".opblock-{method}"):
        shown = block.find_element(By.CSS_SELECTOR, ".opblock-summary-path")
        if shown.get_attribute("data-path") == path:
            return block
    raise AssertionError(f"no {method.upper()} {path} on the page")


def click(browser, element):
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
    element.click()


@pytest.fixture(scope="module")
def docs(browser, live_server):
    """Swagger UI, loaded and rendered."""
    browser.get_log("browser")  # drop what earlier pages logged
    browser.get(f"{live_server.url}/docs")
    WebDriverWait(browser, 60).until(
        ready.presence_of_element_located((By.CSS_SELECTOR, ".opblock"))
    )
    return browser


def test_the_page_loaded_nothing_from_beyond_this_server(docs, live_server):
    loaded = docs.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
    )

    assert any(url.endswith("swagger-ui-bundle.js") for url in loaded)
    assert any(url.endswith("/openapi.json") for url in loaded)
    assert [url for url in loaded if not url.startswith(live_server.url + "/")] == []
    errors = [e["message"] for e in docs.get_log("browser") if e["level"] == "SEVERE"]
    # the browser's own favicon guess is the only miss (the API has no favicon)
    assert [e for e in errors if "/favicon.ico " not in e] == []


def test_the_page_lists_every_task_operation(docs):
    shown = {
        (
            block.find_element(By.CSS_SELECTOR, ".opblock-summary-method").text,
            block.find_element(By.CSS_SELECTOR, ".opblock-summary-path").get_attribute(
                "data-path"
            ),
        )
        for block in docs.find_elements(By.CSS_SELECTOR, ".opblock")
    }

    for prefix in ("/api", "/api/{user_id}"):
        assert {
            ("GET", f"{prefix}/tasks"),
            ("POST", f"{prefix}/tasks"),
            ("GET", f"{prefix}/tasks/{{task_id}}"),
            ("PUT", f"{prefix}/tasks/{{task_id}}"),
            ("PATCH", f"{prefix}/tasks/{{task_id}}"),
            ("DELETE", f"{prefix}/tasks/{{task_id}}"),
            ("PATCH", f"{prefix}/tasks/{{task_id}}/complete"),
        } <= shown


def test_authorize_then_try_it_out_lists_the_developers_tasks(docs, live_server):
    developer = LiveUser(live_server, new_user_id("dev"))
    created = developer.request("POST", "/tasks", json={"title": "Seen in the docs"})
    assert created.status_code == 201
    token = developer.token
    wait = WebDriverWait(docs, 30)

    click(docs, docs.find_element(By.CSS_SELECTOR, ".auth-wrapper .btn.authorize"))
    dialog = wait.until(
        ready.visibility_of_element_located((By.CSS_SELECTOR, ".modal-ux"))
    )
    assert "bearerAuth" in dialog.text
    dialog.find_element(By.CSS_SELECTOR, "input").send_keys(token)
    dialog.find_element(By.CSS_SELECTOR, "button.authorize").click()
    wait.until(lambda _: "Logout" in dialog.text)  # Swagger UI took the token
    dialog.find_element(By.CSS_SELECTOR, "button.btn-done").click()

    listing = operation(docs, "get", "/api/tasks")
    click(docs, listing.find_element(By.CSS_SELECTOR, ".opblock-summary"))
    click(
        docs,
        wait.until(lambda _: listing.find_element(By.CSS_SELECTOR, ".try-out__btn")),
    )
    click(docs, listing.find_element(By.CSS_SELECTOR, "button.execute"))
    response = wait.until(
        lambda _: listing.find_element(
            By.CSS_SELECTOR, ".live-responses-table .response"
        )
    )

    assert response.find_element(By.CSS_SELECTOR, ".response-col_status").text == "200"
    body = response.find_element(By.CSS_SELECTOR, ".response-col_description")
    assert "Seen in the docs" in body.text
    assert developer.id in body.text
    curl = listing.find_element(By.CSS_SELECTOR, ".curl-command").text
    assert f"Authorization: Bearer {token}" in curl

    ARTIFACTS.mkdir(exist_ok=True)
    docs.execute_script(
        "arguments[0].scrollIntoView({block: 'start'})",
        listing,
    )
    assert docs.save_screenshot(str(ARTIFACTS / "docs.png"))
    assert Path(ARTIFACTS / "docs.png").stat().st_size > 10_000
