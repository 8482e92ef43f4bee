"""The next due date of a recurring task.

Occurrences are computed on local wall-clock time in the task's IANA time zone
(dateutil's `rrule` on naive local date-times), then turned into UTC:

- a local time that does not exist (02:30 on the spring-forward night) is read with
  the UTC offset before the gap, so 02:30 becomes 03:30 (RFC 5545 section 3.3.5);
- a local time that happens twice (the fall-back night) is the first one (fold=0).

A due date moved by a gap is stored as that instant (02:30 -> 03:30), so the next
recurrence keeps the intended wall-clock time under WALL_TIME: the day after, the
task is back at 02:30, not at 03:30 for ever.
"""

import itertools
from datetime import MAXYEAR, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from dateutil import rrule

from .rules import STARTS, RecurrenceError, Rule, load_zone, parse_rule, zone_name

# Nothing further within this many years of the start counts as no next occurrence.
HORIZON_YEARS = 100
# Set by next_occurrence only when the next due date fell in a gap; the schema
# neither shows it nor accepts it. Used only while it still explains the due date,
# so a due date moved by the user since is followed instead.
WALL_TIME = "wall_time"

# The Gregorian calendar repeats every 400 years (146097 days, exactly 20871 weeks).
# dateutil looks for a match until year 9999 however long that takes (seconds for a
# rule that never matches), so the search runs a multiple of 400 years later, close
# to 9999, and moves back: at most ~500 years of looking, whatever the rule.
_CYCLE = 400
_LATEST_START = MAXYEAR - HORIZON_YEARS


def _years_later(moment: datetime, years: int) -> datetime:
    if moment.year + years > MAXYEAR:
        return datetime.max
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:  # Feb 29 in a year that has none
        return moment.replace(year=moment.year + years, day=28)


def local_to_utc(local: datetime, tz: ZoneInfo) -> datetime:
    """A naive local wall-clock time in `tz` as a UTC instant: a time in a gap
    read with the offset before it (02:30 -> 03:30), a repeated one the first."""
    return local.replace(tzinfo=tz, fold=0).astimezone(timezone.utc)


