"""Generated values posted to every form, every filter and the webhook (signed and unsigned):
never a 500, and a refused request leaves no row behind.

Bounded (a few dozen examples each, no example database, derandomised) so that it adds seconds,
not minutes, to `make test`; run it with HYPOTHESIS_PROFILE=long for a longer hunt.
"""

from __future__ import annotations

import itertools
import json
import os
import time

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backoffice.audit.models import AuditEvent
from participants.models import (
    Account,
    KycNote,
    KycStatusChange,
    KycSubmission,
    Participant,
    WebhookDelivery,
)
from participants.webhook_signatures import sign
from tests.factories import FirmFactory, KycSubmissionFactory
from tests.participants.conftest import intake_data

settings.register_profile(
    "bounded",
    max_examples=30,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.register_profile("long", parent=settings.get_profile("bounded"), max_examples=2000)
BOUNDED = settings(settings.get_profile(os.environ.get("HYPOTHESIS_PROFILE", "bounded")))

# What a browser or a hostile client can put in a form or a query string: any text the test
# client can encode (no lone surrogates: they are not UTF-8), NULs and controls included, plus
# the values that broke parsers before: huge numbers, other scripts' digits, absurd dates.
NASTY = st.sampled_from(
    [
        "",
        "0",
        "-1",
        "9" * 30,
        "9223372036854775808",
        "\u0661\u0662",
        "\u00b2",
        "1e3",
        "0001-01-01",
        "9999-12-31T23:59",
        "\x00",
        "a\x00b",
        "\r\n",
        "on",
        "true",
        "x" * 5000,
        "//evil.example/",
        "%00",
        "'; DROP TABLE x; --",
    ]
)
TEXT = st.one_of(NASTY, st.text(max_size=300))
VALUES = st.one_of(TEXT, st.lists(TEXT, max_size=3))

DOMAIN_TABLES = (Participant, KycSubmission, KycStatusChange, KycNote, Account, WebhookDelivery)


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in DOMAIN_TABLES}


def no_server_error(response) -> None:
    assert response.status_code < 500, response.content[:2000]


@pytest.fixture
def firm(db):
    return FirmFactory.create()


@pytest.fixture
def world(db, firm, persona):
    """A submission for every URL that names one, and a client per role that may act."""
    submission = KycSubmissionFactory.create(participant__firm=firm, status="held_duplicate")
    return {
        "submission": submission,
        "compliance": persona("compliance"),
        "supervisor": persona("supervisor"),
        "support": persona("support"),
    }


def query(draw_dict: dict[str, object]) -> dict[str, object]:
    return {key: value for key, value in draw_dict.items() if key}


FILTER_NAMES = st.sampled_from(
    [
        *("status", "assignee", "overdue", "after", "before", "actor", "action", "date_from"),
        *("date_to", "window", "t", "since", "q", "page", "o", "p", "e"),
    ]
)
PARAMS = st.dictionaries(st.one_of(FILTER_NAMES, st.text(max_size=20)), VALUES, max_size=6)


@BOUNDED
@given(
    path=st.sampled_from(
        [
            "/",
            "/onboarding/",
            "/onboarding/export.csv",
            "/onboarding/participants/",
            "/audit/",
            "/gateway/health/",
            "/search/",
            "/admin/participants/participant/",
            "/admin/participants/kycsubmission/",
            "/admin/audit/auditevent/",
            "/admin/gateway/gatewaycall/",
        ]
    ),
    params=PARAMS,
    htmx=st.booleans(),
)
def test_every_filter_takes_any_query_without_a_server_error(world, path, params, htmx):
    before = counts()
    headers = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "queue-table"} if htmx else {}

    response = world["supervisor"].get(path, query(params), **headers)

    no_server_error(response)
    if hasattr(response, "streaming_content"):
        b"".join(response.streaming_content)  # a CSV fails while it streams, if it fails
    assert counts() == before


@BOUNDED
@given(
    participant_view=st.booleans(),
    since=TEXT,
)
def test_the_participant_page_takes_any_query(world, participant_view, since):
    participant = world["submission"].participant_id
    suffix = "" if participant_view else "?since="
    response = world["compliance"].get(
        f"/onboarding/participants/{participant}/{suffix}", {"since": since}
    )

    no_server_error(response)


INTAKE_FIELDS = list(intake_data())
_external_ids = itertools.count()


@BOUNDED
@given(overrides=st.dictionaries(st.sampled_from(INTAKE_FIELDS), VALUES, min_size=1, max_size=5))
def test_the_intake_form_refuses_anything_it_cannot_take_and_writes_nothing(world, overrides):
    data = {**intake_data(external_id=f"fuzz-{next(_external_ids)}"), **overrides}
    before = counts()

    response = world["support"].post("/onboarding/new/", data)

    no_server_error(response)
    after = counts()
    if response.status_code == 200:  # the form again, with its errors: nothing was recorded
        assert after == before
    else:  # taken: one participant, one submission
        assert response.status_code == 302
        assert after["Participant"] == before["Participant"] + 1


