"""Following the change feed as a client would: a SyncClient kept in step by
/changes, and the full read of /tasks and /lists it must end equal to."""


class SyncClient:
    """What a frontend keeps: tasks and lists by id, kept in step by the feed."""

    def __init__(self, get):
        self.get = get  # get(path) -> (status, body)
        self.tasks, self.lists, self.cursor = {}, {}, None
        self.pages = 0

    def sync(self, limit=100):
        while True:
            query = f"/changes?limit={limit}"
            if self.cursor:
                query += f"&cursor={self.cursor}"
            status, page = self.get(query)
            assert status == 200, page
            self.pages += 1
            for task in page["tasks"]:
                self.tasks[task["id"]] = task
            for task_id in page["deleted_tasks"]:
                self.tasks.pop(task_id, None)
            for found in page["lists"]:
                self.lists[found["id"]] = found
            for list_id in page["deleted_lists"]:
                self.lists.pop(list_id, None)
            self.cursor = page["cursor"]
            if not page["has_more"]:
                return page


def client_of(user):
    def get(path):
        response = user.get(path)
        return response.status_code, response.get_json()

    return SyncClient(get)


def full_read(get):
    tasks, page = {}, 1
    while True:
        status, body = get(f"/tasks?per_page=100&page={page}")
        assert status == 200
        tasks.update({t["id"]: t for t in body})
        if len(body) < 100:
            break
        page += 1
    status, lists = get("/lists")
    return tasks, {found["id"]: found for found in lists}