def _occurrences(rule: Rule, start: datetime):
    """The rule's local (naive) occurrences from `start` on, within the horizon."""
    shift = _CYCLE * max(0, (_LATEST_START - start.year) // _CYCLE)
    horizon = _years_later(start, HORIZON_YEARS)
    moved = start.replace(year=start.year + shift, microsecond=0)
    for occurrence in rrule.rrule(dtstart=moved, **rule.options):
        local = occurrence.replace(
            year=occurrence.year - shift, microsecond=start.microsecond
        )
        if local > horizon:
            return
        yield local


def _instants(rule: Rule, tz: ZoneInfo, start: datetime):
    """The occurrences from the local `start` as (local, UTC instant) pairs, up to
    UNTIL, the horizon or the year 9999 in UTC. At most 1000: callers skip only
    the start and those before a given instant, so the cap is a guard."""
    for local in itertools.islice(_occurrences(rule, start), 1000):
        try:
            instant = local_to_utc(local, tz)
        except OverflowError:
            return
        if isinstance(rule.until, datetime):
            if instant > rule.until:
                return
        elif rule.until is not None and local.date() > rule.until:
            return
        yield local, instant


def _first_after(
    rule: Rule, tz: ZoneInfo, start: datetime, after: datetime
) -> datetime | None:
    """The first occurrence strictly after the local `start` and the instant `after`,
    in UTC; None past UNTIL or the horizon."""
    occurrences = _instants(rule, tz, start)
    return next((i for local, i in occurrences if local > start and i > after), None)


def _kept_time(recurrence: dict, due: datetime, tz: ZoneInfo) -> datetime | None:
    """The local start that the stored WALL_TIME gives, if it resolves to `due`
    (on due's local date or, for a gap at midnight, the day before)."""
    try:
        wall = time.fromisoformat(recurrence.get(WALL_TIME))
    except (TypeError, ValueError):
        return None
    day = due.astimezone(tz).date()
    for start in (
        datetime.combine(day, wall),
        datetime.combine(day, wall) - timedelta(days=1),
    ):
        if start.replace(tzinfo=tz).astimezone(timezone.utc) == due:
            return start
    return None


def _aware(moment: datetime, name: str) -> datetime:
    if not isinstance(moment, datetime) or moment.tzinfo is None:
        raise ValueError(f"{name} must be a timezone-aware datetime.")
    return moment


def next_occurrence(
    recurrence: dict, due: datetime, completed_at: datetime | None
) -> tuple[datetime | None, dict | None]:
    """The next due date (UTC) and the recurrence of the next task, or (None, None).

    `from: due`: the schedule starts at the current due date (local), and the next
    occurrence is the first one after it. `from: completion`: the schedule starts on
    the completion's local date at the due date's local time of day, and the next
    occurrence is the first one after that start (and after the completion), so
    completing at 08:00 or at 20:00 the same day gives the same next date.
    The returned recurrence carries WALL_TIME when the next due date was moved by
    a gap; store it as returned.
    Raises RecurrenceError for a recurrence the contract refuses."""
    rule = parse_rule(recurrence.get("rule"))
    tz_name = zone_name(recurrence.get("timezone", "UTC"))
    start_from = recurrence.get("from", "due")
    if start_from not in STARTS:
        raise RecurrenceError(f"from must be one of {', '.join(STARTS)}.")
    if rule.count == 1:
        return None, None
    tz = load_zone(tz_name)
    _aware(due, "due")
    try:
        kept = _kept_time(recurrence, due, tz)
        intended = kept or due.astimezone(tz).replace(tzinfo=None)
        if start_from == "completion":
            done = _aware(completed_at, "completed_at")
            start = datetime.combine(done.astimezone(tz).date(), intended.time())
            after = done
        else:
            start, after = intended, due
        found = _first_after(rule, tz, start.replace(fold=0), after)
    except OverflowError:  # a local time before year 1 or after 9999
        found = None
    if found is None:
        return None, None
    text = rule.text if rule.count is None else rule.with_count(rule.count - 1)
    following = {"rule": text, "timezone": tz_name, "from": start_from}
    if found.astimezone(tz).time() != start.time():  # moved by a gap
        following[WALL_TIME] = start.time().isoformat()
    return found, following


def local_start(recurrence: dict, due: datetime) -> datetime:
    """The local wall-clock date-time (naive, in the recurrence's zone) that the
    schedule counts from for a task due at `due`: the kept WALL_TIME when a gap
    moved the due date, else the due date's local time. What a calendar's
    DTSTART;TZID= names (calendars/ics.py), so it expands the same instants."""
    tz = load_zone(zone_name(recurrence.get("timezone", "UTC")))
    kept = _kept_time(recurrence, _aware(due, "due"), tz)
    return kept or due.astimezone(tz).replace(tzinfo=None)


def first_occurrence(
    recurrence: dict, start: datetime, not_before: datetime
) -> tuple[datetime | None, dict | None]:
    """The first occurrence of a new recurrence (UTC) at or after the local
    (naive) `start`, whose time of day it keeps, and not before the instant
    `not_before`; with the recurrence to store, which carries WALL_TIME when a
    gap moved it. (None, None) if there is none within the horizon."""
    rule = parse_rule(recurrence.get("rule"))
    tz = load_zone(zone_name(recurrence.get("timezone", "UTC")))
    _aware(not_before, "not_before")
    for local, instant in _instants(rule, tz, start.replace(fold=0)):
        if instant < not_before:
            continue
        stored = dict(recurrence)
        if instant.astimezone(tz).time() != local.time():  # moved by a gap
            stored[WALL_TIME] = local.time().isoformat()
        return instant, stored
    return None, None


def public_recurrence(recurrence: dict | None) -> dict | None:
    """A stored recurrence as the API shows it: without WALL_TIME."""
    if recurrence is None:
        return None
    return {key: recurrence[key] for key in ("rule", "timezone", "from")}