ACTIONS = st.sampled_from(["assign", "notes", "reveal", "duplicate", "retry", "adopt", "search"])


@BOUNDED
@given(
    action=ACTIONS,
    data=st.dictionaries(
        st.one_of(
            FILTER_NAMES,
            st.sampled_from(
                [
                    "submission",
                    "assign_one",
                    "assignee",
                    "next",
                    "text",
                    "reason",
                    "decision",
                    "field",
                    "confirm",
                ]
            ),
        ),
        VALUES,
        max_size=5,
    ),
    field=TEXT,
)
def test_every_staff_action_takes_any_form_without_a_server_error(world, action, data, field):
    pk = world["submission"].pk
    path = {
        "assign": "/onboarding/assign/",
        "notes": f"/onboarding/submissions/{pk}/notes/",
        "reveal": f"/onboarding/submissions/{pk}/reveal/{field.replace('/', '') or 'ssn'}/",
        "duplicate": f"/onboarding/submissions/{pk}/duplicate/",
        "retry": f"/onboarding/submissions/{pk}/retry/",
        "adopt": f"/onboarding/submissions/{pk}/adopt/",
        "search": "/search/",
    }[action]
    before = counts()
    notes_before = KycNote.objects.count()

    response = world["compliance"].post(path, query(data))

    no_server_error(response)
    after = counts()
    if action == "notes":  # a note is the one row an action here may add
        after["KycNote"] -= min(KycNote.objects.count() - notes_before, 1)
    if action != "duplicate":  # releasing or withdrawing moves the state, with its history
        assert after == before


# --- The webhook -------------------------------------------------------------------------------------

JSON_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    # Any code point, lone surrogates and NULs included: json.dumps writes them as \\u escapes.
    st.text(st.characters(exclude_categories=()), max_size=60),
    NASTY,
)
JSON_VALUES = st.recursive(
    JSON_LEAVES,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=20), children, max_size=4)
    ),
    max_leaves=20,
)
EVENT_TYPES = st.one_of(
    st.sampled_from(["kyc.approved", "kyc.rejected", "webhook.test"]), JSON_LEAVES
)
DATA_KEYS = st.sampled_from(
    ["external_id", "provisioned_participant", "provisioned_account", "rejection_reason", "status"]
)
EVENTS = st.fixed_dictionaries(
    {"event_type": EVENT_TYPES},
    optional={
        "data": st.one_of(
            st.dictionaries(st.one_of(DATA_KEYS, st.text(max_size=10)), JSON_VALUES, max_size=6),
            JSON_VALUES,
        ),
        "event_id": JSON_LEAVES,
    },
)
_webhook_ids = itertools.count()


def post_webhook(client: Client, body: bytes, headers: dict[str, str]):
    return client.post(
        "/webhooks/polymarket/kyc/", body, content_type="application/json", headers=headers
    )


@BOUNDED
@given(
    event=st.one_of(EVENTS, JSON_VALUES),
    raw=st.one_of(st.none(), st.binary(max_size=300)),
    webhook_id=st.one_of(st.none(), st.text(st.characters(max_codepoint=0xFF), max_size=120)),
)
def test_a_signed_delivery_of_anything_is_answered_without_a_server_error(
    world, firm, event, raw, webhook_id
):
    body = raw if raw is not None else json.dumps(event).encode()
    webhook_id = webhook_id if webhook_id else f"msg_fuzz_{next(_webhook_ids)}"
    timestamp = str(int(time.time()))
    signature = sign(
        secret=firm.webhook_secret, webhook_id=webhook_id, timestamp=timestamp, body=body
    )
    before = counts()

    response = post_webhook(
        Client(),
        body,
        {"webhook-id": webhook_id, "webhook-timestamp": timestamp, "webhook-signature": signature},
    )

    assert response.status_code in (200, 400, 401, 413), response.content[:2000]
    if response.status_code != 200:
        assert counts() == before
        assert response.content  # the reason code


HEADER_TEXT = st.one_of(NASTY, st.text(st.characters(max_codepoint=0xFF), max_size=200))


@BOUNDED
@given(
    body=st.one_of(st.binary(max_size=500), EVENTS.map(lambda e: json.dumps(e).encode())),
    headers=st.dictionaries(
        st.sampled_from(["webhook-id", "webhook-timestamp", "webhook-signature"]),
        HEADER_TEXT,
        max_size=3,
    ),
)
def test_an_unsigned_delivery_of_anything_is_refused_and_writes_nothing(world, body, headers):
    before = counts()
    audited = AuditEvent.objects.count()

    response = post_webhook(Client(), body, headers)

    assert response.status_code in (401, 413), response.content[:2000]
    assert counts() == before
    assert AuditEvent.objects.count() == audited
