"""CPU time of the places where taskapi does not use a library's own way, in process.

Each line compares the way the code does it with the library's way, on the same
input: a response's page of tasks dumped by TaskSchema's written-out `_serialize`
against marshmallow's field-by-field walk; the listing's X-Pagination metadata from
pagination.py against flask-smorest's `Blueprint._make_pagination_metadata`; and a
view method documented by one `Blueprint.doc` against one `alt_response` per error.
The median of `--rounds` timings of `--number` calls each, in microseconds per call.

    .venv/bin/python bench/seams.py [--rounds 7] [--number 2000]
"""

import argparse
import statistics
import sys
import timeit
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import marshmallow as ma
from flask import Flask
from flask_smorest import Blueprint

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from taskapi.core.pagination import pagination_metadata  # noqa: E402
from taskapi.tasks.models import PRIORITIES, Task  # noqa: E402
from taskapi.tasks.schemas import TaskSchema  # noqa: E402

NOW = datetime(2026, 11, 21, 10, 0, tzinfo=timezone.utc)


class MarshmallowTaskSchema(TaskSchema):
    """TaskSchema as marshmallow alone dumps it."""

    def _serialize(self, obj, *, many=False):
        return ma.Schema._serialize(self, obj, many=many)


def page_of_tasks(size: int) -> list[Task]:
    return [
        Task(
            id=uuid.uuid4(),
            user_id="bench-user",
            title=f"task {number}",
            description="Some words about it" if number % 2 else None,
            completed=number % 3 == 0,
            completed_at=NOW if number % 3 == 0 else None,
            priority_rank=number % len(PRIORITIES),
            due_date=NOW + timedelta(days=number) if number % 2 else None,
            tags=["home", "errands"][: number % 3],
            created_at=NOW - timedelta(minutes=number),
            updated_at=NOW,
            version=1,
        )
        for number in range(size)
    ]


def view():
    return None


def documented_view(blp: Blueprint, *, stacked: bool):
    statuses = (401, 403, 503, 400, 404, 412, 413, 415)
    if stacked:
        documented = view
        for status in statuses:
            documented = blp.alt_response(status, response=str(status))(documented)
        return documented
    return blp.doc(responses={status: str(status) for status in statuses})(view)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--number", type=int, default=2000)
    args = parser.parse_args()

    def per_call(function) -> float:
        times = timeit.repeat(function, number=args.number, repeat=args.rounds)
        return statistics.median(times) / args.number * 1e6

    page = page_of_tasks(20)
    written_out, walked = TaskSchema(many=True), MarshmallowTaskSchema(many=True)
    assert written_out.dump(page) == walked.dump(page)
    blp = Blueprint("bench", __name__)
    assert blp._make_pagination_metadata(3, 20, 95) == pagination_metadata(95, 3, 20)
    app = Flask(__name__)
    one_doc = documented_view(blp, stacked=False)
    stacked = documented_view(blp, stacked=True)

    with app.app_context():
        rows = [
            ("dump a page of 20 tasks", "TaskSchema._serialize",
             per_call(lambda: written_out.dump(page)), "marshmallow",
             per_call(lambda: walked.dump(page))),
            ("X-Pagination metadata", "pagination.py",
             per_call(lambda: pagination_metadata(95, 3, 20)), "flask-smorest",
             per_call(lambda: blp._make_pagination_metadata(3, 20, 95))),
            ("call a documented view", "no wrapper",
             per_call(view), "one Blueprint.doc", per_call(one_doc)),
            ("call a documented view", "one Blueprint.doc",
             per_call(one_doc), "8 alt_response", per_call(stacked)),
        ]  # fmt: skip
    for what, ours, ours_us, theirs, theirs_us in rows:
        print(
            f"{what:26s} {ours:22s} {ours_us:8.1f} us"
            f"   {theirs:16s} {theirs_us:8.1f} us   x{theirs_us / ours_us:.1f}"
        )


if __name__ == "__main__":
    main()
