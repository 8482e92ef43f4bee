"""Export and import as users call them, and an export's content without what
an import renews (ids, timestamps) for comparing two exports."""

import json

IDS = ("id", "list_id", "parent_id", "series_id", "next_task_id")
RENEWED = ("user_id", "created_by", "created_at", "updated_at", "completed_at")


def export(user) -> dict:
    response = user.get("/export")
    assert response.status_code == 200, response.data[:300]
    return json.loads(response.data)


def import_document(user, document, **headers) -> dict:
    response = user.post("/import", json=document, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def import_calendar(user, body: bytes, **headers):
    return user.post(
        "/import", data=body, content_type="text/calendar", headers=headers
    )


def comparable(document: dict) -> dict:
    """The document with every id replaced by the place of what it names in
    the document (lists, tasks), and the renewed fields dropped."""
    places = {entry["id"]: f"list {i}" for i, entry in enumerate(document["lists"])}
    places |= {entry["id"]: f"task {i}" for i, entry in enumerate(document["tasks"])}
    series = {}

    def same(entry: dict) -> dict:
        kept = {k: v for k, v in entry.items() if k not in RENEWED}
        for name in IDS:
            value = kept.get(name)
            if name == "series_id" and value is not None and value not in places:
                value = places[value] = series.setdefault(
                    value, f"series {len(series)}"
                )
            kept[name] = places.get(value, value)
        if kept.get("assignee_id") is not None:
            kept["assignee_id"] = (
                "the user" if entry["assignee_id"] == document["user_id"] else "someone"
            )
        kept["reminders"] = [
            {k: v for k, v in r.items() if k != "remind_at"}
            for r in entry.get("reminders", [])
        ]
        return kept

    return {
        "format": document["format"],
        "version": document["version"],
        "lists": [{"id": same(e)["id"], "name": e["name"]} for e in document["lists"]],
        "tasks": [same(e) for e in document["tasks"]],
    }
