"""One clock: every time shown in the display zone with its name and minutes, exports in UTC."""

from __future__ import annotations

import datetime as dt

import pytest
from django.template import Context, Template
from django.utils import timezone

from backoffice import clock
from backoffice.audit.models import AuditEvent

WINTER = dt.datetime(2026, 12, 1, 8, 58, 12, tzinfo=dt.UTC)
SUMMER = dt.datetime(2026, 7, 1, 8, 58, 12, tzinfo=dt.UTC)


def render(source: str, **context) -> str:
    return Template(source).render(Context(context))


@pytest.fixture(autouse=True)
def _new_york(settings):
    settings.TIME_ZONE = "America/New_York"


def test_times_show_minutes_and_the_zone_in_the_display_time_zone():
    assert clock.display(WINTER) == "2026-12-01 03:58 EST"
    assert clock.display(SUMMER) == "2026-07-01 04:58 EDT"
    assert clock.display(WINTER, seconds=True) == "2026-12-01 03:58:12 EST"


def test_the_display_zone_is_one_setting(settings):
    settings.TIME_ZONE = "Europe/London"
    assert clock.display(WINTER) == "2026-12-01 08:58 GMT"


def test_exports_are_utc_with_a_z():
    assert clock.export_utc(WINTER) == "2026-12-01T08:58:12Z"
    assert clock.export_utc(None) == ""


def test_the_when_filter_renders_a_time_element_with_the_exact_time_on_hover():
    html = render("{{ t|when }}", t=WINTER)

    assert html == (
        '<time datetime="2026-12-01T08:58:12Z" title="2026-12-01 03:58:12 EST '
        '(2026-12-01T08:58:12Z)">2026-12-01 03:58 EST</time>'
    )
    assert render('{{ t|when:"seconds" }}', t=WINTER).endswith(">2026-12-01 03:58:12 EST</time>")
    assert render("{{ t|when }}", t=None) == "—"


def test_relative_ages_keep_the_exact_time_in_the_title():
    three_hours = timezone.now() - dt.timedelta(hours=3, minutes=5)

    html = render("{{ t|ago }}", t=three_hours)

    assert ">3 h ago</time>" in html
    assert f'title="{clock.display(three_hours, seconds=True)} (' in html


@pytest.mark.parametrize(
    ("delta", "label"),
    [
        (dt.timedelta(seconds=20), "just now"),
        (dt.timedelta(minutes=12), "12 min ago"),
        (dt.timedelta(hours=47), "47 h ago"),
        (dt.timedelta(days=3, hours=2), "3 d ago"),
        (-dt.timedelta(hours=2), "in 2 h"),
    ],
)
def test_ago_labels(delta, label):
    now = timezone.now()
    assert clock.ago_label(now - delta, now) == label


def test_unformatted_datetimes_such_as_the_admins_keep_minutes_and_the_zone():
    assert render("{{ t }}", t=WINTER) == "2026-12-01 03:58 EST"


def test_an_audit_event_names_its_time_in_the_display_zone(db):
    event = AuditEvent(occurred_at=WINTER, actor_label="casey", action="identity.signin")

    assert str(event) == "2026-12-01 03:58:12 EST casey identity.signin"


def test_the_admin_shows_one_zone_for_one_instant(db, persona):
    admin = persona("superuser")
    event = AuditEvent.objects.create(
        occurred_at=WINTER, actor_label="casey", action="identity.signin"
    )

    html = admin.get(f"/admin/audit/auditevent/{event.pk}/change/").content.decode()
    listing = admin.get("/admin/audit/auditevent/").content.decode()

    assert "2026-12-01 03:58" in html
    assert "08:58" not in html
    assert "2026-12-01 03:58 EST" in listing
    assert "a.m." not in listing
