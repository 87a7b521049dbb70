"""Cursor paging, for both clients: every page from no cursor on, until ``next_cursor`` is
null. The blocking walker calls ``fetch(cursor)``, the asyncio one awaits it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Protocol, TypeVar


class Page(Protocol):
    @property
    def next_cursor(self) -> str | None: ...


PageT = TypeVar("PageT", bound=Page)


def walk(fetch: Callable[[str | None], PageT]) -> Iterator[PageT]:
    cursor: str | None = None
    while True:
        page = fetch(cursor)
        yield page
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


async def walk_async(fetch: Callable[[str | None], Awaitable[PageT]]) -> AsyncIterator[PageT]:
    cursor: str | None = None
    while True:
        page = await fetch(cursor)
        yield page
        if page.next_cursor is None:
            return
        cursor = page.next_cursor
