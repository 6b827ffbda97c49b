"""Finding a participant from one box: by an id (prefix, any case) or by personal data (exact).

Personal data is never searched in clear: each submission stores keyed hashes (PII_HASH_KEY) of
its SSN, email, phone and full name, normalised first, and a search hashes the term the same way
and compares hashes. Nothing is decrypted to search, and the term itself never reaches a URL or a
log (the search box posts it; see backoffice/search.py).

Normalisation makes equal things hash equally: an SSN is its nine digits; an email is trimmed and
case-folded; a phone is E.164 (a ten-digit number is taken as a US one); a name keeps only its
letters and digits, case-folded, without accents, so "Ada Lovelace", "ADA  LOVELACE" and
"Lovelace, Ada" are one name.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field

from django.contrib.auth.models import User
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.db.models.functions import Lower

from backoffice.audit.services import audit_record
from backoffice.identity.permissions import has_permission
from backoffice.pii.crypto import pii_hash
from backoffice.search import SearchSection
from participants.models import Account, KycSubmission, Participant
from participants.presenters import participant_row
from participants.selectors import with_latest_submission

# The hashed columns of KycSubmission, and how each kind of term is described to staff.
HASHED = {
    "ssn_hash": "SSN",
    "email_hash": "email",
    "phone_hash": "phone",
    "name_hash": "full name",
}
# Ids are letters, digits and . _ - / (exchange ids are paths: firms/.../users/...).
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")
MIN_ID_PREFIX = 2


def normalise_ssn(value: str) -> str | None:
    if not re.fullmatch(r"[\d\s-]+", value):
        return None
    digits = re.sub(r"\D", "", value)
    return digits if len(digits) == 9 else None


def normalise_email(value: str) -> str | None:
    value = value.strip().casefold()
    return value if re.fullmatch(r"[^@\s]+@[^@\s]+", value) else None


def normalise_phone(value: str) -> str | None:
    if not re.fullmatch(r"\+?[\d\s().-]+", value.strip()):
        return None
    digits = re.sub(r"\D", "", value)
    if value.strip().startswith("+"):
        return f"+{digits}" if 8 <= len(digits) <= 15 else None
    if len(digits) == 10:
        return f"+1{digits}"
    if len(digits) == 11 and digits.startswith("1"):
        return f"+{digits}"
    return None


def normalise_name(value: str) -> str:
    decomposed = unicodedata.normalize("NFKD", value)
    return "".join(ch for ch in decomposed.casefold() if ch.isalnum())


def submission_hashes(
    *, ssn: str, email: str, phone_number: str, first_name: str, last_name: str
) -> dict[str, str]:
    """The hashed columns for a submission with these values (stored at intake, and filled for
    older rows by `manage.py hash_search_keys`)."""
    return {
        "ssn_hash": pii_hash(normalise_ssn(ssn) or ssn),
        "email_hash": pii_hash(normalise_email(email) or email.strip().casefold()),
        "phone_hash": pii_hash(normalise_phone(phone_number) or phone_number),
        "name_hash": pii_hash(normalise_name(f"{first_name}{last_name}")),
    }


@dataclass(frozen=True)
class SearchTerm:
    """What a term can be: an id prefix, and hashes to look for in each hashed column."""

    id_prefix: str = ""
    hashes: dict[str, list[str]] = field(default_factory=dict)

    @property
    def searched_by(self) -> list[str]:
        kinds = ["id"] if self.id_prefix else []
        return kinds + [HASHED[column] for column in HASHED if column in self.hashes]


def parse(term: str) -> SearchTerm:
    term = " ".join(term.split())[:200]
    hashes: dict[str, list[str]] = {}
    if ssn := normalise_ssn(term):
        hashes["ssn_hash"] = [pii_hash(ssn)]
    if email := normalise_email(term):
        hashes["email_hash"] = [pii_hash(email)]
    if phone := normalise_phone(term):
        hashes["phone_hash"] = [pii_hash(phone)]
    names = _name_forms(term)
    if names:
        hashes["name_hash"] = sorted({pii_hash(name) for name in names})
    id_prefix = term.casefold() if _ID.match(term) and len(term) >= MIN_ID_PREFIX else ""
    return SearchTerm(id_prefix=id_prefix, hashes=hashes)


def _name_forms(term: str) -> list[str]:
    """A full name is at least two words; "Last, First" is read as "First Last". A middle name
    typed between them is tried without it too, since names are hashed as first and last."""
    if "@" in term or any(ch.isdigit() for ch in term):
        return []
    if "," in term:
        last, _, first = term.partition(",")
        term = f"{first} {last}"
    words = term.split()
    if len(words) < 2:
        return []
    forms = {normalise_name(term), normalise_name(f"{words[0]}{words[-1]}")}
    return [form for form in forms if form]


# --- Queries: each returns participants, at most `limit`, from one index each --------------------


def by_id_prefix(prefix: str, limit: int) -> QuerySet[Participant]:
    """Our external id or the exchange's participant id starting with `prefix`, in any case."""
    return (
        Participant.objects.alias(ext=Lower("external_id"), pid=Lower("participant_id"))
        .filter(Q(ext__startswith=prefix) | Q(pid__startswith=prefix))
        .order_by("-id")[:limit]
    )


