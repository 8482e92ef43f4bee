"""Quick add (CONTRACT.md "Quick add"): one line of text becomes a task, read by
a small grammar, created as POST /tasks creates; ?preview=true creates nothing.

"Today" is a Thursday, 2026-03-05 at 10:00 local time, in each of three zones;
America/New_York springs forward on Sunday 2026-03-08 (02:00 -> 03:00)."""

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from tests.support.responses import assert_error
from tests.support.sharing import share

ZONES = ("UTC", "America/New_York", "Asia/Kolkata")
TODAY = "2026-03-05T10:00"  # a Thursday
LISTS = ("Groceries", "Home Office")
DAILY, WEEKLY, MONTHLY = "FREQ=DAILY", "FREQ=WEEKLY", "FREQ=MONTHLY"
WORKDAYS = "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"


def row(text, title, due=None, rule=None, priority="medium", tags=(), list_=None):
    return pytest.param(text, title, due, rule, priority, list(tags), list_, id=text)


# text, then the expected title, due date (local wall-clock time), recurrence
# rule, priority, tags and list.
PHRASES = [
    row("Buy milk tomorrow at 5pm p2 @shop #groceries", "Buy milk",
        "2026-03-06T17:00", priority="high", tags=["shop"], list_="Groceries"),
    row("Call mom today", "Call mom", "2026-03-05T00:00"),
    row("TOMORROW pay bills", "pay bills", "2026-03-06T00:00"),
    row("Dentist friday", "Dentist", "2026-03-06T00:00"),
    row("Gym mon", "Gym", "2026-03-09T00:00"),
    row("Report thursday", "Report", "2026-03-12T00:00"),
    row("Reply WED", "Reply", "2026-03-11T00:00"),
    row("Plan next week", "Plan", "2026-03-09T00:00"),
    row("Water plants in 3 days", "Water plants", "2026-03-08T00:00"),
    row("Check oven in 1 day", "Check oven", "2026-03-06T00:00"),
    row("Renew passport in 2 weeks", "Renew passport", "2026-03-19T00:00"),
    row("Taxes 2026-04-15", "Taxes", "2026-04-15T00:00"),
    row("Party March 20", "Party", "2026-03-20T00:00"),
    row("Party 20 march", "Party", "2026-03-20T00:00"),
    row("Flight jan 3", "Flight", "2027-01-03T00:00"),
    row("Concert May 5th 2027", "Concert", "2027-05-05T00:00"),
    row("Book 5th May", "Book", "2026-05-05T00:00"),
    row("Trip dec 24", "Trip", "2026-12-24T00:00"),
    row("Trip 24 December 2026", "Trip", "2026-12-24T00:00"),
    row("Call May 5", "Call", "2026-05-05T00:00"),
    row("Dinner at 7pm", "Dinner", "2026-03-05T19:00"),
    row("Standup 9am", "Standup", "2026-03-06T09:00"),
    row("Call Bob at 17:00", "Call Bob", "2026-03-05T17:00"),
    row("Tea 5:30pm", "Tea", "2026-03-05T17:30"),
    row("Lunch tomorrow at 12pm", "Lunch", "2026-03-06T12:00"),
    row("Snack tomorrow at 12am", "Snack", "2026-03-06T00:00"),
    row("x at 12:30 tomorrow", "x", "2026-03-06T12:30"),
    row("Review sat 10:15am", "Review", "2026-03-07T10:15"),
    row("Meeting sunday at 2:30am", "Meeting", "2026-03-08T02:30"),
    row("Email team 2026-03-08 at 2:30am", "Email team", "2026-03-08T02:30"),
    row("Urgent thing p1", "Urgent thing", priority="urgent"),
    row("p3 whatever", "whatever"),
    row("Low one P4", "Low one", priority="low"),
    row("Fix bug @work @urgent", "Fix bug", tags=["work", "urgent"]),
    row("Tagged @Home @home", "Tagged", tags=["home"]),
    row("Café meeting tomorrow @café", "Café meeting", "2026-03-06T00:00",
        tags=["café"]),
    row("🎉 party saturday @fun", "🎉 party", "2026-03-07T00:00", tags=["fun"]),
    row("Shopping #Groceries", "Shopping", list_="Groceries"),
    row('Report #"Home Office"', "Report", list_="Home Office"),
    row('Report #"home office" p2', "Report", priority="high", list_="Home Office"),
    row("Sweep floor next week p4 @chores", "Sweep floor", "2026-03-09T00:00",
        priority="low", tags=["chores"]),
    row("Stand up every weekday at 9am", "Stand up", "2026-03-06T09:00", WORKDAYS),
    row("Vitamins every day", "Vitamins", "2026-03-05T00:00", DAILY),
    row("Pills every day at 8pm", "Pills", "2026-03-05T20:00", DAILY),
    row("Pills EVERY DAY at 8am", "Pills", "2026-03-06T08:00", DAILY),
    row("Review every week", "Review", "2026-03-05T00:00", WEEKLY),
    row("Rent every month", "Rent", "2026-03-05T00:00", MONTHLY),
    row("Birthday every year", "Birthday", "2026-03-05T00:00", "FREQ=YEARLY"),
    row("Gym every mon, wed and fri", "Gym", "2026-03-06T00:00",
        "FREQ=WEEKLY;BYDAY=MO,WE,FR"),
    row("Yoga every tuesday", "Yoga", "2026-03-10T00:00", "FREQ=WEEKLY;BYDAY=TU"),
    row("Every Sunday brunch", "brunch", "2026-03-08T00:00", "FREQ=WEEKLY;BYDAY=SU"),
    row("Clean every 2 weeks", "Clean", "2026-03-05T00:00", "FREQ=WEEKLY;INTERVAL=2"),
    row("Backup every 3 days at 11pm", "Backup", "2026-03-05T23:00",
        "FREQ=DAILY;INTERVAL=3"),
    row("Water every other day", "Water", "2026-03-05T00:00", "FREQ=DAILY;INTERVAL=2"),
    row("Plan every 6 months", "Plan", "2026-03-05T00:00", "FREQ=MONTHLY;INTERVAL=6"),
    row("Invoice every 15th", "Invoice", "2026-03-15T00:00",
        "FREQ=MONTHLY;BYMONTHDAY=15"),
    row("Pay rent every 1st", "Pay rent", "2026-04-01T00:00",
        "FREQ=MONTHLY;BYMONTHDAY=1"),
    row("Standup every monday at 9am #groceries", "Standup", "2026-03-09T09:00",
        "FREQ=WEEKLY;BYDAY=MO", list_="Groceries"),
    row('Watch "Friday night lights" friday', 'Watch "Friday night lights"',
        "2026-03-06T00:00"),
    row("Buy paprika tomorrow", "Buy paprika", "2026-03-06T00:00"),
    row("Renovation plans p2", "Renovation plans", priority="high"),
    row("The 5th Wave @books", "The 5th Wave", tags=["books"]),
    row("Meet at 5 tomorrow", "Meet at 5", "2026-03-06T00:00"),
    row("Send report friday, then rest", "Send report , then rest",
        "2026-03-06T00:00"),
    row("Milk #nosuchlist", "Milk #nosuchlist"),
    row("Second date today tomorrow", "Second date tomorrow", "2026-03-05T00:00"),
]  # fmt: skip

