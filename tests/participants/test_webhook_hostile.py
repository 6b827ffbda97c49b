"""Hostile and malformed webhook deliveries: a 4xx with a reason code, never a 500, never a row
left behind, and never applied to anyone but the participant the delivery names in full."""

from __future__ import annotations

import json

import pytest

from participants.models import KycSubmission, Participant, WebhookDelivery
from tests.factories import KycSubmissionFactory
from tests.participants.test_webhook import URL, approved, deliver

S = KycSubmission.Status


@pytest.fixture
def waiting(db, firm):
    return KycSubmissionFactory.create(
        participant__firm=firm,
        participant__external_id="user-00001",
        status=S.AWAITING_PROVISIONING,
    )


def nothing_changed(waiting) -> None:
    waiting.refresh_from_db()
    assert waiting.status == S.AWAITING_PROVISIONING
    assert waiting.history.count() == 0
    assert Participant.objects.get().participant_id == ""
    assert not WebhookDelivery.objects.exists()


@pytest.mark.parametrize(
    "timestamp",
    [
        "9" * 300,
        "1" * 13,
        "+1700000000",
        " 1700000000",
        "1.7e9",
        "\u0661\u0667\u0660\u0660\u0660\u0660\u0660\u0660\u0660\u0660",
        "-1",
    ],
)
def test_an_unsigned_delivery_with_an_absurd_timestamp_is_refused_not_a_500(
    client, waiting, timestamp
):
    response = client.post(
        URL,
        b"{}",
        content_type="application/json",
        HTTP_WEBHOOK_ID="msg_1",
        HTTP_WEBHOOK_TIMESTAMP=timestamp,
        HTTP_WEBHOOK_SIGNATURE="v1,AAAA",
    )

    assert (response.status_code, response.content) == (401, b"bad_timestamp")
    nothing_changed(waiting)


@pytest.mark.parametrize(
    ("length", "answer"),
    [(100_000, (413, b"body_too_large")), (20_000, (400, b"bad_field:data.external_id"))],
)
def test_an_external_id_longer_than_ours_is_refused_not_cut_to_someone_elses(
    client, waiting, length, answer
):
    # Its first 49 characters name another participant: cut to fit, it was applied to them.
    event = approved("user-00001" + "x" * 39 + "y" * (length - 49))

    response = deliver(client, event)

    assert (response.status_code, response.content) == answer
    nothing_changed(waiting)


@pytest.mark.parametrize(
    ("external_id", "reason"),
    [
        ("user-00001" + "x" * 40, b"bad_field:data.external_id"),  # 50 characters
        ("user-00001\n", b"bad_field:data.external_id"),
        ("user-0000\u0661", b"bad_field:data.external_id"),
        ("user-00001\x00", b"invalid_text"),
        ("user-00001\ud800", b"invalid_text"),
        (12345, b"bad_field:data.external_id"),
        (None, b"bad_field:data.external_id"),
    ],
)
def test_an_external_id_that_does_not_fit_is_refused(client, waiting, external_id, reason):
    response = deliver(client, approved(external_id))

    assert (response.status_code, response.content) == (400, reason)
    nothing_changed(waiting)


@pytest.mark.parametrize(
    ("event_type", "reason"),
    [
        ("kyc.approved\x00", b"invalid_text"),
        ("kyc.approved\ud800", b"invalid_text"),
        ("k" * 41, b"bad_field:event_type"),
        (["kyc.approved"], b"bad_field:event_type"),
        ("", b"bad_field:event_type"),
    ],
)
def test_an_event_type_that_does_not_fit_is_refused(client, waiting, event_type, reason):
    response = deliver(client, {**approved(), "event_type": event_type})

    assert (response.status_code, response.content) == (400, reason)
    nothing_changed(waiting)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("provisioned_participant", "firms/ISV-Participant-Acme/users/" + "u" * 200),
        ("provisioned_participant", {"id": "x"}),
        ("provisioned_account", ["firms/ISV-Acme/accounts/1"]),
        ("provisioned_account", 7),
        ("status", "S" * 33),
        ("rejection_reason", "r" * 201),
    ],
)
def test_a_data_field_of_the_wrong_type_or_length_is_refused_naming_it(
    client, waiting, field, value
):
    event = approved()
    event["data"][field] = value

    response = deliver(client, event)

    assert (response.status_code, response.content) == (400, f"bad_field:data.{field}".encode())
    nothing_changed(waiting)


@pytest.mark.parametrize("depth", [9, 50, 5_000, 20_000])
def test_deeply_nested_bodies_are_refused_before_they_are_parsed(client, waiting, depth):
    body = b'{"event_type": "kyc.approved", "data": ' + b"[" * depth + b"]" * depth + b"}"

    response = deliver(client, None, body=body)

    assert response.status_code in (400, 413)
    assert response.content in (b"too_deep", b"body_too_large")
    nothing_changed(waiting)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"\xff\xfe{}", b"not_utf8"),
        (b'{"event_type": NaN}', b"malformed_json"),
        (
            b'{"event_type": "kyc.approved", "data": {"external_id": 1' + b"0" * 5000 + b"}}",
            b"malformed_json",
        ),
        (b"[]", b"bad_field:body"),
        (b'"kyc.approved"', b"bad_field:body"),
        (json.dumps({"event_type": "kyc.approved", "d\u0000": 1}).encode(), b"invalid_text"),
    ],
)
def test_bodies_that_are_not_a_kyc_event_are_refused(client, waiting, body, reason):
    response = deliver(client, None, body=body)

    assert (response.status_code, response.content) == (400, reason)
    nothing_changed(waiting)


def test_an_oversized_body_is_refused_before_its_signature_is_checked(client, waiting):
    response = client.post(
        URL, b"x" * (64 * 1024 + 1), content_type="application/json", HTTP_WEBHOOK_ID="msg_1"
    )

    assert (response.status_code, response.content) == (413, b"body_too_large")
    nothing_changed(waiting)


@pytest.mark.parametrize("webhook_id", ["m" * 101, "msg 1", "msg_\u00e9"])
def test_a_webhook_id_that_does_not_fit_is_refused_not_cut(client, waiting, webhook_id):
    response = deliver(client, approved(), webhook_id=webhook_id)

    assert (response.status_code, response.content) == (400, b"bad_webhook_id")
    nothing_changed(waiting)


def test_two_long_webhook_ids_sharing_a_prefix_are_not_taken_for_one_delivery(client, waiting):
    # Cut to 100 characters they were the same id, and the second delivery was dropped as a replay.
    deliver(client, {"event_type": "webhook.test", "data": {}}, webhook_id="m" * 100)

    response = deliver(client, approved(), webhook_id="m" * 100 + "-2")

    assert response.status_code == 400
    waiting.refresh_from_db()
    assert waiting.status == S.AWAITING_PROVISIONING