def by_account_prefix(prefix: str, limit: int) -> QuerySet[Participant]:
    accounts = (
        Account.objects.alias(acc=Lower("account_id"))
        .filter(acc__startswith=prefix)
        .values("participant_id")[:limit]
    )
    return Participant.objects.filter(pk__in=accounts).order_by("-id")


def by_hashes(hashes: dict[str, list[str]], limit: int) -> QuerySet[Participant]:
    """Participants with any submission (not only the latest) whose hashes match."""
    match = Q()
    for column, values in hashes.items():
        match |= Q(**{f"{column}__in": values})
    submissions = KycSubmission.objects.filter(match).values("participant_id")[:limit]
    return Participant.objects.filter(pk__in=submissions).order_by("-id")


def participant_ids(term: str, limit: int = 500) -> list[int]:
    """The participants `term` finds (for the admin's search): up to `limit` per reading."""
    parsed = parse(term)
    found: list[int] = []
    queries: list[QuerySet[Participant]] = []
    if parsed.hashes:
        queries.append(by_hashes(parsed.hashes, limit))
    if parsed.id_prefix:
        queries += [
            by_id_prefix(parsed.id_prefix, limit),
            by_account_prefix(parsed.id_prefix, limit),
        ]
    for participants in queries:
        found.extend(pk for pk in participants.values_list("pk", flat=True) if pk not in found)
    return found


# --- The top bar's search (a BACKOFFICE_SEARCH provider) -------------------------------------------

LIMIT = 50
_READINGS = {
    "id": "an id prefix (ours, the exchange's or an account's)",
    "SSN": "an SSN",
    "email": "an email",
    "phone": "a phone number",
    "full name": "a full name",
}


def search(*, term: str, user: User) -> SearchSection:
    """Participants found by `term`: exact personal-data matches first, then id prefixes.

    One query per way of reading the term (at most three), each served by an index, so the cost
    is the same on a thousand participants or a million. A search by personal data is audited
    (which kinds, how many found; never the term)."""
    parsed = parse(term)
    with_kyc = has_permission(user, "participants.view_kycsubmission")
    if not with_kyc:
        # Personal data is KYC detail: without it, only ids are searched, and no KYC is shown.
        parsed = SearchTerm(id_prefix=parsed.id_prefix)

    def shown(participants: QuerySet[Participant]) -> QuerySet[Participant]:
        return with_latest_submission(participants) if with_kyc else participants

    found: dict[int, tuple[Participant, list[str]]] = {}
    more = False

    def take(
        participants: QuerySet[Participant], label: Callable[[Participant], list[str]]
    ) -> None:
        nonlocal more
        rows = list(participants)
        more = more or len(rows) > LIMIT
        for participant in rows[:LIMIT]:
            matched = found.setdefault(participant.pk, (participant, []))[1]
            matched.extend(m for m in label(participant) if m not in matched)

    if parsed.hashes:
        take(_with_hash_matches(by_hashes(parsed.hashes, LIMIT + 1), parsed), _hash_matches)
    if prefix := parsed.id_prefix:
        take(
            shown(by_id_prefix(prefix, LIMIT + 1)),
            lambda p: [
                "external id" if p.external_id.casefold().startswith(prefix) else "exchange id"
            ],
        )
        take(shown(by_account_prefix(prefix, LIMIT + 1)), lambda _: ["account id"])
    if parsed.hashes:
        audit_record(
            actor=user,
            action="participants.searched",
            payload={"by": [HASHED[c] for c in HASHED if c in parsed.hashes], "found": len(found)},
        )
    return SearchSection(
        title="Participants",
        template="participants/participants.html#participant-rows",
        rows=[participant_row(p, tuple(matched)) for p, matched in list(found.values())[:LIMIT]],
        searched_by=[_READINGS[kind] for kind in parsed.searched_by],
        more=more or len(found) > LIMIT,
    )


def _with_hash_matches(
    participants: QuerySet[Participant], parsed: SearchTerm
) -> QuerySet[Participant]:
    """Annotates which hashed column matched, so that results can say "SSN" or "email"."""
    matches = {
        f"matched_{column}": Exists(
            KycSubmission.objects.filter(participant=OuterRef("pk"), **{f"{column}__in": values})
        )
        for column, values in parsed.hashes.items()
    }
    return with_latest_submission(participants).annotate(**matches)


def _hash_matches(participant: Participant) -> list[str]:
    return [
        label
        for column, label in HASHED.items()
        if getattr(participant, f"matched_{column}", False)
    ]
