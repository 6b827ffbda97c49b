"""What callers hand the gateway for the writes that need more than a few ids."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal


@dataclass(frozen=True)
class KycAddress:
    address_line_1: str = field(repr=False)
    city: str = field(repr=False)
    state: str = field(repr=False)  # 2-letter US state
    postal_code: str = field(repr=False)  # 5-digit ZIP
    address_line_2: str = field(default="", repr=False)
    country: str = "US"


@dataclass(frozen=True)
class KycApplication:
    """A participant's KYC submission (API.md 5.2). Every personal field is hidden from repr so it
    cannot reach a log or a traceback by accident; the gateway sends it and records none of it."""

    external_id: str
    first_name: str = field(repr=False)
    last_name: str = field(repr=False)
    date_of_birth: dt.date = field(repr=False)
    ssn: str = field(repr=False)  # 9 digits, no dashes
    email: str = field(repr=False)
    phone_number: str = field(repr=False)  # E.164
    address: KycAddress = field(repr=False)
    ip_address: str = field(repr=False)
    agreement_version: str
    agreement_signed_at: dt.datetime
    middle_name: str = field(default="", repr=False)
    session_token: str = field(default="", repr=False)
    docv_eligible: bool = False

    def to_json(self) -> dict[str, object]:
        signed = self.agreement_signed_at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
        address: dict[str, object] = {
            "address_line_1": self.address.address_line_1,
            "city": self.address.city,
            "state": self.address.state,
            "postal_code": self.address.postal_code,
        }
        if self.address.address_line_2:
            address["address_line_2"] = self.address.address_line_2
        if self.address.country:
            address["country"] = self.address.country
        body: dict[str, object] = {
            "external_id": self.external_id,
            "ssn": self.ssn,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "date_of_birth": self.date_of_birth.isoformat(),
            "email": self.email,
            "phone_number": self.phone_number,
            "address": address,
            "agreement": {"version": self.agreement_version, "signed_at": signed},
            "ip_address": self.ip_address,
        }
        if self.middle_name:
            body["middle_name"] = self.middle_name
        if self.session_token:
            body["session_token"] = self.session_token
        if self.docv_eligible:
            body["docv_eligible"] = True
        return body


@dataclass(frozen=True)
class VendorOrder:
    """A partner order (CreateVendorOrder): a fill-or-kill limit order in YES terms. Price and
    quantity are in dollars and contracts; the gateway converts them with the instrument's scales.
    Exactly one of `quantity` (contracts) and `cash_amount` (dollars of principal) is set."""

    account: str
    symbol: str
    side: str  # SIDE_BUY | SIDE_SELL
    price: Decimal
    clord_id: str
    quantity: Decimal | None = None
    cash_amount: Decimal | None = None
    manual: bool = True  # MANUAL_ORDER_INDICATOR_MANUAL (a person) or _AUTOMATED
