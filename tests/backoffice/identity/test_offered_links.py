"""A link or button a role would be refused is never offered.

Signed in as each role, the pages are walked from home: every link (`href`, `hx-get`) on them is
opened, and every form that posts is checked against the README's URL table (posting them would
change things). A link that answers 403, 404 or 405, sends back to sign-in, or a form whose
action the table refuses the role, is named in the failure.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urldefrag, urlsplit

import pytest
from django.test import Client
from django.urls import Resolver404, resolve

from participants.models import KycNote, KycStatusChange
from tests.backoffice.identity.test_role_matrix import (  # noqa: F401 (`world`, a fixture)
    ROLES,
    code,
    tables,
    world,
)
from tests.factories import KycSubmissionFactory, UserFactory

# Pages walked at most this deep from home; each address (without its query) is read once.
DEPTH = 3
# Not followed: files, and what is no page of ours.
NOT_PAGES = ("/static/", "/media/", "/webhooks/")


class _Offers(HTMLParser):
    """The GET links and the POST form actions of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.posts: list[str] = []
        self._form: tuple[str, bool] | None = None  # (action, has a submit button)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {name: value or "" for name, value in attrs}
        if tag == "a" and "href" in a:
            self.links.append(a["href"])
        if "hx-get" in a:
            self.links.append(a["hx-get"])
        if "hx-post" in a:
            self.posts.append(a["hx-post"])
        if tag == "form":
            if a.get("method", "get").lower() == "post":
                self._form = (a.get("action", ""), False)
            else:
                self.links.append(a.get("action", ""))
        if tag in ("button", "input") and self._form and a.get("type", "submit") == "submit":
            if tag == "button" or a.get("type") == "submit":
                self._form = (self._form[0], True)
            if "formaction" in a:
                self.posts.append(a["formaction"])

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self._form:
            action, submittable = self._form
            if submittable:  # a read-only admin page keeps its form but offers no button
                self.posts.append(action)
            self._form = None


def _ours(url: str, page: str) -> str | None:
    url = urldefrag(url)[0]
    if url == "":
        return page
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or not url.startswith(("/", "?")):
        return None
    if url.startswith("?"):
        return urlsplit(page).path + url
    return None if url.startswith(NOT_PAGES) else url


def _readme_route(path: str) -> str:
    route = resolve(path).route
    return "/" + re.sub(r"<\w+:(\w+)>", r"<\1>", route)


def _may_post(role: str, path: str, client: Client) -> bool:
    if path.startswith("/admin/"):
        # The admin's own forms post to the page they are on (a changelist's actions, a change
        # form) or to sign-out; the role matrix test holds those to the README's model table.
        return path == "/admin/logout/" or client.get(path).status_code == 200
    rows = {code(row["URL"]): row for row in tables()["URL"]}
    return "POST" in rows[_readme_route(path)][role].split()


@pytest.fixture
def cases(db, request):
    """Besides the role matrix's world: a case in each state whose page offers different actions."""
    found = request.getfixturevalue("world")
    firm = found["firm"]
    original = found["submission"]
    for status in ("approved", "rejected", "submit_failed", "outcome_unknown", "document_check"):
        submission = KycSubmissionFactory.create(participant__firm=firm, status=status)
        KycStatusChange.objects.create(
            submission=submission, to_status=status, actor_label="test", source="staff"
        )
    KycSubmissionFactory.create(
        participant__firm=firm, status="held_duplicate", ssn=original.ssn, duplicate_of=original
    )
    return found


def _walk(client: Client, role: str) -> dict[str, str]:
    """What was wrong with the links and forms offered to `role`: {address: what}."""
    wrong: dict[str, str] = {}
    opened: dict[str, int] = {}
    read: set[str] = set()
    frontier = ["/"]
    for _ in range(DEPTH + 1):
        following: list[str] = []
        for page in frontier:
            path = urlsplit(page).path
            if path in read:
                continue
            read.add(path)
            response = client.get(page)
            if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
                continue
            offers = _Offers()
            offers.feed(response.content.decode())
            for raw in offers.posts:
                target = _ours(raw, page)
                if target is None:
                    continue
                target_path = urlsplit(target).path
                try:
                    allowed = _may_post(role, target_path, client)
                except Resolver404:
                    allowed = False
                if not allowed:
                    wrong[f"POST {target_path}"] = f"offered on {page}"
            for raw in offers.links:
                target = _ours(raw, page)
                if target is None or urlsplit(target).path in opened:
                    continue
                answer = client.get(target)
                opened[urlsplit(target).path] = answer.status_code
                refused = answer.status_code in (403, 404, 405) or (
                    answer.status_code == 302 and answer["Location"].startswith("/signin/")
                )
                if refused:
                    wrong[f"GET {target}"] = f"{answer.status_code}, offered on {page}"
                elif answer.status_code == 200:
                    following.append(target)
        frontier = following
    assert len(read) > 10, read  # the walk went somewhere
    return wrong


@pytest.mark.parametrize("role", ROLES)
def test_every_link_and_form_offered_to_a_role_is_one_it_may_use(role, cases):
    client = Client()
    client.force_login(UserFactory.create(username=f"{role}-walker", roles=[role]))

    assert _walk(client, role) == {}


def test_a_record_page_links_a_related_record_only_for_whoever_may_open_it(persona, cases):
    note = KycNote.objects.get()
    author = f"/admin/auth/user/{note.author_id}/change/"
    page = f"/admin/participants/kycnote/{note.pk}/change/"

    support = persona("support").get(page).content.decode()
    supervisor = persona("supervisor").get(page).content.decode()

    assert note.author.username in support
    assert author not in support
    assert f'<a href="{author}">{note.author.username}</a>' in supervisor
