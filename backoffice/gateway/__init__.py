"""The one Polymarket US client (API.md; ARCHITECTURE.md item 6). Services call it like this:

    from backoffice.gateway.client import get_gateway
    from backoffice.gateway.errors import GatewayError, Outcome

    try:
        status = get_gateway().kyc_status(external_id=..., actor=actor)
    except GatewayError as exc:
        ...  # switch on exc.outcome: NOT_SENT, REFUSED, UNKNOWN or MISCONFIGURED

The package itself exports nothing: Django imports it as an app before models can be loaded.
`errors` holds the typed errors and the outcome classification, `results` the typed answers,
`config` the settings and the two call policies, `endpoints` the endpoint table.
"""