# Phrases that must not be read at all: the title is the text as sent.
NOT_PARSED = [
    "The 5th Wave",
    "Renovation plans",
    "Buy paprika",
    "March on",
    "Sundays are for rest",
    "Call May",
    "Meet at 5",
    "Room 101",
    '"Friday night lights"',
    '"tomorrow at 5pm p1 @x"',
    "2nd floor",
    "Mayday drill",
    "Monday.com setup",
    "Wedding venue",
    "Marching band",
    "Augustine essay",
    "Tomorrowland tickets",
    "today's agenda",
    "Jan's birthday",
    "Mar-a-Lago trip",
    "12 Angry Men",
    "Top 10 tips",
    "9 to 5",
    "In 2 minds",
    "Agent 007",
    "p5 form",
    "p12 form",
    "mail me@shop.com",
    "every body counts",
    "Every now and then",
    "Weekday plans",
    "Fix #nolist",
]


def expected_due(local: str | None, zone: str) -> str | None:
    """The UTC instant of a local wall-clock time, read as recurrence does
    (a time in a gap with the offset before it)."""
    if local is None:
        return None
    moment = datetime.fromisoformat(local).replace(tzinfo=ZoneInfo(zone), fold=0)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def make_lists(user) -> dict[str, str]:
    ids = {}
    for name in LISTS:
        response = user.post("/lists", json={"name": name})
        assert response.status_code == 201, response.get_json()
        ids[name] = response.get_json()["id"]
    return ids


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("text,title,due,rule,priority,tags,list_name", PHRASES)
def test_a_phrase_becomes_the_task_it_says(
    alice, clock, zone, text, title, due, rule, priority, tags, list_name
):
    clock(zone, TODAY)
    lists = make_lists(alice) if "#" in text else {}

    response = alice.post("/tasks/quick", json={"text": text, "timezone": zone})

    assert response.status_code == 201, response.get_json()
    task = response.get_json()
    assert task["title"] == title
    assert task["priority"] == priority
    assert task["tags"] == tags
    assert task["list_id"] == (lists[list_name] if list_name else None)
    assert task["due_date"] == expected_due(due, zone)
    recurrence = {"rule": rule, "timezone": zone, "from": "due"} if rule else None
    assert task["recurrence"] == recurrence
    assert alice.get(f"/tasks/{task['id']}").get_json() == task


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("text", NOT_PARSED)
def test_a_phrase_that_is_no_date_stays_the_title(alice, clock, zone, text):
    clock(zone, TODAY)

    preview = alice.post(
        "/tasks/quick?preview=true", json={"text": text, "timezone": zone}
    )
    created = alice.post("/tasks/quick", json={"text": text, "timezone": zone})

    assert preview.status_code == 200
    assert preview.get_json() == {
        "title": text,
        "priority": "medium",
        "tags": [],
        "list_id": None,
        "due_date": None,
        "recurrence": None,
        "parsed": [],
    }
    assert created.status_code == 201
    task = created.get_json()
    assert (task["title"], task["due_date"], task["recurrence"]) == (text, None, None)
    assert (task["priority"], task["tags"], task["list_id"]) == ("medium", [], None)


