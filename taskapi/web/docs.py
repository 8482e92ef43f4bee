"""API docs: the OpenAPI security scheme, and the files behind /docs and /redoc.

flask-smorest serves /openapi.json, /docs (Swagger UI) and /redoc (config.py's
OPENAPI_* keys). Their JavaScript and CSS come from this app, never from a CDN:
Swagger UI from the `swagger-ui-bundle-v2` package, ReDoc from taskapi/static/redoc
(vendored from npm by scripts/refresh-redoc).
"""

from pathlib import Path

import swagger_ui_bundle
from flask import Blueprint, send_from_directory

from ..core.routes import ACCESS_TOKEN_SCHEME, SCOPE_EXTENSION, SECURITY_SCHEME
from ..extensions import api

REDOC_DIR = Path(__file__).resolve().parent.parent / "static" / "redoc"
ASSETS_MAX_AGE = 24 * 3600

assets = Blueprint("docs_assets", __name__, url_prefix="/docs/assets")


@assets.get("/swagger-ui/<path:filename>")
def swagger_ui_file(filename):
    return send_from_directory(
        swagger_ui_bundle.swagger_ui_path, filename, max_age=ASSETS_MAX_AGE
    )


@assets.get("/redoc/<path:filename>")
def redoc_file(filename):
    return send_from_directory(REDOC_DIR, filename, max_age=ASSETS_MAX_AGE)


def init_app(app) -> None:
    api.spec.components.security_scheme(
        SECURITY_SCHEME,
        {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "A Better Auth JWT (or one from `flask create-token`).",
        },
    )
    api.spec.components.security_scheme(
        ACCESS_TOKEN_SCHEME,
        {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "tsk_",
            "description": "An access token (`tsk_...`, POST /api/tokens). Each "
            f"operation names the scope it needs in `{SCOPE_EXTENSION}`: "
            "tasks:read, tasks:write (brings tasks:read), webhooks.",
        },
    )
    app.register_blueprint(assets)
