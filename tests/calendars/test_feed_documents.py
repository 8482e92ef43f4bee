"""Subscribers read a feed: one VEVENT per open, live, dated task the feed's
user sees (a list feed: that list's), with what calendars need to show and
update it (UID, SEQUENCE, LAST-MODIFIED, PRIORITY, CATEGORIES, VALARMs); ETag
and If-None-Match; text that survives both parsers; a long title folded."""

from datetime import datetime, timedelta, timezone

from tests.support.calendars import create_feed, events, fetch, icaljs, parsed, uid
from tests.support.responses import assert_error
from tests.support.sharing import shared_list

DUE = "2027-05-04T10:00:00Z"


def test_each_open_dated_task_is_one_event(client, alice):
    task = alice.create(
        title="Dentist",
        description="Bring the card",
        due_date=DUE,
        priority="urgent",
        tags=["health", "errands"],
        reminders=[{"before": "PT15M"}, {"at": "2027-05-03T18:00:00Z"}],
    )
    alice.create(title="Undated")
    done = alice.create(title="Done", due_date=DUE)
    alice.patch(f"/tasks/{done['id']}/complete", json={"completed": True})
    gone = alice.create(title="Gone", due_date=DUE)
    assert alice.delete(f"/tasks/{gone['id']}").status_code == 204
    feed = create_feed(alice)

    response = fetch(client, feed)
    calendar = parsed(response)
    assert response.headers["ETag"]
    assert "max-age" in response.headers["Cache-Control"]
    assert str(calendar["VERSION"]) == "2.0" and calendar["PRODID"]
    assert calendar["REFRESH-INTERVAL"].params["VALUE"] == "DURATION"
    assert b"REFRESH-INTERVAL;VALUE=DURATION:PT1H\r\n" in response.data
    assert b"X-PUBLISHED-TTL:PT1H\r\n" in response.data
    found = events(calendar)
    assert list(found) == [uid(task)]
    event = found[uid(task)]
    assert str(event["SUMMARY"]) == "Dentist"
    assert str(event["DESCRIPTION"]) == "Bring the card"
    assert event["DTSTART"].dt == datetime(2027, 5, 4, 10, tzinfo=timezone.utc)
    assert event["DURATION"].dt == timedelta(minutes=30)
    assert event["PRIORITY"] == 1
    assert [str(c) for c in event["CATEGORIES"].cats] == ["health", "errands"]
    assert event["SEQUENCE"] == 0
    assert event["LAST-MODIFIED"].dt and event["DTSTAMP"].dt
    alarms = [a for a in event.walk("VALARM")]
    assert [str(a["ACTION"]) for a in alarms] == ["DISPLAY", "DISPLAY"]
    triggers = sorted(a["TRIGGER"].dt for a in alarms)
    assert triggers == [
        datetime(2027, 5, 3, 18, tzinfo=timezone.utc),
        datetime(2027, 5, 4, 9, 45, tzinfo=timezone.utc),
    ]
    read = icaljs(response.data, 1)
    assert [e["uid"] for e in read["events"]] == [uid(task)]
    assert read["events"][0]["occurrences"] == ["2027-05-04T10:00:00.000Z"]


def test_priorities_map_to_rfc_5545(client, alice):
    wanted = {"urgent": 1, "high": 3, "medium": 5, "low": 9}
    tasks = {
        name: alice.create(title=name, due_date=DUE, priority=name) for name in wanted
    }
    found = events(parsed(fetch(client, create_feed(alice))))
    for name, task in tasks.items():
        assert found[uid(task)]["PRIORITY"] == wanted[name]


