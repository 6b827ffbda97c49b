"""The UI shell: navigation by role, security headers, htmx served from our own static files."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
from django.test import Client


def nav_labels(html: str) -> list[str]:
    nav = re.search(r'<nav class="sidenav".*?</nav>', html, re.S)
    return re.findall(r">([^<]+)</a>", nav.group(0)) if nav else []


def test_home_says_who_is_signed_in_with_which_roles(persona):
    response = persona("treasury").get("/")

    html = response.content.decode()
    assert response.status_code == 200
    assert "treasury-persona" in html
    assert '<span class="chip">treasury</span>' in html


def test_navigation_follows_the_roles(persona):
    assert nav_labels(persona("support").get("/").content.decode()) == [
        "Home",
        "Participants",
        "Onboarding",
        "Exchange health",
        "Trading",
        "Admin",
    ]
    assert nav_labels(persona("compliance").get("/").content.decode()) == [
        "Home",
        "Participants",
        "Onboarding",
        "Audit",
        "Exchange health",
        "Reconciliation",
        "Breaks",
        "Trading",
        "Admin",
    ]
    assert nav_labels(persona("treasury").get("/").content.decode()) == [
        "Home",
        "Participants",
        "Exchange health",
        "Funding",
        "Reconciliation",
        "Breaks",
        "Admin",
    ]


def test_anonymous_visitors_are_sent_to_sign_in(client, db):
    response = client.get("/")

    assert response.status_code == 302
    assert response["Location"].startswith("/signin/")


def test_pages_carry_a_strict_content_security_policy_and_refuse_framing(persona):
    response = persona("support").get("/")

    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Request-ID"]


def test_htmx_comes_from_our_static_files_with_the_csrf_token(persona):
    html = persona("support").get("/").content.decode()

    assert '<script src="/static/django_htmx/htmx-2.min.js"' in html
    assert re.search(r'hx-headers=\'\{"X-CSRFToken": "[A-Za-z0-9]{32,}"\}\'', html)
    assert "https://" not in html


def test_signing_out_ends_the_session_and_is_audited(persona, audit_actions):
    client: Client = persona("support")

    response = client.post("/signout/")

    assert response.status_code == 302
    assert client.get("/").status_code == 302
    assert audit_actions()[-1] == "identity.signout"


def test_signing_out_needs_a_post(persona):
    assert persona("support").get("/signout/").status_code == 405


@pytest.mark.parametrize("path", ["/signout/", "/onboarding/assign/", "/search/admin/"])
def test_a_get_on_an_action_is_a_page_in_the_shell_that_says_what_it_takes(persona, path):
    response = persona("support").get(path)
    html = response.content.decode()

    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert "<h1>Not this way</h1>" in html
    assert "takes <code>POST</code>, not <code>GET</code>" in html
    assert 'class="sidenav"' in html
    assert "support-persona" in html


def test_a_get_on_an_action_logs_one_line(persona, caplog):
    with caplog.at_level(logging.INFO):
        assert persona("support").get("/signout/").status_code == 405

    assert [r.getMessage() for r in caplog.records] == ["Method Not Allowed (GET): /signout/"]


def test_a_refused_page_logs_one_line_and_no_traceback(persona, caplog):
    treasury = persona("treasury")

    with caplog.at_level(logging.INFO):
        assert treasury.get("/audit/").status_code == 403

    assert [(r.name, r.levelname, r.getMessage()) for r in caplog.records] == [
        ("django.request", "WARNING", "Forbidden (Permission denied): /audit/")
    ]
    assert "Traceback" not in caplog.text
    # Only the root's handler prints: Django's own console handler would print it again.
    assert logging.getLogger("django").handlers == []
    assert logging.getLogger("django.request").handlers == []


def test_one_menu_entry_is_current_the_most_specific(persona):
    html = persona("support").get("/onboarding/participants/").content.decode()

    assert re.findall(r'<a href="([^"]+)" aria-current="page">', html) == [
        "/onboarding/participants/"
    ]


def test_every_htmx_form_that_posts_disables_its_button_while_it_waits():
    """Plain forms get their busy state from static/js/shell.js; an htmx form, which htmx sends
    itself, says which element to disable."""
    root = Path(__file__).resolve().parents[2] / "templates"
    forms = [
        (path.name, tag)
        for path in root.rglob("*.html")
        for tag in re.findall(r"<form\b[^>]*>", path.read_text(encoding="utf-8"))
        if "hx-post" in tag
    ]

    assert forms
    assert [(name, tag) for name, tag in forms if "hx-disabled-elt" not in tag] == []
