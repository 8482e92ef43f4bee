"""Security headers on every response: nosniff and no referrer everywhere, and
`Vary: Origin` (CORS answers depend on it); `Cache-Control: no-store` on /api and
/mcp, whose answers carry one user's data; a CSP that loads nothing on all but the
HTML doc pages, which set their own. No `Server` header is added (gunicorn's names
no version).
"""

from flask import request

JSON_CSP = "default-src 'none'; frame-ancestors 'none'"


def add_security_headers(response):
    headers = response.headers
    headers["X-Content-Type-Options"] = "nosniff"
    response.vary.add("Origin")
    headers.setdefault("Referrer-Policy", "no-referrer")
    if request.path in ("/api", "/mcp") or request.path.startswith("/api/"):
        headers["Cache-Control"] = "no-store"
    if response.mimetype != "text/html":
        headers.setdefault("Content-Security-Policy", JSON_CSP)
    return response


def init_app(app) -> None:
    app.after_request(add_security_headers)
