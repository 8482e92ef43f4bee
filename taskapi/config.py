"""Configuration classes, read from the environment when instantiated.

`APP_ENV` picks the class (`production` unless told otherwise); tests subclass
`TestingConfig`. Nothing is read at import time.
"""

import os
import secrets
from pathlib import Path

from limits import parse_many

MIN_SECRET_LENGTH = 32
# Accepted besides HS256 when JWT_JWKS_URL is set: Better Auth's `jwt()` plugin
# signs with EdDSA (Ed25519) by default, ES256, RS256 or PS256 when configured.
ASYMMETRIC_ALGORITHMS = ("EdDSA", "ES256", "RS256", "PS256")
# Threads per gunicorn worker unless GUNICORN_THREADS says otherwise; read by
# gunicorn.conf.py and by the MCP tool pool, which is as large (decision 0005).
DEFAULT_THREADS = 2


def database_url(url: str) -> str:
    """Make the URLs that PaaS providers and Neon hand out mean psycopg2.

    SQLAlchemy 2.1 maps a bare `postgresql://` to psycopg 3, and `postgres://`
    (Heroku's spelling) to nothing at all.
    """
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg2://" + url[len(prefix) :]
    return url


def cors_origins(value: str) -> list[str]:
    return [origin.strip().rstrip("/") for origin in value.split(",") if origin.strip()]


def audiences(value: str) -> list[str] | None:
    """`JWT_AUDIENCE` may list several accepted audiences, comma-separated."""
    return [aud.strip() for aud in value.split(",") if aud.strip()] or None


def seconds(name: str, default: float, *, minimum: float = 0) -> float:
    value = os.environ.get(name) or default
    try:
        number = float(value)
    except ValueError:
        number = float("nan")
    if not minimum <= number < float("inf"):
        raise RuntimeError(f"{name} must be a number of seconds >= {minimum}")
    return number


def whole_number(env, name: str, default: int) -> int:
    value = env.get(name, "").strip()
    if not value:
        return default
    if not value.isdigit():
        raise RuntimeError(f"{name}={value!r} must be a whole number (>= 0).")
    return int(value)