def test_quick_add_answers_as_post_tasks_on_both_route_families(users_on, clock):
    clock("UTC", TODAY)
    user = users_on("carol")

    response = user.post("/tasks/quick", json={"text": "Buy milk tomorrow p1"})

    assert response.status_code == 201
    task = response.get_json()
    assert response.headers["Location"] == f"{user.prefix}/tasks/{task['id']}"
    again = user.get(f"/tasks/{task['id']}")
    assert again.headers["ETag"] == response.headers["ETag"]
    assert again.get_json() == task
    assert (task["title"], task["priority"]) == ("Buy milk", "urgent")
    assert task["due_date"] == "2026-03-06T00:00:00Z"
    assert user.get("/tasks").get_json() == [task]


def test_the_preview_gives_the_spans_in_code_points_and_creates_nothing(alice, clock):
    clock("Asia/Kolkata", TODAY)
    make_lists(alice)
    text = '🎉 Party "at 5pm" tomorrow at 5pm p2 @Fun #"home office" every'

    response = alice.post(
        "/tasks/quick?preview=true",
        json={"text": text, "timezone": "Asia/Kolkata"},
    )

    assert response.status_code == 200
    body = response.get_json()
    spans = [(text[s["start"] : s["end"]], s["kind"]) for s in body["parsed"]]
    assert spans == [
        ("tomorrow", "date"),
        ("at 5pm", "time"),
        ("p2", "priority"),
        ("@Fun", "tag"),
        ('#"home office"', "list"),
    ]
    # code points: the emoji is one (UTF-16 would count two)
    assert body["parsed"][0] == {"start": 17, "end": 25, "kind": "date"}
    assert body["title"] == '🎉 Party "at 5pm" every'
    assert body["due_date"] == "2026-03-06T11:30:00Z"
    assert (body["priority"], body["tags"]) == ("high", ["fun"])
    assert alice.get("/tasks").get_json() == []


def test_a_preview_of_a_recurrence_shows_it_as_the_api_does(alice, clock):
    clock("America/New_York", "2026-03-07T10:00")

    response = alice.post(
        "/tasks/quick?preview=TRUE",
        json={"text": "Pills every day at 2:30am", "timezone": "America/New_York"},
    )

    assert response.status_code == 200
    body = response.get_json()
    # 02:30 on 2026-03-08 does not exist in New York: 03:30 EDT, as recurrence reads it
    assert body["due_date"] == "2026-03-08T07:30:00Z"
    assert body["recurrence"] == {
        "rule": "FREQ=DAILY",
        "timezone": "America/New_York",
        "from": "due",
    }
    assert body["parsed"] == [
        {"start": 6, "end": 15, "kind": "recurrence"},
        {"start": 16, "end": 25, "kind": "time"},
    ]


def test_a_recurrence_starting_in_a_gap_keeps_its_wall_clock_time(alice, clock):
    clock("America/New_York", "2026-03-07T10:00")
    first = alice.post(
        "/tasks/quick",
        json={"text": "Pills every day at 2:30am", "timezone": "America/New_York"},
    ).get_json()

    done = alice.patch(f"/tasks/{first['id']}/complete", json={"completed": True})

    assert first["due_date"] == "2026-03-08T07:30:00Z"  # 03:30 EDT
    following = alice.get(f"/tasks/{done.get_json()['next_task_id']}").get_json()
    assert following["due_date"] == "2026-03-09T06:30:00Z"  # 02:30 EDT again
    assert following["recurrence"] == first["recurrence"]


