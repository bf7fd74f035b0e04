"""The alerts read model: the alerter's `alert.raised` / `alert.resolved` and the gateway's
`alert.acknowledged`, folded into one row per alert for `GET /v1/alerts`."""
