"""A frontend developer reads the API's documentation, offline."""

import os
import re
import subprocess
from html.parser import HTMLParser

import pytest

from tests.support.browser import CHROMIUM
from tests.support.responses import assert_error

ERROR_BODY = "#/components/schemas/Error"


class Links(HTMLParser):
    """Every URL an HTML page loads or links to."""

    def __init__(self):
        super().__init__()
        self.urls = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("src", "href", "spec-url", "action") and value:
                self.urls.append(value)


def loaded_urls(html: str) -> list[str]:
    parser = Links()
    parser.feed(html)
    # URLs inside inline scripts and styles too (`url: "..."`, `url(...)`, imports)
    return parser.urls + re.findall(r"""["'(]((?:https?:)?//[^"')\s]+)""", html)


@pytest.fixture
def spec(client):
    response = client.get("/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def operations(spec):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method != "parameters":
                yield path, method, operation


def test_the_document_is_openapi_3_with_a_bearer_jwt_scheme(spec):
    assert spec["openapi"].startswith("3.")
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "A Better Auth JWT (or one from `flask create-token`).",
    }


def test_every_task_operation_requires_the_bearer_token_and_health_does_not(spec):
    for path, method, operation in operations(spec):
        if "/tokens" in path or path.endswith("/account"):  # sign-in token only
            assert operation["security"] == [{"bearerAuth": []}], (path, method)
        elif path.startswith("/api/"):  # or an access token with the scope named
            security = [{"bearerAuth": []}, {"accessToken": []}]
            assert operation["security"] == security, (path, method)
            assert operation["x-access-token-scope"], (path, method)
        else:
            assert operation.get("security", []) == [], (path, method)


def test_every_operation_has_a_summary_and_documents_its_errors(spec):
    seen = 0
    for path, method, operation in operations(spec):
        assert operation.get("summary"), (path, method)
        responses = operation["responses"]
        if path != "/health":  # the only operation that never touches the database
            assert "503" in responses, (path, method)
        if not path.startswith("/api/"):
            continue
        seen += 1
        expected = {"401", "403"}
        if method in ("post", "put", "patch"):
            expected |= {"400", "413", "415", "422"}
        if "{task_id}" in path or "{list_id}" in path:
            expected.add("404")
        unversioned = (
            "/tokens",
            "/invitations",
            "/members",
            "/calendar-feeds",
            "/account",
        )
        if method in ("put", "patch", "delete") and not any(
            part in path for part in unversioned
        ):
            # access tokens, invitations, memberships and calendar feeds carry
            # no ETag to match
            expected.add("412")
        assert expected <= set(responses), (path, method, sorted(responses))
        for status in expected:
            reference = responses[status]["$ref"]
            body = spec["components"]["responses"][reference.rsplit("/", 1)[1]]
            assert body["content"]["application/json"]["schema"]["$ref"] == ERROR_BODY
    # on each of the two route families: 8 on tasks (move among them), 1 quick
    # add, 6 on lists, 1 on reminders, 1 on changes, 1 batch, 4 on access tokens,
    # 7 on sharing (3 on invitations, accepting, 3 on members), 3 on calendar feeds,
    # export and import, erasing the account
    assert seen == 80


def test_path_and_query_parameters_are_documented(spec):
    by_path = spec["paths"]
    named = {p["name"] for p in by_path["/api/{user_id}/tasks/{task_id}"]["parameters"]}
    assert named == {"user_id", "task_id"}
    listing = {p["name"] for p in by_path["/api/tasks"]["get"]["parameters"]}
    assert {"page", "per_page"} <= listing


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_doc_pages_load_only_files_this_server_serves(client, page):
    response = client.get(page)

    assert response.status_code == 200
    assert response.content_type.startswith("text/html")
    urls = loaded_urls(response.get_data(as_text=True))
    assert urls, "the page loads its script from somewhere"
    for url in urls:
        assert url.startswith("/") and not url.startswith("//"), url
        asset = client.get(url)
        assert asset.status_code == 200, url
        assert len(asset.data) > 0


def test_swagger_ui_is_set_up_to_keep_the_token_and_call_no_validator(client):
    html = client.get("/docs").get_data(as_text=True)

    assert '"persistAuthorization":true' in html
    assert '"validatorUrl":null' in html
    assert "/openapi.json" in html


def test_the_doc_scripts_are_the_real_bundles(client):
    swagger = client.get("/docs/assets/swagger-ui/swagger-ui-bundle.js")
    redoc = client.get("/docs/assets/redoc/redoc.standalone.js")

    assert b"SwaggerUIBundle" in swagger.data
    assert swagger.content_type.startswith("text/javascript")
    assert b"Redoc" in redoc.data
    assert redoc.content_type.startswith("text/javascript")


def test_asset_routes_serve_nothing_outside_their_folders(client):
    for url in (
        "/docs/assets/redoc/../../../config.py",
        "/docs/assets/redoc/%2e%2e/%2e%2e/config.py",
        "/docs/assets/swagger-ui/../../__init__.py",
        "/docs/assets/redoc/no-such-file.js",
    ):
        assert_error(client.get(url), 404)


def rendered(url, tmp_path) -> str:
    """The page's DOM after its scripts ran, in headless Chromium that can resolve
    no host but 127.0.0.1: the page works with no internet or not at all."""
    assert os.path.exists(CHROMIUM), "Chromium is needed: apt-get install chromium"
    result = subprocess.run(
        [
            CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--disable-quic", "--disable-background-networking", "--disable-sync",
            "--disable-component-update", f"--user-data-dir={tmp_path}",
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            "--virtual-time-budget=20000", "--dump-dom", url,
        ],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_swagger_ui_renders_offline_with_the_authorize_button(werkzeug_url, tmp_path):
    dom = rendered(werkzeug_url + "/docs", tmp_path)

    assert 'class="btn authorize' in dom  # only shown when a security scheme exists
    assert "Create a task" in dom
    assert "Toggle completion" in dom


def test_redoc_renders_offline_with_the_bearer_scheme(werkzeug_url, tmp_path):
    dom = rendered(werkzeug_url + "/redoc", tmp_path)

    assert "Create a task" in dom
    assert "bearerAuth" in dom
