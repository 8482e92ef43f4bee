"""Quick add's grammar: the contract's phrases, and nothing else, found in one
line of text (docs/decisions/0027-quick-add-grammar.md).

A phrase counts only as whole words (it starts the text or follows white space,
and ends the text or is followed by white space or punctuation), in any letter
case; text inside double quotes is never read. Each production is a regular
expression tried at the start of a word, in order; its builder may still refuse
what it matched (a 31 February, a 13pm), and then the words stay in the title.
Dates and times are local wall-clock time in the given time zone, turned into
UTC as recurrence/dates.py does (a time in a daylight-saving gap with the offset
before it); recurrences are the API's recurrence objects, counted from `now`.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from ..recurrence.dates import first_occurrence, local_to_utc
from ..recurrence.rules import MAX_INTERVAL, WEEKDAYS, zone, zone_name
from ..tasks.schemas import MAX_TAG_LENGTH, MAX_TAGS

DATE, TIME, RECURRENCE = "date", "time", "recurrence"
PRIORITY, TAG, LIST = "priority", "tag", "list"
KINDS = (DATE, TIME, RECURRENCE, PRIORITY, TAG, LIST)
PRIORITIES = {"1": "urgent", "2": "high", "3": "medium", "4": "low"}

_DAY_NAMES = {
    "monday": 0, "mon": 0, "tuesday": 1, "tue": 1, "wednesday": 2, "wed": 2,
    "thursday": 3, "thu": 3, "friday": 4, "fri": 4, "saturday": 5, "sat": 5,
    "sunday": 6, "sun": 6,
}  # fmt: skip
_MONTH_NAMES = {
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3,
    "april": 4, "apr": 4, "may": 5, "june": 6, "jun": 6, "july": 7, "jul": 7,
    "august": 8, "aug": 8, "september": 9, "sept": 9, "sep": 9, "october": 10,
    "oct": 10, "november": 11, "nov": 11, "december": 12, "dec": 12,
}  # fmt: skip


def _one_of(names) -> str:
    return "|".join(sorted(names, key=len, reverse=True))  # longest first


WEEKDAY = rf"(?:{_one_of(_DAY_NAMES)})"
MONTH = rf"(?P<month>{_one_of(_MONTH_NAMES)})"
ORDINAL = r"(?:st|nd|rd|th)"
# The end of a whole word: the text's end, white space, or punctuation that
# ends the text or is followed by white space ("friday," but not "Monday.com").
END = r"(?=$|\s|[,.;:!?)\]](?:$|\s))"
_FLAGS = re.IGNORECASE | re.UNICODE


@dataclass(frozen=True)
class Span:
    """A recognised part of the text: code-point offsets [start, end)."""

    start: int
    end: int
    kind: str


@dataclass
class Parsed:
    """What a line of text says: the task's fields and where each was found."""

    title: str
    priority: str | None = None
    tags: list[str] = field(default_factory=list)
    list_id: object = None
    due_date: datetime | None = None
    recurrence: dict | None = None  # as stored: may carry recurrence's WALL_TIME
    spans: list[Span] = field(default_factory=list)


# Builders: a match -> the value, or None to leave the words in the title. ------


def _today(match, today: date):
    return today + timedelta(days=match["rel"].lower() == "tomorrow")


def _next_week(match, today: date):
    return today + timedelta(days=7 - today.weekday())  # next Monday


def _in_days(match, today: date):
    days = int(match["n"]) * (7 if match["unit"].lower().startswith("week") else 1)
    return today + timedelta(days=days) if days <= 3660 else None


def _weekday(match, today: date):
    ahead = (_DAY_NAMES[match["day"].lower()] - today.weekday()) % 7
    return today + timedelta(days=ahead or 7)  # the next such day after today


def _iso(match, today: date):
    try:
        return date(int(match["y"]), int(match["m"]), int(match["d"]))
    except ValueError:
        return None


