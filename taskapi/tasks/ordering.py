"""Manual order: a task's place among its siblings (the position a new task gets,
after the last of them), and the move.

A position is a fractional-indexing key (the `fractional-indexing` package:
base-62 digits in ASCII order, so byte order is the order); siblings sort by
(position, id). A move takes the key between its new neighbours. Keys grow by
about a character per six moves into one gap; a key that would be longer than
MAX_KEY_LENGTH, or neighbours with equal keys (two appends at once), renumber the
sibling group first (docs/decisions/0014-manual-order-fractional-keys.md).

Moves within one sibling group are serialised on PostgreSQL by a transaction-
scoped advisory lock, taken before any row lock: a renumbering then never waits
for a row that a mover of the same group holds.
"""

import functools
from typing import NamedTuple

from fractional_indexing import generate_key_between, generate_n_keys_between
from sqlalchemy import bindparam, event, func, select, true, tuple_, update

from ..core.columns import utcnow
from ..core.db import Session, begin_transaction, get_engine, lock_for_transaction
from ..core.errors import invalid, too_busy
from ..core.etags import IfMatch
from ..core.prepared import prepared
from ..core.scope import USER_ID, owned
from .guarded_writes import MAX_WRITE_ATTEMPTS, guarded_update, locked_task
from .lookup import LIST_ID, PARENT_ID, get_task
from .models import TASKS, Task
from .subtasks import Place, check_assignee, move_subtasks, place_of, resolve_place

MAX_KEY_LENGTH = 50
NOT_A_SIBLING = "Task not found among the siblings at the destination."


class Sibling(NamedTuple):
    id: object
    position: str


def siblings(user_id: str, list_id, parent_id, tasks=TASKS):
    """The WHERE clause of a sibling group, the tasks one manual order ranks: a
    parent's subtasks (always in its list), or the top level of a list (None:
    the inbox). `user_id`: the owner of the place, whose user_id its tasks
    carry, so one order is shared by a list's members."""
    if parent_id is not None:
        return (*owned(user_id, tasks), tasks.parent_id == parent_id)
    in_list = tasks.list_id.is_(None) if list_id is None else tasks.list_id == list_id
    return (*owned(user_id, tasks), in_list, tasks.parent_id.is_(None))


def _last_position(in_a_list: bool, a_subtask: bool):
    group = siblings(
        USER_ID, LIST_ID if in_a_list else None, PARENT_ID if a_subtask else None
    )
    return (
        select(TASKS.position)
        .where(*group)
        .order_by(TASKS.position.desc(), TASKS.id.desc())
        .limit(1)
    )


@functools.lru_cache(maxsize=4)
def _last_position_statement(in_a_list: bool, a_subtask: bool):
    return prepared(_last_position(in_a_list, a_subtask))


def append_position(in_a_list: bool, a_subtask: bool):
    """The position after every sibling, as SQL for an INSERT's `position`: a
    create is then one statement. Its parameters: place_parameters(). Not
    serialised with moves, as position_after_last."""
    last = _last_position(in_a_list, a_subtask).scalar_subquery()
    return func.task_position_after(last, type_=TASKS.position.type)


def place_parameters(place: Place) -> dict:
    """The parameters of the statements that read a place's sibling group."""
    return {
        "owner_id": place.user_id,
        "list_uuid": place.list_id,
        "parent_uuid": place.parent_id,
    }


def init_app(app) -> None:
    """SQLite has no task_position_after (PostgreSQL's is in triggers.py): each
    of its connections gets the package's own."""
    engine = get_engine(app)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _add_position_after)


def _add_position_after(dbapi_connection, _record) -> None:
    dbapi_connection.create_function(
        "task_position_after",
        1,
        lambda last: generate_key_between(last, None),
        deterministic=True,
    )


def position_after_last(place: Place) -> str:
    """The position that puts a task after every sibling of `place`.

    Not serialised with moves (ordering.py): two tasks appended at once may get
    one position (the id then orders them, and the next move between them
    renumbers), and a renumbering keeps its group's last position, so what is
    appended after it meanwhile still comes last."""
    return generate_key_between(last_position(place), None)


