"""What an access token costs a GET against a sign-in JWT, in process, on PostgreSQL.

    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \
        .venv/bin/python bench/tokens.py [--rounds 10] [--requests 500]

One app on a fresh migrated database answers GET /api/tasks/<id> and the listing
(20 of 40 tasks) by calling the WSGI app directly (no server, no network), with
the same user's HS256 JWT (remembered by the verified-token cache after its first
use, as a frontend's is) and with an access token (its checksum, SHA-256 and one
indexed look-up on every request; last_used_at is fresh, so no UPDATE), interleaved
round after round. Prints this process's CPU time per request (the database's own
CPU is not counted) and the token's ratio to the JWT, per round and the median.
"""

import argparse
import json
import os
import statistics
import sys
import time

from in_process import app_on_fresh_database
from werkzeug.test import EnvironBuilder

from tests.support.users import make_token

USER = "bench-tokens"


def call(app, environ) -> bytes:
    status = []
    body = b"".join(app(environ, lambda s, h: status.append(s)))
    assert status[0][0] == "2", (status, body)
    return body


def environs(path: str, query: str, token: str, count: int) -> list[dict]:
    headers = {"Authorization": f"Bearer {token}"}
    return [
        EnvironBuilder(path, query_string=query, headers=headers).get_environ()
        for _ in range(count)
    ]


def cpu_us_per_request(app, batch: list[dict]) -> float:
    started = time.process_time()
    for environ in batch:
        call(app, environ)
    return (time.process_time() - started) / len(batch) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--requests", type=int, default=500)
    args = parser.parse_args()
    sys.stderr = open(os.devnull, "w")  # noqa: SIM115  the request log goes nowhere
    with app_on_fresh_database("bench_tokens") as app:
        jwt = make_token(USER, lifetime=3600)
        headers = {"Authorization": f"Bearer {jwt}"}
        ids = []
        for number in range(40):
            builder = EnvironBuilder(
                "/api/tasks", method="POST", json={"title": f"t{number}"},
                headers=headers,
            )  # fmt: skip
            ids.append(json.loads(call(app, builder.get_environ()))["id"])
        builder = EnvironBuilder(
            "/api/tokens", method="POST", headers=headers,
            json={"name": "bench", "scopes": ["tasks:read"]},
        )  # fmt: skip
        token = json.loads(call(app, builder.get_environ()))["token"]
        scenarios = {
            "get": (f"/api/tasks/{ids[0]}", ""),
            "list": ("/api/tasks", "page=1&per_page=20"),
        }
        results = {name: {"jwt": [], "token": []} for name in scenarios}
        for _round in range(args.rounds):
            for name, (path, query) in scenarios.items():
                for kind, credential in (("jwt", jwt), ("token", token)):
                    batch = environs(path, query, credential, args.requests)
                    call(app, batch.pop())  # warm: caches, last_used_at
                    results[name][kind].append(cpu_us_per_request(app, batch))
        out = sys.__stdout__
        for name, measured in results.items():
            ratios = [
                t / j for j, t in zip(measured["jwt"], measured["token"], strict=True)
            ]
            print(f"{name}:", file=out)
            for kind in ("jwt", "token"):
                values = measured[kind]
                median = statistics.median(values)
                print(
                    f"  {kind:5} µs CPU/request: median {median:,.0f}"
                    f" (min {min(values):,.0f}, max {max(values):,.0f})",
                    file=out,
                )
            print(
                f"  token/jwt: median {statistics.median(ratios):.3f}"
                f" (min {min(ratios):.3f}, max {max(ratios):.3f})",
                file=out,
            )


if __name__ == "__main__":
    main()