def _day_of_month(match, today: date):
    """`<month> <day>` or `<day> <month>`: in the year given, else the next
    such date from today on."""
    month, day = _MONTH_NAMES[match["month"].lower()], int(match["d"])
    years = [int(match["y"])] if match["y"] else range(today.year, today.year + 8)
    for year in years:
        try:
            found = date(year, month, day)
        except ValueError:
            continue
        if match["y"] or found >= today:
            return found
    return None


def _clock_time(match, today: date):
    hour, minute = int(match["h"]), int(match["mi"] or 0)
    if match["ap"]:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if match["ap"].lower() == "pm" else 0)
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


def _every_unit(match, today: date):
    return {
        "day": "FREQ=DAILY",
        "weekday": "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
        "week": "FREQ=WEEKLY",
        "month": "FREQ=MONTHLY",
        "year": "FREQ=YEARLY",
    }[match["unit"].lower()]


def _every_n(match, today: date):
    n = 2 if match["n"].lower() == "other" else int(match["n"])
    unit = match["unit"].lower().rstrip("s")
    freq = {"day": "DAILY", "week": "WEEKLY", "month": "MONTHLY", "year": "YEARLY"}
    if not 1 <= n <= MAX_INTERVAL:
        return None
    return f"FREQ={freq[unit]}" + (f";INTERVAL={n}" if n > 1 else "")


def _every_weekdays(match, today: date):
    named = re.findall(WEEKDAY, match[0][len("every") :], _FLAGS)
    days = sorted({_DAY_NAMES[name.lower()] for name in named})
    return "FREQ=WEEKLY;BYDAY=" + ",".join(WEEKDAYS[day] for day in days)


def _every_ordinal(match, today: date):
    day = int(match["d"])
    return f"FREQ=MONTHLY;BYMONTHDAY={day}" if 1 <= day <= 31 else None


def _priority(match, today: date):
    return PRIORITIES[match["p"]]


def _tag(match, today: date):
    return match["tag"] if len(match["tag"]) <= MAX_TAG_LENGTH else None


def _list_name(match, today: date):
    return (match["quoted"] or match["name"]).strip() or None


_WEEKDAYS_LIST = rf"{WEEKDAY}(?:(?:\s*,\s*(?:and\s+)?|\s+and\s+){WEEKDAY})*"
_YEAR = r"(?:,?\s+(?P<y>(?:19|20|21)\d\d))"

# (kind, pattern, builder), tried in this order at the start of each word.
PRODUCTIONS = [
    (RECURRENCE, r"every\s+(?P<unit>day|weekday|week|month|year)", _every_unit),
    (
        RECURRENCE,
        r"every\s+(?P<n>\d{1,4}|other)\s+(?P<unit>days?|weeks?|months?|years?)",
        _every_n,
    ),
    (RECURRENCE, rf"every\s+{_WEEKDAYS_LIST}", _every_weekdays),
    (RECURRENCE, rf"every\s+(?P<d>\d{{1,2}}){ORDINAL}", _every_ordinal),
    (DATE, r"(?P<rel>today|tomorrow)", _today),
    (DATE, r"next\s+week", _next_week),
    (DATE, r"in\s+(?P<n>\d{1,3})\s+(?P<unit>days?|weeks?)", _in_days),
    (DATE, r"(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})", _iso),
    (DATE, rf"{MONTH}\s+(?P<d>\d{{1,2}}){ORDINAL}?{_YEAR}", _day_of_month),
    (DATE, rf"{MONTH}\s+(?P<d>\d{{1,2}}){ORDINAL}?(?P<y>)", _day_of_month),
    (DATE, rf"(?P<d>\d{{1,2}}){ORDINAL}?\s+{MONTH}{_YEAR}", _day_of_month),
    (DATE, rf"(?P<d>\d{{1,2}}){ORDINAL}?\s+{MONTH}(?P<y>)", _day_of_month),
    (DATE, rf"(?P<day>{WEEKDAY})", _weekday),
    (TIME, r"(?:at\s+)?(?P<h>\d{1,2})(?::(?P<mi>\d{2}))?\s?(?P<ap>am|pm)", _clock_time),
    (TIME, r"at\s+(?P<h>\d{1,2}):(?P<mi>\d{2})(?P<ap>)", _clock_time),
    (PRIORITY, r"p(?P<p>[1-4])", _priority),
    (TAG, r"@(?P<tag>\w[\w-]*)", _tag),
    (LIST, r'#(?:"(?P<quoted>[^"\n]+)"|(?P<name>\w[\w-]*))', _list_name),
]
_COMPILED = [
    (kind, re.compile(pattern + END, _FLAGS), build)
    for kind, pattern, build in PRODUCTIONS
]