def test_a_change_changes_the_etag_and_the_sequence(client, alice):
    task = alice.create(title="Plan", due_date=DUE)
    feed = create_feed(alice)
    first = fetch(client, feed)
    etag = first.headers["ETag"]

    again = fetch(client, feed, **{"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    assert again.headers["ETag"] == etag

    assert alice.patch(f"/tasks/{task['id']}", json={"title": "Plan B"}).status_code
    changed = fetch(client, feed, **{"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    event = events(parsed(changed))[uid(task)]
    assert str(event["SUMMARY"]) == "Plan B" and event["SEQUENCE"] == 1

    etag = changed.headers["ETag"]
    alice.patch(f"/tasks/{task['id']}/complete", json={"completed": True})
    emptied = fetch(client, feed, **{"If-None-Match": etag})
    assert emptied.status_code == 200 and events(parsed(emptied)) == {}


def test_a_list_feed_has_that_lists_tasks_and_name(client, alice):
    work = alice.create_list("Work")
    inside = alice.create(title="In", due_date=DUE, list_id=work["id"])
    alice.create(title="Out", due_date=DUE)
    calendar = parsed(fetch(client, create_feed(alice, work["id"])))
    assert str(calendar["X-WR-CALNAME"]) == "Work"
    assert list(events(calendar)) == [uid(inside)]


def test_shared_list_tasks_appear_in_a_members_feed(client, alice, bob):
    family = shared_list(bob, "Family", members=[alice], role="viewer")
    shared = bob.create(title="Picnic", due_date=DUE, list_id=family["id"])
    bob.create(title="Bob's own", due_date=DUE)
    mine = alice.create(title="Alice's own", due_date=DUE)
    account = create_feed(alice)
    of_list = create_feed(alice, family["id"])

    assert set(events(parsed(fetch(client, account)))) == {uid(shared), uid(mine)}
    assert set(events(parsed(fetch(client, of_list)))) == {uid(shared)}

    left = alice.delete(f"/lists/{family['id']}/members/{alice.id}")
    assert left.status_code == 204
    assert set(events(parsed(fetch(client, account)))) == {uid(mine)}
    assert_error(fetch(client, of_list), 404)


def test_hostile_text_survives_both_parsers(client, alice):
    title = 'Call: Smith, Jones; "A\\B" 🎉'
    description = "Line one\nLine two, with; all\\sorts\r\nof 日本語 ✓"
    tags = ["a,b", "c;d", "e\\f"]
    task = alice.create(title=title, description=description, due_date=DUE, tags=tags)
    response = fetch(client, create_feed(alice))
    event = events(parsed(response))[uid(task)]
    assert str(event["SUMMARY"]) == title
    # iCalendar has one line break (escaped \n): a CRLF in the text becomes it
    assert str(event["DESCRIPTION"]) == description.replace("\r\n", "\n")
    assert [str(c) for c in event["CATEGORIES"].cats] == tags
    read = icaljs(response.data, 1)["events"][0]
    assert read["summary"] == title
    assert read["description"] == str(event["DESCRIPTION"])
    assert read["categories"] == tags


def test_a_300_character_title_folds(client, alice):
    long_text = ("Ω" + "x" * 98 + "🎉") * 3
    response = alice.post("/tasks", json={"title": long_text, "due_date": DUE})
    assert response.status_code == 422  # titles are at most 200 characters:
    # the longest title, and a 300-character description
    task = alice.create(title=long_text[:200], description=long_text, due_date=DUE)
    document = fetch(client, create_feed(alice)).data
    lines = document.split(b"\r\n")
    assert max(len(line) for line in lines) <= 75
    for line in lines:
        line.decode("utf-8")  # never a character cut in two
    event = events(parsed(fetch(client, create_feed(alice))))[uid(task)]
    assert str(event["SUMMARY"]) == task["title"]
    assert str(event["DESCRIPTION"]) == long_text
    read = icaljs(document, 1)["events"][0]
    assert read["summary"] == task["title"] and read["description"] == long_text


def test_a_feed_is_rate_limited_per_feed(make_app, alice):
    client = make_app(CALENDAR_FEED_RATE_LIMIT="2/hour").test_client()
    feed = create_feed(alice)
    assert fetch(client, feed).status_code == 200
    assert fetch(client, feed).status_code == 200
    refused = fetch(client, feed)
    assert_error(refused, 429)
    assert int(refused.headers["Retry-After"]) >= 1
    assert fetch(client, create_feed(alice)).status_code == 200  # another feed


def test_the_secret_stays_out_of_the_request_log(client, alice, caplog):
    feed = create_feed(alice)
    secret = feed["url"].rsplit("/", 1)[1]
    with caplog.at_level("INFO", logger="taskapi.request"):
        assert fetch(client, feed).status_code == 200
    logged = [r.fields for r in caplog.records if hasattr(r, "fields")]
    assert {"path": "/calendar/<secret>.ics", "status": 200}.items() <= logged[
        -1
    ].items()
    assert secret not in caplog.text
