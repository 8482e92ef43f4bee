"""Security headers on every response.

- `X-Content-Type-Options: nosniff` and `Referrer-Policy: no-referrer` everywhere.
- `Cache-Control: no-store` on every /api response, errors included: they carry one
  user's data and must not be kept by browsers or shared caches.
- `Content-Security-Policy: default-src 'none'; frame-ancestors 'none'` on everything
  that is not an HTML page: a JSON answer never needs to load anything. HTML pages
  (/docs, /redoc) set their own policy.
- `Vary: Origin` everywhere: CORS headers depend on the request's Origin, so a
  shared cache must not hand one origin's answer to another.
- No `Server` header from the app: gunicorn sends a bare `Server: gunicorn` (no
  version). Werkzeug's development server (`flask run`, development only) announces
  `Werkzeug/x.y Python/x.y` whatever the app does.
"""

from flask import request

JSON_CSP = "default-src 'none'; frame-ancestors 'none'"


def add_security_headers(response):
    headers = response.headers
    headers["X-Content-Type-Options"] = "nosniff"
    response.vary.add("Origin")
    headers.setdefault("Referrer-Policy", "no-referrer")
    if request.path == "/api" or request.path.startswith("/api/"):
        headers["Cache-Control"] = "no-store"
    if response.mimetype != "text/html":
        headers.setdefault("Content-Security-Policy", JSON_CSP)
    return response


def init_app(app) -> None:
    app.after_request(add_security_headers)
