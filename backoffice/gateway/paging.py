"""Cursor paging (API.md 4.4), written once: `Pages` yields each page with the token it was
fetched with and the token of the next one, so a bulk job can checkpoint between pages and resume
from a token; `.items()` is the convenience for callers that want every item.

Pages are fetched lazily, one request each, as the caller iterates.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

from backoffice.gateway.errors import MalformedResponse

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    token: str  # the token this page was asked for with ("" for the first page)
    next_token: str  # "" on the last page


# Fetches the page a token names: its items, the exchange's nextPageToken, and its eof flag.
PageFetcher = Callable[[str], tuple[list[T], str, bool]]


class Pages(Generic[T]):
    def __init__(self, fetch: PageFetcher[T], *, start_token: str = "") -> None:
        self._fetch = fetch
        self._start = start_token

    def __iter__(self) -> Iterator[Page[T]]:
        """Pages until nextPageToken is empty or eof is true. A token the exchange repeats would
        loop forever: it is refused as a malformed answer instead."""
        token = self._start
        seen: set[str] = set()
        while True:
            items, following, eof = self._fetch(token)
            last = eof or not following
            yield Page(items=items, token=token, next_token="" if last else following)
            if last:
                return
            if following in seen:
                raise MalformedResponse("the exchange sent the same page token twice")
            seen.add(following)
            token = following

    def items(self) -> Iterator[T]:
        for page in self:
            yield from page.items
