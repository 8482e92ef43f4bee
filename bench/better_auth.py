"""What the Better Auth session check costs a request, in process.

Three apps on one PostgreSQL database answer GET /api/tasks/<id> with the same
session JWT, interleaved round after round: the check off (no
BETTER_AUTH_DATABASE_URL), on and remembered (BETTER_AUTH_CHECK_SECONDS=30), and on
for every request (0). Wall time per request, database round trips included.

    python bench/better_auth.py --database-url URL [--rounds N] [--requests N]
"""

import argparse
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

import jwt
from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SECRET = "bench-secret-bench-secret-bench-secret-0123"
MODES = {"off": None, "remembered": 30, "every request": 0}


def better_auth_tables(url: str) -> str:
    """Better Auth's two tables as its migration makes them, holding one session;
    the session's id."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    session_id, user_id = uuid.uuid4().hex, uuid.uuid4().hex
    with engine.connect() as conn:
        conn.execute(text('CREATE TABLE IF NOT EXISTS "user" (id text PRIMARY KEY)'))
        conn.execute(text(
            'CREATE TABLE IF NOT EXISTS "session" (id text PRIMARY KEY, '
            '"expiresAt" timestamptz NOT NULL, "userId" text NOT NULL)'
        ))  # fmt: skip
        conn.execute(text('INSERT INTO "user" VALUES (:u)'), {"u": user_id})
        conn.execute(
            text("""INSERT INTO "session" VALUES (:s, now() + interval '1 day', :u)"""),
            {"s": session_id, "u": user_id},
        )
    engine.dispose()
    return session_id, user_id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    os.environ.update(
        DATABASE_URL=args.database_url,
        BETTER_AUTH_SECRET=SECRET,
        API_RATE_LIMIT="1000000000/minute",
    )
    sys.stderr = open(os.devnull, "w")  # noqa: SIM115  the request log goes nowhere
    from taskapi import create_app
    from taskapi.config import ProductionConfig, database_url

    session_id, user_id = better_auth_tables(database_url(args.database_url))
    now = int(time.time())
    token = jwt.encode(
        {"session": {"id": session_id, "userId": user_id}, "user": {"id": user_id},
         "iat": now, "exp": now + 86400},
        SECRET, "HS256",
    )  # fmt: skip
    headers = {"Authorization": f"Bearer {token}"}
    clients = {}
    for mode, check_seconds in MODES.items():
        if check_seconds is None:
            os.environ.pop("BETTER_AUTH_DATABASE_URL", None)
        else:
            os.environ["BETTER_AUTH_DATABASE_URL"] = args.database_url
            os.environ["BETTER_AUTH_CHECK_SECONDS"] = str(check_seconds)
        clients[mode] = create_app(ProductionConfig).test_client()
    first = clients["off"].post("/api/tasks", json={"title": "bench"}, headers=headers)
    path = f"/api/tasks/{first.get_json()['id']}"

    per_request = {mode: [] for mode in MODES}
    for _round in range(args.rounds):
        for mode, client in clients.items():
            started = time.perf_counter()
            for _ in range(args.requests):
                assert client.get(path, headers=headers).status_code == 200
            elapsed = time.perf_counter() - started
            per_request[mode].append(elapsed / args.requests * 1e6)
    off = statistics.median(per_request["off"])
    print(f"GET /api/tasks/<id>, {args.rounds} rounds of {args.requests}, median µs:")
    for mode, samples in per_request.items():
        median = statistics.median(samples)
        print(f"  {mode:14} {median:8.0f} µs  (+{median - off:5.0f} µs against off)")


if __name__ == "__main__":
    main()
