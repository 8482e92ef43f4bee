"""Recurring tasks: the RFC 5545 rule (RRULE) a task recurs by, its checks, and
the IANA time zone it is counted in. The next due date is recurrence/dates.py's;
the marshmallow fields of `recurrence`, recurrence/schemas.py's."""

import functools
import re
from dataclasses import dataclass
from datetime import date, datetime, timezone
from importlib import resources
from zoneinfo import ZoneInfo

from dateutil import rrule

FREQUENCIES = {
    "DAILY": rrule.DAILY,
    "WEEKLY": rrule.WEEKLY,
    "MONTHLY": rrule.MONTHLY,
    "YEARLY": rrule.YEARLY,
}
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
STARTS = ("due", "completion")  # what the schedule counts from
MAX_INTERVAL = 1000
MAX_COUNT = 10000
_REFUSED = {
    "DTSTART": "DTSTART is not allowed: the task's due date is the start.",
    "BYHOUR": "BYHOUR is not supported: a task recurs at its due date's time of day.",
    "BYMINUTE": "BYMINUTE is not supported: a task recurs at its due date's time "
    "of day.",
    "BYSECOND": "BYSECOND is not supported: a task recurs at its due date's time "
    "of day.",
    "BYYEARDAY": "BYYEARDAY is not supported.",
}
_BYDAY = re.compile(r"([+-]?)(\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)")
_NUMBER = re.compile(r"[+-]?\d{1,6}")
_UNTIL = re.compile(r"(\d{8})(?:T(\d{6})Z)?")


class RecurrenceError(ValueError):
    """A rule, time zone or recurrence object that the contract refuses."""


# Time zones ------------------------------------------------------------------


@functools.cache
def _zone_names() -> dict[str, str]:
    listed = resources.files("tzdata").joinpath("zones").read_text("utf-8")
    # "Factory" is tzdata's placeholder for "not configured", not a place.
    return {name.lower(): name for name in listed.split() if name != "Factory"}


def zone_name(name: str) -> str:
    """The IANA spelling of a time-zone name given in any letter case."""
    canonical = _zone_names().get(name.lower()) if isinstance(name, str) else None
    if canonical is None:
        raise RecurrenceError(f"Unknown time zone {name!r}: use an IANA name.")
    return canonical


@functools.cache
def load_zone(canonical: str) -> ZoneInfo:
    # Read from the pinned tzdata package, not ZoneInfo(key), which prefers the
    # host's files; zoneinfo.reset_tzpath() would change that for the whole process.
    path = resources.files("tzdata.zoneinfo").joinpath(*canonical.split("/"))
    with path.open("rb") as data:
        return ZoneInfo.from_file(data, key=canonical)


def zone(name: str) -> ZoneInfo:
    """The time zone of that IANA name, from the tzdata package."""
    return load_zone(zone_name(name))


# Rules -----------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """A checked RRULE: its parts in the order given and what dateutil needs."""

    parts: tuple[tuple[str, str], ...]
    options: dict  # keyword arguments of dateutil's rrule, without COUNT and UNTIL
    count: int | None
    until: datetime | date | None  # UTC instant, or a local date (the whole day)

    @property
    def text(self) -> str:
        return ";".join(f"{name}={value}" for name, value in self.parts)

    def with_count(self, count: int) -> str:
        return ";".join(
            f"{name}={count if name == 'COUNT' else value}"
            for name, value in self.parts
        )


def _numbers(name: str, value: str, low: int, high: int, signed: bool) -> list[int]:
    numbers = []
    for item in value.split(","):
        if not _NUMBER.fullmatch(item) or (not signed and item[0] in "+-"):
            raise RecurrenceError(f"{name}={value}: {item!r} is not a number.")
        number = int(item)
        if not low <= abs(number) <= high or (not signed and number < 1):
            span = f"{low} to {high}" + (f" or -{high} to -{low}" if signed else "")
            raise RecurrenceError(f"{name}={value}: {item} is not in {span}.")
        numbers.append(number)
    return numbers


def _weekday(value: str) -> int:
    if value not in WEEKDAYS:
        raise RecurrenceError(f"WKST={value}: not a weekday (MO, TU ... SU).")
    return WEEKDAYS.index(value)


def _byday(value: str) -> list[tuple[int, int | None]]:
    days = []
    for item in value.split(","):
        match = _BYDAY.fullmatch(item)
        if not match or (match[1] and not match[2]):
            raise RecurrenceError(
                f"BYDAY={value}: {item!r} is not a weekday like MO, 1MO or -1FR."
            )
        n = int(match[1] + match[2]) if match[2] else None
        if n is not None and not 1 <= abs(n) <= 53:
            raise RecurrenceError(f"BYDAY={value}: {item} is not in 1 to 53 (or -).")
        days.append((WEEKDAYS.index(match[3]), n))
    return days


def _until(value: str) -> datetime | date:
    match = _UNTIL.fullmatch(value)
    try:
        if match and match[2]:
            instant = datetime.strptime(match[1] + match[2], "%Y%m%d%H%M%S")
            return instant.replace(tzinfo=timezone.utc)
        if match:
            return datetime.strptime(match[1], "%Y%m%d").date()
    except ValueError:
        pass
    raise RecurrenceError(
        f"UNTIL={value}: use a date (20271231) or a UTC date-time (20271231T235959Z)."
    )


