"""The real Better Auth (tests/betterauth/server.mjs, Node) and its signed-in
browsers, for the session tests."""

import contextlib
import json
import os
import subprocess
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path

import jwt
import pytest
from sqlalchemy import create_engine

from taskapi.config import database_url

BETTER_AUTH_DIR = Path(__file__).resolve().parent.parent / "betterauth"


@dataclass
class Account:
    """One signed-in browser: its cookies, as Better Auth set them."""

    email: str
    password: str
    cookies: dict = field(default_factory=dict)

    @property
    def session_jwt(self) -> str:
        """The cookie cache: Better Auth's HS256 session JWT, what frontends send."""
        return self.cookies["better-auth.session_data"]

    @property
    def session_token(self) -> str:
        return self.cookies["better-auth.session_token"].split(".")[0]

    @property
    def session_id(self) -> str:
        return jwt.decode(self.session_jwt, options={"verify_signature": False})[
            "session"
        ]["id"]


class BetterAuth:
    """The real Better Auth (tests/betterauth/server.mjs), on `url`'s database.

    A context manager: starts the Node server (which runs Better Auth's own
    migration) and stops it."""

    def __init__(self, url: str, secret: str, log_path: Path):
        if not (BETTER_AUTH_DIR / "node_modules" / "better-auth").is_dir():
            pytest.fail(
                "tests/betterauth is not installed: scripts/test runs "
                "`npm ci --prefix tests/betterauth`"
            )
        self.database_url = database_url(url)  # the app's spelling (psycopg2)
        self._url, self._secret, self._log_path = url, secret, log_path

    def __enter__(self):
        self._log = open(self._log_path, "w")
        env = {**os.environ, "DATABASE_URL": self._url,
               "BETTER_AUTH_SECRET": self._secret, "PORT": "0"}  # fmt: skip
        self.process = subprocess.Popen(
            ["node", str(BETTER_AUTH_DIR / "server.mjs")],
            env=env, stdout=subprocess.PIPE, stderr=self._log, text=True,
        )  # fmt: skip
        line = self.process.stdout.readline()  # "listening <port>", or EOF
        if not line.startswith("listening "):
            self.process.kill()
            raise RuntimeError(
                f"Better Auth did not start: {self._log_path.read_text()}"
            )
        self.origin = f"http://127.0.0.1:{int(line.split()[1])}"
        self.jwks_url = f"{self.origin}/api/auth/jwks"
        return self

    def __exit__(self, *exc):
        self.process.terminate()
        self.process.wait(timeout=10)
        self._log.close()

    def request(self, method: str, path: str, body=None, account=None) -> dict:
        """Call Better Auth's handler as a browser on its origin does; keeps the
        cookies it sets on `account`."""
        request = urllib.request.Request(
            f"{self.origin}/api/auth{path}",
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Content-Type": "application/json", "Origin": self.origin},
        )
        if account is not None and account.cookies:
            request.add_header(
                "Cookie", "; ".join(f"{k}={v}" for k, v in account.cookies.items())
            )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                payload, headers = response.read(), response.headers
        except urllib.error.HTTPError as error:
            raise AssertionError(f"{path}: {error.code} {error.read()[:300]}") from None
        if account is not None:
            for header in headers.get_all("Set-Cookie") or []:
                for name, morsel in SimpleCookie(header).items():
                    if morsel["max-age"] == "0":
                        account.cookies.pop(name, None)
                    else:
                        account.cookies[name] = morsel.value
        return json.loads(payload) if payload else {}

    def post(self, path: str, body: dict, account=None) -> dict:
        return self.request("POST", path, body, account)

    def sign_up(self) -> Account:
        account = Account(
            f"{uuid.uuid4().hex[:12]}@example.com", "correct-horse-battery"
        )
        self.post("/sign-up/email",
                  {"email": account.email, "password": account.password,
                   "name": "Test User"}, account)  # fmt: skip
        return account

    def sign_in(self, account: Account) -> Account:
        """The same user on another device: a session of its own."""
        device = Account(account.email, account.password)
        credentials = {"email": account.email, "password": account.password}
        self.post("/sign-in/email", credentials, device)
        return device

    def sign_out(self, account: Account) -> None:
        self.post("/sign-out", {}, account)

    def plugin_token(self, account: Account) -> str:
        """The jwt() plugin's EdDSA token for the account's session."""
        return self.request("GET", "/token", account=account)["token"]

    @contextlib.contextmanager
    def database(self):
        engine = create_engine(self.database_url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                yield conn
        finally:
            engine.dispose()