def test_a_time_on_the_night_clocks_go_back_is_the_first_one(alice, clock):
    clock("America/New_York", "2026-10-31T10:00")

    task = alice.post(
        "/tasks/quick",
        json={"text": "Check tomorrow at 1:30am", "timezone": "America/New_York"},
    ).get_json()

    assert task["due_date"] == "2026-11-01T05:30:00Z"  # 01:30 EDT, not EST


def test_a_time_alone_is_its_next_moment_by_the_clock(alice, clock):
    clock("Asia/Kolkata", "2026-03-05T23:30")
    late = alice.post(
        "/tasks/quick", json={"text": "Sleep 11pm", "timezone": "Asia/Kolkata"}
    )
    soon = alice.post(
        "/tasks/quick", json={"text": "Read 11:45pm", "timezone": "Asia/Kolkata"}
    )

    assert late.get_json()["due_date"] == "2026-03-06T17:30:00Z"  # tomorrow 23:00
    assert soon.get_json()["due_date"] == "2026-03-05T18:15:00Z"  # today 23:45


def test_an_idempotency_key_creates_once_and_replays_the_first_answer(alice, clock):
    clock("UTC", TODAY)
    body = {"text": "Pay rent tomorrow p1"}
    key = {"Idempotency-Key": "quick-1"}

    first = alice.post("/tasks/quick", json=body, headers=key)
    clock("UTC", "2026-03-06T10:00")  # a day later "tomorrow" is another day
    again = alice.post("/tasks/quick", json=body, headers=key)
    other = alice.post("/tasks/quick", json={"text": "Something else"}, headers=key)

    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers["ETag"] == first.headers["ETag"]
    assert_error(other, 409)
    assert len(alice.get("/tasks").get_json()) == 1


@pytest.mark.parametrize(
    "body,field",
    [
        ({"text": ""}, "text"),
        ({"text": "   \t "}, "text"),
        ({"text": "tomorrow at 5pm p1 @x"}, "text"),
        ({"text": "every day"}, "text"),
        ({"text": "x" * 201}, "text"),
        ({"text": "x" * 201 + " tomorrow p1"}, "text"),
        ({"text": "a\u0000b"}, "text"),
        ({}, "text"),
        ({"text": "Buy milk", "timezone": "Mars/Olympus_Mons"}, "timezone"),
        ({"text": "Buy milk", "timezone": ""}, "timezone"),
        ({"text": "Buy milk", "timezone": 5}, "timezone"),
    ],
    ids=lambda value: repr(value)[:40],
)
def test_bad_input_is_422_naming_the_field_and_creates_nothing(
    alice, clock, body, field
):
    clock("UTC", TODAY)

    response = alice.post("/tasks/quick", json=body)
    preview = alice.post("/tasks/quick?preview=true", json=body)

    for answer in (response, preview):
        errors = assert_error(answer, 422)["errors"]["json"]
        assert list(errors) == [field]
    assert alice.get("/tasks").get_json() == []


def test_a_title_of_200_characters_after_parsing_is_fine(alice, clock):
    clock("UTC", TODAY)

    response = alice.post("/tasks/quick", json={"text": "x" * 200 + " tomorrow p1"})

    assert response.status_code == 201
    assert response.get_json()["title"] == "x" * 200


def test_a_list_shared_with_the_user_is_found_by_name(alice, bob, clock):
    clock("UTC", TODAY)
    family = bob.post("/lists", json={"name": "Family"}).get_json()
    share(bob, family["id"], alice)

    response = alice.post("/tasks/quick", json={"text": "Buy bread #FAMILY"})

    assert response.status_code == 201
    task = response.get_json()
    assert (task["title"], task["list_id"]) == ("Buy bread", family["id"])
    assert task["user_id"] == bob.id  # the owner of its place
    assert bob.get(f"/tasks/{task['id']}").status_code == 200


def test_a_list_the_user_does_not_see_stays_in_the_title(alice, bob, clock):
    clock("UTC", TODAY)
    bob.post("/lists", json={"name": "Secret"})

    response = alice.post("/tasks/quick", json={"text": "Peek #secret"})

    assert response.status_code == 201
    assert (response.get_json()["title"], response.get_json()["list_id"]) == (
        "Peek #secret",
        None,
    )


def test_a_viewer_cannot_add_to_a_list_by_name(alice, bob, clock):
    clock("UTC", TODAY)
    family = bob.post("/lists", json={"name": "Family"}).get_json()
    share(bob, family["id"], alice, role="viewer")

    response = alice.post("/tasks/quick", json={"text": "Buy bread #family"})

    assert_error(response, 403)
    assert bob.get("/tasks").get_json() == []
