"""A task's JSON: TaskSchema's fast path for Task objects writes exactly what
marshmallow's generic walk over the schema's declared fields writes."""

import uuid
from datetime import datetime, timedelta, timezone

import marshmallow as ma
import pytest

from taskapi.tasks.models import Task
from taskapi.tasks.schemas import TaskSchema

NOW = datetime(2026, 11, 21, 15, 4, 5, 123456, tzinfo=timezone.utc)


def tasks():
    full = Task(
        id=uuid.uuid4(),
        user_id="alice",
        title="Buy milk",
        description="Two litres",
        status="completed",
        completed=True,
        completed_at=NOW,
        due_date=NOW.astimezone(timezone(timedelta(hours=2))),  # shown in UTC
        tags=["home", "errands"],
        position="a0V",
        created_at=NOW - timedelta(days=1),
        updated_at=NOW,
        version=3,
    )
    full.priority = "urgent"
    bare = Task(
        id=uuid.uuid4(),
        user_id="bob",
        title="x",
        description=None,
        status="in_progress",
        completed=False,
        completed_at=None,
        due_date=None,
        tags=[],
        position="a0",
        created_at=NOW,
        updated_at=NOW,
        version=1,
    )
    bare.priority = "medium"
    return [full, bare]


@pytest.mark.parametrize("task", tasks())
def test_the_fast_dump_equals_marshmallows_walk(task):
    schema = TaskSchema()
    fast = schema.dump(task)
    generic = ma.Schema._serialize(schema, task)
    assert fast == generic
    assert list(fast) == list(generic)  # same keys, same order


def test_many_and_restricted_dumps_keep_marshmallows_meaning():
    items = tasks()
    assert TaskSchema(many=True).dump(items) == [TaskSchema().dump(t) for t in items]
    assert TaskSchema(only=("id", "title")).dump(items[0]) == {
        "id": str(items[0].id),
        "title": "Buy milk",
    }
    assert TaskSchema().dump({"title": "a dict", "tags": []}) == {
        "title": "a dict",
        "tags": [],
    }


@pytest.mark.parametrize("task", tasks())
def test_a_row_read_for_a_response_dumps_as_its_task_does(app, task):
    """Reads load rows (scope.task_columns), writes return Task objects: the
    same task must come out the same either way."""
    from sqlalchemy import select

    from taskapi.core.db import Session
    from taskapi.tasks import lookup as scope

    task.user_id = f"serialisation-{uuid.uuid4()}"
    with app.app_context():
        try:
            Session.add(task)
            Session.commit()
            Session.remove()  # both reads below come from the database
            row = scope.get_task(task.user_id, str(task.id))
            loaded = Session.scalars(select(Task).where(Task.id == task.id)).one()
            assert TaskSchema().dump(row) == TaskSchema().dump(loaded)
            assert list(TaskSchema().dump(row)) == list(TaskSchema().dump(loaded))
            assert TaskSchema().dump(row)["priority"] == task.priority
        finally:
            Session.remove()
