"""Signed webhooks (Standard Webhooks) to organisations' endpoints, fed by the outbox.

``models`` (the wire format), ``service`` (endpoints and deliveries, for the API), ``events`` (outbox handlers:
who may see an event, one delivery per subscribed endpoint), ``delivery`` (an attempt, its record and the
backoff), ``urls`` (where a webhook may go) and ``signatures`` (``whsec_`` secrets, ``v1,`` signatures).
"""
