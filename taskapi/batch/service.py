"""POST /tasks/batch: up to 100 task operations, in order, all or nothing.

Each operation runs through the same schemas and functions as its single-task
endpoint. They run on one connection inside one transaction, joined by a session
in SQLAlchemy's `create_savepoint` mode: the functions' own commits release a
savepoint, and only the batch commits (or rolls back) the whole.
"""

import contextlib
import uuid

import orjson
from marshmallow import ValidationError
from sqlalchemy.dialects import postgresql, sqlite
from werkzeug.exceptions import Conflict, HTTPException
from werkzeug.http import parse_etags

from ..core.columns import utcnow
from ..core.db import Session, dialect_name, get_engine
from ..core.errors import invalid, unprocessable
from ..core.etags import IfMatch
from ..tasks import completion, idempotency, ordering
from ..tasks import service as task_queries
from ..tasks.models import IdempotencyKey
from ..tasks.schemas import (
    CompletionSchema,
    MoveSchema,
    TaskCreateSchema,
    TaskSchema,
    TaskUpdateSchema,
)

MAX_OPERATIONS = 100
REF = "ref:"
# Where a later operation may name a task created earlier as "ref:<name>".
REFERENCE_FIELDS = ("parent_id", "after", "before")
NIL = uuid.UUID(int=0)


class OperationFailed(Exception):
    """The first failing operation: its index and the error its endpoint gives."""

    def __init__(self, index: int, error: HTTPException):
        super().__init__(index)
        self.index = index
        self.error = error


@contextlib.contextmanager
def one_transaction(app):
    """The scoped Session, for the block, bound to one connection in one
    transaction; committed if the block ends normally, else rolled back."""
    engine = get_engine(app)
    postgresql = dialect_name() == "postgresql"
    options = {"isolation_level": "READ COMMITTED"} if postgresql else {}
    with engine.connect().execution_options(**options) as connection:
        transaction = connection.begin()
        if not postgresql:
            _begin_on_sqlite(connection)
        Session.remove()  # the request's reads so far (an access token's look-up)
        session = Session.session_factory(
            bind=connection,
            join_transaction_mode="create_savepoint",
            info={"outer_transaction": True},
        )
        Session.registry.set(session)
        try:
            yield session
            session.commit()  # releases the savepoint of the last statements
            session.close()
            transaction.commit()
        except BaseException:
            session.close()
            transaction.rollback()
            raise
        finally:
            Session.registry.clear()
            if not postgresql:
                connection.connection.driver_connection.isolation_level = ""


def _begin_on_sqlite(connection) -> None:
    """pysqlite opens transactions by itself, late, and then SAVEPOINTs do not
    roll back as they should; SQLAlchemy's recipe is to take BEGIN over (here for
    this connection only, until the batch ends)."""
    connection.connection.driver_connection.isolation_level = None
    connection.exec_driver_sql("BEGIN")


def _resolve(value, refs: dict, field: str):
    if isinstance(value, str) and value.startswith(REF):
        name = value[len(REF) :]
        if name not in refs:
            raise invalid(field, f"No earlier create in this batch has ref {name!r}.")
        return refs[name]
    return value


def _load(schema, body, field="body"):
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise invalid(field, "Must be a JSON object.")
    try:
        return schema.load(body)
    except ValidationError as error:
        raise unprocessable(error.messages) from None


def _if_match(operation) -> IfMatch | None:
    value = operation.get("if_match")
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise invalid("if_match", "Must be an ETag, as a string.")
    return IfMatch(parse_etags(value.strip()))


def _task_id(operation, refs) -> str:
    task_id = _resolve(operation.get("id"), refs, "id")
    if not isinstance(task_id, str) or not task_id:
        raise invalid("id", "Missing or not a task id.")
    return task_id