class Config:
    ENV_NAME = "production"
    TESTING = False
    JSON_SORT_KEYS = False
    MAX_CONTENT_LENGTH = 1024 * 1024  # larger bodies are answered 413
    # flask-smorest / OpenAPI
    API_TITLE = "taskapi"
    API_VERSION = "1.0.0"
    OPENAPI_VERSION = "3.0.3"
    # /openapi.json, /docs and /redoc, with their assets served by the app (web/docs.py)
    OPENAPI_URL_PREFIX = "/"
    OPENAPI_JSON_PATH = "openapi.json"
    OPENAPI_SWAGGER_UI_PATH = "/docs"
    OPENAPI_SWAGGER_UI_URL = "/docs/assets/swagger-ui/"
    OPENAPI_SWAGGER_UI_CONFIG = {"persistAuthorization": True, "validatorUrl": None}
    OPENAPI_REDOC_PATH = "/redoc"
    OPENAPI_REDOC_URL = "/docs/assets/redoc/redoc.standalone.js"
    API_SPEC_OPTIONS = {
        "info": {
            "description": (
                "Tasks for the user named by the bearer JWT. Errors are JSON: "
                '`{"status", "title", "detail"}`, plus `errors` on 422. A method a '
                "route does not serve answers 405; an unknown route 404; a database "
                "outage 503 with `Retry-After`."
            )
        }
    }
    # flask-jwt-extended: HS256 with the shared secret, from the Authorization header
    # (and the JWKS algorithms with JWT_JWKS_URL: see the properties below).
    JWT_TOKEN_LOCATION = ["headers"]
    JWT_ALGORITHM = "HS256"
    JWT_DECODE_LEEWAY = 30
    # flask-jwt-extended rejects tokens that lack its identity claim. Better Auth's
    # session JWT has no `sub`, so the claim it checks for is `exp` (which the
    # contract requires anyway) and auth/bearer.py reads the user id from `sub` or
    # `user.id`.
    JWT_IDENTITY_CLAIM = "exp"
    # web/ratelimit.py: fixed windows, keys prefixed so a shared Redis can hold other
    # things; the limit itself is API_RATE_LIMIT, per user.
    RATELIMIT_ENABLED = True
    RATELIMIT_KEY_PREFIX = "taskapi"
    # Polls of one calendar feed's URL (calendars/views.py), whoever polls it:
    # calendars refresh hourly at most, several devices each.
    CALENDAR_FEED_RATE_LIMIT = "60/hour"
    # Imports per user (portability/views.py), on top of API_RATE_LIMIT: one can
    # hold a worker thread for seconds (10,000 tasks), and people import rarely.
    IMPORT_RATE_LIMIT = "10/hour"
    # Webhook URLs must be https and resolve to public addresses only
    # (webhooks/urls.py); development and testing may name any http(s) URL,
    # loopback included.
    WEBHOOK_PRIVATE_URLS = False
    # flask-cors (CORS_ORIGINS is read from the environment, below)
    CORS_ALLOW_HEADERS = [
        "Authorization",
        "Content-Type",
        "If-Match",
        "If-None-Match",
        "Idempotency-Key",
        "X-Request-ID",
        # what the MCP SDK's streamable HTTP client sends to /mcp
        "Mcp-Protocol-Version",
        "Mcp-Method",
        "Mcp-Name",
    ]
    CORS_EXPOSE_HEADERS = [
        "ETag",
        "Location",
        "Link",
        "X-Total-Count",
        "X-Pagination",
        "X-Request-ID",
        "Retry-After",
        "X-RateLimit-Limit",
        "X-RateLimit-Remaining",
        "X-RateLimit-Reset",
        "WWW-Authenticate",
    ]
    CORS_MAX_AGE = 600  # browsers may cache a preflight for 10 minutes
    # Answer CORS only to requests that carry an Origin; the answer depends on
    # it, so web/security.py adds `Vary: Origin` for caches.
    CORS_ALWAYS_SEND = False

    def __init__(self, instance_path: str | os.PathLike = "instance"):
        env = os.environ
        self.INSTANCE_PATH = Path(instance_path)
        self.SQLALCHEMY_DATABASE_URI = database_url(
            env.get("DATABASE_URL") or self.default_database_url()
        )
        self.CORS_ORIGINS = cors_origins(  # a list: flask-cors reads this key
            env.get("CORS_ORIGINS")
            or env.get("FRONTEND_URL")
            or "http://localhost:3000"
        )
        self.JWT_SECRET_KEY = (
            env.get("BETTER_AUTH_SECRET")
            or env.get("JWT_SECRET_KEY")
            or self.default_secret()
        )
        self.JWT_ISSUER = env.get("JWT_ISSUER") or None
        self.JWT_AUDIENCE = audiences(env.get("JWT_AUDIENCE", ""))
        # Better Auth's key set (auth/jwks.py): fetched with a bounded timeout, cached,
        # re-fetched for an unknown kid or after a failure at most once an interval.
        self.JWT_JWKS_URL = env.get("JWT_JWKS_URL") or None
        self.JWT_JWKS_TIMEOUT = seconds("JWT_JWKS_TIMEOUT", 3, minimum=0.1)
        self.JWT_JWKS_CACHE_SECONDS = seconds("JWT_JWKS_CACHE_SECONDS", 300, minimum=1)
        self.JWT_JWKS_REFRESH_INTERVAL = seconds("JWT_JWKS_REFRESH_INTERVAL", 5)
        # Better Auth's own database (auth/better_auth.py): a token is accepted only
        # while its session or user is there, checked once an interval.
        self.BETTER_AUTH_DATABASE_URL = (
            database_url(env["BETTER_AUTH_DATABASE_URL"])
            if env.get("BETTER_AUTH_DATABASE_URL")
            else None
        )
        self.BETTER_AUTH_CHECK_SECONDS = seconds("BETTER_AUTH_CHECK_SECONDS", 30)
        # Named in /mcp's 401 and RFC 9728 metadata, for MCP clients that sign in.
        self.MCP_AUTHORIZATION_SERVER = env.get("MCP_AUTHORIZATION_SERVER") or None
        # /mcp: tool calls run in a pool as large as gunicorn's threads, and an
        # answer not ready in time is a 504 (mcp/views.py, mcp/server.py).
        self.MCP_TOOL_THREADS = max(
            1, whole_number(env, "GUNICORN_THREADS", DEFAULT_THREADS)
        )
        self.MCP_REPLY_SECONDS = seconds("MCP_REPLY_SECONDS", 25, minimum=1)
        self.BETTER_AUTH_TIMEOUT = seconds("BETTER_AUTH_TIMEOUT", 3, minimum=0.1)
        self.BETTER_AUTH_USER_TABLE = env.get("BETTER_AUTH_USER_TABLE") or "user"
        self.BETTER_AUTH_SESSION_TABLE = (
            env.get("BETTER_AUTH_SESSION_TABLE") or "session"
        )
        self.LOG_LEVEL = env.get("LOG_LEVEL", "INFO").upper()
        # Connection pooling: see core/db.py's engine_options and .env.example.
        self.DATABASE_POOL = env.get("DATABASE_POOL", "auto").strip().lower()
        self.DATABASE_POOL_SIZE = whole_number(env, "DATABASE_POOL_SIZE", 5)
        self.DATABASE_MAX_OVERFLOW = whole_number(env, "DATABASE_MAX_OVERFLOW", 5)
        # Seconds a request waits for a free pooled connection before its 503.
        self.DATABASE_POOL_TIMEOUT = whole_number(env, "DATABASE_POOL_TIMEOUT", 10)
        # A statement running longer, or waiting longer for a lock, is cancelled by
        # PostgreSQL and the request answers 503 (core/timeouts.py; 0 turns one off).
        self.DATABASE_STATEMENT_TIMEOUT = seconds("DATABASE_STATEMENT_TIMEOUT", 5)
        self.DATABASE_LOCK_TIMEOUT = seconds("DATABASE_LOCK_TIMEOUT", 2)
        self.API_RATE_LIMIT = env.get("API_RATE_LIMIT") or "1000/minute"
        self.RATELIMIT_STORAGE_URI = env.get("RATELIMIT_STORAGE_URI") or "memory://"
        # The worker (webhooks/worker.py): how long an event is retried before its
        # webhook turns inactive, and how many deliveries run at once.
        self.WEBHOOK_RETRY_SECONDS = seconds("WEBHOOK_RETRY_SECONDS", 86400, minimum=1)
        self.WEBHOOK_CONCURRENCY = whole_number(env, "WEBHOOK_CONCURRENCY", 8)
        self.check()

    # Derived, so that a subclass setting JWT_JWKS_URL / JWT_ISSUER / JWT_AUDIENCE
    # gets them; flask-jwt-extended reads these three keys.
    @property
    def JWT_DECODE_ALGORITHMS(self) -> list[str]:
        if self.JWT_JWKS_URL:
            return ["HS256", *ASYMMETRIC_ALGORITHMS]
        return ["HS256"]

    @property
    def JWT_DECODE_ISSUER(self) -> str | None:
        return self.JWT_ISSUER

    @property
    def JWT_DECODE_AUDIENCE(self) -> list[str] | str | None:
        return self.JWT_AUDIENCE

    def default_database_url(self) -> str:
        raise RuntimeError(
            "DATABASE_URL is not set. Point it at PostgreSQL "
            "(postgresql://user:password@host/dbname), or set APP_ENV=development "
            "to use a local SQLite file."
        )

    def default_secret(self) -> str:
        return ""

    def check(self) -> None:
        try:
            parse_many(self.API_RATE_LIMIT)
        except ValueError:
            raise RuntimeError(
                f"API_RATE_LIMIT={self.API_RATE_LIMIT!r} is not a rate limit; write it "
                "like 1000/minute or 10/second;1000/hour."
            ) from None
        if len(self.JWT_SECRET_KEY) < MIN_SECRET_LENGTH:
            raise RuntimeError(
                "BETTER_AUTH_SECRET (or JWT_SECRET_KEY) must be set to the secret "
                f"shared with Better Auth, at least {MIN_SECRET_LENGTH} characters "
                f"(got {len(self.JWT_SECRET_KEY)}). Generate one with "
                "`openssl rand -base64 32`, or set APP_ENV=development for local use."
            )
        statement, lock = self.DATABASE_STATEMENT_TIMEOUT, self.DATABASE_LOCK_TIMEOUT
        if statement and lock > statement:
            raise RuntimeError(
                f"DATABASE_LOCK_TIMEOUT={lock:g} must be at most "
                f"DATABASE_STATEMENT_TIMEOUT={statement:g}: a lock wait is part of "
                "a statement, so the longer wait could never happen."
            )
        if self.JWT_JWKS_URL and not self.JWT_JWKS_URL.startswith(
            ("http://", "https://")
        ):
            raise RuntimeError(
                "JWT_JWKS_URL must be an http(s) URL, such as Better Auth's "
                "https://auth.example.com/api/auth/jwks"
            )


