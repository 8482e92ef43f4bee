"""The listing's pagination headers: X-Total-Count, X-Pagination and Link.

X-Pagination is flask-smorest's pagination metadata; `Link` (RFC 8288) holds the
same relations as absolute URLs that keep every other query parameter as sent.
Streamed documents (calendar feeds, exports) read their rows in keyset pages.
"""

from collections.abc import Callable, Iterator
from urllib.parse import urlencode

import orjson
from flask import request
from sqlalchemy import tuple_
from werkzeug.datastructures import MultiDict

from .db import Session

PAGINATION_HEADERS = {
    "X-Total-Count": {
        "description": "How many tasks match the filters.",
        "schema": {"type": "integer"},
    },
    "X-Pagination": {
        "description": "JSON: total, total_pages, first_page, last_page, page, "
        "previous_page, next_page (absent where they do not apply).",
        "schema": {"type": "string"},
    },
    "Link": {
        "description": 'RFC 8288: rel="first", "prev", "next", "last" as they apply.',
        "schema": {"type": "string"},
    },
}


# Not Blueprint.paginate(): its `page_size` is the contract's `per_page`, parsed apart
# from the filters. Nor its _make_pagination_metadata, which gives the same dict but
# builds a marshmallow schema on every call (bench/seams.py).
def pagination_metadata(total: int, page: int, per_page: int) -> dict:
    """Left out where they do not apply: `page`, `previous_page` and `next_page`
    (none of them past the end); with no tasks, all but `total` and `total_pages`."""
    metadata = {"total": total}
    if total == 0:
        metadata["total_pages"] = 0
        return metadata
    last_page = (total - 1) // per_page + 1
    metadata.update(total_pages=last_page, first_page=1, last_page=last_page)
    if page <= last_page:
        metadata["page"] = page
        if page > 1:
            metadata["previous_page"] = page - 1
        if page < last_page:
            metadata["next_page"] = page + 1
    return metadata


def page_urls() -> Callable[[int], str]:
    """This request's URL at any page: every other parameter kept as sent, in
    its place (encoded once for all the links of a response)."""
    args = MultiDict(request.args)
    args.setlist("page", [""])
    parts = [
        None if key == "page" else urlencode([(key, value)])
        for key, value in args.items(multi=True)
    ]
    base_url = request.base_url
    return (
        lambda page: base_url + "?" + "&".join(part or f"page={page}" for part in parts)
    )


def pagination_headers(total: int, page: int, per_page: int) -> dict:
    metadata = pagination_metadata(total, page, per_page)
    relations = {
        "first": metadata.get("first_page"),
        "prev": metadata.get("previous_page"),
        "next": metadata.get("next_page"),
        "last": metadata.get("last_page"),
    }
    headers = {
        "X-Total-Count": str(total),
        "X-Pagination": orjson.dumps(metadata).decode(),
    }
    page_url = page_urls()
    links = [
        f'<{page_url(number)}>; rel="{rel}"'
        for rel, number in relations.items()
        if number is not None
    ]
    if links:
        headers["Link"] = ", ".join(links)
    return headers


def keyset_pages(statement, keys: tuple, page_size: int) -> Iterator[list]:
    """The rows of `statement` in `keys` order (the last key unique: an id), a
    page at a time, each page one statement from where the last ended and its
    read ended before the next (no transaction held between pages): memory
    holds one page, whatever the number of rows. Rows carry the keys' names."""
    after = None
    while True:
        page_statement = statement
        if after is not None:
            page_statement = statement.where(tuple_(*keys) > after)
        page = Session.execute(page_statement.order_by(*keys).limit(page_size)).all()
        Session.commit()
        yield page
        if len(page) < page_size:
            return
        after = tuple(getattr(page[-1], key.key) for key in keys)
