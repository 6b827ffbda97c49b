"""Find anyone from one box: ids by prefix in any case, personal data by keyed hash, the term in no
URL, and a fixed number of queries whatever the number of participants."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import call_command

from backoffice.audit.models import AuditEvent
from backoffice.pii.crypto import pii_hash
from participants import search
from participants.models import Account, KycSubmission
from tests.factories import KycSubmissionFactory

# --- Reading a term ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("123-45-6789", "123456789"),
        ("123 45 6789", "123456789"),
        ("12345678", None),
        ("1234a6789", None),
    ],
)
def test_ssns_are_their_nine_digits(raw, normalised):
    assert search.normalise_ssn(raw) == normalised


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("+1 (212) 555-1234", "+12125551234"),
        ("212.555.1234", "+12125551234"),
        ("1 212 555 1234", "+12125551234"),
        ("+44 20 7946 0958", "+442079460958"),
        ("555-1234", None),
        ("demo-ada", None),
    ],
)
def test_phones_are_e164(raw, normalised):
    assert search.normalise_phone(raw) == normalised


def test_names_keep_letters_and_digits_without_case_or_accents():
    assert search.normalise_name("  Zoë  O'Brien-Smith ") == "zoeobriensmith"
    assert search.normalise_name("ZOE OBRIEN SMITH") == "zoeobriensmith"


def test_a_term_is_read_every_way_it_can_be():
    assert search.parse("123 45 6789").searched_by == ["SSN"]
    assert search.parse("123456789").searched_by == ["id", "SSN"]
    assert search.parse("2125551234").searched_by == ["id", "phone"]
    assert search.parse("Jane.Doe@Example.com").searched_by == ["email"]
    assert search.parse("Lovelace, Ada").searched_by == ["full name"]
    assert search.parse("DEMO-PAU").id_prefix == "demo-pau"
    assert search.parse("d").searched_by == []  # one letter is no useful prefix
    assert search.parse("Ada").searched_by == ["id"]  # one word is no full name


def test_a_middle_name_or_last_first_order_still_finds_the_name():
    stored = search.submission_hashes(
        ssn="123456789",
        email="a@example.com",
        phone_number="+12125551234",
        first_name="Ada",
        last_name="Lovelace",
    )["name_hash"]

    for term in ("ada lovelace", "ADA  LOVELACE", "Lovelace, Ada", "Ada King Lovelace"):
        assert stored in search.parse(term).hashes["name_hash"], term


# --- The search page ------------------------------------------------------------------------------


@pytest.fixture
def people(firm):
    ada = KycSubmissionFactory.create(
        participant__firm=firm,
        participant__external_id="demo-ada",
        first_name="Ada",
        last_name="Lovelace",
        ssn="100000001",
        email="Ada@Example.com",
        phone_number="+12125550101",
        status="approved",
    )
    paulina = KycSubmissionFactory.create(
        participant__firm=firm,
        participant__external_id="DEMO-PAULINA",
        participant__participant_id="firms/ISV-Participant-Acme/users/demo-paulina",
        first_name="Paulina",
        last_name="Gizela",
        ssn="100000002",
        email="paulina@example.com",
        phone_number="+12125550102",
        status="manual_review",
    )
    Account.objects.create(
        participant=paulina.participant, account_id="firms/ISV-Participant-Acme/accounts/PG-0001"
    )
    return {"ada": ada.participant, "paulina": paulina.participant}


def find(client, term: str):
    """Searches as the box does; returns the results page and the address it was shown at."""
    posted = client.post("/search/", {"q": term})
    assert posted.status_code == 302
    location = posted["Location"]
    return client.get(location), location


def found_ids(response) -> list[str]:
    sections = response.context["sections"]
    return [row.participant.external_id for section in sections for row in section.rows]


@pytest.mark.parametrize(
    ("term", "who", "matched"),
    [
        ("demo-pau", "paulina", ("external id",)),
        ("DEMO-PAULINA", "paulina", ("external id",)),
        ("firms/isv-participant-acme/users/demo-p", "paulina", ("exchange id",)),
        ("firms/ISV-Participant-Acme/accounts/pg", "paulina", ("account id",)),
        ("100-00-0001", "ada", ("SSN",)),
        ("ada@example.COM", "ada", ("email",)),
        ("(212) 555-0101", "ada", ("phone",)),
        ("LOVELACE, ada", "ada", ("full name",)),
        ("Paulina  Gizela", "paulina", ("full name",)),
    ],
)
def test_search_by_each_key(persona, people, term, who, matched):
    response, location = find(persona("support"), term)

    assert found_ids(response) == [people[who].external_id]
    assert response.context["sections"][0].rows[0].matched == matched
    assert re.fullmatch(r"/search/\?t=s-[A-Za-z0-9_-]{16}", location)


def test_the_term_reaches_no_url_and_no_audit_payload(persona, people):
    response, location = find(persona("compliance"), "100-00-0001")

    html = response.content.decode()
    assert "100" not in location
    assert "100000001" not in html  # the SSN is shown masked in the results
    assert "•••" in html
    event = AuditEvent.objects.get(action="participants.searched")
    assert event.payload == {"by": ["SSN"], "found": 1}
    assert "100" not in str(event.payload)


def test_treasury_finds_by_id_only_and_sees_no_kyc(persona, people):
    treasury = persona("treasury")

    by_ssn, _ = find(treasury, "100 00 0001")
    by_id, _ = find(treasury, "demo-ada")

    assert found_ids(by_ssn) == []
    assert by_ssn.context["sections"][0].searched_by == []
    assert found_ids(by_id) == ["demo-ada"]
    html = by_id.content.decode()
    assert "A•••" not in html
    assert "Approved" not in html  # the KYC state is KYC detail
    assert not AuditEvent.objects.filter(action="participants.searched").exists()


def test_searching_by_id_alone_is_not_audited(persona, people):
    find(persona("support"), "demo-ada")

    assert not AuditEvent.objects.filter(action="participants.searched").exists()


def test_earlier_submissions_are_searched_too(persona, people, firm):
    KycSubmissionFactory.create(
        participant=people["ada"], email="ada.new@example.com", status="pending"
    )

    response, _ = find(persona("support"), "ada@example.com")

    assert found_ids(response) == ["demo-ada"]


def test_nothing_found_says_how_the_term_was_read(persona, people):
    response, _ = find(persona("support"), "nobody@example.com")

    html = response.content.decode()
    assert found_ids(response) == []
    assert "as an email." in html
    assert "No participants." in html


def test_a_token_from_another_session_shows_nothing(persona, make_user, people):
    _, location = find(persona("support"), "demo-ada")
    other = persona("compliance")

    response = other.get(location)

    assert response.context["sections"] == []
    assert "This search has expired" in response.content.decode()


def test_an_empty_term_asks_for_one(persona):
    response = persona("support").post("/search/", {"q": "   "})

    assert response.status_code == 200
    assert "Type an id, an email" in response.content.decode()


def test_someone_without_a_search_is_refused(make_user, client):
    client.force_login(make_user("nobody"))

    assert client.post("/search/", {"q": "demo-ada"}).status_code == 403


def test_the_top_bar_offers_the_box_on_every_page(persona):
    html = persona("treasury").get("/").content.decode()

    assert '<form class="site-search" method="post" action="/search/"' in html
    assert 'aria-keyshortcuts="/"' in html


@pytest.mark.parametrize(
    ("term", "queries"),
    [
        # session, user, permissions; then one query per reading of the term
        ("demo-ada", 3 + 2),  # id and account prefixes
        ("ada@example.com", 3 + 1 + 1),  # hashes, and the audit event
        ("100000001", 3 + 3 + 1),  # hashes, id and account prefixes, audit
    ],
)
def test_a_search_costs_the_same_queries_for_few_or_many_participants(
    persona, firm, people, django_assert_num_queries, term, queries
):
    client = persona("compliance")
    _, location = find(client, term)
    client.get(location)
    with django_assert_num_queries(queries):
        client.get(location)
    KycSubmissionFactory.create_batch(
        60, participant__firm=firm, email="ada@example.com", ssn="100000001"
    )
    with django_assert_num_queries(queries):
        response = client.get(location)
    assert len(response.context["sections"][0].rows) >= 1


# --- The admin's search ---------------------------------------------------------------------------


def test_the_admin_search_takes_the_same_forms_by_post(persona, people):
    admin = persona("superuser")

    posted = admin.post(
        "/search/admin/",
        {
            "q": "Paulina Gizela",
            "app": "participants",
            "model": "participant",
            "status": "onboarding",
        },
    )
    listing = admin.get(posted["Location"])

    assert re.fullmatch(
        r"/admin/participants/participant/\?status=onboarding&q=s-[A-Za-z0-9_-]{16}",
        posted["Location"],
    )
    assert [p.external_id for p in listing.context["cl"].result_list] == ["DEMO-PAULINA"]
    html = listing.content.decode()
    assert 'value="Paulina Gizela"' in html  # the box shows what was searched for
    assert 'method="post" action="/search/admin/"' in html


def test_the_admin_finds_submissions_by_prefix_in_any_case(persona, people):
    admin = persona("superuser")

    posted = admin.post(
        "/search/admin/", {"q": "demo-pau", "app": "participants", "model": "kycsubmission"}
    )
    listing = admin.get(posted["Location"])

    assert [s.participant.external_id for s in listing.context["cl"].result_list] == [
        "DEMO-PAULINA"
    ]


def test_a_search_term_typed_into_the_admins_address_is_not_used(persona, people):
    listing = persona("superuser").get("/admin/participants/participant/?q=demo-ada")

    assert list(listing.context["cl"].result_list) == []
    assert "That search has expired" in listing.content.decode()


def test_the_admin_search_refuses_a_table_that_is_not_there(persona):
    response = persona("superuser").post(
        "/search/admin/", {"q": "x", "app": "nothing", "model": "here"}
    )

    assert response.status_code == 400
    assert "Name the admin list to search" in response.content.decode()


# --- Filling the hashes of older submissions --------------------------------------------------------


def test_hash_search_keys_fills_what_is_missing_and_can_be_run_again(people):
    KycSubmission.objects.update(email_hash="", phone_hash="", name_hash="")
    out = StringIO()

    call_command("hash_search_keys", "--batch-size", "1", stdout=out)
    again = StringIO()
    call_command("hash_search_keys", stdout=again)

    ada = KycSubmission.objects.get(participant=people["ada"])
    assert ada.email_hash == pii_hash("ada@example.com")
    assert ada.phone_hash == pii_hash("+12125550101")
    assert ada.name_hash == pii_hash("adalovelace")
    assert "Hashed 2 submissions" in out.getvalue()
    assert "Hashed 0 submissions" in again.getvalue()