class ProductionConfig(Config):
    pass


class DevelopmentConfig(Config):
    ENV_NAME = "development"
    WEBHOOK_PRIVATE_URLS = True

    def default_database_url(self) -> str:
        return f"sqlite:///{self.INSTANCE_PATH.resolve() / 'taskapi.sqlite3'}"

    def default_secret(self) -> str:
        """A random secret, kept in the instance folder so the server and
        `flask create-token` agree on it across restarts."""
        path = self.INSTANCE_PATH / "dev-secret"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        self.GENERATED_SECRET_PATH = str(path)
        return path.read_text().strip()


class TestingConfig(Config):
    ENV_NAME = "testing"
    TESTING = True
    WEBHOOK_PRIVATE_URLS = True

    def default_database_url(self) -> str:
        return "sqlite:///:memory:"

    def default_secret(self) -> str:
        return "testing-secret-testing-secret-testing-secret"


CONFIGS = {
    "production": ProductionConfig,
    "development": DevelopmentConfig,
    "testing": TestingConfig,
}


def config_from_env() -> type[Config]:
    name = os.environ.get("APP_ENV", "production").strip().lower()
    try:
        return CONFIGS[name]
    except KeyError:
        raise RuntimeError(
            f"APP_ENV={name!r} is not one of {', '.join(CONFIGS)}"
        ) from None