def _recognise(text: str, today: date, find_list: Callable[[str], object]):
    """Every phrase of the text that counts: [(span, value)], left to right.
    One of each kind but tags (the first counts; a second stays in the title)."""
    found, taken, tags = [], set(), set()
    position = 0
    while position < len(text):
        char = text[position]
        if char.isspace():
            position += 1
            continue
        if position == 0 or text[position - 1].isspace():
            hit = _production_at(text, position, today)
            if hit is not None:
                kind, match, value = hit
                if kind == LIST:
                    value = find_list(value)
                if kind == TAG:
                    usable = value.lower() in tags or len(tags) < MAX_TAGS
                    group = tags, value.lower()
                else:
                    usable = kind not in taken and value is not None
                    group = taken, kind
                if usable:
                    group[0].add(group[1])
                    found.append((Span(match.start(), match.end(), kind), value))
                position = match.end()
                continue
        if char == '"':
            closing = text.find('"', position + 1)
            if closing != -1:  # quoted: never read
                position = closing + 1
                continue
        position += 1
    return found


def _production_at(text: str, position: int, today: date):
    for kind, pattern, build in _COMPILED:
        match = pattern.match(text, position)
        if match is None:
            continue
        value = build(match, today)
        if value is not None:
            return kind, match, value
    return None


def _title(text: str, spans: list[Span]) -> str:
    """The text without its recognised parts, trimmed, runs of white space one."""
    pieces, position = [], 0
    for span in spans:
        pieces.append(text[position : span.start])
        position = span.end
    pieces.append(text[position:])
    return " ".join(" ".join(pieces).split())


def parse(
    text: str,
    now: datetime,
    timezone: str = "UTC",
    find_list: Callable[[str], object] | None = None,
) -> Parsed:
    """Read one line of text at the instant `now`, in the IANA `timezone`.
    `find_list(name)` gives the id of the user's list of that name, or None
    (then `#name` stays in the title); without it no list is recognised."""
    tz_name = zone_name(timezone)
    tz = zone(tz_name)
    today = now.astimezone(tz).date()
    found = _recognise(text, today, find_list or (lambda name: None))
    values = {span.kind: value for span, value in found if span.kind != TAG}
    parsed = Parsed(
        title=_title(text, [span for span, _ in found]),
        priority=values.get(PRIORITY),
        tags=[value for span, value in found if span.kind == TAG],
        list_id=values.get(LIST),
        spans=[span for span, _ in found],
    )
    day, clock = values.get(DATE), values.get(TIME)
    if RECURRENCE in values:
        start = datetime.combine(day or today, clock or time(0))
        not_before = now if clock and not day else local_to_utc(start, tz)
        recurrence = {"rule": values[RECURRENCE], "timezone": tz_name, "from": "due"}
        parsed.due_date, parsed.recurrence = first_occurrence(
            recurrence, start, not_before
        )
    elif day is not None:
        parsed.due_date = local_to_utc(datetime.combine(day, clock or time(0)), tz)
    elif clock is not None:  # the next such moment
        due = local_to_utc(datetime.combine(today, clock), tz)
        if due <= now:
            due = local_to_utc(datetime.combine(today + timedelta(days=1), clock), tz)
        parsed.due_date = due
    return parsed