def parse_rule(text: str) -> Rule:
    """Check an RRULE value against the contract; raises RecurrenceError."""
    if not isinstance(text, str):
        raise RecurrenceError("The rule must be a string.")
    return _parse_rule(text)


@functools.lru_cache(maxsize=1024)
def _parse_rule(text: str) -> Rule:
    text = text.strip().upper()
    text = text.removeprefix("RRULE:")
    if "DTSTART" in text:  # also an iCalendar "DTSTART:...\nRRULE:..." pasted whole
        raise RecurrenceError(_REFUSED["DTSTART"])
    if not text:
        raise RecurrenceError("The rule is empty.")
    given: dict[str, str] = {}
    for part in text.split(";"):
        name, equals, value = part.partition("=")
        if not (name and equals and value):
            raise RecurrenceError(f"{part!r} is not NAME=VALUE.")
        if name in given:
            raise RecurrenceError(f"{name} is given more than once.")
        given[name] = value

    options: dict = {"wkst": rrule.MO}  # RFC 5545's default; dateutil's is the host's
    for name, value in given.items():
        if name in _REFUSED:
            raise RecurrenceError(_REFUSED[name])
        if name == "FREQ":
            if value not in FREQUENCIES:
                raise RecurrenceError(
                    f"FREQ={value} is not supported: use DAILY, WEEKLY, MONTHLY or "
                    "YEARLY."
                )
            options["freq"] = FREQUENCIES[value]
        elif name == "INTERVAL":
            options["interval"] = _numbers(name, value, 1, MAX_INTERVAL, False)[0]
        elif name == "COUNT":
            _numbers(name, value, 1, MAX_COUNT, False)
        elif name == "UNTIL":
            _until(value)
        elif name == "BYDAY":
            options["byweekday"] = [rrule.weekday(d, n) for d, n in _byday(value)]
        elif name == "BYMONTHDAY":
            options["bymonthday"] = _numbers(name, value, 1, 31, True)
        elif name == "BYMONTH":
            options["bymonth"] = _numbers(name, value, 1, 12, False)
        elif name == "BYSETPOS":
            options["bysetpos"] = _numbers(name, value, 1, 366, True)
        elif name == "BYWEEKNO":
            options["byweekno"] = _numbers(name, value, 1, 53, True)
        elif name == "WKST":
            options["wkst"] = _weekday(value)
        else:
            raise RecurrenceError(f"{name} is not a supported rule part.")
        if name in ("INTERVAL", "COUNT") and len(value.split(",")) > 1:
            raise RecurrenceError(f"{name}={value}: one number only.")

    _check_combination(given)
    return Rule(
        parts=tuple(given.items()),
        options=options,
        count=int(given["COUNT"]) if "COUNT" in given else None,
        until=_until(given["UNTIL"]) if "UNTIL" in given else None,
    )


def _check_combination(given: dict[str, str]) -> None:
    """RFC 5545 section 3.3.10's rules on which parts go together."""
    freq = given.get("FREQ")
    if freq is None:
        raise RecurrenceError("FREQ is required.")
    if "COUNT" in given and "UNTIL" in given:
        raise RecurrenceError("COUNT and UNTIL cannot both be given.")
    if "BYWEEKNO" in given and freq != "YEARLY":
        raise RecurrenceError("BYWEEKNO is only allowed with FREQ=YEARLY.")
    if "BYMONTHDAY" in given and freq == "WEEKLY":
        raise RecurrenceError("BYMONTHDAY is not allowed with FREQ=WEEKLY.")
    if "BYSETPOS" in given and not any(
        n.startswith("BY") for n in given if n != "BYSETPOS"
    ):
        raise RecurrenceError("BYSETPOS needs another BY... part to pick from.")
    # A period holds at most this many days (one time of day each) to pick from.
    most = {"DAILY": 1, "WEEKLY": 7, "MONTHLY": 31, "YEARLY": 366}[freq]
    if "BYSETPOS" in given and any(
        abs(n) > most for n in _numbers("BYSETPOS", given["BYSETPOS"], 1, 366, True)
    ):
        raise RecurrenceError(f"BYSETPOS: a {freq} period has at most {most}.")
    nth = (
        [n for _, n in _byday(given["BYDAY"]) if n is not None]
        if "BYDAY" in given
        else []
    )
    if nth and freq not in ("MONTHLY", "YEARLY"):
        raise RecurrenceError(
            "A numbered BYDAY (like 1MO) needs FREQ=MONTHLY or FREQ=YEARLY."
        )
    if nth and "BYWEEKNO" in given:
        raise RecurrenceError("A numbered BYDAY (like 1MO) cannot go with BYWEEKNO.")
    within_month = freq == "MONTHLY" or "BYMONTH" in given
    if within_month and any(abs(n) > 5 for n in nth):
        raise RecurrenceError("A month has at most 5 of a weekday: BYDAY 1MO to 5MO.")
    if "BYMONTH" in given and "BYMONTHDAY" in given:
        # Month lengths in a leap year: Feb 29 does occur, every fourth year.
        lengths = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
        months = _numbers("BYMONTH", given["BYMONTH"], 1, 12, False)
        days = _numbers("BYMONTHDAY", given["BYMONTHDAY"], 1, 31, True)
        if not any(abs(d) <= lengths[m - 1] for m in months for d in days):
            raise RecurrenceError("BYMONTH and BYMONTHDAY never meet: no such date.")
