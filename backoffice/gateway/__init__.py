"""The one Polymarket US client (API.md; ARCHITECTURE.md item 6). Services call it like this:

    from backoffice.gateway import get_gateway
    status = get_gateway().kyc_status(external_id=..., actor=actor)

Import the client from here; `errors` holds the typed errors, `results` the typed answers.
"""