def _run(user_id: str, operation, refs: dict) -> dict:
    if not isinstance(operation, dict):
        raise invalid("operation", "Must be a JSON object.")
    op = operation.get("op")
    known = {"op", "ref", "body", "id", "if_match"}
    unknown = sorted(set(operation) - known)
    if unknown:
        raise unprocessable({name: ["Unknown field."] for name in unknown})
    body = operation.get("body")
    if isinstance(body, dict):
        body = {
            name: _resolve(value, refs, name) if name in REFERENCE_FIELDS else value
            for name, value in body.items()
        }
    if op == "create":
        ref = operation.get("ref")
        if ref is not None and (not isinstance(ref, str) or not 0 < len(ref) <= 100):
            raise invalid("ref", "Must be a name of 1-100 characters.")
        if ref in refs:
            raise invalid("ref", f"Ref {ref!r} is already used in this batch.")
        task = task_queries.create_task(user_id, _load(TaskCreateSchema(), body))
        if ref is not None:
            refs[ref] = str(task.id)
        return {"status": 201, "task": TaskSchema().dump(task)}
    if op == "update":
        fields = _load(TaskUpdateSchema(), body)
        task_id = _task_id(operation, refs)
        task = task_queries.update_task(user_id, task_id, fields, _if_match(operation))
        return {"status": 200, "task": TaskSchema().dump(task)}
    if op == "complete":
        completed = _load(CompletionSchema(), body).get("completed")
        task_id = _task_id(operation, refs)
        task = completion.set_completed(
            user_id, task_id, completed, _if_match(operation)
        )
        return {"status": 200, "task": TaskSchema().dump(task)}
    if op == "delete":
        task_id = _task_id(operation, refs)
        task_queries.soft_delete(user_id, task_id, _if_match(operation))
        return {"status": 204}
    if op == "move":
        fields = _load(MoveSchema(), body)
        task_id = _task_id(operation, refs)
        task = ordering.move_task(user_id, task_id, fields, _if_match(operation))
        return {"status": 200, "task": TaskSchema().dump(task)}
    raise invalid("op", "One of create, update, complete, delete, move.")


def _plain_create(operation, refs: dict) -> dict | None:
    """The loaded fields of a create that can be appended in bulk, else None."""
    if not isinstance(operation, dict) or operation.get("op") != "create":
        return None
    if not operation.keys() <= {"op", "ref", "body"}:
        return None
    ref = operation.get("ref")
    if ref is not None and (not isinstance(ref, str) or not 0 < len(ref) <= 100):
        return None
    if ref in refs:
        return None
    body = operation.get("body")
    if not isinstance(body, dict) or not body.keys() <= task_queries.BULK_FIELDS:
        return None  # a list, a parent, reminders...: one at a time
    fields = _load(TaskCreateSchema(), body)
    return fields if task_queries.can_add_in_bulk(fields) else None


def run(user_id: str, operations: list) -> list[dict]:
    """Every operation, in order, in the caller's transaction; OperationFailed
    for the first that fails. A run of plain creates into the inbox is one
    INSERT (task_queries.add_inbox_tasks), the same rows one by one would give."""
    refs: dict[str, str] = {}
    results = []
    index = 0
    while index < len(operations):
        run_of = []
        try:
            while index + len(run_of) < len(operations):
                operation = operations[index + len(run_of)]
                fields = _plain_create(operation, refs)
                if fields is None:
                    break
                ref = operation.get("ref")
                if ref is not None and any(ref == r for r, _ in run_of):
                    break
                run_of.append((ref, fields))
        except HTTPException as error:
            raise OperationFailed(index + len(run_of), error) from None
        if run_of:
            try:
                created = task_queries.add_inbox_tasks(user_id, [f for _, f in run_of])
            except HTTPException as error:
                # Past the limit of live tasks: the run is refused as a whole,
                # named by its first operation.
                raise OperationFailed(index, error) from None
            Session.commit()  # releases the savepoint, as create_task's commit does
            for (ref, _), task in zip(run_of, created, strict=True):
                if ref is not None:
                    refs[ref] = str(task.id)
                results.append({"status": 201, "task": TaskSchema().dump(task)})
            index += len(run_of)
            continue
        try:
            results.append(_run(user_id, operations[index], refs))
        except HTTPException as error:
            raise OperationFailed(index, error) from None
        index += 1
    return results


def _claim(user_id: str, key: str, print_: str, body: str) -> bool:
    dialect = postgresql if dialect_name() == "postgresql" else sqlite
    claim = (
        dialect.insert(IdempotencyKey)
        .on_conflict_do_nothing()
        .values(
            user_id=user_id,
            key=key,
            fingerprint=print_,
            task_id=NIL,  # a batch has no one task
            response_body=body,
            etag="",
            created_at=utcnow(),
        )
    )
    return Session.execute(claim).rowcount == 1


def run_once(app, user_id: str, operations: list, key: str | None) -> str:
    """The batch's 200 body (JSON text): run in one transaction, or, for an
    Idempotency-Key already used with these operations, the first answer again."""
    print_ = idempotency.fingerprint({"batch": operations})
    with one_transaction(app):
        if key is not None:
            stored = idempotency.stored_answer(user_id, key)
            if stored is not None:
                if stored.fingerprint != print_:
                    raise Conflict(
                        "This Idempotency-Key was already used with a different "
                        "request body. Send a new key for a new batch."
                    )
                return stored.response_body
        body = orjson.dumps({"results": run(user_id, operations)}).decode()
        if key is not None and not _claim(user_id, key, print_, body):
            raise Conflict("This Idempotency-Key is in use by another request; retry.")
        return body
