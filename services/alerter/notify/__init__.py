"""Notifications of alert changes (CONTRACT §2): critical alerts emailed to the people responsible, every
raised and resolved alert POSTed, signed, to each configured webhook; delivered at least once from the
`deliveries` table, with retries until a deadline, each final outcome published on `notifications`.

- `plan`: who gets what (pure).
- `signing`: the webhook signature.
- `send`: one SMTP or HTTP attempt.
- `store`: the `deliveries` table.
- `worker`: the background job that delivers.
"""
