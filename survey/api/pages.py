"""Cursor paging of the API's lists: ``?cursor=…&limit=100`` → ``{"items": […],
"next_cursor": "…" | null}``. Keyset paging on the rows' ids (``WHERE id > :after ORDER BY
id LIMIT :limit``): a page costs the same at any depth, and rows added meanwhile are neither
skipped nor repeated, as they would be with offsets."""

import base64
import binascii

from marshmallow import Schema, fields, validate
from sqlalchemy import Select
from sqlalchemy.orm import Session

from survey.db import MAX_ID
from survey.fields import WholeNumber

DEFAULT_LIMIT, MAX_LIMIT = 100, 500
#: Opaque to clients, so its form may change: they only send back what they were given.
_PREFIX = "after:"
BAD_CURSOR = "cursor 无效：请原样使用上一页回复中的 next_cursor，第一页不带 cursor。"


def encode_cursor(position: int) -> str:
    """The cursor of the page after ``position`` (the last row's id)."""
    return base64.urlsafe_b64encode(f"{_PREFIX}{position}".encode()).decode().rstrip("=")


class Cursor(fields.String):
    """A cursor as ``encode_cursor`` made it, loaded as the position it encodes."""

    default_error_messages = {"invalid": BAD_CURSOR}

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str) or len(value) > 40:
            raise self.make_error("invalid")
        try:
            text = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode("ascii")
        except (binascii.Error, ValueError):
            raise self.make_error("invalid") from None
        number = text.removeprefix(_PREFIX)
        if not text.startswith(_PREFIX) or not (number.isascii() and number.isdigit()):
            raise self.make_error("invalid")
        if len(number) > len(str(MAX_ID)) or int(number) > MAX_ID:
            raise self.make_error("invalid")
        return int(number)


class PageQuerySchema(Schema):
    """``?cursor=&limit=``: where a page starts and how many items it holds."""

    cursor = Cursor(
        load_default=None, metadata={"description": "上一页回复中的 next_cursor；第一页不带"}
    )
    limit = WholeNumber(
        load_default=DEFAULT_LIMIT,
        validate=validate.Range(
            min=1, max=MAX_LIMIT, error=f"limit 应为 1 到 {MAX_LIMIT} 的整数。"
        ),
        error_messages={"invalid": f"limit 应为 1 到 {MAX_LIMIT} 的整数。"},
        metadata={"description": f"每页条数，默认 {DEFAULT_LIMIT}，最多 {MAX_LIMIT}"},
    )


def page_schema(item: type[Schema], name: str) -> type[Schema]:
    """The reply schema of a page of ``item``s, named ``name`` in the OpenAPI."""
    return Schema.from_dict(
        {
            "items": fields.List(fields.Nested(item)),
            "next_cursor": fields.String(
                allow_none=True, metadata={"description": "下一页的 cursor；没有下一页时为 null"}
            ),
        },
        name=name,
    )


def _page(items: list, limit: int, position_of) -> dict:
    """The first ``limit`` of ``items`` (one more was fetched to learn whether a page
    follows) and the cursor after the last of them."""
    more = len(items) > limit
    items = items[:limit]
    return {"items": items, "next_cursor": encode_cursor(position_of(items[-1])) if more else None}


def rows_page(session: Session, query: Select, cursor: int | None, limit: int) -> dict:
    """A page of the rows ``query`` selects (of one model), by ascending id after ``cursor``
    (None: from the first)."""
    id_column = query.column_descriptions[0]["entity"].id
    query = query.where(id_column > (cursor or 0)).order_by(id_column).limit(limit + 1)
    rows = session.scalars(query)
    return _page(list(rows.unique()), limit, lambda row: row.id)


def list_page(items: list, cursor: int | None, limit: int) -> dict:
    """A page of a list computed whole (alerts), the cursor being a position in it: the
    list is recomputed at every request, so a page may repeat or miss an item that came or
    went since the page before."""
    cursor = cursor or 0
    return _page(items[cursor : cursor + limit + 1], limit, lambda item: cursor + limit)