def last_position(place: Place) -> str | None:
    """The position of the last sibling of `place`, None for an empty group."""
    statement = _last_position_statement(
        place.list_id is not None, place.parent_id is not None
    )
    return Session.execute(statement, place_parameters(place)).scalar()


def _lock_group(user_id: str, place: Place) -> None:
    """Serialise the writers of one sibling group until the transaction ends
    (whoever they are: a list's members share its order). `user_id`: the owner
    of an inbox."""
    if place.parent_id is not None:  # subtasks: their parent decides the group
        lock_for_transaction(f"order:parent:{place.parent_id}")
    elif place.list_id is not None:
        lock_for_transaction(f"order:list:{place.list_id}")
    else:
        lock_for_transaction(f"order:inbox:{user_id}")


def _group_of(task, fields: dict) -> Place:
    """The sibling group `fields` name for `task`, before any check: the one to
    lock. (A subtask's group is its parent's, whatever the list.)"""
    parent_id = fields.get("parent_id", task.parent_id)
    if parent_id is not None:
        return Place(None, parent_id)
    return Place(fields.get("list_id", task.list_id), None)


def _group_key(place: Place) -> Place:
    return Place(None, place.parent_id) if place.parent_id is not None else place


def _siblings_of(user_id: str, place: Place, moving_id):
    group = siblings(user_id, place.list_id, place.parent_id)
    return select(TASKS.id, TASKS.position).where(*group, TASKS.id != moving_id)


def _first(statement) -> Sibling | None:
    row = Session.execute(statement.limit(1)).first()
    return None if row is None else Sibling(row.id, row.position)


def _with_neighbour(user_id, place, moving_id, task_id, field: str, after: bool):
    """The sibling `task_id` (422 on `field` if it is none) and its neighbour
    after it (or before it), None at an end, in one statement: the first two
    siblings from it on, in that direction."""
    group = siblings(user_id, place.list_id, place.parent_id)
    named = (
        select(TASKS.position, TASKS.id)
        .where(*group, TASKS.id == task_id, TASKS.id != moving_id)
        .subquery("named")
    )
    key, from_named = tuple_(TASKS.position, TASKS.id), tuple_(*named.c)
    order = [TASKS.position, TASKS.id]
    if not after:
        order = [column.desc() for column in order]
    rows = Session.execute(
        _siblings_of(user_id, place, moving_id)
        .join(named, true())
        .where(key >= from_named if after else key <= from_named)
        .order_by(*order)
        .limit(2)
    ).all()
    if not rows:
        raise invalid(field, NOT_A_SIBLING)
    found = [Sibling(row.id, row.position) for row in rows]
    return found[0], (found[1] if len(found) == 2 else None)


def _neighbours(user_id: str, place: Place, moving_id, after, before):
    """(lower, upper): the siblings the task goes between (None: an end)."""
    if after is not None:
        lower, upper = _with_neighbour(user_id, place, moving_id, after, "after", True)
        if before is not None and (upper is None or upper.id != before):
            _with_neighbour(user_id, place, moving_id, before, "before", False)
            raise invalid("before", "Not the sibling right after `after`.")
        return lower, upper
    if before is not None:
        upper, lower = _with_neighbour(
            user_id, place, moving_id, before, "before", False
        )
        return lower, upper
    last = _siblings_of(user_id, place, moving_id).order_by(
        TASKS.position.desc(), TASKS.id.desc()
    )
    return _first(last), None


def _key_between(lower: Sibling | None, upper: Sibling | None) -> str | None:
    """The key between two neighbours; None if there is no room (equal keys)
    or the key would be too long: the group needs renumbering."""
    if lower is not None and upper is not None and lower.position >= upper.position:
        return None
    key = generate_key_between(
        None if lower is None else lower.position,
        None if upper is None else upper.position,
    )
    return key if len(key) <= MAX_KEY_LENGTH else None


