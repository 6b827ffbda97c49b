"""What a KYC webhook body must look like before anything is looked up with it.

Every field we use is checked for type and length and refused when it does not fit: a value cut
to fit a column could name another participant (an `external_id` of 100,000 characters whose
first 49 are someone else's), and a NUL or a lone surrogate would stop PostgreSQL mid-write.
"""

from __future__ import annotations

import re
from typing import Any

from backoffice.inputs import InputRefused, json_bounded
from participants.forms import EXTERNAL_ID

MAX_BODY_BYTES = 64 * 1024
MAX_DEPTH = 8
KYC_EVENTS = {"kyc.approved", "kyc.rejected"}
EVENT_TYPE = re.compile(r"[a-z0-9_.]{1,40}")
# The webhook id is the delivery's key (WebhookDelivery.webhook_id): visible ASCII, whole.
WEBHOOK_ID = re.compile(r"[\x21-\x7e]{1,100}")
# data fields we read, with the longest value our columns hold; the rest are ignored unread.
DATA_FIELDS = {
    "provisioned_participant": 200,
    "provisioned_account": 200,
    "rejection_reason": 200,
    "status": 32,
}


def parse_kyc_event(*, webhook_id: str, body: bytes) -> dict[str, Any]:
    """The event as {"event_type": str, "data": {field: str}}, or InputRefused naming the part
    at fault ("bad_field:data.external_id")."""
    if not WEBHOOK_ID.fullmatch(webhook_id):
        raise InputRefused("bad_webhook_id")
    event = json_bounded(body, max_bytes=MAX_BODY_BYTES, max_depth=MAX_DEPTH)
    if not isinstance(event, dict):
        raise InputRefused("bad_field", field="body")
    event_type = event.get("event_type")
    if not isinstance(event_type, str) or not EVENT_TYPE.fullmatch(event_type):
        raise InputRefused("bad_field", field="event_type")
    data = event.get("data", {})
    if not isinstance(data, dict):
        raise InputRefused("bad_field", field="data")
    checked: dict[str, str] = {}
    if event_type in KYC_EVENTS:
        external_id = data.get("external_id")
        if not isinstance(external_id, str) or not EXTERNAL_ID.fullmatch(external_id):
            raise InputRefused("bad_field", field="data.external_id")
        checked["external_id"] = external_id
        for name, longest in DATA_FIELDS.items():
            value = data.get(name, "")
            if value is None:
                value = ""
            if not isinstance(value, str) or len(value) > longest:
                raise InputRefused("bad_field", field=f"data.{name}")
            checked[name] = value
    return {"event_type": event_type, "data": checked}