_RENUMBER = (
    update(Task.__table__)
    .where(*owned(USER_ID, TASKS), TASKS.id == bindparam("sibling_id"))
    .values(
        position=bindparam("key"),
        updated_at=bindparam("now"),
        changed_by=bindparam("actor"),
        version=TASKS.version + 1,
    )
)


def _renumber(user_id: str, place: Place, moving_id, now, actor: str) -> dict:
    """Fresh short keys for the group (less the moving task), in its order;
    each sibling whose key changes is changed (updated_at, version). The last
    keeps its key, so a task appended meanwhile (append_position or
    position_after_last, neither takes a lock) still comes after all of them.
    New keys by id."""
    rows = Session.execute(
        _siblings_of(user_id, place, moving_id).order_by(TASKS.position, TASKS.id)
    ).all()
    if not rows:
        return {}
    last = rows[-1].position
    keys = [*generate_n_keys_between(None, last, len(rows) - 1), last]
    changed = [
        {
            "owner_id": user_id,
            "sibling_id": row.id,
            "key": key,
            "now": now,
            "actor": actor,
        }
        for row, key in zip(rows, keys, strict=True)
        if row.position != key
    ]
    if changed:
        Session.execute(_RENUMBER, changed)
    return {row.id: key for row, key in zip(rows, keys, strict=True)}


def _renumbered(sibling: Sibling | None, keys: dict) -> Sibling | None:
    return None if sibling is None else sibling._replace(position=keys[sibling.id])


def _already_there(task, place: Place, lower, upper) -> bool:
    if place != place_of(task):
        return False
    own = (task.position, task.id)
    return (lower is None or (lower.position, lower.id) < own) and (
        upper is None or own < (upper.position, upper.id)
    )


def move_task(user_id: str, task_id: str, body: dict, if_match: IfMatch | None):
    """Put the task right after `after`, right before `before` (both: they
    must be neighbours) or last, among the siblings of its new place (the
    body's `list_id`/`parent_id`, else its own). A task already there is not
    changed. One transaction; the subtasks of a task moved to another list
    follow it."""
    fields = {name: body[name] for name in ("list_id", "parent_id") if name in body}
    for _attempt in range(MAX_WRITE_ATTEMPTS):
        Session.rollback()
        begin_transaction()
        group = _group_key(_group_of(get_task(user_id, task_id), fields))
        _lock_group(user_id, group)
        task = locked_task(user_id, task_id, if_match)
        if _group_key(_group_of(task, fields)) != group:
            continue  # it moved since the first read: lock its group now
        place = resolve_place(user_id, task, fields)
        check_assignee(task.assignee_id, place)
        lower, upper = _neighbours(
            place.user_id, place, task.id, body.get("after"), body.get("before")
        )
        if _already_there(task, place, lower, upper):
            Session.commit()
            return task
        now = utcnow()
        key = _key_between(lower, upper)
        if key is None:
            keys = _renumber(place.user_id, place, task.id, now, user_id)
            key = _key_between(_renumbered(lower, keys), _renumbered(upper, keys))
        old_list, old_owner = task.list_id, task.user_id
        updated = guarded_update(
            task,
            **place._asdict(),
            position=key,
            updated_at=now,
            changed_by=user_id,
            version=Task.version + 1,
        )
        if updated is None:
            continue
        if updated.list_id != old_list and updated.parent_id is None:
            move_subtasks(old_owner, updated, now)
        Session.commit()
        return updated
    raise too_busy()


def position_right_after(task, now) -> tuple[str, bool]:
    """A key that puts a new sibling right after `task` (a recurring task's next
    occurrence), and whether the group had to be renumbered for it. Inside the
    caller's transaction; the group stays locked until it ends."""
    place = place_of(task)
    owner = task.user_id
    _lock_group(owner, place)
    lower, upper = _with_neighbour(owner, place, None, task.id, "id", True)
    key = _key_between(lower, upper)
    if key is not None:
        return key, False
    keys = _renumber(owner, place, None, now, task.changed_by)
    return _key_between(_renumbered(lower, keys), _renumbered(upper, keys)), True
